/* compute: SAXPY y = a * x + y over device-resident vectors (256 MiB in all), fence-waited. */
#include <stdlib.h>

#include "pv_workload.h"

struct compute_state {
   struct pv_vkapp *app;
   VkCommandBuffer cmd;
   VkFence fence;
};

static void saxpy_once(void *data)
{
   struct compute_state *st = data;
   pv_submit(&st->app->compute, st->cmd, st->fence);
   pv_fence_wait(st->app, st->fence);
}

static int run_compute(const struct pv_workload_args *args)
{
   /* Each iteration is one more round on the same y; past the limit it would stop being exact. */
   const uint64_t rounds = (uint64_t)args->warmup + args->iterations;
   if (rounds > PV_SAXPY_MAX_ROUNDS)
      pv_fail("compute: at most %u iterations + warm-ups", PV_SAXPY_MAX_ROUNDS);

   struct pv_vkapp app;
   pv_vkapp_init(&app, &(const struct pv_vkapp_config){.name = "pv-workload compute"});
   /* x and y are half of the size each. */
   const uint32_t count = (uint32_t)(args->size_bytes / (2 * sizeof(float)));
   struct pv_saxpy saxpy;
   pv_saxpy_init(&app, &saxpy, &app.compute, count);

   struct compute_state st = {.app = &app, .cmd = pv_cmd_alloc(&app, &app.compute)};
   st.fence = pv_fence_create(&app);
   pv_cmd_begin(st.cmd, 0);
   pv_saxpy_record(&saxpy, st.cmd);
   pv_cmd_end(st.cmd);

   uint64_t *samples = pv_wl_samples(args);
   uint64_t *starts = pv_wl_samples(args);
   struct pv_cpu_time cpu;
   pv_wl_measure(args, saxpy_once, &st, samples, starts, &cpu);

   uint64_t checksum = PV_FNV1A64_INIT;
   bool valid = pv_saxpy_check(&app, &saxpy, &app.compute, (uint32_t)rounds, &checksum);
   const struct pv_result result = {
         .workload = "compute",
         .device = app.props.deviceName,
         .iterations = args->iterations,
         .items_per_iteration = count,
         .item_unit = "elements",
         .valid = valid,
         .checksum = checksum,
         .samples_ns = samples,
         .cpu = cpu,
         .start_ns = starts,
   };
   int status = pv_wl_report(&result);

   free(samples);
   free(starts);
   vkDestroyFence(app.device, st.fence, NULL);
   pv_saxpy_finish(&app, &saxpy);
   pv_vkapp_finish(&app);
   return status;
}

const struct pv_workload pv_wl_compute = {
      .name = "compute",
      .summary = "SAXPY over x and y in device memory, fence-waited",
      .iterations = 20,
      .warmup = 2,
      .quick_iterations = 3,
      .quick_warmup = 1,
      .size_mib = 256,
      .quick_size_mib = 4,
      .run = run_compute,
};
