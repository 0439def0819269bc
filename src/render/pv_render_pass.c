/* Render areas are checked before the host driver records them: drivers clear and resolve the
 * render area without clipping it (its fit is the application's duty), and fuzz_exec made
 * lavapipe write far outside an image with a render area at x = -67174400. So a render pass
 * begun on a framebuffer must keep its area (and each device-group area) inside the
 * framebuffer (VUID-VkRenderPassBeginInfo-pNext-02850..02853, -renderArea-02846..02849, the
 * framebuffer's size kept from its create), and dynamic rendering's area must not start
 * before the origin (VUID-VkRenderingInfo-pNext-06077/06078). One that does not fails the
 * stream: the commands have no result to answer with. Not checked yet: dynamic rendering's
 * area against its attachments' sizes (which needs each view's extent). */
#include "render/pv_render.h"

static void (*create_framebuffer_next)(struct pv_venus_dispatch *d,
                                       struct pv_cmd_vkCreateFramebuffer *args);
static void (*begin_render_pass_next)(struct pv_venus_dispatch *d,
                                      struct pv_cmd_vkCmdBeginRenderPass *args);
static void (*begin_render_pass2_next)(struct pv_venus_dispatch *d,
                                       struct pv_cmd_vkCmdBeginRenderPass2 *args);
static void (*begin_rendering_next)(struct pv_venus_dispatch *d,
                                    struct pv_cmd_vkCmdBeginRendering *args);

static void create_framebuffer(struct pv_venus_dispatch *d, struct pv_cmd_vkCreateFramebuffer *args)
{
   uint64_t id = args->pFramebuffer ? (uint64_t)(uintptr_t)*args->pFramebuffer : 0;
   create_framebuffer_next(d, args);
   const VkFramebufferCreateInfo *info = args->pCreateInfo;
   const VkExtent2D size = info ? (VkExtent2D){info->width, info->height} : (VkExtent2D){0};
   if (args->ret == VK_SUCCESS && info &&
       !pv_render_object_set_flat(pv_render_ctx(d), id, VK_OBJECT_TYPE_FRAMEBUFFER, &size,
                                  sizeof(size)))
      pv_cs_fail(d->reader, "out of memory");
}

static bool area_inside(const VkRect2D *area, VkExtent2D size)
{
   return area->offset.x >= 0 && area->offset.y >= 0 &&
          (uint64_t)area->offset.x + area->extent.width <= size.width &&
          (uint64_t)area->offset.y + area->extent.height <= size.height;
}

/* The area a render pass renders to (a device group's areas replace it) inside its
 * framebuffer. */
static bool pass_area_fits(struct pv_venus_dispatch *d, const VkRenderPassBeginInfo *begin)
{
   if (!begin)
      return pv_cs_fail(d->reader, "no begin info");
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   struct pv_render_object *fb = pv_render_object_get_by_handle(ctx, VK_OBJECT_TYPE_FRAMEBUFFER,
                                                                (uint64_t)begin->framebuffer, 0);
   const struct pv_render_flat *flat = fb ? fb->data : NULL;
   const VkExtent2D size = flat ? *(const VkExtent2D *)flat->bytes : (VkExtent2D){0};
   pv_render_object_put(ctx, fb);
   if (!flat)
      return pv_cs_fail(d->reader, "a framebuffer without a recorded size");
   const VkDeviceGroupRenderPassBeginInfo *group = pv_render_find_in_chain(
         begin->pNext, VK_STRUCTURE_TYPE_DEVICE_GROUP_RENDER_PASS_BEGIN_INFO);
   const bool by_device = group && group->deviceRenderAreaCount;
   const VkRect2D *areas = by_device ? group->pDeviceRenderAreas : &begin->renderArea;
   const uint32_t count = by_device ? group->deviceRenderAreaCount : 1;
   for (uint32_t i = 0; areas && i < count; i++) {
      if (!area_inside(&areas[i], size))
         return pv_cs_fail(d->reader, "render area (%d, %d) %ux%u outside its %ux%u framebuffer",
                           areas[i].offset.x, areas[i].offset.y, areas[i].extent.width,
                           areas[i].extent.height, size.width, size.height);
   }
   return areas || pv_cs_fail(d->reader, "no device render areas");
}

static void begin_render_pass(struct pv_venus_dispatch *d, struct pv_cmd_vkCmdBeginRenderPass *args)
{
   if (pass_area_fits(d, args->pRenderPassBegin))
      begin_render_pass_next(d, args);
}

static void begin_render_pass2(struct pv_venus_dispatch *d,
                               struct pv_cmd_vkCmdBeginRenderPass2 *args)
{
   if (pass_area_fits(d, args->pRenderPassBegin))
      begin_render_pass2_next(d, args);
}

static void begin_rendering(struct pv_venus_dispatch *d, struct pv_cmd_vkCmdBeginRendering *args)
{
   const VkRenderingInfo *info = args->pRenderingInfo;
   if (!info)
      pv_cs_fail(d->reader, "no rendering info");
   else if (info->renderArea.offset.x < 0 || info->renderArea.offset.y < 0)
      pv_cs_fail(d->reader, "render area starts at (%d, %d), before the origin",
                 info->renderArea.offset.x, info->renderArea.offset.y);
   else
      begin_rendering_next(d, args);
}

void pv_render_pass_init_dispatch(struct pv_venus_handlers *h)
{
   create_framebuffer_next = h->vkCreateFramebuffer;
   h->vkCreateFramebuffer = create_framebuffer;
   begin_render_pass_next = h->vkCmdBeginRenderPass;
   h->vkCmdBeginRenderPass = begin_render_pass;
   begin_render_pass2_next = h->vkCmdBeginRenderPass2;
   h->vkCmdBeginRenderPass2 = begin_render_pass2;
   begin_rendering_next = h->vkCmdBeginRendering;
   h->vkCmdBeginRendering = begin_rendering;
}
