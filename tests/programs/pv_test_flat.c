/* The flat-colour target shared by the query and indirect-draw programs. */
#include "pv_test_flat.h"

#include <stddef.h>

static const uint32_t quad_vert_spv[] =
#include "quad.vert.spv.h"
      ;
static const uint32_t flat_frag_spv[] =
#include "flat.frag.spv.h"
      ;

void pv_test_flat_init(struct pv_vkapp *app, struct pv_test_flat *flat, uint32_t size)
{
   pv_image_init(app, &flat->color, VK_FORMAT_R8G8B8A8_UNORM, size, size,
                 VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT);
   flat->pass = pv_render_pass_create(app, flat->color.format, VK_FORMAT_UNDEFINED);
   flat->framebuffer = pv_framebuffer_create(app, flat->pass, &flat->color, NULL);
   const VkPipelineLayoutCreateInfo layout_info = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
   };
   PV_VK_CHECK(vkCreatePipelineLayout(app->device, &layout_info, NULL, &flat->layout));
   const VkVertexInputAttributeDescription attributes[2] = {
         {0, 0, VK_FORMAT_R32G32_SFLOAT, offsetof(struct pv_test_flat_vertex, pos)},
         {1, 0, VK_FORMAT_R8G8B8A8_UNORM, offsetof(struct pv_test_flat_vertex, color)},
   };
   const struct pv_graphics_desc desc = {
         .vertex = PV_SPIRV(quad_vert_spv),
         .fragment = PV_SPIRV(flat_frag_spv),
         .render_pass = flat->pass,
         .layout = flat->layout,
         .vertex_stride = sizeof(struct pv_test_flat_vertex),
         .attributes = attributes,
         .attribute_count = 2,
         .width = size,
         .height = size,
   };
   flat->pipeline = pv_graphics_pipeline_create(app, &desc);
}

void pv_test_flat_finish(struct pv_vkapp *app, struct pv_test_flat *flat)
{
   vkDestroyPipeline(app->device, flat->pipeline, NULL);
   vkDestroyPipelineLayout(app->device, flat->layout, NULL);
   vkDestroyFramebuffer(app->device, flat->framebuffer, NULL);
   vkDestroyRenderPass(app->device, flat->pass, NULL);
   pv_image_finish(app, &flat->color);
}
