/* pv-test-descriptors: descriptor sets reallocated every frame for 100 frames, checked by pixel. */

/* Each frame resets a pool sized for exactly its two sets and allocates them again, and takes a
 * third set from a FREE_DESCRIPTOR_SET pool of one, freed after the frame; the sets point at
 * uniform buffer slots no other frame uses, written by vkUpdateDescriptorSets on even frames and
 * by an update template on odd ones. Each set's slot places and colours one quad of a 16x16
 * frame, and every frame is read back, so a set that is stale, reused or pointing at the wrong
 * slot shows in the image. */
#include <stdio.h>
#include <string.h>

#include "pv_test.h"

static const uint32_t set_quad_vert_spv[] =
#include "set_quad.vert.spv.h"
      ;
static const uint32_t set_quad_frag_spv[] =
#include "set_quad.frag.spv.h"
      ;

#define NAME         "pv-test-descriptors"
#define FRAMES       100u
#define SIDE         16u
#define CELL         4u
#define QUADS        3u /* two sets from the reset pool, one from the freeing pool */
#define FRAME_PIXELS (SIDE * SIDE)

/* One uniform buffer slot, std140: the layout of set_quad.vert's and set_quad.frag's block. */
struct slot {
   float color[4];
   float offset[2]; /* clip space */
};

struct scene {
   struct pv_buffer vertices, uniforms, readback;
   VkDeviceSize slot_stride;
   struct pv_image color;
   VkRenderPass pass;
   VkFramebuffer framebuffer;
   VkDescriptorSetLayout set_layout;
   VkDescriptorPool reset_pool, free_pool;
   VkDescriptorUpdateTemplate update_template;
   VkPipelineLayout layout;
   VkPipeline pipeline;
};

/* The cell of quad q in frame f: row q, a column the frame number decides. */
static uint32_t quad_column(uint32_t frame, uint32_t q)
{
   static const uint32_t divisors[QUADS] = {1, 4, 16};
   return frame / divisors[q] % (SIDE / CELL);
}

/* Never black, so a quad missing from its cell shows against the clear. */
static uint32_t quad_bits(uint32_t frame, uint32_t q)
{
   return 1 + pv_hash32(frame * QUADS + q) % 7;
}

static uint32_t quad_rgba(uint32_t frame, uint32_t q)
{
   const uint32_t bits = quad_bits(frame, q);
   return (bits & 1 ? 0xffu : 0) | (bits & 2 ? 0xff00u : 0) | (bits & 4 ? 0xff0000u : 0) |
          0xff000000u;
}

static void create_buffers(struct pv_vkapp *app, struct scene *s)
{
   /* The quad in cell (0, 0); each slot's offset moves it. */
   const float x0 = -1, x1 = x0 + 2.0f * CELL / SIDE;
   const float vertices[6][2] = {{x0, x0}, {x1, x0}, {x1, x1}, {x0, x0}, {x1, x1}, {x0, x1}};
   pv_buffer_init(app, &s->vertices, sizeof(vertices),
                  VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                  PV_MEMORY_DEVICE);
   pv_buffer_upload(app, &app->graphics, &s->vertices, vertices, sizeof(vertices));

   const VkDeviceSize align = app->props.limits.minUniformBufferOffsetAlignment;
   s->slot_stride = (sizeof(struct slot) + align - 1) / align * align;
   pv_buffer_init(app, &s->uniforms, s->slot_stride * FRAMES * QUADS,
                  VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT, PV_MEMORY_UPLOAD);
   for (uint32_t f = 0; f < FRAMES; f++) {
      for (uint32_t q = 0; q < QUADS; q++) {
         const uint32_t bits = quad_bits(f, q);
         const struct slot slot = {
               {bits & 1 ? 1.0f : 0.0f, bits & 2 ? 1.0f : 0.0f, bits & 4 ? 1.0f : 0.0f, 1.0f},
               {2.0f * CELL / SIDE * (float)quad_column(f, q), 2.0f * CELL / SIDE * (float)q},
         };
         memcpy((char *)s->uniforms.map + (f * QUADS + q) * s->slot_stride, &slot, sizeof(slot));
      }
   }
   pv_buffer_init(app, &s->readback, FRAMES * FRAME_PIXELS * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                  PV_MEMORY_READBACK);
}

static VkDescriptorPool create_pool(struct pv_vkapp *app, VkDescriptorPoolCreateFlags flags,
                                    uint32_t sets)
{
   const VkDescriptorPoolSize size = {VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, sets};
   const VkDescriptorPoolCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
         .flags = flags,
         .maxSets = sets,
         .poolSizeCount = 1,
         .pPoolSizes = &size,
   };
   VkDescriptorPool pool;
   PV_VK_CHECK(vkCreateDescriptorPool(app->device, &info, NULL, &pool));
   return pool;
}

static void create_descriptors(struct pv_vkapp *app, struct scene *s)
{
   const VkDescriptorSetLayoutBinding binding = {
         0, VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, 1,
         VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT, NULL};
   const VkDescriptorSetLayoutCreateInfo set_info = {
         .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
         .bindingCount = 1,
         .pBindings = &binding,
   };
   PV_VK_CHECK(vkCreateDescriptorSetLayout(app->device, &set_info, NULL, &s->set_layout));
   s->reset_pool = create_pool(app, 0, 2);
   s->free_pool = create_pool(app, VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT, 1);
   const VkDescriptorUpdateTemplateEntry entry = {
         .dstBinding = 0,
         .descriptorCount = 1,
         .descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER,
         .offset = 0,
         .stride = sizeof(VkDescriptorBufferInfo),
   };
   const VkDescriptorUpdateTemplateCreateInfo template_info = {
         .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_UPDATE_TEMPLATE_CREATE_INFO,
         .descriptorUpdateEntryCount = 1,
         .pDescriptorUpdateEntries = &entry,
         .templateType = VK_DESCRIPTOR_UPDATE_TEMPLATE_TYPE_DESCRIPTOR_SET,
         .descriptorSetLayout = s->set_layout,
   };
   PV_VK_CHECK(
         vkCreateDescriptorUpdateTemplate(app->device, &template_info, NULL, &s->update_template));
}

static void create_pipeline(struct pv_vkapp *app, struct scene *s)
{
   pv_image_init(app, &s->color, VK_FORMAT_R8G8B8A8_UNORM, SIDE, SIDE,
                 VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT);
   s->pass = pv_render_pass_create(app, s->color.format, VK_FORMAT_UNDEFINED);
   s->framebuffer = pv_framebuffer_create(app, s->pass, &s->color, NULL);
   const VkPipelineLayoutCreateInfo layout_info = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
         .setLayoutCount = 1,
         .pSetLayouts = &s->set_layout,
   };
   PV_VK_CHECK(vkCreatePipelineLayout(app->device, &layout_info, NULL, &s->layout));
   const VkVertexInputAttributeDescription position = {0, 0, VK_FORMAT_R32G32_SFLOAT, 0};
   const struct pv_graphics_desc desc = {
         .vertex = PV_SPIRV(set_quad_vert_spv),
         .fragment = PV_SPIRV(set_quad_frag_spv),
         .render_pass = s->pass,
         .layout = s->layout,
         .vertex_stride = 2 * sizeof(float),
         .attributes = &position,
         .attribute_count = 1,
         .width = SIDE,
         .height = SIDE,
   };
   s->pipeline = pv_graphics_pipeline_create(app, &desc);
}

static void allocate_sets(struct pv_vkapp *app, struct scene *s, VkDescriptorSet sets[QUADS])
{
   const VkDescriptorSetLayout layouts[2] = {s->set_layout, s->set_layout};
   const VkDescriptorSetAllocateInfo from_reset = {
         .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
         .descriptorPool = s->reset_pool,
         .descriptorSetCount = 2,
         .pSetLayouts = layouts,
   };
   PV_VK_CHECK(vkAllocateDescriptorSets(app->device, &from_reset, sets));
   const VkDescriptorSetAllocateInfo from_free = {
         .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
         .descriptorPool = s->free_pool,
         .descriptorSetCount = 1,
         .pSetLayouts = layouts,
   };
   PV_VK_CHECK(vkAllocateDescriptorSets(app->device, &from_free, &sets[2]));
}

static void update_sets(struct pv_vkapp *app, struct scene *s, uint32_t frame,
                        const VkDescriptorSet sets[QUADS])
{
   VkDescriptorBufferInfo infos[QUADS];
   VkWriteDescriptorSet writes[QUADS];
   for (uint32_t q = 0; q < QUADS; q++) {
      infos[q] = (VkDescriptorBufferInfo){s->uniforms.buffer, (frame * QUADS + q) * s->slot_stride,
                                          sizeof(struct slot)};
      writes[q] = (VkWriteDescriptorSet){
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .dstSet = sets[q],
            .dstBinding = 0,
            .descriptorCount = 1,
            .descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER,
            .pBufferInfo = &infos[q],
      };
   }
   if (frame % 2 == 0) {
      vkUpdateDescriptorSets(app->device, QUADS, writes, 0, NULL);
      return;
   }
   for (uint32_t q = 0; q < QUADS; q++)
      vkUpdateDescriptorSetWithTemplate(app->device, sets[q], s->update_template, &infos[q]);
}

static void draw_frame(struct pv_vkapp *app, struct scene *s, uint32_t frame,
                       const VkDescriptorSet sets[QUADS])
{
   const VkClearValue clear = {.color = {.float32 = {0, 0, 0, 0}}};
   const VkRenderPassBeginInfo begin_info = {
         .sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO,
         .renderPass = s->pass,
         .framebuffer = s->framebuffer,
         .renderArea = {{0, 0}, {SIDE, SIDE}},
         .clearValueCount = 1,
         .pClearValues = &clear,
   };
   const VkDeviceSize offset = 0;
   VkCommandBuffer cmd = pv_cmd_begin_once(app, &app->graphics);
   vkCmdBeginRenderPass(cmd, &begin_info, VK_SUBPASS_CONTENTS_INLINE);
   vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, s->pipeline);
   vkCmdBindVertexBuffers(cmd, 0, 1, &s->vertices.buffer, &offset);
   for (uint32_t q = 0; q < QUADS; q++) {
      vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, s->layout, 0, 1, &sets[q], 0,
                              NULL);
      vkCmdDraw(cmd, 6, 1, 0, 0);
   }
   vkCmdEndRenderPass(cmd);
   /* The render pass leaves the target in TRANSFER_SRC_OPTIMAL, visible to transfers. */
   const VkBufferImageCopy copy = {
         .bufferOffset = (VkDeviceSize)frame * FRAME_PIXELS * 4,
         .imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
         .imageExtent = {SIDE, SIDE, 1},
   };
   vkCmdCopyImageToBuffer(cmd, s->color.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                          s->readback.buffer, 1, &copy);
   pv_cmd_memory_barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
   pv_cmd_submit_once(app, &app->graphics, cmd);
}

static void draw_frames(struct pv_vkapp *app, struct scene *s)
{
   for (uint32_t f = 0; f < FRAMES; f++) {
      /* The previous frame has finished (pv_cmd_submit_once waits), so its sets may go. */
      PV_VK_CHECK(vkResetDescriptorPool(app->device, s->reset_pool, 0));
      VkDescriptorSet sets[QUADS];
      allocate_sets(app, s, sets);
      update_sets(app, s, f, sets);
      draw_frame(app, s, f, sets);
      PV_VK_CHECK(vkFreeDescriptorSets(app->device, s->free_pool, 1, &sets[2]));
   }
}

static bool check_frames(const struct scene *s)
{
   uint32_t expected[FRAME_PIXELS];
   size_t wrong_frames = 0;
   for (uint32_t f = 0; f < FRAMES; f++) {
      for (uint32_t y = 0; y < SIDE; y++) {
         for (uint32_t x = 0; x < SIDE; x++) {
            const uint32_t q = y / CELL;
            const bool covered = q < QUADS && x / CELL == quad_column(f, q);
            expected[y * SIDE + x] = covered ? quad_rgba(f, q) : 0;
         }
      }
      char what[64];
      snprintf(what, sizeof(what), "frame %u (element = y * 16 + x)", f);
      const uint32_t *got = (const uint32_t *)s->readback.map + (size_t)f * FRAME_PIXELS;
      if (!pv_check_equal_u32(what, got, expected, FRAME_PIXELS) && ++wrong_frames >= 5)
         break;
   }
   return wrong_frames == 0;
}

static void destroy_scene(struct pv_vkapp *app, struct scene *s)
{
   vkDestroyPipeline(app->device, s->pipeline, NULL);
   vkDestroyPipelineLayout(app->device, s->layout, NULL);
   vkDestroyDescriptorUpdateTemplate(app->device, s->update_template, NULL);
   vkDestroyDescriptorPool(app->device, s->free_pool, NULL);
   vkDestroyDescriptorPool(app->device, s->reset_pool, NULL);
   vkDestroyDescriptorSetLayout(app->device, s->set_layout, NULL);
   vkDestroyFramebuffer(app->device, s->framebuffer, NULL);
   vkDestroyRenderPass(app->device, s->pass, NULL);
   pv_image_finish(app, &s->color);
   pv_buffer_finish(app, &s->readback);
   pv_buffer_finish(app, &s->uniforms);
   pv_buffer_finish(app, &s->vertices);
}

int main(void)
{
   struct pv_vkapp app;
   pv_test_begin(&app, NAME, (struct pv_vkapp_config){0});
   struct scene scene;
   create_buffers(&app, &scene);
   create_descriptors(&app, &scene);
   create_pipeline(&app, &scene);
   draw_frames(&app, &scene);
   bool ok = check_frames(&scene);
   uint64_t checksum = pv_fnv1a64(PV_FNV1A64_INIT, scene.readback.map, scene.readback.size);
   destroy_scene(&app, &scene);
   return pv_test_end(&app, NAME, ok, checksum);
}
