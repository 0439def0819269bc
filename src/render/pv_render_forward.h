/* What the generated forwarding handlers (pv_render_forward_gen.c) need from the renderer. */
#ifndef PV_RENDER_FORWARD_H
#define PV_RENDER_FORWARD_H

#include "render/pv_render.h"

/* The host entry points of the stream's context. */
static inline const struct pv_vk_table *pv_render_vk(struct pv_venus_dispatch *d)
{
   return pv_render_ctx(d)->vk;
}

/* Takes the guest ids of the objects a create is about to make, before the host makes them:
 * false, with the stream failed, when an id is 0, already in use or named twice
 * (docs/protocol/venus.md §5). false too at the objects limit (logged once): the create
 * answers VK_ERROR_OUT_OF_HOST_MEMORY in *ret, or, for a command without a result (ret
 * NULL), the stream fails. Every reserved id must then be committed. */
bool pv_render_reserve(struct pv_venus_dispatch *d, const uint64_t *ids, uint64_t count,
                       VkResult *ret);
/* Binds a reserved id to the host object made for it; handle 0 (none made) gives the id back.
 * pool: host handle of the pool it came from (command buffers, descriptor sets), else 0. */
void pv_render_commit(struct pv_venus_dispatch *d, VkObjectType type, uint64_t id, uint64_t handle,
                      uint64_t parent, uint64_t pool);
/* Binds a guest id to a host object that already exists; fails the stream when the id is 0
 * or already in use. */
void pv_render_bind(struct pv_venus_dispatch *d, VkObjectType type, uint64_t id, uint64_t handle,
                    uint64_t parent, uint64_t pool);
void pv_render_unbind(struct pv_venus_dispatch *d, uint64_t id);
/* After the host reset a pool: the table forgets what that frees. */
void pv_render_reset(struct pv_venus_dispatch *d, uint64_t id);

#endif
