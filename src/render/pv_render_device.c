/* Device and queue handlers: the host device behind the guest's (with the host extensions we
 * need enabled behind its back), queues bound to vtest timelines, and device teardown. */
#include <stdlib.h>
#include <string.h>

#include "render/pv_render_forward.h"
#include "render/pv_render_trace.h"
#include "util/pv_log.h"

/* Host-visible memory the guest maps is our memfd imported as a host pointer (lavapipe and
 * NVIDIA both offer the import), so the device needs this extension even though the guest
 * never asks for it. */
static const char host_pointer_extension[] = VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME;

bool pv_render_host_has_extension(struct pv_venus_dispatch *d, VkPhysicalDevice physical,
                                  const char *name)
{
   const struct pv_vk_table *vk = pv_render_vk(d);
   uint32_t count = 0;
   vk->vkEnumerateDeviceExtensionProperties(physical, NULL, &count, NULL);
   VkExtensionProperties *props = pv_cs_alloc_array(d->reader, count, sizeof(*props));
   if (!props || vk->vkEnumerateDeviceExtensionProperties(physical, NULL, &count, props) < 0)
      return false;
   for (uint32_t i = 0; i < count; i++) {
      if (strcmp(props[i].extensionName, name) == 0)
         return true;
   }
   return false;
}

/* The guest may only enable what we offered it; returns the list to enable on the host. */
static const char **host_extensions(struct pv_venus_dispatch *d, VkPhysicalDevice physical,
                                    const VkDeviceCreateInfo *info, bool add_host_pointer,
                                    uint32_t *count, VkResult *result)
{
   uint32_t offered_count = pv_render_offered_extensions(d, physical, NULL);
   VkExtensionProperties *offered = pv_cs_alloc_array(d->reader, offered_count, sizeof(*offered));
   const char **names =
         pv_cs_alloc_array(d->reader, info->enabledExtensionCount + 1, sizeof(*names));
   if (!names || (offered_count && !offered))
      return NULL;
   pv_render_offered_extensions(d, physical, offered);
   uint32_t n = 0;
   bool has_host_pointer = false;
   for (uint32_t i = 0; i < info->enabledExtensionCount; i++) {
      const char *name = info->ppEnabledExtensionNames[i];
      bool ok = false;
      for (uint32_t j = 0; j < offered_count && !ok; j++)
         ok = strcmp(offered[j].extensionName, name) == 0;
      if (!ok) {
         pv_warn("vkCreateDevice: the guest asked for %s, which is not offered", name);
         *result = VK_ERROR_EXTENSION_NOT_PRESENT;
         return NULL;
      }
      has_host_pointer |= strcmp(name, host_pointer_extension) == 0;
      names[n++] = name;
   }
   if (add_host_pointer && !has_host_pointer)
      names[n++] = host_pointer_extension;
   *count = n;
   return names;
}

/* The device keeps to the memory view its physical device showed the guest (probed now,
 * with this very device, if the guest never asked). */
static struct pv_render_device *device_state(struct pv_venus_dispatch *d, VkDevice device,
                                             uint64_t physical_id, VkPhysicalDevice physical,
                                             bool host_pointer)
{
   struct pv_render_physical_device *phys = pv_render_physical_device_probe(d, physical_id, device);
   struct pv_render_device *dev = phys ? calloc(1, sizeof(*dev)) : NULL;
   if (!dev)
      return NULL;
   dev->device = device;
   dev->physical_device = physical;
   pv_render_vk(d)->vkGetPhysicalDeviceMemoryProperties(physical, &dev->memory_properties);
   dev->host_pointer_import = host_pointer && phys->host_pointer;
   dev->host_pointer_alignment = phys->host_pointer_alignment;
   dev->backed = dev->host_pointer_import ? phys->backed : 0;
   pv_render_bindable_cache_init(&dev->buffers);
   pv_render_bindable_cache_init(&dev->images);
   return dev;
}

void pv_render_device_state_destroy(struct pv_render_device *dev)
{
   if (!dev)
      return;
   pv_render_bindable_cache_finish(&dev->buffers);
   pv_render_bindable_cache_finish(&dev->images);
   free(dev);
}

static void create_device(struct pv_venus_dispatch *d, struct pv_cmd_vkCreateDevice *args)
{
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   if (!args->pDevice) {
      pv_cs_fail(d->reader, "vkCreateDevice without an id");
      return;
   }
   const uint64_t id = (uint64_t)(uintptr_t)*args->pDevice;
   if (!pv_render_reserve(d, &id, 1, &args->ret))
      return;
   bool host_pointer =
         pv_render_host_has_extension(d, args->physicalDevice, host_pointer_extension);
   VkDeviceCreateInfo info = *args->pCreateInfo;
   args->ret = VK_ERROR_INITIALIZATION_FAILED;
   info.ppEnabledExtensionNames =
         host_extensions(d, args->physicalDevice, args->pCreateInfo, host_pointer,
                         &info.enabledExtensionCount, &args->ret);
   VkDevice device = VK_NULL_HANDLE;
   if (info.ppEnabledExtensionNames) {
      info.enabledLayerCount = 0;
      info.ppEnabledLayerNames = NULL;
      args->ret = ctx->vk->vkCreateDevice(args->physicalDevice, &info, NULL, &device);
   }
   struct pv_render_device *dev = args->ret == VK_SUCCESS
                                        ? device_state(d, device, args->physicalDevice_id,
                                                       args->physicalDevice, host_pointer)
                                        : NULL;
   if (!dev) {
      if (args->ret == VK_SUCCESS) {
         ctx->vk->vkDestroyDevice(device, NULL);
         pv_cs_fail(d->reader, "out of memory for the state of device %llu",
                    (unsigned long long)id);
      }
      pv_render_object_commit(ctx, VK_OBJECT_TYPE_DEVICE, id, 0, 0, 0, NULL);
      return;
   }
   /* Cannot fail: this command reserved the id. */
   pv_render_object_commit(ctx, VK_OBJECT_TYPE_DEVICE, id, (uint64_t)(uintptr_t)device,
                           (uint64_t)(uintptr_t)args->physicalDevice, 0, dev);
}

static void destroy_device(struct pv_venus_dispatch *d, struct pv_cmd_vkDestroyDevice *args)
{
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   if (!args->device)
      return;
   /* The guest does not destroy everything first (docs/protocol/venus.md §5): the device takes
    * what is left of its objects with it, once the GPU is done with them. */
   ctx->vk->vkDeviceWaitIdle(args->device);
   pv_render_fences_drain_device(ctx, args->device);
   pv_render_trace_forget_device(ctx, args->device);
   pv_render_objects_destroy_children(ctx, (uint64_t)(uintptr_t)args->device);
   ctx->vk->vkDestroyDevice(args->device, NULL);
   pv_render_object_unbind(ctx, args->device_id);
}

/* Unlinks the Venus timeline struct from the chain (the host does not know it). */
static uint32_t take_timeline(VkDeviceQueueInfo2 *info)
{
   uint32_t ring_idx = 0;
   for (VkBaseOutStructure **link = (VkBaseOutStructure **)&info->pNext; *link;) {
      if ((*link)->sType == VK_STRUCTURE_TYPE_DEVICE_QUEUE_TIMELINE_INFO_MESA) {
         ring_idx = ((VkDeviceQueueTimelineInfoMESA *)*link)->ringIdx;
         *link = (*link)->pNext;
      } else {
         link = &(*link)->pNext;
      }
   }
   return ring_idx;
}

static void get_device_queue2(struct pv_venus_dispatch *d, struct pv_cmd_vkGetDeviceQueue2 *args)
{
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   VkDeviceQueueInfo2 info = *args->pQueueInfo;
   uint32_t ring_idx = take_timeline(&info);
   if (!args->pQueue || ring_idx == 0 || ring_idx >= PV_GPU_MAX_TIMELINES) {
      pv_cs_fail(d->reader, "vkGetDeviceQueue2 needs a queue id and a timeline in 1..%d",
                 PV_GPU_MAX_TIMELINES - 1);
      return;
   }
   VkQueue queue = VK_NULL_HANDLE;
   ctx->vk->vkGetDeviceQueue2(args->device, &info, &queue);
   if (!queue) {
      pv_cs_fail(d->reader, "the host has no queue %u in family %u", info.queueIndex,
                 info.queueFamilyIndex);
      return;
   }
   struct pv_render_queue *q = pv_render_queue_create(args->device, queue, ring_idx);
   pthread_mutex_lock(&ctx->lock);
   bool taken = ctx->queues[ring_idx] != NULL;
   if (q && !taken)
      ctx->queues[ring_idx] = q;
   pthread_mutex_unlock(&ctx->lock);
   bool bound =
         q && !taken &&
         pv_render_object_bind(ctx, VK_OBJECT_TYPE_QUEUE, (uint64_t)(uintptr_t)*args->pQueue,
                               (uint64_t)(uintptr_t)queue, (uint64_t)(uintptr_t)args->device, 0, q);
   if (!bound) {
      if (q && !taken) {
         pthread_mutex_lock(&ctx->lock);
         ctx->queues[ring_idx] = NULL;
         pthread_mutex_unlock(&ctx->lock);
      }
      pv_render_queue_destroy(q);
      pv_cs_fail(d->reader, "queue id in use or timeline %u already bound", ring_idx);
   }
}

void pv_render_device_init_dispatch(struct pv_venus_handlers *h)
{
   h->vkCreateDevice = create_device;
   h->vkDestroyDevice = destroy_device;
   h->vkGetDeviceQueue2 = get_device_queue2;
}
