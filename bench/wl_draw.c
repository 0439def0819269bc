/* draw: a 1080p render pass of 100k flat-coloured triangles, fence-waited. */

/* The triangles tile the screen exactly, so every pixel has one colour the host can predict. */
#include <stdlib.h>

#include "pv_workload.h"

static const uint32_t draw_vert_spv[] =
#include "draw.vert.spv.h"
      ;
static const uint32_t draw_frag_spv[] =
#include "draw.frag.spv.h"
      ;

#define DRAW_WIDTH  1920
#define DRAW_HEIGHT 1080

/* 250 x 200 cells of two triangles: 100,000 triangles; cells are 7-8 by 5-6 pixels. */
#define DRAW_COLUMNS       250
#define DRAW_ROWS          200
#define DRAW_QUICK_COLUMNS 25
#define DRAW_QUICK_ROWS    20

struct draw_vertex {
   float x, y;     /* pixels */
   uint32_t color; /* R8G8B8A8: red in the lowest byte, as the target stores it */
};

struct draw_grid {
   uint32_t columns, rows;
};

/* Cell edges on whole pixels, spread evenly. */
static uint32_t edge(uint32_t k, uint32_t cells, uint32_t pixels)
{
   return k * pixels / cells;
}

static uint32_t cell_color(uint32_t cell)
{
   return pv_hash32(cell) | 0xff000000u; /* opaque */
}

static struct draw_vertex *make_vertices(struct draw_grid grid, uint32_t *count)
{
   *count = grid.columns * grid.rows * 6;
   struct draw_vertex *v = pv_alloc(*count * sizeof(*v));
   struct draw_vertex *out = v;
   for (uint32_t r = 0; r < grid.rows; r++) {
      float y0 = (float)edge(r, grid.rows, DRAW_HEIGHT);
      float y1 = (float)edge(r + 1, grid.rows, DRAW_HEIGHT);
      for (uint32_t c = 0; c < grid.columns; c++) {
         float x0 = (float)edge(c, grid.columns, DRAW_WIDTH);
         float x1 = (float)edge(c + 1, grid.columns, DRAW_WIDTH);
         uint32_t color = cell_color(r * grid.columns + c);
         /* Two triangles sharing the diagonal with bit-identical corners: no gap, no overlap. */
         const struct draw_vertex quad[6] = {
               {x0, y0, color}, {x1, y0, color}, {x1, y1, color},
               {x0, y0, color}, {x1, y1, color}, {x0, y1, color},
         };
         for (int i = 0; i < 6; i++)
            *out++ = quad[i];
      }
   }
   return v;
}

static uint32_t *expected_image(struct draw_grid grid)
{
   uint32_t *pixels = pv_alloc((size_t)DRAW_WIDTH * DRAW_HEIGHT * 4);
   for (uint32_t r = 0; r < grid.rows; r++) {
      for (uint32_t y = edge(r, grid.rows, DRAW_HEIGHT); y < edge(r + 1, grid.rows, DRAW_HEIGHT);
           y++) {
         for (uint32_t c = 0; c < grid.columns; c++) {
            uint32_t color = cell_color(r * grid.columns + c);
            for (uint32_t x = edge(c, grid.columns, DRAW_WIDTH);
                 x < edge(c + 1, grid.columns, DRAW_WIDTH); x++)
               pixels[(size_t)y * DRAW_WIDTH + x] = color;
         }
      }
   }
   return pixels;
}

struct draw_state {
   struct pv_vkapp *app;
   VkCommandBuffer cmd;
   VkFence fence;
};

static void draw_once(void *data)
{
   struct draw_state *st = data;
   pv_submit(&st->app->graphics, st->cmd, st->fence);
   pv_fence_wait(st->app, st->fence);
}

static void record_draw(VkCommandBuffer cmd, VkRenderPass pass, VkFramebuffer framebuffer,
                        VkPipeline pipeline, VkPipelineLayout layout, VkBuffer vertices,
                        uint32_t vertex_count)
{
   const VkClearValue clear = {.color = {.float32 = {0, 0, 0, 1}}};
   const VkRenderPassBeginInfo begin = {
         .sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO,
         .renderPass = pass,
         .framebuffer = framebuffer,
         .renderArea = {{0, 0}, {DRAW_WIDTH, DRAW_HEIGHT}},
         .clearValueCount = 1,
         .pClearValues = &clear,
   };
   const float inv_half_size[2] = {2.0f / DRAW_WIDTH, 2.0f / DRAW_HEIGHT};
   const VkDeviceSize offset = 0;
   pv_cmd_begin(cmd, 0);
   vkCmdBeginRenderPass(cmd, &begin, VK_SUBPASS_CONTENTS_INLINE);
   vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, pipeline);
   vkCmdPushConstants(cmd, layout, VK_SHADER_STAGE_VERTEX_BIT, 0, sizeof(inv_half_size),
                      inv_half_size);
   vkCmdBindVertexBuffers(cmd, 0, 1, &vertices, &offset);
   vkCmdDraw(cmd, vertex_count, 1, 0, 0);
   vkCmdEndRenderPass(cmd);
   pv_cmd_end(cmd);
}

static int run_draw(const struct pv_workload_args *args)
{
   const struct draw_grid grid = args->quick
                                       ? (struct draw_grid){DRAW_QUICK_COLUMNS, DRAW_QUICK_ROWS}
                                       : (struct draw_grid){DRAW_COLUMNS, DRAW_ROWS};
   struct pv_vkapp app;
   pv_vkapp_init(&app, &(const struct pv_vkapp_config){.name = "pv-workload draw"});

   uint32_t vertex_count;
   struct draw_vertex *host_vertices = make_vertices(grid, &vertex_count);
   struct pv_buffer vertices;
   pv_buffer_init(&app, &vertices, vertex_count * sizeof(*host_vertices),
                  VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                  PV_MEMORY_DEVICE);
   pv_buffer_upload(&app, &app.graphics, &vertices, host_vertices, vertices.size);
   free(host_vertices);

   struct pv_image target;
   pv_image_init(&app, &target, VK_FORMAT_R8G8B8A8_UNORM, DRAW_WIDTH, DRAW_HEIGHT,
                 VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT);
   VkRenderPass pass = pv_render_pass_create(&app, target.format, VK_FORMAT_UNDEFINED);
   VkFramebuffer framebuffer = pv_framebuffer_create(&app, pass, &target, NULL);
   const VkPushConstantRange push = {VK_SHADER_STAGE_VERTEX_BIT, 0, 2 * sizeof(float)};
   const VkPipelineLayoutCreateInfo layout_info = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
         .pushConstantRangeCount = 1,
         .pPushConstantRanges = &push,
   };
   VkPipelineLayout layout;
   PV_VK_CHECK(vkCreatePipelineLayout(app.device, &layout_info, NULL, &layout));
   const VkVertexInputAttributeDescription attributes[2] = {
         {0, 0, VK_FORMAT_R32G32_SFLOAT, offsetof(struct draw_vertex, x)},
         {1, 0, VK_FORMAT_R8G8B8A8_UNORM, offsetof(struct draw_vertex, color)},
   };
   const struct pv_graphics_desc desc = {
         .vertex = PV_SPIRV(draw_vert_spv),
         .fragment = PV_SPIRV(draw_frag_spv),
         .render_pass = pass,
         .layout = layout,
         .vertex_stride = sizeof(struct draw_vertex),
         .attributes = attributes,
         .attribute_count = 2,
         .width = DRAW_WIDTH,
         .height = DRAW_HEIGHT,
   };
   VkPipeline pipeline = pv_graphics_pipeline_create(&app, &desc);

   struct draw_state st = {.app = &app, .cmd = pv_cmd_alloc(&app, &app.graphics)};
   st.fence = pv_fence_create(&app);
   record_draw(st.cmd, pass, framebuffer, pipeline, layout, vertices.buffer, vertex_count);

   uint64_t *samples = pv_wl_samples(args);
   uint64_t *starts = pv_wl_samples(args);
   struct pv_cpu_time cpu;
   pv_wl_measure(args, draw_once, &st, samples, starts, &cpu);

   const size_t pixels = (size_t)DRAW_WIDTH * DRAW_HEIGHT;
   struct pv_buffer readback;
   pv_buffer_init(&app, &readback, pixels * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                  PV_MEMORY_READBACK);
   pv_image_copy_to_buffer(&app, &app.graphics, &target, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                           &readback);
   uint32_t *expected = expected_image(grid);
   const struct pv_result result = {
         .workload = "draw",
         .device = app.props.deviceName,
         .iterations = args->iterations,
         .items_per_iteration = vertex_count / 3,
         .item_unit = "triangles",
         .valid = pv_check_equal_u32("draw pixels", readback.map, expected, pixels),
         .checksum = pv_fnv1a64(PV_FNV1A64_INIT, readback.map, pixels * 4),
         .samples_ns = samples,
         .cpu = cpu,
         .start_ns = starts,
   };
   int status = pv_wl_report(&result);

   free(expected);
   free(samples);
   free(starts);
   pv_buffer_finish(&app, &readback);
   vkDestroyFence(app.device, st.fence, NULL);
   vkDestroyPipeline(app.device, pipeline, NULL);
   vkDestroyPipelineLayout(app.device, layout, NULL);
   vkDestroyFramebuffer(app.device, framebuffer, NULL);
   vkDestroyRenderPass(app.device, pass, NULL);
   pv_image_finish(&app, &target);
   pv_buffer_finish(&app, &vertices);
   pv_vkapp_finish(&app);
   return status;
}

const struct pv_workload pv_wl_draw = {
      .name = "draw",
      .summary = "1080p render pass of 100k triangles, fence-waited; quick: 1k",
      .iterations = 100,
      .warmup = 5,
      .quick_iterations = 3,
      .quick_warmup = 1,
      .run = run_draw,
};
