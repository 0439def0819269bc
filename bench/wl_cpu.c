/* CPU time of the timed iterations, for the bench's accounting: this process (the guest
 * application and its driver's threads), and the server's process tree (the host side),
 * named by PV_BENCH_SERVER_PID. Spinning anywhere shows up here, never hidden in a wall-time
 * figure. The tree is read before the window opens and after it closes, outside the
 * guest's own measurement. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pv_workload.h"

/* Processes of the server's tree followed at once (the server, its workers, their helpers). */
#define PV_CPU_MAX_PROCESSES 256

struct process_cpu {
   int pid;
   uint64_t own_ns;    /* its threads, live (exact) and ended (in clock ticks) */
   uint64_t reaped_ns; /* children it reaped, whole lives (stat's cutime + cstime) */
};

/* One timed loop at a time: the tree as the window opened. */
static struct {
   struct process_cpu procs[PV_CPU_MAX_PROCESSES];
   size_t count;
} window_start;

static uint64_t process_cpu_ns(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
   return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t tick_ns(void)
{
   return 1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK);
}

/* From a /proc stat file (a process's, or one thread's under task/): ppid, the CPU its
 * threads ran, ended ones included (utime + stime, in ticks), and the whole-life CPU of the
 * children it reaped. */
static bool read_stat_file(const char *path, int *ppid, uint64_t *ran_ns, uint64_t *reaped_ns)
{
   char buf[1024];
   FILE *f = fopen(path, "r");
   if (!f)
      return false;
   size_t n = fread(buf, 1, sizeof(buf) - 1, f);
   fclose(f);
   buf[n] = 0;
   /* The command name may hold spaces and parentheses: the fields start after the last ')'. */
   const char *fields = strrchr(buf, ')');
   unsigned long long utime = 0, stime = 0, cutime = 0, cstime = 0;
   if (!fields ||
       sscanf(fields + 1, " %*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", ppid,
              &utime, &stime, &cutime, &cstime) != 5)
      return false;
   *ran_ns = (utime + stime) * tick_ns();
   *reaped_ns = (cutime + cstime) * tick_ns();
   return true;
}

static bool read_stat(int pid, int *ppid, uint64_t *ran_ns, uint64_t *reaped_ns)
{
   char path[64];
   snprintf(path, sizeof(path), "/proc/%d/stat", pid);
   return read_stat_file(path, ppid, ran_ns, reaped_ns);
}

static int parent_of(int pid)
{
   int ppid = -1;
   uint64_t ran, reaped;
   return read_stat(pid, &ppid, &ran, &reaped) ? ppid : -1;
}

/* The nanoseconds the threads of pid have run: the live ones exactly (schedstat's first
 * field, where stat's utime and stime count 10 ms ticks), plus, in ticks, those that ended (a
 * worker's thread per connection), which are in the process's ran_ns but no task's. */
static uint64_t threads_cpu_ns(int pid, uint64_t ran_ns)
{
   uint64_t live_ticks_ns = 0;
   char path[64];
   snprintf(path, sizeof(path), "/proc/%d/task", pid);
   DIR *dir = opendir(path);
   uint64_t total = 0;
   for (struct dirent *e; dir && (e = readdir(dir));) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9')
         continue;
      char stat_path[96];
      snprintf(stat_path, sizeof(stat_path), "/proc/%d/task/%d/schedstat", pid, atoi(e->d_name));
      FILE *f = fopen(stat_path, "r");
      unsigned long long ns = 0;
      if (f && fscanf(f, "%llu", &ns) == 1)
         total += ns;
      if (f)
         fclose(f);
      snprintf(stat_path, sizeof(stat_path), "/proc/%d/task/%d/stat", pid, atoi(e->d_name));
      int ppid;
      uint64_t ran, reaped;
      if (read_stat_file(stat_path, &ppid, &ran, &reaped))
         live_ticks_ns += ran;
   }
   if (dir)
      closedir(dir);
   return total + (ran_ns > live_ticks_ns ? ran_ns - live_ticks_ns : 0);
}

static bool descends_from(int pid, int root)
{
   for (int depth = 0; pid > 1 && depth < 16; depth++) {
      if (pid == root)
         return true;
      pid = parent_of(pid);
   }
   return pid == root;
}

/* Snapshots the server's process tree into procs; false when no server is named. */
static bool snapshot(struct process_cpu *procs, size_t *count)
{
   const char *env = getenv("PV_BENCH_SERVER_PID");
   int root = env ? atoi(env) : 0;
   DIR *proc = root > 1 ? opendir("/proc") : NULL;
   if (!proc)
      return false;
   *count = 0;
   for (struct dirent *e; (e = readdir(proc)) && *count < PV_CPU_MAX_PROCESSES;) {
      int pid = atoi(e->d_name), ppid;
      struct process_cpu *p = &procs[*count];
      uint64_t ran;
      if (pid > 1 && descends_from(pid, root) && read_stat(pid, &ppid, &ran, &p->reaped_ns)) {
         p->pid = pid;
         p->own_ns = threads_cpu_ns(pid, ran);
         (*count)++;
      }
   }
   closedir(proc);
   return true;
}

void pv_wl_cpu_begin(struct pv_cpu_time *cpu)
{
   *cpu = (struct pv_cpu_time){0};
   cpu->server_known = snapshot(window_start.procs, &window_start.count);
   cpu->guest_ns = process_cpu_ns();
}

/* What the tree ran inside the window: each live process's growth (all of it for one that
 * started inside), plus the children reaped inside, whole lives (a guest's worker that
 * came from a ready pool brings its warm-up, which is that guest's cost). */
void pv_wl_cpu_end(struct pv_cpu_time *cpu)
{
   cpu->guest_ns = process_cpu_ns() - cpu->guest_ns;
   cpu->known = true;
   static struct process_cpu now[PV_CPU_MAX_PROCESSES];
   size_t count = 0;
   if (!cpu->server_known || !snapshot(now, &count)) {
      cpu->server_known = false;
      return;
   }
   uint64_t total = 0;
   for (size_t i = 0; i < count; i++) {
      uint64_t own = now[i].own_ns, reaped = now[i].reaped_ns;
      for (size_t j = 0; j < window_start.count; j++) {
         if (window_start.procs[j].pid != now[i].pid)
            continue;
         own = own > window_start.procs[j].own_ns ? own - window_start.procs[j].own_ns : 0;
         reaped = reaped - window_start.procs[j].reaped_ns;
         break;
      }
      total += own + reaped;
   }
   cpu->server_ns = total;
}
