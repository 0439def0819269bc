/* Instance and physical-device handlers: the host instance behind the guest's, device
 * enumeration bound to guest ids, and what the guest is shown (version, extensions). */
#include <stdlib.h>
#include <string.h>

#include "render/pv_render_forward.h"
#include "util/pv_log.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* The newest API the host loader offers, capped by what our decoder was generated for. */
static uint32_t offered_api_version(void)
{
   uint32_t version = VK_API_VERSION_1_0;
   if (vkEnumerateInstanceVersion(&version) != VK_SUCCESS)
      version = VK_API_VERSION_1_0;
   return MIN(version, PV_VENUS_VK_XML_VERSION);
}

static void enumerate_instance_version(struct pv_venus_dispatch *d,
                                       struct pv_cmd_vkEnumerateInstanceVersion *args)
{
   if (args->pApiVersion)
      *args->pApiVersion = offered_api_version();
   args->ret = VK_SUCCESS;
}

static void create_instance(struct pv_venus_dispatch *d, struct pv_cmd_vkCreateInstance *args)
{
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   if (!args->pInstance) {
      pv_cs_fail(d->reader, "vkCreateInstance without an id");
      return;
   }
   /* The guest enables no layers or extensions here (venus.md §5); the host instance is
    * ours to shape: the newest version we decode, so every core entry point loads. */
   VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO};
   if (args->pCreateInfo->pApplicationInfo)
      app = *args->pCreateInfo->pApplicationInfo;
   app.pNext = NULL;
   app.apiVersion = offered_api_version();
   VkInstanceCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
         .pApplicationInfo = &app,
   };
   VkInstance instance = VK_NULL_HANDLE;
   args->ret = vkCreateInstance(&info, NULL, &instance);
   if (args->ret != VK_SUCCESS) {
      pv_warn("%s: host vkCreateInstance failed: %d", ctx->name, args->ret);
      return;
   }
   if (!ctx->vk) {
      pv_vk_table_load(&ctx->vk_storage, vkGetInstanceProcAddr, instance);
      ctx->vk = &ctx->vk_storage;
   }
   pv_render_bind(d, VK_OBJECT_TYPE_INSTANCE, (uint64_t)(uintptr_t)*args->pInstance,
                  (uint64_t)(uintptr_t)instance, 0, 0);
   if (d->reader->failed)
      vkDestroyInstance(instance, NULL);
}

static void destroy_instance(struct pv_venus_dispatch *d, struct pv_cmd_vkDestroyInstance *args)
{
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   if (!args->instance)
      return;
   pv_render_objects_destroy_children(ctx, (uint64_t)(uintptr_t)args->instance);
   ctx->vk->vkDestroyInstance(args->instance, NULL);
   pv_render_object_unbind(ctx, args->instance_id);
}

static void enumerate_physical_devices(struct pv_venus_dispatch *d,
                                       struct pv_cmd_vkEnumeratePhysicalDevices *args)
{
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   uint32_t host_count = 0;
   args->ret = ctx->vk->vkEnumeratePhysicalDevices(args->instance, &host_count, NULL);
   if (args->ret != VK_SUCCESS || !args->pPhysicalDeviceCount)
      return;
   if (!args->pPhysicalDevices) {
      *args->pPhysicalDeviceCount = host_count;
      return;
   }
   VkPhysicalDevice *host = pv_cs_alloc_array(d->reader, host_count, sizeof(*host));
   if (!host)
      return;
   args->ret = ctx->vk->vkEnumeratePhysicalDevices(args->instance, &host_count, host);
   if (args->ret < 0)
      return;
   uint32_t count = MIN(*args->pPhysicalDeviceCount, host_count);
   /* The i-th id names the i-th host device, and keeps naming it on later calls. */
   for (uint32_t i = 0; i < count; i++) {
      uint64_t id = (uint64_t)(uintptr_t)args->pPhysicalDevices[i];
      struct pv_render_object *obj = pv_render_object_get(ctx, id, VK_OBJECT_TYPE_PHYSICAL_DEVICE);
      if (obj && obj->handle == (uint64_t)(uintptr_t)host[i])
         continue;
      pv_render_bind(d, VK_OBJECT_TYPE_PHYSICAL_DEVICE, id, (uint64_t)(uintptr_t)host[i],
                     (uint64_t)(uintptr_t)args->instance, 0);
   }
   *args->pPhysicalDeviceCount = count;
   if (count < host_count)
      args->ret = VK_INCOMPLETE;
}

static void enumerate_physical_device_groups(struct pv_venus_dispatch *d,
                                             struct pv_cmd_vkEnumeratePhysicalDeviceGroups *args)
{
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   args->ret = ctx->vk->vkEnumeratePhysicalDeviceGroups(
         args->instance, args->pPhysicalDeviceGroupCount, args->pPhysicalDeviceGroupProperties);
   if (args->ret < 0 || !args->pPhysicalDeviceGroupProperties)
      return;
   /* The guest sent id-0 placeholders; it gets back the ids it bound the devices to. */
   for (uint32_t g = 0; g < *args->pPhysicalDeviceGroupCount; g++) {
      VkPhysicalDeviceGroupProperties *group = &args->pPhysicalDeviceGroupProperties[g];
      for (uint32_t i = 0; i < VK_MAX_DEVICE_GROUP_SIZE; i++) {
         uint64_t handle = (uint64_t)(uintptr_t)group->physicalDevices[i];
         uint64_t id = i < group->physicalDeviceCount && handle
                             ? pv_render_object_find_id(ctx, VK_OBJECT_TYPE_PHYSICAL_DEVICE, handle)
                             : 0;
         group->physicalDevices[i] = (VkPhysicalDevice)(uintptr_t)id;
      }
   }
}

static void cap_properties(VkPhysicalDeviceProperties *props)
{
   props->apiVersion = MIN(props->apiVersion, PV_VENUS_VK_XML_VERSION);
}

static void get_properties(struct pv_venus_dispatch *d,
                           struct pv_cmd_vkGetPhysicalDeviceProperties *args)
{
   pv_render_vk(d)->vkGetPhysicalDeviceProperties(args->physicalDevice, args->pProperties);
   cap_properties(args->pProperties);
}

static void get_properties2(struct pv_venus_dispatch *d,
                            struct pv_cmd_vkGetPhysicalDeviceProperties2 *args)
{
   pv_render_vk(d)->vkGetPhysicalDeviceProperties2(args->physicalDevice, args->pProperties);
   cap_properties(&args->pProperties->properties);
}

/* Host extensions the protocol carries and we offer, spec versions capped to what the
 * guest's encoder knows. Returns the count; fills out when not NULL. */
uint32_t pv_render_offered_extensions(struct pv_venus_dispatch *d, VkPhysicalDevice physical,
                                      VkExtensionProperties *out)
{
   const struct pv_vk_table *vk = pv_render_vk(d);
   uint32_t host_count = 0;
   if (vk->vkEnumerateDeviceExtensionProperties(physical, NULL, &host_count, NULL) != VK_SUCCESS)
      return 0;
   VkExtensionProperties *host = pv_cs_alloc_array(d->reader, host_count, sizeof(*host));
   if (!host || vk->vkEnumerateDeviceExtensionProperties(physical, NULL, &host_count, host) < 0)
      return 0;
   uint32_t count = 0;
   for (uint32_t i = 0; i < host_count; i++) {
      uint32_t cap = pv_render_extension_spec_cap(host[i].extensionName);
      if (!cap)
         continue;
      if (out) {
         out[count] = host[i];
         out[count].specVersion = MIN(host[i].specVersion, cap);
      }
      count++;
   }
   return count;
}

static void enumerate_device_extensions(struct pv_venus_dispatch *d,
                                        struct pv_cmd_vkEnumerateDeviceExtensionProperties *args)
{
   if (args->pLayerName) {
      args->ret = VK_ERROR_LAYER_NOT_PRESENT;
      return;
   }
   uint32_t count = pv_render_offered_extensions(d, args->physicalDevice, NULL);
   args->ret = VK_SUCCESS;
   if (!args->pPropertyCount)
      return;
   if (!args->pProperties) {
      *args->pPropertyCount = count;
      return;
   }
   VkExtensionProperties *all = pv_cs_alloc_array(d->reader, count, sizeof(*all));
   if (count && !all)
      return;
   pv_render_offered_extensions(d, args->physicalDevice, all);
   uint32_t written = MIN(*args->pPropertyCount, count);
   if (written)
      memcpy(args->pProperties, all, written * sizeof(*all));
   *args->pPropertyCount = written;
   if (written < count)
      args->ret = VK_INCOMPLETE;
}

void pv_render_instance_init_dispatch(struct pv_venus_handlers *h)
{
   h->vkEnumerateInstanceVersion = enumerate_instance_version;
   h->vkCreateInstance = create_instance;
   h->vkDestroyInstance = destroy_instance;
   h->vkEnumeratePhysicalDevices = enumerate_physical_devices;
   h->vkEnumeratePhysicalDeviceGroups = enumerate_physical_device_groups;
   h->vkGetPhysicalDeviceProperties = get_properties;
   h->vkGetPhysicalDeviceProperties2 = get_properties2;
   h->vkEnumerateDeviceExtensionProperties = enumerate_device_extensions;
}
