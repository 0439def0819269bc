/* Reading what a SPIR-V module's entry point uses, for the shader interface check
 * (pv_render_shader.c). Pure functions on validated SPIR-V. */
#ifndef PV_RENDER_SPIRV_H
#define PV_RENDER_SPIRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A descriptor's place: set << 32 | binding. */
static inline uint64_t pv_spirv_descriptor_key(uint32_t set, uint32_t binding)
{
   return (uint64_t)set << 32 | binding;
}

/* The descriptors (variables decorated with both DescriptorSet and Binding) that the entry
 * points named `entry` may use statically: referenced in a function reachable from one of
 * them through calls, and, from SPIR-V 1.4 on, listed in its interface. A word of a function
 * body that equals a variable's id counts as a use: that may count more than the spec's
 * static use, never less. *keys (malloc'd, the caller frees; NULL when *count is 0) receives
 * them. false when the module cannot be read or has no such entry point, or memory runs out. */
bool pv_spirv_used_descriptors(const uint32_t *code, size_t words, const char *entry,
                               uint64_t **keys, size_t *count);

#endif
