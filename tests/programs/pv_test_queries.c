/* pv-test-queries: occlusion, pipeline-statistics and timestamp queries around a known draw. */

/* A 32x32-pixel quad on a 64x64 target and a quad clipped away whole, inside queries. Every
 * result is read three ways, vkGetQueryPoolResults 64-bit waiting, 64-bit with availability and
 * 32-bit, and copied by vkCmdCopyQueryPoolResults; all must agree with each other and with the
 * draw. Pools are reset in a command buffer and, with hostQueryReset, from the host, after which
 * the results must read as unavailable. Only what the spec fixes goes into the checksum: exact
 * sample counts only under VK_QUERY_CONTROL_PRECISE_BIT, never a timestamp's value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_test.h"
#include "pv_test_flat.h"

#define NAME         "pv-test-queries"
#define SIZE         64u
#define QUAD_SAMPLES (32u * 32u) /* one sample per pixel, pixel centres never on an edge */

enum occlusion_query {
   OCC_QUAD,    /* the quad, without PRECISE: any non-zero count */
   OCC_TWICE,   /* the quad drawn twice, PRECISE where supported */
   OCC_CLIPPED, /* a quad wholly outside the view volume: zero */
   OCC_EMPTY,   /* no draw at all: zero */
   OCC_COUNT,
};

/* The statistics asked for; results come in the order of their bits. */
#define STATISTICS                                                                                 \
   (VK_QUERY_PIPELINE_STATISTIC_INPUT_ASSEMBLY_VERTICES_BIT |                                      \
    VK_QUERY_PIPELINE_STATISTIC_INPUT_ASSEMBLY_PRIMITIVES_BIT |                                    \
    VK_QUERY_PIPELINE_STATISTIC_VERTEX_SHADER_INVOCATIONS_BIT |                                    \
    VK_QUERY_PIPELINE_STATISTIC_CLIPPING_INVOCATIONS_BIT |                                         \
    VK_QUERY_PIPELINE_STATISTIC_FRAGMENT_SHADER_INVOCATIONS_BIT)
enum {
   STAT_VERTICES,
   STAT_PRIMITIVES,
   STAT_VERTEX_SHADER,
   STAT_CLIPPING,
   STAT_FRAGMENT,
   STAT_COUNT
};

struct support {
   bool precise, statistics, host_reset, timestamps;
};

/* Where vkCmdCopyQueryPoolResults puts each copy in the readback buffer. */
struct copied {
   uint64_t occlusion[OCC_COUNT];              /* 64-bit, waited */
   uint64_t occlusion_available[OCC_COUNT][2]; /* 64-bit, waited, with availability */
   uint32_t occlusion32[OCC_COUNT];            /* 32-bit, waited */
   uint64_t statistics[STAT_COUNT + 1];        /* with availability */
   uint64_t timestamps[2][2];                  /* with availability */
};

struct scene {
   struct support support;
   struct pv_buffer vertices, copy;
   struct pv_test_flat flat;
   VkQueryPool occlusion, statistics, timestamps;
};

/* The checksum is over facts, each a value the spec fixes or a check's outcome. */
struct facts {
   bool ok;
   uint64_t checksum;
};

static void fact_fold(struct facts *f, uint64_t value)
{
   f->checksum = pv_fnv1a64(f->checksum, &value, sizeof(value));
}

static void fact_true(struct facts *f, const char *what, bool holds)
{
   fact_fold(f, holds);
   if (!holds) {
      fprintf(stderr, "%s: %s does not hold\n", NAME, what);
      f->ok = false;
   }
}

static void fact_equal(struct facts *f, const char *what, uint64_t got, uint64_t want)
{
   fact_fold(f, got);
   if (got != want) {
      fprintf(stderr, "%s: %s is %llu, expected %llu\n", NAME, what, (unsigned long long)got,
              (unsigned long long)want);
      f->ok = false;
   }
}

/* Enables each optional feature the device has; the program covers what it enables. */
static struct support begin(struct pv_vkapp *app)
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
   VkPhysicalDeviceVulkan12Features enable12 = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
         .hostQueryReset = has12.hostQueryReset,
   };
   const VkPhysicalDeviceFeatures2 enable = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
         .pNext = &enable12,
         .features =
               {
                     .occlusionQueryPrecise = has.features.occlusionQueryPrecise,
                     .pipelineStatisticsQuery = has.features.pipelineStatisticsQuery,
               },
   };
   pv_test_begin_device(app, NAME, &enable, NULL, 0);

   const struct support support = {
         .precise = has.features.occlusionQueryPrecise,
         .statistics = has.features.pipelineStatisticsQuery,
         .host_reset = has12.hostQueryReset,
         .timestamps = pv_test_timestamp_bits(app) > 0,
   };
   fprintf(stderr,
           "%s: precise occlusion %d, pipeline statistics %d, host reset %d, timestamps %d\n", NAME,
           support.precise, support.statistics, support.host_reset, support.timestamps);
   return support;
}

static VkQueryPool create_pool(struct pv_vkapp *app, VkQueryType type, uint32_t count,
                               VkQueryPipelineStatisticFlags statistics)
{
   const VkQueryPoolCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
         .queryType = type,
         .queryCount = count,
         .pipelineStatistics = statistics,
   };
   VkQueryPool pool;
   PV_VK_CHECK(vkCreateQueryPool(app->device, &info, NULL, &pool));
   return pool;
}

static void create_scene(struct pv_vkapp *app, struct scene *s)
{
   /* The quad covers pixels [8, 40) x [16, 48); the second lies beyond the right clip plane. */
   const float x0 = 8.0f / 32 - 1, x1 = 40.0f / 32 - 1, y0 = 16.0f / 32 - 1, y1 = 48.0f / 32 - 1;
   const struct pv_test_flat_vertex vertices[12] = {
         {{x0, y0}, {255, 255, 255, 255}}, {{x1, y0}, {255, 255, 255, 255}},
         {{x1, y1}, {255, 255, 255, 255}}, {{x0, y0}, {255, 255, 255, 255}},
         {{x1, y1}, {255, 255, 255, 255}}, {{x0, y1}, {255, 255, 255, 255}},
         {{2, -1}, {255, 0, 0, 255}},      {{3, -1}, {255, 0, 0, 255}},
         {{3, 1}, {255, 0, 0, 255}},       {{2, -1}, {255, 0, 0, 255}},
         {{3, 1}, {255, 0, 0, 255}},       {{2, 1}, {255, 0, 0, 255}},
   };
   pv_buffer_init(app, &s->vertices, sizeof(vertices),
                  VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                  PV_MEMORY_DEVICE);
   pv_buffer_upload(app, &app->graphics, &s->vertices, vertices, sizeof(vertices));
   pv_buffer_init(app, &s->copy, sizeof(struct copied), VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                  PV_MEMORY_READBACK);

   pv_test_flat_init(app, &s->flat, SIZE);

   s->occlusion = create_pool(app, VK_QUERY_TYPE_OCCLUSION, OCC_COUNT, 0);
   if (s->support.statistics)
      s->statistics = create_pool(app, VK_QUERY_TYPE_PIPELINE_STATISTICS, 1, STATISTICS);
   if (s->support.timestamps)
      s->timestamps = create_pool(app, VK_QUERY_TYPE_TIMESTAMP, 2, 0);
}

static void begin_pass(const struct scene *s, VkCommandBuffer cmd)
{
   const VkClearValue clear = {.color = {.float32 = {0, 0, 0, 1}}};
   const VkRenderPassBeginInfo begin = {
         .sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO,
         .renderPass = s->flat.pass,
         .framebuffer = s->flat.framebuffer,
         .renderArea = {{0, 0}, {SIZE, SIZE}},
         .clearValueCount = 1,
         .pClearValues = &clear,
   };
   const VkDeviceSize offset = 0;
   vkCmdBeginRenderPass(cmd, &begin, VK_SUBPASS_CONTENTS_INLINE);
   vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, s->flat.pipeline);
   vkCmdBindVertexBuffers(cmd, 0, 1, &s->vertices.buffer, &offset);
}

static void record_copies(const struct scene *s, VkCommandBuffer cmd)
{
   const VkQueryResultFlags wait64 = VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT;
   const VkQueryResultFlags available = wait64 | VK_QUERY_RESULT_WITH_AVAILABILITY_BIT;
   const VkBuffer dst = s->copy.buffer;
   vkCmdCopyQueryPoolResults(cmd, s->occlusion, 0, OCC_COUNT, dst,
                             offsetof(struct copied, occlusion), sizeof(uint64_t), wait64);
   vkCmdCopyQueryPoolResults(cmd, s->occlusion, 0, OCC_COUNT, dst,
                             offsetof(struct copied, occlusion_available), 2 * sizeof(uint64_t),
                             available);
   vkCmdCopyQueryPoolResults(cmd, s->occlusion, 0, OCC_COUNT, dst,
                             offsetof(struct copied, occlusion32), sizeof(uint32_t),
                             VK_QUERY_RESULT_WAIT_BIT);
   if (s->support.statistics)
      vkCmdCopyQueryPoolResults(cmd, s->statistics, 0, 1, dst, offsetof(struct copied, statistics),
                                sizeof(((struct copied *)0)->statistics), available);
   if (s->support.timestamps)
      vkCmdCopyQueryPoolResults(cmd, s->timestamps, 0, 2, dst, offsetof(struct copied, timestamps),
                                2 * sizeof(uint64_t), available);
   pv_cmd_memory_barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
}

/* Every query once: the statistics around the first draw, timestamps on either side. */
static void draw_all(struct pv_vkapp *app, struct scene *s)
{
   const struct support *sup = &s->support;
   const VkQueryControlFlags precise = sup->precise ? VK_QUERY_CONTROL_PRECISE_BIT : 0;
   if (sup->timestamps && sup->host_reset)
      vkResetQueryPool(app->device, s->timestamps, 0, 2);

   VkCommandBuffer cmd = pv_cmd_begin_once(app, &app->graphics);
   vkCmdResetQueryPool(cmd, s->occlusion, 0, OCC_COUNT);
   if (sup->statistics)
      vkCmdResetQueryPool(cmd, s->statistics, 0, 1);
   if (sup->timestamps && !sup->host_reset)
      vkCmdResetQueryPool(cmd, s->timestamps, 0, 2);
   if (sup->timestamps)
      vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, s->timestamps, 0);
   begin_pass(s, cmd);
   if (sup->statistics)
      vkCmdBeginQuery(cmd, s->statistics, 0, 0);
   vkCmdBeginQuery(cmd, s->occlusion, OCC_QUAD, 0);
   vkCmdDraw(cmd, 6, 1, 0, 0);
   vkCmdEndQuery(cmd, s->occlusion, OCC_QUAD);
   if (sup->statistics)
      vkCmdEndQuery(cmd, s->statistics, 0);
   vkCmdBeginQuery(cmd, s->occlusion, OCC_TWICE, precise);
   vkCmdDraw(cmd, 6, 1, 0, 0);
   vkCmdDraw(cmd, 6, 1, 0, 0);
   vkCmdEndQuery(cmd, s->occlusion, OCC_TWICE);
   vkCmdBeginQuery(cmd, s->occlusion, OCC_CLIPPED, precise);
   vkCmdDraw(cmd, 6, 1, 6, 0);
   vkCmdEndQuery(cmd, s->occlusion, OCC_CLIPPED);
   vkCmdBeginQuery(cmd, s->occlusion, OCC_EMPTY, 0);
   vkCmdEndQuery(cmd, s->occlusion, OCC_EMPTY);
   vkCmdEndRenderPass(cmd);
   if (sup->timestamps)
      vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, s->timestamps, 1);
   record_copies(s, cmd);
   pv_cmd_submit_once(app, &app->graphics, cmd);
}

/* vkGetQueryPoolResults, where VK_NOT_READY is an answer rather than an error. */
static VkResult get_results(struct pv_vkapp *app, VkQueryPool pool, uint32_t first, uint32_t count,
                            size_t size, void *data, VkDeviceSize stride, VkQueryResultFlags flags)
{
   VkResult result =
         vkGetQueryPoolResults(app->device, pool, first, count, size, data, stride, flags);
   if (result != VK_SUCCESS && result != VK_NOT_READY)
      pv_vk_fail("vkGetQueryPoolResults", result, __FILE__, __LINE__);
   return result;
}

static void check_occlusion(struct pv_vkapp *app, const struct scene *s, struct facts *f)
{
   uint64_t waited[OCC_COUNT], available[OCC_COUNT][2];
   uint32_t narrow[OCC_COUNT];
   get_results(app, s->occlusion, 0, OCC_COUNT, sizeof(waited), waited, sizeof(waited[0]),
               VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
   VkResult result = get_results(app, s->occlusion, 0, OCC_COUNT, sizeof(available), available,
                                 sizeof(available[0]),
                                 VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WITH_AVAILABILITY_BIT);
   fact_equal(f, "occlusion with availability: result", (uint64_t)result, VK_SUCCESS);
   get_results(app, s->occlusion, 0, OCC_COUNT, sizeof(narrow), narrow, sizeof(narrow[0]),
               VK_QUERY_RESULT_WAIT_BIT);

   fact_true(f, "occlusion of the quad: non-zero", waited[OCC_QUAD] != 0);
   if (s->support.precise)
      fact_equal(f, "precise occlusion of the quad drawn twice", waited[OCC_TWICE],
                 2 * QUAD_SAMPLES);
   else
      fact_true(f, "occlusion of the quad drawn twice: non-zero", waited[OCC_TWICE] != 0);
   fact_equal(f, "occlusion of the clipped quad", waited[OCC_CLIPPED], 0);
   fact_equal(f, "occlusion of no draw", waited[OCC_EMPTY], 0);

   const struct copied *copied = s->copy.map;
   bool agree = true, all_available = true;
   for (int q = 0; q < OCC_COUNT; q++) {
      agree &= available[q][0] == waited[q] && narrow[q] == waited[q];
      agree &= copied->occlusion[q] == waited[q] && copied->occlusion32[q] == waited[q];
      agree &= copied->occlusion_available[q][0] == waited[q];
      all_available &= available[q][1] == 1 && copied->occlusion_available[q][1] == 1;
   }
   fact_true(f, "occlusion: every read and copy agrees", agree);
   fact_true(f, "occlusion: every query available", all_available);
}

static void check_statistics(struct pv_vkapp *app, const struct scene *s, struct facts *f)
{
   uint64_t stats[STAT_COUNT];
   get_results(app, s->statistics, 0, 1, sizeof(stats), stats, sizeof(stats),
               VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
   fprintf(stderr,
           "%s: statistics: %llu vertices, %llu primitives, %llu vertex shaders, %llu "
           "clipped, %llu fragment shaders\n",
           NAME, (unsigned long long)stats[0], (unsigned long long)stats[1],
           (unsigned long long)stats[2], (unsigned long long)stats[3],
           (unsigned long long)stats[4]);
   fact_equal(f, "input-assembly vertices", stats[STAT_VERTICES], 6);
   fact_equal(f, "input-assembly primitives", stats[STAT_PRIMITIVES], 2);
   /* Counts of shader invocations are the implementation's own: only their bounds are fixed
    * (at least the 4 distinct vertices; every covered pixel, helpers perhaps besides). */
   fact_true(f, "vertex shader invocations in [4, 6]",
             stats[STAT_VERTEX_SHADER] >= 4 && stats[STAT_VERTEX_SHADER] <= 6);
   fact_true(f, "clipping invocations in [1, 2]",
             stats[STAT_CLIPPING] >= 1 && stats[STAT_CLIPPING] <= 2);
   fact_true(f, "fragment shader invocations in [1024, 2048]",
             stats[STAT_FRAGMENT] >= QUAD_SAMPLES && stats[STAT_FRAGMENT] <= 2 * QUAD_SAMPLES);
   const struct copied *copied = s->copy.map;
   fact_true(f, "statistics: copied as read",
             memcmp(copied->statistics, stats, sizeof(stats)) == 0);
   fact_equal(f, "statistics: copied availability", copied->statistics[STAT_COUNT], 1);
}

static void check_timestamps(struct pv_vkapp *app, const struct scene *s, struct facts *f)
{
   uint64_t stamps[2][2];
   VkResult result = get_results(
         app, s->timestamps, 0, 2, sizeof(stamps), stamps, sizeof(stamps[0]),
         VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT | VK_QUERY_RESULT_WITH_AVAILABILITY_BIT);
   fact_equal(f, "timestamps: result", (uint64_t)result, VK_SUCCESS);
   fact_true(f, "timestamps: both available", stamps[0][1] == 1 && stamps[1][1] == 1);
   fact_true(f, "timestamps: the second not before the first", stamps[1][0] >= stamps[0][0]);
   const struct copied *copied = s->copy.map;
   fact_true(f, "timestamps: copied as read",
             memcmp(copied->timestamps, stamps, sizeof(stamps)) == 0);
}

/* After vkResetQueryPool from the host every result is unavailable again; a new use of one
 * query makes that one, and only that one, available. */
static void check_host_reset(struct pv_vkapp *app, struct scene *s, struct facts *f)
{
   uint64_t available[OCC_COUNT][2];
   const VkQueryResultFlags flags = VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WITH_AVAILABILITY_BIT;
   vkResetQueryPool(app->device, s->occlusion, 0, OCC_COUNT);
   memset(available, 0xff, sizeof(available));
   VkResult result = get_results(app, s->occlusion, 0, OCC_COUNT, sizeof(available), available,
                                 sizeof(available[0]), flags);
   fact_equal(f, "after host reset: result", (uint64_t)result, VK_NOT_READY);
   bool none = true;
   for (int q = 0; q < OCC_COUNT; q++)
      none &= available[q][1] == 0;
   fact_true(f, "after host reset: no query available", none);

   VkCommandBuffer cmd = pv_cmd_begin_once(app, &app->graphics);
   begin_pass(s, cmd);
   vkCmdBeginQuery(cmd, s->occlusion, OCC_QUAD,
                   s->support.precise ? VK_QUERY_CONTROL_PRECISE_BIT : 0);
   vkCmdDraw(cmd, 6, 1, 0, 0);
   vkCmdEndQuery(cmd, s->occlusion, OCC_QUAD);
   vkCmdEndRenderPass(cmd);
   pv_cmd_submit_once(app, &app->graphics, cmd);

   uint64_t quad = 0;
   get_results(app, s->occlusion, OCC_QUAD, 1, sizeof(quad), &quad, sizeof(quad),
               VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
   if (s->support.precise)
      fact_equal(f, "after host reset: precise occlusion of the quad", quad, QUAD_SAMPLES);
   else
      fact_true(f, "after host reset: occlusion of the quad non-zero", quad != 0);
   result = get_results(app, s->occlusion, OCC_TWICE, OCC_COUNT - OCC_TWICE,
                        (OCC_COUNT - OCC_TWICE) * sizeof(available[0]), available,
                        sizeof(available[0]), flags);
   fact_equal(f, "after host reset: the unused queries' result", (uint64_t)result, VK_NOT_READY);
   none = true;
   for (int q = 0; q < OCC_COUNT - OCC_TWICE; q++)
      none &= available[q][1] == 0;
   fact_true(f, "after host reset: the unused queries unavailable", none);
}

static void destroy_scene(struct pv_vkapp *app, struct scene *s)
{
   vkDestroyQueryPool(app->device, s->timestamps, NULL);
   vkDestroyQueryPool(app->device, s->statistics, NULL);
   vkDestroyQueryPool(app->device, s->occlusion, NULL);
   pv_test_flat_finish(app, &s->flat);
   pv_buffer_finish(app, &s->copy);
   pv_buffer_finish(app, &s->vertices);
}

int main(void)
{
   struct pv_vkapp app;
   struct scene scene = {.support = begin(&app)};
   create_scene(&app, &scene);
   draw_all(&app, &scene);

   struct facts facts = {true, PV_FNV1A64_INIT};
   /* What the device supports decides what was tested, so it is part of the checksum too. */
   const struct support *sup = &scene.support;
   fact_fold(&facts,
             sup->precise | sup->statistics << 1 | sup->host_reset << 2 | sup->timestamps << 3);
   check_occlusion(&app, &scene, &facts);
   if (sup->statistics)
      check_statistics(&app, &scene, &facts);
   if (sup->timestamps)
      check_timestamps(&app, &scene, &facts);
   if (sup->host_reset)
      check_host_reset(&app, &scene, &facts);

   destroy_scene(&app, &scene);
   return pv_test_end(&app, NAME, facts.ok, facts.checksum);
}
