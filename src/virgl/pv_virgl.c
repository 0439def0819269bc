/* virglrenderer's ABI, renderer side: init, capsets, Venus contexts, command submission
 * and fences. Resources are in pv_virgl_resource.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/pv_log.h"
#include "virgl/pv_virgl.h"

struct pv_virgl pv_virgl = {.lock = PTHREAD_MUTEX_INITIALIZER};

struct pv_gpu *pv_virgl_gpu(void)
{
   if (!pv_virgl.gpu) {
      pv_log_init("pearvisor-virgl");
      const struct pv_gpu_options options = {.version = PV_GPU_OPTIONS_VERSION};
      pv_virgl.gpu = pv_gpu_create(&options);
      pv_hash_init(&pv_virgl.contexts);
      pv_hash_init(&pv_virgl.resources);
      if (!pv_virgl.gpu)
         pv_error("cannot create the renderer");
   }
   return pv_virgl.gpu;
}

struct pv_virgl_context *pv_virgl_context(uint32_t ctx_id)
{
   return pv_virgl.gpu ? pv_hash_lookup(&pv_virgl.contexts, ctx_id) : NULL;
}

void pv_virgl_log_gl_once(enum pv_virgl_gl_call call, const char *what)
{
   if (pv_virgl.unsupported_logged & (1u << call))
      return;
   pv_virgl.unsupported_logged |= 1u << call;
   pv_error("%s: this renderer serves Venus (Vulkan) only; GL calls fail (logged once)", what);
}

PV_VIRGL_EXPORT int virgl_renderer_init(void *cookie, int flags,
                                        struct virgl_renderer_callbacks *cb)
{
   pthread_mutex_lock(&pv_virgl.lock);
   int ret = 0;
   if (pv_virgl.initialized) {
      pv_error("virgl_renderer_init called twice without cleanup");
      ret = -EBUSY;
   } else if (!cb || !pv_virgl_gpu()) {
      ret = -EINVAL;
   } else {
      if (!(flags & PV_VIRGL_FLAG_VENUS))
         pv_warn("virgl_renderer_init without the VENUS flag; only Venus contexts are served");
      if (cb->version < 3)
         pv_warn("callbacks version %d has no per-context fences; Venus rings cannot signal",
                 cb->version);
      pv_virgl.cookie = cookie;
      pv_virgl.cb = cb;
      pv_virgl.initialized = true;
   }
   pthread_mutex_unlock(&pv_virgl.lock);
   return ret;
}

static void destroy_context(uint64_t key, void *value, void *data)
{
   struct pv_virgl_context *c = value;
   pv_gpu_context_destroy(c->ctx);
   free(c);
}

static void forget_everything(void)
{
   pv_hash_foreach(&pv_virgl.contexts, destroy_context, NULL);
   pv_hash_finish(&pv_virgl.contexts);
   pv_hash_init(&pv_virgl.contexts);
   pv_virgl_resources_finish();
   pv_gpu_reset(pv_virgl.gpu);
   pv_virgl.global_fence_pending = false;
}

PV_VIRGL_EXPORT void virgl_renderer_reset(void)
{
   pthread_mutex_lock(&pv_virgl.lock);
   if (pv_virgl.gpu)
      forget_everything();
   pthread_mutex_unlock(&pv_virgl.lock);
}

PV_VIRGL_EXPORT void virgl_renderer_cleanup(void *cookie)
{
   pthread_mutex_lock(&pv_virgl.lock);
   if (pv_virgl.gpu) {
      forget_everything();
      pv_hash_finish(&pv_virgl.contexts);
      pv_hash_finish(&pv_virgl.resources);
      pv_gpu_destroy(pv_virgl.gpu);
      pv_virgl.gpu = NULL;
   }
   pv_virgl.initialized = false;
   pthread_mutex_unlock(&pv_virgl.lock);
}

PV_VIRGL_EXPORT void virgl_renderer_get_cap_set(uint32_t set, uint32_t *max_ver, uint32_t *max_size)
{
   /* Only Venus: size 0 tells the VMM the VIRGL capsets are empty. */
   *max_ver = 0;
   *max_size = set == PV_GPU_CAPSET_VENUS ? PV_GPU_CAPSET_MAX_SIZE : 0;
}

PV_VIRGL_EXPORT void virgl_renderer_fill_caps(uint32_t set, uint32_t version, void *caps)
{
   pthread_mutex_lock(&pv_virgl.lock);
   size_t size = PV_GPU_CAPSET_MAX_SIZE;
   struct pv_gpu *gpu = pv_virgl_gpu();
   if (!gpu || !pv_gpu_get_capset(gpu, set, version, caps, &size))
      pv_error("fill_caps: capset %u version %u is not served", set, version);
   pthread_mutex_unlock(&pv_virgl.lock);
}

static void context_fence_retired(void *data, uint32_t ring_idx, uint64_t fence_id)
{
   const struct pv_virgl_context *c = data;
   if (pv_virgl.cb->version >= 3 && pv_virgl.cb->write_context_fence)
      pv_virgl.cb->write_context_fence(pv_virgl.cookie, c->ctx_id, ring_idx, fence_id);
}

PV_VIRGL_EXPORT int virgl_renderer_context_create_with_flags(uint32_t ctx_id, uint32_t ctx_flags,
                                                             uint32_t nlen, const char *name)
{
   uint32_t capset = ctx_flags & PV_VIRGL_CONTEXT_CAPSET_MASK;
   if (capset != PV_GPU_CAPSET_VENUS) {
      pv_virgl_log_gl_once(PV_VIRGL_GL_CONTEXT, "context_create (capset other than Venus)");
      return -EINVAL;
   }
   char debug_name[64];
   snprintf(debug_name, sizeof(debug_name), "ctx %u %.*s", ctx_id, (int)(nlen < 48 ? nlen : 48),
            name ? name : "");
   pthread_mutex_lock(&pv_virgl.lock);
   int ret = -EINVAL;
   struct pv_virgl_context *c = NULL;
   if (!pv_virgl.initialized || ctx_id == 0 || pv_virgl_context(ctx_id)) {
      pv_error("context_create %u: %s", ctx_id,
               !pv_virgl.initialized ? "before virgl_renderer_init" : "id 0 or in use");
      goto out;
   }
   c = calloc(1, sizeof(*c));
   if (!c)
      goto out;
   c->ctx_id = ctx_id;
   const struct pv_gpu_context_desc desc = {
         .capset_id = capset,
         .debug_name = debug_name,
         .flags = PV_GPU_CONTEXT_POLL_FENCES,
         .fence_retired = context_fence_retired,
         .fence_data = c,
   };
   c->ctx = pv_gpu_context_create(pv_virgl.gpu, &desc);
   if (!c->ctx || !pv_hash_insert(&pv_virgl.contexts, ctx_id, c)) {
      pv_gpu_context_destroy(c->ctx);
      free(c);
      goto out;
   }
   ret = 0;
out:
   pthread_mutex_unlock(&pv_virgl.lock);
   return ret;
}

PV_VIRGL_EXPORT int virgl_renderer_context_create(uint32_t handle, uint32_t nlen, const char *name)
{
   pv_virgl_log_gl_once(PV_VIRGL_GL_CONTEXT, "context_create (a virgl GL context)");
   return -EINVAL;
}

PV_VIRGL_EXPORT void virgl_renderer_context_destroy(uint32_t handle)
{
   pthread_mutex_lock(&pv_virgl.lock);
   struct pv_virgl_context *c = pv_virgl.gpu ? pv_hash_remove(&pv_virgl.contexts, handle) : NULL;
   if (c) {
      /* Fences still pending are dropped: the VMM forgets them with the context. */
      pv_gpu_context_destroy(c->ctx);
      free(c);
   } else {
      pv_error("context_destroy of unknown context %u", handle);
   }
   pthread_mutex_unlock(&pv_virgl.lock);
}

PV_VIRGL_EXPORT int virgl_renderer_submit_cmd(void *buffer, int ctx_id, int ndw)
{
   pthread_mutex_lock(&pv_virgl.lock);
   struct pv_virgl_context *c = pv_virgl_context((uint32_t)ctx_id);
   pthread_mutex_unlock(&pv_virgl.lock);
   if (!c || ndw < 0 || (ndw && !buffer) || ((uintptr_t)buffer & 3)) {
      pv_error("submit_cmd: unknown context %d, or a bad buffer (%d dwords)", ctx_id, ndw);
      return -EINVAL;
   }
   /* The context's calls are serialized by the VMM; the table lock is not held while the
    * stream runs, so other contexts keep going. */
   return pv_gpu_context_submit(c->ctx, buffer, (size_t)ndw * 4) ? 0 : -EINVAL;
}

PV_VIRGL_EXPORT int virgl_renderer_context_create_fence(uint32_t ctx_id, uint32_t flags,
                                                        uint32_t ring_idx, uint64_t fence_id)
{
   pthread_mutex_lock(&pv_virgl.lock);
   struct pv_virgl_context *c = pv_virgl_context(ctx_id);
   pthread_mutex_unlock(&pv_virgl.lock);
   if (!c) {
      pv_error("context_create_fence: unknown context %u", ctx_id);
      return -EINVAL;
   }
   return pv_gpu_context_submit_fence(c->ctx, ring_idx, fence_id) ? 0 : -EINVAL;
}

/* A fence on the VMM's global timeline. Context streams run synchronously in submit_cmd, so
 * everything before it is done: it retires at the next poll. Returns a positive errno, as
 * virglrenderer's does. */
PV_VIRGL_EXPORT int virgl_renderer_create_fence(int client_fence_id, uint32_t ctx_id)
{
   pthread_mutex_lock(&pv_virgl.lock);
   pv_virgl.global_fence = (uint32_t)client_fence_id;
   pv_virgl.global_fence_pending = true;
   pthread_mutex_unlock(&pv_virgl.lock);
   return 0;
}

static void poll_context(uint64_t key, void *value, void *data)
{
   struct pv_virgl_context *c = value;
   pv_gpu_context_poll(c->ctx);
}

PV_VIRGL_EXPORT void virgl_renderer_poll(void)
{
   pthread_mutex_lock(&pv_virgl.lock);
   if (pv_virgl.initialized) {
      pv_hash_foreach(&pv_virgl.contexts, poll_context, NULL);
      if (pv_virgl.global_fence_pending && pv_virgl.cb->write_fence) {
         pv_virgl.global_fence_pending = false;
         pv_virgl.cb->write_fence(pv_virgl.cookie, pv_virgl.global_fence);
      }
   }
   pthread_mutex_unlock(&pv_virgl.lock);
}

PV_VIRGL_EXPORT void virgl_renderer_context_poll(uint32_t ctx_id)
{
   pthread_mutex_lock(&pv_virgl.lock);
   struct pv_virgl_context *c = pv_virgl_context(ctx_id);
   if (c)
      pv_gpu_context_poll(c->ctx);
   pthread_mutex_unlock(&pv_virgl.lock);
}

PV_VIRGL_EXPORT int virgl_renderer_context_get_poll_fd(uint32_t ctx_id)
{
   pthread_mutex_lock(&pv_virgl.lock);
   struct pv_virgl_context *c = pv_virgl_context(ctx_id);
   int fd = c ? pv_gpu_context_poll_fd(c->ctx) : -1;
   pthread_mutex_unlock(&pv_virgl.lock);
   return fd;
}

/* Global fences retire at the next poll without any wait, so there is nothing to poll. */
PV_VIRGL_EXPORT int virgl_renderer_get_poll_fd(void)
{
   return -1;
}

/* There is no GL context to make current. */
PV_VIRGL_EXPORT void virgl_renderer_force_ctx_0(void)
{
}
