/* The library's state: one renderer per process, as virglrenderer's ABI has it. Each guest
 * context runs in a worker process (pv_virgl_worker.c); the library keeps the ids, the
 * blobs' memfds and mappings, and delivers fences. */
#ifndef PV_VIRGL_H
#define PV_VIRGL_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include <pearvisor/pv_gpu.h>

#include "util/pv_hash.h"
#include "virgl/pv_virgl_abi.h"
#include "virgl/pv_virgl_wire.h"

struct pv_virgl_context {
   uint32_t ctx_id;
   char name[64]; /* "ctx N <VMM's name>", in log lines and the worker's argv */
   pid_t pid;
   int control_fd;                /* requests to the worker, blob replies back */
   int events_fd;                 /* the poll fd: readable when the page changed */
   struct pv_wire_shared *shared; /* the worker's fence page (untrusted) */
   atomic_bool lost;              /* the worker is gone: fences retired, submits fail */
   uint64_t fence_asked[PV_GPU_MAX_TIMELINES];     /* newest fence the VMM asked for */
   uint64_t fence_delivered[PV_GPU_MAX_TIMELINES]; /* newest one delivered */
   uint64_t global_sent;                           /* GLOBAL_FENCE requests sent */
};

/* A 2D resource (the guest console, cursors) lives here in host memory. A blob lives in the
 * worker of the context that created it; the library holds its memfd and maps it. */
struct pv_virgl_resource {
   uint32_t res_id;
   bool blob;
   uint32_t owner; /* blob: the context whose worker has it; 0 once that context is gone */
   int fd;         /* blob: its memfd */
   uint64_t size;  /* blob */
   bool mappable;  /* blob */
   void *map;      /* blob: the VMM's mapping, NULL when not mapped */
   uint32_t format, width, height, stride, flags;
   uint8_t *pixels;   /* 2D only */
   struct iovec *iov; /* the guest backing the VMM attached, the VMM's memory */
   int iov_count;
};

/* A fence on the VMM's global timeline: retires once its context's worker ran everything
 * sent before it (seq), and only after every global fence before it. */
struct pv_virgl_global_fence {
   uint32_t fence_id;
   uint32_t ctx_id; /* 0: nothing to wait for */
   uint64_t seq;
};

/* A worker process started before any context is given to it (pv_virgl_pool.c). */
struct pv_virgl_worker {
   pid_t pid;
   int control_fd, events_fd; /* events_fd is in the epoll set from the start */
   struct pv_wire_shared *shared;
   bool ready; /* its first byte came: the host instance is prepared */
   bool gone;  /* its sockets closed (fds closed here): waits to be reaped */
   uint64_t started_ns;
   uint64_t ready_ns;
};

/* Ready workers waiting for contexts (PEARVISOR_VIRGL_READY of them). */
#define PV_VIRGL_READY_MAX     8
#define PV_VIRGL_READY_DEFAULT 1
struct pv_virgl_pool {
   unsigned size;  /* how many to keep */
   unsigned count; /* workers[0..count) */
   struct pv_virgl_worker workers[PV_VIRGL_READY_MAX];
   unsigned failures;      /* workers in a row that died waiting */
   uint64_t next_start_ns; /* back-off after failures: none started before this */
};

/* A worker that has been told to stop and not yet reaped. */
struct pv_virgl_dying {
   pid_t pid;
   uint64_t kill_at_ns; /* SIGKILL if it is still there then; 0: killed already */
};

struct pv_virgl {
   pthread_mutex_t lock; /* the tables; VMMs call from one thread, virgl_test_server may not */
   bool initialized;
   void *cookie;
   struct virgl_renderer_callbacks *cb;
   struct pv_gpu *gpu;       /* the capsets; created on first need (asked before init) */
   char worker_path[4096];   /* set by init */
   int epoll_fd;             /* get_poll_fd: every context's events socket */
   struct pv_hash contexts;  /* ctx_id -> struct pv_virgl_context */
   struct pv_hash resources; /* res_id -> struct pv_virgl_resource */
   struct pv_virgl_global_fence *global_fences; /* pending, oldest first */
   size_t global_count, global_capacity;
   struct pv_virgl_dying *dying;
   size_t dying_count, dying_capacity;
   struct pv_virgl_pool pool;
   uint32_t unsupported_logged; /* bit per PV_VIRGL_GL_* call logged once */
};

extern struct pv_virgl pv_virgl;

/* The renderer, created if needed; NULL (logged) when it cannot be. */
struct pv_gpu *pv_virgl_gpu(void);
/* Under pv_virgl.lock: */
struct pv_virgl_context *pv_virgl_context(uint32_t ctx_id);
struct pv_virgl_resource *pv_virgl_resource(uint32_t res_id);
void pv_virgl_resources_finish(void);
/* A context is going: its blobs stay (they are the VMM's until unref) but lose their owner. */
void pv_virgl_resources_orphan(uint32_t ctx_id);

/* pv_virgl_context.c, all under pv_virgl.lock. */
/* Finds pearvisor-virgl-worker next to this library (or at $PEARVISOR_VIRGL_WORKER). */
bool pv_virgl_find_worker(char *path, size_t size);
/* Gives the context a worker: a ready one, else one started for it. false (logged) when it
 * cannot. */
bool pv_virgl_context_start(struct pv_virgl_context *c);
/* Closes the worker's sockets (it frees everything and exits) and queues it for reaping. */
void pv_virgl_context_stop(struct pv_virgl_context *c);
/* Reaps stopped workers; with wait, waits for all of them (killing stragglers). */
void pv_virgl_reap(bool wait);
/* Queues a worker whose sockets are closed for reaping: killed after grace_ns (0: now). */
void pv_virgl_queue_dying(pid_t pid, uint64_t grace_ns);

/* pv_virgl_pool.c, all under pv_virgl.lock. */
/* Starts a worker (pv_virgl_wire.h): it prepares a host instance, then waits for START.
 * false (logged) when it cannot. */
bool pv_virgl_worker_start(struct pv_virgl_worker *w);
/* Closes a worker's sockets and mapping and queues it to be killed and reaped. */
void pv_virgl_worker_discard(struct pv_virgl_worker *w);
/* Reads PEARVISOR_VIRGL_READY and starts that many ready workers (init). */
void pv_virgl_pool_init(void);
/* Notes workers that became ready, reaps and replaces those that died (after a back-off
 * when they keep dying), tops the pool up. On every poll, and after a context took one. */
void pv_virgl_pool_fill(void);
/* A worker of the pool, taken out of it: a ready one, else the one that has been getting
 * ready the longest (w->ready false). false when the pool is empty. */
bool pv_virgl_pool_take(struct pv_virgl_worker *w);
/* Kills and reaps every worker in the pool (cleanup). */
void pv_virgl_pool_finish(void);
/* Sends one request; a dead worker marks the context lost (logged). */
bool pv_virgl_context_send(struct pv_virgl_context *c, uint32_t op, const void *payload,
                           uint32_t size);
/* Creates a HOST3D blob in the worker and returns its memfd (checked: sealed, big enough). */
int pv_virgl_context_create_blob(struct pv_virgl_context *c, const struct pv_wire_create_blob *req);
/* Delivers the context's retired fences through the VMM's callback; notices a dead worker. */
void pv_virgl_context_poll(struct pv_virgl_context *c);
/* Global fences: queue one, and retire those whose contexts have caught up. */
bool pv_virgl_global_fence(uint32_t fence_id, uint32_t ctx_id);
void pv_virgl_global_poll(void);

/* Logs a GL-only call once per process: this renderer serves Venus, not virgl's GL. */
enum pv_virgl_gl_call {
   PV_VIRGL_GL_CONTEXT,
   PV_VIRGL_GL_3D_RESOURCE,
   PV_VIRGL_GL_TRANSFER,
};
void pv_virgl_log_gl_once(enum pv_virgl_gl_call call, const char *what);

#endif
