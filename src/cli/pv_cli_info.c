/* `pearvisor info`: host devices and the memory path chosen for each; protocol coverage. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/pv_cli.h"
#include <pearvisor/pv_gpu.h>
#include <vulkan/vulkan.h>

static const char usage[] =
      "usage: pearvisor info [--icd HOST_ICD_JSON] [--protocol [--verbose]]\n"
      "\n"
      "Without options: the host Vulkan devices a guest would see and, for each, how guest-\n"
      "mappable memory is provided.\n"
      "  --icd JSON   host Vulkan driver manifest (default: the loader's choice)\n"
      "  --protocol   Venus protocol coverage: commands in the id table, decodable, forwarded\n"
      "               to the host as generated, hand-written, not supported (with reasons)\n"
      "  --verbose    with --protocol, list every command\n";

static const char *const support_names[] = {
      [PV_GPU_COMMAND_UNSUPPORTED] = "not supported",
      [PV_GPU_COMMAND_FORWARDED] = "forwarded",
      [PV_GPU_COMMAND_HAND_WRITTEN] = "hand-written",
};

static int print_protocol(bool verbose)
{
   const struct pv_gpu_options options = {.version = PV_GPU_OPTIONS_VERSION};
   struct pv_gpu *gpu = pv_gpu_create(&options);
   struct pv_gpu_protocol_info info;
   if (!gpu)
      return 1;
   pv_gpu_get_protocol_info(gpu, &info);
   struct pv_gpu_command_info *commands = calloc(info.command_count, sizeof(*commands));
   if (!commands) {
      pv_gpu_destroy(gpu);
      return 1;
   }
   uint32_t count = pv_gpu_get_protocol_commands(gpu, commands, info.command_count);
   unsigned by_support[3] = {0};
   for (uint32_t i = 0; i < count; i++) {
      const struct pv_gpu_command_info *cmd = &commands[i];
      by_support[cmd->support]++;
      if (verbose || cmd->support == PV_GPU_COMMAND_UNSUPPORTED)
         printf("  %3u %-48s %s%s%s\n", cmd->id, cmd->name, support_names[cmd->support],
                cmd->reason ? ": " : "", cmd->reason ? cmd->reason : "");
   }
   printf("Venus protocol coverage (wire format %u, vk.xml %u.%u.%u):\n"
          "  commands in the id table  %u\n"
          "  decodable                 %u\n"
          "  forwarded (generated)     %u\n"
          "  hand-written              %u\n"
          "  not supported             %u\n"
          "  extensions offered        %u\n",
          info.wire_format_version, VK_API_VERSION_MAJOR(info.vk_xml_version),
          VK_API_VERSION_MINOR(info.vk_xml_version), VK_API_VERSION_PATCH(info.vk_xml_version),
          count, count - by_support[PV_GPU_COMMAND_UNSUPPORTED],
          by_support[PV_GPU_COMMAND_FORWARDED], by_support[PV_GPU_COMMAND_HAND_WRITTEN],
          by_support[PV_GPU_COMMAND_UNSUPPORTED], info.extension_count);
   free(commands);
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
         pv_cli_use_host_icd(optarg);
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
