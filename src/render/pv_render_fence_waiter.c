/* vtest fences: each retires once its timeline's work submitted so far has finished, found
 * by a host VkFence submitted behind that work and waited on by a thread of the timeline's
 * own, so no stream ever blocks on the GPU. */
#include <stdlib.h>

#include "render/pv_render.h"
#include "util/pv_log.h"

struct pv_render_pending_fence {
   VkDevice device;
   VkFence fence;
   uint32_t ring_idx;
   uint64_t fence_id;
   struct pv_render_pending_fence *next;
};

struct pv_render_fence_waiter {
   struct pv_gpu_context *ctx;
   pthread_t thread;
   pthread_mutex_t lock;
   pthread_cond_t cond; /* new work, a finished wait, or stop */
   struct pv_render_pending_fence *head, **tail;
   struct pv_render_pending_fence *waiting; /* the one the thread waits on, unlocked */
   struct pv_render_pending_fence *spare;   /* reset fences to reuse (PV_PERF no_fence_pool) */
   bool stop;
};

/* Fences of one timeline retire in submission order, so one thread waiting on each in turn
 * reports them all. With PV_PERF=no_timeline_waiters every timeline shares slot 0 (the CPU
 * timeline never waits), and a slow timeline holds up the others. */
static uint32_t waiter_slot(uint32_t ring_idx)
{
   return pv_perf_disabled(PV_PERF_NO_TIMELINE_WAITERS) ? 0 : ring_idx;
}

/* Keeps a finished fence for the next vtest fence of its device: creating and destroying
 * one per fence costs two driver calls (and allocations) on every synchronous submit. */
static void recycle(struct pv_render_fence_waiter *w, struct pv_render_pending_fence *f)
{
   const struct pv_vk_table *vk = w->ctx->vk;
   if (pv_perf_disabled(PV_PERF_NO_FENCE_POOL) ||
       vk->vkResetFences(f->device, 1, &f->fence) != VK_SUCCESS) {
      vk->vkDestroyFence(f->device, f->fence, NULL);
      free(f);
      return;
   }
   f->next = w->spare;
   w->spare = f;
}

static void *waiter_thread(void *arg)
{
   struct pv_render_fence_waiter *w = arg;
   struct pv_gpu_context *ctx = w->ctx;
   pthread_mutex_lock(&w->lock);
   for (;;) {
      while (!w->head && !w->stop)
         pthread_cond_wait(&w->cond, &w->lock);
      if (!w->head)
         break;
      struct pv_render_pending_fence *f = w->head;
      w->head = f->next;
      if (!w->head)
         w->tail = &w->head;
      w->waiting = f;
      pthread_mutex_unlock(&w->lock);
      ctx->vk->vkWaitForFences(f->device, 1, &f->fence, VK_TRUE, UINT64_MAX);
      pv_render_fence_retire(ctx, f->ring_idx, f->fence_id);
      pthread_mutex_lock(&w->lock);
      w->waiting = NULL;
      recycle(w, f);
      pthread_cond_broadcast(&w->cond);
   }
   pthread_mutex_unlock(&w->lock);
   return NULL;
}

static struct pv_render_fence_waiter *waiter_start(struct pv_gpu_context *ctx)
{
   struct pv_render_fence_waiter *w = calloc(1, sizeof(*w));
   if (!w)
      return NULL;
   w->ctx = ctx;
   pthread_mutex_init(&w->lock, NULL);
   pthread_cond_init(&w->cond, NULL);
   w->tail = &w->head;
   if (pthread_create(&w->thread, NULL, waiter_thread, w) != 0) {
      pthread_cond_destroy(&w->cond);
      pthread_mutex_destroy(&w->lock);
      free(w);
      return NULL;
   }
   return w;
}

/* The slot's waiter, started on first use. Under the context lock: a ring thread may drain
 * (vkDestroyDevice) while the transport submits a fence. */
static struct pv_render_fence_waiter *waiter_get(struct pv_gpu_context *ctx, uint32_t slot)
{
   pthread_mutex_lock(&ctx->lock);
   struct pv_render_fence_waiter *w = ctx->fence_waiters[slot];
   if (!w)
      w = waiter_start(ctx);
   ctx->fence_waiters[slot] = w;
   pthread_mutex_unlock(&ctx->lock);
   return w;
}

static struct pv_render_fence_waiter *waiter_of(struct pv_gpu_context *ctx, uint32_t slot)
{
   pthread_mutex_lock(&ctx->lock);
   struct pv_render_fence_waiter *w = ctx->fence_waiters[slot];
   pthread_mutex_unlock(&ctx->lock);
   return w;
}

/* A spare fence of device (unsignaled), or a new one; NULL when the driver has none. */
static struct pv_render_pending_fence *fence_take(struct pv_render_fence_waiter *w, VkDevice device)
{
   pthread_mutex_lock(&w->lock);
   struct pv_render_pending_fence **link = &w->spare;
   while (*link && (*link)->device != device)
      link = &(*link)->next;
   struct pv_render_pending_fence *f = *link;
   if (f)
      *link = f->next;
   pthread_mutex_unlock(&w->lock);
   if (f)
      return f;
   f = calloc(1, sizeof(*f));
   const VkFenceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
   if (f && w->ctx->vk->vkCreateFence(device, &info, NULL, &f->fence) != VK_SUCCESS) {
      free(f);
      return NULL;
   }
   if (f)
      f->device = device;
   return f;
}

bool pv_render_fence_submit(struct pv_gpu_context *ctx, uint32_t ring_idx, uint64_t fence_id)
{
   if (ring_idx >= PV_GPU_MAX_TIMELINES)
      return false;
   if (ring_idx == 0) {
      /* The CPU timeline: everything the context stream did has already happened. */
      pv_render_fence_retire(ctx, ring_idx, fence_id);
      return true;
   }
   pthread_mutex_lock(&ctx->lock);
   struct pv_render_queue *q = ctx->queues[ring_idx];
   pthread_mutex_unlock(&ctx->lock);
   struct pv_render_fence_waiter *w = q ? waiter_get(ctx, waiter_slot(ring_idx)) : NULL;
   struct pv_render_pending_fence *f = w ? fence_take(w, q->device) : NULL;
   if (!f)
      return false;
   pthread_mutex_lock(&q->lock);
   VkResult result = ctx->vk->vkQueueSubmit(q->queue, 0, NULL, f->fence);
   pthread_mutex_unlock(&q->lock);
   if (result != VK_SUCCESS) {
      ctx->vk->vkDestroyFence(f->device, f->fence, NULL);
      free(f);
      return false;
   }
   f->ring_idx = ring_idx;
   f->fence_id = fence_id;
   f->next = NULL;
   pthread_mutex_lock(&w->lock);
   *w->tail = f;
   w->tail = &f->next;
   pthread_cond_broadcast(&w->cond);
   pthread_mutex_unlock(&w->lock);
   return true;
}

static bool holds_device(const struct pv_render_fence_waiter *w, VkDevice device)
{
   if (w->waiting && w->waiting->device == device)
      return true;
   for (const struct pv_render_pending_fence *f = w->head; f; f = f->next) {
      if (f->device == device)
         return true;
   }
   return false;
}

static void destroy_spares(struct pv_render_fence_waiter *w, VkDevice device)
{
   for (struct pv_render_pending_fence **link = &w->spare; *link;) {
      struct pv_render_pending_fence *f = *link;
      if (device && f->device != device) {
         link = &f->next;
         continue;
      }
      *link = f->next;
      w->ctx->vk->vkDestroyFence(f->device, f->fence, NULL);
      free(f);
   }
}

void pv_render_fences_drain_device(struct pv_gpu_context *ctx, VkDevice device)
{
   for (uint32_t slot = 0; slot < PV_GPU_MAX_TIMELINES; slot++) {
      struct pv_render_fence_waiter *w = waiter_of(ctx, slot);
      if (!w)
         continue;
      pthread_mutex_lock(&w->lock);
      while (holds_device(w, device))
         pthread_cond_wait(&w->cond, &w->lock);
      destroy_spares(w, device);
      pthread_mutex_unlock(&w->lock);
   }
}

void pv_render_fences_finish(struct pv_gpu_context *ctx)
{
   for (uint32_t slot = 0; slot < PV_GPU_MAX_TIMELINES; slot++) {
      struct pv_render_fence_waiter *w = waiter_of(ctx, slot);
      if (!w)
         continue;
      pthread_mutex_lock(&w->lock);
      w->stop = true;
      pthread_cond_broadcast(&w->cond);
      pthread_mutex_unlock(&w->lock);
      pthread_join(w->thread, NULL);
      destroy_spares(w, VK_NULL_HANDLE);
      pthread_cond_destroy(&w->cond);
      pthread_mutex_destroy(&w->lock);
      free(w);
      pthread_mutex_lock(&ctx->lock);
      ctx->fence_waiters[slot] = NULL;
      pthread_mutex_unlock(&ctx->lock);
   }
}
