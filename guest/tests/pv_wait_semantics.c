/* pv-wait-semantics: the results of every wait the fast-wait layer replaces, on any device. */

/* Run natively (the layer passes through), as a venus guest with the layer (active) and
 * without: the same results each time. Only results are checked, never timing. Exits 0 when
 * all match, 1 on a mismatch, 2 on a Vulkan error. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pv_vkapp.h"

#define NAME "pv-wait-semantics"

/* Fills of 16 MiB take milliseconds on lavapipe: the waits below really wait. */
#define FILL_SIZE   (16u << 20)
#define TIMEOUT_5MS 5000000ull

static int mismatches;

static void expect(const char *what, VkResult got, VkResult want)
{
   if (got == want)
      return;
   fprintf(stderr, "%s: FAIL %s: %s, expected %s\n", NAME, what, pv_vk_result_name(got),
           pv_vk_result_name(want));
   mismatches++;
}

static void expect_u64(const char *what, uint64_t got, uint64_t want)
{
   if (got == want)
      return;
   fprintf(stderr, "%s: FAIL %s: %" PRIu64 ", expected %" PRIu64 "\n", NAME, what, got, want);
   mismatches++;
}

static void check_fill(const char *what, const struct pv_buffer *buf, uint32_t value)
{
   if (!pv_check_fill_u32(what, buf->map, value, FILL_SIZE / 4))
      mismatches++;
}

static VkFence create_fence(struct pv_vkapp *app, bool signaled)
{
   const VkFenceCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO,
         .flags = signaled ? VK_FENCE_CREATE_SIGNALED_BIT : 0,
   };
   VkFence fence;
   PV_VK_CHECK(vkCreateFence(app->device, &info, NULL, &fence));
   return fence;
}

/* A command buffer filling buf with value, its writes made visible to the host. */
static VkCommandBuffer record_fill(struct pv_vkapp *app, struct pv_vkapp_queue *q,
                                   const struct pv_buffer *buf, uint32_t value)
{
   VkCommandBuffer cmd = pv_cmd_alloc(app, q);
   pv_cmd_begin(cmd, VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT);
   vkCmdFillBuffer(cmd, buf->buffer, 0, FILL_SIZE, value);
   pv_cmd_memory_barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
   pv_cmd_end(cmd);
   return cmd;
}

/* --- fences --- */

static void test_fences(struct pv_vkapp *app, const struct pv_buffer *buf)
{
   VkDevice dev = app->device;
   VkFence on = create_fence(app, true), off = create_fence(app, false);
   VkFence never = create_fence(app, false);
   const VkFence on_off[2] = {on, off}, off_on[2] = {off, on};

   expect("status of a signaled fence", vkGetFenceStatus(dev, on), VK_SUCCESS);
   expect("status of an unsignaled fence", vkGetFenceStatus(dev, off), VK_NOT_READY);
   expect("one unsignaled, timeout 0", vkWaitForFences(dev, 1, &off, VK_TRUE, 0), VK_TIMEOUT);
   expect("one unsignaled, 5 ms", vkWaitForFences(dev, 1, &off, VK_FALSE, TIMEOUT_5MS), VK_TIMEOUT);
   expect("wait-all of signaled + unsignaled, timeout 0",
          vkWaitForFences(dev, 2, on_off, VK_TRUE, 0), VK_TIMEOUT);
   expect("wait-all of unsignaled + signaled, timeout 0",
          vkWaitForFences(dev, 2, off_on, VK_TRUE, 0), VK_TIMEOUT);
   expect("wait-all of signaled + unsignaled, 5 ms",
          vkWaitForFences(dev, 2, on_off, VK_TRUE, TIMEOUT_5MS), VK_TIMEOUT);
   expect("wait-any of signaled + unsignaled, timeout 0",
          vkWaitForFences(dev, 2, on_off, VK_FALSE, 0), VK_SUCCESS);
   expect("wait-any of unsignaled + signaled, timeout 0",
          vkWaitForFences(dev, 2, off_on, VK_FALSE, 0), VK_SUCCESS);
   expect("wait-any of unsignaled + signaled, forever",
          vkWaitForFences(dev, 2, off_on, VK_FALSE, UINT64_MAX), VK_SUCCESS);

   /* A GPU job signals off while the wait-any also holds a fence nothing will signal. */
   VkCommandBuffer cmd = record_fill(app, &app->graphics, buf, 0x11111111u);
   pv_submit(&app->graphics, cmd, off);
   const VkFence never_off[2] = {never, off};
   expect("wait-any of never + submitted",
          vkWaitForFences(dev, 2, never_off, VK_FALSE, PV_VK_TIMEOUT_NS), VK_SUCCESS);
   expect("wait-all of signaled + submitted",
          vkWaitForFences(dev, 2, on_off, VK_TRUE, PV_VK_TIMEOUT_NS), VK_SUCCESS);
   expect("status after the wait", vkGetFenceStatus(dev, off), VK_SUCCESS);
   check_fill("fill behind a fence", buf, 0x11111111u);
   expect("never signaled, timeout 0", vkWaitForFences(dev, 1, &never, VK_TRUE, 0), VK_TIMEOUT);

   vkFreeCommandBuffers(dev, app->graphics.pool, 1, &cmd);
   vkDestroyFence(dev, never, NULL);
   vkDestroyFence(dev, off, NULL);
   vkDestroyFence(dev, on, NULL);
}

/* --- timeline semaphores --- */

static VkSemaphore create_timeline(struct pv_vkapp *app, uint64_t initial)
{
   const VkSemaphoreTypeCreateInfo type = {
         .sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
         .semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE,
         .initialValue = initial,
   };
   const VkSemaphoreCreateInfo info = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO,
                                       .pNext = &type};
   VkSemaphore semaphore;
   PV_VK_CHECK(vkCreateSemaphore(app->device, &info, NULL, &semaphore));
   return semaphore;
}

static VkResult wait_timelines(struct pv_vkapp *app, bool any, VkSemaphore a, uint64_t a_value,
                               VkSemaphore b, uint64_t b_value, uint64_t timeout)
{
   const VkSemaphore semaphores[2] = {a, b};
   const uint64_t values[2] = {a_value, b_value};
   const VkSemaphoreWaitInfo info = {
         .sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
         .flags = any ? VK_SEMAPHORE_WAIT_ANY_BIT : 0,
         .semaphoreCount = 2,
         .pSemaphores = semaphores,
         .pValues = values,
   };
   return vkWaitSemaphores(app->device, &info, timeout);
}

/* A host signal from another thread, 2 ms after it starts: the wait is under way by then. */
struct signaler {
   pthread_t thread;
   VkDevice device;
   VkSemaphore semaphore;
   uint64_t value;
   VkResult result;
};

static void *signal_later(void *arg)
{
   struct signaler *s = arg;
   struct timespec pause = {.tv_nsec = 2000000};
   nanosleep(&pause, NULL);
   const VkSemaphoreSignalInfo info = {
         .sType = VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO,
         .semaphore = s->semaphore,
         .value = s->value,
   };
   s->result = vkSignalSemaphore(s->device, &info);
   return NULL;
}

static void signal_start(struct signaler *s, struct pv_vkapp *app, VkSemaphore semaphore,
                         uint64_t value)
{
   *s = (struct signaler){.device = app->device, .semaphore = semaphore, .value = value};
   if (pthread_create(&s->thread, NULL, signal_later, s) != 0)
      pv_fail("cannot start a thread");
}

static void signal_join(struct signaler *s)
{
   pthread_join(s->thread, NULL);
   expect("vkSignalSemaphore from another thread", s->result, VK_SUCCESS);
}

static uint64_t counter(struct pv_vkapp *app, VkSemaphore semaphore)
{
   uint64_t value = 0;
   PV_VK_CHECK(vkGetSemaphoreCounterValue(app->device, semaphore, &value));
   return value;
}

static void test_timelines(struct pv_vkapp *app, const struct pv_buffer *buf)
{
   VkSemaphore a = create_timeline(app, 1), b = create_timeline(app, 0);
   struct signaler s;

   expect("wait-all of reached + not, timeout 0", wait_timelines(app, false, a, 1, b, 1, 0),
          VK_TIMEOUT);
   expect("wait-all of reached + not, 5 ms", wait_timelines(app, false, a, 1, b, 1, TIMEOUT_5MS),
          VK_TIMEOUT);
   expect("wait-any of reached + not, timeout 0", wait_timelines(app, true, a, 1, b, 1, 0),
          VK_SUCCESS);
   expect("wait-any of not + not, timeout 0", wait_timelines(app, true, a, 2, b, 1, 0), VK_TIMEOUT);
   expect("wait-any of not + not, 5 ms", wait_timelines(app, true, a, 2, b, 1, TIMEOUT_5MS),
          VK_TIMEOUT);

   signal_start(&s, app, b, 3);
   expect("wait-all, the second signaled from a thread",
          wait_timelines(app, false, a, 1, b, 3, PV_VK_TIMEOUT_NS), VK_SUCCESS);
   signal_join(&s);
   expect_u64("counter after the host signal", counter(app, b), 3);

   signal_start(&s, app, a, 7);
   expect("wait-any, the second signaled from a thread",
          wait_timelines(app, true, b, 10, a, 5, PV_VK_TIMEOUT_NS), VK_SUCCESS);
   signal_join(&s);
   expect_u64("counter after the second host signal", counter(app, a), 7);
   expect_u64("the other counter, unchanged", counter(app, b), 3);

   /* A GPU signal: the fill signals a = 8. */
   VkCommandBuffer cmd = record_fill(app, &app->graphics, buf, 0x22222222u);
   const uint64_t signal_value = 8;
   const VkTimelineSemaphoreSubmitInfo timeline = {
         .sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
         .signalSemaphoreValueCount = 1,
         .pSignalSemaphoreValues = &signal_value,
   };
   const VkSubmitInfo submit = {
         .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
         .pNext = &timeline,
         .commandBufferCount = 1,
         .pCommandBuffers = &cmd,
         .signalSemaphoreCount = 1,
         .pSignalSemaphores = &a,
   };
   PV_VK_CHECK(vkQueueSubmit(app->graphics.queue, 1, &submit, VK_NULL_HANDLE));
   expect("wait-all, signaled by the GPU", wait_timelines(app, false, a, 8, b, 3, PV_VK_TIMEOUT_NS),
          VK_SUCCESS);
   expect_u64("counter after the GPU signal", counter(app, a), 8);
   check_fill("fill behind a timeline", buf, 0x22222222u);

   vkFreeCommandBuffers(app->device, app->graphics.pool, 1, &cmd);
   vkDestroySemaphore(app->device, b, NULL);
   vkDestroySemaphore(app->device, a, NULL);
}

/* --- queue and device idle --- */

static void test_idle(struct pv_vkapp *app, const struct pv_buffer *x, const struct pv_buffer *y)
{
   /* Twice each: the second round reuses whatever the first left (the layer's fences). */
   for (uint32_t round = 0; round < 2; round++) {
      uint32_t value = 0x33333333u + round;
      VkCommandBuffer cmd = record_fill(app, &app->graphics, x, value);
      pv_submit(&app->graphics, cmd, VK_NULL_HANDLE);
      expect("vkQueueWaitIdle after a fill", vkQueueWaitIdle(app->graphics.queue), VK_SUCCESS);
      check_fill("fill before vkQueueWaitIdle", x, value);
      vkFreeCommandBuffers(app->device, app->graphics.pool, 1, &cmd);
   }
   for (uint32_t round = 0; round < 2; round++) {
      uint32_t value = 0x44444444u + round;
      VkCommandBuffer gcmd = record_fill(app, &app->graphics, x, value);
      VkCommandBuffer ccmd = record_fill(app, &app->compute, y, ~value);
      pv_submit(&app->graphics, gcmd, VK_NULL_HANDLE);
      pv_submit(&app->compute, ccmd, VK_NULL_HANDLE);
      expect("vkDeviceWaitIdle after fills", vkDeviceWaitIdle(app->device), VK_SUCCESS);
      check_fill("graphics fill before vkDeviceWaitIdle", x, value);
      check_fill("compute fill before vkDeviceWaitIdle", y, ~value);
      vkFreeCommandBuffers(app->device, app->compute.pool, 1, &ccmd);
      vkFreeCommandBuffers(app->device, app->graphics.pool, 1, &gcmd);
   }
}

/* --- queries --- */

static void test_queries(struct pv_vkapp *app, const struct pv_buffer *buf)
{
   VkQueueFamilyProperties families[16];
   uint32_t family_count = 16;
   vkGetPhysicalDeviceQueueFamilyProperties(app->physical, &family_count, families);
   if (families[app->graphics.family].timestampValidBits == 0) {
      fprintf(stderr, "%s: no timestamps on this queue family; query waits not checked\n", NAME);
      return;
   }
   const VkQueryPoolCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
         .queryType = VK_QUERY_TYPE_TIMESTAMP,
         .queryCount = 2,
   };
   VkQueryPool pool;
   PV_VK_CHECK(vkCreateQueryPool(app->device, &info, NULL, &pool));

   /* Two timestamps around a fill, submitted without a fence: only the query wait waits. */
   VkCommandBuffer cmd = pv_cmd_alloc(app, &app->graphics);
   pv_cmd_begin(cmd, VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT);
   vkCmdResetQueryPool(cmd, pool, 0, 2);
   vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, pool, 0);
   vkCmdFillBuffer(cmd, buf->buffer, 0, FILL_SIZE, 0x55555555u);
   vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool, 1);
   pv_cmd_end(cmd);
   pv_submit(&app->graphics, cmd, VK_NULL_HANDLE);

   uint64_t waited[4] = {0}, again[4] = {0}, plain[2] = {0};
   const VkQueryResultFlags with_availability =
         VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WITH_AVAILABILITY_BIT;
   expect("vkGetQueryPoolResults with WAIT",
          vkGetQueryPoolResults(app->device, pool, 0, 2, sizeof(waited), waited,
                                2 * sizeof(uint64_t), with_availability | VK_QUERY_RESULT_WAIT_BIT),
          VK_SUCCESS);
   expect_u64("availability of the first timestamp", waited[1], 1);
   expect_u64("availability of the second timestamp", waited[3], 1);
   expect("vkGetQueryPoolResults after the wait",
          vkGetQueryPoolResults(app->device, pool, 0, 2, sizeof(again), again, 2 * sizeof(uint64_t),
                                with_availability),
          VK_SUCCESS);
   expect("vkGetQueryPoolResults with WAIT, no availability",
          vkGetQueryPoolResults(app->device, pool, 0, 2, sizeof(plain), plain, sizeof(uint64_t),
                                VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
          VK_SUCCESS);
   expect_u64("first timestamp, read again", again[0], waited[0]);
   expect_u64("second timestamp, read again", again[2], waited[2]);
   expect_u64("first timestamp, without availability", plain[0], waited[0]);
   expect_u64("second timestamp, without availability", plain[1], waited[2]);

   PV_VK_CHECK(vkQueueWaitIdle(app->graphics.queue));
   vkFreeCommandBuffers(app->device, app->graphics.pool, 1, &cmd);
   vkDestroyQueryPool(app->device, pool, NULL);
}

int main(void)
{
   struct pv_vkapp app;
   const struct pv_vkapp_config config = {
         .name = NAME,
         .timeline_semaphore = true,
         .distinct_queues = true,
   };
   pv_vkapp_init(&app, &config);
   fprintf(stderr, "%s: %s (graphics family %u, compute family %u queue %u)\n", NAME,
           app.props.deviceName, app.graphics.family, app.compute.family, app.compute.index);

   struct pv_buffer x, y;
   pv_buffer_init(&app, &x, FILL_SIZE, VK_BUFFER_USAGE_TRANSFER_DST_BIT, PV_MEMORY_READBACK);
   pv_buffer_init(&app, &y, FILL_SIZE, VK_BUFFER_USAGE_TRANSFER_DST_BIT, PV_MEMORY_READBACK);

   test_fences(&app, &x);
   test_timelines(&app, &x);
   test_idle(&app, &x, &y);
   test_queries(&app, &x);

   PV_VK_CHECK(vkDeviceWaitIdle(app.device));
   pv_buffer_finish(&app, &y);
   pv_buffer_finish(&app, &x);
   pv_vkapp_finish(&app);
   fprintf(stderr, "%s: %s\n", NAME, mismatches ? "FAIL" : "PASS");
   return mismatches ? 1 : 0;
}
