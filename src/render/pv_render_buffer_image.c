/* Buffers and images: created bindable to the memory we import as host pointers where the
 * host allows it, and memory requirements that keep them off that memory where it does not. */
#include <stddef.h>
#include <string.h>

#include "render/pv_render_forward.h"
#include "render/pv_render_image_shape.h"
#include "render/pv_render_memtype.h"
#include "util/pv_log.h"

#define HOST_ALLOCATION VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT

/* Memory imported as a host pointer is external memory: a buffer or image bound to it must
 * have been created with VkExternalMemory{Buffer,Image}CreateInfo naming HOST_ALLOCATION
 * (VUID-VkBindBufferMemoryInfo-memory-02727, VUID-VkBindImageMemoryInfo-memory-02729), which
 * the driver must support for that resource. Both structs are {sType, pNext, handleTypes}, so
 * one helper, written for the buffer's, amends either. */
_Static_assert(sizeof(VkExternalMemoryBufferCreateInfo) ==
                           sizeof(VkExternalMemoryImageCreateInfo) &&
                     offsetof(VkExternalMemoryBufferCreateInfo, handleTypes) ==
                           offsetof(VkExternalMemoryImageCreateInfo, handleTypes),
               "the external-memory create infos share a layout");

void pv_render_bindable_cache_init(struct pv_render_bindable_cache *cache)
{
   memset(cache, 0, sizeof(*cache));
   pthread_mutex_init(&cache->lock, NULL);
   pv_hash_init(&cache->unbindable);
}

void pv_render_bindable_cache_finish(struct pv_render_bindable_cache *cache)
{
   pv_hash_finish(&cache->unbindable);
   pthread_mutex_destroy(&cache->lock);
}

/* A linear scan of at most PV_RENDER_BINDABLE_CACHE_SIZE keys under the lock: far less than
 * the driver query it saves, on every create. */
static bool cache_find(struct pv_render_bindable_cache *cache, const uint32_t key[8],
                       struct pv_render_bindable_entry *out)
{
   bool found = false;
   pthread_mutex_lock(&cache->lock);
   for (uint32_t i = 0; i < PV_RENDER_BINDABLE_CACHE_SIZE && !found; i++) {
      const struct pv_render_bindable_entry *e = &cache->entries[i];
      found = e->used && memcmp(e->key, key, sizeof(e->key)) == 0;
      if (found)
         *out = *e;
   }
   pthread_mutex_unlock(&cache->lock);
   return found;
}

static void cache_store(struct pv_render_bindable_cache *cache,
                        const struct pv_render_bindable_entry *entry)
{
   pthread_mutex_lock(&cache->lock);
   cache->entries[cache->next] = *entry;
   cache->entries[cache->next].used = true;
   cache->next = (cache->next + 1) % PV_RENDER_BINDABLE_CACHE_SIZE;
   pthread_mutex_unlock(&cache->lock);
}

static void remember_unbindable(struct pv_render_bindable_cache *cache, uint64_t handle)
{
   pthread_mutex_lock(&cache->lock);
   bool ok = pv_hash_insert(&cache->unbindable, handle, cache);
   pthread_mutex_unlock(&cache->lock);
   if (!ok)
      pv_error("out of memory: a resource may be bound to memory it was not created for");
}

static void forget(struct pv_render_bindable_cache *cache, uint64_t handle)
{
   pthread_mutex_lock(&cache->lock);
   pv_hash_remove(&cache->unbindable, handle);
   pthread_mutex_unlock(&cache->lock);
}

static bool is_unbindable(struct pv_render_bindable_cache *cache, uint64_t handle)
{
   pthread_mutex_lock(&cache->lock);
   bool unbindable = pv_hash_lookup(&cache->unbindable, handle) != NULL;
   pthread_mutex_unlock(&cache->lock);
   return unbindable;
}

/* The decoded chain is the stream's own copy (arena memory), so amending it is ours to do. */
static void *find_in_chain(const void *chain, VkStructureType stype)
{
   return (void *)pv_render_find_in_chain(chain, stype);
}

/* Can memory imported as a host pointer be bound, given what the driver says of the handle
 * type for this resource? Our imports are never dedicated (pv_render_memory.c), hence
 * DEDICATED_ONLY rules it out; the guest's own handle types must be compatible with it. */
static bool importable(const VkExternalMemoryProperties *props,
                       VkExternalMemoryHandleTypeFlags guest_types)
{
   VkExternalMemoryHandleTypeFlags wanted = guest_types | HOST_ALLOCATION;
   return (props->externalMemoryFeatures & VK_EXTERNAL_MEMORY_FEATURE_IMPORTABLE_BIT) &&
          !(props->externalMemoryFeatures & VK_EXTERNAL_MEMORY_FEATURE_DEDICATED_ONLY_BIT) &&
          (props->compatibleHandleTypes & wanted) == wanted;
}

/* Names HOST_ALLOCATION in the create info's external-memory struct: merged into the guest's
 * own when it chained one (a second is invalid), else a new one from the stream's arena, which
 * outlives the command. */
static bool add_host_allocation(struct pv_venus_dispatch *d, const void **chain,
                                VkExternalMemoryBufferCreateInfo *guest, VkStructureType stype)
{
   if (guest) {
      guest->handleTypes |= HOST_ALLOCATION;
      return true;
   }
   VkExternalMemoryBufferCreateInfo *ext = pv_cs_alloc_array(d->reader, 1, sizeof(*ext));
   if (!ext)
      return false;
   *ext = (VkExternalMemoryBufferCreateInfo){
         .sType = stype, .pNext = *chain, .handleTypes = HOST_ALLOCATION};
   *chain = ext;
   return true;
}

static struct pv_render_device *device_of(struct pv_venus_dispatch *d, uint64_t device_id)
{
   struct pv_render_object *obj = pv_render_hold(d, device_id, VK_OBJECT_TYPE_DEVICE);
   return obj ? obj->data : NULL;
}

/* memoryTypeBits for the guest: the imported types only for resources created for them. */
static void mask_requirements(struct pv_render_device *dev, struct pv_render_bindable_cache *cache,
                              bool bindable, VkMemoryRequirements *reqs)
{
   bool conflict = false;
   reqs->memoryTypeBits =
         pv_render_memtype_resource_bits(reqs->memoryTypeBits, dev->backed, bindable, &conflict);
   if (!conflict)
      return;
   pthread_mutex_lock(&cache->lock);
   bool first = !cache->conflict_reported;
   cache->conflict_reported = true;
   pthread_mutex_unlock(&cache->lock);
   if (first)
      pv_warn("a resource the host cannot import host memory for may only use memory types we "
              "import into; it keeps them, and binding it there is invalid Vulkan");
}

/* --- buffers --- */

static bool buffer_bindable(struct pv_venus_dispatch *d, struct pv_render_device *dev,
                            const VkBufferCreateInfo *info, VkExternalMemoryHandleTypeFlags guest)
{
   struct pv_render_bindable_entry entry = {.key = {info->flags, info->usage, guest}};
   if (cache_find(&dev->buffers, entry.key, &entry))
      return entry.bindable;
   const VkPhysicalDeviceExternalBufferInfo query = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_BUFFER_INFO,
         .flags = info->flags,
         .usage = info->usage,
         .handleType = HOST_ALLOCATION,
   };
   VkExternalBufferProperties props = {.sType = VK_STRUCTURE_TYPE_EXTERNAL_BUFFER_PROPERTIES};
   pv_render_vk(d)->vkGetPhysicalDeviceExternalBufferProperties(dev->physical_device, &query,
                                                                &props);
   entry.bindable = importable(&props.externalMemoryProperties, guest);
   cache_store(&dev->buffers, &entry);
   return entry.bindable;
}

/* Makes info bindable to imported memory where the host allows; true if it did. A device
 * with no imported types has nothing to amend. */
static bool amend_buffer(struct pv_venus_dispatch *d, struct pv_render_device *dev,
                         VkBufferCreateInfo *info)
{
   if (!dev->backed)
      return false;
   const VkStructureType stype = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO;
   VkExternalMemoryBufferCreateInfo *guest = find_in_chain(info->pNext, stype);
   return buffer_bindable(d, dev, info, guest ? guest->handleTypes : 0) &&
          add_host_allocation(d, &info->pNext, guest, stype);
}

static void create_buffer(struct pv_venus_dispatch *d, struct pv_cmd_vkCreateBuffer *args)
{
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   struct pv_render_device *dev = device_of(d, args->device_id);
   if (!dev || !args->pBuffer || !args->pCreateInfo) {
      pv_cs_fail(d->reader, "vkCreateBuffer: no device, no id or no create info");
      return;
   }
   const uint64_t id = (uint64_t)(uintptr_t)*args->pBuffer;
   if (!pv_render_reserve(d, &id, 1, &args->ret))
      return;
   VkBufferCreateInfo info = *args->pCreateInfo;
   bool bindable = amend_buffer(d, dev, &info);
   VkBuffer buffer = VK_NULL_HANDLE;
   args->ret = ctx->vk->vkCreateBuffer(args->device, &info, NULL, &buffer);
   pv_render_commit(d, VK_OBJECT_TYPE_BUFFER, id, (uint64_t)(uintptr_t)buffer,
                    (uint64_t)(uintptr_t)args->device, 0);
   if (args->ret == VK_SUCCESS && dev->backed && !bindable)
      remember_unbindable(&dev->buffers, (uint64_t)(uintptr_t)buffer);
}

static void destroy_buffer(struct pv_venus_dispatch *d, struct pv_cmd_vkDestroyBuffer *args)
{
   struct pv_render_device *dev = device_of(d, args->device_id);
   /* Forgotten while still alive, so a create on another ring cannot reuse the handle first. */
   if (dev && args->buffer)
      forget(&dev->buffers, (uint64_t)(uintptr_t)args->buffer);
   pv_render_vk(d)->vkDestroyBuffer(args->device, args->buffer, NULL);
   pv_render_unbind(d, args->buffer_id);
}

static void buffer_requirements(struct pv_render_device *dev, VkBuffer buffer,
                                VkMemoryRequirements *reqs)
{
   if (dev && dev->backed)
      mask_requirements(dev, &dev->buffers,
                        !is_unbindable(&dev->buffers, (uint64_t)(uintptr_t)buffer), reqs);
}

static void get_buffer_reqs(struct pv_venus_dispatch *d,
                            struct pv_cmd_vkGetBufferMemoryRequirements *args)
{
   if (!args->pMemoryRequirements) {
      pv_cs_fail(d->reader, "vkGetBufferMemoryRequirements without a reply");
      return;
   }
   pv_render_vk(d)->vkGetBufferMemoryRequirements(args->device, args->buffer,
                                                  args->pMemoryRequirements);
   buffer_requirements(device_of(d, args->device_id), args->buffer, args->pMemoryRequirements);
}

static void get_buffer_reqs2(struct pv_venus_dispatch *d,
                             struct pv_cmd_vkGetBufferMemoryRequirements2 *args)
{
   if (!args->pInfo || !args->pMemoryRequirements) {
      pv_cs_fail(d->reader, "vkGetBufferMemoryRequirements2 without info or reply");
      return;
   }
   pv_render_vk(d)->vkGetBufferMemoryRequirements2(args->device, args->pInfo,
                                                   args->pMemoryRequirements);
   buffer_requirements(device_of(d, args->device_id), args->pInfo->buffer,
                       &args->pMemoryRequirements->memoryRequirements);
}

/* The guest asks about a buffer it may create: answered for the buffer we would create. */
static void get_device_buffer_reqs(struct pv_venus_dispatch *d,
                                   struct pv_cmd_vkGetDeviceBufferMemoryRequirements *args)
{
   struct pv_render_device *dev = device_of(d, args->device_id);
   if (!dev || !args->pInfo || !args->pInfo->pCreateInfo || !args->pMemoryRequirements ||
       !pv_render_vk(d)->vkGetDeviceBufferMemoryRequirements) {
      pv_cs_fail(d->reader, "vkGetDeviceBufferMemoryRequirements: no device, info, reply or "
                            "host entry point");
      return;
   }
   VkBufferCreateInfo info = *args->pInfo->pCreateInfo;
   bool bindable = amend_buffer(d, dev, &info);
   VkDeviceBufferMemoryRequirements query = *args->pInfo;
   query.pCreateInfo = &info;
   pv_render_vk(d)->vkGetDeviceBufferMemoryRequirements(args->device, &query,
                                                        args->pMemoryRequirements);
   if (dev->backed)
      mask_requirements(dev, &dev->buffers, bindable,
                        &args->pMemoryRequirements->memoryRequirements);
}

/* --- images --- */

/* The generated forwarders of the queries below, which check a create info first. */
static void (*device_image_sparse_reqs_next)(
      struct pv_venus_dispatch *d, struct pv_cmd_vkGetDeviceImageSparseMemoryRequirements *args);
static void (*device_image_layout_next)(struct pv_venus_dispatch *d,
                                        struct pv_cmd_vkGetDeviceImageSubresourceLayout *args);

static bool within_limits(const VkImageCreateInfo *info, const VkImageFormatProperties *limits)
{
   return info->extent.width <= limits->maxExtent.width &&
          info->extent.height <= limits->maxExtent.height &&
          info->extent.depth <= limits->maxExtent.depth &&
          info->mipLevels <= limits->maxMipLevels && info->arrayLayers <= limits->maxArrayLayers &&
          (info->samples & limits->sampleCounts);
}

/* What the driver allows of an external image with these parameters: the query the spec
 * checks an external image's create info against, with the chained structs it includes. */
static void query_image(struct pv_venus_dispatch *d, struct pv_render_device *dev,
                        const VkImageCreateInfo *info, VkExternalMemoryHandleTypeFlags guest,
                        struct pv_render_bindable_entry *entry)
{
   VkImageFormatListCreateInfo list;
   VkImageStencilUsageCreateInfo stencil;
   VkPhysicalDeviceExternalImageFormatInfo external = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_IMAGE_FORMAT_INFO,
         .handleType = HOST_ALLOCATION,
   };
   const void *found = find_in_chain(info->pNext, VK_STRUCTURE_TYPE_IMAGE_FORMAT_LIST_CREATE_INFO);
   if (found) {
      list = *(const VkImageFormatListCreateInfo *)found;
      list.pNext = external.pNext;
      external.pNext = &list;
   }
   found = find_in_chain(info->pNext, VK_STRUCTURE_TYPE_IMAGE_STENCIL_USAGE_CREATE_INFO);
   if (found) {
      stencil = *(const VkImageStencilUsageCreateInfo *)found;
      stencil.pNext = external.pNext;
      external.pNext = &stencil;
   }
   const VkPhysicalDeviceImageFormatInfo2 query = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_IMAGE_FORMAT_INFO_2,
         .pNext = &external,
         .format = info->format,
         .type = info->imageType,
         .tiling = info->tiling,
         .usage = info->usage,
         .flags = info->flags,
   };
   VkExternalImageFormatProperties ext_props = {
         .sType = VK_STRUCTURE_TYPE_EXTERNAL_IMAGE_FORMAT_PROPERTIES,
   };
   VkImageFormatProperties2 props = {
         .sType = VK_STRUCTURE_TYPE_IMAGE_FORMAT_PROPERTIES_2,
         .pNext = &ext_props,
   };
   VkResult result = pv_render_vk(d)->vkGetPhysicalDeviceImageFormatProperties2(
         dev->physical_device, &query, &props);
   entry->bindable = result == VK_SUCCESS && importable(&ext_props.externalMemoryProperties, guest);
   entry->limits = props.imageFormatProperties;
}

static bool image_bindable(struct pv_venus_dispatch *d, struct pv_render_device *dev,
                           const VkImageCreateInfo *info, VkExternalMemoryHandleTypeFlags guest)
{
   /* An external image must start UNDEFINED (VUID-VkImageCreateInfo-pNext-01443). */
   if (info->initialLayout != VK_IMAGE_LAYOUT_UNDEFINED)
      return false;
   const VkImageStencilUsageCreateInfo *stencil =
         find_in_chain(info->pNext, VK_STRUCTURE_TYPE_IMAGE_STENCIL_USAGE_CREATE_INFO);
   const VkImageFormatListCreateInfo *list =
         find_in_chain(info->pNext, VK_STRUCTURE_TYPE_IMAGE_FORMAT_LIST_CREATE_INFO);
   struct pv_render_bindable_entry entry = {
         .key = {info->format, info->imageType, info->tiling, info->usage, info->flags,
                 stencil ? stencil->stencilUsage : 0, guest},
   };
   /* A list of view formats would not fit the key; such images are rare. */
   bool cacheable = !list || list->viewFormatCount == 0;
   if (!cacheable || !cache_find(&dev->images, entry.key, &entry)) {
      query_image(d, dev, info, guest, &entry);
      if (cacheable)
         cache_store(&dev->images, &entry);
   }
   return entry.bindable && within_limits(info, &entry.limits);
}

static bool amend_image(struct pv_venus_dispatch *d, struct pv_render_device *dev,
                        VkImageCreateInfo *info)
{
   if (!dev->backed)
      return false;
   const VkStructureType stype = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_IMAGE_CREATE_INFO;
   VkExternalMemoryBufferCreateInfo *guest = find_in_chain(info->pNext, stype);
   return image_bindable(d, dev, info, guest ? guest->handleTypes : 0) &&
          add_host_allocation(d, &info->pNext, guest, stype);
}

/* A create info breaking the shape rules fails the stream: drivers trust those numbers, and
 * the queries that take a create info build an image from it too. */
static bool shape_holds(struct pv_venus_dispatch *d, const VkImageCreateInfo *info)
{
   const char *fault = pv_render_image_shape_fault(info);
   return !fault || pv_cs_fail(d->reader, "%s", fault);
}

static void create_image(struct pv_venus_dispatch *d, struct pv_cmd_vkCreateImage *args)
{
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   struct pv_render_device *dev = device_of(d, args->device_id);
   if (!dev || !args->pImage || !args->pCreateInfo) {
      pv_cs_fail(d->reader, "vkCreateImage: no device, no id or no create info");
      return;
   }
   if (!shape_holds(d, args->pCreateInfo))
      return;
   const uint64_t id = (uint64_t)(uintptr_t)*args->pImage;
   if (!pv_render_reserve(d, &id, 1, &args->ret))
      return;
   VkImageCreateInfo info = *args->pCreateInfo;
   bool bindable = amend_image(d, dev, &info);
   VkImage image = VK_NULL_HANDLE;
   args->ret = ctx->vk->vkCreateImage(args->device, &info, NULL, &image);
   pv_render_commit(d, VK_OBJECT_TYPE_IMAGE, id, (uint64_t)(uintptr_t)image,
                    (uint64_t)(uintptr_t)args->device, 0);
   if (args->ret == VK_SUCCESS && dev->backed && !bindable)
      remember_unbindable(&dev->images, (uint64_t)(uintptr_t)image);
}

static void destroy_image(struct pv_venus_dispatch *d, struct pv_cmd_vkDestroyImage *args)
{
   struct pv_render_device *dev = device_of(d, args->device_id);
   if (dev && args->image)
      forget(&dev->images, (uint64_t)(uintptr_t)args->image);
   pv_render_vk(d)->vkDestroyImage(args->device, args->image, NULL);
   pv_render_unbind(d, args->image_id);
}

static void image_requirements(struct pv_render_device *dev, VkImage image,
                               VkMemoryRequirements *reqs)
{
   if (dev && dev->backed)
      mask_requirements(dev, &dev->images, !is_unbindable(&dev->images, (uint64_t)(uintptr_t)image),
                        reqs);
}

static void get_image_reqs(struct pv_venus_dispatch *d,
                           struct pv_cmd_vkGetImageMemoryRequirements *args)
{
   if (!args->pMemoryRequirements) {
      pv_cs_fail(d->reader, "vkGetImageMemoryRequirements without a reply");
      return;
   }
   pv_render_vk(d)->vkGetImageMemoryRequirements(args->device, args->image,
                                                 args->pMemoryRequirements);
   image_requirements(device_of(d, args->device_id), args->image, args->pMemoryRequirements);
}

static void get_image_reqs2(struct pv_venus_dispatch *d,
                            struct pv_cmd_vkGetImageMemoryRequirements2 *args)
{
   if (!args->pInfo || !args->pMemoryRequirements) {
      pv_cs_fail(d->reader, "vkGetImageMemoryRequirements2 without info or reply");
      return;
   }
   pv_render_vk(d)->vkGetImageMemoryRequirements2(args->device, args->pInfo,
                                                  args->pMemoryRequirements);
   image_requirements(device_of(d, args->device_id), args->pInfo->image,
                      &args->pMemoryRequirements->memoryRequirements);
}

static void get_device_image_reqs(struct pv_venus_dispatch *d,
                                  struct pv_cmd_vkGetDeviceImageMemoryRequirements *args)
{
   struct pv_render_device *dev = device_of(d, args->device_id);
   if (!dev || !args->pInfo || !args->pInfo->pCreateInfo || !args->pMemoryRequirements ||
       !pv_render_vk(d)->vkGetDeviceImageMemoryRequirements) {
      pv_cs_fail(d->reader, "vkGetDeviceImageMemoryRequirements: no device, info, reply or "
                            "host entry point");
      return;
   }
   if (!shape_holds(d, args->pInfo->pCreateInfo))
      return;
   VkImageCreateInfo info = *args->pInfo->pCreateInfo;
   bool bindable = amend_image(d, dev, &info);
   VkDeviceImageMemoryRequirements query = *args->pInfo;
   query.pCreateInfo = &info;
   pv_render_vk(d)->vkGetDeviceImageMemoryRequirements(args->device, &query,
                                                       args->pMemoryRequirements);
   if (dev->backed)
      mask_requirements(dev, &dev->images, bindable,
                        &args->pMemoryRequirements->memoryRequirements);
}

static void
get_device_image_sparse_reqs(struct pv_venus_dispatch *d,
                             struct pv_cmd_vkGetDeviceImageSparseMemoryRequirements *args)
{
   if (!args->pInfo || !args->pInfo->pCreateInfo)
      pv_cs_fail(d->reader, "no create info");
   else if (shape_holds(d, args->pInfo->pCreateInfo))
      device_image_sparse_reqs_next(d, args);
}

static void get_device_image_layout(struct pv_venus_dispatch *d,
                                    struct pv_cmd_vkGetDeviceImageSubresourceLayout *args)
{
   if (!args->pInfo || !args->pInfo->pCreateInfo)
      pv_cs_fail(d->reader, "no create info");
   else if (shape_holds(d, args->pInfo->pCreateInfo))
      device_image_layout_next(d, args);
}

void pv_render_buffer_image_init_dispatch(struct pv_venus_handlers *h)
{
   h->vkCreateBuffer = create_buffer;
   h->vkDestroyBuffer = destroy_buffer;
   h->vkGetBufferMemoryRequirements = get_buffer_reqs;
   h->vkGetBufferMemoryRequirements2 = get_buffer_reqs2;
   h->vkGetDeviceBufferMemoryRequirements = get_device_buffer_reqs;
   h->vkCreateImage = create_image;
   h->vkDestroyImage = destroy_image;
   h->vkGetImageMemoryRequirements = get_image_reqs;
   h->vkGetImageMemoryRequirements2 = get_image_reqs2;
   h->vkGetDeviceImageMemoryRequirements = get_device_image_reqs;
   device_image_sparse_reqs_next = h->vkGetDeviceImageSparseMemoryRequirements;
   h->vkGetDeviceImageSparseMemoryRequirements = get_device_image_sparse_reqs;
   device_image_layout_next = h->vkGetDeviceImageSubresourceLayout;
   h->vkGetDeviceImageSubresourceLayout = get_device_image_layout;
}
