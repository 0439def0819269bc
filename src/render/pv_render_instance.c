/* Instance and physical-device handlers: the host instance behind the guest's (with the
 * validation layer under PV_DEBUG=validate), device enumeration bound to guest ids, and what
 * the guest is shown (version, extensions). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "render/pv_render_forward.h"
#include "util/pv_log.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* The newest API the host loader offers, capped by the guest protocol's registry: a newer
 * registry's later core versions are nothing the guest can send. */
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

/* Per host instance: what must be destroyed before it. */
struct pv_render_instance {
   VkDebugUtilsMessengerEXT messenger; /* PV_DEBUG=validate */
};

static const char validation_layer[] = "VK_LAYER_KHRONOS_validation";

static bool validation_layer_present(void)
{
   uint32_t count = 0;
   if (vkEnumerateInstanceLayerProperties(&count, NULL) != VK_SUCCESS || count == 0)
      return false;
   VkLayerProperties *layers = calloc(count, sizeof(*layers));
   bool found = false;
   if (layers && vkEnumerateInstanceLayerProperties(&count, layers) >= 0) {
      for (uint32_t i = 0; i < count && !found; i++)
         found = strcmp(layers[i].layerName, validation_layer) == 0;
   }
   free(layers);
   return found;
}

static bool want_validation(void)
{
   static atomic_flag warned = ATOMIC_FLAG_INIT;
   if (!pv_debug(PV_DEBUG_VALIDATE))
      return false;
   if (validation_layer_present())
      return true;
   if (!atomic_flag_test_and_set(&warned))
      pv_warn("PV_DEBUG=validate: %s is not installed (Debian: vulkan-validationlayers); host "
              "instances run without it",
              validation_layer);
   return false;
}

/* Any thread of the driver or the layer may call this; pv_log writes each line at once. */
static VKAPI_ATTR VkBool32 VKAPI_CALL log_validation(
      VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT types,
      const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
   const struct pv_gpu_context *ctx = user;
   pv_log(severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? PV_LOG_ERROR : PV_LOG_WARN,
          "validation: %s: %s", ctx->name, data && data->pMessage ? data->pMessage : "?");
   return VK_FALSE; /* the call goes on, as it would without the layer */
}

static VkDebugUtilsMessengerCreateInfoEXT messenger_info(struct pv_gpu_context *ctx)
{
   return (VkDebugUtilsMessengerCreateInfoEXT){
         .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
         .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                            VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
         .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                        VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                        VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
         .pfnUserCallback = log_validation,
         .pUserData = ctx,
   };
}

/* The layer and its messenger extension on; the chained messenger info catches what
 * vkCreateInstance and vkDestroyInstance themselves report. */
static void enable_validation(VkInstanceCreateInfo *info,
                              VkDebugUtilsMessengerCreateInfoEXT *chained)
{
   static const char *const layers[] = {validation_layer};
   static const char *const extensions[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME};
   info->enabledLayerCount = 1;
   info->ppEnabledLayerNames = layers;
   info->enabledExtensionCount = 1;
   info->ppEnabledExtensionNames = extensions;
   chained->pNext = info->pNext;
   info->pNext = chained;
}

static VkDebugUtilsMessengerEXT create_messenger(struct pv_gpu_context *ctx, VkInstance instance)
{
   PFN_vkCreateDebugUtilsMessengerEXT create =
         (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
               instance, "vkCreateDebugUtilsMessengerEXT");
   VkDebugUtilsMessengerCreateInfoEXT info = messenger_info(ctx);
   VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
   if (!create || create(instance, &info, NULL, &messenger) != VK_SUCCESS)
      pv_warn("%s: PV_DEBUG=validate: no debug messenger; validation messages go to the "
              "layer's own output",
              ctx->name);
   return messenger;
}

static void destroy_messenger(VkInstance instance, VkDebugUtilsMessengerEXT messenger)
{
   PFN_vkDestroyDebugUtilsMessengerEXT destroy =
         (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
               instance, "vkDestroyDebugUtilsMessengerEXT");
   if (messenger && destroy)
      destroy(instance, messenger, NULL);
}

void pv_render_instance_host_info(const VkApplicationInfo *guest, VkApplicationInfo *app,
                                  VkInstanceCreateInfo *info)
{
   /* The guest enables no layers or extensions here (docs/protocol/venus.md §5); the host
    * instance is ours to shape: the newest version the protocol knows, so every core entry
    * point the guest can call loads. */
   *app = (VkApplicationInfo){.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO};
   if (guest)
      *app = *guest;
   app->pNext = NULL;
   app->apiVersion = offered_api_version();
   *info = (VkInstanceCreateInfo){
         .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
         .pApplicationInfo = app,
   };
}

static void create_instance(struct pv_venus_dispatch *d, struct pv_cmd_vkCreateInstance *args)
{
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   if (!args->pInstance) {
      pv_cs_fail(d->reader, "vkCreateInstance without an id");
      return;
   }
   VkApplicationInfo app;
   VkInstanceCreateInfo info;
   pv_render_instance_host_info(args->pCreateInfo->pApplicationInfo, &app, &info);
   VkDebugUtilsMessengerCreateInfoEXT chained = messenger_info(ctx);
   bool validate = want_validation();
   if (validate)
      enable_validation(&info, &chained);
   VkInstance instance = VK_NULL_HANDLE;
   struct pv_render_prepared *prepared = pv_render_prepared_take(ctx->gpu);
   if (pv_render_prepared_matches(prepared, &info)) {
      instance = pv_render_prepared_adopt(prepared, ctx);
      args->ret = VK_SUCCESS;
      pv_info("%s: host instance: the prepared one", ctx->name);
   } else {
      args->ret = vkCreateInstance(&info, NULL, &instance);
      if (prepared)
         pv_info("%s: host instance: a new one (the prepared one has another application info, "
                 "layers or extensions)",
                 ctx->name);
      /* Only now: while it lived, the driver stayed loaded for this instance. */
      pv_render_prepared_destroy(prepared);
   }
   if (args->ret != VK_SUCCESS) {
      pv_warn("%s: host vkCreateInstance failed: %d", ctx->name, args->ret);
      return;
   }
   if (!ctx->vk) {
      pv_vk_table_load(&ctx->vk_storage, vkGetInstanceProcAddr, instance);
      ctx->vk = &ctx->vk_storage;
   }
   struct pv_render_instance *state = calloc(1, sizeof(*state));
   if (state && validate) {
      state->messenger = create_messenger(ctx, instance);
      pv_info("%s: PV_DEBUG=validate: host instance under %s", ctx->name, validation_layer);
   }
   if (!state ||
       !pv_render_object_bind(ctx, VK_OBJECT_TYPE_INSTANCE, (uint64_t)(uintptr_t)*args->pInstance,
                              (uint64_t)(uintptr_t)instance, 0, 0, state)) {
      if (state)
         destroy_messenger(instance, state->messenger);
      free(state);
      vkDestroyInstance(instance, NULL);
      pv_cs_fail(d->reader, "instance id is 0 or already in use, or out of memory");
   }
}

void pv_render_instance_destroy(struct pv_gpu_context *ctx, uint64_t id)
{
   struct pv_render_object *obj = pv_render_object_get(ctx, id, VK_OBJECT_TYPE_INSTANCE);
   if (!obj)
      return;
   VkInstance instance = (VkInstance)(uintptr_t)obj->handle;
   pv_render_objects_destroy_children(ctx, obj->handle);
   struct pv_render_instance *state = obj->data;
   if (state)
      destroy_messenger(instance, state->messenger);
   ctx->vk->vkDestroyInstance(instance, NULL);
   pv_render_object_unbind(ctx, id);
   pv_render_object_put(ctx, obj);
}

static void destroy_instance(struct pv_venus_dispatch *d, struct pv_cmd_vkDestroyInstance *args)
{
   if (args->instance)
      pv_render_instance_destroy(pv_render_ctx(d), args->instance_id);
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
      const bool same = obj && obj->handle == (uint64_t)(uintptr_t)host[i];
      pv_render_object_put(ctx, obj);
      if (same)
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
