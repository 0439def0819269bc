/* A guest whose VkInstance names no application (argument "unnamed": no VkApplicationInfo,
 * which a ready worker's prepared host instance matches) or one ("named", which it does not),
 * for tests/e2e/ready_pool.py. It prints what the device reports (QUERIES: a digest of its
 * properties, features, memory, queues, extensions and format support) and the result of
 * GPU work checked here (CHECKSUM: buffer fills read back), so that both kinds of guest can be
 * compared with each other and with a native run. Exit status 0 valid, 1 wrong results, 2 a
 * Vulkan error. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vulkan/vulkan.h>

#define CHUNK  4096u
#define CHUNKS 256u

#define CHECK(call)                                                                                \
   do {                                                                                            \
      VkResult r_ = (call);                                                                        \
      if (r_ != VK_SUCCESS) {                                                                      \
         fprintf(stderr, "%s: %d\n", #call, r_);                                                   \
         exit(2);                                                                                  \
      }                                                                                            \
   } while (0)

static uint64_t fnv(uint64_t h, const void *data, size_t size)
{
   const uint8_t *p = data;
   for (size_t i = 0; i < size; i++)
      h = (h ^ p[i]) * 0x100000001b3ull;
   return h;
}

#define HASH(h, value) fnv((h), &(value), sizeof(value))

/* Field by field where structures have padding: drivers copy theirs in whole, padding and
 * all, and what is there differs from run to run. */
static uint64_t digest_queries(VkPhysicalDevice phys)
{
   uint64_t h = 0xcbf29ce484222325ull;
   VkPhysicalDeviceProperties props;
   vkGetPhysicalDeviceProperties(phys, &props);
   h = fnv(h, &props, offsetof(VkPhysicalDeviceProperties, pipelineCacheUUID) + VK_UUID_SIZE);
   const VkPhysicalDeviceLimits *l = &props.limits;
   h = HASH(h, l->maxImageDimension2D);
   h = HASH(h, l->maxUniformBufferRange);
   h = HASH(h, l->maxStorageBufferRange);
   h = HASH(h, l->maxMemoryAllocationCount);
   h = HASH(h, l->bufferImageGranularity);
   h = HASH(h, l->maxBoundDescriptorSets);
   h = HASH(h, l->maxComputeWorkGroupSize);
   h = HASH(h, l->maxComputeWorkGroupInvocations);
   h = HASH(h, l->minMemoryMapAlignment);
   h = HASH(h, l->minStorageBufferOffsetAlignment);
   h = HASH(h, l->timestampPeriod);
   h = HASH(h, l->nonCoherentAtomSize);
   h = HASH(h, props.sparseProperties);
   VkPhysicalDeviceFeatures features;
   vkGetPhysicalDeviceFeatures(phys, &features);
   h = HASH(h, features);
   VkPhysicalDeviceMemoryProperties memory;
   vkGetPhysicalDeviceMemoryProperties(phys, &memory);
   for (uint32_t i = 0; i < memory.memoryTypeCount; i++)
      h = HASH(h, memory.memoryTypes[i]);
   for (uint32_t i = 0; i < memory.memoryHeapCount; i++) {
      h = HASH(h, memory.memoryHeaps[i].size);
      h = HASH(h, memory.memoryHeaps[i].flags);
   }
   uint32_t n = 0;
   vkGetPhysicalDeviceQueueFamilyProperties(phys, &n, NULL);
   VkQueueFamilyProperties *queues = calloc(n, sizeof(*queues));
   vkGetPhysicalDeviceQueueFamilyProperties(phys, &n, queues);
   h = fnv(h, queues, n * sizeof(*queues));
   free(queues);
   CHECK(vkEnumerateDeviceExtensionProperties(phys, NULL, &n, NULL));
   VkExtensionProperties *exts = calloc(n, sizeof(*exts));
   CHECK(vkEnumerateDeviceExtensionProperties(phys, NULL, &n, exts));
   for (uint32_t i = 0; i < n; i++) {
      h = fnv(h, exts[i].extensionName, strlen(exts[i].extensionName));
      h = HASH(h, exts[i].specVersion);
   }
   free(exts);
   for (VkFormat f = VK_FORMAT_R4G4_UNORM_PACK8; f <= VK_FORMAT_ASTC_12x12_SRGB_BLOCK; f++) {
      VkFormatProperties fp;
      vkGetPhysicalDeviceFormatProperties(phys, f, &fp);
      h = HASH(h, fp);
   }
   return h;
}

static uint32_t chunk_value(uint32_t i)
{
   return (i * 0x01010101u) ^ 0xdeadbeefu;
}

/* Fills a host-visible buffer chunk by chunk on the GPU, reads it back, checks every word. */
static uint64_t fill_and_check(VkPhysicalDevice phys)
{
   float priority = 1;
   const VkDeviceQueueCreateInfo queue_info = {
         .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
         .queueCount = 1,
         .pQueuePriorities = &priority,
   };
   const VkDeviceCreateInfo device_info = {
         .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
         .queueCreateInfoCount = 1,
         .pQueueCreateInfos = &queue_info,
   };
   VkDevice dev;
   CHECK(vkCreateDevice(phys, &device_info, NULL, &dev));
   VkQueue queue;
   vkGetDeviceQueue(dev, 0, 0, &queue);
   const VkBufferCreateInfo buffer_info = {
         .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
         .size = CHUNK * CHUNKS,
         .usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT,
   };
   VkBuffer buffer;
   CHECK(vkCreateBuffer(dev, &buffer_info, NULL, &buffer));
   VkMemoryRequirements req;
   vkGetBufferMemoryRequirements(dev, buffer, &req);
   VkPhysicalDeviceMemoryProperties memory;
   vkGetPhysicalDeviceMemoryProperties(phys, &memory);
   const VkMemoryPropertyFlags want =
         VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
   uint32_t type = 0;
   while (type < memory.memoryTypeCount &&
          (!(req.memoryTypeBits & (1u << type)) ||
           (memory.memoryTypes[type].propertyFlags & want) != want))
      type++;
   if (type == memory.memoryTypeCount) {
      fprintf(stderr, "no host-visible coherent memory for the buffer\n");
      exit(2);
   }
   const VkMemoryAllocateInfo alloc_info = {
         .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
         .allocationSize = req.size,
         .memoryTypeIndex = type,
   };
   VkDeviceMemory mem;
   CHECK(vkAllocateMemory(dev, &alloc_info, NULL, &mem));
   CHECK(vkBindBufferMemory(dev, buffer, mem, 0));
   const VkCommandPoolCreateInfo pool_info = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
   VkCommandPool pool;
   CHECK(vkCreateCommandPool(dev, &pool_info, NULL, &pool));
   const VkCommandBufferAllocateInfo cmd_info = {
         .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
         .commandPool = pool,
         .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
         .commandBufferCount = 1,
   };
   VkCommandBuffer cmd;
   CHECK(vkAllocateCommandBuffers(dev, &cmd_info, &cmd));
   const VkCommandBufferBeginInfo begin = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
   CHECK(vkBeginCommandBuffer(cmd, &begin));
   for (uint32_t i = 0; i < CHUNKS; i++)
      vkCmdFillBuffer(cmd, buffer, (VkDeviceSize)i * CHUNK, CHUNK, chunk_value(i));
   const VkMemoryBarrier to_host = {
         .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
         .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
         .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
   };
   vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                        &to_host, 0, NULL, 0, NULL);
   CHECK(vkEndCommandBuffer(cmd));
   const VkFenceCreateInfo fence_info = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
   VkFence fence;
   CHECK(vkCreateFence(dev, &fence_info, NULL, &fence));
   const VkSubmitInfo submit = {
         .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
         .commandBufferCount = 1,
         .pCommandBuffers = &cmd,
   };
   CHECK(vkQueueSubmit(queue, 1, &submit, fence));
   CHECK(vkWaitForFences(dev, 1, &fence, VK_TRUE, 10ull * 1000000000ull));
   uint32_t *words;
   CHECK(vkMapMemory(dev, mem, 0, CHUNK * CHUNKS, 0, (void **)&words));
   for (uint32_t i = 0; i < CHUNK * CHUNKS / 4; i++) {
      if (words[i] != chunk_value(i / (CHUNK / 4))) {
         fprintf(stderr, "word %u is %08x, not %08x\n", i, words[i], chunk_value(i / (CHUNK / 4)));
         exit(1);
      }
   }
   uint64_t sum = fnv(0xcbf29ce484222325ull, words, CHUNK * CHUNKS);
   vkUnmapMemory(dev, mem);
   vkDestroyFence(dev, fence, NULL);
   vkDestroyCommandPool(dev, pool, NULL);
   vkDestroyBuffer(dev, buffer, NULL);
   vkFreeMemory(dev, mem, NULL);
   vkDestroyDevice(dev, NULL);
   return sum;
}

int main(int argc, char **argv)
{
   if (argc != 2 || (strcmp(argv[1], "named") && strcmp(argv[1], "unnamed"))) {
      fprintf(stderr, "usage: %s named|unnamed\n", argv[0]);
      return 2;
   }
   const VkApplicationInfo app = {
         .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
         .pApplicationName = "pv-instance-guest",
         .apiVersion = VK_API_VERSION_1_0,
   };
   const VkInstanceCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
         .pApplicationInfo = strcmp(argv[1], "named") == 0 ? &app : NULL,
   };
   VkInstance instance;
   CHECK(vkCreateInstance(&info, NULL, &instance));
   uint32_t count = 1;
   VkPhysicalDevice phys;
   VkResult r = vkEnumeratePhysicalDevices(instance, &count, &phys);
   if ((r != VK_SUCCESS && r != VK_INCOMPLETE) || count == 0) {
      fprintf(stderr, "no physical device: %d\n", r);
      return 2;
   }
   printf("QUERIES %016llx\n", (unsigned long long)digest_queries(phys));
   printf("CHECKSUM %016llx\n", (unsigned long long)fill_and_check(phys));
   vkDestroyInstance(instance, NULL);
   return 0;
}
