/* The format-independent valid usage of VkImageCreateInfo (the VUIDs named below, Vulkan 1.4). */
#include "render/pv_render_image_shape.h"

/* floor(log2(n)) + 1 for n >= 1: how many levels a chain halving from n down to 1 has. */
static uint32_t full_chain_levels(uint32_t n)
{
   uint32_t levels = 0;
   for (; n; n >>= 1)
      levels++;
   return levels;
}

static uint32_t max3(uint32_t a, uint32_t b, uint32_t c)
{
   uint32_t ab = a > b ? a : b;
   return ab > c ? ab : c;
}

const char *pv_render_image_shape_fault(const VkImageCreateInfo *info)
{
   const VkExtent3D *e = &info->extent;
   /* VUID-VkImageCreateInfo-extent-00944/00945/00946, -mipLevels-00947, -arrayLayers-00948 */
   if (!e->width || !e->height || !e->depth || !info->mipLevels || !info->arrayLayers)
      return "extent, mipLevels and arrayLayers must not be 0";
   /* VUID-VkImageCreateInfo-imageType-00956/00957/00961 */
   if (info->imageType == VK_IMAGE_TYPE_1D && (e->height != 1 || e->depth != 1))
      return "a 1D image must be 1 texel high and deep";
   if (info->imageType == VK_IMAGE_TYPE_2D && e->depth != 1)
      return "a 2D image must be 1 texel deep";
   if (info->imageType == VK_IMAGE_TYPE_3D && info->arrayLayers != 1)
      return "a 3D image must have 1 array layer";
   /* VUID-VkImageCreateInfo-flags-00949, -imageType-00954 */
   if ((info->flags & VK_IMAGE_CREATE_CUBE_COMPATIBLE_BIT) &&
       (info->imageType != VK_IMAGE_TYPE_2D || e->width != e->height || info->arrayLayers < 6))
      return "a cube-compatible image must be 2D and square with at least 6 layers";
   /* VUID-VkImageCreateInfo-mipLevels-00958 */
   if (info->mipLevels > full_chain_levels(max3(e->width, e->height, e->depth)))
      return "more mip levels than the extent halves into";
   return NULL;
}
