/* A stand-in host Vulkan driver for renderer tests: hands out handles for the objects the
 * object table's tests make and counts the live ones, so a test sees what the host holds. */
#ifndef FAKE_VK_H
#define FAKE_VK_H

#include <stdbool.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

#include "venus/pv_vk_table.h"

/* Enough for every object type the fake makes (VkObjectType values). */
#define FAKE_VK_TYPES 32

struct fake_vk_state {
   int live[FAKE_VK_TYPES]; /* host objects alive, by type */
   int misuse; /* calls naming a handle that is not alive, or a pool that does not own it */
   bool fail_allocations; /* vkAllocate* fail with VK_ERROR_OUT_OF_POOL_MEMORY */
   int queries_not_ready; /* vkGetQueryPoolResults answers VK_NOT_READY this many more times */
   int query_result_calls;
   bool query_wait_seen;   /* a call asked the driver to block (VK_QUERY_RESULT_WAIT_BIT) */
   int memory_allocations; /* vkAllocateMemory calls that reached the driver */
   int descriptor_updates; /* vkUpdateDescriptorSets and vkCmdPushDescriptorSet calls that
                            * reached the driver */
};

extern struct fake_vk_state fake_vk;

/* Frees whatever is still alive and forgets every count and switch. */
void fake_vk_reset(void);
/* Fills the entry points the fake has; the rest stay NULL. */
void fake_vk_table(struct pv_vk_table *t);
/* A host device, as vkCreateDevice would have made it. */
VkDevice fake_vk_create_device(void);
/* Host objects alive, all types together. */
int fake_vk_live_total(void);

#endif
