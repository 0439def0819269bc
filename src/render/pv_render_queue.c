/* Queues: submissions serialized per VkQueue (rings and vtest fences share queues). */
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
   struct pv_render_object *obj = pv_render_hold(d, queue_id, VK_OBJECT_TYPE_QUEUE);
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
