/* The vtest commands Mesa 25 venus sends, one handler each (vtest.md §5). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/pv_log.h"
#include "util/pv_os.h"
#include "vtest/pv_vtest_conn.h"

/* Mesa 25 speaks protocol 3; we speak exactly that. */
#define PV_VTEST_PROTOCOL                 3
#define PV_VTEST_PARAM_MAX_TIMELINE_COUNT 1
/* SUBMIT_CMD2 batch records are 6 dwords in protocol 3 (vtest.md §5). */
#define PV_VTEST_BATCH_WORDS         6
#define PV_VTEST_BATCH_FLAG_RING_IDX 0x1u

static bool need_words(struct pv_vtest_conn *conn, uint32_t id, uint32_t have, uint32_t need)
{
   if (have >= need)
      return true;
   pv_error("%s: vtest command %u has %u payload dwords, needs %u; closing", conn->name, id, have,
            need);
   return false;
}

static bool need_context(struct pv_vtest_conn *conn, uint32_t id)
{
   if (conn->ctx)
      return true;
   pv_error("%s: vtest command %u before CONTEXT_INIT; closing", conn->name, id);
   return false;
}

static bool create_renderer(struct pv_vtest_conn *conn, uint32_t bytes)
{
   size_t n = bytes < sizeof(conn->name) - 1 ? bytes : sizeof(conn->name) - 1;
   memcpy(conn->name, conn->payload, n);
   conn->name[n] = 0;
   if (!conn->name[0])
      snprintf(conn->name, sizeof(conn->name), "client");
   conn->have_renderer = true;
   return true;
}

static bool get_capset(struct pv_vtest_conn *conn, const uint32_t *w)
{
   uint32_t reply[1 + PV_GPU_CAPSET_MAX_SIZE / 4] = {0};
   size_t size = PV_GPU_CAPSET_MAX_SIZE;
   if (!pv_gpu_get_capset(conn->gpu, w[0], w[1], reply + 1, &size))
      return pv_vtest_reply(conn, PV_VTEST_GET_CAPSET, reply, 1);
   reply[0] = 1;
   return pv_vtest_reply(conn, PV_VTEST_GET_CAPSET, reply, 1 + (uint32_t)(size / 4));
}

static bool context_init(struct pv_vtest_conn *conn, const uint32_t *w)
{
   if (conn->ctx) {
      if (w[0] == conn->capset_id)
         return true;
      pv_error("%s: CONTEXT_INIT with capset %u after %u; closing", conn->name, w[0],
               conn->capset_id);
      return false;
   }
   conn->ctx = pv_gpu_context_create(conn->gpu, w[0], conn->name, pv_vtest_fence_retired, conn);
   if (!conn->ctx) {
      pv_error("%s: CONTEXT_INIT: capset %u is not served; closing", conn->name, w[0]);
      return false;
   }
   conn->capset_id = w[0];
   return true;
}

static bool create_blob(struct pv_vtest_conn *conn, const uint32_t *w)
{
   uint64_t size = w[2] | (uint64_t)w[3] << 32;
   uint64_t blob_id = w[4] | (uint64_t)w[5] << 32;
   uint32_t res_id = 0;
   int fd = -1;
   if (!pv_gpu_context_create_blob(conn->ctx, w[0], w[1], size, blob_id, &res_id, &fd)) {
      /* vtest has no error reply and the guest aborts without an fd: give it an empty one,
       * whose mapping fails, so the guest reports a map failure instead of hanging. */
      fd = pv_os_memfd_create("pearvisor-no-blob", 0);
      res_id = 0;
   }
   bool ok = pv_vtest_reply(conn, PV_VTEST_RESOURCE_CREATE_BLOB, &res_id, 1) && fd >= 0 &&
             pv_vtest_send_fd(conn, fd);
   if (fd >= 0)
      close(fd);
   return ok;
}

/* Every offset and size is checked against the payload before anything runs. */
static bool submit_cmd2(struct pv_vtest_conn *conn, uint32_t words)
{
   const uint32_t *w = conn->payload;
   uint32_t batches = w[0];
   if ((uint64_t)batches * PV_VTEST_BATCH_WORDS + 1 > words) {
      pv_error("%s: SUBMIT_CMD2 with %u batches does not fit %u dwords; closing", conn->name,
               batches, words);
      return false;
   }
   for (uint32_t b = 0; b < batches; b++) {
      const uint32_t *rec = w + 1 + b * PV_VTEST_BATCH_WORDS;
      uint32_t flags = rec[0], cmd_offset = rec[1], cmd_size = rec[2];
      uint32_t sync_offset = rec[3], sync_count = rec[4];
      uint32_t ring_idx = flags & PV_VTEST_BATCH_FLAG_RING_IDX ? rec[5] : 0;
      if ((uint64_t)cmd_offset + cmd_size > words ||
          (uint64_t)sync_offset + (uint64_t)sync_count * 3 > words) {
         pv_error("%s: SUBMIT_CMD2 batch %u points outside its %u-dword payload; closing",
                  conn->name, b, words);
         return false;
      }
      /* Straight from the receive buffer: no copy. A fatal context is not a reason to
       * drop the connection: the guest would spin forever (pitfalls.md #3). */
      if (cmd_size)
         pv_gpu_context_submit(conn->ctx, w + cmd_offset, (size_t)cmd_size * 4);
      for (uint32_t s = 0; s < sync_count; s++) {
         const uint32_t *t = w + sync_offset + s * 3;
         if (!pv_vtest_sync_signal_on_ring(conn, t[0], t[1] | (uint64_t)t[2] << 32, ring_idx))
            pv_error("%s: SUBMIT_CMD2: sync %u or timeline %u is not valid", conn->name, t[0],
                     ring_idx);
      }
   }
   return true;
}

static void report_unknown(struct pv_vtest_conn *conn, uint32_t id)
{
   uint32_t bit = id % 1024;
   if (conn->reported[bit / 32] & (1u << (bit % 32)))
      return;
   conn->reported[bit / 32] |= 1u << (bit % 32);
   pv_error("%s: vtest command %u is not supported (legacy virgl or unknown); ignored", conn->name,
            id);
}

bool pv_vtest_handle(struct pv_vtest_conn *conn, uint32_t id, uint32_t length)
{
   const uint32_t *w = conn->payload;
   uint32_t words = id == PV_VTEST_CREATE_RENDERER ? 0 : length;
   switch (id) {
   case PV_VTEST_CREATE_RENDERER:
      return create_renderer(conn, length);
   case PV_VTEST_PING_PROTOCOL_VERSION:
      return pv_vtest_reply(conn, id, NULL, 0);
   case PV_VTEST_RESOURCE_BUSY_WAIT: {
      /* Venus only sends it as the ping probe, before any context (vtest.md §4). */
      const uint32_t idle = 0;
      return need_words(conn, id, words, 2) && pv_vtest_reply(conn, id, &idle, 1);
   }
   case PV_VTEST_PROTOCOL_VERSION: {
      if (!need_words(conn, id, words, 1))
         return false;
      uint32_t version = w[0] < PV_VTEST_PROTOCOL ? w[0] : PV_VTEST_PROTOCOL;
      return pv_vtest_reply(conn, id, &version, 1);
   }
   case PV_VTEST_GET_PARAM: {
      if (!need_words(conn, id, words, 1))
         return false;
      uint32_t reply[2] = {0, 0};
      if (w[0] == PV_VTEST_PARAM_MAX_TIMELINE_COUNT) {
         reply[0] = 1;
         reply[1] = PV_GPU_MAX_TIMELINES;
      }
      return pv_vtest_reply(conn, id, reply, 2);
   }
   case PV_VTEST_GET_CAPSET:
      return need_words(conn, id, words, 2) && get_capset(conn, w);
   case PV_VTEST_CONTEXT_INIT:
      return need_words(conn, id, words, 1) && context_init(conn, w);
   case PV_VTEST_RESOURCE_CREATE_BLOB:
      return need_words(conn, id, words, 6) && need_context(conn, id) && create_blob(conn, w);
   case PV_VTEST_RESOURCE_UNREF:
      if (!need_words(conn, id, words, 1) || !need_context(conn, id))
         return false;
      pv_gpu_context_unref_resource(conn->ctx, w[0]);
      return true;
   case PV_VTEST_SUBMIT_CMD2:
      return need_words(conn, id, words, 1) && need_context(conn, id) && submit_cmd2(conn, words);
   case PV_VTEST_SYNC_CREATE:
   case PV_VTEST_SYNC_UNREF:
   case PV_VTEST_SYNC_READ:
   case PV_VTEST_SYNC_WRITE:
   case PV_VTEST_SYNC_WAIT:
      return pv_vtest_sync_handle(conn, id, words);
   default:
      report_unknown(conn, id);
      return true;
   }
}
