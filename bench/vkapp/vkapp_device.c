/* Instance, physical device, device, queue and command pool set-up and teardown. */
#include <stdlib.h>
#include <string.h>

#include "pv_vkapp.h"

VkInstance pv_vkapp_create_instance(const char *name)
{
   /* 1.2 at most: the venus guest caps its device there. */
   const VkApplicationInfo app_info = {
         .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
         .pApplicationName = name ? name : "pearvisor",
         .pEngineName = "pv-vkapp",
         .apiVersion = VK_API_VERSION_1_2,
   };
   const VkInstanceCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
         .pApplicationInfo = &app_info,
   };
   VkInstance instance;
   PV_VK_CHECK(vkCreateInstance(&info, NULL, &instance));
   return instance;
}

static VkPhysicalDevice first_physical_device(VkInstance instance)
{
   /* Asking for one device is allowed: the call then returns VK_INCOMPLETE. */
   uint32_t count = 1;
   VkPhysicalDevice physical = VK_NULL_HANDLE;
   VkResult result = vkEnumeratePhysicalDevices(instance, &count, &physical);
   if (result != VK_SUCCESS && result != VK_INCOMPLETE)
      pv_vk_fail("vkEnumeratePhysicalDevices", result, __FILE__, __LINE__);
   if (count == 0)
      pv_fail("no Vulkan physical device");
   return physical;
}

/* Picks the graphics family (first with graphics and compute; the spec guarantees one on any
 * device with graphics) and the compute family (first compute-only one, else the same). */
static void pick_families(VkPhysicalDevice physical, struct pv_vkapp *app, bool distinct,
                          uint32_t *graphics_queue_count)
{
   uint32_t count = 0;
   vkGetPhysicalDeviceQueueFamilyProperties(physical, &count, NULL);
   VkQueueFamilyProperties *families = pv_alloc(count * sizeof(*families));
   vkGetPhysicalDeviceQueueFamilyProperties(physical, &count, families);

   const VkQueueFlags both = VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT;
   uint32_t graphics = UINT32_MAX, compute = UINT32_MAX;
   for (uint32_t i = 0; i < count; i++) {
      VkQueueFlags flags = families[i].queueFlags;
      if (graphics == UINT32_MAX && (flags & both) == both)
         graphics = i;
      if (compute == UINT32_MAX && (flags & both) == VK_QUEUE_COMPUTE_BIT)
         compute = i;
   }
   if (graphics == UINT32_MAX)
      pv_fail("no queue family with both graphics and compute");

   app->graphics.family = graphics;
   app->graphics.index = 0;
   app->compute.family = compute == UINT32_MAX ? graphics : compute;
   app->compute.index = 0;
   *graphics_queue_count = 1;
   if (compute == UINT32_MAX && distinct && families[graphics].queueCount >= 2) {
      app->compute.index = 1;
      *graphics_queue_count = 2;
   }
   free(families);
}

static void require_timeline_semaphore(VkPhysicalDevice physical,
                                       const VkPhysicalDeviceProperties *props)
{
   if (props->apiVersion < VK_API_VERSION_1_2)
      pv_fail("timeline semaphores need a Vulkan 1.2 device; this one is %u.%u",
              VK_API_VERSION_MAJOR(props->apiVersion), VK_API_VERSION_MINOR(props->apiVersion));
   VkPhysicalDeviceVulkan12Features features12 = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
   };
   VkPhysicalDeviceFeatures2 features = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
         .pNext = &features12,
   };
   vkGetPhysicalDeviceFeatures2(physical, &features);
   if (!features12.timelineSemaphore)
      pv_fail("the device has no timeline semaphores");
}

static void init_queue(struct pv_vkapp *app, struct pv_vkapp_queue *q)
{
   vkGetDeviceQueue(app->device, q->family, q->index, &q->queue);
   const VkCommandPoolCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
         .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
         .queueFamilyIndex = q->family,
   };
   PV_VK_CHECK(vkCreateCommandPool(app->device, &info, NULL, &q->pool));
}

void pv_vkapp_init(struct pv_vkapp *app, const struct pv_vkapp_config *config)
{
   const struct pv_vkapp_config defaults = {0};
   if (!config)
      config = &defaults;
   memset(app, 0, sizeof(*app));

   app->instance = pv_vkapp_create_instance(config->name);
   app->physical = first_physical_device(app->instance);
   vkGetPhysicalDeviceProperties(app->physical, &app->props);
   vkGetPhysicalDeviceMemoryProperties(app->physical, &app->memory);

   uint32_t graphics_queue_count;
   pick_families(app->physical, app, config->distinct_queues, &graphics_queue_count);

   const float priorities[2] = {1.0f, 1.0f};
   VkDeviceQueueCreateInfo queues[2] = {
         {
               .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
               .queueFamilyIndex = app->graphics.family,
               .queueCount = graphics_queue_count,
               .pQueuePriorities = priorities,
         },
         {
               .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
               .queueFamilyIndex = app->compute.family,
               .queueCount = 1,
               .pQueuePriorities = priorities,
         },
   };
   VkPhysicalDeviceVulkan12Features features12 = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
         .timelineSemaphore = VK_TRUE,
   };
   if (config->timeline_semaphore)
      require_timeline_semaphore(app->physical, &app->props);
   const VkDeviceCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
         /* Chained only when asked, so other programs send the plainest possible create info. */
         .pNext = config->timeline_semaphore ? &features12 : NULL,
         .queueCreateInfoCount = app->compute.family == app->graphics.family ? 1 : 2,
         .pQueueCreateInfos = queues,
   };
   PV_VK_CHECK(vkCreateDevice(app->physical, &info, NULL, &app->device));

   init_queue(app, &app->graphics);
   init_queue(app, &app->compute);
}

void pv_vkapp_finish(struct pv_vkapp *app)
{
   if (app->device) {
      vkDestroyCommandPool(app->device, app->compute.pool, NULL);
      vkDestroyCommandPool(app->device, app->graphics.pool, NULL);
      vkDestroyDevice(app->device, NULL);
   }
   if (app->instance)
      vkDestroyInstance(app->instance, NULL);
   memset(app, 0, sizeof(*app));
}
