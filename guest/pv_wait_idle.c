/* The fast-wait layer's vkQueueWaitIdle and vkDeviceWaitIdle: a fence per queue, polled. */
#include "pv_wait.h"

/* The application's queues are recorded as it gets them: vkDeviceWaitIdle needs them all. */
static void record_queue(struct pv_layer_device *dev, VkQueue queue)
{
   if (dev->active && queue)
      pv_layer_map_queue(dev, queue); /* NULL: marks the list incomplete */
}

VKAPI_ATTR void VKAPI_CALL pv_wait_GetDeviceQueue(VkDevice device, uint32_t family, uint32_t index,
                                                  VkQueue *queue)
{
   struct pv_layer_device *dev = pv_layer_map_device(device);
   if (!dev)
      return;
   dev->next.get_device_queue(device, family, index, queue);
   record_queue(dev, *queue);
}

VKAPI_ATTR void VKAPI_CALL pv_wait_GetDeviceQueue2(VkDevice device, const VkDeviceQueueInfo2 *info,
                                                   VkQueue *queue)
{
   struct pv_layer_device *dev = pv_layer_map_device(device);
   if (!dev || !dev->next.get_device_queue2)
      return;
   dev->next.get_device_queue2(device, info, queue);
   record_queue(dev, *queue);
}

/*
 * Submits an empty batch signaling q's fence. The spec: a submission of no batches with a fence
 * signals it once all work submitted to the queue before has completed, which is exactly what
 * vkQueueWaitIdle waits for. The application synchronizes host access to the queue for the
 * wait, so the layer may submit on it.
 */
static VkResult mark(struct pv_layer_device *dev, struct pv_layer_queue *q)
{
   VkResult result;
   if (!q->fence) {
      const VkFenceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
      result = dev->next.create_fence(dev->device, &info, NULL, &q->fence);
      if (result != VK_SUCCESS) {
         q->fence = VK_NULL_HANDLE;
         return result;
      }
   }
   /* Still pending only after a wait that failed, the device lost: nothing to lose then. */
   if (q->fence_dirty) {
      result = dev->next.reset_fences(dev->device, 1, &q->fence);
      if (result != VK_SUCCESS)
         return result;
      q->fence_dirty = false;
   }
   result = dev->next.queue_submit(q->queue, 0, NULL, q->fence);
   if (result == VK_SUCCESS)
      q->fence_dirty = true; /* until reset after its wait */
   return result;
}

/* After a completed wait: unsignaled again for the next one (or reset before it, if this
 * fails). */
static void unmark(struct pv_layer_device *dev, struct pv_layer_queue *q)
{
   if (dev->next.reset_fences(dev->device, 1, &q->fence) == VK_SUCCESS)
      q->fence_dirty = false;
}

VKAPI_ATTR VkResult VKAPI_CALL pv_wait_QueueWaitIdle(VkQueue queue)
{
   struct pv_layer_device *dev = pv_layer_map_device(queue);
   if (!dev)
      return VK_ERROR_INITIALIZATION_FAILED;
   if (!dev->active)
      return dev->next.queue_wait_idle(queue);
   struct pv_layer_queue *q = pv_layer_map_queue(dev, queue);
   /* No node, no fence, or a failed submit (out of memory, device lost): the driver's wait
    * is still right, and reports the device's state itself. */
   if (!q || mark(dev, q) != VK_SUCCESS)
      return dev->next.queue_wait_idle(queue);
   struct pv_wait_policy w;
   pv_wait_policy_init(&w, UINT64_MAX);
   VkResult result = pv_wait_fence(dev, q->fence, &w);
   if (result == VK_SUCCESS)
      unmark(dev, q);
   return result;
}

/*
 * The spec makes vkDeviceWaitIdle vkQueueWaitIdle on every queue of the device, and has the
 * application synchronize host access to all of them for it: so the layer marks every queue
 * and waits for all the fences under one policy (one CPU budget). Queues the application never
 * got hold none of its work (submitting needs the handle, and what the driver does for the
 * application goes with the application's submissions).
 */
VKAPI_ATTR VkResult VKAPI_CALL pv_wait_DeviceWaitIdle(VkDevice device)
{
   struct pv_layer_device *dev = pv_layer_map_device(device);
   if (!dev)
      return VK_ERROR_INITIALIZATION_FAILED;
   if (!dev->active)
      return dev->next.device_wait_idle(device);
   bool complete;
   struct pv_layer_queue *head = pv_layer_map_queues(dev, &complete);
   struct pv_layer_queue *q = head;
   while (complete && q && mark(dev, q) == VK_SUCCESS)
      q = q->next;
   if (!complete || q) {
      /* A queue unknown or unmarked: the driver's wait, which also completes the marks. */
      VkResult result = dev->next.device_wait_idle(device);
      for (struct pv_layer_queue *m = head; complete && m != q && result == VK_SUCCESS; m = m->next)
         unmark(dev, m);
      return result;
   }
   struct pv_wait_policy w;
   pv_wait_policy_init(&w, UINT64_MAX);
   for (q = head; q; q = q->next) {
      VkResult result = pv_wait_fence(dev, q->fence, &w);
      if (result != VK_SUCCESS)
         return result;
   }
   for (q = head; q; q = q->next)
      unmark(dev, q);
   return VK_SUCCESS;
}
