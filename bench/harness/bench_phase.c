/* A run's results gathered per phase (a workload, or transfer_up/down), the checks that fail
 * a phase (invalid output, checksums that differ), and each phase's statistics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_internal.h"

static const char *const path_names[PV_BENCH_PATHS] = {"native", "virtualized"};

struct pv_bench_phase *pv_bench_phase_get(struct pv_bench_run *run, const char *name)
{
   for (size_t i = 0; i < run->phase_count; i++) {
      if (strcmp(run->phases[i].name, name) == 0)
         return &run->phases[i];
   }
   if (run->phase_count == sizeof(run->phases) / sizeof(run->phases[0]))
      return NULL;
   struct pv_bench_phase *ph = &run->phases[run->phase_count++];
   snprintf(ph->name, sizeof(ph->name), "%s", name);
   return ph;
}

/* The first failure is the one worth reading; later ones usually follow from it. */
static void fail_phase(struct pv_bench_phase *ph, const char *why)
{
   if (ph->failed)
      return;
   ph->failed = true;
   snprintf(ph->failure, sizeof(ph->failure), "%s", why);
}

void pv_bench_fail(struct pv_bench_run *run, const char *workload, const char *why)
{
   /* A workload's phases are named after it (transfer -> transfer_up, transfer_down). */
   size_t len = strlen(workload);
   bool marked = false;
   for (size_t i = 0; i < run->phase_count; i++) {
      const char *name = run->phases[i].name;
      if (strncmp(name, workload, len) == 0 && (name[len] == 0 || name[len] == '_')) {
         fail_phase(&run->phases[i], why);
         marked = true;
      }
   }
   struct pv_bench_phase *ph = marked ? NULL : pv_bench_phase_get(run, workload);
   if (ph)
      fail_phase(ph, why);
}

void pv_bench_record(struct pv_bench_run *run, enum pv_bench_path path,
                     const struct pv_bench_result *r)
{
   struct pv_bench_phase *ph = pv_bench_phase_get(run, r->workload);
   if (!ph)
      return;
   char why[256];
   snprintf(ph->item_unit, sizeof(ph->item_unit), "%s", r->item_unit);
   ph->items_per_iteration = r->items_per_iteration;
   ph->bytes_per_iteration = r->bytes_per_iteration;
   snprintf(ph->device[path], sizeof(ph->device[path]), "%s", r->device);
   if (!r->valid) {
      snprintf(why, sizeof(why), "%s run reported wrong output (valid: false)", path_names[path]);
      fail_phase(ph, why);
   }
   /* Same driver underneath, same validated output: the checksums must agree bit for bit,
    * across repetitions and across the two paths. */
   for (int p = 0; p < PV_BENCH_PATHS; p++) {
      if (ph->checksum[p][0] && strcmp(ph->checksum[p], r->checksum) != 0) {
         snprintf(why, sizeof(why), "checksum %s of a %s run differs from %s of a %s run",
                  r->checksum, path_names[path], ph->checksum[p], path_names[p]);
         fail_phase(ph, why);
      }
   }
   if (!ph->checksum[path][0])
      snprintf(ph->checksum[path], sizeof(ph->checksum[path]), "%s", r->checksum);

   size_t n = ph->sample_count[path];
   uint64_t *grown = realloc(ph->samples[path], (n + r->iterations) * sizeof(uint64_t));
   uint64_t *copy = malloc(r->iterations * sizeof(uint64_t));
   if (!grown || !copy || ph->reps[path] == PV_BENCH_MAX_REPETITIONS) {
      free(copy);
      if (grown)
         ph->samples[path] = grown;
      fail_phase(ph, "out of memory or too many repetitions");
      return;
   }
   memcpy(grown + n, r->samples_ns, r->iterations * sizeof(uint64_t));
   ph->samples[path] = grown;
   ph->sample_count[path] = n + r->iterations;
   memcpy(copy, r->samples_ns, r->iterations * sizeof(uint64_t));
   struct pv_bench_summary s;
   pv_bench_summarize(copy, r->iterations, &s);
   ph->rep_median[path][ph->reps[path]++] = s.median;
   free(copy);
   if (!isnan(r->cpu_ns))
      ph->guest_cpu[path][ph->guest_cpu_reps[path]++] = r->cpu_ns / r->iterations;
   if (!isnan(r->server_cpu_ns))
      ph->server_cpu[path][ph->server_cpu_reps[path]++] = r->server_cpu_ns / r->iterations;
}

/* The median of per-repetition values, left in their order; NAN when there are none. */
static double rep_median_of(const double *values, size_t n)
{
   double copy[PV_BENCH_MAX_REPETITIONS];
   memcpy(copy, values, n * sizeof(double));
   return pv_bench_median(copy, n);
}

void pv_bench_compute(struct pv_bench_run *run)
{
   for (size_t i = 0; i < run->phase_count; i++) {
      struct pv_bench_phase *ph = &run->phases[i];
      for (int p = 0; p < PV_BENCH_PATHS; p++) {
         pv_bench_summarize(ph->samples[p], ph->sample_count[p], &ph->summary[p]);
         /* Throughput from the median repetition, the unit the efficiency's CI resamples. */
         ph->median_of_reps[p] = rep_median_of(ph->rep_median[p], ph->reps[p]);
         double per_second = ph->median_of_reps[p] > 0 ? 1e9 / ph->median_of_reps[p] : 0;
         ph->throughput[p] =
               per_second * (double)(ph->bytes_per_iteration ? ph->bytes_per_iteration
                                                             : ph->items_per_iteration);
         ph->guest_cpu_median[p] = rep_median_of(ph->guest_cpu[p], ph->guest_cpu_reps[p]);
         ph->server_cpu_median[p] = rep_median_of(ph->server_cpu[p], ph->server_cpu_reps[p]);
      }
      if (!ph->failed && (!ph->reps[PV_BENCH_NATIVE] || !ph->reps[PV_BENCH_VIRTUAL]))
         fail_phase(ph, ph->reps[PV_BENCH_NATIVE] ? "no virtualized result" : "no native result");
      if (ph->failed) {
         ph->efficiency = ph->efficiency_low = ph->efficiency_high = NAN;
         continue;
      }
      ph->efficiency = ph->median_of_reps[PV_BENCH_NATIVE] / ph->median_of_reps[PV_BENCH_VIRTUAL];
      pv_bench_efficiency_ci(ph->rep_median[PV_BENCH_NATIVE], ph->reps[PV_BENCH_NATIVE],
                             ph->rep_median[PV_BENCH_VIRTUAL], ph->reps[PV_BENCH_VIRTUAL],
                             &ph->efficiency_low, &ph->efficiency_high);
   }
}

void pv_bench_run_finish(struct pv_bench_run *run)
{
   for (size_t i = 0; i < run->phase_count; i++) {
      for (int p = 0; p < PV_BENCH_PATHS; p++)
         free(run->phases[i].samples[p]);
   }
}
