/* The library's state: one renderer per process, as virglrenderer's ABI has it. */
#ifndef PV_VIRGL_H
#define PV_VIRGL_H

#include <pthread.h>
#include <stdint.h>

#include <pearvisor/pv_gpu.h>

#include "util/pv_hash.h"
#include "virgl/pv_virgl_abi.h"

struct pv_virgl_context {
   uint32_t ctx_id;
   struct pv_gpu_context *ctx;
};

/* A 2D resource (the guest console, cursors) lives here in host memory; a blob lives in the
 * renderer and this only remembers that it exists. */
struct pv_virgl_resource {
   uint32_t res_id;
   bool blob;
   uint32_t format, width, height, stride, flags;
   uint8_t *pixels;   /* 2D only */
   struct iovec *iov; /* the guest backing the VMM attached, the VMM's memory */
   int iov_count;
};

struct pv_virgl {
   pthread_mutex_t lock; /* the tables; VMMs call from one thread, virgl_test_server may not */
   bool initialized;
   void *cookie;
   struct virgl_renderer_callbacks *cb;
   struct pv_gpu *gpu;        /* created on first need: capsets are asked before init */
   struct pv_hash contexts;   /* ctx_id -> struct pv_virgl_context */
   struct pv_hash resources;  /* res_id -> struct pv_virgl_resource */
   bool global_fence_pending; /* create_fence seen since the last poll */
   uint32_t global_fence;
   uint32_t unsupported_logged; /* bit per PV_VIRGL_GL_* call logged once */
};

extern struct pv_virgl pv_virgl;

/* The renderer, created if needed; NULL (logged) when it cannot be. */
struct pv_gpu *pv_virgl_gpu(void);
/* Under pv_virgl.lock: */
struct pv_virgl_context *pv_virgl_context(uint32_t ctx_id);
struct pv_virgl_resource *pv_virgl_resource(uint32_t res_id);
void pv_virgl_resources_finish(void);

/* Logs a GL-only call once per process: this renderer serves Venus, not virgl's GL. */
enum pv_virgl_gl_call {
   PV_VIRGL_GL_CONTEXT,
   PV_VIRGL_GL_3D_RESOURCE,
   PV_VIRGL_GL_TRANSFER,
};
void pv_virgl_log_gl_once(enum pv_virgl_gl_call call, const char *what);

#endif
