/* `pearvisor info`: host devices and the memory path chosen for each; protocol coverage and
 * the protocol's extensions against a host device. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/pv_cli.h"
#include <pearvisor/pv_gpu.h>
#include <vulkan/vulkan.h>

static const char usage[] =
      "usage: pearvisor info [--icd HOST_ICD_JSON] [--protocol [--device N] [--verbose]]\n"
      "\n"
      "Without options: the host Vulkan devices a guest would see and, for each, how guest-\n"
      "mappable memory is provided.\n"
      "  --icd JSON   host Vulkan driver manifest (default: the loader's choice)\n"
      "  --protocol   the Venus protocol the guest speaks and what PearVisor makes of it:\n"
      "               commands in the id table, decodable, forwarded to the host as generated,\n"
      "               hand-written, not supported (with reasons); then each extension of the\n"
      "               guest's protocol, one per line, against the host device:\n"
      "                 offered      the guest is shown it (spec version: the lower of the\n"
      "                              host's and the protocol's)\n"
      "                 host lacks   the decoder carries it, the host does not have it\n"
      "                 not carried  the decoder cannot carry it, or PearVisor will not\n"
      "                              (the reason follows); never offered\n"
      "               Instance extensions are compared with the host instance's.\n"
      "  --device N   with --protocol, the host device to compare with, numbered as listed\n"
      "               without options (default 0)\n"
      "  --verbose    with --protocol, list every command\n";

static const char *const support_names[] = {
      [PV_GPU_COMMAND_UNSUPPORTED] = "not supported",
      [PV_GPU_COMMAND_FORWARDED] = "forwarded",
      [PV_GPU_COMMAND_HAND_WRITTEN] = "hand-written",
};

/* The host instance's extensions (physical = NULL) or a host device's; NULL when there are
 * none or memory runs out. */
static VkExtensionProperties *host_extensions(VkPhysicalDevice physical, uint32_t *count)
{
   *count = 0;
   VkResult result = physical ? vkEnumerateDeviceExtensionProperties(physical, NULL, count, NULL)
                              : vkEnumerateInstanceExtensionProperties(NULL, count, NULL);
   VkExtensionProperties *props =
         result == VK_SUCCESS && *count ? calloc(*count, sizeof(*props)) : NULL;
   if (props) {
      result = physical ? vkEnumerateDeviceExtensionProperties(physical, NULL, count, props)
                        : vkEnumerateInstanceExtensionProperties(NULL, count, props);
      if (result < 0) {
         free(props);
         props = NULL;
      }
   }
   if (!props)
      *count = 0;
   return props;
}

/* The host's spec version of an extension; 0 when the host does not have it. */
static uint32_t host_spec(const VkExtensionProperties *props, uint32_t count, const char *name)
{
   for (uint32_t i = 0; i < count; i++) {
      if (strcmp(props[i].extensionName, name) == 0)
         return props[i].specVersion;
   }
   return 0;
}

static VkInstance create_host_instance(void)
{
   VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                            .apiVersion = VK_API_VERSION_1_1};
   VkInstanceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                                .pApplicationInfo = &app};
   VkInstance instance = VK_NULL_HANDLE;
   VkResult result = vkCreateInstance(&info, NULL, &instance);
   if (result != VK_SUCCESS) {
      fprintf(stderr,
              "pearvisor info: the host has no usable Vulkan driver (vkCreateInstance "
              "returned %d)\n",
              result);
      return VK_NULL_HANDLE;
   }
   return instance;
}

enum ext_status { EXT_OFFERED, EXT_HOST_LACKS, EXT_NOT_CARRIED };

static const char *const ext_status_names[] = {
      [EXT_OFFERED] = "offered",
      [EXT_HOST_LACKS] = "host lacks",
      [EXT_NOT_CARRIED] = "not carried",
};

/* The protocol's extensions against host device `index`: the same rule the renderer applies
 * when the guest enumerates (carried and on the host), grouped by outcome. */
static int print_extensions(struct pv_gpu *gpu, const struct pv_gpu_protocol_info *info,
                            uint32_t index)
{
   int status = 1;
   VkExtensionProperties *instance_props = NULL, *device_props = NULL;
   VkPhysicalDevice *devices = NULL;
   struct pv_gpu_extension_info *exts = calloc(info->protocol_extension_count + 1, sizeof(*exts));
   VkInstance instance = exts ? create_host_instance() : VK_NULL_HANDLE;
   if (!instance)
      goto out;
   uint32_t count = 0;
   vkEnumeratePhysicalDevices(instance, &count, NULL);
   devices = calloc(count + 1, sizeof(*devices));
   if (!devices || vkEnumeratePhysicalDevices(instance, &count, devices) < 0)
      goto out_instance;
   if (index >= count) {
      fprintf(stderr, "pearvisor info: --device %u, but the host has %u device%s\n", index, count,
              count == 1 ? "" : "s");
      goto out_instance;
   }
   VkPhysicalDeviceProperties props;
   vkGetPhysicalDeviceProperties(devices[index], &props);
   uint32_t instance_count, device_count;
   instance_props = host_extensions(NULL, &instance_count);
   device_props = host_extensions(devices[index], &device_count);
   uint32_t n = pv_gpu_get_protocol_extensions(gpu, exts, info->protocol_extension_count);
   unsigned by_status[3] = {0};
   printf("Extensions of the guest's protocol against host device [%u] %s:\n", index,
          props.deviceName);
   for (int want = EXT_OFFERED; want <= EXT_NOT_CARRIED; want++) {
      for (uint32_t i = 0; i < n; i++) {
         const struct pv_gpu_extension_info *ext = &exts[i];
         uint32_t spec = ext->instance ? host_spec(instance_props, instance_count, ext->name)
                                       : host_spec(device_props, device_count, ext->name);
         enum ext_status got = ext->uncarried ? EXT_NOT_CARRIED
                               : spec         ? EXT_OFFERED
                                              : EXT_HOST_LACKS;
         if ((int)got != want)
            continue;
         by_status[got]++;
         const char *kind = ext->instance ? "instance" : "device";
         if (got == EXT_OFFERED)
            printf("  %-11s  %-8s  %-46s  spec %u\n", ext_status_names[got], kind, ext->name,
                   spec < ext->spec_version ? spec : ext->spec_version);
         else if (got == EXT_NOT_CARRIED)
            printf("  %-11s  %-8s  %-46s  %s\n", ext_status_names[got], kind, ext->name,
                   ext->uncarried);
         else
            printf("  %-11s  %-8s  %s\n", ext_status_names[got], kind, ext->name);
      }
   }
   printf("  %u extensions: %u offered, %u host lacks, %u not carried\n", n, by_status[EXT_OFFERED],
          by_status[EXT_HOST_LACKS], by_status[EXT_NOT_CARRIED]);
   status = 0;
out_instance:
   vkDestroyInstance(instance, NULL);
out:
   free(device_props);
   free(instance_props);
   free(devices);
   free(exts);
   return status;
}

static int print_protocol(bool verbose, uint32_t device)
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
   printf("Venus protocol coverage (wire format %u, guest told vk.xml %u.%u.%u, decoder "
          "generated from vk.xml %u.%u.%u):\n"
          "  commands in the id table  %u\n"
          "  decodable                 %u\n"
          "  forwarded (generated)     %u\n"
          "  hand-written              %u\n"
          "  not supported             %u\n"
          "  extensions carried        %u of %u\n",
          info.wire_format_version, VK_API_VERSION_MAJOR(info.vk_xml_version),
          VK_API_VERSION_MINOR(info.vk_xml_version), VK_API_VERSION_PATCH(info.vk_xml_version),
          VK_API_VERSION_MAJOR(info.registry_version), VK_API_VERSION_MINOR(info.registry_version),
          VK_API_VERSION_PATCH(info.registry_version), count,
          count - by_support[PV_GPU_COMMAND_UNSUPPORTED], by_support[PV_GPU_COMMAND_FORWARDED],
          by_support[PV_GPU_COMMAND_HAND_WRITTEN], by_support[PV_GPU_COMMAND_UNSUPPORTED],
          info.extension_count, info.protocol_extension_count);
   free(commands);
   int status = print_extensions(gpu, &info, device);
   pv_gpu_destroy(gpu);
   return status;
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
   VkInstance instance = create_host_instance();
   if (!instance)
      return 1;
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
         {"icd", required_argument, NULL, 'i'}, {"protocol", no_argument, NULL, 'p'},
         {"verbose", no_argument, NULL, 'v'},   {"device", required_argument, NULL, 'd'},
         {"help", no_argument, NULL, 'h'},      {0},
   };
   bool protocol = false, verbose = false, device_given = false;
   uint32_t device = 0;
   char *end;
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
      case 'd':
         errno = 0;
         unsigned long n = strtoul(optarg, &end, 10);
         if (errno || end == optarg || *end || n > UINT32_MAX) {
            fprintf(stderr, "pearvisor info: --device takes a device number, not '%s'\n", optarg);
            return pv_cli_usage(usage, false);
         }
         device = (uint32_t)n;
         device_given = true;
         break;
      case 'h':
         return pv_cli_usage(usage, true);
      default:
         return pv_cli_usage(usage, false);
      }
   }
   if (device_given && !protocol) {
      fprintf(stderr, "pearvisor info: --device goes with --protocol\n");
      return pv_cli_usage(usage, false);
   }
   return protocol ? print_protocol(verbose, device) : print_devices();
}
