/* The fast-wait layer's replacements for the waits of a venus device. */
#ifndef PV_WAIT_H
#define PV_WAIT_H

#include "pv_layer.h"
#include "pv_wait_policy.h"

/* The layer's function for a device entry point name, or NULL where it has none. Each finds
 * its device by handle and calls straight down when the device is not active (they are also
 * reached through vkGetInstanceProcAddr, which cannot tell devices apart). */
PFN_vkVoidFunction pv_wait_hook(const char *name);

/* Polls fence under w until it is signaled (VK_SUCCESS), w's deadline passes (VK_TIMEOUT), or
 * vkGetFenceStatus fails (its error, VK_ERROR_DEVICE_LOST among them). */
VkResult pv_wait_fence(struct pv_layer_device *dev, VkFence fence, struct pv_wait_policy *w);

/* --- pv_wait_idle.c --- */
VKAPI_ATTR void VKAPI_CALL pv_wait_GetDeviceQueue(VkDevice device, uint32_t family, uint32_t index,
                                                  VkQueue *queue);
VKAPI_ATTR void VKAPI_CALL pv_wait_GetDeviceQueue2(VkDevice device, const VkDeviceQueueInfo2 *info,
                                                   VkQueue *queue);
VKAPI_ATTR VkResult VKAPI_CALL pv_wait_QueueWaitIdle(VkQueue queue);
VKAPI_ATTR VkResult VKAPI_CALL pv_wait_DeviceWaitIdle(VkDevice device);

#endif
