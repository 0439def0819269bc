/* What the parts of the bench harness share: results, statistics, the run's data. */
#ifndef PV_BENCH_INTERNAL_H
#define PV_BENCH_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

struct pv_launch;

/* The command line of `pearvisor bench`. */
struct pv_bench_options {
   char workloads[7][16];
   size_t workload_count;
   uint32_t iterations, repetitions;
   bool quick, explain;
   bool no_guest_layer; /* virtualized guests wait the stock driver's way */
   const char *native_icd, *venus_icd, *server_cmd, *json, *plot;
   char workload_exe[PATH_MAX];
};

/* One PV_RESULT line of a workload (bench/WORKLOAD-PROTOCOL.md). */
struct pv_bench_result {
   char workload[32];
   char device[256];
   char item_unit[32];
   char checksum[32];
   uint32_t iterations;
   uint64_t items_per_iteration;
   uint64_t bytes_per_iteration;
   bool valid;
   uint64_t *samples_ns;
   uint64_t *start_ns;  /* NULL if not reported */
   uint64_t *submit_ns; /* NULL if not reported */
   /* CPU time of all timed iterations together, NAN if not reported: the workload process,
    * and the server's process tree (virtualized runs). */
   double cpu_ns, server_cpu_ns;
};

/* Parses one line (after "PV_RESULT "); false with a message in error on malformed input. */
bool pv_bench_result_parse(const char *json, struct pv_bench_result *result, char *error,
                           size_t error_size);
void pv_bench_result_finish(struct pv_bench_result *result);

struct pv_bench_summary {
   size_t n;
   double mean, median, p99, min, max; /* nanoseconds */
};

/* Summarizes samples (sorted in place). */
void pv_bench_summarize(uint64_t *samples, size_t n, struct pv_bench_summary *summary);
double pv_bench_median(double *values, size_t n); /* sorts in place */
/* 95% bootstrap interval of median(native) / median(virtual) over repetitions. */
void pv_bench_efficiency_ci(const double *native, size_t native_n, const double *virt,
                            size_t virt_n, double *low, double *high);

enum pv_bench_path { PV_BENCH_NATIVE, PV_BENCH_VIRTUAL, PV_BENCH_PATHS };

/* --repetitions is at most this: per-repetition medians live in fixed arrays. */
#define PV_BENCH_MAX_REPETITIONS 64

/* Everything measured for one workload phase (a workload, or transfer_up/down). */
struct pv_bench_phase {
   char name[32];
   char item_unit[32];
   uint64_t items_per_iteration;
   uint64_t bytes_per_iteration;
   char device[PV_BENCH_PATHS][256];
   char checksum[PV_BENCH_PATHS][32];
   uint64_t *samples[PV_BENCH_PATHS]; /* pooled over repetitions */
   size_t sample_count[PV_BENCH_PATHS];
   double rep_median[PV_BENCH_PATHS][PV_BENCH_MAX_REPETITIONS]; /* per repetition, ns */
   size_t reps[PV_BENCH_PATHS];
   /* CPU per iteration of each repetition that reported it, ns: guest process, server. */
   double guest_cpu[PV_BENCH_PATHS][PV_BENCH_MAX_REPETITIONS];
   double server_cpu[PV_BENCH_PATHS][PV_BENCH_MAX_REPETITIONS];
   size_t guest_cpu_reps[PV_BENCH_PATHS], server_cpu_reps[PV_BENCH_PATHS];
   bool failed;
   char failure[256];
   /* Filled by the statistics step. */
   struct pv_bench_summary summary[PV_BENCH_PATHS];
   double median_of_reps[PV_BENCH_PATHS]; /* median of rep_median, ns; NAN without reps */
   double throughput[PV_BENCH_PATHS];     /* items/s, or bytes/s when bytes_per_iteration */
   double efficiency, efficiency_low, efficiency_high;
   double guest_cpu_median[PV_BENCH_PATHS], server_cpu_median[PV_BENCH_PATHS]; /* NAN: none */
};

/* The attribution of one virtualized workload's time (--explain), medians in ns. */
struct pv_bench_explain {
   char workload[32];
   size_t matched;
   double native_total;
   double total, guest_submit, guest_to_pickup, decode, host_submit, gpu, guest_notice;
};

struct pv_bench_run {
   struct pv_bench_phase phases[16];
   size_t phase_count;
   struct pv_bench_explain explains[8];
   size_t explain_count;
   char command[1024];
   char date[64];
   char native_icd[256];
   char server[256];
};

/* bench_phase.c: the phase of that name, made on first use; NULL when the run is full. */
struct pv_bench_phase *pv_bench_phase_get(struct pv_bench_run *run, const char *name);
/* Adds one repetition's result on path; invalid output or a checksum differing from any
 * earlier run of the phase (either path) fails the phase. */
void pv_bench_record(struct pv_bench_run *run, enum pv_bench_path path,
                     const struct pv_bench_result *result);
/* Fails every phase of workload (or the workload's own phase when it has none yet). */
void pv_bench_fail(struct pv_bench_run *run, const char *workload, const char *why);
/* Statistics, throughput and efficiency of every phase; sorts the pooled samples. */
void pv_bench_compute(struct pv_bench_run *run);
void pv_bench_run_finish(struct pv_bench_run *run);

/* bench_workload.c: runs `pv-workload name` once, natively (server NULL) or as a venus guest
 * of server, and parses its PV_RESULT lines into results (at most max). traced: a run for
 * --explain, at the workload's own iteration count. Returns how many results, or -1 with
 * error set and no result left to free. */
int pv_bench_run_workload(const struct pv_bench_options *options, const struct pv_launch *server,
                          const char *name, bool traced, struct pv_bench_result *results, int max,
                          char *error, size_t error_size);

/* bench_progress.c: a bar on stderr when it is a terminal, else one line per step. */
struct pv_bench_progress {
   size_t done, total;
   bool tty;
};
void pv_bench_progress_init(struct pv_bench_progress *progress, size_t total);
/* Shows that the next step, what, has started. */
void pv_bench_progress_step(struct pv_bench_progress *progress, const char *what);
/* Counts a step that will not run. */
void pv_bench_progress_skip(struct pv_bench_progress *progress);
void pv_bench_progress_finish(struct pv_bench_progress *progress);

void pv_bench_report_table(const struct pv_bench_run *run, FILE *out);
bool pv_bench_report_json(const struct pv_bench_run *run, const char *path);
bool pv_bench_plot(const struct pv_bench_run *run, const char *png);
/* Joins a traced virtual run's results with the server's trace files in trace_dir. */
bool pv_bench_explain(struct pv_bench_run *run, const char *workload,
                      const struct pv_bench_result *virt, double native_median,
                      const char *trace_dir);

#endif
