/* pv-test-indirect: indirect draws, indexed or not, with counts from buffers, checked by pixel. */

/* A 64x64 target of 8x8 rows of 8-pixel cells; every draw puts one row's quad into cells
 * [firstInstance, firstInstance + instanceCount), so each field of each indirect command shows
 * in the image. vkCmdDrawIndirect with a stride and with one command the GPU wrote itself,
 * vkCmdDrawIndexedIndirect, and vkCmdDraw(Indexed)IndirectCount with counts below, above (capped
 * by maxDrawCount), at zero, and written by the GPU. Commands past the count draw full rows, so
 * a count not honoured shows. */
#include <stdio.h>

#include "pv_test.h"
#include "pv_test_flat.h"

#define NAME         "pv-test-indirect"
#define SIZE         64u
#define CELL         8u
#define ROWS         8u
#define PIXELS       (SIZE * SIZE)
#define CORNERS_BASE (ROWS * 6) /* the indexed draws' 4-corner quads follow the 6-vertex ones */

/* The indirect buffer; every offset is a multiple of 4 as the commands require. */
struct indirect {
   uint32_t skipped[4]; /* a non-zero offset for the first draw */
   struct {
      VkDrawIndirectCommand draw;
      uint32_t gap[4];
   } strided[2];                                    /* stride 32 */
   VkDrawIndexedIndirectCommand indexed[2];         /* tightly packed, stride 20 */
   VkDrawIndirectCommand counted[3];                /* count 2 */
   VkDrawIndirectCommand capped[2];                 /* count 2, maxDrawCount 1 */
   VkDrawIndexedIndirectCommand counted_indexed[2]; /* count written by the GPU: 1 */
   VkDrawIndirectCommand uncounted;                 /* count 0 */
   VkDrawIndirectCommand gpu_written;               /* vkCmdUpdateBuffer'd before the pass */
};

enum { COUNT_COUNTED, COUNT_CAPPED, COUNT_INDEXED, COUNT_ZERO, COUNT_SLOTS };

/* The cells each row should end with, as [first, first + count) spans. */
struct span {
   uint32_t row, first, count;
};
static const struct span spans[] = {
      {0, 1, 2}, /* strided[0] */
      {1, 5, 1}, /* strided[1] */
      {1, 0, 1}, /* gpu_written */
      {2, 0, 3}, /* indexed[0] */
      {3, 7, 1}, /* indexed[1]: firstIndex 6 picks the next row's corners */
      {4, 0, 4}, /* counted[0] */
      {5, 4, 1}, /* counted[1]; counted[2], past the count, would fill row 6 */
      {6, 6, 2}, /* capped[0]; capped[1], past maxDrawCount, would fill row 7 */
      {7, 3, 1}, /* counted_indexed[0]; [1], past the count, would fill row 5 */
};

static uint32_t row_color(uint32_t row)
{
   return (row & 1 ? 0xffu : 0) | (row & 2 ? 0xff00u : 0) | (row & 4 ? 0xff0000u : 0) | 0xff000000u;
}

struct scene {
   struct pv_buffer vertices, indices, commands, counts, readback;
   struct pv_test_flat flat;
};

static void begin(struct pv_vkapp *app)
{
   pv_test_begin_instance(app, NAME);
   VkPhysicalDeviceVulkan12Features has12 = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
   };
   VkPhysicalDeviceFeatures2 has = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
         .pNext = &has12,
   };
   vkGetPhysicalDeviceFeatures2(app->physical, &has);
   if (!has.features.multiDrawIndirect || !has.features.drawIndirectFirstInstance ||
       !has12.drawIndirectCount)
      pv_fail("the device lacks multiDrawIndirect, drawIndirectFirstInstance or "
              "drawIndirectCount");
   VkPhysicalDeviceVulkan12Features enable12 = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
         .drawIndirectCount = VK_TRUE,
   };
   const VkPhysicalDeviceFeatures2 enable = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
         .pNext = &enable12,
         .features = {.multiDrawIndirect = VK_TRUE, .drawIndirectFirstInstance = VK_TRUE},
   };
   pv_test_begin_device(app, NAME, &enable, NULL, 0);
}

static void init_device_buffer(struct pv_vkapp *app, struct pv_buffer *buf, const void *data,
                               VkDeviceSize size, VkBufferUsageFlags usage)
{
   pv_buffer_init(app, buf, size, usage | VK_BUFFER_USAGE_TRANSFER_DST_BIT, PV_MEMORY_DEVICE);
   pv_buffer_upload(app, &app->graphics, buf, data, size);
}

/* Row r's quad sits in cell (0, r): six vertices for plain draws, four corners for indexed. */
static void create_geometry(struct pv_vkapp *app, struct scene *s)
{
   struct pv_test_flat_vertex vertices[ROWS * 6 + ROWS * 4];
   for (uint32_t r = 0; r < ROWS; r++) {
      const float x0 = -1, x1 = x0 + 2.0f * CELL / SIZE;
      const float y0 = (float)(r * CELL) / (SIZE / 2) - 1, y1 = y0 + 2.0f * CELL / SIZE;
      const float corners[4][2] = {{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}};
      static const int triangles[6] = {0, 1, 2, 0, 2, 3};
      const uint32_t rgba = row_color(r);
      for (int v = 0; v < 10; v++) {
         const int corner = v < 6 ? triangles[v] : v - 6;
         struct pv_test_flat_vertex *out =
               v < 6 ? &vertices[r * 6 + v] : &vertices[CORNERS_BASE + r * 4 + v - 6];
         out->pos[0] = corners[corner][0];
         out->pos[1] = corners[corner][1];
         for (int c = 0; c < 4; c++)
            out->color[c] = (uint8_t)(rgba >> (8 * c));
      }
   }
   init_device_buffer(app, &s->vertices, vertices, sizeof(vertices),
                      VK_BUFFER_USAGE_VERTEX_BUFFER_BIT);
   /* The second six indices name the next quad's corners. */
   const uint16_t indices[12] = {0, 1, 2, 0, 2, 3, 4, 5, 6, 4, 6, 7};
   init_device_buffer(app, &s->indices, indices, sizeof(indices), VK_BUFFER_USAGE_INDEX_BUFFER_BIT);
}

static int32_t corners_of(uint32_t row)
{
   return (int32_t)(CORNERS_BASE + row * 4);
}

static void create_commands(struct pv_vkapp *app, struct scene *s)
{
   const struct indirect commands = {
         .strided = {{.draw = {6, 2, 0 * 6, 1}}, {.draw = {6, 1, 1 * 6, 5}}},
         .indexed = {{6, 3, 0, corners_of(2), 0}, {6, 1, 6, corners_of(2), 7}},
         .counted = {{6, 4, 4 * 6, 0}, {6, 1, 5 * 6, 4}, {6, ROWS, 6 * 6, 0}},
         .capped = {{6, 2, 6 * 6, 6}, {6, ROWS, 7 * 6, 0}},
         .counted_indexed = {{6, 1, 0, corners_of(7), 3}, {6, ROWS, 0, corners_of(5), 0}},
         .uncounted = {6, ROWS, 0 * 6, 0},
         .gpu_written = {0, 0, 0, 0}, /* drawing nothing unless the update lands */
   };
   init_device_buffer(app, &s->commands, &commands, sizeof(commands),
                      VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT);
   const uint32_t counts[COUNT_SLOTS] = {2, 2, 0, 0};
   init_device_buffer(app, &s->counts, counts, sizeof(counts), VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT);
}

static void create_scene(struct pv_vkapp *app, struct scene *s)
{
   create_geometry(app, s);
   create_commands(app, s);
   pv_buffer_init(app, &s->readback, PIXELS * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                  PV_MEMORY_READBACK);
   pv_test_flat_init(app, &s->flat, SIZE);
}

/* The GPU writes one draw and one count; the barrier makes them visible to the indirect reads. */
static void write_on_gpu(const struct scene *s, VkCommandBuffer cmd)
{
   const VkDrawIndirectCommand draw = {6, 1, 1 * 6, 0};
   vkCmdUpdateBuffer(cmd, s->commands.buffer, offsetof(struct indirect, gpu_written), sizeof(draw),
                     &draw);
   vkCmdFillBuffer(cmd, s->counts.buffer, COUNT_INDEXED * sizeof(uint32_t), sizeof(uint32_t), 1);
   pv_cmd_memory_barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                         VK_PIPELINE_STAGE_DRAW_INDIRECT_BIT, VK_ACCESS_INDIRECT_COMMAND_READ_BIT);
}

static void draw(struct pv_vkapp *app, struct scene *s)
{
   const VkBuffer commands = s->commands.buffer, counts = s->counts.buffer;
   const VkClearValue clear = {.color = {.float32 = {0, 0, 0, 0}}};
   const VkRenderPassBeginInfo begin_info = {
         .sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO,
         .renderPass = s->flat.pass,
         .framebuffer = s->flat.framebuffer,
         .renderArea = {{0, 0}, {SIZE, SIZE}},
         .clearValueCount = 1,
         .pClearValues = &clear,
   };
   const VkDeviceSize offset = 0;
   const uint32_t indexed_stride = sizeof(VkDrawIndexedIndirectCommand);
   const uint32_t stride = sizeof(VkDrawIndirectCommand);
   VkCommandBuffer cmd = pv_cmd_begin_once(app, &app->graphics);
   write_on_gpu(s, cmd);
   vkCmdBeginRenderPass(cmd, &begin_info, VK_SUBPASS_CONTENTS_INLINE);
   vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, s->flat.pipeline);
   vkCmdBindVertexBuffers(cmd, 0, 1, &s->vertices.buffer, &offset);
   vkCmdBindIndexBuffer(cmd, s->indices.buffer, 0, VK_INDEX_TYPE_UINT16);
   vkCmdDrawIndirect(cmd, commands, offsetof(struct indirect, strided), 2,
                     sizeof(((struct indirect *)0)->strided[0]));
   vkCmdDrawIndirect(cmd, commands, offsetof(struct indirect, gpu_written), 1, stride);
   vkCmdDrawIndexedIndirect(cmd, commands, offsetof(struct indirect, indexed), 2, indexed_stride);
   vkCmdDrawIndirectCount(cmd, commands, offsetof(struct indirect, counted), counts,
                          COUNT_COUNTED * sizeof(uint32_t), 3, stride);
   vkCmdDrawIndirectCount(cmd, commands, offsetof(struct indirect, capped), counts,
                          COUNT_CAPPED * sizeof(uint32_t), 1, stride);
   vkCmdDrawIndexedIndirectCount(cmd, commands, offsetof(struct indirect, counted_indexed), counts,
                                 COUNT_INDEXED * sizeof(uint32_t), 2, indexed_stride);
   vkCmdDrawIndirectCount(cmd, commands, offsetof(struct indirect, uncounted), counts,
                          COUNT_ZERO * sizeof(uint32_t), 1, stride);
   vkCmdEndRenderPass(cmd);
   pv_cmd_submit_once(app, &app->graphics, cmd);
}

static uint32_t model_pixel(uint32_t x, uint32_t y)
{
   const uint32_t cx = x / CELL, row = y / CELL;
   for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
      if (spans[i].row == row && cx >= spans[i].first && cx < spans[i].first + spans[i].count)
         return row_color(row);
   }
   return 0; /* the clear: transparent black */
}

static void destroy_scene(struct pv_vkapp *app, struct scene *s)
{
   pv_test_flat_finish(app, &s->flat);
   pv_buffer_finish(app, &s->readback);
   pv_buffer_finish(app, &s->counts);
   pv_buffer_finish(app, &s->commands);
   pv_buffer_finish(app, &s->indices);
   pv_buffer_finish(app, &s->vertices);
}

int main(void)
{
   struct pv_vkapp app;
   begin(&app);
   struct scene scene;
   create_scene(&app, &scene);
   draw(&app, &scene);
   pv_image_copy_to_buffer(&app, &app.graphics, &scene.flat.color,
                           VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, &scene.readback);

   uint32_t expected[PIXELS];
   for (uint32_t y = 0; y < SIZE; y++) {
      for (uint32_t x = 0; x < SIZE; x++)
         expected[y * SIZE + x] = model_pixel(x, y);
   }
   bool ok = pv_check_equal_u32("indirect draws (element = y * 64 + x)", scene.readback.map,
                                expected, PIXELS);
   uint64_t checksum = pv_fnv1a64(PV_FNV1A64_INIT, scene.readback.map, scene.readback.size);

   destroy_scene(&app, &scene);
   return pv_test_end(&app, NAME, ok, checksum);
}
