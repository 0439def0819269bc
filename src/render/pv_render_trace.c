/* Submit tracing for `pearvisor bench --explain` (see pv_render_trace.h). Costs nothing
 * unless PV_TRACE_DIR is set; when set, a thread polls the fence of each traced submit, and
 * the guest destroying a fence (or its device) first stops that polling. */
#include "render/pv_render_trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "render/pv_render.h"
#include "util/pv_log.h"
#include "util/pv_os.h"

struct pv_trace_record {
   struct pv_render_trace_times times;
   uint64_t gpu_done_ns;
   VkDevice device;
   VkFence fence;
   struct pv_trace_record *next;
};

struct pv_render_tracer {
   char path[512];
   const struct pv_vk_table *vk;
   pthread_t thread;
   pthread_mutex_t lock;
   pthread_cond_t cond;
   struct pv_trace_record *pending, **pending_tail; /* waiting for the GPU */
   struct pv_trace_record *done, **done_tail;
   VkFence polling; /* the fence the watcher is asking about, unlocked */
   bool stop;
};

/* The guest's own vkDestroyFence, which the tracer's runs before. */
static void (*destroy_fence_next)(struct pv_venus_dispatch *d, struct pv_cmd_vkDestroyFence *args);

/* Completion is timed on a thread of its own so the ring never waits for the GPU. The
 * guest resets and reuses its fence once it has seen the work finish, so polling stops,
 * with the completion unknown (0), as soon as a newer submission is traced. */
static void *watch(void *arg)
{
   struct pv_render_tracer *t = arg;
   pthread_mutex_lock(&t->lock);
   for (;;) {
      while (!t->pending && !t->stop)
         pthread_cond_wait(&t->cond, &t->lock);
      struct pv_trace_record *rec = t->pending;
      if (!rec)
         break;
      while (rec->fence && !rec->next && !t->stop) {
         t->polling = rec->fence;
         pthread_mutex_unlock(&t->lock);
         VkResult status = t->vk->vkGetFenceStatus(rec->device, rec->fence);
         pthread_mutex_lock(&t->lock);
         t->polling = VK_NULL_HANDLE;
         pthread_cond_broadcast(&t->cond);
         if (status != VK_NOT_READY) {
            rec->gpu_done_ns = status == VK_SUCCESS ? pv_os_now_ns() : 0;
            break;
         }
      }
      t->pending = rec->next;
      if (!t->pending)
         t->pending_tail = &t->pending;
      rec->next = NULL;
      *t->done_tail = rec;
      t->done_tail = &rec->next;
   }
   pthread_mutex_unlock(&t->lock);
   return NULL;
}

void pv_render_trace_init(struct pv_gpu_context *ctx)
{
   static atomic_uint contexts;
   const char *dir = getenv("PV_TRACE_DIR");
   if (!dir || !*dir)
      return;
   struct pv_render_tracer *t = calloc(1, sizeof(*t));
   if (!t)
      return;
   snprintf(t->path, sizeof(t->path), "%s/trace-%d-%u.tsv", dir, (int)getpid(),
            atomic_fetch_add(&contexts, 1));
   pthread_mutex_init(&t->lock, NULL);
   pthread_cond_init(&t->cond, NULL);
   t->pending_tail = &t->pending;
   t->done_tail = &t->done;
   ctx->tracer = t;
}

void pv_render_trace_submit(struct pv_gpu_context *ctx, struct pv_render_queue *queue,
                            VkFence fence, const struct pv_render_trace_times *times)
{
   struct pv_render_tracer *t = ctx->tracer;
   if (!t)
      return;
   if (!t->vk) {
      t->vk = ctx->vk;
      if (pthread_create(&t->thread, NULL, watch, t) != 0) {
         t->vk = NULL;
         return;
      }
   }
   struct pv_trace_record *rec = calloc(1, sizeof(*rec));
   if (!rec)
      return;
   rec->times = *times;
   rec->device = queue->device;
   rec->fence = fence;
   pthread_mutex_lock(&t->lock);
   *t->pending_tail = rec;
   t->pending_tail = &rec->next;
   pthread_cond_signal(&t->cond);
   pthread_mutex_unlock(&t->lock);
}

/* Stops polling the fences that are about to be destroyed (fence, or every fence of
 * device when fence is VK_NULL_HANDLE): their completion stays unknown. */
static void forget(struct pv_render_tracer *t, VkDevice device, VkFence fence)
{
   pthread_mutex_lock(&t->lock);
   for (struct pv_trace_record *rec = t->pending; rec; rec = rec->next) {
      if (rec->fence && (fence ? rec->fence == fence : rec->device == device))
         rec->fence = VK_NULL_HANDLE;
   }
   while (t->polling && (fence ? t->polling == fence : true))
      pthread_cond_wait(&t->cond, &t->lock);
   pthread_mutex_unlock(&t->lock);
}

void pv_render_trace_forget_device(struct pv_gpu_context *ctx, VkDevice device)
{
   if (ctx->tracer)
      forget(ctx->tracer, device, VK_NULL_HANDLE);
}

static void destroy_fence(struct pv_venus_dispatch *d, struct pv_cmd_vkDestroyFence *args)
{
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   if (ctx->tracer && args->fence)
      forget(ctx->tracer, args->device, args->fence);
   destroy_fence_next(d, args);
}

void pv_render_trace_init_dispatch(struct pv_venus_handlers *h)
{
   if (!getenv("PV_TRACE_DIR"))
      return;
   destroy_fence_next = h->vkDestroyFence;
   h->vkDestroyFence = destroy_fence;
}

void pv_render_trace_finish(struct pv_gpu_context *ctx)
{
   struct pv_render_tracer *t = ctx->tracer;
   if (!t)
      return;
   ctx->tracer = NULL;
   if (t->vk) {
      pthread_mutex_lock(&t->lock);
      t->stop = true;
      pthread_cond_signal(&t->cond);
      pthread_mutex_unlock(&t->lock);
      pthread_join(t->thread, NULL);
   }
   /* Written under a temporary name and renamed, so a reader never sees half a file. */
   char tmp[sizeof(t->path) + 4];
   snprintf(tmp, sizeof(tmp), "%s.tmp", t->path);
   FILE *f = fopen(tmp, "w");
   if (f)
      fprintf(f, "pickup_ns\tdecoded_ns\tsubmitted_ns\tgpu_done_ns\n");
   for (struct pv_trace_record *rec = t->done, *next; rec; rec = next) {
      next = rec->next;
      if (f)
         fprintf(f, "%llu\t%llu\t%llu\t%llu\n", (unsigned long long)rec->times.pickup_ns,
                 (unsigned long long)rec->times.decoded_ns,
                 (unsigned long long)rec->times.submitted_ns, (unsigned long long)rec->gpu_done_ns);
      free(rec);
   }
   if (!f || fclose(f) != 0 || rename(tmp, t->path) != 0)
      pv_error("cannot write the trace %s", t->path);
   pthread_mutex_destroy(&t->lock);
   pthread_cond_destroy(&t->cond);
   free(t);
}
