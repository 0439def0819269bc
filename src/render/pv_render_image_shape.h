/* The shape rules every VkImageCreateInfo must keep whatever the format and the device: a pure
 * function, so that it is unit tested. */
#ifndef PV_RENDER_IMAGE_SHAPE_H
#define PV_RENDER_IMAGE_SHAPE_H

#include <vulkan/vulkan.h>

/* NULL if info's extent, mip levels and array layers fit its type and flags as the spec's
 * valid usage of VkImageCreateInfo demands, else the rule broken. Drivers size an image's
 * levels from these numbers unchecked: lavapipe crashed destroying an image of 8x8 texels
 * and 2^32-1 mip levels. Limits that depend on the format or the device (maximum extent,
 * layers, sample counts) are the driver's to check. */
const char *pv_render_image_shape_fault(const VkImageCreateInfo *info);

#endif
