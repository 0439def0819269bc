/* Running one pv-workload process on one path (native, or a venus guest of the server) and
 * collecting its PV_RESULT lines. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_internal.h"
#include "util/pv_launch.h"

#define PV_RESULT_PREFIX "PV_RESULT "

static void exec_workload(const struct pv_bench_options *o, const struct pv_launch *server,
                          const char *name, bool traced, int out_fd)
{
   dup2(out_fd, STDOUT_FILENO);
   close(out_fd);
   if (server) {
      pv_launch_guest_env(server, o->venus_icd);
      /* The workload reads the host side's CPU time from this process tree. */
      char pid[16];
      snprintf(pid, sizeof(pid), "%d", (int)server->pid);
      setenv("PV_BENCH_SERVER_PID", pid, 1);
      char layer_dir[PATH_MAX];
      bool layer_found =
            !o->no_guest_layer && pv_launch_find_guest_layer(layer_dir, sizeof(layer_dir));
      pv_launch_guest_layer_env(!o->no_guest_layer, layer_found ? layer_dir : NULL);
   } else {
      setenv("VK_DRIVER_FILES", o->native_icd, 1);
      setenv("VK_ICD_FILENAMES", o->native_icd, 1);
   }
   char iterations[16];
   snprintf(iterations, sizeof(iterations), "%u", o->iterations);
   char *argv[6] = {(char *)o->workload_exe, (char *)name};
   int argc = 2;
   if (o->quick)
      argv[argc++] = "--quick";
   if (o->iterations && !traced) {
      argv[argc++] = "--iterations";
      argv[argc++] = iterations;
   }
   execv(o->workload_exe, argv);
   fprintf(stderr, "pearvisor bench: cannot run %s: %s\n", o->workload_exe, strerror(errno));
   _exit(127);
}

int pv_bench_run_workload(const struct pv_bench_options *o, const struct pv_launch *server,
                          const char *name, bool traced, struct pv_bench_result *results, int max,
                          char *error, size_t error_size)
{
   int count = 0, pipefd[2];
   if (pipe(pipefd) != 0) {
      snprintf(error, error_size, "cannot make a pipe: %s", strerror(errno));
      return -1;
   }
   pid_t pid = fork();
   if (pid == 0) {
      close(pipefd[0]);
      exec_workload(o, server, name, traced, pipefd[1]);
   }
   close(pipefd[1]);
   if (pid < 0) {
      snprintf(error, error_size, "cannot fork: %s", strerror(errno));
      close(pipefd[0]);
      return -1;
   }

   /* Read everything, even after an error, so the child never blocks on a full pipe. */
   FILE *f = fdopen(pipefd[0], "r");
   char *line = NULL;
   size_t cap = 0;
   bool parsed = true;
   error[0] = 0;
   while (f && getline(&line, &cap, f) > 0) {
      if (strncmp(line, PV_RESULT_PREFIX, strlen(PV_RESULT_PREFIX)) != 0 || !parsed)
         continue;
      if (count == max) {
         snprintf(error, error_size, "more than %d PV_RESULT lines", max);
         parsed = false;
      } else if (pv_bench_result_parse(line + strlen(PV_RESULT_PREFIX), &results[count], error,
                                       error_size)) {
         count++;
      } else {
         parsed = false;
      }
   }
   free(line);
   if (f)
      fclose(f);
   else
      close(pipefd[0]);

   int status = 0;
   while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
      ;
   /* The exit status comes first: a crash explains a missing or cut-off PV_RESULT. */
   if (WIFSIGNALED(status))
      snprintf(error, error_size, "killed by signal %d (%s)", WTERMSIG(status),
               strsignal(WTERMSIG(status)));
   else if (WEXITSTATUS(status) == 127)
      snprintf(error, error_size, "could not be started (exit status 127)");
   else if (WEXITSTATUS(status) != 0)
      /* pv-workload: 1 = its output failed validation, 2 = a Vulkan call or usage failed. */
      snprintf(error, error_size, "exited with status %d (%s; see its stderr above)",
               WEXITSTATUS(status),
               WEXITSTATUS(status) == 1 ? "wrong output" : "a Vulkan call or usage failed");
   else if (parsed && count == 0)
      snprintf(error, error_size, "printed no PV_RESULT line");
   if (error[0]) {
      for (int i = 0; i < count; i++)
         pv_bench_result_finish(&results[i]);
      return -1;
   }
   return count;
}
