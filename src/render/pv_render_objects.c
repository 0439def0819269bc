/* The object table: guest object ids bound to host handles, typed lookups, and teardown. */
#include <stdlib.h>

#include "render/pv_render_forward.h"
#include "util/pv_log.h"

/* Decoder callback: id -> host handle, refusing ids of another type. Runs on every handle
 * the guest sends, so it is one hash lookup under the context lock. */
static bool lookup_handle(void *data, uint64_t id, VkObjectType type, uint64_t *handle)
{
   struct pv_gpu_context *ctx = data;
   pthread_mutex_lock(&ctx->lock);
   struct pv_render_object *obj = pv_hash_lookup(&ctx->objects, id);
   bool ok = obj && obj->type == type;
   if (ok)
      *handle = obj->handle;
   pthread_mutex_unlock(&ctx->lock);
   return ok;
}

void pv_render_objects_init(struct pv_gpu_context *ctx)
{
   pv_hash_init(&ctx->objects);
   ctx->handles.lookup = lookup_handle;
   ctx->handles.data = ctx;
}

struct pv_render_object *pv_render_object_get(struct pv_gpu_context *ctx, uint64_t id,
                                              VkObjectType type)
{
   pthread_mutex_lock(&ctx->lock);
   struct pv_render_object *obj = pv_hash_lookup(&ctx->objects, id);
   pthread_mutex_unlock(&ctx->lock);
   return obj && obj->type == type ? obj : NULL;
}

struct find_id {
   VkObjectType type;
   uint64_t handle;
   uint64_t id;
};

static void match_handle(uint64_t key, void *value, void *data)
{
   struct pv_render_object *obj = value;
   struct find_id *find = data;
   if (obj->type == find->type && obj->handle == find->handle)
      find->id = key;
}

uint64_t pv_render_object_find_id(struct pv_gpu_context *ctx, VkObjectType type, uint64_t handle)
{
   struct find_id find = {type, handle, 0};
   pthread_mutex_lock(&ctx->lock);
   pv_hash_foreach(&ctx->objects, match_handle, &find);
   pthread_mutex_unlock(&ctx->lock);
   return find.id;
}

struct pv_render_object *pv_render_object_bind(struct pv_gpu_context *ctx, VkObjectType type,
                                               uint64_t id, uint64_t handle, uint64_t parent,
                                               uint64_t pool)
{
   struct pv_render_object *obj = calloc(1, sizeof(*obj));
   if (!obj || id == 0)
      goto fail;
   *obj = (struct pv_render_object){id, type, handle, parent, pool, NULL};
   pthread_mutex_lock(&ctx->lock);
   bool inserted = pv_hash_insert(&ctx->objects, id, obj);
   pthread_mutex_unlock(&ctx->lock);
   if (!inserted)
      goto fail;
   return obj;
fail:
   free(obj);
   return NULL;
}

/* Per-type state freed with the object (the host object itself is already gone). */
static void release_object(struct pv_gpu_context *ctx, struct pv_render_object *obj)
{
   if (obj->type == VK_OBJECT_TYPE_DEVICE_MEMORY && obj->data) {
      struct pv_render_memory *mem = obj->data;
      atomic_fetch_sub(&ctx->device_memory_bytes, mem->size);
      pv_render_shmem_unref(mem->shmem);
      free(mem);
   } else if (obj->type == VK_OBJECT_TYPE_DEVICE) {
      pv_render_device_state_destroy(obj->data);
   } else if (obj->type == VK_OBJECT_TYPE_PHYSICAL_DEVICE) {
      pv_render_physical_device_destroy(obj->data);
   } else if (obj->type == VK_OBJECT_TYPE_INSTANCE) {
      free(obj->data); /* its messenger went with the host instance */
   } else if (obj->type == VK_OBJECT_TYPE_QUEUE && obj->data) {
      struct pv_render_queue *queue = obj->data;
      pthread_mutex_lock(&ctx->lock);
      if (queue->ring_idx < PV_GPU_MAX_TIMELINES && ctx->queues[queue->ring_idx] == queue)
         ctx->queues[queue->ring_idx] = NULL;
      pthread_mutex_unlock(&ctx->lock);
      pv_render_queue_destroy(queue);
   }
   free(obj);
}

struct collect {
   uint64_t match;
   bool by_pool;
   uint64_t *ids;
   size_t count, capacity;
};

static void collect_match(uint64_t key, void *value, void *data)
{
   struct pv_render_object *obj = value;
   struct collect *c = data;
   if ((c->by_pool ? obj->pool : obj->parent) != c->match)
      return;
   if (c->count == c->capacity) {
      size_t capacity = c->capacity ? c->capacity * 2 : 64;
      uint64_t *ids = realloc(c->ids, capacity * sizeof(*ids));
      if (!ids)
         return;
      c->ids = ids;
      c->capacity = capacity;
   }
   c->ids[c->count++] = key;
}

static void collect(struct pv_gpu_context *ctx, struct collect *c)
{
   pthread_mutex_lock(&ctx->lock);
   pv_hash_foreach(&ctx->objects, collect_match, c);
   pthread_mutex_unlock(&ctx->lock);
}

void pv_render_object_unbind(struct pv_gpu_context *ctx, uint64_t id)
{
   if (id == 0)
      return;
   pthread_mutex_lock(&ctx->lock);
   struct pv_render_object *obj = pv_hash_remove(&ctx->objects, id);
   pthread_mutex_unlock(&ctx->lock);
   if (!obj)
      return;
   if (obj->type == VK_OBJECT_TYPE_COMMAND_POOL || obj->type == VK_OBJECT_TYPE_DESCRIPTOR_POOL)
      pv_render_objects_unbind_pool_children(ctx, obj->handle);
   release_object(ctx, obj);
}

void pv_render_objects_unbind_pool_children(struct pv_gpu_context *ctx, uint64_t pool)
{
   struct collect c = {.match = pool, .by_pool = true};
   collect(ctx, &c);
   for (size_t i = 0; i < c.count; i++)
      pv_render_object_unbind(ctx, c.ids[i]);
   free(c.ids);
}

/* Teardown order: objects that others are made from or allocated out of die last. Pools go
 * first (taking their command buffers and sets with them), memory after everything bound
 * to it. */
static int teardown_rank(VkObjectType type)
{
   switch (type) {
   case VK_OBJECT_TYPE_COMMAND_BUFFER:
   case VK_OBJECT_TYPE_DESCRIPTOR_SET:
   case VK_OBJECT_TYPE_QUEUE:
      return 0; /* nothing to destroy: freed with their pool or device */
   case VK_OBJECT_TYPE_COMMAND_POOL:
   case VK_OBJECT_TYPE_DESCRIPTOR_POOL:
   case VK_OBJECT_TYPE_QUERY_POOL:
   case VK_OBJECT_TYPE_FENCE:
   case VK_OBJECT_TYPE_SEMAPHORE:
   case VK_OBJECT_TYPE_EVENT:
      return 1;
   case VK_OBJECT_TYPE_PIPELINE:
   case VK_OBJECT_TYPE_FRAMEBUFFER:
      return 2;
   case VK_OBJECT_TYPE_PIPELINE_LAYOUT:
   case VK_OBJECT_TYPE_RENDER_PASS:
   case VK_OBJECT_TYPE_SHADER_MODULE:
   case VK_OBJECT_TYPE_PIPELINE_CACHE:
      return 3;
   case VK_OBJECT_TYPE_DESCRIPTOR_SET_LAYOUT:
   case VK_OBJECT_TYPE_IMAGE_VIEW:
   case VK_OBJECT_TYPE_BUFFER_VIEW:
   case VK_OBJECT_TYPE_SAMPLER:
      return 4;
   case VK_OBJECT_TYPE_SAMPLER_YCBCR_CONVERSION:
   case VK_OBJECT_TYPE_IMAGE:
   case VK_OBJECT_TYPE_BUFFER:
      return 5;
   case VK_OBJECT_TYPE_DEVICE_MEMORY:
      return 6;
   default:
      return 5;
   }
}

void pv_render_objects_destroy_children(struct pv_gpu_context *ctx, uint64_t parent)
{
   struct collect c = {.match = parent};
   collect(ctx, &c);
   for (int rank = 0; rank <= 6; rank++) {
      for (size_t i = 0; i < c.count; i++) {
         struct pv_render_object *obj = NULL;
         pthread_mutex_lock(&ctx->lock);
         obj = pv_hash_lookup(&ctx->objects, c.ids[i]);
         pthread_mutex_unlock(&ctx->lock);
         if (!obj || teardown_rank(obj->type) != rank)
            continue;
         if (obj->type == VK_OBJECT_TYPE_DEVICE_MEMORY)
            ctx->vk->vkFreeMemory((VkDevice)(uintptr_t)parent,
                                  (VkDeviceMemory)(uintptr_t)obj->handle, NULL);
         else if (rank > 0)
            pv_vk_destroy_object(ctx->vk, obj->type, obj->handle, parent);
         pv_render_object_unbind(ctx, c.ids[i]);
      }
   }
   free(c.ids);
}

struct first_of_type {
   VkObjectType type;
   uint64_t id;
};

static void find_type(uint64_t key, void *value, void *data)
{
   struct pv_render_object *obj = value;
   struct first_of_type *f = data;
   if (!f->id && obj->type == f->type)
      f->id = key;
}

static uint64_t first_of_type(struct pv_gpu_context *ctx, VkObjectType type)
{
   struct first_of_type f = {type, 0};
   pthread_mutex_lock(&ctx->lock);
   pv_hash_foreach(&ctx->objects, find_type, &f);
   pthread_mutex_unlock(&ctx->lock);
   return f.id;
}

static void release_all(uint64_t key, void *value, void *data)
{
   (void)key;
   release_object(data, value);
}

void pv_render_objects_finish(struct pv_gpu_context *ctx)
{
   /* A guest that exits without cleaning up leaves whole devices behind: wait for each to
    * go idle, destroy its objects, then it; instances last. */
   uint64_t id;
   while ((id = first_of_type(ctx, VK_OBJECT_TYPE_DEVICE))) {
      struct pv_render_object *dev = pv_render_object_get(ctx, id, VK_OBJECT_TYPE_DEVICE);
      VkDevice device = (VkDevice)(uintptr_t)dev->handle;
      ctx->vk->vkDeviceWaitIdle(device);
      pv_render_objects_destroy_children(ctx, dev->handle);
      ctx->vk->vkDestroyDevice(device, NULL);
      pv_render_object_unbind(ctx, id);
   }
   while ((id = first_of_type(ctx, VK_OBJECT_TYPE_INSTANCE)))
      pv_render_instance_destroy(ctx, id);
   /* Whatever is left (physical devices) has no host object to destroy. */
   pthread_mutex_lock(&ctx->lock);
   struct pv_hash left = ctx->objects;
   pv_hash_init(&ctx->objects);
   pthread_mutex_unlock(&ctx->lock);
   pv_hash_foreach(&left, release_all, ctx);
   pv_hash_finish(&left);
}

void pv_render_bind(struct pv_venus_dispatch *d, VkObjectType type, uint64_t id, uint64_t handle,
                    uint64_t parent, uint64_t pool)
{
   if (!pv_render_object_bind(pv_render_ctx(d), type, id, handle, parent, pool))
      pv_cs_fail(d->reader, "object id %llu is 0 or already in use", (unsigned long long)id);
}

void pv_render_unbind(struct pv_venus_dispatch *d, uint64_t id)
{
   pv_render_object_unbind(pv_render_ctx(d), id);
}
