/* What the generated forwarding handlers (pv_render_forward_gen.c) need from the renderer. */
#ifndef PV_RENDER_FORWARD_H
#define PV_RENDER_FORWARD_H

#include "render/pv_render.h"

/* The host entry points of the stream's context. */
static inline const struct pv_vk_table *pv_render_vk(struct pv_venus_dispatch *d)
{
   return pv_render_ctx(d)->vk;
}

/* Binds a guest id to a newly created host object; fails the stream when the id is 0 or
 * already in use (docs/protocol/venus.md §5). */
void pv_render_bind(struct pv_venus_dispatch *d, VkObjectType type, uint64_t id, uint64_t handle,
                    uint64_t parent, uint64_t pool);
void pv_render_unbind(struct pv_venus_dispatch *d, uint64_t id);

#endif
