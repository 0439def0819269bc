/* Queues: submissions serialized per VkQueue (rings and vtest fences share queues), and vtest
 * fences that retire when a timeline's work so far has finished, without blocking a stream. */
#include <stdlib.h>

#include "render/pv_render_forward.h"
#include "render/pv_render_trace.h"
#include "util/pv_log.h"
#include "util/pv_os.h"

struct pv_render_queue *pv_render_queue_create(VkDevice device, VkQueue queue, uint32_t ring_idx)
{
   struct pv_render_queue *q = calloc(1, sizeof(*q));
   if (!q)
      return NULL;
   q->device = device;
   q->queue = queue;
   q->ring_idx = ring_idx;
   pthread_mutex_init(&q->lock, NULL);
   return q;
}

void pv_render_queue_destroy(struct pv_render_queue *queue)
{
   if (!queue)
      return;
   pthread_mutex_destroy(&queue->lock);
   free(queue);
}

/* Locks the queue of a decoded submit (VkQueue is externally synchronized) and starts its
 * trace record; NULL (and the stream failed) if the queue has no state. */
static struct pv_render_queue *begin_submit(struct pv_venus_dispatch *d, uint64_t queue_id,
                                            struct pv_render_trace_times *times)
{
   struct pv_render_object *obj =
         pv_render_object_get(pv_render_ctx(d), queue_id, VK_OBJECT_TYPE_QUEUE);
   if (!obj || !obj->data) {
      pv_cs_fail(d->reader, "queue %llu has no state", (unsigned long long)queue_id);
      return NULL;
   }
   struct pv_render_stream *stream = pv_render_stream_of(d);
   times->pickup_ns = stream->ring ? stream->ring->pickup_ns : 0;
   times->decoded_ns = pv_os_now_ns();
   struct pv_render_queue *q = obj->data;
   pthread_mutex_lock(&q->lock);
   return q;
}

static void end_submit(struct pv_venus_dispatch *d, struct pv_render_queue *q, VkFence fence,
                       struct pv_render_trace_times *times)
{
   times->submitted_ns = pv_os_now_ns();
   pthread_mutex_unlock(&q->lock);
   pv_render_trace_submit(pv_render_ctx(d), q, fence, times);
}

/* The host call happens as soon as the submit is decoded; the ring never waits for the GPU. */
static void queue_submit(struct pv_venus_dispatch *d, struct pv_cmd_vkQueueSubmit *args)
{
   struct pv_render_trace_times times;
   struct pv_render_queue *q = begin_submit(d, args->queue_id, &times);
   if (!q)
      return;
   args->ret = pv_render_vk(d)->vkQueueSubmit(args->queue, args->submitCount, args->pSubmits,
                                              args->fence);
   end_submit(d, q, args->fence, &times);
}

static void queue_submit2(struct pv_venus_dispatch *d, struct pv_cmd_vkQueueSubmit2 *args)
{
   struct pv_render_trace_times times;
   struct pv_render_queue *q = begin_submit(d, args->queue_id, &times);
   if (!q)
      return;
   args->ret = pv_render_vk(d)->vkQueueSubmit2(args->queue, args->submitCount, args->pSubmits,
                                               args->fence);
   end_submit(d, q, args->fence, &times);
}

static void queue_bind_sparse(struct pv_venus_dispatch *d, struct pv_cmd_vkQueueBindSparse *args)
{
   struct pv_render_trace_times times;
   struct pv_render_queue *q = begin_submit(d, args->queue_id, &times);
   if (!q)
      return;
   args->ret = pv_render_vk(d)->vkQueueBindSparse(args->queue, args->bindInfoCount, args->pBindInfo,
                                                  args->fence);
   end_submit(d, q, args->fence, &times);
}

void pv_render_queue_init_dispatch(struct pv_venus_handlers *h)
{
   h->vkQueueSubmit = queue_submit;
   h->vkQueueSubmit2 = queue_submit2;
   h->vkQueueBindSparse = queue_bind_sparse;
}

/* --- vtest fences --- */

struct pv_render_pending_fence {
   VkDevice device;
   VkFence fence;
   uint32_t ring_idx;
   uint64_t fence_id;
   struct pv_render_pending_fence *next;
};

struct pv_render_fence_waiter {
   pthread_t thread;
   pthread_mutex_t lock;
   pthread_cond_t cond;
   struct pv_render_pending_fence *head, **tail;
   bool stop;
};

/* Fences on one context retire in submission order, so one thread waiting on each in turn
 * reports them all. */
static void *fence_thread(void *arg)
{
   struct pv_gpu_context *ctx = arg;
   struct pv_render_fence_waiter *w = ctx->fence_waiter;
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
      pthread_mutex_unlock(&w->lock);
      ctx->vk->vkWaitForFences(f->device, 1, &f->fence, VK_TRUE, UINT64_MAX);
      ctx->vk->vkDestroyFence(f->device, f->fence, NULL);
      pv_render_fence_retire(ctx, f->ring_idx, f->fence_id);
      free(f);
      pthread_mutex_lock(&w->lock);
   }
   pthread_mutex_unlock(&w->lock);
   return NULL;
}

static struct pv_render_fence_waiter *fence_waiter(struct pv_gpu_context *ctx)
{
   if (ctx->fence_waiter)
      return ctx->fence_waiter;
   struct pv_render_fence_waiter *w = calloc(1, sizeof(*w));
   if (!w)
      return NULL;
   pthread_mutex_init(&w->lock, NULL);
   pthread_cond_init(&w->cond, NULL);
   w->tail = &w->head;
   ctx->fence_waiter = w;
   if (pthread_create(&w->thread, NULL, fence_thread, ctx) != 0) {
      ctx->fence_waiter = NULL;
      free(w);
      return NULL;
   }
   return w;
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
   struct pv_render_pending_fence *f = q ? calloc(1, sizeof(*f)) : NULL;
   struct pv_render_fence_waiter *w = f ? fence_waiter(ctx) : NULL;
   if (!w)
      goto fail;
   VkFenceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
   if (ctx->vk->vkCreateFence(q->device, &info, NULL, &f->fence) != VK_SUCCESS)
      goto fail;
   pthread_mutex_lock(&q->lock);
   VkResult result = ctx->vk->vkQueueSubmit(q->queue, 0, NULL, f->fence);
   pthread_mutex_unlock(&q->lock);
   if (result != VK_SUCCESS) {
      ctx->vk->vkDestroyFence(q->device, f->fence, NULL);
      goto fail;
   }
   f->device = q->device;
   f->ring_idx = ring_idx;
   f->fence_id = fence_id;
   pthread_mutex_lock(&w->lock);
   *w->tail = f;
   w->tail = &f->next;
   pthread_cond_signal(&w->cond);
   pthread_mutex_unlock(&w->lock);
   return true;
fail:
   free(f);
   return false;
}

void pv_render_fences_finish(struct pv_gpu_context *ctx)
{
   struct pv_render_fence_waiter *w = ctx->fence_waiter;
   if (!w)
      return;
   pthread_mutex_lock(&w->lock);
   w->stop = true;
   pthread_cond_signal(&w->cond);
   pthread_mutex_unlock(&w->lock);
   pthread_join(w->thread, NULL);
   pthread_mutex_destroy(&w->lock);
   pthread_cond_destroy(&w->cond);
   free(w);
   ctx->fence_waiter = NULL;
}
