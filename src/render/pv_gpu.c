/* The renderer's public API (pv_gpu.h): renderer, capsets and context lifetime. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/pv_render.h"
#include "render/pv_render_trace.h"
#include "util/pv_log.h"

struct pv_gpu *pv_gpu_create(const struct pv_gpu_options *options)
{
   /* The host driver is chosen through the loader's own variable, before any instance. */
   if (options && options->host_icd) {
      setenv("VK_DRIVER_FILES", options->host_icd, 1);
      setenv("VK_ICD_FILENAMES", options->host_icd, 1);
   }
   struct pv_gpu *gpu = calloc(1, sizeof(*gpu));
   if (!gpu)
      return NULL;
   pv_render_forward_init(&gpu->handlers);
   pv_render_transport_init_dispatch(&gpu->handlers);
   pv_render_instance_init_dispatch(&gpu->handlers);
   pv_render_device_init_dispatch(&gpu->handlers);
   pv_render_memory_init_dispatch(&gpu->handlers);
   pv_render_queue_init_dispatch(&gpu->handlers);
   pv_render_capset_init(gpu->capset);
   return gpu;
}

void pv_gpu_destroy(struct pv_gpu *gpu)
{
   free(gpu);
}

bool pv_gpu_get_capset(struct pv_gpu *gpu, uint32_t id, uint32_t version, void *data, size_t *size)
{
   if (id != PV_GPU_CAPSET_VENUS || version != PV_GPU_CAPSET_VENUS_VERSION)
      return false;
   size_t n = *size < sizeof(gpu->capset) ? *size : sizeof(gpu->capset);
   memcpy(data, gpu->capset, n);
   *size = sizeof(gpu->capset);
   return true;
}

struct pv_gpu_context *pv_gpu_context_create(struct pv_gpu *gpu, uint32_t capset_id,
                                             const char *debug_name,
                                             pv_gpu_fence_retired_fn fence_retired,
                                             void *fence_data)
{
   if (capset_id != PV_GPU_CAPSET_VENUS)
      return NULL;
   struct pv_gpu_context *ctx = calloc(1, sizeof(*ctx));
   if (!ctx)
      return NULL;
   ctx->gpu = gpu;
   snprintf(ctx->name, sizeof(ctx->name), "%s", debug_name ? debug_name : "guest");
   ctx->fence_retired = fence_retired;
   ctx->fence_data = fence_data;
   pthread_mutex_init(&ctx->lock, NULL);
   pv_render_objects_init(ctx);
   pv_hash_init(&ctx->resources);
   pv_render_stream_init(&ctx->stream, ctx, NULL);
   pv_render_trace_init(ctx);
   return ctx;
}

void pv_gpu_context_release(struct pv_gpu_context *ctx)
{
   /* Rings first: nothing may execute while objects go away. A released context accepts
    * no more work. */
   atomic_store(&ctx->fatal, true);
   while (ctx->rings)
      pv_render_ring_destroy(ctx, ctx->rings);
   pv_render_monitor_stop(ctx);
   pv_render_fences_finish(ctx);
   pv_render_trace_finish(ctx);
   if (ctx->vk)
      pv_render_objects_finish(ctx);
   pv_render_stream_finish(&ctx->stream);
   pv_render_resources_finish(ctx);
}

void pv_gpu_context_destroy(struct pv_gpu_context *ctx)
{
   if (!ctx)
      return;
   pv_gpu_context_release(ctx);
   pv_hash_finish(&ctx->objects);
   pthread_mutex_destroy(&ctx->lock);
   free(ctx);
}

bool pv_gpu_context_submit(struct pv_gpu_context *ctx, const void *commands, size_t size)
{
   if (atomic_load(&ctx->fatal))
      return false;
   return pv_render_stream_execute(&ctx->stream, commands, size, NULL, NULL);
}

bool pv_gpu_context_is_fatal(const struct pv_gpu_context *ctx)
{
   return atomic_load(&ctx->fatal);
}

bool pv_gpu_context_submit_fence(struct pv_gpu_context *ctx, uint32_t ring_idx, uint64_t fence_id)
{
   return pv_render_fence_submit(ctx, ring_idx, fence_id);
}

static void count_memory(uint64_t key, void *value, void *data)
{
   (void)key;
   (void)value;
   (*(uint64_t *)data)++;
}

void pv_gpu_context_get_stats(struct pv_gpu_context *ctx, struct pv_gpu_context_stats *stats)
{
   memset(stats, 0, sizeof(*stats));
   pthread_mutex_lock(&ctx->lock);
   stats->objects = pv_hash_count(&ctx->objects);
   pv_hash_foreach(&ctx->resources, count_memory, &stats->resources);
   for (struct pv_render_ring *ring = ctx->rings; ring; ring = ring->next)
      stats->rings++;
   pthread_mutex_unlock(&ctx->lock);
   stats->device_memory_bytes = atomic_load(&ctx->device_memory_bytes);
   stats->commands = atomic_load(&ctx->commands);
}
