/* batch: frames submitted back to back with one fence wait at the end (pipelined submission). */

/* Each frame clears to a cycling colour and copies a region to its own readback slot. */
#include <stdlib.h>

#include "pv_workload.h"

#define BATCH_FRAMES       100
#define BATCH_QUICK_FRAMES 12 /* two rounds of the six colours */
#define BATCH_REGION       64 /* side of the square each frame copies back */

struct batch_state {
   struct pv_vkapp *app;
   uint32_t frames;
   VkCommandBuffer *cmds; /* one per frame, recorded once */
   VkFence fence;
};

static void batch_once(void *data)
{
   struct batch_state *st = data;
   for (uint32_t f = 0; f < st->frames; f++)
      pv_submit(&st->app->graphics, st->cmds[f], f + 1 == st->frames ? st->fence : VK_NULL_HANDLE);
   pv_fence_wait(st->app, st->fence);
}

/* Frame f clears to colour f % 6 and copies back the region at a place that moves each frame. */
static void record_frame(VkCommandBuffer cmd, const struct pv_image *image,
                         const struct pv_buffer *readback, uint32_t f)
{
   const VkDeviceSize slot = BATCH_REGION * BATCH_REGION * 4;
   pv_cmd_begin(cmd, 0);
   pv_cmd_clear_image(cmd, image, pv_colors[f % PV_COLOR_COUNT].rgba);
   pv_cmd_image_barrier(cmd, image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                        VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, VK_PIPELINE_STAGE_TRANSFER_BIT,
                        VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                        VK_ACCESS_TRANSFER_READ_BIT);
   const VkBufferImageCopy region = {
         .bufferOffset = f * slot,
         .imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
         .imageOffset = {(int32_t)(f * 61 % (image->width - BATCH_REGION)),
                         (int32_t)(f * 37 % (image->height - BATCH_REGION)), 0},
         .imageExtent = {BATCH_REGION, BATCH_REGION, 1},
   };
   vkCmdCopyImageToBuffer(cmd, image->image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, readback->buffer,
                          1, &region);
   pv_cmd_memory_barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
   pv_cmd_end(cmd);
}

static int run_batch(const struct pv_workload_args *args)
{
   struct pv_vkapp app;
   pv_vkapp_init(&app, &(const struct pv_vkapp_config){.name = "pv-workload batch"});
   struct batch_state st = {.app = &app, .frames = args->quick ? BATCH_QUICK_FRAMES : BATCH_FRAMES};
   const uint32_t width = args->quick ? 256 : 1920, height = args->quick ? 256 : 1080;
   const size_t slot_texels = BATCH_REGION * BATCH_REGION;

   struct pv_image image;
   pv_image_init(&app, &image, VK_FORMAT_B8G8R8A8_UNORM, width, height,
                 VK_IMAGE_USAGE_TRANSFER_DST_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT);
   struct pv_buffer readback;
   pv_buffer_init(&app, &readback, st.frames * slot_texels * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                  PV_MEMORY_READBACK);
   st.fence = pv_fence_create(&app);
   st.cmds = pv_alloc(st.frames * sizeof(*st.cmds));
   for (uint32_t f = 0; f < st.frames; f++) {
      st.cmds[f] = pv_cmd_alloc(&app, &app.graphics);
      record_frame(st.cmds[f], &image, &readback, f);
   }

   uint64_t *samples = pv_wl_samples(args);
   struct pv_cpu_time cpu;
   pv_wl_measure(args, batch_once, &st, samples, NULL, &cpu);

   bool valid = true;
   const uint32_t *slots = readback.map;
   for (uint32_t f = 0; f < st.frames; f++) {
      const struct pv_color *color = &pv_colors[f % PV_COLOR_COUNT];
      valid &= pv_check_fill_u32(color->name, slots + f * slot_texels, pv_color_bgra8(color),
                                 slot_texels);
   }
   const struct pv_result result = {
         .workload = "batch",
         .device = app.props.deviceName,
         .iterations = args->iterations,
         .items_per_iteration = st.frames,
         .item_unit = "frames",
         .valid = valid,
         .checksum = pv_fnv1a64(PV_FNV1A64_INIT, readback.map, readback.size),
         .samples_ns = samples,
         .cpu = cpu,
   };
   int status = pv_wl_report(&result);

   free(samples);
   free(st.cmds);
   vkDestroyFence(app.device, st.fence, NULL);
   pv_buffer_finish(&app, &readback);
   pv_image_finish(&app, &image);
   pv_vkapp_finish(&app);
   return status;
}

const struct pv_workload pv_wl_batch = {
      .name = "batch",
      .summary = "100 1080p frames (clear + region copy), one wait; quick: 12 of 256x256",
      .iterations = 20,
      .warmup = 2,
      .quick_iterations = 3,
      .quick_warmup = 1,
      .run = run_batch,
};
