/* pv-test-events: VkEvent set and reset by host and GPU, and GPU waits ordering real work. */

/* The host API on its own; a GPU set the host observes by polling; vkCmdWaitEvents on two events
 * with buffer and image barriers in one command buffer, and on an event set by an earlier
 * submission; and a GPU wait that only a host vkSetEvent releases, checked still pending before.
 * Events are Vulkan 1.0 here: through venus the guest has no synchronization2. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pv_test.h"

#define NAME  "pv-test-events"
#define WORDS 4096u /* uint32s per copied region */
#define SIDE  64u   /* the cleared image */
#define BYTES (WORDS * sizeof(uint32_t))

/* The readback buffer: one region per part that copies, then the image. */
enum { REGION_SAME_BUFFER, REGION_EARLIER_SUBMIT, REGION_HOST_SET, REGION_IMAGE };

struct scene {
   struct pv_buffer work, upload, readback;
   struct pv_image image;
   VkEvent events[2];
   VkEvent host_event; /* never set by the GPU, so HOST alone is its wait's source stage */
   VkFence fence;
};

struct facts {
   bool ok;
   uint64_t checksum;
};

static void fact_status(struct facts *f, const char *what, VkResult got, VkResult want)
{
   const int64_t value = got;
   f->checksum = pv_fnv1a64(f->checksum, &value, sizeof(value));
   if (got != want) {
      fprintf(stderr, "%s: %s: %s, expected %s\n", NAME, what, pv_vk_result_name(got),
              pv_vk_result_name(want));
      f->ok = false;
   }
}

static VkResult event_status(struct pv_vkapp *app, VkEvent event)
{
   VkResult result = vkGetEventStatus(app->device, event);
   if (result != VK_EVENT_SET && result != VK_EVENT_RESET)
      pv_vk_fail("vkGetEventStatus", result, __FILE__, __LINE__);
   return result;
}

static const uint32_t *region(const struct scene *s, int index)
{
   return (const uint32_t *)s->readback.map + (size_t)index * WORDS;
}

static void to_host(VkCommandBuffer cmd)
{
   pv_cmd_memory_barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
}

static void copy_work(const struct scene *s, VkCommandBuffer cmd, int dst_region)
{
   const VkBufferCopy copy = {0, (VkDeviceSize)dst_region * BYTES, BYTES};
   vkCmdCopyBuffer(cmd, s->work.buffer, s->readback.buffer, 1, &copy);
}

static void host_api(struct pv_vkapp *app, struct scene *s, struct facts *f)
{
   VkEvent e = s->events[0];
   fact_status(f, "new event", event_status(app, e), VK_EVENT_RESET);
   PV_VK_CHECK(vkSetEvent(app->device, e));
   fact_status(f, "after vkSetEvent", event_status(app, e), VK_EVENT_SET);
   PV_VK_CHECK(vkSetEvent(app->device, e));
   fact_status(f, "after a second vkSetEvent", event_status(app, e), VK_EVENT_SET);
   PV_VK_CHECK(vkResetEvent(app->device, e));
   fact_status(f, "after vkResetEvent", event_status(app, e), VK_EVENT_RESET);
}

/* The host sees a GPU vkCmdSetEvent by polling, then a GPU vkCmdResetEvent after the fence. */
static void gpu_set_host_polls(struct pv_vkapp *app, struct scene *s, struct facts *f)
{
   VkEvent e = s->events[0];
   VkCommandBuffer cmd = pv_cmd_alloc(app, &app->graphics);
   pv_cmd_begin(cmd, VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT);
   vkCmdFillBuffer(cmd, s->work.buffer, 0, BYTES, 0x5eed0001u);
   vkCmdSetEvent(cmd, e, VK_PIPELINE_STAGE_TRANSFER_BIT);
   pv_cmd_end(cmd);
   pv_submit(&app->graphics, cmd, s->fence);

   /* 100 us between polls: short next to a submit's latency through venus, long enough not to
    * starve the queue's thread on a small machine. */
   const struct timespec pause = {0, 100000};
   const uint64_t deadline = pv_time_ns() + PV_VK_TIMEOUT_NS;
   VkResult status;
   while ((status = event_status(app, e)) != VK_EVENT_SET && pv_time_ns() < deadline)
      nanosleep(&pause, NULL);
   fact_status(f, "polled after the GPU set", status, VK_EVENT_SET);
   pv_fence_wait(app, s->fence);
   fact_status(f, "after the submit that set it", event_status(app, e), VK_EVENT_SET);

   PV_VK_CHECK(vkResetCommandBuffer(cmd, 0));
   pv_cmd_begin(cmd, VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT);
   vkCmdResetEvent(cmd, e, VK_PIPELINE_STAGE_TRANSFER_BIT);
   pv_cmd_end(cmd);
   pv_submit(&app->graphics, cmd, s->fence);
   pv_fence_wait(app, s->fence);
   fact_status(f, "after vkCmdResetEvent", event_status(app, e), VK_EVENT_RESET);
   vkFreeCommandBuffers(app->device, app->graphics.pool, 1, &cmd);
}

/* Two events set after two transfers; one wait on both carries the buffer barrier and the image's
 * layout transition the two copies after it need. */
static void wait_in_same_buffer(struct pv_vkapp *app, struct scene *s)
{
   VkCommandBuffer cmd = pv_cmd_begin_once(app, &app->graphics);
   vkCmdFillBuffer(cmd, s->work.buffer, 0, BYTES, 0x5eed0003u);
   pv_cmd_clear_image(cmd, &s->image, pv_colors[4].rgba);
   vkCmdSetEvent(cmd, s->events[0], VK_PIPELINE_STAGE_TRANSFER_BIT);
   vkCmdSetEvent(cmd, s->events[1], VK_PIPELINE_STAGE_TRANSFER_BIT);
   const VkBufferMemoryBarrier buffer = {
         .sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER,
         .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
         .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT,
         .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
         .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
         .buffer = s->work.buffer,
         .size = VK_WHOLE_SIZE,
   };
   const VkImageMemoryBarrier image = {
         .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
         .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
         .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT,
         .oldLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
         .newLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
         .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
         .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
         .image = s->image.image,
         .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1},
   };
   vkCmdWaitEvents(cmd, 2, s->events, VK_PIPELINE_STAGE_TRANSFER_BIT,
                   VK_PIPELINE_STAGE_TRANSFER_BIT, 0, NULL, 1, &buffer, 1, &image);
   copy_work(s, cmd, REGION_SAME_BUFFER);
   const VkBufferImageCopy copy = {
         .bufferOffset = REGION_IMAGE * BYTES,
         .imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
         .imageExtent = {SIDE, SIDE, 1},
   };
   vkCmdCopyImageToBuffer(cmd, s->image.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                          s->readback.buffer, 1, &copy);
   to_host(cmd);
   pv_cmd_submit_once(app, &app->graphics, cmd);
   PV_VK_CHECK(vkResetEvent(app->device, s->events[0]));
   PV_VK_CHECK(vkResetEvent(app->device, s->events[1]));
}

/* The set in one submission, the wait in the next on the same queue. */
static void wait_on_earlier_submit(struct pv_vkapp *app, struct scene *s)
{
   VkCommandBuffer cmds[2] = {pv_cmd_alloc(app, &app->graphics), pv_cmd_alloc(app, &app->graphics)};
   pv_cmd_begin(cmds[0], VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT);
   vkCmdFillBuffer(cmds[0], s->work.buffer, 0, BYTES, 0x5eed0004u);
   vkCmdSetEvent(cmds[0], s->events[0], VK_PIPELINE_STAGE_TRANSFER_BIT);
   pv_cmd_end(cmds[0]);
   pv_cmd_begin(cmds[1], VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT);
   const VkMemoryBarrier barrier = {
         .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
         .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
         .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT,
   };
   vkCmdWaitEvents(cmds[1], 1, &s->events[0], VK_PIPELINE_STAGE_TRANSFER_BIT,
                   VK_PIPELINE_STAGE_TRANSFER_BIT, 1, &barrier, 0, NULL, 0, NULL);
   copy_work(s, cmds[1], REGION_EARLIER_SUBMIT);
   to_host(cmds[1]);
   pv_cmd_end(cmds[1]);
   pv_submit(&app->graphics, cmds[0], VK_NULL_HANDLE);
   pv_submit(&app->graphics, cmds[1], s->fence);
   pv_fence_wait(app, s->fence);
   vkFreeCommandBuffers(app->device, app->graphics.pool, 2, cmds);
   PV_VK_CHECK(vkResetEvent(app->device, s->events[0]));
}

/* The GPU waits (outside any render pass, HOST in the source stages, as the spec requires) for
 * an event only the host sets, after it has written the data the wait makes visible. */
static void host_set_releases_wait(struct pv_vkapp *app, struct scene *s, struct facts *f)
{
   VkCommandBuffer cmd = pv_cmd_begin_once(app, &app->graphics);
   const VkMemoryBarrier barrier = {
         .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
         .srcAccessMask = VK_ACCESS_HOST_WRITE_BIT,
         .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT,
   };
   vkCmdWaitEvents(cmd, 1, &s->host_event, VK_PIPELINE_STAGE_HOST_BIT,
                   VK_PIPELINE_STAGE_TRANSFER_BIT, 1, &barrier, 0, NULL, 0, NULL);
   const VkBufferCopy copy = {0, REGION_HOST_SET * BYTES, BYTES};
   vkCmdCopyBuffer(cmd, s->upload.buffer, s->readback.buffer, 1, &copy);
   to_host(cmd);
   pv_cmd_end(cmd);
   pv_submit(&app->graphics, cmd, s->fence);

   /* 20 ms: ample for a copy that was free to run, short enough to keep the wait brief. */
   VkResult result = vkWaitForFences(app->device, 1, &s->fence, VK_TRUE, 20000000ull);
   if (result != VK_SUCCESS && result != VK_TIMEOUT)
      pv_vk_fail("vkWaitForFences", result, __FILE__, __LINE__);
   fact_status(f, "the submit waiting on the host's event, before the set", result, VK_TIMEOUT);
   pv_pattern_fill(s->upload.map, BYTES, 0x5eed0005u);
   PV_VK_CHECK(vkSetEvent(app->device, s->host_event));
   pv_fence_wait(app, s->fence);
   vkFreeCommandBuffers(app->device, app->graphics.pool, 1, &cmd);
   fact_status(f, "the host-set event after the wait", event_status(app, s->host_event),
               VK_EVENT_SET);
}

static void check_copies(const struct scene *s, struct facts *f)
{
   uint32_t host_data[WORDS];
   pv_pattern_fill(host_data, sizeof(host_data), 0x5eed0005u);
   bool ok = pv_check_fill_u32("fill copied after vkCmdWaitEvents on two events",
                               region(s, REGION_SAME_BUFFER), 0x5eed0003u, WORDS);
   ok &= pv_check_fill_u32("image cleared, transitioned by vkCmdWaitEvents, copied",
                           region(s, REGION_IMAGE), 0xffff00ffu, SIDE * SIDE);
   ok &= pv_check_fill_u32("fill copied after a wait on the earlier submit's event",
                           region(s, REGION_EARLIER_SUBMIT), 0x5eed0004u, WORDS);
   ok &= pv_check_equal_u32("host data copied after the host's vkSetEvent",
                            region(s, REGION_HOST_SET), host_data, WORDS);
   f->ok &= ok;
   f->checksum = pv_fnv1a64(f->checksum, s->readback.map, s->readback.size);
}

int main(void)
{
   struct pv_vkapp app;
   pv_test_begin(&app, NAME, (struct pv_vkapp_config){0});
   struct scene s;
   const VkBufferUsageFlags transfer =
         VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
   pv_buffer_init(&app, &s.work, BYTES, transfer, PV_MEMORY_DEVICE);
   pv_buffer_init(&app, &s.upload, BYTES, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, PV_MEMORY_UPLOAD);
   memset(s.upload.map, 0, BYTES);
   pv_buffer_init(&app, &s.readback, REGION_IMAGE * BYTES + SIDE * SIDE * 4,
                  VK_BUFFER_USAGE_TRANSFER_DST_BIT, PV_MEMORY_READBACK);
   pv_image_init(&app, &s.image, VK_FORMAT_R8G8B8A8_UNORM, SIDE, SIDE,
                 VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT);
   const VkEventCreateInfo event_info = {.sType = VK_STRUCTURE_TYPE_EVENT_CREATE_INFO};
   for (int i = 0; i < 2; i++)
      PV_VK_CHECK(vkCreateEvent(app.device, &event_info, NULL, &s.events[i]));
   PV_VK_CHECK(vkCreateEvent(app.device, &event_info, NULL, &s.host_event));
   s.fence = pv_fence_create(&app);

   struct facts facts = {true, PV_FNV1A64_INIT};
   host_api(&app, &s, &facts);
   gpu_set_host_polls(&app, &s, &facts);
   wait_in_same_buffer(&app, &s);
   wait_on_earlier_submit(&app, &s);
   host_set_releases_wait(&app, &s, &facts);
   check_copies(&s, &facts);

   vkDestroyFence(app.device, s.fence, NULL);
   vkDestroyEvent(app.device, s.host_event, NULL);
   for (int i = 0; i < 2; i++)
      vkDestroyEvent(app.device, s.events[i], NULL);
   pv_image_finish(&app, &s.image);
   pv_buffer_finish(&app, &s.readback);
   pv_buffer_finish(&app, &s.upload);
   pv_buffer_finish(&app, &s.work);
   return pv_test_end(&app, NAME, facts.ok, facts.checksum);
}
