/* The memory types the guest is shown, and those a buffer or image may use: pure functions of
 * the host's answers (no Vulkan calls), so that they are unit tested. */
#ifndef PV_RENDER_MEMTYPE_H
#define PV_RENDER_MEMTYPE_H

#include <stdbool.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

/* What a memory type we cannot back by a memfd loses: every way of reaching it from the CPU. */
#define PV_RENDER_MEMTYPE_HOST_FLAGS                                                               \
   (VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT |                   \
    VK_MEMORY_PROPERTY_HOST_CACHED_BIT)

/* The guest's view of the host's memory types, given importable (bit per type: a memfd mapping
 * of ours can be imported into it as a host pointer). Every host-visible type outside
 * importable loses PV_RENDER_MEMTYPE_HOST_FLAGS and stays usable as device memory. Should no
 * host-visible coherent type be left (the spec demands one), guest is the host's list
 * unchanged: the guest could then map none of them, which the caller reports. Returns the
 * types backed by a memfd import: host-visible and importable. */
uint32_t pv_render_memtype_filter(const VkPhysicalDeviceMemoryProperties *host, uint32_t importable,
                                  VkPhysicalDeviceMemoryProperties *guest);

/* Types host-visible in props outside backed: ones the guest would fail to map. */
uint32_t pv_render_memtype_unbacked(const VkPhysicalDeviceMemoryProperties *props, uint32_t backed);

/* Does props keep the spec's order: no type placed after one whose flags strictly contain its
 * flags? (The spec's other rules order equal flags by heap speed, which only the driver knows,
 * and types with AMD device-coherent flags last; the filter changes neither.) */
bool pv_render_memtype_order_valid(const VkPhysicalDeviceMemoryProperties *props);

/* memoryTypeBits as the guest gets them for a resource: without the types backed by import
 * unless the resource may be bound to imported memory. If that leaves nothing, the host's bits
 * stay (a resource no memory can take is worse than the bind the validation layer flags) and
 * *conflict is set. */
uint32_t pv_render_memtype_resource_bits(uint32_t bits, uint32_t backed, bool bindable,
                                         bool *conflict);

#endif
