/* transfer: host -> device and device -> host bandwidth through mapped memory, two results. */

/* Up: memcpy into a mapped staging buffer + copy to device-local. Down: copy to a mapped
 * readback buffer + memcpy out. Each direction is one PV_RESULT line. */
#include <stdlib.h>
#include <string.h>

#include "pv_workload.h"

struct transfer_state {
   struct pv_vkapp *app;
   size_t size;
   void *source, *dest; /* host memory at both ends */
   struct pv_buffer staging, device, readback;
   VkCommandBuffer up, down;
   VkFence fence;
};

static void upload_once(void *data)
{
   struct transfer_state *st = data;
   memcpy(st->staging.map, st->source, st->size);
   pv_submit(&st->app->graphics, st->up, st->fence);
   pv_fence_wait(st->app, st->fence);
}

static void download_once(void *data)
{
   struct transfer_state *st = data;
   pv_submit(&st->app->graphics, st->down, st->fence);
   pv_fence_wait(st->app, st->fence);
   memcpy(st->dest, st->readback.map, st->size);
}

static void record_copy(VkCommandBuffer cmd, const struct pv_buffer *from,
                        const struct pv_buffer *to, VkDeviceSize size)
{
   /* After the previous copy (of either direction) in an earlier submission is done. */
   pv_cmd_begin(cmd, 0);
   pv_cmd_memory_barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                         VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT);
   const VkBufferCopy region = {.size = size};
   vkCmdCopyBuffer(cmd, from->buffer, to->buffer, 1, &region);
   pv_cmd_memory_barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
   pv_cmd_end(cmd);
}

static int report(const char *workload, const struct transfer_state *st,
                  const struct pv_workload_args *args, bool valid, uint64_t checksum,
                  const uint64_t *samples, const struct pv_cpu_time *cpu)
{
   const struct pv_result result = {
         .workload = workload,
         .device = st->app->props.deviceName,
         .iterations = args->iterations,
         .items_per_iteration = st->size,
         .item_unit = "bytes",
         .bytes_per_iteration = st->size,
         .valid = valid,
         .checksum = checksum,
         .samples_ns = samples,
         .cpu = *cpu,
   };
   return pv_wl_report(&result);
}

static int run_transfer(const struct pv_workload_args *args)
{
   struct pv_vkapp app;
   pv_vkapp_init(&app, &(const struct pv_vkapp_config){.name = "pv-workload transfer"});
   struct transfer_state st = {.app = &app, .size = args->size_bytes};
   st.source = pv_alloc(st.size);
   st.dest = pv_alloc(st.size);
   pv_pattern_fill(st.source, st.size, 0x7a11u);
   memset(st.dest, 0, st.size);
   pv_buffer_init(&app, &st.staging, st.size, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, PV_MEMORY_UPLOAD);
   pv_buffer_init(&app, &st.device, st.size,
                  VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                  PV_MEMORY_DEVICE);
   pv_buffer_init(&app, &st.readback, st.size, VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                  PV_MEMORY_READBACK);
   st.up = pv_cmd_alloc(&app, &app.graphics);
   st.down = pv_cmd_alloc(&app, &app.graphics);
   record_copy(st.up, &st.staging, &st.device, st.size);
   record_copy(st.down, &st.device, &st.readback, st.size);
   st.fence = pv_fence_create(&app);

   /* All uploads, then all downloads: each phase is timed on its own, and the device buffer
    * holds the same bytes after any upload. */
   uint64_t *up_samples = pv_wl_samples(args), *down_samples = pv_wl_samples(args);
   struct pv_cpu_time up_cpu, down_cpu;
   pv_wl_measure(args, upload_once, &st, up_samples, NULL, &up_cpu);
   pv_wl_measure(args, download_once, &st, down_samples, NULL, &down_cpu);

   /* The round trip is checked as a whole: an upload error shows in what comes back down. */
   bool valid = pv_check_equal_u32("transfer bytes", st.dest, st.source, st.size / 4);
   uint64_t checksum = pv_fnv1a64(PV_FNV1A64_INIT, st.dest, st.size);
   int up_status = report("transfer_up", &st, args, valid, checksum, up_samples, &up_cpu);
   int down_status = report("transfer_down", &st, args, valid, checksum, down_samples, &down_cpu);

   free(down_samples);
   free(up_samples);
   vkDestroyFence(app.device, st.fence, NULL);
   pv_buffer_finish(&app, &st.readback);
   pv_buffer_finish(&app, &st.device);
   pv_buffer_finish(&app, &st.staging);
   free(st.dest);
   free(st.source);
   pv_vkapp_finish(&app);
   return up_status ? up_status : down_status;
}

const struct pv_workload pv_wl_transfer = {
      .name = "transfer",
      .summary = "host -> device and device -> host through mapped memory",
      .iterations = 10,
      .warmup = 2,
      .quick_iterations = 3,
      .quick_warmup = 1,
      .size_mib = 256,
      .quick_size_mib = 4,
      .run = run_transfer,
};
