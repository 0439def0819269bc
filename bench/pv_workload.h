/* The workloads of pv-workload and what they share: their options, timing loop and report. */
#ifndef PV_WORKLOAD_H
#define PV_WORKLOAD_H

#include "pv_vkapp.h"

/* The options of one run, defaults already applied. */
struct pv_workload_args {
   uint32_t iterations; /* timed, at least 1 */
   uint32_t warmup;     /* untimed, before the timed ones */
   uint64_t size_bytes; /* data size of the workloads that have one, else 0 */
   bool quick;          /* small sizes: seconds on lavapipe, the same code path */
};

struct pv_workload {
   const char *name;
   const char *summary; /* for --help */
   uint32_t iterations, warmup;
   uint32_t quick_iterations, quick_warmup;
   uint32_t size_mib, quick_size_mib; /* 0 when the workload has no data size */
   /* Returns the exit status: 0 when the output was valid, 1 when not (Vulkan errors exit 2). */
   int (*run)(const struct pv_workload_args *args);
};

extern const struct pv_workload pv_wl_create, pv_wl_clear, pv_wl_batch, pv_wl_draw, pv_wl_compute,
      pv_wl_transfer, pv_wl_latency;

/* Room for args->iterations samples; free() it. */
uint64_t *pv_wl_samples(const struct pv_workload_args *args);
/* Calls iteration(data) args->warmup times untimed, then args->iterations times, storing the
 * wall time of each of those in samples, and, when starts is not NULL, when each began; cpu
 * gets the CPU time of the timed ones. */
void pv_wl_measure(const struct pv_workload_args *args, void (*iteration)(void *data), void *data,
                   uint64_t *samples, uint64_t *starts, struct pv_cpu_time *cpu);
/* wl_cpu.c: around a timed loop. */
void pv_wl_cpu_begin(struct pv_cpu_time *cpu);
void pv_wl_cpu_end(struct pv_cpu_time *cpu);
/* Prints the PV_RESULT line and returns the exit status it implies. */
int pv_wl_report(const struct pv_result *result);

#endif
