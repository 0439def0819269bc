/* VK_LAYER_PEARVISOR_fast_wait's plumbing: the loader interface, the chain, the venus check. */
#include "pv_layer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vulkan/vk_layer.h>

#include "pv_wait.h"

/* Everything else in the library is hidden (meson: gnu_symbol_visibility). */
#define PV_LAYER_EXPORT __attribute__((visibility("default")))

/* Mesa venus names every device "Virtio-GPU Venus (<host device>)": the check left where
 * driverID cannot be asked for (an instance of API 1.0 without
 * VK_KHR_get_physical_device_properties2, a device without VK_KHR_driver_properties). */
#define PV_VENUS_NAME_PREFIX "Virtio-GPU Venus"

static bool debug_enabled(void)
{
   const char *value = getenv("PEARVISOR_FAST_WAIT_DEBUG");
   return value && *value && strcmp(value, "0") != 0;
}

static bool has_name(const char *const *names, uint32_t count, const char *name)
{
   for (uint32_t i = 0; i < count; i++) {
      if (strcmp(names[i], name) == 0)
         return true;
   }
   return false;
}

/* The loader's link for this layer in a create info's chain (the loader's own structures
 * are the only ones of these types). */
static void *find_link(const void *chain, VkStructureType type)
{
   for (const VkBaseInStructure *s = chain; s; s = s->pNext) {
      /* function is at the same place in both the instance and the device structure. */
      if (s->sType == type &&
          ((const VkLayerInstanceCreateInfo *)s)->function == VK_LAYER_LINK_INFO)
         return (void *)s;
   }
   return NULL;
}

/* --- instances --- */

static VKAPI_ATTR VkResult VKAPI_CALL create_instance(const VkInstanceCreateInfo *info,
                                                      const VkAllocationCallbacks *alloc,
                                                      VkInstance *out)
{
   VkLayerInstanceCreateInfo *link =
         find_link(info->pNext, VK_STRUCTURE_TYPE_LOADER_INSTANCE_CREATE_INFO);
   if (!link || !link->u.pLayerInfo)
      return VK_ERROR_INITIALIZATION_FAILED;
   PFN_vkGetInstanceProcAddr next_gipa = link->u.pLayerInfo->pfnNextGetInstanceProcAddr;
   PFN_vkCreateInstance down = (PFN_vkCreateInstance)next_gipa(VK_NULL_HANDLE, "vkCreateInstance");
   struct pv_layer_instance *inst = calloc(1, sizeof(*inst));
   if (!down || !inst) {
      free(inst);
      return down ? VK_ERROR_OUT_OF_HOST_MEMORY : VK_ERROR_INITIALIZATION_FAILED;
   }
   link->u.pLayerInfo = link->u.pLayerInfo->pNext; /* the next layer's link, for it to find */
   VkResult result = down(info, alloc, out);
   if (result != VK_SUCCESS) {
      free(inst);
      return result;
   }
   inst->key = pv_layer_key(*out);
   inst->instance = *out;
   inst->next_gipa = next_gipa;
   inst->destroy_instance = (PFN_vkDestroyInstance)next_gipa(*out, "vkDestroyInstance");
   inst->get_properties =
         (PFN_vkGetPhysicalDeviceProperties)next_gipa(*out, "vkGetPhysicalDeviceProperties");
   inst->enumerate_device_extensions = (PFN_vkEnumerateDeviceExtensionProperties)next_gipa(
         *out, "vkEnumerateDeviceExtensionProperties");
   /* Only what this instance may call: an instance of API 1.0 has the KHR name only, and
    * only with the extension enabled. */
   uint32_t api = info->pApplicationInfo ? info->pApplicationInfo->apiVersion : 0;
   const char *properties2 = NULL;
   if (api >= VK_API_VERSION_1_1)
      properties2 = "vkGetPhysicalDeviceProperties2";
   else if (has_name(info->ppEnabledExtensionNames, info->enabledExtensionCount,
                     VK_KHR_GET_PHYSICAL_DEVICE_PROPERTIES_2_EXTENSION_NAME))
      properties2 = "vkGetPhysicalDeviceProperties2KHR";
   if (properties2)
      inst->get_properties2 = (PFN_vkGetPhysicalDeviceProperties2)next_gipa(*out, properties2);
   if (!inst->destroy_instance || !inst->get_properties || !inst->enumerate_device_extensions ||
       !pv_layer_map_add_instance(inst)) {
      if (inst->destroy_instance)
         inst->destroy_instance(*out, alloc);
      free(inst);
      *out = VK_NULL_HANDLE;
      return VK_ERROR_INITIALIZATION_FAILED;
   }
   return VK_SUCCESS;
}

static VKAPI_ATTR void VKAPI_CALL destroy_instance(VkInstance instance,
                                                   const VkAllocationCallbacks *alloc)
{
   struct pv_layer_instance *inst = pv_layer_map_take_instance(instance);
   if (!inst)
      return;
   inst->destroy_instance(instance, alloc);
   free(inst);
}

/* --- devices --- */

static bool has_extension(const struct pv_layer_instance *inst, VkPhysicalDevice physical,
                          const char *name)
{
   uint32_t count = 0;
   if (inst->enumerate_device_extensions(physical, NULL, &count, NULL) != VK_SUCCESS)
      return false;
   VkExtensionProperties *props = calloc(count ? count : 1, sizeof(*props));
   bool found = false;
   if (props && inst->enumerate_device_extensions(physical, NULL, &count, props) >= VK_SUCCESS) {
      for (uint32_t i = 0; i < count && !found; i++)
         found = strcmp(props[i].extensionName, name) == 0;
   }
   free(props);
   return found;
}

/* Fills props (for the log line) and says whether the device is Mesa venus. */
static bool is_venus(const struct pv_layer_instance *inst, VkPhysicalDevice physical,
                     VkPhysicalDeviceProperties *props)
{
   inst->get_properties(physical, props);
   if (inst->get_properties2 &&
       has_extension(inst, physical, VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME)) {
      VkPhysicalDeviceDriverProperties driver = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES,
      };
      VkPhysicalDeviceProperties2 props2 = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
            .pNext = &driver,
      };
      inst->get_properties2(physical, &props2);
      return driver.driverID == VK_DRIVER_ID_MESA_VENUS;
   }
   return strncmp(props->deviceName, PV_VENUS_NAME_PREFIX, strlen(PV_VENUS_NAME_PREFIX)) == 0;
}

static void load_device(struct pv_layer_device *dev, PFN_vkGetDeviceProcAddr gdpa)
{
   struct pv_layer_device_next *n = &dev->next;
   VkDevice d = dev->device;
   n->get_device_proc_addr = gdpa;
   n->destroy_device = (PFN_vkDestroyDevice)gdpa(d, "vkDestroyDevice");
   n->get_device_queue = (PFN_vkGetDeviceQueue)gdpa(d, "vkGetDeviceQueue");
   n->get_device_queue2 = (PFN_vkGetDeviceQueue2)gdpa(d, "vkGetDeviceQueue2");
   n->wait_for_fences = (PFN_vkWaitForFences)gdpa(d, "vkWaitForFences");
   n->get_fence_status = (PFN_vkGetFenceStatus)gdpa(d, "vkGetFenceStatus");
   n->wait_semaphores = (PFN_vkWaitSemaphores)gdpa(d, "vkWaitSemaphores");
   n->wait_semaphores_khr = (PFN_vkWaitSemaphores)gdpa(d, "vkWaitSemaphoresKHR");
   n->get_semaphore_counter_value =
         (PFN_vkGetSemaphoreCounterValue)gdpa(d, "vkGetSemaphoreCounterValue");
   n->get_semaphore_counter_value_khr =
         (PFN_vkGetSemaphoreCounterValue)gdpa(d, "vkGetSemaphoreCounterValueKHR");
   n->queue_wait_idle = (PFN_vkQueueWaitIdle)gdpa(d, "vkQueueWaitIdle");
   n->device_wait_idle = (PFN_vkDeviceWaitIdle)gdpa(d, "vkDeviceWaitIdle");
   n->get_query_pool_results = (PFN_vkGetQueryPoolResults)gdpa(d, "vkGetQueryPoolResults");
   n->queue_submit = (PFN_vkQueueSubmit)gdpa(d, "vkQueueSubmit");
   n->create_fence = (PFN_vkCreateFence)gdpa(d, "vkCreateFence");
   n->destroy_fence = (PFN_vkDestroyFence)gdpa(d, "vkDestroyFence");
   n->reset_fences = (PFN_vkResetFences)gdpa(d, "vkResetFences");
}

/* The Vulkan 1.0 entry points the waits call (the 1.1+ and KHR ones are checked per call). */
static bool has_core(const struct pv_layer_device_next *n)
{
   return n->get_device_queue && n->wait_for_fences && n->get_fence_status && n->queue_wait_idle &&
          n->device_wait_idle && n->get_query_pool_results && n->queue_submit && n->create_fence &&
          n->destroy_fence && n->reset_fences;
}

static VKAPI_ATTR VkResult VKAPI_CALL create_device(VkPhysicalDevice physical,
                                                    const VkDeviceCreateInfo *info,
                                                    const VkAllocationCallbacks *alloc,
                                                    VkDevice *out)
{
   VkLayerDeviceCreateInfo *link =
         find_link(info->pNext, VK_STRUCTURE_TYPE_LOADER_DEVICE_CREATE_INFO);
   struct pv_layer_instance *inst = pv_layer_map_instance(physical);
   if (!link || !link->u.pLayerInfo || !inst)
      return VK_ERROR_INITIALIZATION_FAILED;
   PFN_vkGetInstanceProcAddr next_gipa = link->u.pLayerInfo->pfnNextGetInstanceProcAddr;
   PFN_vkGetDeviceProcAddr next_gdpa = link->u.pLayerInfo->pfnNextGetDeviceProcAddr;
   PFN_vkCreateDevice down = (PFN_vkCreateDevice)next_gipa(inst->instance, "vkCreateDevice");
   struct pv_layer_device *dev = calloc(1, sizeof(*dev));
   if (!down || !dev) {
      free(dev);
      return down ? VK_ERROR_OUT_OF_HOST_MEMORY : VK_ERROR_INITIALIZATION_FAILED;
   }
   VkPhysicalDeviceProperties props;
   bool venus = is_venus(inst, physical, &props);
   link->u.pLayerInfo = link->u.pLayerInfo->pNext; /* the next layer's link, for it to find */
   VkResult result = down(physical, info, alloc, out);
   if (result != VK_SUCCESS) {
      free(dev);
      return result;
   }
   dev->key = pv_layer_key(*out);
   dev->device = *out;
   load_device(dev, next_gdpa);
   dev->active = venus && has_core(&dev->next);
   if (!dev->next.destroy_device || !pv_layer_map_add_device(dev)) {
      if (dev->next.destroy_device)
         dev->next.destroy_device(*out, alloc);
      free(dev);
      *out = VK_NULL_HANDLE;
      return VK_ERROR_INITIALIZATION_FAILED;
   }
   if (debug_enabled())
      fprintf(stderr, "fast_wait: %s on %s%s\n", dev->active ? "active" : "pass-through",
              props.deviceName, dev->active ? " (venus)" : "");
   return VK_SUCCESS;
}

static VKAPI_ATTR void VKAPI_CALL destroy_device(VkDevice device,
                                                 const VkAllocationCallbacks *alloc)
{
   struct pv_layer_device *dev = pv_layer_map_take_device(device);
   if (!dev)
      return;
   PFN_vkDestroyDevice down = dev->next.destroy_device;
   pv_layer_device_free(dev); /* the layer's fences first: they belong to the device */
   down(device, alloc);
}

/* --- entry point lookup --- */

static VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL get_device_proc_addr(VkDevice device,
                                                                     const char *name);

/* The functions the layer has for every device, venus or not: its lookup, and the destroy
 * that frees its state. */
static PFN_vkVoidFunction own_device_function(const char *name)
{
   if (strcmp(name, "vkGetDeviceProcAddr") == 0)
      return (PFN_vkVoidFunction)get_device_proc_addr;
   if (strcmp(name, "vkDestroyDevice") == 0)
      return (PFN_vkVoidFunction)destroy_device;
   return NULL;
}

static VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL get_device_proc_addr(VkDevice device,
                                                                     const char *name)
{
   PFN_vkVoidFunction own = own_device_function(name);
   if (own)
      return own;
   struct pv_layer_device *dev = pv_layer_map_device(device);
   if (!dev)
      return NULL;
   /* Any device but venus gets the next functions themselves: nothing of the layer is left
    * on its calls. A hook only replaces a function the device has. */
   PFN_vkVoidFunction next = dev->next.get_device_proc_addr(device, name);
   if (!next || !dev->active)
      return next;
   PFN_vkVoidFunction hook = pv_wait_hook(name);
   return hook ? hook : next;
}

static VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL get_instance_proc_addr(VkInstance instance,
                                                                       const char *name)
{
   static const struct {
      const char *name;
      PFN_vkVoidFunction function;
   } own[] = {
         {"vkGetInstanceProcAddr", (PFN_vkVoidFunction)get_instance_proc_addr},
         {"vkCreateInstance", (PFN_vkVoidFunction)create_instance},
         {"vkDestroyInstance", (PFN_vkVoidFunction)destroy_instance},
         {"vkCreateDevice", (PFN_vkVoidFunction)create_device},
   };
   for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
      if (strcmp(name, own[i].name) == 0)
         return own[i].function;
   }
   PFN_vkVoidFunction own_device = own_device_function(name);
   if (own_device)
      return own_device;
   struct pv_layer_instance *inst = pv_layer_map_instance(instance);
   if (!inst)
      return NULL;
   /* A device function got here serves every device of the instance: the hooks look their
    * device up on each call and go straight down on any but venus. */
   PFN_vkVoidFunction next = inst->next_gipa(instance, name);
   PFN_vkVoidFunction hook = next ? pv_wait_hook(name) : NULL;
   return hook ? hook : next;
}

/* --- what the loader looks up in the library --- */

PV_LAYER_EXPORT VKAPI_ATTR VkResult VKAPI_CALL
vkNegotiateLoaderLayerInterfaceVersion(VkNegotiateLayerInterface *version)
{
   /* Interface 2: the loader takes both lookups from here; the layer has no physical device
    * functions of its own, hence no vk_layerGetPhysicalDeviceProcAddr. */
   if (!version || version->sType != LAYER_NEGOTIATE_INTERFACE_STRUCT ||
       version->loaderLayerInterfaceVersion < 2)
      return VK_ERROR_INITIALIZATION_FAILED;
   version->loaderLayerInterfaceVersion = 2;
   version->pfnGetInstanceProcAddr = get_instance_proc_addr;
   version->pfnGetDeviceProcAddr = get_device_proc_addr;
   version->pfnGetPhysicalDeviceProcAddr = NULL;
   return VK_SUCCESS;
}

/* The names older tools look for. */
PV_LAYER_EXPORT VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL vkGetInstanceProcAddr(VkInstance instance,
                                                                               const char *name)
{
   return get_instance_proc_addr(instance, name);
}

PV_LAYER_EXPORT VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL vkGetDeviceProcAddr(VkDevice device,
                                                                             const char *name)
{
   return get_device_proc_addr(device, name);
}
