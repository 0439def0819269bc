/* The memory types the guest is shown, and those a buffer or image may use (pure functions). */
#include "render/pv_render_memtype.h"

#define MAPPABLE_COHERENT                                                                          \
   (VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)

static bool has_all(VkMemoryPropertyFlags flags, VkMemoryPropertyFlags wanted)
{
   return (flags & wanted) == wanted;
}

uint32_t pv_render_memtype_filter(const VkPhysicalDeviceMemoryProperties *host, uint32_t importable,
                                  VkPhysicalDeviceMemoryProperties *guest)
{
   *guest = *host;
   uint32_t backed = 0;
   bool coherent_left = false;
   for (uint32_t i = 0; i < host->memoryTypeCount && i < VK_MAX_MEMORY_TYPES; i++) {
      VkMemoryPropertyFlags *flags = &guest->memoryTypes[i].propertyFlags;
      if (!(*flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT))
         continue;
      if (importable & (1u << i))
         backed |= 1u << i;
      else
         *flags &= ~(VkMemoryPropertyFlags)PV_RENDER_MEMTYPE_HOST_FLAGS;
      coherent_left |= has_all(*flags, MAPPABLE_COHERENT);
   }
   if (!coherent_left)
      *guest = *host;
   return backed;
}

uint32_t pv_render_memtype_unbacked(const VkPhysicalDeviceMemoryProperties *props, uint32_t backed)
{
   uint32_t unbacked = 0;
   for (uint32_t i = 0; i < props->memoryTypeCount && i < VK_MAX_MEMORY_TYPES; i++) {
      if ((props->memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) &&
          !(backed & (1u << i)))
         unbacked |= 1u << i;
   }
   return unbacked;
}

static bool strict_subset(VkMemoryPropertyFlags a, VkMemoryPropertyFlags b)
{
   return a != b && (a & b) == a;
}

bool pv_render_memtype_order_valid(const VkPhysicalDeviceMemoryProperties *props)
{
   uint32_t count = props->memoryTypeCount < VK_MAX_MEMORY_TYPES ? props->memoryTypeCount
                                                                 : VK_MAX_MEMORY_TYPES;
   for (uint32_t x = 0; x < count; x++) {
      for (uint32_t y = x + 1; y < count; y++) {
         if (strict_subset(props->memoryTypes[y].propertyFlags,
                           props->memoryTypes[x].propertyFlags))
            return false;
      }
   }
   return true;
}

uint32_t pv_render_memtype_resource_bits(uint32_t bits, uint32_t backed, bool bindable,
                                         bool *conflict)
{
   if (bindable || !(bits & backed))
      return bits;
   if (!(bits & ~backed)) {
      *conflict = true;
      return bits;
   }
   return bits & ~backed;
}
