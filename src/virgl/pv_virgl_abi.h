/* The parts of virglrenderer's C ABI (libvirglrenderer.so.1, as QEMU 10 and Debian's
 * virgl_test_server 0.10.4 use it) that this library implements: our own declarations of
 * the structs' layouts and the constants' values, which must match the ABI exactly. */
#ifndef PV_VIRGL_ABI_H
#define PV_VIRGL_ABI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#define PV_VIRGL_EXPORT __attribute__((visibility("default")))

/* virgl_renderer_init flags we look at. */
#define PV_VIRGL_FLAG_VENUS (1 << 6)

/* Context flags: the low byte is the virtio-gpu capset id. */
#define PV_VIRGL_CONTEXT_CAPSET_MASK 0xffu

struct virgl_renderer_gl_ctx_param;
struct virgl_box {
   uint32_t x, y, z;
   uint32_t w, h, d;
};

/* Callbacks, version 3 and later add write_context_fence. Only the fields up to it are read;
 * later ones (render server fd, EGL display) concern GL and a separate render server. */
struct virgl_renderer_callbacks {
   int version;
   void (*write_fence)(void *cookie, uint32_t fence);
   void *(*create_gl_context)(void *cookie, int scanout, struct virgl_renderer_gl_ctx_param *p);
   void (*destroy_gl_context)(void *cookie, void *ctx);
   int (*make_current)(void *cookie, int scanout, void *ctx);
   int (*get_drm_fd)(void *cookie);
   void (*write_context_fence)(void *cookie, uint32_t ctx_id, uint32_t ring_idx, uint64_t fence_id);
};

struct virgl_renderer_resource_create_args {
   uint32_t handle;
   uint32_t target;
   uint32_t format;
   uint32_t bind;
   uint32_t width;
   uint32_t height;
   uint32_t depth;
   uint32_t array_size;
   uint32_t last_level;
   uint32_t nr_samples;
   uint32_t flags;
};

struct virgl_renderer_resource_create_blob_args {
   uint32_t res_handle;
   uint32_t ctx_id;
   uint32_t blob_mem;
   uint32_t blob_flags;
   uint64_t blob_id;
   uint64_t size;
   const struct iovec *iovecs;
   uint32_t num_iovs;
};

/* The 1.x layout (with fd), which QEMU 10 is built against. */
struct virgl_renderer_resource_info {
   uint32_t handle;
   uint32_t virgl_format;
   uint32_t width;
   uint32_t height;
   uint32_t depth;
   uint32_t flags;
   uint32_t tex_id;
   uint32_t stride;
   int drm_fourcc;
   int fd;
};

struct virgl_renderer_resource_info_ext {
   int version;
   struct virgl_renderer_resource_info base;
   bool has_dmabuf_export;
   int planes;
   uint64_t modifiers;
   void *d3d_tex2d;
};

#endif
