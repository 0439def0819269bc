/* The bench's numbers: per-phase statistics, the terminal table and the JSON report. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench_internal.h"

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

void pv_bench_compute(struct pv_bench_run *run)
{
   for (size_t i = 0; i < run->phase_count; i++) {
      struct pv_bench_phase *ph = &run->phases[i];
      double rep_median[PV_BENCH_PATHS];
      for (int p = 0; p < PV_BENCH_PATHS; p++) {
         pv_bench_summarize(ph->samples[p], ph->sample_count[p], &ph->summary[p]);
         /* Throughput from the median repetition, the unit the efficiency's CI resamples. */
         double medians[64];
         memcpy(medians, ph->rep_median[p], sizeof(medians));
         rep_median[p] = pv_bench_median(medians, ph->reps[p]);
         double per_second = rep_median[p] > 0 ? 1e9 / rep_median[p] : 0;
         ph->throughput[p] =
               per_second * (double)(ph->bytes_per_iteration ? ph->bytes_per_iteration
                                                             : ph->items_per_iteration);
      }
      if (ph->failed || !ph->reps[PV_BENCH_NATIVE] || !ph->reps[PV_BENCH_VIRTUAL]) {
         ph->efficiency = ph->efficiency_low = ph->efficiency_high = NAN;
         continue;
      }
      ph->efficiency = rep_median[PV_BENCH_NATIVE] / rep_median[PV_BENCH_VIRTUAL];
      pv_bench_efficiency_ci(ph->rep_median[PV_BENCH_NATIVE], ph->reps[PV_BENCH_NATIVE],
                             ph->rep_median[PV_BENCH_VIRTUAL], ph->reps[PV_BENCH_VIRTUAL],
                             &ph->efficiency_low, &ph->efficiency_high);
   }
}

/* "12.3 GB/s", "4651.2 FPS", "1.2M triangles/s" */
static void format_throughput(const struct pv_bench_phase *ph, double value, char *out, size_t size)
{
   if (ph->bytes_per_iteration)
      snprintf(out, size, "%.2f GB/s", value / 1e9);
   else if (strcmp(ph->item_unit, "frames") == 0)
      snprintf(out, size, "%.1f FPS", value);
   else if (value >= 1e6)
      snprintf(out, size, "%.2fM %s/s", value / 1e6, ph->item_unit);
   else
      snprintf(out, size, "%.1f %s/s", value, ph->item_unit);
}

static void format_ns(double ns, char *out, size_t size)
{
   if (ns >= 1e9)
      snprintf(out, size, "%.2f s", ns / 1e9);
   else if (ns >= 1e6)
      snprintf(out, size, "%.2f ms", ns / 1e6);
   else
      snprintf(out, size, "%.1f us", ns / 1e3);
}

void pv_bench_report_table(const struct pv_bench_run *run, FILE *out)
{
   const char *native_dev = "", *virt_dev = "";
   for (size_t i = 0; i < run->phase_count; i++) {
      if (run->phases[i].device[PV_BENCH_NATIVE][0])
         native_dev = run->phases[i].device[PV_BENCH_NATIVE];
      if (run->phases[i].device[PV_BENCH_VIRTUAL][0])
         virt_dev = run->phases[i].device[PV_BENCH_VIRTUAL];
   }
   fprintf(out,
           "PearVisor bench, %s\n  command: %s\n  native: %s (%s)\n  virtualized: %s "
           "(server: %s)\n\n",
           run->date, run->command, native_dev, run->native_icd, virt_dev, run->server);
   fprintf(out, "Throughput at the median repetition; efficiency = PearVisor / native.\n");
   fprintf(out, "%-14s %18s %18s %12s  %s\n", "Workload", "Native", "PearVisor", "Efficiency",
           "[95% CI]");
   for (size_t i = 0; i < run->phase_count; i++) {
      const struct pv_bench_phase *ph = &run->phases[i];
      char n[64], v[64];
      format_throughput(ph, ph->throughput[PV_BENCH_NATIVE], n, sizeof(n));
      format_throughput(ph, ph->throughput[PV_BENCH_VIRTUAL], v, sizeof(v));
      if (ph->failed)
         fprintf(out, "%-14s %18s %18s %12s  FAILED: %s\n", ph->name, n, v, "-", ph->failure);
      else
         fprintf(out, "%-14s %18s %18s %11.1f%%  [%.1f%%, %.1f%%]\n", ph->name, n, v,
                 100 * ph->efficiency, 100 * ph->efficiency_low, 100 * ph->efficiency_high);
   }
   fprintf(out,
           "\nPer-iteration time (pooled over repetitions):\n%-14s %-8s %6s %10s %10s "
           "%10s %10s %10s\n",
           "Workload", "path", "n", "mean", "median", "p99", "min", "max");
   for (size_t i = 0; i < run->phase_count; i++) {
      const struct pv_bench_phase *ph = &run->phases[i];
      for (int p = 0; p < PV_BENCH_PATHS; p++) {
         const struct pv_bench_summary *s = &ph->summary[p];
         char mean[16], median[16], p99[16], min[16], max[16];
         format_ns(s->mean, mean, sizeof(mean));
         format_ns(s->median, median, sizeof(median));
         format_ns(s->p99, p99, sizeof(p99));
         format_ns(s->min, min, sizeof(min));
         format_ns(s->max, max, sizeof(max));
         fprintf(out, "%-14s %-8s %6zu %10s %10s %10s %10s %10s\n", p ? "" : ph->name,
                 p ? "virtual" : "native", s->n, mean, median, p99, min, max);
      }
   }
   for (size_t i = 0; i < run->explain_count; i++) {
      const struct pv_bench_explain *e = &run->explains[i];
      fprintf(out,
              "\nWhere the virtualized time of %s goes (medians over %zu traced iterations, "
              "us):\n"
              "  native iteration                       %9.1f\n"
              "  virtualized iteration                  %9.1f\n"
              "    guest driver + transport to pickup   %9.1f  (of which in vkQueueSubmit: "
              "%.1f)\n"
              "    host decode and dispatch             %9.1f\n"
              "    host driver submit                   %9.1f\n"
              "    GPU execution (host fence signaled)  %9.1f\n"
              "    guest noticing completion            %9.1f\n",
              e->workload, e->matched, e->native_total / 1e3, e->total / 1e3,
              e->guest_to_pickup / 1e3, e->guest_submit / 1e3, e->decode / 1e3,
              e->host_submit / 1e3, e->gpu / 1e3, e->guest_notice / 1e3);
   }
}

static void json_array(FILE *f, const double *v, size_t n)
{
   fputc('[', f);
   for (size_t i = 0; i < n; i++)
      fprintf(f, "%s%.0f", i ? "," : "", v[i]);
   fputc(']', f);
}

bool pv_bench_report_json(const struct pv_bench_run *run, const char *path)
{
   FILE *f = fopen(path, "w");
   if (!f) {
      fprintf(stderr, "pearvisor bench: cannot write %s\n", path);
      return false;
   }
   fprintf(f,
           "{\"date\":\"%s\",\"command\":\"%s\",\"native_icd\":\"%s\",\"server\":\"%s\","
           "\"workloads\":[",
           run->date, run->command, run->native_icd, run->server);
   for (size_t i = 0; i < run->phase_count; i++) {
      const struct pv_bench_phase *ph = &run->phases[i];
      fprintf(f, "%s{\"name\":\"%s\",\"item_unit\":\"%s\",\"valid\":%s,\"failure\":\"%s\",",
              i ? "," : "", ph->name, ph->item_unit, ph->failed ? "false" : "true", ph->failure);
      fprintf(f, "\"efficiency\":%.4f,\"efficiency_ci95\":[%.4f,%.4f]",
              isnan(ph->efficiency) ? -1 : ph->efficiency,
              isnan(ph->efficiency_low) ? -1 : ph->efficiency_low,
              isnan(ph->efficiency_high) ? -1 : ph->efficiency_high);
      for (int p = 0; p < PV_BENCH_PATHS; p++) {
         const struct pv_bench_summary *s = &ph->summary[p];
         fprintf(f,
                 ",\"%s\":{\"device\":\"%s\",\"checksum\":\"%s\",\"iterations\":%zu,"
                 "\"mean_ns\":%.0f,\"median_ns\":%.0f,\"p99_ns\":%.0f,\"min_ns\":%.0f,"
                 "\"max_ns\":%.0f,\"throughput\":%.3f,\"repetition_medians_ns\":",
                 p ? "virtualized" : "native", ph->device[p], ph->checksum[p], s->n, s->mean,
                 s->median, s->p99, s->min, s->max, ph->throughput[p]);
         json_array(f, ph->rep_median[p], ph->reps[p]);
         fputc('}', f);
      }
      fputc('}', f);
   }
   fprintf(f, "],\"explain\":[");
   for (size_t i = 0; i < run->explain_count; i++) {
      const struct pv_bench_explain *e = &run->explains[i];
      fprintf(f,
              "%s{\"workload\":\"%s\",\"matched\":%zu,\"native_ns\":%.0f,\"total_ns\":%.0f,"
              "\"guest_submit_ns\":%.0f,\"guest_to_pickup_ns\":%.0f,\"decode_ns\":%.0f,"
              "\"host_submit_ns\":%.0f,\"gpu_ns\":%.0f,\"guest_notice_ns\":%.0f}",
              i ? "," : "", e->workload, e->matched, e->native_total, e->total, e->guest_submit,
              e->guest_to_pickup, e->decode, e->host_submit, e->gpu, e->guest_notice);
   }
   fprintf(f, "]}\n");
   return fclose(f) == 0;
}
