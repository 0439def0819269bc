/* vtest sync objects: 64-bit counters the guest creates, reads, writes and waits on, and
 * that SUBMIT_CMD2 batches set when a timeline's work is done (vtest.md §5). */
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/pv_log.h"
#include "vtest/pv_vtest_conn.h"

struct pv_vtest_sync {
   uint64_t value;
};

/* SUBMIT_CMD2's "set sync to value when ring_idx is done". */
struct pv_vtest_pending_write {
   uint32_t sync_id;
   uint64_t value;
};

/* A SYNC_WAIT not yet satisfied: its eventfd fires once every listed sync (or any, with
 * the ANY flag) reaches its value. */
struct pv_vtest_sync_waiter {
   int fd;
   bool any;
   uint32_t count;
   struct pv_vtest_sync_waiter *next;
   struct {
      uint32_t id;
      uint64_t value;
   } entries[];
};

#define PV_VTEST_SYNC_WAIT_ANY 0x1u

void pv_vtest_syncs_init(struct pv_vtest_conn *conn)
{
   pthread_mutex_init(&conn->sync_lock, NULL);
   pv_hash_init(&conn->syncs);
   pv_hash_init(&conn->fences);
}

static void free_value(uint64_t key, void *value, void *data)
{
   free(value);
}

void pv_vtest_syncs_finish(struct pv_vtest_conn *conn)
{
   pv_hash_foreach(&conn->syncs, free_value, NULL);
   pv_hash_finish(&conn->syncs);
   pv_hash_foreach(&conn->fences, free_value, NULL);
   pv_hash_finish(&conn->fences);
   for (struct pv_vtest_sync_waiter *w = conn->waiters, *next; w; w = next) {
      next = w->next;
      close(w->fd);
      free(w);
   }
   pthread_mutex_destroy(&conn->sync_lock);
}

static bool waiter_satisfied(struct pv_vtest_conn *conn, const struct pv_vtest_sync_waiter *w)
{
   uint32_t reached = 0;
   for (uint32_t i = 0; i < w->count; i++) {
      const struct pv_vtest_sync *s = pv_hash_lookup(&conn->syncs, w->entries[i].id);
      if (s && s->value >= w->entries[i].value)
         reached++;
   }
   return w->any ? reached > 0 : reached == w->count;
}

/* Called with sync_lock held after any value changed. */
static void wake_waiters(struct pv_vtest_conn *conn)
{
   for (struct pv_vtest_sync_waiter **link = &conn->waiters; *link;) {
      struct pv_vtest_sync_waiter *w = *link;
      if (!waiter_satisfied(conn, w)) {
         link = &w->next;
         continue;
      }
      eventfd_write(w->fd, 1);
      close(w->fd);
      *link = w->next;
      free(w);
   }
}

static void set_value(struct pv_vtest_conn *conn, uint32_t id, uint64_t value)
{
   struct pv_vtest_sync *s = pv_hash_lookup(&conn->syncs, id);
   if (!s)
      return;
   /* Stored as given: a smaller value is Mesa's reset (vtest.md §5). */
   s->value = value;
   wake_waiters(conn);
}

void pv_vtest_fence_retired(void *data, uint32_t ring_idx, uint64_t fence_id)
{
   struct pv_vtest_conn *conn = data;
   pthread_mutex_lock(&conn->sync_lock);
   struct pv_vtest_pending_write *write = pv_hash_remove(&conn->fences, fence_id);
   if (write)
      set_value(conn, write->sync_id, write->value);
   pthread_mutex_unlock(&conn->sync_lock);
   free(write);
}

bool pv_vtest_sync_signal_on_ring(struct pv_vtest_conn *conn, uint32_t sync_id, uint64_t value,
                                  uint32_t ring_idx)
{
   struct pv_vtest_pending_write *write = malloc(sizeof(*write));
   if (!write)
      return false;
   *write = (struct pv_vtest_pending_write){sync_id, value};
   pthread_mutex_lock(&conn->sync_lock);
   bool known = pv_hash_lookup(&conn->syncs, sync_id) != NULL;
   uint64_t fence_id = ++conn->next_fence_id;
   bool inserted = known && pv_hash_insert(&conn->fences, fence_id, write);
   pthread_mutex_unlock(&conn->sync_lock);
   if (!inserted) {
      free(write);
      return false;
   }
   /* For ring_idx 0 the renderer retires the fence right away, on this thread. */
   if (pv_gpu_context_submit_fence(conn->ctx, ring_idx, fence_id))
      return true;
   pthread_mutex_lock(&conn->sync_lock);
   free(pv_hash_remove(&conn->fences, fence_id));
   pthread_mutex_unlock(&conn->sync_lock);
   return false;
}

static bool sync_wait(struct pv_vtest_conn *conn, const uint32_t *w, uint32_t words)
{
   uint32_t count = (words - 2) / 3;
   struct pv_vtest_sync_waiter *waiter =
         calloc(1, sizeof(*waiter) + (size_t)count * sizeof(waiter->entries[0]));
   int fd = eventfd(0, EFD_CLOEXEC);
   if (!waiter || fd < 0) {
      free(waiter);
      if (fd >= 0)
         close(fd);
      return false;
   }
   waiter->any = w[0] & PV_VTEST_SYNC_WAIT_ANY;
   waiter->count = count;
   for (uint32_t i = 0; i < count; i++) {
      const uint32_t *t = w + 2 + i * 3;
      waiter->entries[i].id = t[0];
      waiter->entries[i].value = t[1] | (uint64_t)t[2] << 32;
   }
   /* The guest gets its own copy of the fd; ours is signalled (and closed) when the wait
    * is satisfied. A wait that never is costs one fd until the connection ends; the guest
    * applies its timeout to its poll(). */
   waiter->fd = dup(fd);
   pthread_mutex_lock(&conn->sync_lock);
   if (waiter_satisfied(conn, waiter)) {
      eventfd_write(fd, 1);
      close(waiter->fd);
      free(waiter);
   } else {
      waiter->next = conn->waiters;
      conn->waiters = waiter;
   }
   pthread_mutex_unlock(&conn->sync_lock);
   bool ok = pv_vtest_reply(conn, PV_VTEST_SYNC_WAIT, NULL, 0) && pv_vtest_send_fd(conn, fd);
   close(fd);
   return ok;
}

bool pv_vtest_sync_handle(struct pv_vtest_conn *conn, uint32_t id, uint32_t words)
{
   const uint32_t *w = conn->payload;
   static const uint32_t need[] = {[PV_VTEST_SYNC_CREATE] = 2,
                                   [PV_VTEST_SYNC_UNREF] = 1,
                                   [PV_VTEST_SYNC_READ] = 1,
                                   [PV_VTEST_SYNC_WRITE] = 3,
                                   [PV_VTEST_SYNC_WAIT] = 2};
   if (words < need[id] || (id == PV_VTEST_SYNC_WAIT && (words - 2) % 3 != 0)) {
      pv_error("%s: vtest sync command %u with %u dwords; closing", conn->name, id, words);
      return false;
   }
   bool ok = true;
   switch (id) {
   case PV_VTEST_SYNC_CREATE: {
      struct pv_vtest_sync *s = malloc(sizeof(*s));
      uint32_t sync_id = 0;
      pthread_mutex_lock(&conn->sync_lock);
      if (s) {
         s->value = w[0] | (uint64_t)w[1] << 32;
         do {
            sync_id = ++conn->next_sync_id;
         } while (sync_id == 0 || pv_hash_lookup(&conn->syncs, sync_id));
         if (!pv_hash_insert(&conn->syncs, sync_id, s)) {
            free(s);
            sync_id = 0;
         }
      }
      pthread_mutex_unlock(&conn->sync_lock);
      return pv_vtest_reply(conn, id, &sync_id, 1);
   }
   case PV_VTEST_SYNC_UNREF:
      pthread_mutex_lock(&conn->sync_lock);
      free(pv_hash_remove(&conn->syncs, w[0]));
      pthread_mutex_unlock(&conn->sync_lock);
      return true;
   case PV_VTEST_SYNC_READ: {
      pthread_mutex_lock(&conn->sync_lock);
      const struct pv_vtest_sync *s = pv_hash_lookup(&conn->syncs, w[0]);
      uint64_t value = s ? s->value : 0;
      pthread_mutex_unlock(&conn->sync_lock);
      if (!s)
         pv_error("%s: SYNC_READ of unknown sync %u", conn->name, w[0]);
      uint32_t reply[2] = {(uint32_t)value, (uint32_t)(value >> 32)};
      return pv_vtest_reply(conn, id, reply, 2);
   }
   case PV_VTEST_SYNC_WRITE:
      pthread_mutex_lock(&conn->sync_lock);
      set_value(conn, w[0], w[1] | (uint64_t)w[2] << 32);
      pthread_mutex_unlock(&conn->sync_lock);
      return true;
   case PV_VTEST_SYNC_WAIT:
      ok = sync_wait(conn, w, words);
      break;
   }
   return ok;
}
