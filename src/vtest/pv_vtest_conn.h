/* One vtest connection: its state, message framing, replies and fd passing. */
#ifndef PV_VTEST_CONN_H
#define PV_VTEST_CONN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pearvisor/pv_gpu.h>

#include "util/pv_hash.h"

/* vtest command ids (vtest.md §3). */
enum pv_vtest_cmd {
   PV_VTEST_RESOURCE_UNREF = 3,
   PV_VTEST_RESOURCE_BUSY_WAIT = 7,
   PV_VTEST_CREATE_RENDERER = 8,
   PV_VTEST_PING_PROTOCOL_VERSION = 10,
   PV_VTEST_PROTOCOL_VERSION = 11,
   PV_VTEST_GET_PARAM = 15,
   PV_VTEST_GET_CAPSET = 16,
   PV_VTEST_CONTEXT_INIT = 17,
   PV_VTEST_RESOURCE_CREATE_BLOB = 18,
   PV_VTEST_SYNC_CREATE = 19,
   PV_VTEST_SYNC_UNREF = 20,
   PV_VTEST_SYNC_READ = 21,
   PV_VTEST_SYNC_WRITE = 22,
   PV_VTEST_SYNC_WAIT = 23,
   PV_VTEST_SUBMIT_CMD2 = 24,
};

/* Longest payload we accept: SUBMIT_CMD2 batches are small (rings carry the bulk). */
#define PV_VTEST_MAX_PAYLOAD (64u << 20)

struct pv_vtest_conn {
   int fd;
   struct pv_gpu *gpu;
   struct pv_gpu_context *ctx;
   uint32_t capset_id;
   bool have_renderer;
   bool print_stats;
   char name[64];
   uint32_t *payload;       /* receive buffer, reused across messages */
   size_t payload_capacity; /* bytes */
   uint32_t reported[32];   /* unknown command ids already logged (bit set) */

   pthread_mutex_t sync_lock; /* syncs are also written by the renderer's fence thread */
   struct pv_hash syncs;
   uint32_t next_sync_id;
   struct pv_hash fences; /* fence id -> pending sync write */
   uint64_t next_fence_id;
   struct pv_vtest_sync_waiter *waiters;
};

/* false when the peer is gone or the write failed. */
bool pv_vtest_reply(struct pv_vtest_conn *conn, uint32_t id, const uint32_t *words, uint32_t count);
/* Sends fd after a reply: one byte of payload with the fd as SCM_RIGHTS (vtest.md §2). */
bool pv_vtest_send_fd(struct pv_vtest_conn *conn, int fd);

/* Command handlers (pv_vtest_commands.c); payload is `words` dwords (bytes for
 * CREATE_RENDERER). false ends the connection. */
bool pv_vtest_handle(struct pv_vtest_conn *conn, uint32_t id, uint32_t length);

/* Sync objects (pv_vtest_sync.c). */
void pv_vtest_syncs_init(struct pv_vtest_conn *conn);
void pv_vtest_syncs_finish(struct pv_vtest_conn *conn);
bool pv_vtest_sync_handle(struct pv_vtest_conn *conn, uint32_t id, uint32_t words);
/* Arranges for sync_id to be set to value when ring_idx's work so far is done. */
bool pv_vtest_sync_signal_on_ring(struct pv_vtest_conn *conn, uint32_t sync_id, uint64_t value,
                                  uint32_t ring_idx);
void pv_vtest_fence_retired(void *data, uint32_t ring_idx, uint64_t fence_id);

#endif
