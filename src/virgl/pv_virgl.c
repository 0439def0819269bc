/* virglrenderer's ABI, renderer side: init, capsets, Venus contexts, command submission
 * and fences. Resources are in pv_virgl_resource.c, the context workers in
 * pv_virgl_context.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "util/pv_limits.h"
#include "util/pv_log.h"
#include "virgl/pv_virgl.h"

struct pv_virgl pv_virgl = {.lock = PTHREAD_MUTEX_INITIALIZER, .epoll_fd = -1};

struct pv_gpu *pv_virgl_gpu(void)
{
   if (!pv_virgl.gpu) {
      pv_log_init("pearvisor-virgl");
      struct pv_gpu_options options = {.version = PV_GPU_OPTIONS_VERSION};
      /* A bad list fails the VMM's init rather than run its guests without the limits it
       * asked for; the workers read the same environment. */
      if (pv_limits_from_env(PV_VIRGL_LIMITS_ENV, &options.limits))
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
   } else if (!cb || !pv_virgl_gpu() ||
              !pv_virgl_find_worker(pv_virgl.worker_path, sizeof(pv_virgl.worker_path))) {
      ret = -EINVAL;
   } else if ((pv_virgl.epoll_fd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
      pv_error("epoll_create1: %s", strerror(errno));
      ret = -errno;
   } else {
      if (!(flags & PV_VIRGL_FLAG_VENUS))
         pv_warn("virgl_renderer_init without the VENUS flag; only Venus contexts are served");
      if (cb->version < 3)
         pv_warn("callbacks version %d has no per-context fences; Venus rings cannot signal",
                 cb->version);
      pv_virgl.cookie = cookie;
      pv_virgl.cb = cb;
      pv_virgl.initialized = true;
      pv_virgl_pool_init();
   }
   pthread_mutex_unlock(&pv_virgl.lock);
   return ret;
}

static void destroy_context(struct pv_virgl_context *c)
{
   pv_virgl_context_stop(c);
   pv_virgl_resources_orphan(c->ctx_id);
   free(c);
}

static void destroy_entry(uint64_t key, void *value, void *data)
{
   destroy_context(value);
}

/* Stops every worker (reaped later, or now with wait) and drops every resource and fence. */
static void forget_everything(bool wait)
{
   pv_hash_foreach(&pv_virgl.contexts, destroy_entry, NULL);
   pv_hash_finish(&pv_virgl.contexts);
   pv_virgl_resources_finish();
   pv_virgl.global_count = 0;
   pv_virgl_reap(wait);
}

PV_VIRGL_EXPORT void virgl_renderer_reset(void)
{
   pthread_mutex_lock(&pv_virgl.lock);
   if (pv_virgl.gpu)
      forget_everything(false);
   pthread_mutex_unlock(&pv_virgl.lock);
}

PV_VIRGL_EXPORT void virgl_renderer_cleanup(void *cookie)
{
   pthread_mutex_lock(&pv_virgl.lock);
   pv_virgl_pool_finish();
   if (pv_virgl.gpu) {
      forget_everything(true);
      pv_hash_finish(&pv_virgl.resources);
      pv_gpu_destroy(pv_virgl.gpu);
      pv_virgl.gpu = NULL;
   }
   free(pv_virgl.global_fences);
   free(pv_virgl.dying);
   pv_virgl.global_fences = NULL;
   pv_virgl.dying = NULL;
   pv_virgl.global_capacity = pv_virgl.dying_capacity = 0;
   if (pv_virgl.epoll_fd >= 0)
      close(pv_virgl.epoll_fd);
   pv_virgl.epoll_fd = -1;
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

PV_VIRGL_EXPORT int virgl_renderer_context_create_with_flags(uint32_t ctx_id, uint32_t ctx_flags,
                                                             uint32_t nlen, const char *name)
{
   uint32_t capset = ctx_flags & PV_VIRGL_CONTEXT_CAPSET_MASK;
   if (capset != PV_GPU_CAPSET_VENUS) {
      pv_virgl_log_gl_once(PV_VIRGL_GL_CONTEXT, "context_create (capset other than Venus)");
      return -EINVAL;
   }
   pthread_mutex_lock(&pv_virgl.lock);
   int ret = -EINVAL;
   struct pv_virgl_context *c = NULL;
   if (!pv_virgl.initialized || ctx_id == 0 || pv_virgl_context(ctx_id)) {
      pv_error("context_create %u: %s", ctx_id,
               !pv_virgl.initialized ? "before virgl_renderer_init" : "id 0 or in use");
      goto out;
   }
   pv_virgl_reap(false);
   c = calloc(1, sizeof(*c));
   if (!c)
      goto out;
   c->ctx_id = ctx_id;
   /* Printable only: it becomes the worker's argv and part of log lines. */
   int len = snprintf(c->name, sizeof(c->name), "ctx %u ", ctx_id);
   for (uint32_t i = 0; name && i < nlen && len < (int)sizeof(c->name) - 1; i++)
      c->name[len++] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
   c->name[len] = '\0';
   if (!pv_virgl_context_start(c)) {
      free(c);
      goto out;
   }
   if (!pv_hash_insert(&pv_virgl.contexts, ctx_id, c)) {
      destroy_context(c);
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
   if (c)
      destroy_context(c); /* fences still pending are dropped: the VMM forgets them too */
   else
      pv_error("context_destroy of unknown context %u", handle);
   pv_virgl_reap(false);
   pthread_mutex_unlock(&pv_virgl.lock);
}

/* The context, for a call that then runs without the table lock: the VMM serializes the
 * calls of one context, and other contexts keep going meanwhile. */
static struct pv_virgl_context *context_for_call(uint32_t ctx_id, const char *what)
{
   pthread_mutex_lock(&pv_virgl.lock);
   struct pv_virgl_context *c = pv_virgl_context(ctx_id);
   pthread_mutex_unlock(&pv_virgl.lock);
   if (!c)
      pv_error("%s: unknown context %u", what, ctx_id);
   return c;
}

/* Sent to the worker, which runs it after everything before: a failure shows in a later
 * call (the stream made the context fatal, or the worker died). */
PV_VIRGL_EXPORT int virgl_renderer_submit_cmd(void *buffer, int ctx_id, int ndw)
{
   struct pv_virgl_context *c = context_for_call((uint32_t)ctx_id, "submit_cmd");
   if (!c)
      return -EINVAL;
   if (ndw < 0 || (ndw && !buffer) || ((uintptr_t)buffer & 3) ||
       (uint64_t)ndw * 4 > PV_WIRE_MAX_PAYLOAD) {
      pv_error("%s: submit_cmd of a bad buffer (%d dwords)", c->name, ndw);
      return -EINVAL;
   }
   if (c->lost || atomic_load_explicit(&c->shared->fatal, memory_order_acquire))
      return -EINVAL;
   return pv_virgl_context_send(c, PV_WIRE_SUBMIT, buffer, (uint32_t)ndw * 4) ? 0 : -EINVAL;
}

/* Retires when the ring's work so far is done. A ring no queue is bound to is the worker's
 * to judge: it logs it, and that fence never retires. */
PV_VIRGL_EXPORT int virgl_renderer_context_create_fence(uint32_t ctx_id, uint32_t flags,
                                                        uint32_t ring_idx, uint64_t fence_id)
{
   struct pv_virgl_context *c = context_for_call(ctx_id, "context_create_fence");
   if (!c)
      return -EINVAL;
   if (ring_idx >= PV_GPU_MAX_TIMELINES) {
      pv_error("%s: fence %llu on ring %u, past the last ring (%u)", c->name,
               (unsigned long long)fence_id, ring_idx, PV_GPU_MAX_TIMELINES - 1);
      return -EINVAL;
   }
   /* Recorded first: the worker may retire it before the send returns. */
   pthread_mutex_lock(&pv_virgl.lock);
   c->fence_asked[ring_idx] = fence_id;
   pthread_mutex_unlock(&pv_virgl.lock);
   const struct pv_wire_fence req = {.ring_idx = ring_idx, .fence_id = fence_id};
   pv_virgl_context_send(c, PV_WIRE_FENCE, &req, sizeof(req)); /* lost: the next poll retires it */
   return 0;
}

/* A fence on the VMM's global timeline: it retires once the context's worker has run
 * everything submitted before it, in order with the global fences before it. Returns a
 * positive errno, as virglrenderer's does. */
PV_VIRGL_EXPORT int virgl_renderer_create_fence(int client_fence_id, uint32_t ctx_id)
{
   pthread_mutex_lock(&pv_virgl.lock);
   bool ok = pv_virgl.initialized && pv_virgl_global_fence((uint32_t)client_fence_id, ctx_id);
   pthread_mutex_unlock(&pv_virgl.lock);
   return ok ? 0 : ENOMEM;
}

static void poll_context(uint64_t key, void *value, void *data)
{
   pv_virgl_context_poll(value);
}

PV_VIRGL_EXPORT void virgl_renderer_poll(void)
{
   pthread_mutex_lock(&pv_virgl.lock);
   if (pv_virgl.initialized) {
      pv_hash_foreach(&pv_virgl.contexts, poll_context, NULL);
      pv_virgl_global_poll();
      pv_virgl_pool_fill();
      pv_virgl_reap(false);
   }
   pthread_mutex_unlock(&pv_virgl.lock);
}

PV_VIRGL_EXPORT void virgl_renderer_context_poll(uint32_t ctx_id)
{
   pthread_mutex_lock(&pv_virgl.lock);
   struct pv_virgl_context *c = pv_virgl_context(ctx_id);
   if (c)
      pv_virgl_context_poll(c);
   pthread_mutex_unlock(&pv_virgl.lock);
}

/* Readable when the worker retired fences, or died. */
PV_VIRGL_EXPORT int virgl_renderer_context_get_poll_fd(uint32_t ctx_id)
{
   pthread_mutex_lock(&pv_virgl.lock);
   struct pv_virgl_context *c = pv_virgl_context(ctx_id);
   int fd = c ? c->events_fd : -1;
   pthread_mutex_unlock(&pv_virgl.lock);
   return fd;
}

/* Readable when any context's poll fd is: then virgl_renderer_poll has work. */
PV_VIRGL_EXPORT int virgl_renderer_get_poll_fd(void)
{
   return pv_virgl.epoll_fd;
}

/* There is no GL context to make current. */
PV_VIRGL_EXPORT void virgl_renderer_force_ctx_0(void)
{
}
