/* `pearvisor bench`: runs each workload natively and through a PearVisor server (or any
 * vtest server), alternating, and reports statistics and efficiency. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
      "  --iterations N        timed iterations per run (default: each workload's own)\n"
      "  --repetitions N       runs per path and workload (default 5; 2 with --quick)\n"
      "  --quick               small sizes and few iterations (CI on lavapipe)\n"
      "  --native-icd JSON     host driver manifest (default $PV_NATIVE_ICD, else lavapipe)\n"
      "  --venus-icd JSON      guest driver manifest (default $PV_VENUS_ICD, else Debian's)\n"
      "  --server-cmd CMD      measure another vtest server: `sh -c CMD` with $PV_SOCKET set\n"
      "  --explain             also attribute the virtualized time of latency and clear\n"
      "  --json FILE           write everything, raw per-repetition medians included\n"
      "  --plot FILE.png       efficiency with CI whiskers, latency distributions (gnuplot)\n"
      "  --workload-exe PATH   the pv-workload binary (default: next to pearvisor)\n";

static const char *const all_workloads[] = {"create",  "clear",    "batch",  "draw",
                                            "compute", "transfer", "latency"};

struct pv_bench_options {
   char workloads[7][16];
   size_t workload_count;
   uint32_t iterations, repetitions;
   bool quick, explain;
   const char *native_icd, *venus_icd, *server_cmd, *json, *plot;
   char workload_exe[PATH_MAX];
};

static bool parse_workloads(struct pv_bench_options *o, const char *list)
{
   o->workload_count = 0;
   char copy[256];
   snprintf(copy, sizeof(copy), "%s", list);
   for (char *save, *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
      bool known = false;
      for (size_t i = 0; i < 7; i++)
         known |= strcmp(w, all_workloads[i]) == 0;
      if (!known || o->workload_count == 7) {
         fprintf(stderr, "pearvisor bench: unknown workload '%s'\n", w);
         return false;
      }
      snprintf(o->workloads[o->workload_count++], sizeof(o->workloads[0]), "%s", w);
   }
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
         if (*end || v == 0 || v > (c == 'r' ? 64 : 10000000)) {
            fprintf(stderr, "pearvisor bench: bad number '%s'\n", optarg);
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
   if (!o->repetitions)
      o->repetitions = o->quick ? 2 : 5;
   if (access(o->workload_exe, X_OK) != 0) {
      fprintf(stderr, "pearvisor bench: no workload binary at %s (use --workload-exe)\n",
              o->workload_exe);
      return false;
   }
   return true;
}

/* Runs pv-workload NAME on one path; its PV_RESULT lines go to results (up to max). */
static int run_workload(const struct pv_bench_options *o, const struct pv_launch *server,
                        const char *name, bool traced, struct pv_bench_result *results, int max,
                        char *error, size_t error_size)
{
   int pipefd[2];
   if (pipe(pipefd) != 0)
      return -1;
   pid_t pid = fork();
   if (pid == 0) {
      dup2(pipefd[1], STDOUT_FILENO);
      close(pipefd[0]);
      close(pipefd[1]);
      if (server) {
         pv_launch_guest_env(server, o->venus_icd);
      } else {
         setenv("VK_DRIVER_FILES", o->native_icd, 1);
         setenv("VK_ICD_FILENAMES", o->native_icd, 1);
      }
      char iterations[16];
      snprintf(iterations, sizeof(iterations), "%u", o->iterations);
      char *argv[8] = {(char *)o->workload_exe, (char *)name};
      int argc = 2;
      if (o->quick)
         argv[argc++] = "--quick";
      if (o->iterations && !traced) {
         argv[argc++] = "--iterations";
         argv[argc++] = iterations;
      }
      execv(o->workload_exe, argv);
      _exit(127);
   }
   close(pipefd[1]);
   FILE *f = fdopen(pipefd[0], "r");
   int count = 0;
   char *line = NULL;
   size_t cap = 0;
   bool parse_ok = true;
   while (f && getline(&line, &cap, f) > 0) {
      if (strncmp(line, "PV_RESULT ", 10) != 0 || count == max)
         continue;
      if (pv_bench_result_parse(line + 10, &results[count], error, error_size))
         count++;
      else
         parse_ok = false;
   }
   free(line);
   if (f)
      fclose(f);
   int status = 0;
   waitpid(pid, &status, 0);
   if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      snprintf(error, error_size, "%s exited with %s %d", name,
               WIFEXITED(status) ? "status" : "signal",
               WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
      return -1;
   }
   if (!parse_ok || count == 0) {
      if (count == 0)
         snprintf(error, error_size, "%s printed no PV_RESULT", name);
      return -1;
   }
   return count;
}

static void record(struct pv_bench_run *run, enum pv_bench_path path, struct pv_bench_result *r)
{
   struct pv_bench_phase *ph = pv_bench_phase_get(run, r->workload);
   if (!ph)
      return;
   snprintf(ph->item_unit, sizeof(ph->item_unit), "%s", r->item_unit);
   ph->items_per_iteration = r->items_per_iteration;
   ph->bytes_per_iteration = r->bytes_per_iteration;
   snprintf(ph->device[path], sizeof(ph->device[path]), "%s", r->device);
   if (!r->valid) {
      ph->failed = true;
      snprintf(ph->failure, sizeof(ph->failure), "%s output was wrong",
               path ? "virtualized" : "native");
   }
   if (ph->checksum[path][0] == 0)
      snprintf(ph->checksum[path], sizeof(ph->checksum[path]), "%s", r->checksum);
   else if (strcmp(ph->checksum[path], r->checksum) != 0) {
      ph->failed = true;
      snprintf(ph->failure, sizeof(ph->failure), "checksums differ between repetitions");
   }
   size_t n = ph->sample_count[path];
   uint64_t *grown = realloc(ph->samples[path], (n + r->iterations) * sizeof(uint64_t));
   if (!grown)
      return;
   memcpy(grown + n, r->samples_ns, r->iterations * sizeof(uint64_t));
   ph->samples[path] = grown;
   ph->sample_count[path] = n + r->iterations;
   uint64_t *copy = malloc(r->iterations * sizeof(uint64_t));
   if (copy && ph->reps[path] < 64) {
      memcpy(copy, r->samples_ns, r->iterations * sizeof(uint64_t));
      struct pv_bench_summary s;
      pv_bench_summarize(copy, r->iterations, &s);
      ph->rep_median[path][ph->reps[path]++] = s.median;
   }
   free(copy);
}

static void progress(size_t done, size_t total, const char *what)
{
   bool tty = isatty(STDERR_FILENO);
   int width = 30, filled = (int)(width * done / (total ? total : 1));
   fprintf(stderr, "%s[%.*s%*s] %3zu%% %-40s%s", tty ? "\r" : "", filled,
           "##############################", width - filled, "", 100 * done / (total ? total : 1),
           what, tty ? "" : "\n");
   if (tty && done == total)
      fputc('\n', stderr);
}

static void fail_phase(struct pv_bench_run *run, const char *workload, const char *why)
{
   /* transfer reports two phases; mark whichever exist, or the workload itself. */
   struct pv_bench_phase *ph = pv_bench_phase_get(run, workload);
   if (ph && !ph->failed) {
      ph->failed = true;
      snprintf(ph->failure, sizeof(ph->failure), "%s", why);
   }
   fprintf(stderr, "pearvisor bench: %s: %s\n", workload, why);
}

static void run_explain(const struct pv_bench_options *o, struct pv_bench_run *run)
{
   char dir[] = "/tmp/pv-trace-XXXXXX";
   if (!mkdtemp(dir))
      return;
   /* A server of its own: tracing adds work on the host, so it never runs while measuring. */
   setenv("PV_TRACE_DIR", dir, 1);
   struct pv_launch server;
   bool started = pv_launch_start(&server, NULL, o->native_icd);
   unsetenv("PV_TRACE_DIR");
   if (!started)
      return;
   static const char *const traced[] = {"latency", "clear"};
   for (size_t i = 0; i < 2; i++) {
      struct pv_bench_result r[2];
      char error[256];
      int n = run_workload(o, &server, traced[i], true, r, 2, error, sizeof(error));
      if (n < 1) {
         fprintf(stderr, "pearvisor bench --explain: %s: %s\n", traced[i], error);
         continue;
      }
      struct pv_bench_phase *ph = pv_bench_phase_get(run, traced[i]);
      double native =
            ph && ph->summary[PV_BENCH_NATIVE].n ? ph->summary[PV_BENCH_NATIVE].median : 0;
      /* The worker writes its trace after its guest left; read it before stopping the
       * server, which takes its workers down with it. */
      pv_bench_explain(run, traced[i], &r[0], native, dir);
      pv_bench_result_finish(&r[0]);
      pv_launch_stop(&server);
      if (i + 1 < 2) {
         setenv("PV_TRACE_DIR", dir, 1);
         started = pv_launch_start(&server, NULL, o->native_icd);
         unsetenv("PV_TRACE_DIR");
         if (!started)
            return;
      }
   }
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
   for (int i = 0; i < argc; i++)
      snprintf(run->command + strlen(run->command), sizeof(run->command) - strlen(run->command),
               "%s%s", i ? " " : "pearvisor ", argv[i]);
   time_t now = time(NULL);
   strftime(run->date, sizeof(run->date), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
   snprintf(run->native_icd, sizeof(run->native_icd), "%s", o.native_icd);
   snprintf(run->server, sizeof(run->server), "%s", o.server_cmd ? o.server_cmd : "pearvisor");

   struct pv_launch server;
   if (!pv_launch_start(&server, o.server_cmd, o.native_icd)) {
      free(run);
      return 1;
   }
   size_t total = o.workload_count * o.repetitions * 2, done = 0;
   for (size_t w = 0; w < o.workload_count; w++) {
      for (uint32_t rep = 0; rep < o.repetitions; rep++) {
         /* Alternate which path goes first, so drift (thermal, caches) cancels out. */
         for (int k = 0; k < 2; k++) {
            enum pv_bench_path path = (rep + k) % 2 ? PV_BENCH_VIRTUAL : PV_BENCH_NATIVE;
            char what[64], error[256] = "";
            snprintf(what, sizeof(what), "%s %s %u/%u", o.workloads[w],
                     path ? "virtualized" : "native", rep + 1, o.repetitions);
            progress(done, total, what);
            struct pv_bench_result results[2];
            int n = run_workload(&o, path ? &server : NULL, o.workloads[w], false, results, 2,
                                 error, sizeof(error));
            if (n < 0)
               fail_phase(run, o.workloads[w], error);
            for (int i = 0; i < n; i++) {
               record(run, path, &results[i]);
               pv_bench_result_finish(&results[i]);
            }
            done++;
         }
      }
   }
   progress(total, total, "done");
   pv_launch_stop(&server);
   pv_bench_compute(run);
   if (o.explain)
      run_explain(&o, run);

   pv_bench_report_table(run, stdout);
   bool ok = true;
   if (o.json)
      ok &= pv_bench_report_json(run, o.json);
   if (o.plot)
      ok &= pv_bench_plot(run, o.plot);
   for (size_t i = 0; i < run->phase_count; i++)
      ok &= !run->phases[i].failed;
   for (size_t i = 0; i < run->phase_count; i++) {
      for (int p = 0; p < PV_BENCH_PATHS; p++)
         free(run->phases[i].samples[p]);
   }
   free(run);
   return ok ? 0 : 1;
}
