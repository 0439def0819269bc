/* latency: the round trip of an empty command buffer, submitted and waited with a fence. */
#include <stdlib.h>

#include "pv_workload.h"

struct latency_state {
   struct pv_vkapp *app;
   VkCommandBuffer cmd;
   VkFence fence;
   uint32_t completed;
   uint32_t warmup;
   uint64_t *submit_ns; /* time inside vkQueueSubmit, per timed iteration */
};

static void submit_and_wait(void *data)
{
   struct latency_state *st = data;
   uint64_t start = pv_time_ns();
   pv_submit(&st->app->graphics, st->cmd, st->fence);
   if (st->completed >= st->warmup)
      st->submit_ns[st->completed - st->warmup] = pv_time_ns() - start;
   pv_fence_wait(st->app, st->fence);
   st->completed++;
}

static int run_latency(const struct pv_workload_args *args)
{
   struct pv_vkapp app;
   pv_vkapp_init(&app, &(const struct pv_vkapp_config){.name = "pv-workload latency"});
   struct latency_state st = {.app = &app,
                              .cmd = pv_cmd_alloc(&app, &app.graphics),
                              .warmup = args->warmup,
                              .submit_ns = pv_wl_samples(args)};
   st.fence = pv_fence_create(&app);
   pv_cmd_begin(st.cmd, 0);
   pv_cmd_end(st.cmd);

   uint64_t *samples = pv_wl_samples(args);
   uint64_t *starts = pv_wl_samples(args);
   struct pv_cpu_time cpu;
   pv_wl_measure(args, submit_and_wait, &st, samples, starts, &cpu);

   /* A wait that failed or timed out has exited 2; every submit must have completed. */
   const struct pv_result result = {
         .workload = "latency",
         .device = app.props.deviceName,
         .iterations = args->iterations,
         .items_per_iteration = 1,
         .item_unit = "submits",
         .valid = st.completed == args->warmup + args->iterations,
         .checksum = pv_fnv1a64(PV_FNV1A64_INIT, &st.completed, sizeof(st.completed)),
         .samples_ns = samples,
         .cpu = cpu,
         .start_ns = starts,
         .submit_ns = st.submit_ns,
   };
   int status = pv_wl_report(&result);
   free(samples);
   free(starts);
   free(st.submit_ns);
   vkDestroyFence(app.device, st.fence, NULL);
   pv_vkapp_finish(&app);
   return status;
}

const struct pv_workload pv_wl_latency = {
      .name = "latency",
      .summary = "empty command buffer submitted and fence-waited",
      .iterations = 10000,
      .warmup = 100,
      .quick_iterations = 200,
      .quick_warmup = 10,
      .run = run_latency,
};
