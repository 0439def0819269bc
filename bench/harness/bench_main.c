/* `pearvisor bench`: runs each workload natively and through a PearVisor server (or any
 * vtest server), alternating, and reports statistics and efficiency. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_internal.h"
#include "pv_bench.h"
#include "util/pv_launch.h"

#define PV_LVP_ICD "/usr/share/vulkan/icd.d/lvp_icd.json"

static const char usage[] =
      "usage: pearvisor bench [OPTIONS]\n"
      "\n"
      "Runs every workload natively (the host driver) and through PearVisor (Mesa venus, our\n"
      "server, the same host driver), alternating the two paths repetition by repetition, and\n"
      "reports per workload: iterations, mean, median, p99, min, max, throughput, and efficiency\n"
      "(virtualized / native throughput) with a 95%% bootstrap confidence interval.\n"
      "\n"
      "  --workloads LIST      comma list of create,clear,batch,draw,compute,transfer,latency\n"
      "                        (default: all)\n"
      "  --iterations N        timed iterations per run (default: each workload's own)\n"
      "  --repetitions N       runs per path and workload, 1 to 64 (default 5; 2 with --quick)\n"
      "  --quick               small sizes and few iterations (CI on lavapipe)\n"
      "  --native-icd JSON     host driver manifest, for native runs and for the server\n"
      "                        (default $PV_NATIVE_ICD, else " PV_LVP_ICD ")\n"
      "  --venus-icd JSON      guest driver manifest, Mesa venus\n"
      "                        (default $PV_VENUS_ICD, else " PV_DEFAULT_VENUS_ICD ")\n"
      "  --server-cmd CMD      measure another vtest server instead of ours: `sh -c CMD`,\n"
      "                        which must listen on the UNIX socket named by $PV_SOCKET\n"
      "  --explain             afterwards, trace those of latency, clear, compute and draw\n"
      "                        that run, through a tracing server, and split their\n"
      "                        virtualized time into segments\n"
      "  --no-guest-layer      virtualized runs without the guest wait layer (the stock\n"
      "                        guest's own waits; see docs/guest-layer.md)\n"
      "  --json FILE           write everything, raw per-repetition medians included\n"
      "  --plot FILE.png       efficiency with CI whiskers and latency distributions, drawn\n"
      "                        by gnuplot (its script and data are kept beside the PNG)\n"
      "  --workload-exe PATH   the pv-workload binary (default $PV_WORKLOAD_EXE, else\n"
      "                        bench/pv-workload beside the pearvisor executable)\n"
      "  --help                this text\n"
      "\n"
      "Exit status: 0 when every workload ran and validated on both paths with equal\n"
      "checksums, 1 when any failed (the others still run), 2 on a usage error.\n";

static const char *const all_workloads[] = {"create",  "clear",    "batch",  "draw",
                                            "compute", "transfer", "latency"};

static bool parse_workloads(struct pv_bench_options *o, const char *list)
{
   o->workload_count = 0;
   char copy[256];
   snprintf(copy, sizeof(copy), "%s", list);
   for (char *save, *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
      bool known = false, repeated = false;
      for (size_t i = 0; i < 7; i++)
         known |= strcmp(w, all_workloads[i]) == 0;
      for (size_t i = 0; i < o->workload_count; i++)
         repeated |= strcmp(w, o->workloads[i]) == 0;
      if (!known || repeated) {
         fprintf(stderr, "pearvisor bench: %s workload '%s'\n", known ? "repeated" : "unknown", w);
         return false;
      }
      snprintf(o->workloads[o->workload_count++], sizeof(o->workloads[0]), "%s", w);
   }
   if (o->workload_count == 0)
      fprintf(stderr, "pearvisor bench: no workload in '%s'\n", list);
   return o->workload_count > 0;
}

static void default_workload_exe(struct pv_bench_options *o)
{
   const char *env = getenv("PV_WORKLOAD_EXE");
   if (env) {
      snprintf(o->workload_exe, sizeof(o->workload_exe), "%s", env);
      return;
   }
   char self[PATH_MAX - 32]; /* room for the suffix below */
   ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
   self[n > 0 ? n : 0] = 0;
   char *slash = strrchr(self, '/');
   if (slash)
      *slash = 0;
   snprintf(o->workload_exe, sizeof(o->workload_exe), "%s/bench/pv-workload", self);
}

static bool parse_options(int argc, char **argv, struct pv_bench_options *o, int *status)
{
   static const struct option options[] = {
         {"workloads", required_argument, NULL, 'w'},
         {"iterations", required_argument, NULL, 'i'},
         {"repetitions", required_argument, NULL, 'r'},
         {"quick", no_argument, NULL, 'q'},
         {"native-icd", required_argument, NULL, 'n'},
         {"venus-icd", required_argument, NULL, 'v'},
         {"server-cmd", required_argument, NULL, 's'},
         {"explain", no_argument, NULL, 'e'},
         {"no-guest-layer", no_argument, NULL, 'g'},
         {"json", required_argument, NULL, 'j'},
         {"plot", required_argument, NULL, 'p'},
         {"workload-exe", required_argument, NULL, 'x'},
         {"help", no_argument, NULL, 'h'},
         {0},
   };
   memset(o, 0, sizeof(*o));
   parse_workloads(o, "create,clear,batch,draw,compute,transfer,latency");
   o->native_icd = getenv("PV_NATIVE_ICD") ? getenv("PV_NATIVE_ICD") : PV_LVP_ICD;
   o->venus_icd = getenv("PV_VENUS_ICD") ? getenv("PV_VENUS_ICD") : PV_DEFAULT_VENUS_ICD;
   default_workload_exe(o);
   int c;
   *status = 2;
   while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
      switch (c) {
      case 'w':
         if (!parse_workloads(o, optarg))
            return false;
         break;
      case 'i':
      case 'r': {
         char *end;
         unsigned long v = strtoul(optarg, &end, 10);
         if (*end || v == 0 || v > (c == 'r' ? PV_BENCH_MAX_REPETITIONS : 10000000)) {
            fprintf(stderr, "pearvisor bench: bad %s '%s'\n",
                    c == 'r' ? "--repetitions" : "--iterations", optarg);
            return false;
         }
         *(c == 'i' ? &o->iterations : &o->repetitions) = (uint32_t)v;
         break;
      }
      case 'q':
         o->quick = true;
         break;
      case 'n':
         o->native_icd = optarg;
         break;
      case 'v':
         o->venus_icd = optarg;
         break;
      case 's':
         o->server_cmd = optarg;
         break;
      case 'e':
         o->explain = true;
         break;
      case 'g':
         o->no_guest_layer = true;
         break;
      case 'j':
         o->json = optarg;
         break;
      case 'p':
         o->plot = optarg;
         break;
      case 'x':
         snprintf(o->workload_exe, sizeof(o->workload_exe), "%s", optarg);
         break;
      case 'h':
         printf(usage);
         *status = 0;
         return false;
      default:
         fprintf(stderr, usage);
         return false;
      }
   }
   if (optind < argc) {
      fprintf(stderr, "pearvisor bench: unexpected argument '%s' (see --help)\n", argv[optind]);
      return false;
   }
   if (!o->repetitions)
      o->repetitions = o->quick ? 2 : 5;
   if (access(o->workload_exe, X_OK) != 0) {
      fprintf(stderr, "pearvisor bench: no workload binary at %s (use --workload-exe)\n",
              o->workload_exe);
      return false;
   }
   return true;
}

static bool selected(const struct pv_bench_options *o, const char *workload)
{
   for (size_t i = 0; i < o->workload_count; i++) {
      if (strcmp(o->workloads[i], workload) == 0)
         return true;
   }
   return false;
}

/* A server of its own per traced workload: tracing adds work on the host, so it never runs
 * while measuring, and each workload's trace files are then its own. */
static bool start_tracing_server(struct pv_launch *server, const char *dir, const char *icd)
{
   setenv("PV_TRACE_DIR", dir, 1);
   bool started = pv_launch_start(server, NULL, icd);
   unsetenv("PV_TRACE_DIR");
   return started;
}

static void run_explain(const struct pv_bench_options *o, struct pv_bench_run *run)
{
   char dir[] = "/tmp/pv-trace-XXXXXX";
   if (!mkdtemp(dir))
      return;
   static const char *const traced[] = {"latency", "clear", "compute", "draw"};
   for (size_t i = 0; i < sizeof(traced) / sizeof(traced[0]); i++) {
      if (!selected(o, traced[i]))
         continue;
      struct pv_launch server;
      if (!start_tracing_server(&server, dir, o->native_icd))
         break;
      struct pv_bench_result r[2];
      char error[256];
      int n = pv_bench_run_workload(o, &server, traced[i], true, r, 2, error, sizeof(error));
      if (n < 1) {
         fprintf(stderr, "pearvisor bench --explain: %s: %s\n", traced[i], error);
         pv_launch_stop(&server);
         continue;
      }
      struct pv_bench_phase *ph = pv_bench_phase_get(run, traced[i]);
      double native =
            ph && ph->summary[PV_BENCH_NATIVE].n ? ph->summary[PV_BENCH_NATIVE].median : 0;
      /* The worker writes its trace after its guest left; read it before stopping the
       * server, which takes its workers down with it. */
      pv_bench_explain(run, traced[i], &r[0], native, dir);
      for (int k = 0; k < n; k++)
         pv_bench_result_finish(&r[k]);
      pv_launch_stop(&server);
   }
   rmdir(dir); /* empty once every trace was read (and removed) */
}

/* Appends arg to the command line as a shell would need it, so the report's command can be
 * pasted back (a --server-cmd holds spaces and often $PV_SOCKET). */
static void append_quoted(char *out, size_t size, const char *arg)
{
   size_t n = strlen(out);
   bool plain = *arg && strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789_-+=/.,:@%") == strlen(arg);
   n += (size_t)snprintf(out + n, size - n, n ? " %s" : "%s", plain ? arg : "'");
   for (const char *c = arg; !plain && *c && n < size; c++)
      n += (size_t)snprintf(out + n, size - n, *c == '\'' ? "'\\''" : "%c", *c);
   if (!plain && n < size)
      snprintf(out + n, size - n, "'");
}

/* One repetition of one workload on one path; a failure fails the workload's phases and
 * returns false. */
static bool run_once(const struct pv_bench_options *o, struct pv_bench_run *run,
                     const struct pv_launch *server, size_t w, uint32_t rep,
                     enum pv_bench_path path, struct pv_bench_progress *progress)
{
   const char *name = o->workloads[w], *path_name = path ? "virtualized" : "native";
   char what[64], error[256], why[512];
   snprintf(what, sizeof(what), "%s %s %u/%u", name, path_name, rep + 1, o->repetitions);
   pv_bench_progress_step(progress, what);
   struct pv_bench_result results[2];
   int n = pv_bench_run_workload(o, path ? server : NULL, name, false, results, 2, error,
                                 sizeof(error));
   if (n < 0) {
      snprintf(why, sizeof(why), "%s run %u/%u: %s", path_name, rep + 1, o->repetitions, error);
      fprintf(stderr, "%spearvisor bench: %s: %s\n", progress->tty ? "\n" : "", name, why);
      pv_bench_fail(run, name, why);
   }
   for (int i = 0; i < n; i++) {
      pv_bench_record(run, path, &results[i]);
      pv_bench_result_finish(&results[i]);
   }
   return n >= 0;
}

int pv_bench_main(int argc, char **argv)
{
   struct pv_bench_options o;
   int status;
   if (!parse_options(argc, argv, &o, &status))
      return status;
   struct pv_bench_run *run = calloc(1, sizeof(*run));
   if (!run)
      return 1;
   append_quoted(run->command, sizeof(run->command), "pearvisor");
   for (int i = 0; i < argc; i++)
      append_quoted(run->command, sizeof(run->command), argv[i]);
   time_t now = time(NULL);
   strftime(run->date, sizeof(run->date), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
   snprintf(run->native_icd, sizeof(run->native_icd), "%s", o.native_icd);
   snprintf(run->server, sizeof(run->server), "%s; guest wait layer %s",
            o.server_cmd ? o.server_cmd : "pearvisor", o.no_guest_layer ? "off" : "on");

   bool ok = false;
   /* One server for the whole run: its start-up is not what the workloads measure. */
   struct pv_launch server;
   if (!pv_launch_start(&server, o.server_cmd, o.native_icd))
      goto cleanup;
   struct pv_bench_progress progress;
   pv_bench_progress_init(&progress, o.workload_count * o.repetitions * 2);
   for (size_t w = 0; w < o.workload_count; w++) {
      /* A workload that failed once is not run again: its result is already "failed", and
       * device time is better spent on the others. */
      bool failed = false;
      for (uint32_t rep = 0; rep < o.repetitions; rep++) {
         /* Alternate which path goes first (N,V then V,N), so drift (thermal, caches)
          * cancels out. */
         for (uint32_t k = 0; k < 2; k++) {
            enum pv_bench_path path = (rep + k) % 2 ? PV_BENCH_VIRTUAL : PV_BENCH_NATIVE;
            if (failed)
               pv_bench_progress_skip(&progress);
            else
               failed = !run_once(&o, run, &server, w, rep, path, &progress);
         }
      }
   }
   pv_bench_progress_finish(&progress);
   pv_launch_stop(&server);
   pv_bench_compute(run);
   if (o.explain)
      run_explain(&o, run);

   pv_bench_report_table(run, stdout);
   ok = true;
   if (o.json)
      ok &= pv_bench_report_json(run, o.json);
   if (o.plot)
      ok &= pv_bench_plot(run, o.plot);
   for (size_t i = 0; i < run->phase_count; i++)
      ok &= !run->phases[i].failed;
cleanup:
   pv_bench_run_finish(run);
   free(run);
   return ok ? 0 : 1;
}
