/* Device memory: host-visible memory is a memfd we map and import as a host pointer, so the
 * guest maps the very same pages (no copies, coherent both ways). */
#include <stdlib.h>

#include "render/pv_render_forward.h"
#include "util/pv_log.h"

static VkDeviceSize align_up(VkDeviceSize size, VkDeviceSize alignment)
{
   return alignment ? (size + alignment - 1) / alignment * alignment : size;
}

/* Drops what cannot go with a host-pointer import: dedicated allocation (the import is not
 * dedicated) and export requests (we never offer external memory). */
static const void *strip_chain(const void *chain)
{
   const VkBaseInStructure *first = NULL, **link = &first;
   for (const VkBaseInStructure *s = chain; s; s = s->pNext) {
      if (s->sType == VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO ||
          s->sType == VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO)
         continue;
      *link = s;
      link = (const VkBaseInStructure **)&((VkBaseInStructure *)s)->pNext;
   }
   *link = NULL;
   return first;
}

/* Allocates through a memfd when the type is host-visible and the host can import it. */
static struct pv_render_shmem *import_shmem(struct pv_venus_dispatch *d,
                                            struct pv_render_device *dev,
                                            VkMemoryAllocateInfo *info,
                                            VkImportMemoryHostPointerInfoEXT *import)
{
   const struct pv_vk_table *vk = pv_render_vk(d);
   if (!dev->host_pointer_import)
      return NULL;
   VkDeviceSize size = align_up(info->allocationSize, dev->host_pointer_alignment);
   struct pv_render_shmem *shmem = pv_render_shmem_create(size);
   if (!shmem)
      return NULL;
   VkMemoryHostPointerPropertiesEXT props = {
         .sType = VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT,
   };
   if (vk->vkGetMemoryHostPointerPropertiesEXT(
             dev->device, VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT, shmem->map,
             &props) != VK_SUCCESS ||
       !(props.memoryTypeBits & (1u << info->memoryTypeIndex))) {
      pv_render_shmem_unref(shmem);
      return NULL;
   }
   *import = (VkImportMemoryHostPointerInfoEXT){
         .sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT,
         .pNext = strip_chain(info->pNext),
         .handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT,
         .pHostPointer = shmem->map,
   };
   info->pNext = import;
   info->allocationSize = size;
   return shmem;
}

static void allocate_memory(struct pv_venus_dispatch *d, struct pv_cmd_vkAllocateMemory *args)
{
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   struct pv_render_object *dev_obj =
         pv_render_object_get(ctx, args->device_id, VK_OBJECT_TYPE_DEVICE);
   struct pv_render_device *dev = dev_obj ? dev_obj->data : NULL;
   VkMemoryAllocateInfo info = *args->pAllocateInfo;
   if (!dev || !args->pMemory || info.memoryTypeIndex >= dev->memory_properties.memoryTypeCount) {
      pv_cs_fail(d->reader, "vkAllocateMemory: bad device, id or memory type %u",
                 info.memoryTypeIndex);
      return;
   }
   VkMemoryPropertyFlags flags =
         dev->memory_properties.memoryTypes[info.memoryTypeIndex].propertyFlags;
   VkImportMemoryHostPointerInfoEXT import;
   struct pv_render_shmem *shmem = NULL;
   if (flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) {
      shmem = import_shmem(d, dev, &info, &import);
      if (!shmem)
         pv_warn("%s: host-visible memory type %u cannot be imported from a memfd; the "
                 "guest will not be able to map it",
                 ctx->name, info.memoryTypeIndex);
   }
   struct pv_render_memory *mem = calloc(1, sizeof(*mem));
   VkDeviceMemory memory = VK_NULL_HANDLE;
   args->ret = mem ? ctx->vk->vkAllocateMemory(args->device, &info, NULL, &memory)
                   : VK_ERROR_OUT_OF_HOST_MEMORY;
   if (args->ret != VK_SUCCESS) {
      free(mem);
      pv_render_shmem_unref(shmem);
      return;
   }
   *mem = (struct pv_render_memory){memory, info.allocationSize, shmem, false};
   struct pv_render_object *obj = pv_render_object_bind(
         ctx, VK_OBJECT_TYPE_DEVICE_MEMORY, (uint64_t)(uintptr_t)*args->pMemory,
         (uint64_t)(uintptr_t)memory, (uint64_t)(uintptr_t)args->device, 0);
   if (!obj) {
      ctx->vk->vkFreeMemory(args->device, memory, NULL);
      free(mem);
      pv_render_shmem_unref(shmem);
      pv_cs_fail(d->reader, "memory id is 0 or in use");
      return;
   }
   obj->data = mem;
   atomic_fetch_add(&ctx->device_memory_bytes, mem->size);
}

static void free_memory(struct pv_venus_dispatch *d, struct pv_cmd_vkFreeMemory *args)
{
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   if (!args->memory)
      return;
   ctx->vk->vkFreeMemory(args->device, args->memory, NULL);
   /* The guest's blob keeps the memfd pages alive if it still maps them (venus.md §10). */
   pv_render_object_unbind(ctx, args->memory_id);
}

void pv_render_memory_init_dispatch(struct pv_venus_handlers *h)
{
   h->vkAllocateMemory = allocate_memory;
   h->vkFreeMemory = free_memory;
}
