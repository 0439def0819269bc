/* pv-test-render: dynamic rendering and secondary command buffers, checked pixel by pixel. */

/* Two 64x64 targets on a grid of 8x8-pixel cells, one flat quad per cell (instances fill the
 * cells to the right). Target A: VK_KHR_dynamic_rendering, a cleared instance drawn inline, a
 * loading one drawn by two secondaries inheriting VkCommandBufferInheritanceRenderingInfo, and
 * one suspended in a command buffer and resumed in the next of the same batch. Target B: a
 * render pass whose subpass two secondaries draw (one inheriting the framebuffer, one not),
 * read back by a third secondary outside any render pass. Viewport and scissor are dynamic, so
 * each secondary sets its own. Through venus the device is Vulkan 1.2, hence the KHR names. */
#include <stdio.h>

#include "pv_test.h"

static const uint32_t quad_vert_spv[] =
#include "quad.vert.spv.h"
      ;
static const uint32_t flat_frag_spv[] =
#include "flat.frag.spv.h"
      ;

#define NAME   "pv-test-render"
#define SIZE   64u
#define CELL   8u
#define FORMAT VK_FORMAT_R8G8B8A8_UNORM
#define PIXELS (SIZE * SIZE)

struct vertex {
   float pos[2]; /* clip space */
   uint8_t color[4];
};

struct quad {
   uint32_t cx, cy, instances;
   uint32_t rgba; /* R8G8B8A8 as a little-endian uint32, each channel 0 or 255 */
};

/* Quads 0-4 go to target A, 5-7 to target B, in the order the steps below draw them. */
static const struct quad quads[8] = {
      {0, 0, 1, 0xff0000ffu}, /* A: inline, in the instance that clears */
      {1, 1, 1, 0xff00ff00u}, /* A: first secondary of the loading instance */
      {2, 2, 2, 0xffff0000u}, /* A: second secondary */
      {3, 3, 1, 0xff00ffffu}, /* A: the suspended instance */
      {4, 4, 1, 0xffff00ffu}, /* A: the resumed instance */
      {5, 5, 3, 0xffffff00u}, /* B: secondary inheriting the framebuffer */
      {0, 6, 1, 0xffffffffu}, /* B: the same secondary */
      {6, 7, 2, 0x00ff00ffu}, /* B: secondary without the framebuffer */
};
static const uint32_t backgrounds[2] = {0x00000000u, 0xff000000u};

struct scene {
   struct pv_buffer vertices, readback;
   struct pv_image targets[2];
   VkRenderPass pass;
   VkFramebuffer framebuffer;
   VkPipelineLayout layout;
   VkPipeline dynamic_pipeline, pass_pipeline;
   PFN_vkCmdBeginRenderingKHR begin_rendering;
   PFN_vkCmdEndRenderingKHR end_rendering;
};

static void begin(struct pv_vkapp *app)
{
   pv_test_begin_instance(app, NAME);
   if (!pv_test_has_extension(app, VK_KHR_DYNAMIC_RENDERING_EXTENSION_NAME))
      pv_fail("the device has no %s", VK_KHR_DYNAMIC_RENDERING_EXTENSION_NAME);
   VkPhysicalDeviceDynamicRenderingFeaturesKHR dynamic = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DYNAMIC_RENDERING_FEATURES_KHR,
   };
   VkPhysicalDeviceFeatures2 features = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
         .pNext = &dynamic,
   };
   vkGetPhysicalDeviceFeatures2(app->physical, &features);
   if (!dynamic.dynamicRendering)
      pv_fail("the device has no dynamicRendering feature");
   const VkPhysicalDeviceDynamicRenderingFeaturesKHR enable_dynamic = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DYNAMIC_RENDERING_FEATURES_KHR,
         .dynamicRendering = VK_TRUE,
   };
   const VkPhysicalDeviceFeatures2 enable = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
         .pNext = (void *)&enable_dynamic,
   };
   const char *extensions[1] = {VK_KHR_DYNAMIC_RENDERING_EXTENSION_NAME};
   pv_test_begin_device(app, NAME, &enable, extensions, 1);
}

static void *device_proc(struct pv_vkapp *app, const char *name)
{
   PFN_vkVoidFunction proc = vkGetDeviceProcAddr(app->device, name);
   if (!proc)
      pv_fail("vkGetDeviceProcAddr gave no %s", name);
   return (void *)proc;
}

static void create_geometry(struct pv_vkapp *app, struct scene *s)
{
   struct vertex vertices[8 * 6];
   for (int q = 0; q < 8; q++) {
      const float x0 = (float)(quads[q].cx * CELL) / (SIZE / 2) - 1;
      const float y0 = (float)(quads[q].cy * CELL) / (SIZE / 2) - 1;
      const float x1 = x0 + 2.0f * CELL / SIZE, y1 = y0 + 2.0f * CELL / SIZE;
      const float corners[6][2] = {{x0, y0}, {x1, y0}, {x1, y1}, {x0, y0}, {x1, y1}, {x0, y1}};
      for (int v = 0; v < 6; v++) {
         struct vertex *out = &vertices[q * 6 + v];
         out->pos[0] = corners[v][0];
         out->pos[1] = corners[v][1];
         for (int c = 0; c < 4; c++)
            out->color[c] = (uint8_t)(quads[q].rgba >> (8 * c));
      }
   }
   pv_buffer_init(app, &s->vertices, sizeof(vertices),
                  VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                  PV_MEMORY_DEVICE);
   pv_buffer_upload(app, &app->graphics, &s->vertices, vertices, sizeof(vertices));
}

/* For a render pass when pass is given, else for dynamic rendering to one FORMAT target. */
static VkPipeline create_pipeline(struct pv_vkapp *app, const struct scene *s, VkRenderPass pass)
{
   VkShaderModule vertex = pv_shader_create(app, PV_SPIRV(quad_vert_spv));
   VkShaderModule fragment = pv_shader_create(app, PV_SPIRV(flat_frag_spv));
   const VkPipelineShaderStageCreateInfo stages[2] = {
         {
               .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
               .stage = VK_SHADER_STAGE_VERTEX_BIT,
               .module = vertex,
               .pName = "main",
         },
         {
               .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
               .stage = VK_SHADER_STAGE_FRAGMENT_BIT,
               .module = fragment,
               .pName = "main",
         },
   };
   const VkVertexInputBindingDescription binding = {0, sizeof(struct vertex),
                                                    VK_VERTEX_INPUT_RATE_VERTEX};
   const VkVertexInputAttributeDescription attributes[2] = {
         {0, 0, VK_FORMAT_R32G32_SFLOAT, offsetof(struct vertex, pos)},
         {1, 0, VK_FORMAT_R8G8B8A8_UNORM, offsetof(struct vertex, color)},
   };
   const VkPipelineVertexInputStateCreateInfo vertex_input = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO,
         .vertexBindingDescriptionCount = 1,
         .pVertexBindingDescriptions = &binding,
         .vertexAttributeDescriptionCount = 2,
         .pVertexAttributeDescriptions = attributes,
   };
   const VkPipelineInputAssemblyStateCreateInfo input_assembly = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO,
         .topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST,
   };
   const VkPipelineViewportStateCreateInfo viewport = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO,
         .viewportCount = 1,
         .scissorCount = 1,
   };
   const VkPipelineRasterizationStateCreateInfo raster = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO,
         .polygonMode = VK_POLYGON_MODE_FILL,
         .cullMode = VK_CULL_MODE_NONE,
         .lineWidth = 1.0f,
   };
   const VkPipelineMultisampleStateCreateInfo multisample = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO,
         .rasterizationSamples = VK_SAMPLE_COUNT_1_BIT,
   };
   const VkPipelineColorBlendAttachmentState blend_attachment = {
         .colorWriteMask = VK_COLOR_COMPONENT_R_BIT | VK_COLOR_COMPONENT_G_BIT |
                           VK_COLOR_COMPONENT_B_BIT | VK_COLOR_COMPONENT_A_BIT,
   };
   const VkPipelineColorBlendStateCreateInfo blend = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO,
         .attachmentCount = 1,
         .pAttachments = &blend_attachment,
   };
   const VkDynamicState dynamic_states[2] = {VK_DYNAMIC_STATE_VIEWPORT, VK_DYNAMIC_STATE_SCISSOR};
   const VkPipelineDynamicStateCreateInfo dynamic = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_DYNAMIC_STATE_CREATE_INFO,
         .dynamicStateCount = 2,
         .pDynamicStates = dynamic_states,
   };
   const VkFormat format = FORMAT;
   const VkPipelineRenderingCreateInfoKHR rendering = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_RENDERING_CREATE_INFO_KHR,
         .colorAttachmentCount = 1,
         .pColorAttachmentFormats = &format,
   };
   const VkGraphicsPipelineCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO,
         .pNext = pass ? NULL : &rendering,
         .stageCount = 2,
         .pStages = stages,
         .pVertexInputState = &vertex_input,
         .pInputAssemblyState = &input_assembly,
         .pViewportState = &viewport,
         .pRasterizationState = &raster,
         .pMultisampleState = &multisample,
         .pColorBlendState = &blend,
         .pDynamicState = &dynamic,
         .layout = s->layout,
         .renderPass = pass,
   };
   VkPipeline pipeline;
   PV_VK_CHECK(vkCreateGraphicsPipelines(app->device, VK_NULL_HANDLE, 1, &info, NULL, &pipeline));
   vkDestroyShaderModule(app->device, fragment, NULL);
   vkDestroyShaderModule(app->device, vertex, NULL);
   return pipeline;
}

static void create_scene(struct pv_vkapp *app, struct scene *s)
{
   s->begin_rendering = (PFN_vkCmdBeginRenderingKHR)device_proc(app, "vkCmdBeginRenderingKHR");
   s->end_rendering = (PFN_vkCmdEndRenderingKHR)device_proc(app, "vkCmdEndRenderingKHR");
   create_geometry(app, s);
   for (int t = 0; t < 2; t++)
      pv_image_init(app, &s->targets[t], FORMAT, SIZE, SIZE,
                    VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT);
   pv_buffer_init(app, &s->readback, 2 * PIXELS * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                  PV_MEMORY_READBACK);
   s->pass = pv_render_pass_create(app, FORMAT, VK_FORMAT_UNDEFINED);
   s->framebuffer = pv_framebuffer_create(app, s->pass, &s->targets[1], NULL);
   const VkPipelineLayoutCreateInfo layout_info = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
   };
   PV_VK_CHECK(vkCreatePipelineLayout(app->device, &layout_info, NULL, &s->layout));
   s->dynamic_pipeline = create_pipeline(app, s, VK_NULL_HANDLE);
   s->pass_pipeline = create_pipeline(app, s, s->pass);
}

/* Everything a command buffer must set before drawing, since secondaries inherit no state. */
static void bind_and_draw(const struct scene *s, VkCommandBuffer cmd, VkPipeline pipeline,
                          uint32_t first_quad, uint32_t quad_count)
{
   const VkViewport viewport = {0, 0, SIZE, SIZE, 0, 1};
   const VkRect2D scissor = {{0, 0}, {SIZE, SIZE}};
   const VkDeviceSize offset = 0;
   vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, pipeline);
   vkCmdSetViewport(cmd, 0, 1, &viewport);
   vkCmdSetScissor(cmd, 0, 1, &scissor);
   vkCmdBindVertexBuffers(cmd, 0, 1, &s->vertices.buffer, &offset);
   for (uint32_t q = first_quad; q < first_quad + quad_count; q++)
      vkCmdDraw(cmd, 6, quads[q].instances, q * 6, 0);
}

static VkCommandBuffer begin_secondary(struct pv_vkapp *app,
                                       const VkCommandBufferInheritanceInfo *inheritance,
                                       VkCommandBufferUsageFlags flags)
{
   const VkCommandBufferAllocateInfo alloc = {
         .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
         .commandPool = app->graphics.pool,
         .level = VK_COMMAND_BUFFER_LEVEL_SECONDARY,
         .commandBufferCount = 1,
   };
   VkCommandBuffer cmd;
   PV_VK_CHECK(vkAllocateCommandBuffers(app->device, &alloc, &cmd));
   const VkCommandBufferBeginInfo info = {
         .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
         .flags = flags,
         .pInheritanceInfo = inheritance,
   };
   PV_VK_CHECK(vkBeginCommandBuffer(cmd, &info));
   return cmd;
}

static void begin_rendering(const struct scene *s, VkCommandBuffer cmd, VkRenderingFlagsKHR flags,
                            VkAttachmentLoadOp load)
{
   const VkRenderingAttachmentInfoKHR color = {
         .sType = VK_STRUCTURE_TYPE_RENDERING_ATTACHMENT_INFO_KHR,
         .imageView = s->targets[0].view,
         .imageLayout = VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
         .loadOp = load,
         .storeOp = VK_ATTACHMENT_STORE_OP_STORE,
         .clearValue = {.color = {.float32 = {0, 0, 0, 0}}},
   };
   const VkRenderingInfoKHR info = {
         .sType = VK_STRUCTURE_TYPE_RENDERING_INFO_KHR,
         .flags = flags,
         .renderArea = {{0, 0}, {SIZE, SIZE}},
         .layerCount = 1,
         .colorAttachmentCount = 1,
         .pColorAttachments = &color,
   };
   s->begin_rendering(cmd, &info);
}

/* A later instance loads what an earlier one stored. */
static void attachment_to_attachment(VkCommandBuffer cmd)
{
   pv_cmd_memory_barrier(
         cmd, VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT, VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT,
         VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
         VK_ACCESS_COLOR_ATTACHMENT_READ_BIT | VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT);
}

static void draw_dynamic(struct pv_vkapp *app, struct scene *s)
{
   const VkFormat format = FORMAT;
   const VkCommandBufferInheritanceRenderingInfoKHR rendering = {
         .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_INHERITANCE_RENDERING_INFO_KHR,
         .colorAttachmentCount = 1,
         .pColorAttachmentFormats = &format,
         .rasterizationSamples = VK_SAMPLE_COUNT_1_BIT,
   };
   const VkCommandBufferInheritanceInfo inheritance = {
         .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_INHERITANCE_INFO,
         .pNext = &rendering,
   };
   VkCommandBuffer secondaries[2];
   for (int i = 0; i < 2; i++) {
      secondaries[i] =
            begin_secondary(app, &inheritance, VK_COMMAND_BUFFER_USAGE_RENDER_PASS_CONTINUE_BIT);
      bind_and_draw(s, secondaries[i], s->dynamic_pipeline, 1 + i, 1);
      pv_cmd_end(secondaries[i]);
   }

   VkCommandBuffer cmds[2] = {pv_cmd_alloc(app, &app->graphics), pv_cmd_alloc(app, &app->graphics)};
   pv_cmd_begin(cmds[0], VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT);
   pv_cmd_image_barrier(
         cmds[0], &s->targets[0], VK_IMAGE_LAYOUT_UNDEFINED,
         VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL, VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT, 0,
         VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT, VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT);
   begin_rendering(s, cmds[0], 0, VK_ATTACHMENT_LOAD_OP_CLEAR);
   bind_and_draw(s, cmds[0], s->dynamic_pipeline, 0, 1);
   s->end_rendering(cmds[0]);
   attachment_to_attachment(cmds[0]);
   begin_rendering(s, cmds[0], VK_RENDERING_CONTENTS_SECONDARY_COMMAND_BUFFERS_BIT_KHR,
                   VK_ATTACHMENT_LOAD_OP_LOAD);
   vkCmdExecuteCommands(cmds[0], 2, secondaries);
   s->end_rendering(cmds[0]);
   attachment_to_attachment(cmds[0]);
   begin_rendering(s, cmds[0], VK_RENDERING_SUSPENDING_BIT_KHR, VK_ATTACHMENT_LOAD_OP_LOAD);
   bind_and_draw(s, cmds[0], s->dynamic_pipeline, 3, 1);
   s->end_rendering(cmds[0]);
   pv_cmd_end(cmds[0]);

   pv_cmd_begin(cmds[1], VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT);
   begin_rendering(s, cmds[1], VK_RENDERING_RESUMING_BIT_KHR, VK_ATTACHMENT_LOAD_OP_LOAD);
   bind_and_draw(s, cmds[1], s->dynamic_pipeline, 4, 1);
   s->end_rendering(cmds[1]);
   pv_cmd_image_barrier(cmds[1], &s->targets[0], VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
                        VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                        VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
                        VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                        VK_ACCESS_TRANSFER_READ_BIT);
   const VkBufferImageCopy copy = {
         .imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
         .imageExtent = {SIZE, SIZE, 1},
   };
   vkCmdCopyImageToBuffer(cmds[1], s->targets[0].image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                          s->readback.buffer, 1, &copy);
   pv_cmd_memory_barrier(cmds[1], VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
   pv_cmd_end(cmds[1]);

   /* A suspended instance must be resumed in the same batch. */
   const VkSubmitInfo submit = {
         .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
         .commandBufferCount = 2,
         .pCommandBuffers = cmds,
   };
   VkFence fence = pv_fence_create(app);
   PV_VK_CHECK(vkQueueSubmit(app->graphics.queue, 1, &submit, fence));
   pv_fence_wait(app, fence);
   vkDestroyFence(app->device, fence, NULL);
   vkFreeCommandBuffers(app->device, app->graphics.pool, 2, cmds);
   vkFreeCommandBuffers(app->device, app->graphics.pool, 2, secondaries);
}

static void draw_render_pass(struct pv_vkapp *app, struct scene *s)
{
   VkCommandBufferInheritanceInfo inheritance = {
         .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_INHERITANCE_INFO,
         .renderPass = s->pass,
         .subpass = 0,
         .framebuffer = s->framebuffer,
   };
   VkCommandBuffer secondaries[3];
   secondaries[0] =
         begin_secondary(app, &inheritance, VK_COMMAND_BUFFER_USAGE_RENDER_PASS_CONTINUE_BIT);
   bind_and_draw(s, secondaries[0], s->pass_pipeline, 5, 2);
   pv_cmd_end(secondaries[0]);
   /* The framebuffer is optional in the inheritance: the one the primary begins with applies. */
   inheritance.framebuffer = VK_NULL_HANDLE;
   secondaries[1] =
         begin_secondary(app, &inheritance, VK_COMMAND_BUFFER_USAGE_RENDER_PASS_CONTINUE_BIT);
   bind_and_draw(s, secondaries[1], s->pass_pipeline, 7, 1);
   pv_cmd_end(secondaries[1]);
   /* Outside a render pass the inheritance names none, but must still be given. */
   const VkCommandBufferInheritanceInfo outside = {
         .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_INHERITANCE_INFO,
   };
   secondaries[2] = begin_secondary(app, &outside, 0);
   const VkBufferImageCopy copy = {
         .bufferOffset = PIXELS * 4,
         .imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
         .imageExtent = {SIZE, SIZE, 1},
   };
   /* The render pass leaves the target in TRANSFER_SRC_OPTIMAL, visible to transfers. */
   vkCmdCopyImageToBuffer(secondaries[2], s->targets[1].image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                          s->readback.buffer, 1, &copy);
   pv_cmd_memory_barrier(secondaries[2], VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                         VK_ACCESS_HOST_READ_BIT);
   pv_cmd_end(secondaries[2]);

   const VkClearValue clear = {.color = {.float32 = {0, 0, 0, 1}}};
   const VkRenderPassBeginInfo begin_info = {
         .sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO,
         .renderPass = s->pass,
         .framebuffer = s->framebuffer,
         .renderArea = {{0, 0}, {SIZE, SIZE}},
         .clearValueCount = 1,
         .pClearValues = &clear,
   };
   VkCommandBuffer cmd = pv_cmd_begin_once(app, &app->graphics);
   vkCmdBeginRenderPass(cmd, &begin_info, VK_SUBPASS_CONTENTS_SECONDARY_COMMAND_BUFFERS);
   vkCmdExecuteCommands(cmd, 2, secondaries);
   vkCmdEndRenderPass(cmd);
   vkCmdExecuteCommands(cmd, 1, &secondaries[2]);
   pv_cmd_submit_once(app, &app->graphics, cmd);
   vkFreeCommandBuffers(app->device, app->graphics.pool, 3, secondaries);
}

static uint32_t model_pixel(int target, uint32_t x, uint32_t y)
{
   const uint32_t cx = x / CELL, cy = y / CELL;
   uint32_t color = backgrounds[target];
   for (int q = target ? 5 : 0; q < (target ? 8 : 5); q++) {
      if (cy == quads[q].cy && cx >= quads[q].cx && cx < quads[q].cx + quads[q].instances)
         color = quads[q].rgba;
   }
   return color;
}

static bool check(const struct scene *s, uint64_t *checksum)
{
   static const char *const what[2] = {"dynamic rendering target (element = y * 64 + x)",
                                       "render pass target (element = y * 64 + x)"};
   uint32_t expected[PIXELS];
   bool ok = true;
   for (int t = 0; t < 2; t++) {
      for (uint32_t y = 0; y < SIZE; y++) {
         for (uint32_t x = 0; x < SIZE; x++)
            expected[y * SIZE + x] = model_pixel(t, x, y);
      }
      ok &= pv_check_equal_u32(what[t], (const uint32_t *)s->readback.map + t * PIXELS, expected,
                               PIXELS);
   }
   *checksum = pv_fnv1a64(PV_FNV1A64_INIT, s->readback.map, s->readback.size);
   return ok;
}

static void destroy_scene(struct pv_vkapp *app, struct scene *s)
{
   vkDestroyPipeline(app->device, s->pass_pipeline, NULL);
   vkDestroyPipeline(app->device, s->dynamic_pipeline, NULL);
   vkDestroyPipelineLayout(app->device, s->layout, NULL);
   vkDestroyFramebuffer(app->device, s->framebuffer, NULL);
   vkDestroyRenderPass(app->device, s->pass, NULL);
   pv_buffer_finish(app, &s->readback);
   for (int t = 0; t < 2; t++)
      pv_image_finish(app, &s->targets[t]);
   pv_buffer_finish(app, &s->vertices);
}

int main(void)
{
   struct pv_vkapp app;
   begin(&app);
   struct scene scene;
   create_scene(&app, &scene);
   draw_dynamic(&app, &scene);
   draw_render_pass(&app, &scene);
   uint64_t checksum;
   bool ok = check(&scene, &checksum);
   destroy_scene(&app, &scene);
   return pv_test_end(&app, NAME, ok, checksum);
}
