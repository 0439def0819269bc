/* VK_LAYER_PEARVISOR_fast_wait: the state its plumbing keeps per instance and device. */
#ifndef PV_LAYER_H
#define PV_LAYER_H

#include <stdbool.h>
#include <vulkan/vulkan.h>

/* What the layer keeps of an instance: the next entry points it calls itself, and what decides
 * which of them it may call (an instance of API 1.0 has no vkGetPhysicalDeviceProperties2
 * unless the application enabled VK_KHR_get_physical_device_properties2). */
struct pv_layer_instance {
   void *key; /* the loader's dispatch pointer: *(void **) of the instance or its devices */
   VkInstance instance;
   PFN_vkGetInstanceProcAddr next_gipa;
   PFN_vkDestroyInstance destroy_instance;
   PFN_vkGetPhysicalDeviceProperties get_properties;
   PFN_vkGetPhysicalDeviceProperties2 get_properties2; /* core or KHR; NULL where not allowed */
   PFN_vkEnumerateDeviceExtensionProperties enumerate_device_extensions;
};

/* A queue the application got from a venus device, and the fence the layer submits on it for
 * vkQueueWaitIdle and vkDeviceWaitIdle. Only the thread holding the queue (the application
 * synchronizes host access to it) touches fence and fence_dirty. */
struct pv_layer_queue {
   struct pv_layer_queue *next; /* set before the node is published, never changed after */
   VkQueue queue;
   VkFence fence;    /* VK_NULL_HANDLE until the first wait needs it */
   bool fence_dirty; /* submitted since its last reset: reset before the next submit */
};

/* The next layer's device entry points: the waits call these, and a device that is not venus
 * gets them straight from vkGetDeviceProcAddr. Entry points the device lacks are NULL. */
struct pv_layer_device_next {
   PFN_vkGetDeviceProcAddr get_device_proc_addr;
   PFN_vkDestroyDevice destroy_device;
   PFN_vkGetDeviceQueue get_device_queue;
   PFN_vkGetDeviceQueue2 get_device_queue2;
   PFN_vkWaitForFences wait_for_fences;
   PFN_vkGetFenceStatus get_fence_status;
   PFN_vkWaitSemaphores wait_semaphores;
   PFN_vkWaitSemaphores wait_semaphores_khr;
   PFN_vkGetSemaphoreCounterValue get_semaphore_counter_value;
   PFN_vkGetSemaphoreCounterValue get_semaphore_counter_value_khr;
   PFN_vkQueueWaitIdle queue_wait_idle;
   PFN_vkDeviceWaitIdle device_wait_idle;
   PFN_vkGetQueryPoolResults get_query_pool_results;
   PFN_vkQueueSubmit queue_submit;
   PFN_vkCreateFence create_fence;
   PFN_vkDestroyFence destroy_fence;
   PFN_vkResetFences reset_fences;
};

struct pv_layer_device {
   void *key; /* *(void **) of the device, and of each of its queues */
   VkDevice device;
   bool active; /* a Mesa venus device: the waits are the layer's; else all goes down */
   struct pv_layer_device_next next;
   struct pv_layer_queue *queues; /* newest first; read and extended under the map's mutex */
   bool queue_missing; /* a queue could not be recorded (out of memory): not all are known */
};

/* The loader's key of a dispatchable handle: the loader writes its dispatch table pointer at
 * the start of every dispatchable object, the same for a device and its queues. */
static inline void *pv_layer_key(const void *handle)
{
   return *(void *const *)handle;
}

/* --- the mutex-protected maps of instances and devices (pv_layer_map.c) --- */

/* Adds an entry, replacing (and freeing) an older one under the same key: the key is the
 * loader's memory, reused after a destroy the layer did not see. False when out of memory. */
bool pv_layer_map_add_instance(struct pv_layer_instance *inst);
bool pv_layer_map_add_device(struct pv_layer_device *dev);
/* By any dispatchable handle of the object (an instance or one of its physical devices; a
 * device or one of its queues); NULL when unknown. The entry lives until removed. */
struct pv_layer_instance *pv_layer_map_instance(const void *handle);
struct pv_layer_device *pv_layer_map_device(const void *handle);
/* Takes the entry out of the map; the caller frees it (devices: pv_layer_device_free). */
struct pv_layer_instance *pv_layer_map_take_instance(const void *handle);
struct pv_layer_device *pv_layer_map_take_device(const void *handle);
/* The node of queue on dev, added if new; NULL when out of memory. */
struct pv_layer_queue *pv_layer_map_queue(struct pv_layer_device *dev, VkQueue queue);
/* The newest queue node of dev; its next pointers can be followed without the mutex. False
 * in *complete when some queue of dev is not in the list. */
struct pv_layer_queue *pv_layer_map_queues(struct pv_layer_device *dev, bool *complete);
/* Destroys the layer's fences (through dev->next) and frees dev and its queue nodes. */
void pv_layer_device_free(struct pv_layer_device *dev);

#endif
