/* The object table: guest object ids bound to host handles, typed lookups, pool families and
 * teardown. */
#include <stdlib.h>
#include <string.h>

#include "render/pv_render_forward.h"
#include "util/pv_limits.h"
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
   pv_hash_init(&ctx->by_handle);
   ctx->handles.lookup = lookup_handle;
   ctx->handles.data = ctx;
}

/* Under the lock (which the table's reference needs to be there): obj, with a reference
 * taken, or NULL when obj is NULL or only a reserved id. */
static struct pv_render_object *ref_locked(struct pv_render_object *obj)
{
   if (!obj || obj->type == VK_OBJECT_TYPE_UNKNOWN)
      return NULL;
   atomic_fetch_add_explicit(&obj->refs, 1, memory_order_relaxed);
   return obj;
}

struct pv_render_object *pv_render_object_get(struct pv_gpu_context *ctx, uint64_t id,
                                              VkObjectType type)
{
   pthread_mutex_lock(&ctx->lock);
   struct pv_render_object *obj = pv_hash_lookup(&ctx->objects, id);
   obj = obj && obj->type == type ? ref_locked(obj) : NULL;
   pthread_mutex_unlock(&ctx->lock);
   return obj;
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

bool pv_render_object_set_flat(struct pv_gpu_context *ctx, uint64_t id, VkObjectType type,
                               const void *bytes, size_t size)
{
   struct pv_render_flat *flat = malloc(sizeof(*flat) + size);
   if (!flat)
      return false;
   flat->size = size;
   if (size) /* bytes may be NULL then, and memcpy must not see it */
      memcpy(flat->bytes, bytes, size);
   pthread_mutex_lock(&ctx->lock);
   struct pv_render_object *obj = pv_hash_lookup(&ctx->objects, id);
   if (obj && obj->type == type && !obj->data) {
      obj->data = flat;
      flat = NULL;
   }
   pthread_mutex_unlock(&ctx->lock);
   free(flat);
   return true;
}

uint64_t pv_render_object_find_id(struct pv_gpu_context *ctx, VkObjectType type, uint64_t handle)
{
   struct find_id find = {type, handle, 0};
   pthread_mutex_lock(&ctx->lock);
   pv_hash_foreach(&ctx->objects, match_handle, &find);
   pthread_mutex_unlock(&ctx->lock);
   return find.id;
}

/* Per-type state freed with the object's last reference (the host object itself is already
 * gone). */
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
   } else if (obj->type == VK_OBJECT_TYPE_SHADER_MODULE ||
              obj->type == VK_OBJECT_TYPE_DESCRIPTOR_SET_LAYOUT ||
              obj->type == VK_OBJECT_TYPE_DESCRIPTOR_SET ||
              obj->type == VK_OBJECT_TYPE_PIPELINE_LAYOUT ||
              obj->type == VK_OBJECT_TYPE_FRAMEBUFFER) {
      free(obj->data); /* a struct pv_render_flat, or NULL */
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

/* Objects allocated from a pool live no longer than it: destroying a pool frees them on the
 * host, and resetting one does too where its family says so. The table follows the same
 * rule here, and only here, so that nothing the host freed stays bound. */
static const struct pool_family {
   VkObjectType pool, child;
   bool reset_frees;
} pool_families[] = {
      /* vkResetCommandPool recycles the buffers' memory; the buffers stay allocated. */
      {VK_OBJECT_TYPE_COMMAND_POOL, VK_OBJECT_TYPE_COMMAND_BUFFER, false},
      /* vkResetDescriptorPool frees every set allocated from the pool. */
      {VK_OBJECT_TYPE_DESCRIPTOR_POOL, VK_OBJECT_TYPE_DESCRIPTOR_SET, true},
};

static const struct pool_family *family_of(VkObjectType type, bool as_pool)
{
   for (size_t i = 0; i < sizeof(pool_families) / sizeof(pool_families[0]); i++) {
      if ((as_pool ? pool_families[i].pool : pool_families[i].child) == type)
         return &pool_families[i];
   }
   return NULL;
}

struct find_handle {
   VkObjectType type;
   uint64_t handle, parent;
   struct pv_render_object *found;
};

static bool handle_matches(const struct pv_render_object *obj, VkObjectType type, uint64_t handle,
                           uint64_t parent)
{
   return obj->type == type && obj->handle == handle && (!parent || obj->parent == parent);
}

static void match_handle_and_parent(uint64_t key, void *value, void *data)
{
   struct find_handle *find = data;
   (void)key;
   if (handle_matches(value, find->type, find->handle, find->parent))
      find->found = value;
}

static bool indexed(VkObjectType type)
{
   return family_of(type, true) || type == VK_OBJECT_TYPE_DESCRIPTOR_SET ||
          type == VK_OBJECT_TYPE_DESCRIPTOR_SET_LAYOUT || type == VK_OBJECT_TYPE_PIPELINE_LAYOUT ||
          type == VK_OBJECT_TYPE_SHADER_MODULE || type == VK_OBJECT_TYPE_FRAMEBUFFER;
}

/* Under the lock: the object of an indexed type with that host handle and parent (0: any).
 * Non-dispatchable handles are unique only per device (and only per type on some drivers),
 * so the index may name another object, or none when its insert collided: a scan of the
 * table finds the right one then. */
static struct pv_render_object *find_by_handle(struct pv_gpu_context *ctx, VkObjectType type,
                                               uint64_t handle, uint64_t parent)
{
   struct pv_render_object *obj = pv_hash_lookup(&ctx->by_handle, handle);
   if (obj && handle_matches(obj, type, handle, parent))
      return obj;
   struct find_handle find = {type, handle, parent, NULL};
   pv_hash_foreach(&ctx->objects, match_handle_and_parent, &find);
   return find.found;
}

struct pv_render_flat *pv_render_object_flat_copy(struct pv_gpu_context *ctx, VkObjectType type,
                                                  uint64_t handle)
{
   /* Under the lock, so a destroy on another stream cannot free it mid-copy. */
   pthread_mutex_lock(&ctx->lock);
   struct pv_render_object *obj = find_by_handle(ctx, type, handle, 0);
   const struct pv_render_flat *flat = obj ? obj->data : NULL;
   struct pv_render_flat *copy = flat ? malloc(sizeof(*flat) + flat->size) : NULL;
   if (copy)
      memcpy(copy, flat, sizeof(*flat) + flat->size);
   pthread_mutex_unlock(&ctx->lock);
   return copy;
}

struct pv_render_object *pv_render_object_get_by_handle(struct pv_gpu_context *ctx,
                                                        VkObjectType type, uint64_t handle,
                                                        uint64_t parent)
{
   pthread_mutex_lock(&ctx->lock);
   struct pv_render_object *obj = ref_locked(find_by_handle(ctx, type, handle, parent));
   pthread_mutex_unlock(&ctx->lock);
   return obj;
}

/* Under the lock: out of the index, if it is the one indexed under its handle. */
static void unindex(struct pv_gpu_context *ctx, struct pv_render_object *obj)
{
   if (indexed(obj->type) && pv_hash_lookup(&ctx->by_handle, obj->handle) == obj)
      pv_hash_remove(&ctx->by_handle, obj->handle);
}

/* Under the lock: takes every child of the pool out of the table. Returns them linked
 * through next, for release_taken once the lock is dropped. */
static struct pv_render_object *take_children(struct pv_gpu_context *ctx,
                                              struct pv_render_object *pool)
{
   struct pv_render_object *children = pool->children;
   pool->children = NULL;
   for (struct pv_render_object *child = children; child; child = child->next) {
      pv_hash_remove(&ctx->objects, child->id);
      unindex(ctx, child);
      child->pool = child->prev = NULL;
   }
   return children;
}

/* Under the lock: takes the object out of the table and out of its pool; a pool takes its
 * children along (the host frees them with it). Returned as take_children does. */
static struct pv_render_object *take(struct pv_gpu_context *ctx, struct pv_render_object *obj)
{
   pv_hash_remove(&ctx->objects, obj->id);
   if (obj->pool) {
      if (obj->prev)
         obj->prev->next = obj->next;
      else
         obj->pool->children = obj->next;
      if (obj->next)
         obj->next->prev = obj->prev;
      obj->pool = obj->prev = NULL;
   }
   unindex(ctx, obj);
   obj->next = take_children(ctx, obj);
   return obj;
}

void pv_render_object_put(struct pv_gpu_context *ctx, struct pv_render_object *obj)
{
   /* acq_rel: what other holders wrote to the state happens before it is freed. */
   if (obj && atomic_fetch_sub_explicit(&obj->refs, 1, memory_order_acq_rel) == 1)
      release_object(ctx, obj);
}

/* Drops the table's reference to each object take() took out. */
static void release_taken(struct pv_gpu_context *ctx, struct pv_render_object *taken)
{
   while (taken) {
      struct pv_render_object *next = taken->next;
      pv_render_object_put(ctx, taken);
      taken = next;
   }
}

/* Frees a reserved id that no host object came for. */
static void give_back(struct pv_gpu_context *ctx, uint64_t id)
{
   pthread_mutex_lock(&ctx->lock);
   struct pv_render_object *obj = pv_hash_lookup(&ctx->objects, id);
   bool reserved = obj && obj->type == VK_OBJECT_TYPE_UNKNOWN;
   if (reserved)
      pv_hash_remove(&ctx->objects, id);
   pthread_mutex_unlock(&ctx->lock);
   if (reserved)
      free(obj);
}

enum pv_render_reserve_result pv_render_objects_reserve(struct pv_gpu_context *ctx,
                                                        const uint64_t *ids, uint64_t count,
                                                        uint64_t *refused)
{
   const uint64_t limit = ctx->gpu->limits.objects;
   for (uint64_t i = 0; i < count; i++) {
      struct pv_render_object *obj = calloc(1, sizeof(*obj));
      enum pv_render_reserve_result result = PV_RENDER_RESERVE_REFUSED;
      if (obj) {
         obj->id = ids[i];
         obj->type = VK_OBJECT_TYPE_UNKNOWN;
         atomic_init(&obj->refs, 1); /* the table's */
         pthread_mutex_lock(&ctx->lock);
         /* Counted under the lock, so rings creating at once cannot pass the limit together. */
         if (pv_hash_count(&ctx->objects) >= limit)
            result = PV_RENDER_RESERVE_FULL;
         else if (pv_hash_insert(&ctx->objects, ids[i], obj))
            result = PV_RENDER_RESERVE_OK;
         pthread_mutex_unlock(&ctx->lock);
      }
      if (result == PV_RENDER_RESERVE_FULL)
         pv_limits_report(&ctx->limits_reported, PV_LIMIT_OBJECTS, ctx->name, limit,
                          "creates answer VK_ERROR_OUT_OF_HOST_MEMORY, those without a VkResult "
                          "turn the context fatal");
      if (result != PV_RENDER_RESERVE_OK) {
         free(obj);
         *refused = ids[i];
         /* Every id before i is ours: a repeated one failed its own insert. */
         while (i--)
            give_back(ctx, ids[i]);
         return result;
      }
   }
   return PV_RENDER_RESERVE_OK;
}

bool pv_render_object_commit(struct pv_gpu_context *ctx, VkObjectType type, uint64_t id,
                             uint64_t handle, uint64_t parent, uint64_t pool, void *data)
{
   if (handle == 0) {
      give_back(ctx, id);
      return false;
   }
   pthread_mutex_lock(&ctx->lock);
   struct pv_render_object *obj = pv_hash_lookup(&ctx->objects, id);
   if (!obj || obj->type != VK_OBJECT_TYPE_UNKNOWN) {
      pthread_mutex_unlock(&ctx->lock);
      return false;
   }
   /* With its state at once: a lookup on another stream never sees it without. */
   obj->data = data;
   obj->type = type;
   obj->handle = handle;
   obj->parent = parent;
   const struct pool_family *family = pool ? family_of(type, false) : NULL;
   /* No pool when the guest destroyed it on another ring meanwhile: the object then stays
    * until its device goes. */
   struct pv_render_object *from = family ? find_by_handle(ctx, family->pool, pool, parent) : NULL;
   if (from) {
      obj->pool = from;
      obj->next = from->children;
      if (from->children)
         from->children->prev = obj;
      from->children = obj;
   }
   /* Fails when another object has the handle, or out of memory: find_by_handle scans then. */
   if (indexed(type))
      pv_hash_insert(&ctx->by_handle, handle, obj);
   pthread_mutex_unlock(&ctx->lock);
   return true;
}

bool pv_render_object_bind(struct pv_gpu_context *ctx, VkObjectType type, uint64_t id,
                           uint64_t handle, uint64_t parent, uint64_t pool, void *data)
{
   uint64_t refused;
   return pv_render_objects_reserve(ctx, &id, 1, &refused) == PV_RENDER_RESERVE_OK &&
          pv_render_object_commit(ctx, type, id, handle, parent, pool, data);
}

struct collect {
   uint64_t parent;
   uint64_t *ids;
   size_t count, capacity;
};

static void collect_match(uint64_t key, void *value, void *data)
{
   struct pv_render_object *obj = value;
   struct collect *c = data;
   if (obj->parent != c->parent)
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
   struct pv_render_object *taken = NULL;
   pthread_mutex_lock(&ctx->lock);
   struct pv_render_object *obj = pv_hash_lookup(&ctx->objects, id);
   /* A reserved id belongs to the create in flight, which commits or gives it back. */
   if (obj && obj->type != VK_OBJECT_TYPE_UNKNOWN)
      taken = take(ctx, obj);
   pthread_mutex_unlock(&ctx->lock);
   release_taken(ctx, taken);
}

void pv_render_object_reset(struct pv_gpu_context *ctx, uint64_t id)
{
   struct pv_render_object *children = NULL;
   pthread_mutex_lock(&ctx->lock);
   struct pv_render_object *pool = pv_hash_lookup(&ctx->objects, id);
   const struct pool_family *family = pool ? family_of(pool->type, true) : NULL;
   if (family && family->reset_frees)
      children = take_children(ctx, pool);
   pthread_mutex_unlock(&ctx->lock);
   release_taken(ctx, children);
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
   struct collect c = {.parent = parent};
   collect(ctx, &c);
   for (int rank = 0; rank <= 6; rank++) {
      for (size_t i = 0; i < c.count; i++) {
         pthread_mutex_lock(&ctx->lock);
         struct pv_render_object *obj = ref_locked(pv_hash_lookup(&ctx->objects, c.ids[i]));
         pthread_mutex_unlock(&ctx->lock);
         if (obj && teardown_rank(obj->type) == rank) {
            if (obj->type == VK_OBJECT_TYPE_DEVICE_MEMORY)
               ctx->vk->vkFreeMemory((VkDevice)(uintptr_t)parent,
                                     (VkDeviceMemory)(uintptr_t)obj->handle, NULL);
            else if (rank > 0)
               pv_vk_destroy_object(ctx->vk, obj->type, obj->handle, parent);
            pv_render_object_unbind(ctx, c.ids[i]);
         }
         pv_render_object_put(ctx, obj);
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
   pv_render_object_put(data, value);
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
      pv_render_object_put(ctx, dev);
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
   pv_hash_finish(&ctx->by_handle); /* empty: what it indexes went with the devices */
}

void pv_render_bind(struct pv_venus_dispatch *d, VkObjectType type, uint64_t id, uint64_t handle,
                    uint64_t parent, uint64_t pool)
{
   if (!pv_render_object_bind(pv_render_ctx(d), type, id, handle, parent, pool, NULL))
      pv_cs_fail(d->reader,
                 "object id %llu is 0 or already in use, or the objects limit is "
                 "reached",
                 (unsigned long long)id);
}

bool pv_render_reserve(struct pv_venus_dispatch *d, const uint64_t *ids, uint64_t count,
                       VkResult *ret)
{
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   uint64_t refused = 0;
   switch (pv_render_objects_reserve(ctx, ids, count, &refused)) {
   case PV_RENDER_RESERVE_OK:
      return true;
   case PV_RENDER_RESERVE_FULL:
      /* Out of host memory is what a driver says when it cannot hold one more object; a call
       * with no result to say it in can only end the context. */
      if (ret) {
         *ret = VK_ERROR_OUT_OF_HOST_MEMORY;
         return false;
      }
      return pv_cs_fail(d->reader, "the objects limit (%llu) is reached",
                        (unsigned long long)ctx->gpu->limits.objects);
   case PV_RENDER_RESERVE_REFUSED:
      break;
   }
   return pv_cs_fail(d->reader, "object id %llu is 0, already in use or named twice",
                     (unsigned long long)refused);
}

void pv_render_commit(struct pv_venus_dispatch *d, VkObjectType type, uint64_t id, uint64_t handle,
                      uint64_t parent, uint64_t pool)
{
   pv_render_object_commit(pv_render_ctx(d), type, id, handle, parent, pool, NULL);
}

void pv_render_unbind(struct pv_venus_dispatch *d, uint64_t id)
{
   pv_render_object_unbind(pv_render_ctx(d), id);
}

void pv_render_reset(struct pv_venus_dispatch *d, uint64_t id)
{
   pv_render_object_reset(pv_render_ctx(d), id);
}
