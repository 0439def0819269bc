/* A stand-in host Vulkan driver for renderer tests: hands out handles for the objects the
 * object table's tests make and counts the live ones, so a test sees what the host holds. */
#include "fake_vk.h"

#include <stdlib.h>

struct fake_vk_state fake_vk;

/* A handle is the address of one of these. */
struct fake_object {
   VkObjectType type;
   struct fake_object *pool; /* what it was allocated from, NULL if nothing */
};

/* Every live object, to find a pool's children and to tell a live handle from a dead one.
 * A test keeps at most a few thousand alive, so linear scans are cheap enough. */
static struct {
   struct fake_object **objects;
   size_t count, capacity;
} alive;

static struct fake_object *make(VkObjectType type, struct fake_object *pool)
{
   if (alive.count == alive.capacity) {
      alive.capacity = alive.capacity ? alive.capacity * 2 : 256;
      alive.objects = realloc(alive.objects, alive.capacity * sizeof(*alive.objects));
      if (!alive.objects)
         abort();
   }
   struct fake_object *obj = calloc(1, sizeof(*obj));
   if (!obj)
      abort();
   *obj = (struct fake_object){type, pool};
   alive.objects[alive.count++] = obj;
   fake_vk.live[type]++;
   return obj;
}

static size_t find(const void *handle, VkObjectType type)
{
   for (size_t i = 0; i < alive.count; i++) {
      if (alive.objects[i] == handle && alive.objects[i]->type == type)
         return i;
   }
   return alive.count;
}

static void drop_at(size_t i)
{
   fake_vk.live[alive.objects[i]->type]--;
   free(alive.objects[i]);
   alive.objects[i] = alive.objects[--alive.count];
}

/* Handles may be VK_NULL_HANDLE where the API allows it (destroys, frees). */
static void drop(const void *handle, VkObjectType type, const void *pool)
{
   if (!handle)
      return;
   size_t i = find(handle, type);
   if (i == alive.count || alive.objects[i]->pool != pool)
      fake_vk.misuse++;
   else
      drop_at(i);
}

/* Backwards, so that what drop_at moves into place was already looked at. */
static void drop_children(const void *pool)
{
   for (size_t i = alive.count; i-- > 0;) {
      if (alive.objects[i]->pool == pool)
         drop_at(i);
   }
}

void fake_vk_reset(void)
{
   for (size_t i = 0; i < alive.count; i++)
      free(alive.objects[i]);
   free(alive.objects);
   alive.objects = NULL;
   alive.count = alive.capacity = 0;
   fake_vk = (struct fake_vk_state){0};
}

int fake_vk_live_total(void)
{
   return (int)alive.count;
}

VkDevice fake_vk_create_device(void)
{
   return (VkDevice)make(VK_OBJECT_TYPE_DEVICE, NULL);
}

static VKAPI_ATTR VkResult VKAPI_CALL device_wait_idle(VkDevice device)
{
   return VK_SUCCESS;
}

static VKAPI_ATTR void VKAPI_CALL destroy_device(VkDevice device, const VkAllocationCallbacks *a)
{
   drop(device, VK_OBJECT_TYPE_DEVICE, NULL);
}

static VKAPI_ATTR VkResult VKAPI_CALL create_fence(VkDevice device, const VkFenceCreateInfo *info,
                                                   const VkAllocationCallbacks *a, VkFence *fence)
{
   *fence = (VkFence)make(VK_OBJECT_TYPE_FENCE, NULL);
   return VK_SUCCESS;
}

static VKAPI_ATTR void VKAPI_CALL destroy_fence(VkDevice device, VkFence fence,
                                                const VkAllocationCallbacks *a)
{
   drop(fence, VK_OBJECT_TYPE_FENCE, NULL);
}

static VKAPI_ATTR VkResult VKAPI_CALL create_set_layout(VkDevice device,
                                                        const VkDescriptorSetLayoutCreateInfo *info,
                                                        const VkAllocationCallbacks *a,
                                                        VkDescriptorSetLayout *layout)
{
   *layout = (VkDescriptorSetLayout)make(VK_OBJECT_TYPE_DESCRIPTOR_SET_LAYOUT, NULL);
   return VK_SUCCESS;
}

static VKAPI_ATTR void VKAPI_CALL destroy_set_layout(VkDevice device, VkDescriptorSetLayout layout,
                                                     const VkAllocationCallbacks *a)
{
   drop(layout, VK_OBJECT_TYPE_DESCRIPTOR_SET_LAYOUT, NULL);
}

static VKAPI_ATTR VkResult VKAPI_CALL create_descriptor_pool(VkDevice device,
                                                             const VkDescriptorPoolCreateInfo *info,
                                                             const VkAllocationCallbacks *a,
                                                             VkDescriptorPool *pool)
{
   *pool = (VkDescriptorPool)make(VK_OBJECT_TYPE_DESCRIPTOR_POOL, NULL);
   return VK_SUCCESS;
}

static VKAPI_ATTR void VKAPI_CALL destroy_descriptor_pool(VkDevice device, VkDescriptorPool pool,
                                                          const VkAllocationCallbacks *a)
{
   if (pool)
      drop_children(pool);
   drop(pool, VK_OBJECT_TYPE_DESCRIPTOR_POOL, NULL);
}

static VKAPI_ATTR VkResult VKAPI_CALL reset_descriptor_pool(VkDevice device, VkDescriptorPool pool,
                                                            VkDescriptorPoolResetFlags flags)
{
   drop_children(pool);
   return VK_SUCCESS;
}

static VKAPI_ATTR VkResult VKAPI_CALL create_pipeline_layout(VkDevice device,
                                                             const VkPipelineLayoutCreateInfo *info,
                                                             const VkAllocationCallbacks *a,
                                                             VkPipelineLayout *layout)
{
   *layout = (VkPipelineLayout)make(VK_OBJECT_TYPE_PIPELINE_LAYOUT, NULL);
   return VK_SUCCESS;
}

static VKAPI_ATTR void VKAPI_CALL destroy_pipeline_layout(VkDevice device, VkPipelineLayout layout,
                                                          const VkAllocationCallbacks *a)
{
   drop(layout, VK_OBJECT_TYPE_PIPELINE_LAYOUT, NULL);
}

static VKAPI_ATTR void VKAPI_CALL push_descriptor_set(VkCommandBuffer command_buffer,
                                                      VkPipelineBindPoint bind_point,
                                                      VkPipelineLayout layout, uint32_t set,
                                                      uint32_t write_count,
                                                      const VkWriteDescriptorSet *writes)
{
   fake_vk.descriptor_updates++;
}

static VKAPI_ATTR void VKAPI_CALL update_descriptor_sets(VkDevice device, uint32_t write_count,
                                                         const VkWriteDescriptorSet *writes,
                                                         uint32_t copy_count,
                                                         const VkCopyDescriptorSet *copies)
{
   fake_vk.descriptor_updates++;
}

static VKAPI_ATTR VkResult VKAPI_CALL allocate_descriptor_sets(
      VkDevice device, const VkDescriptorSetAllocateInfo *info, VkDescriptorSet *sets)
{
   for (uint32_t i = 0; i < info->descriptorSetCount; i++) {
      sets[i] = fake_vk.fail_allocations
                      ? VK_NULL_HANDLE
                      : (VkDescriptorSet)make(VK_OBJECT_TYPE_DESCRIPTOR_SET,
                                              (struct fake_object *)info->descriptorPool);
   }
   return fake_vk.fail_allocations ? VK_ERROR_OUT_OF_POOL_MEMORY : VK_SUCCESS;
}

static VKAPI_ATTR VkResult VKAPI_CALL free_descriptor_sets(VkDevice device, VkDescriptorPool pool,
                                                           uint32_t count,
                                                           const VkDescriptorSet *sets)
{
   for (uint32_t i = 0; i < count; i++)
      drop(sets[i], VK_OBJECT_TYPE_DESCRIPTOR_SET, pool);
   return VK_SUCCESS;
}

static VKAPI_ATTR VkResult VKAPI_CALL create_command_pool(VkDevice device,
                                                          const VkCommandPoolCreateInfo *info,
                                                          const VkAllocationCallbacks *a,
                                                          VkCommandPool *pool)
{
   *pool = (VkCommandPool)make(VK_OBJECT_TYPE_COMMAND_POOL, NULL);
   return VK_SUCCESS;
}

static VKAPI_ATTR void VKAPI_CALL destroy_command_pool(VkDevice device, VkCommandPool pool,
                                                       const VkAllocationCallbacks *a)
{
   if (pool)
      drop_children(pool);
   drop(pool, VK_OBJECT_TYPE_COMMAND_POOL, NULL);
}

/* Resetting a command pool keeps its command buffers. */
static VKAPI_ATTR VkResult VKAPI_CALL reset_command_pool(VkDevice device, VkCommandPool pool,
                                                         VkCommandPoolResetFlags flags)
{
   if (find(pool, VK_OBJECT_TYPE_COMMAND_POOL) == alive.count)
      fake_vk.misuse++;
   return VK_SUCCESS;
}

static VKAPI_ATTR VkResult VKAPI_CALL allocate_command_buffers(
      VkDevice device, const VkCommandBufferAllocateInfo *info, VkCommandBuffer *buffers)
{
   for (uint32_t i = 0; i < info->commandBufferCount; i++) {
      buffers[i] = fake_vk.fail_allocations
                         ? VK_NULL_HANDLE
                         : (VkCommandBuffer)make(VK_OBJECT_TYPE_COMMAND_BUFFER,
                                                 (struct fake_object *)info->commandPool);
   }
   return fake_vk.fail_allocations ? VK_ERROR_OUT_OF_POOL_MEMORY : VK_SUCCESS;
}

static VKAPI_ATTR void VKAPI_CALL free_command_buffers(VkDevice device, VkCommandPool pool,
                                                       uint32_t count,
                                                       const VkCommandBuffer *buffers)
{
   for (uint32_t i = 0; i < count; i++)
      drop(buffers[i], VK_OBJECT_TYPE_COMMAND_BUFFER, pool);
}

static VKAPI_ATTR VkResult VKAPI_CALL create_query_pool(VkDevice device,
                                                        const VkQueryPoolCreateInfo *info,
                                                        const VkAllocationCallbacks *allocator,
                                                        VkQueryPool *pool)
{
   *pool = (VkQueryPool)make(VK_OBJECT_TYPE_QUERY_POOL, NULL);
   return VK_SUCCESS;
}

static VKAPI_ATTR void VKAPI_CALL destroy_query_pool(VkDevice device, VkQueryPool pool,
                                                     const VkAllocationCallbacks *allocator)
{
   drop(pool, VK_OBJECT_TYPE_QUERY_POOL, NULL);
}

static VKAPI_ATTR VkResult VKAPI_CALL get_query_pool_results(VkDevice device, VkQueryPool pool,
                                                             uint32_t first, uint32_t count,
                                                             size_t size, void *data,
                                                             VkDeviceSize stride,
                                                             VkQueryResultFlags flags)
{
   if (find(pool, VK_OBJECT_TYPE_QUERY_POOL) == alive.count)
      fake_vk.misuse++;
   __atomic_add_fetch(&fake_vk.query_result_calls, 1, __ATOMIC_RELAXED);
   if (flags & VK_QUERY_RESULT_WAIT_BIT)
      fake_vk.query_wait_seen = true;
   if (__atomic_load_n(&fake_vk.queries_not_ready, __ATOMIC_RELAXED) > 0) {
      __atomic_sub_fetch(&fake_vk.queries_not_ready, 1, __ATOMIC_RELAXED);
      return VK_NOT_READY;
   }
   return VK_SUCCESS;
}

static VKAPI_ATTR VkResult VKAPI_CALL allocate_memory(VkDevice device,
                                                      const VkMemoryAllocateInfo *info,
                                                      const VkAllocationCallbacks *allocator,
                                                      VkDeviceMemory *memory)
{
   fake_vk.memory_allocations++;
   *memory = (VkDeviceMemory)make(VK_OBJECT_TYPE_DEVICE_MEMORY, NULL);
   return VK_SUCCESS;
}

static VKAPI_ATTR void VKAPI_CALL free_memory(VkDevice device, VkDeviceMemory memory,
                                              const VkAllocationCallbacks *allocator)
{
   drop(memory, VK_OBJECT_TYPE_DEVICE_MEMORY, NULL);
}

void fake_vk_table(struct pv_vk_table *t)
{
   *t = (struct pv_vk_table){
         .vkDeviceWaitIdle = device_wait_idle,
         .vkDestroyDevice = destroy_device,
         .vkCreateFence = create_fence,
         .vkDestroyFence = destroy_fence,
         .vkCreateDescriptorSetLayout = create_set_layout,
         .vkDestroyDescriptorSetLayout = destroy_set_layout,
         .vkCreateDescriptorPool = create_descriptor_pool,
         .vkDestroyDescriptorPool = destroy_descriptor_pool,
         .vkResetDescriptorPool = reset_descriptor_pool,
         .vkAllocateDescriptorSets = allocate_descriptor_sets,
         .vkFreeDescriptorSets = free_descriptor_sets,
         .vkUpdateDescriptorSets = update_descriptor_sets,
         .vkCreatePipelineLayout = create_pipeline_layout,
         .vkDestroyPipelineLayout = destroy_pipeline_layout,
         .vkCmdPushDescriptorSet = push_descriptor_set,
         .vkCreateCommandPool = create_command_pool,
         .vkDestroyCommandPool = destroy_command_pool,
         .vkResetCommandPool = reset_command_pool,
         .vkAllocateCommandBuffers = allocate_command_buffers,
         .vkFreeCommandBuffers = free_command_buffers,
         .vkCreateQueryPool = create_query_pool,
         .vkDestroyQueryPool = destroy_query_pool,
         .vkGetQueryPoolResults = get_query_pool_results,
         .vkAllocateMemory = allocate_memory,
         .vkFreeMemory = free_memory,
   };
}
