/* One vtest connection: its state, message framing, replies and fd passing. */
#ifndef PV_VTEST_CONN_H
#define PV_VTEST_CONN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pearvisor/pv_gpu.h>

#include "util/pv_hash.h"
#include "vtest/pv_vtest_sync.h"

/* vtest command ids (docs/protocol/vtest.md §3). */
enum pv_vtest_cmd {
   PV_VTEST_GET_CAPS = 1,
   PV_VTEST_RESOURCE_CREATE = 2,
   PV_VTEST_RESOURCE_UNREF = 3,
   PV_VTEST_TRANSFER_GET = 4,
   PV_VTEST_TRANSFER_PUT = 5,
   PV_VTEST_SUBMIT_CMD = 6,
   PV_VTEST_RESOURCE_BUSY_WAIT = 7,
   PV_VTEST_CREATE_RENDERER = 8,
   PV_VTEST_GET_CAPS2 = 9,
   PV_VTEST_PING_PROTOCOL_VERSION = 10,
   PV_VTEST_PROTOCOL_VERSION = 11,
   PV_VTEST_RESOURCE_CREATE2 = 12,
   PV_VTEST_TRANSFER_GET2 = 13,
   PV_VTEST_TRANSFER_PUT2 = 14,
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

/* Longest payload accepted. Mesa 25 sends kilobytes at most on the socket (the bulk travels
 * in rings); the cap bounds what a broken or hostile client can make a worker allocate. */
#define PV_VTEST_MAX_PAYLOAD (64u << 20)
/* Longest reply: GET_CAPSET's valid word and a 160-byte capset. */
#define PV_VTEST_MAX_REPLY_WORDS (1 + PV_GPU_CAPSET_MAX_SIZE / 4)

/* Received bytes not yet consumed are buf[start, end). Messages are read ahead in as few
 * recv() calls as possible and handed out in place, so a payload is valid until the next
 * read. */
struct pv_vtest_reader {
   uint8_t *buf;
   size_t capacity;
   size_t start;
   size_t end;
};

struct pv_vtest_conn {
   int fd;
   struct pv_gpu *gpu;
   struct pv_gpu_context *ctx; /* NULL until CONTEXT_INIT */
   uint32_t capset_id;
   bool have_renderer; /* CREATE_RENDERER seen */
   bool print_stats;
   char name[64]; /* CREATE_RENDERER's debug name, for logs */
   struct pv_vtest_reader reader;
   uint64_t reported;           /* bit n: unsupported command n logged (bit 63: every id >= 63) */
   atomic_uint limits_reported; /* bit per enum pv_limit logged (pv_limits_report) */
   struct pv_vtest_syncs syncs;
   struct pv_hash resources;     /* res ids this client created; unref'd when it leaves */
   struct pv_watchdog *watchdog; /* from CONTEXT_INIT: cancels the context if the guest
                                    leaves mid-command, bounds teardown */
   int stop_fd;                  /* readable once the server stops; -1: never */
   bool stopping;                /* the server stops: refuse new work, answer with errors */
   uint64_t stop_deadline_ns;    /* while stopping: when the connection ends anyway */
};

/* How a connection is served, beyond pv_vtest_serve_client's defaults. */
struct pv_vtest_serve_params {
   bool print_stats;          /* --stats: log the context's accounting when the guest leaves */
   unsigned teardown_limit_s; /* a worker process exits if teardown takes longer; 0: no bound */
   /* Readable, and staying so, once the server asks the worker to stop (a signalfd for
    * SIGTERM/SIGINT); -1: never. The guest is then told (its context turns fatal, which sets
    * its rings' FATAL bit; pending SYNC_WAITs hang up; new contexts, capsets and blobs are
    * refused) and the connection ends when it leaves, or PV_VTEST_STOP_GRACE_S later. */
   int stop_fd;
   const struct pv_gpu_limits *limits; /* syncs and waits of the connection; NULL: defaults */
};

/* Long enough for a stock guest waiting on a ring to see the FATAL bit and end (it looks
 * about every 3.5 s), short enough for a service manager's stop timeout. */
#define PV_VTEST_STOP_GRACE_S 5

void pv_vtest_conn_serve(struct pv_gpu *gpu, int fd, const struct pv_vtest_serve_params *params);

/* Sends [count][id] + words in one write (count <= PV_VTEST_MAX_REPLY_WORDS). false when the
 * peer is gone. */
bool pv_vtest_conn_reply(struct pv_vtest_conn *conn, uint32_t id, const uint32_t *words,
                         uint32_t count);
/* Sends fd after a reply: a one-byte payload (0) carrying it as SCM_RIGHTS
 * (docs/protocol/vtest.md §2). The caller still owns fd. */
bool pv_vtest_conn_send_fd(struct pv_vtest_conn *conn, int fd);

/* Runs one message (pv_vtest_commands.c). payload holds length dwords, or length bytes for
 * CREATE_RENDERER, and is 4-byte aligned. false: the connection must end (the peer is gone,
 * or the message is malformed in a way that makes the stream untrustworthy). */
bool pv_vtest_handle(struct pv_vtest_conn *conn, uint32_t id, const void *payload, uint32_t length);

#endif
