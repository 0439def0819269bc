/* create: what one Vulkan instance + device + queue costs, made and destroyed per iteration. */
#include <stdlib.h>
#include <string.h>

#include "pv_workload.h"

struct create_state {
   uint32_t created;
   char device[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
};

static void create_once(void *data)
{
   struct create_state *st = data;
   struct pv_vkapp app;
   pv_vkapp_init(&app, &(const struct pv_vkapp_config){.name = "pv-workload create"});
   memcpy(st->device, app.props.deviceName, sizeof(st->device));
   st->created++;
   pv_vkapp_finish(&app);
}

static int run_create(const struct pv_workload_args *args)
{
   /* The loader unloads the driver with its last instance, and NVIDIA's cannot be loaded again
    * many times (each load takes static TLS that dlclose never returns: after a few dozen,
    * "cannot allocate memory in static TLS block"). An instance held throughout keeps the driver
    * loaded, so each iteration times creating objects, not loading a library. */
   VkInstance keep_driver_loaded = pv_vkapp_create_instance("pv-workload create (anchor)");
   struct create_state st = {0};
   uint64_t *samples = pv_wl_samples(args);
   struct pv_cpu_time cpu;
   pv_wl_measure(args, create_once, &st, samples, NULL, &cpu);
   vkDestroyInstance(keep_driver_loaded, NULL);

   /* Any failure has already exited 2; what is left to check is that every device was made. */
   const struct pv_result result = {
         .workload = "create",
         .device = st.device,
         .iterations = args->iterations,
         .items_per_iteration = 1,
         .item_unit = "devices",
         .valid = st.created == args->warmup + args->iterations,
         .checksum = pv_fnv1a64(PV_FNV1A64_INIT, &st.created, sizeof(st.created)),
         .samples_ns = samples,
         .cpu = cpu,
   };
   int status = pv_wl_report(&result);
   free(samples);
   return status;
}

const struct pv_workload pv_wl_create = {
      .name = "create",
      .summary = "instance + device + queue created and destroyed",
      .iterations = 50,
      .warmup = 2,
      .quick_iterations = 3,
      .quick_warmup = 1,
      .run = run_create,
};
