/* --explain: joins a traced virtualized run's iterations (guest clock) with the server's
 * submit trace (host clock; both CLOCK_MONOTONIC on one machine) and splits each iteration
 * into measured segments. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_internal.h"

struct trace_record {
   uint64_t pickup, decoded, submitted, gpu_done;
};

static int by_pickup(const void *a, const void *b)
{
   const struct trace_record *x = a, *y = b;
   return x->pickup < y->pickup ? -1 : x->pickup > y->pickup;
}

/* Reads (and removes) every finished trace file of dir; waits up to 30 s for the first,
 * since a worker writes its trace when its guest has gone and its device is torn down. */
static struct trace_record *read_traces(const char *dir, size_t *count)
{
   struct trace_record *records = NULL;
   size_t n = 0, cap = 0;
   for (int tries = 0; tries < 3000 && n == 0; tries++) {
      DIR *d = opendir(dir);
      struct dirent *e;
      while (d && (e = readdir(d))) {
         size_t len = strlen(e->d_name);
         if (strncmp(e->d_name, "trace-", 6) != 0 || len < 4 ||
             strcmp(e->d_name + len - 4, ".tsv") != 0)
            continue;
         char path[1024];
         snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
         FILE *f = fopen(path, "r");
         char line[256];
         while (f && fgets(line, sizeof(line), f)) {
            struct trace_record r;
            if (sscanf(line, "%lu %lu %lu %lu", &r.pickup, &r.decoded, &r.submitted, &r.gpu_done) !=
                4)
               continue;
            if (n == cap) {
               cap = cap ? cap * 2 : 1024;
               struct trace_record *grown = realloc(records, cap * sizeof(*records));
               if (!grown)
                  break;
               records = grown;
            }
            records[n++] = r;
         }
         if (f)
            fclose(f);
         unlink(path);
      }
      if (d)
         closedir(d);
      if (n == 0)
         usleep(10000);
   }
   if (n)
      qsort(records, n, sizeof(*records), by_pickup);
   *count = n;
   return records;
}

bool pv_bench_explain(struct pv_bench_run *run, const char *workload,
                      const struct pv_bench_result *virt, double native_median,
                      const char *trace_dir)
{
   size_t count;
   struct trace_record *records = read_traces(trace_dir, &count);
   if (!virt->start_ns || !records || run->explain_count == 8) {
      fprintf(stderr, "pearvisor bench --explain: %s: no %s to join\n", workload,
              records ? "guest timestamps" : "server trace");
      free(records);
      return false;
   }
   size_t n = virt->iterations, matched = 0;
   double *seg[7];
   for (int s = 0; s < 7; s++)
      seg[s] = calloc(n, sizeof(double));
   size_t next = 0;
   for (size_t i = 0; i < n && seg[6]; i++) {
      uint64_t start = virt->start_ns[i], end = start + virt->samples_ns[i];
      while (next < count && records[next].pickup < start)
         next++;
      if (next == count || records[next].pickup > end)
         continue; /* this iteration's submit was not traced (should not happen) */
      const struct trace_record *r = &records[next++];
      if (!r->gpu_done)
         continue; /* completion not observed before the fence was reused */
      seg[0][matched] = (double)(end - start);
      seg[1][matched] = virt->submit_ns ? (double)virt->submit_ns[i] : 0;
      seg[2][matched] = (double)r->pickup - (double)start;
      seg[3][matched] = (double)r->decoded - (double)r->pickup;
      seg[4][matched] = (double)r->submitted - (double)r->decoded;
      seg[5][matched] = (double)r->gpu_done - (double)r->submitted;
      seg[6][matched] = (double)end - (double)r->gpu_done;
      matched++;
   }
   struct pv_bench_explain *e = &run->explains[run->explain_count++];
   memset(e, 0, sizeof(*e));
   snprintf(e->workload, sizeof(e->workload), "%s", workload);
   e->matched = matched;
   e->native_total = native_median;
   double *out[7] = {&e->total,       &e->guest_submit, &e->guest_to_pickup, &e->decode,
                     &e->host_submit, &e->gpu,          &e->guest_notice};
   for (int s = 0; s < 7; s++) {
      *out[s] = seg[s] && matched ? pv_bench_median(seg[s], matched) : 0;
      free(seg[s]);
   }
   free(records);
   return matched > 0;
}
