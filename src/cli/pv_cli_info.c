/* `pearvisor info`: host devices and the memory path chosen for each; protocol coverage. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/pv_cli.h"
#include "render/pv_render.h"

static const char usage[] =
      "usage: pearvisor info [--icd HOST_ICD_JSON] [--protocol [--verbose]]\n"
      "\n"
      "Without options: the host Vulkan devices a guest would see and, for each, how guest-\n"
      "mappable memory is provided.\n"
      "  --icd JSON   host Vulkan driver manifest (default: the loader's choice)\n"
      "  --protocol   Venus protocol coverage: commands in the id table, decodable, forwarded\n"
      "               to the host as generated, hand-written, not supported (with reasons)\n"
      "  --verbose    with --protocol, list every command\n";

typedef void (*pv_slot_fn)(void);

static pv_slot_fn slot(const struct pv_venus_handlers *h, size_t slot_plus_one)
{
   pv_slot_fn fn;
   memcpy(&fn, (const char *)h + slot_plus_one - 1, sizeof(fn));
   return fn;
}

static int print_protocol(bool verbose)
{
   struct pv_gpu *gpu = pv_gpu_create(NULL);
   struct pv_venus_handlers *generated = calloc(1, sizeof(*generated));
   if (!gpu || !generated)
      return 1;
   pv_render_forward_init(generated);
   unsigned in_table = 0, decodable = 0, forwarded = 0, handwritten = 0, unsupported = 0;
   for (int id = 0; id < PV_VENUS_COMMAND_LIMIT; id++) {
      const struct pv_venus_command_info *info = &pv_venus_commands[id];
      if (!info->name)
         continue;
      in_table++;
      const char *how;
      if (!pv_venus_exec_table[id]) {
         unsupported++;
         how = "not supported";
      } else {
         decodable++;
         size_t offset = pv_venus_handler_slots[id];
         bool same = slot(&gpu->handlers, offset) == slot(generated, offset);
         if (same && slot(generated, offset)) {
            forwarded++;
            how = "forwarded";
         } else {
            handwritten++;
            how = "hand-written";
         }
      }
      if (verbose || !pv_venus_exec_table[id])
         printf("  %3d %-48s %s%s%s\n", id, info->name, how, info->unsupported ? ": " : "",
                info->unsupported ? info->unsupported : "");
   }
   printf("Venus protocol coverage (wire format 1, vk.xml %u.%u.%u):\n"
          "  commands in the id table  %u\n"
          "  decodable                 %u\n"
          "  forwarded (generated)     %u\n"
          "  hand-written              %u\n"
          "  not supported             %u\n"
          "  extensions offered        %zu\n",
          VK_API_VERSION_MAJOR(PV_VENUS_VK_XML_VERSION),
          VK_API_VERSION_MINOR(PV_VENUS_VK_XML_VERSION),
          VK_API_VERSION_PATCH(PV_VENUS_VK_XML_VERSION), in_table, decodable, forwarded,
          handwritten, unsupported, pv_venus_extension_count);
   free(generated);
   pv_gpu_destroy(gpu);
   return 0;
}

static bool has_extension(VkPhysicalDevice physical, const char *name)
{
   uint32_t count = 0;
   vkEnumerateDeviceExtensionProperties(physical, NULL, &count, NULL);
   VkExtensionProperties *props = calloc(count ? count : 1, sizeof(*props));
   bool found = false;
   if (props && vkEnumerateDeviceExtensionProperties(physical, NULL, &count, props) >= 0) {
      for (uint32_t i = 0; i < count && !found; i++)
         found = strcmp(props[i].extensionName, name) == 0;
   }
   free(props);
   return found;
}

static int print_devices(void)
{
   VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                            .apiVersion = VK_API_VERSION_1_1};
   VkInstanceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                                .pApplicationInfo = &app};
   VkInstance instance;
   VkResult result = vkCreateInstance(&info, NULL, &instance);
   if (result != VK_SUCCESS) {
      fprintf(stderr,
              "pearvisor info: the host has no usable Vulkan driver (vkCreateInstance "
              "returned %d)\n",
              result);
      return 1;
   }
   uint32_t count = 0;
   vkEnumeratePhysicalDevices(instance, &count, NULL);
   VkPhysicalDevice *devices = calloc(count ? count : 1, sizeof(*devices));
   vkEnumeratePhysicalDevices(instance, &count, devices);
   printf("Host Vulkan devices offered to guests: %u\n", count);
   for (uint32_t i = 0; i < count; i++) {
      VkPhysicalDeviceExternalMemoryHostPropertiesEXT host = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT};
      VkPhysicalDeviceProperties2 props = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
      bool host_pointer = has_extension(devices[i], VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME);
      if (host_pointer)
         props.pNext = &host;
      vkGetPhysicalDeviceProperties2(devices[i], &props);
      const VkPhysicalDeviceProperties *p = &props.properties;
      printf("  [%u] %s (Vulkan %u.%u.%u, driver 0x%x)\n", i, p->deviceName,
             VK_API_VERSION_MAJOR(p->apiVersion), VK_API_VERSION_MINOR(p->apiVersion),
             VK_API_VERSION_PATCH(p->apiVersion), p->driverVersion);
      if (host_pointer)
         printf("      guest-mapped memory: memfd imported with VK_EXT_external_memory_host "
                "(alignment %llu)\n",
                (unsigned long long)host.minImportedHostPointerAlignment);
      else
         printf("      guest-mapped memory: none (no VK_EXT_external_memory_host; the guest "
                "cannot map host-visible memory on this device)\n");
   }
   free(devices);
   vkDestroyInstance(instance, NULL);
   return 0;
}

int pv_cli_info(int argc, char **argv)
{
   static const struct option options[] = {
         {"icd", required_argument, NULL, 'i'},
         {"protocol", no_argument, NULL, 'p'},
         {"verbose", no_argument, NULL, 'v'},
         {"help", no_argument, NULL, 'h'},
         {0},
   };
   bool protocol = false, verbose = false;
   int c;
   while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
      switch (c) {
      case 'i':
         setenv("VK_DRIVER_FILES", optarg, 1);
         setenv("VK_ICD_FILENAMES", optarg, 1);
         break;
      case 'p':
         protocol = true;
         break;
      case 'v':
         verbose = true;
         break;
      case 'h':
         return pv_cli_usage(usage, true);
      default:
         return pv_cli_usage(usage, false);
      }
   }
   return protocol ? print_protocol(verbose) : print_devices();
}
