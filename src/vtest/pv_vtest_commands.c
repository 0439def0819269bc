/* The vtest commands, one handler each. */
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/pv_crash.h"
#include "util/pv_limits.h"
#include "util/pv_log.h"
#include "util/pv_watchdog.h"
#include "vtest/pv_vtest_conn.h"

/* Mesa 25 offers protocol 3 and needs at least that; we speak exactly 3. */
#define PV_VTEST_PROTOCOL                 3
#define PV_VTEST_PARAM_MAX_TIMELINE_COUNT 1
/* SUBMIT_CMD2 batch records are 6 dwords in protocol 3, whatever the header's index
 * macros say. */
#define PV_VTEST_BATCH_WORDS         6
#define PV_VTEST_BATCH_FLAG_RING_IDX 0x1u
#define PV_VTEST_SYNC_WAIT_FLAG_ANY  0x1u

static uint64_t u64_at(const uint32_t *w)
{
   return w[0] | (uint64_t)w[1] << 32;
}

static bool create_renderer(struct pv_vtest_conn *conn, const uint32_t *w, uint32_t bytes)
{
   if (conn->have_renderer) {
      pv_error("%s: a second CREATE_RENDERER; ignored", conn->name);
      return true;
   }
   /* The name only ends up in logs: keep it short and printable. */
   const char *name = (const char *)w;
   size_t n = 0;
   for (; n < bytes && n < sizeof(conn->name) - 1 && name[n]; n++)
      conn->name[n] = name[n] >= 0x20 && name[n] < 0x7f ? name[n] : '?';
   if (n)
      conn->name[n] = 0;
   pv_crash_set_guest(conn->name);
   conn->have_renderer = true;
   return true;
}

static bool ping_protocol_version(struct pv_vtest_conn *conn, const uint32_t *w, uint32_t words)
{
   return pv_vtest_conn_reply(conn, PV_VTEST_PING_PROTOCOL_VERSION, NULL, 0);
}

/* Venus sends it only as the probe right behind the first PING, before any context exists
 * (docs/protocol/vtest.md §4): nothing is ever busy. */
static bool resource_busy_wait(struct pv_vtest_conn *conn, const uint32_t *w, uint32_t words)
{
   const uint32_t busy = 0;
   return pv_vtest_conn_reply(conn, PV_VTEST_RESOURCE_BUSY_WAIT, &busy, 1);
}

static bool protocol_version(struct pv_vtest_conn *conn, const uint32_t *w, uint32_t words)
{
   const uint32_t version = w[0] < PV_VTEST_PROTOCOL ? w[0] : PV_VTEST_PROTOCOL;
   return pv_vtest_conn_reply(conn, PV_VTEST_PROTOCOL_VERSION, &version, 1);
}

static bool get_param(struct pv_vtest_conn *conn, const uint32_t *w, uint32_t words)
{
   uint32_t reply[2] = {0, 0}; /* {valid, value}; unknown parameters are not valid */
   if (w[0] == PV_VTEST_PARAM_MAX_TIMELINE_COUNT) {
      reply[0] = 1;
      reply[1] = PV_GPU_MAX_TIMELINES;
   }
   return pv_vtest_conn_reply(conn, PV_VTEST_GET_PARAM, reply, 2);
}

static bool get_capset(struct pv_vtest_conn *conn, const uint32_t *w, uint32_t words)
{
   uint32_t reply[PV_VTEST_MAX_REPLY_WORDS] = {0}; /* {valid} + capset, zero-padded */
   size_t size = PV_GPU_CAPSET_MAX_SIZE;
   /* Not valid while stopping: the guest's vkCreateInstance fails cleanly. */
   if (conn->stopping || !pv_gpu_get_capset(conn->gpu, w[0], w[1], reply + 1, &size))
      return pv_vtest_conn_reply(conn, PV_VTEST_GET_CAPSET, reply, 1);
   if (size > PV_GPU_CAPSET_MAX_SIZE)
      size = PV_GPU_CAPSET_MAX_SIZE;
   reply[0] = 1;
   return pv_vtest_conn_reply(conn, PV_VTEST_GET_CAPSET, reply, 1 + (uint32_t)(size + 3) / 4);
}

/* CONTEXT_INIT has no reply, so a refused one can only be logged; the connection stays,
 * answering what it can (dropping it would make the guest spin). */
/* The guest hung up, or the server is stopping, while a command of its context blocked (a
 * wait nothing will end). */
static void cancel_context(void *ctx, bool stop_asked)
{
   pv_gpu_context_cancel(ctx, stop_asked ? "the server is stopping while a command was blocked"
                                         : "the guest left while a command was blocked");
}

static bool context_init(struct pv_vtest_conn *conn, const uint32_t *w, uint32_t words)
{
   uint32_t capset_id = w[0];
   if (conn->ctx) {
      if (capset_id != conn->capset_id)
         pv_error("%s: CONTEXT_INIT for capset %u, but the context has capset %u; ignored",
                  conn->name, capset_id, conn->capset_id);
      return true;
   }
   if (conn->stopping) {
      pv_warn("%s: CONTEXT_INIT while the server is stopping; no context", conn->name);
      return true;
   }
   const struct pv_gpu_context_desc desc = {
         .capset_id = capset_id,
         .debug_name = conn->name,
         .fence_retired = pv_vtest_sync_fence_retired,
         .fence_data = &conn->syncs,
   };
   conn->ctx = pv_gpu_context_create(conn->gpu, &desc);
   if (!conn->ctx) {
      pv_error("%s: CONTEXT_INIT: no context for capset %u (not served, or the renderer "
               "failed); commands that need one will be ignored",
               conn->name, capset_id);
      return true;
   }
   conn->watchdog =
         pv_watchdog_start(conn->fd, conn->stop_fd, conn->name, cancel_context, conn->ctx);
   conn->capset_id = capset_id;
   return true;
}

/* vtest lets the server pick resource ids; the renderer wants the caller's. One counter for
 * the process keeps them unique among clients that share a renderer (--no-fork). */
static uint32_t new_res_id(void)
{
   static atomic_uint next;
   uint32_t id;
   while ((id = atomic_fetch_add(&next, 1) + 1) == 0)
      ;
   return id;
}

/* A HOST3D blob the guest maps: created, remembered for teardown, exported as a memfd. */
static bool create_blob(struct pv_vtest_conn *conn, const struct pv_gpu_blob_desc *desc, int *fd)
{
   uint32_t fd_type;
   if (!pv_gpu_resource_create_blob(conn->ctx, desc))
      return false;
   if (!pv_gpu_resource_export(conn->gpu, desc->res_id, fd, &fd_type) ||
       !pv_hash_insert(&conn->resources, desc->res_id, conn)) {
      if (*fd >= 0)
         close(*fd);
      *fd = -1;
      pv_gpu_resource_unref(conn->gpu, desc->res_id);
      return false;
   }
   return true;
}

static bool resource_create_blob(struct pv_vtest_conn *conn, const uint32_t *w, uint32_t words)
{
   const struct pv_gpu_blob_desc desc = {
         .res_id = new_res_id(),
         .blob_mem = w[0],
         .blob_flags = w[1],
         .size = u64_at(w + 2),
         .blob_id = u64_at(w + 4),
   };
   uint32_t res_id = desc.res_id;
   int fd = -1;
   if (!conn->ctx)
      pv_error("%s: RESOURCE_CREATE_BLOB without a context (no successful CONTEXT_INIT)",
               conn->name);
   else if (conn->stopping)
      pv_warn("%s: RESOURCE_CREATE_BLOB refused: the server is stopping", conn->name);
   else if (desc.blob_mem != PV_GPU_BLOB_MEM_HOST3D || !create_blob(conn, &desc, &fd))
      pv_error("%s: RESOURCE_CREATE_BLOB type %u, flags %#x, %llu bytes, blob id %llu failed",
               conn->name, desc.blob_mem, desc.blob_flags, (unsigned long long)desc.size,
               (unsigned long long)desc.blob_id);
   if (fd < 0) {
      /* vtest has no error reply, and the guest aborts when no fd comes. An eventfd cannot
       * be mapped, so the guest's mmap fails cleanly: a shmem request returns NULL, a memory
       * map returns VK_ERROR_MEMORY_MAP_FAILED. */
      res_id = 0;
      fd = eventfd(0, EFD_CLOEXEC);
   }
   bool ok = pv_vtest_conn_reply(conn, PV_VTEST_RESOURCE_CREATE_BLOB, &res_id, 1) && fd >= 0 &&
             pv_vtest_conn_send_fd(conn, fd);
   if (fd >= 0)
      close(fd);
   return ok;
}

static bool resource_unref(struct pv_vtest_conn *conn, const uint32_t *w, uint32_t words)
{
   /* Only this client's own resources: another client's id is not its to drop. */
   if (pv_hash_remove(&conn->resources, w[0]))
      pv_gpu_resource_unref(conn->gpu, w[0]);
   else
      pv_error("%s: RESOURCE_UNREF of unknown resource %u; ignored", conn->name, w[0]);
   return true;
}

/* A sync of a batch gets its value when the batch's timeline has done everything so far. */
static void signal_sync(struct pv_vtest_conn *conn, uint32_t ring_idx, const uint32_t *t)
{
   uint32_t sync_id = t[0];
   uint64_t value = u64_at(t + 1), fence_id;
   /* The context stream has run by now (submit is synchronous), so the CPU timeline is
    * done: no fence needed. */
   if (ring_idx == 0) {
      if (!pv_vtest_sync_write(&conn->syncs, sync_id, value))
         pv_error("%s: SUBMIT_CMD2: unknown sync %u; ignored", conn->name, sync_id);
      return;
   }
   if (!pv_vtest_sync_fence_add(&conn->syncs, sync_id, value, &fence_id)) {
      pv_error("%s: SUBMIT_CMD2: unknown sync %u (or no memory); ignored", conn->name, sync_id);
      return;
   }
   if (!pv_gpu_context_submit_fence(conn->ctx, ring_idx, fence_id)) {
      pv_vtest_sync_fence_cancel(&conn->syncs, fence_id);
      pv_error("%s: SUBMIT_CMD2: timeline %u is not valid; sync %u will not be set", conn->name,
               ring_idx, sync_id);
   }
}

/* The hot path on the socket (vkNotifyRingMESA and friends): no allocation, no copy. */
static bool submit_cmd2(struct pv_vtest_conn *conn, const uint32_t *w, uint32_t words)
{
   uint32_t batches = w[0];
   if (1 + (uint64_t)batches * PV_VTEST_BATCH_WORDS > words) {
      pv_error("%s: SUBMIT_CMD2: %u batch records do not fit its %u dwords; closing the "
               "connection",
               conn->name, batches, words);
      return false;
   }
   /* Every batch is checked before any runs, so a malformed message has no effect at all. */
   for (uint32_t b = 0; b < batches; b++) {
      const uint32_t *rec = w + 1 + (size_t)b * PV_VTEST_BATCH_WORDS;
      if ((uint64_t)rec[1] + rec[2] > words || (uint64_t)rec[3] + (uint64_t)rec[4] * 3 > words) {
         pv_error("%s: SUBMIT_CMD2: batch %u (commands at dword %u, %u dwords; %u syncs at "
                  "dword %u) points outside its %u-dword payload; closing the connection",
                  conn->name, b, rec[1], rec[2], rec[4], rec[3], words);
         return false;
      }
   }
   if (!conn->ctx) {
      pv_error("%s: SUBMIT_CMD2 without a context (no successful CONTEXT_INIT); ignored",
               conn->name);
      return true;
   }
   for (uint32_t b = 0; b < batches; b++) {
      const uint32_t *rec = w + 1 + (size_t)b * PV_VTEST_BATCH_WORDS;
      uint32_t ring_idx = rec[0] & PV_VTEST_BATCH_FLAG_RING_IDX ? rec[5] : 0;
      /* Straight from the receive buffer. A context that turns fatal here has logged why;
       * the connection stays, answering, or the guest would spin forever. */
      if (rec[2])
         pv_gpu_context_submit(conn->ctx, w + rec[1], (size_t)rec[2] * 4);
      for (uint32_t s = 0; s < rec[4]; s++)
         signal_sync(conn, ring_idx, w + rec[3] + (size_t)s * 3);
   }
   return true;
}

static bool sync_create(struct pv_vtest_conn *conn, const uint32_t *w, uint32_t words)
{
   uint32_t sync_id = 0;
   bool at_limit;
   if (!pv_vtest_sync_create(&conn->syncs, u64_at(w), &sync_id, &at_limit)) {
      if (at_limit)
         pv_limits_report(&conn->limits_reported, PV_LIMIT_SYNCS, conn->name, conn->syncs.max_syncs,
                          "SYNC_CREATE answers sync 0");
      else
         pv_error("%s: SYNC_CREATE: no memory; answering sync 0", conn->name);
   }
   return pv_vtest_conn_reply(conn, PV_VTEST_SYNC_CREATE, &sync_id, 1);
}

static bool sync_unref(struct pv_vtest_conn *conn, const uint32_t *w, uint32_t words)
{
   if (!pv_vtest_sync_unref(&conn->syncs, w[0]))
      pv_error("%s: SYNC_UNREF of unknown sync %u; ignored", conn->name, w[0]);
   return true;
}

static bool sync_read(struct pv_vtest_conn *conn, const uint32_t *w, uint32_t words)
{
   uint64_t value = 0;
   if (!pv_vtest_sync_read(&conn->syncs, w[0], &value))
      pv_error("%s: SYNC_READ of unknown sync %u; answering 0", conn->name, w[0]);
   const uint32_t reply[2] = {(uint32_t)value, (uint32_t)(value >> 32)};
   return pv_vtest_conn_reply(conn, PV_VTEST_SYNC_READ, reply, 2);
}

static bool sync_write(struct pv_vtest_conn *conn, const uint32_t *w, uint32_t words)
{
   if (!pv_vtest_sync_write(&conn->syncs, w[0], u64_at(w + 1)))
      pv_error("%s: SYNC_WRITE of unknown sync %u; ignored", conn->name, w[0]);
   return true;
}

static bool sync_wait(struct pv_vtest_conn *conn, const uint32_t *w, uint32_t words)
{
   if ((words - 2) % 3) {
      pv_error("%s: SYNC_WAIT: %u dwords are not 2 + 3 per sync; closing the connection",
               conn->name, words);
      return false;
   }
   bool at_limit;
   int fd = pv_vtest_sync_wait(&conn->syncs, w[0] & PV_VTEST_SYNC_WAIT_FLAG_ANY, w[1], w + 2,
                               (words - 2) / 3, &at_limit);
   if (at_limit)
      pv_limits_report(&conn->limits_reported, PV_LIMIT_WAITS, conn->name, conn->syncs.max_waits,
                       "SYNC_WAIT answers a hung-up fd (the wait fails)");
   if (fd < 0) {
      /* Without an fd the guest aborts anyway. */
      pv_error("%s: SYNC_WAIT: no pipe for the wait; closing the connection", conn->name);
      return false;
   }
   bool ok =
         pv_vtest_conn_reply(conn, PV_VTEST_SYNC_WAIT, NULL, 0) && pv_vtest_conn_send_fd(conn, fd);
   close(fd);
   return ok;
}

struct pv_vtest_command {
   const char *name;
   uint32_t min_words;
   /* NULL: a legacy virgl command this renderer does not serve. */
   bool (*handle)(struct pv_vtest_conn *conn, const uint32_t *w, uint32_t words);
   bool legacy_reply; /* the unserved command expects a reply */
};

static const struct pv_vtest_command commands[] = {
      [PV_VTEST_GET_CAPS] = {"GET_CAPS", 0, NULL, true},
      [PV_VTEST_RESOURCE_CREATE] = {"RESOURCE_CREATE", 0, NULL, true},
      [PV_VTEST_RESOURCE_UNREF] = {"RESOURCE_UNREF", 1, resource_unref},
      [PV_VTEST_TRANSFER_GET] = {"TRANSFER_GET", 0, NULL, true},
      [PV_VTEST_TRANSFER_PUT] = {"TRANSFER_PUT", 0, NULL, false},
      [PV_VTEST_SUBMIT_CMD] = {"SUBMIT_CMD", 0, NULL, false},
      [PV_VTEST_RESOURCE_BUSY_WAIT] = {"RESOURCE_BUSY_WAIT", 2, resource_busy_wait},
      [PV_VTEST_CREATE_RENDERER] = {"CREATE_RENDERER", 0, create_renderer},
      [PV_VTEST_GET_CAPS2] = {"GET_CAPS2", 0, NULL, true},
      [PV_VTEST_PING_PROTOCOL_VERSION] = {"PING_PROTOCOL_VERSION", 0, ping_protocol_version},
      [PV_VTEST_PROTOCOL_VERSION] = {"PROTOCOL_VERSION", 1, protocol_version},
      [PV_VTEST_RESOURCE_CREATE2] = {"RESOURCE_CREATE2", 0, NULL, true},
      [PV_VTEST_TRANSFER_GET2] = {"TRANSFER_GET2", 0, NULL, true},
      [PV_VTEST_TRANSFER_PUT2] = {"TRANSFER_PUT2", 0, NULL, false},
      [PV_VTEST_GET_PARAM] = {"GET_PARAM", 1, get_param},
      [PV_VTEST_GET_CAPSET] = {"GET_CAPSET", 2, get_capset},
      [PV_VTEST_CONTEXT_INIT] = {"CONTEXT_INIT", 1, context_init},
      [PV_VTEST_RESOURCE_CREATE_BLOB] = {"RESOURCE_CREATE_BLOB", 6, resource_create_blob},
      [PV_VTEST_SYNC_CREATE] = {"SYNC_CREATE", 2, sync_create},
      [PV_VTEST_SYNC_UNREF] = {"SYNC_UNREF", 1, sync_unref},
      [PV_VTEST_SYNC_READ] = {"SYNC_READ", 1, sync_read},
      [PV_VTEST_SYNC_WRITE] = {"SYNC_WRITE", 3, sync_write},
      [PV_VTEST_SYNC_WAIT] = {"SYNC_WAIT", 2, sync_wait},
      [PV_VTEST_SUBMIT_CMD2] = {"SUBMIT_CMD2", 1, submit_cmd2},
};

#define PV_VTEST_COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

/* Once per command id (ids from 63 up share one report), so a guest repeating one cannot
 * flood the log. vtest has no error reply: a skipped command that expects one leaves the
 * guest waiting, which the log says. */
static void report_unsupported(struct pv_vtest_conn *conn, uint32_t id,
                               const struct pv_vtest_command *cmd)
{
   uint64_t bit = 1ull << (id < 63 ? id : 63);
   if (conn->reported & bit)
      return;
   conn->reported |= bit;
   if (cmd)
      pv_error("%s: vtest command %u (%s, legacy virgl) is not supported; skipped%s", conn->name,
               id, cmd->name,
               cmd->legacy_reply ? " (the guest will wait for a reply that cannot come)" : "");
   else
      pv_error("%s: unknown vtest command %u; skipped%s", conn->name, id,
               id >= 63 ? " (further unknown ids from 63 up are not logged)" : "");
}

bool pv_vtest_handle(struct pv_vtest_conn *conn, uint32_t id, const void *payload, uint32_t length)
{
   const struct pv_vtest_command *cmd =
         id < PV_VTEST_COMMAND_COUNT && commands[id].name ? &commands[id] : NULL;
   if (!cmd || !cmd->handle) {
      report_unsupported(conn, id, cmd);
      return true; /* its payload has been read: the stream stays in step */
   }
   /* A length shorter than the layout means the stream is no longer what we think it is. */
   if (length < cmd->min_words) {
      pv_error("%s: vtest command %u (%s) has %u payload dwords, needs %u; closing the "
               "connection",
               conn->name, id, cmd->name, length, cmd->min_words);
      return false;
   }
   return cmd->handle(conn, payload, length);
}
