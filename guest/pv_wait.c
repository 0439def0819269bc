/* The fast-wait layer's fence, semaphore and query waits: polling the cheap status queries. */
#include "pv_wait.h"

#include <string.h>

/* Reached for a handle whose device the layer never saw: no next entry point to call. */
#define PV_WAIT_UNKNOWN_DEVICE VK_ERROR_INITIALIZATION_FAILED

VkResult pv_wait_fence(struct pv_layer_device *dev, VkFence fence, struct pv_wait_policy *w)
{
   for (;;) {
      VkResult result = dev->next.get_fence_status(dev->device, fence);
      if (result != VK_NOT_READY)
         return result;
      if (!pv_wait_policy_relax(w))
         return VK_TIMEOUT;
   }
}

static VKAPI_ATTR VkResult VKAPI_CALL wait_for_fences(VkDevice device, uint32_t count,
                                                      const VkFence *fences, VkBool32 wait_all,
                                                      uint64_t timeout)
{
   struct pv_layer_device *dev = pv_layer_map_device(device);
   if (!dev)
      return PV_WAIT_UNKNOWN_DEVICE;
   if (!dev->active || count == 0)
      return dev->next.wait_for_fences(device, count, fences, wait_all, timeout);
   struct pv_wait_policy w;
   pv_wait_policy_init(&w, timeout);
   if (wait_all) {
      /* All at once is the same as one after another under one deadline: a signaled fence
       * stays signaled (resetting a fence that is being waited for is the application's
       * race), so each is polled only until it is seen signaled. */
      for (uint32_t i = 0; i < count; i++) {
         VkResult result = pv_wait_fence(dev, fences[i], &w);
         if (result != VK_SUCCESS)
            return result;
      }
      return VK_SUCCESS;
   }
   for (;;) {
      for (uint32_t i = 0; i < count; i++) {
         VkResult result = dev->next.get_fence_status(device, fences[i]);
         if (result != VK_NOT_READY)
            return result; /* VK_SUCCESS: this one is signaled; else its error */
      }
      if (!pv_wait_policy_relax(&w))
         return VK_TIMEOUT;
   }
}

/* One semaphore's condition: VK_SUCCESS when reached, VK_NOT_READY when not, else the error
 * of vkGetSemaphoreCounterValue. */
static VkResult semaphore_reached(PFN_vkGetSemaphoreCounterValue counter_value, VkDevice device,
                                  VkSemaphore semaphore, uint64_t value)
{
   uint64_t now = 0;
   VkResult result = counter_value(device, semaphore, &now);
   if (result != VK_SUCCESS)
      return result;
   return now >= value ? VK_SUCCESS : VK_NOT_READY;
}

/* counter_value is the variant (core or KHR) of the wait the application called, so the layer
 * calls only what the application enabled. */
static VkResult wait_semaphores(VkDevice device, const VkSemaphoreWaitInfo *info, uint64_t timeout,
                                bool khr)
{
   struct pv_layer_device *dev = pv_layer_map_device(device);
   if (!dev)
      return PV_WAIT_UNKNOWN_DEVICE;
   PFN_vkWaitSemaphores down = khr ? dev->next.wait_semaphores_khr : dev->next.wait_semaphores;
   PFN_vkGetSemaphoreCounterValue counter_value =
         khr ? dev->next.get_semaphore_counter_value_khr : dev->next.get_semaphore_counter_value;
   if (!down)
      return PV_WAIT_UNKNOWN_DEVICE;
   /* A structure or flag this layer does not know (a later extension) may change what the
    * wait means: the driver's wait is right by definition. */
   if (!dev->active || !counter_value || info->pNext || info->semaphoreCount == 0 ||
       (info->flags & ~VK_SEMAPHORE_WAIT_ANY_BIT))
      return down(device, info, timeout);
   bool any = info->flags & VK_SEMAPHORE_WAIT_ANY_BIT;
   struct pv_wait_policy w;
   pv_wait_policy_init(&w, timeout);
   /* Wait-all: semaphores below done have reached their values (a timeline only grows). */
   uint32_t done = 0;
   for (;;) {
      for (uint32_t i = done; i < info->semaphoreCount; i++) {
         VkResult result =
               semaphore_reached(counter_value, device, info->pSemaphores[i], info->pValues[i]);
         if (result == VK_SUCCESS) {
            if (any)
               return VK_SUCCESS;
            done++; /* i == done: wait-all stops at the first one not reached */
         } else if (result != VK_NOT_READY) {
            return result;
         } else if (!any) {
            break; /* no use looking past the first one not reached yet */
         }
      }
      if (!any && done == info->semaphoreCount)
         return VK_SUCCESS;
      if (!pv_wait_policy_relax(&w))
         return VK_TIMEOUT;
   }
}

static VKAPI_ATTR VkResult VKAPI_CALL wait_semaphores_core(VkDevice device,
                                                           const VkSemaphoreWaitInfo *info,
                                                           uint64_t timeout)
{
   return wait_semaphores(device, info, timeout, false);
}

static VKAPI_ATTR VkResult VKAPI_CALL wait_semaphores_khr(VkDevice device,
                                                          const VkSemaphoreWaitInfo *info,
                                                          uint64_t timeout)
{
   return wait_semaphores(device, info, timeout, true);
}

static VKAPI_ATTR VkResult VKAPI_CALL get_query_pool_results(VkDevice device, VkQueryPool pool,
                                                             uint32_t first, uint32_t count,
                                                             size_t size, void *data,
                                                             VkDeviceSize stride,
                                                             VkQueryResultFlags flags)
{
   struct pv_layer_device *dev = pv_layer_map_device(device);
   if (!dev)
      return PV_WAIT_UNKNOWN_DEVICE;
   PFN_vkGetQueryPoolResults down = dev->next.get_query_pool_results;
   if (!dev->active || !(flags & VK_QUERY_RESULT_WAIT_BIT))
      return down(device, pool, first, count, size, data, stride, flags);
   /* Without WAIT the call returns VK_NOT_READY until every query is available, and
    * VK_SUCCESS with every result written once they are: those are final, so it is not called
    * again. PARTIAL means nothing next to WAIT, and would make the polls write partial values
    * the application never asked for. WAIT has no timeout; neither does this. */
   flags &= ~(VkQueryResultFlags)(VK_QUERY_RESULT_WAIT_BIT | VK_QUERY_RESULT_PARTIAL_BIT);
   struct pv_wait_policy w;
   pv_wait_policy_init(&w, UINT64_MAX);
   for (;;) {
      VkResult result = down(device, pool, first, count, size, data, stride, flags);
      if (result != VK_NOT_READY)
         return result;
      (void)pv_wait_policy_relax(&w); /* no deadline: always true */
   }
}

PFN_vkVoidFunction pv_wait_hook(const char *name)
{
   static const struct {
      const char *name;
      PFN_vkVoidFunction function;
   } hooks[] = {
         {"vkWaitForFences", (PFN_vkVoidFunction)wait_for_fences},
         {"vkWaitSemaphores", (PFN_vkVoidFunction)wait_semaphores_core},
         {"vkWaitSemaphoresKHR", (PFN_vkVoidFunction)wait_semaphores_khr},
         {"vkGetQueryPoolResults", (PFN_vkVoidFunction)get_query_pool_results},
         {"vkGetDeviceQueue", (PFN_vkVoidFunction)pv_wait_GetDeviceQueue},
         {"vkGetDeviceQueue2", (PFN_vkVoidFunction)pv_wait_GetDeviceQueue2},
         {"vkQueueWaitIdle", (PFN_vkVoidFunction)pv_wait_QueueWaitIdle},
         {"vkDeviceWaitIdle", (PFN_vkVoidFunction)pv_wait_DeviceWaitIdle},
   };
   for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
      if (strcmp(name, hooks[i].name) == 0)
         return hooks[i].function;
   }
   return NULL;
}
