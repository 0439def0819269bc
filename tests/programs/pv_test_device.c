/* A test device with the features and extensions a program enables, which pv_test_begin's lacks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_test.h"

void pv_test_begin_instance(struct pv_vkapp *app, const char *name)
{
   memset(app, 0, sizeof(*app));
   app->instance = pv_vkapp_create_instance(name);
   /* Asking for one device is allowed: the call then returns VK_INCOMPLETE. */
   uint32_t count = 1;
   VkResult result = vkEnumeratePhysicalDevices(app->instance, &count, &app->physical);
   if (result != VK_SUCCESS && result != VK_INCOMPLETE)
      pv_vk_fail("vkEnumeratePhysicalDevices", result, __FILE__, __LINE__);
   if (count == 0)
      pv_fail("no Vulkan physical device");
   vkGetPhysicalDeviceProperties(app->physical, &app->props);
   vkGetPhysicalDeviceMemoryProperties(app->physical, &app->memory);
}

bool pv_test_has_extension(const struct pv_vkapp *app, const char *extension)
{
   uint32_t count = 0;
   PV_VK_CHECK(vkEnumerateDeviceExtensionProperties(app->physical, NULL, &count, NULL));
   VkExtensionProperties *props = pv_alloc((count ? count : 1) * sizeof(*props));
   PV_VK_CHECK(vkEnumerateDeviceExtensionProperties(app->physical, NULL, &count, props));
   bool found = false;
   for (uint32_t i = 0; i < count && !found; i++)
      found = strcmp(props[i].extensionName, extension) == 0;
   free(props);
   return found;
}

static uint32_t graphics_family(VkPhysicalDevice physical)
{
   uint32_t count = 0;
   vkGetPhysicalDeviceQueueFamilyProperties(physical, &count, NULL);
   VkQueueFamilyProperties *families = pv_alloc((count ? count : 1) * sizeof(*families));
   vkGetPhysicalDeviceQueueFamilyProperties(physical, &count, families);
   const VkQueueFlags both = VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT;
   uint32_t family = UINT32_MAX;
   for (uint32_t i = 0; i < count && family == UINT32_MAX; i++) {
      if ((families[i].queueFlags & both) == both)
         family = i;
   }
   free(families);
   if (family == UINT32_MAX)
      pv_fail("no queue family with both graphics and compute");
   return family;
}

static void init_queue(struct pv_vkapp *app, struct pv_vkapp_queue *q, uint32_t family)
{
   q->family = family;
   q->index = 0;
   vkGetDeviceQueue(app->device, family, 0, &q->queue);
   const VkCommandPoolCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
         .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
         .queueFamilyIndex = family,
   };
   PV_VK_CHECK(vkCreateCommandPool(app->device, &info, NULL, &q->pool));
}

void pv_test_begin_device(struct pv_vkapp *app, const char *name,
                          const VkPhysicalDeviceFeatures2 *features, const char *const *extensions,
                          uint32_t extension_count)
{
   const uint32_t family = graphics_family(app->physical);
   const float priority = 1.0f;
   const VkDeviceQueueCreateInfo queue = {
         .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
         .queueFamilyIndex = family,
         .queueCount = 1,
         .pQueuePriorities = &priority,
   };
   const VkDeviceCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
         .pNext = features,
         .queueCreateInfoCount = 1,
         .pQueueCreateInfos = &queue,
         .enabledExtensionCount = extension_count,
         .ppEnabledExtensionNames = extensions,
   };
   PV_VK_CHECK(vkCreateDevice(app->physical, &info, NULL, &app->device));
   /* pv_vkapp_finish destroys both pools, so the shared queue still gets two. */
   init_queue(app, &app->graphics, family);
   init_queue(app, &app->compute, family);
   pv_test_banner(app, name);
}

uint32_t pv_test_timestamp_bits(const struct pv_vkapp *app)
{
   uint32_t count = 0;
   vkGetPhysicalDeviceQueueFamilyProperties(app->physical, &count, NULL);
   VkQueueFamilyProperties *families = pv_alloc((count ? count : 1) * sizeof(*families));
   vkGetPhysicalDeviceQueueFamilyProperties(app->physical, &count, families);
   const uint32_t bits = families[app->graphics.family].timestampValidBits;
   free(families);
   return bits;
}
