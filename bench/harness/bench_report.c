/* The bench's report: the terminal table and the JSON file. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench_internal.h"

/* "12.34 GB/s", "4651.2 FPS", "148.3k triangles/s", "1.23M elements/s" */
static void format_throughput(const struct pv_bench_phase *ph, double value, char *out, size_t size)
{
   if (!(value > 0))
      snprintf(out, size, "-");
   else if (ph->bytes_per_iteration)
      snprintf(out, size, "%.2f GB/s", value / 1e9);
   else if (strcmp(ph->item_unit, "frames") == 0)
      snprintf(out, size, "%.1f FPS", value);
   else if (value >= 1e9)
      snprintf(out, size, "%.2fG %s/s", value / 1e9, ph->item_unit);
   else if (value >= 1e6)
      snprintf(out, size, "%.2fM %s/s", value / 1e6, ph->item_unit);
   else if (value >= 1e4)
      snprintf(out, size, "%.1fk %s/s", value / 1e3, ph->item_unit);
   else
      snprintf(out, size, "%.1f %s/s", value, ph->item_unit);
}

static void format_ns(double ns, char *out, size_t size)
{
   if (!(ns > 0)) /* no measurement (NaN), e.g. a path that never succeeded */
      snprintf(out, size, "-");
   else if (ns >= 1e9)
      snprintf(out, size, "%.2f s", ns / 1e9);
   else if (ns >= 1e6)
      snprintf(out, size, "%.2f ms", ns / 1e6);
   else if (ns >= 1e3)
      snprintf(out, size, "%.1f us", ns / 1e3);
   else
      snprintf(out, size, "%.0f ns", ns);
}

/* CPU per iteration next to the time: a path that is fast because it spins shows here. */
static void report_cpu(const struct pv_bench_run *run, FILE *out)
{
   fprintf(out,
           "\nCPU time per iteration (median repetition; server = its whole process tree):\n"
           "%-14s %12s %12s %12s %12s %9s\n",
           "Workload", "native", "guest", "server", "PearVisor", "vs native");
   for (size_t i = 0; i < run->phase_count; i++) {
      const struct pv_bench_phase *ph = &run->phases[i];
      double native = ph->guest_cpu_median[PV_BENCH_NATIVE];
      double guest = ph->guest_cpu_median[PV_BENCH_VIRTUAL];
      double server = ph->server_cpu_median[PV_BENCH_VIRTUAL];
      double total = guest + (isnan(server) ? 0 : server);
      char n[16], g[16], sv[16], t[16];
      format_ns(native, n, sizeof(n));
      format_ns(guest, g, sizeof(g));
      format_ns(server, sv, sizeof(sv));
      format_ns(total, t, sizeof(t));
      fprintf(out, "%-14s %12s %12s %12s %12s ", ph->name, n, g, sv, t);
      if (native > 0 && total > 0)
         fprintf(out, "%8.2fx\n", total / native);
      else
         fprintf(out, "%9s\n", "-");
   }
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
   fprintf(out, "Throughput and per-iteration time at the median repetition; efficiency =\n"
                "PearVisor throughput / native throughput.\n");
   fprintf(out, "%-14s %19s %9s %19s %9s %11s  %s\n", "Workload", "Native", "median", "PearVisor",
           "median", "Efficiency", "[95% CI]");
   for (size_t i = 0; i < run->phase_count; i++) {
      const struct pv_bench_phase *ph = &run->phases[i];
      char n[64], v[64], nt[16], vt[16];
      format_throughput(ph, ph->throughput[PV_BENCH_NATIVE], n, sizeof(n));
      format_throughput(ph, ph->throughput[PV_BENCH_VIRTUAL], v, sizeof(v));
      format_ns(ph->median_of_reps[PV_BENCH_NATIVE], nt, sizeof(nt));
      format_ns(ph->median_of_reps[PV_BENCH_VIRTUAL], vt, sizeof(vt));
      fprintf(out, "%-14s %19s %9s %19s %9s ", ph->name, n, nt, v, vt);
      if (ph->failed)
         fprintf(out, "%11s  FAILED: %s\n", "-", ph->failure);
      else
         fprintf(out, "%10.1f%%  [%.1f%%, %.1f%%]\n", 100 * ph->efficiency,
                 100 * ph->efficiency_low, 100 * ph->efficiency_high);
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
   report_cpu(run, out);
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

/* Device names and command lines can hold quotes and backslashes. */
static void json_string(FILE *f, const char *s)
{
   fputc('"', f);
   for (; *s; s++) {
      unsigned char c = (unsigned char)*s;
      if (c == '"' || c == '\\')
         fprintf(f, "\\%c", c);
      else if (c < 0x20)
         fprintf(f, "\\u%04x", c);
      else
         fputc(c, f);
   }
   fputc('"', f);
}

/* JSON has no NaN: a failed phase's efficiency is null. */
static void json_number(FILE *f, const char *format, double v)
{
   if (isnan(v) || isinf(v))
      fputs("null", f);
   else
      fprintf(f, format, v);
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
   fputs("{\"date\":", f);
   json_string(f, run->date);
   fputs(",\"command\":", f);
   json_string(f, run->command);
   fputs(",\"native_icd\":", f);
   json_string(f, run->native_icd);
   fputs(",\"server\":", f);
   json_string(f, run->server);
   fputs(",\"workloads\":[", f);
   for (size_t i = 0; i < run->phase_count; i++) {
      const struct pv_bench_phase *ph = &run->phases[i];
      fprintf(f, "%s{\"name\":", i ? "," : "");
      json_string(f, ph->name);
      fputs(",\"item_unit\":", f);
      json_string(f, ph->item_unit);
      fprintf(f,
              ",\"items_per_iteration\":%llu,\"bytes_per_iteration\":%llu,\"valid\":%s,"
              "\"failure\":",
              (unsigned long long)ph->items_per_iteration,
              (unsigned long long)ph->bytes_per_iteration, ph->failed ? "false" : "true");
      json_string(f, ph->failure);
      fputs(",\"efficiency\":", f);
      json_number(f, "%.4f", ph->efficiency);
      fputs(",\"efficiency_ci95\":[", f);
      json_number(f, "%.4f", ph->efficiency_low);
      fputc(',', f);
      json_number(f, "%.4f", ph->efficiency_high);
      fputc(']', f);
      for (int p = 0; p < PV_BENCH_PATHS; p++) {
         const struct pv_bench_summary *s = &ph->summary[p];
         fprintf(f, ",\"%s\":{\"device\":", p ? "virtualized" : "native");
         json_string(f, ph->device[p]);
         fputs(",\"checksum\":", f);
         json_string(f, ph->checksum[p]);
         fprintf(f,
                 ",\"iterations\":%zu,\"repetitions\":%zu,\"mean_ns\":%.0f,\"median_ns\":%.0f,"
                 "\"p99_ns\":%.0f,\"min_ns\":%.0f,\"max_ns\":%.0f,\"throughput\":%.3f,"
                 "\"throughput_unit\":\"%s\",\"median_repetition_ns\":",
                 s->n, ph->reps[p], s->mean, s->median, s->p99, s->min, s->max, ph->throughput[p],
                 ph->bytes_per_iteration ? "bytes/s" : "items/s");
         json_number(f, "%.0f", ph->median_of_reps[p]);
         fputs(",\"repetition_medians_ns\":", f);
         json_array(f, ph->rep_median[p], ph->reps[p]);
         fputs(",\"cpu_per_iteration_ns\":", f);
         json_number(f, "%.0f", ph->guest_cpu_median[p]);
         fputs(",\"server_cpu_per_iteration_ns\":", f);
         json_number(f, "%.0f", ph->server_cpu_median[p]);
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
