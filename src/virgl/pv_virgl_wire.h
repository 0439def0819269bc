/* What the library (in the VMM's process) and a context worker (pearvisor-virgl-worker, one
 * process per guest context) say to each other.
 *
 * The library starts the worker, with no arguments, with three fds in fixed places, before
 * it knows the context: the worker loads the host driver and prepares a host instance
 * (pv_gpu_prepare), confines itself, and writes one byte to the events socket to say it is
 * ready (unless START is waiting already: a worker started for a context says nothing). The
 * library keeps a few such ready workers (PEARVISOR_VIRGL_READY) and hands one
 * to each new context, or starts one for it when none is ready. Its first request on the
 * control socket is START, which names the context; then come the context's requests, each
 * a header and a payload; the worker runs them in the order sent, so a fence or a blob
 * request sees every command stream before it. Only CREATE_BLOB is answered. Retired fences
 * travel through a shared page the worker writes and the library reads (treating every value
 * as untrusted); the worker then writes a byte to the events socket, whose library end is
 * the context's poll fd. A dead worker closes both sockets, which the library sees as
 * end-of-file. */
#ifndef PV_VIRGL_WIRE_H
#define PV_VIRGL_WIRE_H

#include <stdatomic.h>
#include <stdint.h>

#include <pearvisor/pv_gpu.h>

#define PV_WIRE_FD_CONTROL 3 /* stream socket: requests in, CREATE_BLOB replies out */
#define PV_WIRE_FD_EVENTS  4 /* stream socket: a byte out whenever the page changed */
#define PV_WIRE_FD_SHARED  5 /* memfd holding struct pv_wire_shared */

/* Per-context limits, "name=value,..." as `pearvisor serve --limit` takes them (pv_limits.h).
 * Not on the wire: the library and every worker read it from the environment they share
 * (workers are spawned with the library's). Those of vtest (syncs, waits, connections) mean
 * nothing here. */
#define PV_VIRGL_LIMITS_ENV "PEARVISOR_VIRGL_LIMITS"

/* Largest request payload: the same bound vtest puts on a guest's message. */
#define PV_WIRE_MAX_PAYLOAD (64u << 20)

enum pv_wire_op {
   PV_WIRE_SUBMIT = 1,   /* payload: Venus commands of the context stream */
   PV_WIRE_FENCE,        /* struct pv_wire_fence */
   PV_WIRE_GLOBAL_FENCE, /* struct pv_wire_global_fence */
   PV_WIRE_CREATE_BLOB,  /* struct pv_wire_create_blob; answered by struct pv_wire_blob_reply */
   PV_WIRE_UNREF,        /* struct pv_wire_resource */
   PV_WIRE_ATTACH,       /* struct pv_wire_resource */
   PV_WIRE_DETACH,       /* struct pv_wire_resource */
   PV_WIRE_START,        /* struct pv_wire_start: the first request, and only the first */
};

struct pv_wire_header {
   uint32_t op;
   uint32_t size; /* payload bytes that follow */
};

struct pv_wire_fence {
   uint32_t ring_idx;
   uint32_t reserved;
   uint64_t fence_id;
};

/* Everything sent before it has run: the worker stores seq in global_seq. */
struct pv_wire_global_fence {
   uint64_t seq;
};

struct pv_wire_create_blob {
   uint32_t res_id;
   uint32_t blob_mem; /* HOST3D: the worker's renderer allocates or exports the memory */
   uint32_t blob_flags;
   uint32_t reserved;
   uint64_t blob_id;
   uint64_t size;
};

/* ok != 0: the blob exists in the worker, and its memfd (exactly size bytes) rides along. */
struct pv_wire_blob_reply {
   uint32_t ok;
   uint32_t fd_type;
};

struct pv_wire_resource {
   uint32_t res_id;
};

/* The context the worker serves from now on. */
struct pv_wire_start {
   char name[64]; /* for log lines: printable, NUL-terminated */
};

/* Written only by the worker. */
struct pv_wire_shared {
   _Atomic uint64_t ring_fence[PV_GPU_MAX_TIMELINES]; /* newest retired fence of each ring */
   _Atomic uint64_t global_seq;                       /* newest GLOBAL_FENCE run */
   _Atomic uint32_t fatal;                            /* the context stream failed */
};

#endif
