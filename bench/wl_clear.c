/* clear: a 1080p B8G8R8A8 image cleared to red with vkCmdClearColorImage, fence-waited. */
#include <stdlib.h>

#include "pv_workload.h"

#define CLEAR_WIDTH  1920
#define CLEAR_HEIGHT 1080

struct clear_state {
   struct pv_vkapp *app;
   VkCommandBuffer cmd;
   VkFence fence;
};

static void clear_once(void *data)
{
   struct clear_state *st = data;
   pv_submit(&st->app->graphics, st->cmd, st->fence);
   pv_fence_wait(st->app, st->fence);
}

static int run_clear(const struct pv_workload_args *args)
{
   struct pv_vkapp app;
   pv_vkapp_init(&app, &(const struct pv_vkapp_config){.name = "pv-workload clear"});
   struct pv_image image;
   pv_image_init(&app, &image, VK_FORMAT_B8G8R8A8_UNORM, CLEAR_WIDTH, CLEAR_HEIGHT,
                 VK_IMAGE_USAGE_TRANSFER_DST_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT);
   const struct pv_color *red = &pv_colors[0];
   struct clear_state st = {.app = &app, .cmd = pv_cmd_alloc(&app, &app.graphics)};
   st.fence = pv_fence_create(&app);
   pv_cmd_begin(st.cmd, 0);
   pv_cmd_clear_image(st.cmd, &image, red->rgba);
   pv_cmd_end(st.cmd);

   uint64_t *samples = pv_wl_samples(args);
   uint64_t *starts = pv_wl_samples(args);
   struct pv_cpu_time cpu;
   pv_wl_measure(args, clear_once, &st, samples, starts, &cpu);

   /* Read back once, after the last clear, and check every pixel. */
   const size_t pixels = (size_t)CLEAR_WIDTH * CLEAR_HEIGHT;
   struct pv_buffer readback;
   pv_buffer_init(&app, &readback, pixels * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                  PV_MEMORY_READBACK);
   pv_image_copy_to_buffer(&app, &app.graphics, &image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                           &readback);
   const struct pv_result result = {
         .workload = "clear",
         .device = app.props.deviceName,
         .iterations = args->iterations,
         .items_per_iteration = 1,
         .item_unit = "frames",
         .valid = pv_check_fill_u32("clear to red", readback.map, pv_color_bgra8(red), pixels),
         .checksum = pv_fnv1a64(PV_FNV1A64_INIT, readback.map, pixels * 4),
         .samples_ns = samples,
         .cpu = cpu,
         .start_ns = starts,
   };
   int status = pv_wl_report(&result);

   free(samples);
   free(starts);
   pv_buffer_finish(&app, &readback);
   vkDestroyFence(app.device, st.fence, NULL);
   pv_image_finish(&app, &image);
   pv_vkapp_finish(&app);
   return status;
}

const struct pv_workload pv_wl_clear = {
      .name = "clear",
      .summary = "1920x1080 BGRA8 image cleared to red, fence-waited",
      .iterations = 1000,
      .warmup = 10,
      .quick_iterations = 20,
      .quick_warmup = 2,
      .run = run_clear,
};
