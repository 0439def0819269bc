/* The renderer's public API (pv_gpu.h): renderer, capsets, protocol info, context
 * lifetime and reset. Resources are in pv_render_resource.c, fences in pv_render_fence.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/pv_render.h"
#include "render/pv_render_record.h"
#include "render/pv_render_trace.h"
#include "util/pv_limits.h"
#include "util/pv_log.h"

static void init_handlers(struct pv_venus_handlers *h)
{
   pv_render_forward_init(h);
   pv_render_transport_init_dispatch(h);
   pv_render_instance_init_dispatch(h);
   pv_render_device_init_dispatch(h);
   pv_render_memory_init_dispatch(h);
   pv_render_buffer_image_init_dispatch(h);
   pv_render_queue_init_dispatch(h);
   pv_render_wait_init_dispatch(h);
   pv_render_shader_init_dispatch(h);
   pv_render_descriptor_init_dispatch(h);
   pv_render_pass_init_dispatch(h);
   pv_render_trace_init_dispatch(h);
}

struct pv_gpu *pv_gpu_create(const struct pv_gpu_options *options)
{
   if (options && (options->version == 0 || options->version > PV_GPU_OPTIONS_VERSION)) {
      pv_error("pv_gpu_create: options version %u; this renderer knows 1..%u", options->version,
               PV_GPU_OPTIONS_VERSION);
      return NULL;
   }
   struct pv_gpu *gpu = calloc(1, sizeof(*gpu));
   if (!gpu)
      return NULL;
   /* A version-1 caller's struct ends before the limits: it gets the defaults. */
   gpu->limits = pv_limits_resolve(options && options->version >= 2 ? &options->limits : NULL);
   init_handlers(&gpu->handlers);
   pv_render_capset_init(gpu->capset);
   pthread_mutex_init(&gpu->lock, NULL);
   pv_hash_init(&gpu->resources);
   return gpu;
}

void pv_gpu_reset(struct pv_gpu *gpu)
{
   while (gpu->contexts)
      pv_gpu_context_destroy(gpu->contexts);
   pv_render_resources_finish(gpu);
}

void pv_gpu_destroy(struct pv_gpu *gpu)
{
   if (!gpu)
      return;
   pv_gpu_reset(gpu);
   pv_render_prepared_destroy(pv_render_prepared_take(gpu));
   pv_hash_finish(&gpu->resources);
   pthread_mutex_destroy(&gpu->lock);
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

void pv_gpu_get_protocol_info(struct pv_gpu *gpu, struct pv_gpu_protocol_info *info)
{
   *info = (struct pv_gpu_protocol_info){
         .wire_format_version = 1,
         .vk_xml_version = PV_VENUS_VK_XML_VERSION,
         .registry_version = PV_VENUS_REGISTRY_VERSION,
         .protocol_extension_count = (uint32_t)pv_venus_extension_count,
   };
   for (int id = 0; id < PV_VENUS_COMMAND_LIMIT; id++)
      info->command_count += pv_venus_commands[id].name != NULL;
   for (size_t i = 0; i < pv_venus_extension_count; i++)
      info->extension_count += pv_venus_extensions[i].uncarried == NULL;
}

uint32_t pv_gpu_get_protocol_extensions(struct pv_gpu *gpu, struct pv_gpu_extension_info *out,
                                        uint32_t max)
{
   for (size_t i = 0; i < pv_venus_extension_count && i < max; i++) {
      const struct pv_venus_extension *ext = &pv_venus_extensions[i];
      out[i] = (struct pv_gpu_extension_info){ext->name, ext->number, ext->spec_version,
                                              ext->instance, ext->uncarried};
   }
   return (uint32_t)pv_venus_extension_count;
}

typedef void (*pv_slot_fn)(void);

/* The handler in a table slot (slots are stored as offset + 1, 0 meaning none). */
static pv_slot_fn slot(const struct pv_venus_handlers *h, size_t slot_plus_one)
{
   pv_slot_fn fn;
   memcpy(&fn, (const char *)h + slot_plus_one - 1, sizeof(fn));
   return fn;
}

uint32_t pv_gpu_get_protocol_commands(struct pv_gpu *gpu, struct pv_gpu_command_info *out,
                                      uint32_t max)
{
   /* A handler the generator's default did not replace is a forwarded one. */
   struct pv_venus_handlers generated;
   memset(&generated, 0, sizeof(generated));
   pv_render_forward_init(&generated);
   uint32_t n = 0;
   for (int id = 0; id < PV_VENUS_COMMAND_LIMIT; id++) {
      const struct pv_venus_command_info *cmd = &pv_venus_commands[id];
      if (!cmd->name)
         continue;
      if (n < max) {
         enum pv_gpu_command_support support = PV_GPU_COMMAND_UNSUPPORTED;
         if (pv_venus_exec_table[id]) {
            size_t offset = pv_venus_handler_slots[id];
            bool same = slot(&gpu->handlers, offset) == slot(&generated, offset);
            support = same && slot(&generated, offset) ? PV_GPU_COMMAND_FORWARDED
                                                       : PV_GPU_COMMAND_HAND_WRITTEN;
         }
         out[n] = (struct pv_gpu_command_info){(uint32_t)id, cmd->name, support,
                                               support ? NULL : cmd->unsupported};
      }
      n++;
   }
   return n;
}

struct pv_gpu_context *pv_gpu_context_create(struct pv_gpu *gpu,
                                             const struct pv_gpu_context_desc *desc)
{
   if (desc->capset_id != PV_GPU_CAPSET_VENUS || !desc->fence_retired) {
      pv_error("context '%s': capset %u is not served (or no fence callback)",
               desc->debug_name ? desc->debug_name : "guest", desc->capset_id);
      return NULL;
   }
   struct pv_gpu_context *ctx = calloc(1, sizeof(*ctx));
   if (!ctx)
      return NULL;
   ctx->gpu = gpu;
   snprintf(ctx->name, sizeof(ctx->name), "%s", desc->debug_name ? desc->debug_name : "guest");
   ctx->flags = desc->flags;
   ctx->fence_retired = desc->fence_retired;
   ctx->fence_data = desc->fence_data;
   if (!pv_render_mailbox_init(ctx)) {
      free(ctx);
      return NULL;
   }
   pthread_mutex_init(&ctx->lock, NULL);
   pv_render_objects_init(ctx);
   pv_hash_init(&ctx->attached);
   pv_render_stream_init(&ctx->stream, ctx, NULL);
   pv_render_trace_init(ctx);
   pv_render_record_init(ctx);
   pthread_mutex_lock(&gpu->lock);
   ctx->next = gpu->contexts;
   gpu->contexts = ctx;
   pthread_mutex_unlock(&gpu->lock);
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
   pv_render_record_finish(ctx);
   if (ctx->vk)
      pv_render_objects_finish(ctx);
   pv_render_stream_finish(&ctx->stream);
   pv_render_resources_detach_all(ctx);
}

void pv_gpu_context_destroy(struct pv_gpu_context *ctx)
{
   if (!ctx)
      return;
   struct pv_gpu *gpu = ctx->gpu;
   pthread_mutex_lock(&gpu->lock);
   for (struct pv_gpu_context **link = &gpu->contexts; *link; link = &(*link)->next) {
      if (*link == ctx) {
         *link = ctx->next;
         break;
      }
   }
   pthread_mutex_unlock(&gpu->lock);
   pv_gpu_context_release(ctx);
   pv_render_mailbox_finish(ctx);
   pv_hash_finish(&ctx->attached);
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

void pv_gpu_context_cancel(struct pv_gpu_context *ctx, const char *why)
{
   pv_render_context_set_fatal(ctx, why);
}

bool pv_gpu_context_submit_fence(struct pv_gpu_context *ctx, uint32_t ring_idx, uint64_t fence_id)
{
   return pv_render_fence_submit(ctx, ring_idx, fence_id);
}

void pv_gpu_context_get_stats(struct pv_gpu_context *ctx, struct pv_gpu_context_stats *stats)
{
   memset(stats, 0, sizeof(*stats));
   pthread_mutex_lock(&ctx->lock);
   stats->objects = pv_hash_count(&ctx->objects);
   stats->resources = pv_hash_count(&ctx->attached);
   for (struct pv_render_ring *ring = ctx->rings; ring; ring = ring->next)
      stats->rings++;
   pthread_mutex_unlock(&ctx->lock);
   stats->device_memory_bytes = atomic_load(&ctx->device_memory_bytes);
   stats->commands = atomic_load(&ctx->commands);
}
