/* The timing loop and the report every workload shares. */
#include "pv_workload.h"

uint64_t *pv_wl_samples(const struct pv_workload_args *args)
{
   return pv_alloc(args->iterations * sizeof(uint64_t));
}

void pv_wl_measure(const struct pv_workload_args *args, void (*iteration)(void *data), void *data,
                   uint64_t *samples, uint64_t *starts, struct pv_cpu_time *cpu)
{
   for (uint32_t i = 0; i < args->warmup; i++)
      iteration(data);
   pv_wl_cpu_begin(cpu);
   for (uint32_t i = 0; i < args->iterations; i++) {
      uint64_t start = pv_time_ns();
      iteration(data);
      samples[i] = pv_time_ns() - start;
      if (starts)
         starts[i] = start;
   }
   pv_wl_cpu_end(cpu);
}

int pv_wl_report(const struct pv_result *result)
{
   pv_result_print(result);
   return result->valid ? 0 : 1;
}
