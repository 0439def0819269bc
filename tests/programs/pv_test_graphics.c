/* pv-test-graphics: an indexed, textured, depth-tested draw, checked pixel by pixel. */

/* Two overlapping quads, the nearer drawn first, with a uniform buffer and push constants; the
 * read-back target is compared with a model of the scene computed on the host. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_test.h"

static const uint32_t textured_vert_spv[] =
#include "textured.vert.spv.h"
      ;
static const uint32_t textured_frag_spv[] =
#include "textured.frag.spv.h"
      ;

#define NAME     "pv-test-graphics"
#define SIZE     256u /* target side */
#define TEX_SIDE 8u
#define QUAD     128u /* quad side: 16 pixels per texel, pixel centres never on a texel edge */

struct vertex {
   float pos[3]; /* pixels, depth */
   float uv[2];
};

struct quad {
   uint32_t x, y; /* top-left pixel */
   float depth;
   float tint[4]; /* 0 or 1 per channel, so the product is exact */
};

/* Drawn in this order: the nearer quad first, so only the depth test keeps it in front. */
static const struct quad quads[2] = {
      {32, 32, 0.25f, {1, 1, 1, 1}},
      {96, 96, 0.75f, {0, 1, 1, 1}},
};

static const uint32_t background = 0xff000000u; /* opaque black, R8G8B8A8 */

static uint32_t texel(uint32_t i, uint32_t j)
{
   uint32_t r = i * 32 + 16, g = j * 32 + 16, b = (i ^ j) & 1 ? 255 : 64;
   return r | g << 8 | b << 16 | 0xffu << 24;
}

static uint32_t tinted(uint32_t color, const float tint[4])
{
   uint32_t out = 0;
   for (int c = 0; c < 4; c++) {
      if (tint[c] != 0)
         out |= color & (0xffu << (8 * c));
   }
   return out;
}

/* The colour the scene should have at pixel (x, y): its centre decides coverage. */
static uint32_t model_pixel(uint32_t x, uint32_t y)
{
   for (int q = 0; q < 2; q++) {
      const struct quad *quad = &quads[q];
      if (x >= quad->x && x < quad->x + QUAD && y >= quad->y && y < quad->y + QUAD) {
         const uint32_t per_texel = QUAD / TEX_SIDE;
         return tinted(texel((x - quad->x) / per_texel, (y - quad->y) / per_texel), quad->tint);
      }
   }
   return background;
}

/* Named pixels first, so a failure says what went wrong before the full comparison does. */
static bool check_probes(const uint32_t *pixels)
{
   static const struct {
      uint32_t x, y;
      const char *what;
   } probes[] = {
         {5, 5, "background (clear)"},
         {40, 40, "texture on the near quad"},
         {120, 120, "depth test: the nearer quad, drawn first, wins the overlap"},
         {200, 200, "push-constant tint on the far quad"},
   };
   bool ok = true;
   for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
      uint32_t got = pixels[probes[i].y * SIZE + probes[i].x];
      uint32_t want = model_pixel(probes[i].x, probes[i].y);
      if (got != want) {
         fprintf(stderr, "%s: pixel (%u,%u), %s: 0x%08x, expected 0x%08x\n", NAME, probes[i].x,
                 probes[i].y, probes[i].what, got, want);
         ok = false;
      }
   }
   return ok;
}

struct scene {
   struct pv_buffer vertices, indices, view;
   struct pv_image texture, color, depth;
   VkSampler sampler;
   VkDescriptorSetLayout set_layout;
   VkDescriptorPool pool;
   VkDescriptorSet set;
   VkPipelineLayout layout;
   VkRenderPass pass;
   VkFramebuffer framebuffer;
   VkPipeline pipeline;
};

static void create_geometry(struct pv_vkapp *app, struct scene *s)
{
   struct vertex vertices[8];
   for (int q = 0; q < 2; q++) {
      const float x0 = (float)quads[q].x, y0 = (float)quads[q].y, z = quads[q].depth;
      const float x1 = x0 + QUAD, y1 = y0 + QUAD;
      vertices[q * 4 + 0] = (struct vertex){{x0, y0, z}, {0, 0}};
      vertices[q * 4 + 1] = (struct vertex){{x1, y0, z}, {1, 0}};
      vertices[q * 4 + 2] = (struct vertex){{x1, y1, z}, {1, 1}};
      vertices[q * 4 + 3] = (struct vertex){{x0, y1, z}, {0, 1}};
   }
   /* The same six indices twice: the second quad is drawn with firstIndex 6, vertexOffset 4. */
   const uint16_t indices[12] = {0, 1, 2, 0, 2, 3, 0, 1, 2, 0, 2, 3};
   pv_buffer_init(app, &s->vertices, sizeof(vertices),
                  VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                  PV_MEMORY_DEVICE);
   pv_buffer_upload(app, &app->graphics, &s->vertices, vertices, sizeof(vertices));
   pv_buffer_init(app, &s->indices, sizeof(indices),
                  VK_BUFFER_USAGE_INDEX_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                  PV_MEMORY_DEVICE);
   pv_buffer_upload(app, &app->graphics, &s->indices, indices, sizeof(indices));

   const float view[4] = {2.0f / SIZE, 2.0f / SIZE, 0, 0};
   pv_buffer_init(app, &s->view, sizeof(view), VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT,
                  PV_MEMORY_UPLOAD);
   memcpy(s->view.map, view, sizeof(view));
}

static void create_texture(struct pv_vkapp *app, struct scene *s)
{
   uint32_t texels[TEX_SIDE * TEX_SIDE];
   for (uint32_t j = 0; j < TEX_SIDE; j++) {
      for (uint32_t i = 0; i < TEX_SIDE; i++)
         texels[j * TEX_SIDE + i] = texel(i, j);
   }
   pv_image_init(app, &s->texture, VK_FORMAT_R8G8B8A8_UNORM, TEX_SIDE, TEX_SIDE,
                 VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT);
   pv_image_upload(app, &app->graphics, &s->texture, texels,
                   VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL);
   const VkSamplerCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO,
         .magFilter = VK_FILTER_NEAREST,
         .minFilter = VK_FILTER_NEAREST,
         .mipmapMode = VK_SAMPLER_MIPMAP_MODE_NEAREST,
         .addressModeU = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
         .addressModeV = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
         .addressModeW = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
   };
   PV_VK_CHECK(vkCreateSampler(app->device, &info, NULL, &s->sampler));
}

static void create_descriptors(struct pv_vkapp *app, struct scene *s)
{
   const VkDescriptorSetLayoutBinding bindings[2] = {
         {0, VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, 1, VK_SHADER_STAGE_VERTEX_BIT, NULL},
         {1, VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 1, VK_SHADER_STAGE_FRAGMENT_BIT, NULL},
   };
   const VkDescriptorSetLayoutCreateInfo set_info = {
         .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
         .bindingCount = 2,
         .pBindings = bindings,
   };
   PV_VK_CHECK(vkCreateDescriptorSetLayout(app->device, &set_info, NULL, &s->set_layout));
   const VkDescriptorPoolSize sizes[2] = {
         {VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, 1},
         {VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 1},
   };
   const VkDescriptorPoolCreateInfo pool_info = {
         .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
         .maxSets = 1,
         .poolSizeCount = 2,
         .pPoolSizes = sizes,
   };
   PV_VK_CHECK(vkCreateDescriptorPool(app->device, &pool_info, NULL, &s->pool));
   const VkDescriptorSetAllocateInfo alloc_info = {
         .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
         .descriptorPool = s->pool,
         .descriptorSetCount = 1,
         .pSetLayouts = &s->set_layout,
   };
   PV_VK_CHECK(vkAllocateDescriptorSets(app->device, &alloc_info, &s->set));
   const VkDescriptorBufferInfo view = {s->view.buffer, 0, VK_WHOLE_SIZE};
   const VkDescriptorImageInfo texture = {s->sampler, s->texture.view,
                                          VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL};
   const VkWriteDescriptorSet writes[2] = {
         {
               .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
               .dstSet = s->set,
               .dstBinding = 0,
               .descriptorCount = 1,
               .descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER,
               .pBufferInfo = &view,
         },
         {
               .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
               .dstSet = s->set,
               .dstBinding = 1,
               .descriptorCount = 1,
               .descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER,
               .pImageInfo = &texture,
         },
   };
   vkUpdateDescriptorSets(app->device, 2, writes, 0, NULL);
}

static void create_pipeline(struct pv_vkapp *app, struct scene *s)
{
   pv_image_init(app, &s->color, VK_FORMAT_R8G8B8A8_UNORM, SIZE, SIZE,
                 VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT);
   /* D16_UNORM: the one depth format every device must support as an attachment. */
   pv_image_init(app, &s->depth, VK_FORMAT_D16_UNORM, SIZE, SIZE,
                 VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT);
   s->pass = pv_render_pass_create(app, s->color.format, s->depth.format);
   s->framebuffer = pv_framebuffer_create(app, s->pass, &s->color, &s->depth);

   const VkPushConstantRange push = {VK_SHADER_STAGE_FRAGMENT_BIT, 0, 4 * sizeof(float)};
   const VkPipelineLayoutCreateInfo layout_info = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
         .setLayoutCount = 1,
         .pSetLayouts = &s->set_layout,
         .pushConstantRangeCount = 1,
         .pPushConstantRanges = &push,
   };
   PV_VK_CHECK(vkCreatePipelineLayout(app->device, &layout_info, NULL, &s->layout));
   const VkVertexInputAttributeDescription attributes[2] = {
         {0, 0, VK_FORMAT_R32G32B32_SFLOAT, offsetof(struct vertex, pos)},
         {1, 0, VK_FORMAT_R32G32_SFLOAT, offsetof(struct vertex, uv)},
   };
   const struct pv_graphics_desc desc = {
         .vertex = PV_SPIRV(textured_vert_spv),
         .fragment = PV_SPIRV(textured_frag_spv),
         .render_pass = s->pass,
         .layout = s->layout,
         .vertex_stride = sizeof(struct vertex),
         .attributes = attributes,
         .attribute_count = 2,
         .depth_test = true,
         .width = SIZE,
         .height = SIZE,
   };
   s->pipeline = pv_graphics_pipeline_create(app, &desc);
}

static void draw(struct pv_vkapp *app, struct scene *s)
{
   const VkClearValue clears[2] = {
         {.color = {.float32 = {0, 0, 0, 1}}},
         {.depthStencil = {1.0f, 0}},
   };
   const VkRenderPassBeginInfo begin = {
         .sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO,
         .renderPass = s->pass,
         .framebuffer = s->framebuffer,
         .renderArea = {{0, 0}, {SIZE, SIZE}},
         .clearValueCount = 2,
         .pClearValues = clears,
   };
   const VkDeviceSize offset = 0;
   VkCommandBuffer cmd = pv_cmd_begin_once(app, &app->graphics);
   vkCmdBeginRenderPass(cmd, &begin, VK_SUBPASS_CONTENTS_INLINE);
   vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, s->pipeline);
   vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, s->layout, 0, 1, &s->set, 0, NULL);
   vkCmdBindVertexBuffers(cmd, 0, 1, &s->vertices.buffer, &offset);
   vkCmdBindIndexBuffer(cmd, s->indices.buffer, 0, VK_INDEX_TYPE_UINT16);
   for (uint32_t q = 0; q < 2; q++) {
      vkCmdPushConstants(cmd, s->layout, VK_SHADER_STAGE_FRAGMENT_BIT, 0, sizeof(quads[q].tint),
                         quads[q].tint);
      vkCmdDrawIndexed(cmd, 6, 1, q * 6, (int32_t)(q * 4), 0);
   }
   vkCmdEndRenderPass(cmd);
   pv_cmd_submit_once(app, &app->graphics, cmd);
}

static void destroy_scene(struct pv_vkapp *app, struct scene *s)
{
   vkDestroyPipeline(app->device, s->pipeline, NULL);
   vkDestroyFramebuffer(app->device, s->framebuffer, NULL);
   vkDestroyRenderPass(app->device, s->pass, NULL);
   vkDestroyPipelineLayout(app->device, s->layout, NULL);
   vkDestroyDescriptorPool(app->device, s->pool, NULL);
   vkDestroyDescriptorSetLayout(app->device, s->set_layout, NULL);
   vkDestroySampler(app->device, s->sampler, NULL);
   pv_image_finish(app, &s->depth);
   pv_image_finish(app, &s->color);
   pv_image_finish(app, &s->texture);
   pv_buffer_finish(app, &s->view);
   pv_buffer_finish(app, &s->indices);
   pv_buffer_finish(app, &s->vertices);
}

int main(void)
{
   struct pv_vkapp app;
   pv_test_begin(&app, NAME, (struct pv_vkapp_config){0});
   struct scene scene;
   create_geometry(&app, &scene);
   create_texture(&app, &scene);
   create_descriptors(&app, &scene);
   create_pipeline(&app, &scene);
   draw(&app, &scene);

   struct pv_buffer readback;
   pv_buffer_init(&app, &readback, SIZE * SIZE * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                  PV_MEMORY_READBACK);
   pv_image_copy_to_buffer(&app, &app.graphics, &scene.color, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                           &readback);
   uint32_t *expected = pv_alloc(SIZE * SIZE * 4);
   for (uint32_t y = 0; y < SIZE; y++) {
      for (uint32_t x = 0; x < SIZE; x++)
         expected[y * SIZE + x] = model_pixel(x, y);
   }
   bool ok = check_probes(readback.map);
   ok &= pv_check_equal_u32("rendered pixels (element = y * 256 + x)", readback.map, expected,
                            SIZE * SIZE);
   uint64_t checksum = pv_fnv1a64(PV_FNV1A64_INIT, readback.map, readback.size);

   free(expected);
   pv_buffer_finish(&app, &readback);
   destroy_scene(&app, &scene);
   return pv_test_end(&app, NAME, ok, checksum);
}
