/* vtest sync objects: 64-bit counters the guest creates, reads, writes and waits on, and
 * that SUBMIT_CMD2 batches set when a timeline's work is done (docs/protocol/vtest.md §5). */
#include "vtest/pv_vtest_sync.h"

#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* One sync (value) or one pending fence (the write it will do: sync_id gets value). */
struct pv_vtest_slot {
   uint64_t value;
   uint32_t sync_id;   /* fences only; 0 once that sync is gone */
   uint32_t next_free; /* while free */
   bool live;
};

/* Fences pending at once: a guest submitting without end gets refused at 1M (24 MiB), rather
 * than growing the worker until the host kills it. Live syncs have a limit of their own
 * (struct pv_gpu_limits.syncs). */
#define PV_VTEST_MAX_FENCES (1u << 20)

/* A SYNC_WAIT not yet satisfied. The guest polls the read end of a pipe whose write end is
 * fd: a byte written when every listed sync (or any, with any) reaches its value wakes it with
 * POLLIN; the write end closed without a byte wakes it with POLLHUP alone, which the guest
 * reports as VK_ERROR_DEVICE_LOST. So a wait the worker can no longer satisfy (the worker is
 * stopping, failing, or gone) ends with an error instead of never. */
struct pv_vtest_sync_waiter {
   int fd;
   bool any;
   uint64_t deadline_ns; /* CLOCK_MONOTONIC; UINT64_MAX: none. Never fires after it. */
   uint32_t count;
   struct pv_vtest_sync_waiter *next;
   struct {
      uint32_t id;
      uint64_t value;
   } entries[];
};

/* false when max slots are taken already, or out of memory. */
static bool slot_take(struct pv_vtest_slots *t, uint64_t max, uint32_t *id)
{
   if (t->live >= max)
      return false;
   if (!t->free_id) {
      if (t->capacity > UINT32_MAX / 2)
         return false;
      uint32_t capacity = t->capacity ? t->capacity * 2 : 16;
      struct pv_vtest_slot *slots = realloc(t->slots, (size_t)capacity * sizeof(*slots));
      if (!slots)
         return false;
      /* Chain the new slots so the lowest id comes out first. */
      for (uint32_t i = capacity; i > t->capacity; i--) {
         slots[i - 1] = (struct pv_vtest_slot){.next_free = t->free_id};
         t->free_id = i;
      }
      t->slots = slots;
      t->capacity = capacity;
   }
   *id = t->free_id;
   struct pv_vtest_slot *slot = &t->slots[*id - 1];
   t->free_id = slot->next_free;
   slot->live = true;
   t->live++;
   return true;
}

/* NULL unless id names a live slot. */
static struct pv_vtest_slot *slot_get(const struct pv_vtest_slots *t, uint64_t id)
{
   if (id == 0 || id > t->capacity || !t->slots[id - 1].live)
      return NULL;
   return &t->slots[id - 1];
}

static void slot_put(struct pv_vtest_slots *t, uint32_t id)
{
   t->slots[id - 1] = (struct pv_vtest_slot){.next_free = t->free_id};
   t->free_id = id;
   t->live--;
}

static uint64_t now_ns(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void pv_vtest_syncs_init(struct pv_vtest_syncs *syncs, const struct pv_gpu_limits *limits)
{
   *syncs = (struct pv_vtest_syncs){.max_syncs = limits->syncs, .max_waits = limits->waits};
   pthread_mutex_init(&syncs->lock, NULL);
}

void pv_vtest_syncs_finish(struct pv_vtest_syncs *syncs)
{
   for (struct pv_vtest_sync_waiter *w = syncs->waiters, *next; w; w = next) {
      next = w->next;
      close(w->fd);
      free(w);
   }
   free(syncs->syncs.slots);
   free(syncs->fences.slots);
   pthread_mutex_destroy(&syncs->lock);
}

/* Called with the lock held. */
static bool waiter_satisfied(const struct pv_vtest_syncs *syncs,
                             const struct pv_vtest_sync_waiter *w)
{
   uint32_t reached = 0;
   for (uint32_t i = 0; i < w->count; i++) {
      const struct pv_vtest_slot *s = slot_get(&syncs->syncs, w->entries[i].id);
      if (s && s->value >= w->entries[i].value)
         reached++;
   }
   /* Waiting for nothing is done at once, whatever the flag. */
   return w->count == 0 || (w->any ? reached > 0 : reached == w->count);
}

/* The guest starts its poll() with the same timeout only after our reply, so its deadline is
 * later than ours: an expired waiter keeps its write end open this much longer, or the
 * guest's poll would end in POLLHUP (an error) instead of its own timeout. */
#define PV_VTEST_EXPIRED_GRACE_NS 2000000000ull

/* Fires the waiters now satisfied and drops those well past their deadline. Called with the
 * lock held whenever a value changes, so a wait is satisfied at the moment of the change or not
 * before its deadline: one whose deadline passed first never fires (docs/protocol/vtest.md §5).
 * An expired waiter holds its fd only until the first change or wait after its grace. */
static void update_waiters(struct pv_vtest_syncs *syncs)
{
   uint64_t now = 0;
   for (struct pv_vtest_sync_waiter **link = &syncs->waiters; *link;) {
      struct pv_vtest_sync_waiter *w = *link;
      if (w->deadline_ns != UINT64_MAX && !now)
         now = now_ns();
      bool expired = w->deadline_ns != UINT64_MAX && w->deadline_ns <= now;
      bool satisfied = !expired && waiter_satisfied(syncs, w);
      if (!satisfied && (!expired || now - w->deadline_ns < PV_VTEST_EXPIRED_GRACE_NS)) {
         link = &w->next;
         continue;
      }
      if (satisfied)
         (void)!write(w->fd, "", 1); /* a pipe's first byte cannot block or fail short */
      close(w->fd);
      *link = w->next;
      free(w);
      syncs->waiter_count--;
   }
}

void pv_vtest_syncs_fail_waiters(struct pv_vtest_syncs *syncs)
{
   pthread_mutex_lock(&syncs->lock);
   for (struct pv_vtest_sync_waiter *w = syncs->waiters, *next; w; w = next) {
      next = w->next;
      close(w->fd);
      free(w);
   }
   syncs->waiters = NULL;
   syncs->waiter_count = 0;
   pthread_mutex_unlock(&syncs->lock);
}

bool pv_vtest_sync_create(struct pv_vtest_syncs *syncs, uint64_t value, uint32_t *id,
                          bool *at_limit)
{
   pthread_mutex_lock(&syncs->lock);
   *at_limit = syncs->syncs.live >= syncs->max_syncs;
   bool ok = slot_take(&syncs->syncs, syncs->max_syncs, id);
   if (ok)
      syncs->syncs.slots[*id - 1].value = value;
   pthread_mutex_unlock(&syncs->lock);
   return ok;
}

bool pv_vtest_sync_unref(struct pv_vtest_syncs *syncs, uint32_t id)
{
   pthread_mutex_lock(&syncs->lock);
   bool known = slot_get(&syncs->syncs, id) != NULL;
   if (known) {
      slot_put(&syncs->syncs, id);
      /* Its id may be reused at once: fences still pending for it must not set the next
       * sync that gets it. */
      for (uint32_t i = 0; i < syncs->fences.capacity; i++) {
         struct pv_vtest_slot *f = &syncs->fences.slots[i];
         if (f->live && f->sync_id == id)
            f->sync_id = 0;
      }
   }
   pthread_mutex_unlock(&syncs->lock);
   return known;
}

bool pv_vtest_sync_read(struct pv_vtest_syncs *syncs, uint32_t id, uint64_t *value)
{
   pthread_mutex_lock(&syncs->lock);
   const struct pv_vtest_slot *s = slot_get(&syncs->syncs, id);
   if (s)
      *value = s->value;
   pthread_mutex_unlock(&syncs->lock);
   return s != NULL;
}

/* Called with the lock held. */
static bool set_value(struct pv_vtest_syncs *syncs, uint32_t id, uint64_t value)
{
   struct pv_vtest_slot *s = slot_get(&syncs->syncs, id);
   if (!s)
      return false;
   s->value = value;
   update_waiters(syncs);
   return true;
}

bool pv_vtest_sync_write(struct pv_vtest_syncs *syncs, uint32_t id, uint64_t value)
{
   pthread_mutex_lock(&syncs->lock);
   bool ok = set_value(syncs, id, value);
   pthread_mutex_unlock(&syncs->lock);
   return ok;
}

int pv_vtest_sync_wait(struct pv_vtest_syncs *syncs, bool any, uint32_t timeout_ms,
                       const uint32_t *triples, uint32_t count, bool *at_limit)
{
   *at_limit = false;
   struct pv_vtest_sync_waiter *w = malloc(sizeof(*w) + (size_t)count * sizeof(w->entries[0]));
   int ends[2] = {-1, -1};
   if (!w || pipe2(ends, O_CLOEXEC) != 0)
      goto fail;
   *w = (struct pv_vtest_sync_waiter){.fd = ends[1], .any = any, .count = count};
   for (uint32_t i = 0; i < count; i++) {
      const uint32_t *t = triples + 3 * i;
      w->entries[i].id = t[0];
      w->entries[i].value = t[1] | (uint64_t)t[2] << 32;
   }
   /* Mesa sends anything above INT32_MAX for "forever" (docs/protocol/vtest.md §5). */
   w->deadline_ns =
         timeout_ms > INT32_MAX ? UINT64_MAX : now_ns() + (uint64_t)timeout_ms * 1000000u;
   pthread_mutex_lock(&syncs->lock);
   update_waiters(syncs); /* an occasion to drop expired ones */
   if (waiter_satisfied(syncs, w)) {
      (void)!write(w->fd, "", 1);
      close(w->fd);
      free(w);
   } else if (syncs->waiter_count >= syncs->max_waits) {
      /* Hung up at once: the guest's poll sees POLLHUP alone, an error. */
      *at_limit = true;
      close(w->fd);
      free(w);
   } else {
      syncs->waiter_count++;
      /* Even with timeout 0 the write end stays for the grace: closing it now would turn the
       * guest's zero-timeout poll into an error. */
      w->next = syncs->waiters;
      syncs->waiters = w;
   }
   pthread_mutex_unlock(&syncs->lock);
   return ends[0];

fail:
   free(w);
   return -1;
}

bool pv_vtest_sync_fence_add(struct pv_vtest_syncs *syncs, uint32_t sync_id, uint64_t value,
                             uint64_t *fence_id)
{
   uint32_t id = 0;
   pthread_mutex_lock(&syncs->lock);
   bool ok =
         slot_get(&syncs->syncs, sync_id) && slot_take(&syncs->fences, PV_VTEST_MAX_FENCES, &id);
   if (ok) {
      syncs->fences.slots[id - 1].sync_id = sync_id;
      syncs->fences.slots[id - 1].value = value;
   }
   pthread_mutex_unlock(&syncs->lock);
   *fence_id = id;
   return ok;
}

void pv_vtest_sync_fence_cancel(struct pv_vtest_syncs *syncs, uint64_t fence_id)
{
   pthread_mutex_lock(&syncs->lock);
   if (slot_get(&syncs->fences, fence_id))
      slot_put(&syncs->fences, (uint32_t)fence_id);
   pthread_mutex_unlock(&syncs->lock);
}

void pv_vtest_sync_fence_retired(void *data, uint32_t ring_idx, uint64_t fence_id)
{
   struct pv_vtest_syncs *syncs = data;
   pthread_mutex_lock(&syncs->lock);
   const struct pv_vtest_slot *f = slot_get(&syncs->fences, fence_id);
   if (f) {
      uint32_t sync_id = f->sync_id;
      uint64_t value = f->value;
      slot_put(&syncs->fences, (uint32_t)fence_id);
      if (sync_id)
         set_value(syncs, sync_id, value);
   }
   pthread_mutex_unlock(&syncs->lock);
}
