/* The library's context workers before they serve a context: starting one, and the pool of
 * ready ones (PEARVISOR_VIRGL_READY) that loaded the host driver and prepared a host
 * instance before the VMM asked for a context, so that a guest's first Vulkan call does not
 * wait for that. Everything here runs under pv_virgl.lock. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/pv_log.h"
#include "util/pv_os.h"
#include "virgl/pv_virgl.h"

extern char **environ;

#define PV_MS_NS 1000000ull
/* The worker's fds are moved at least this high before spawning, so that the dup2s onto
 * fds 3..5 can never overwrite one another. */
#define PV_VIRGL_SPAWN_FD_BASE 16
/* A ready worker that dies waiting is replaced at once the first time; each further death in
 * a row doubles the wait, from 100 ms up to 30 s, so a driver that crashes on load costs the
 * VMM about ten spawns (and log lines) in its first minute and two a minute after. */
#define PV_VIRGL_BACKOFF_MIN_NS (100 * PV_MS_NS)
#define PV_VIRGL_BACKOFF_MAX_NS (30000 * PV_MS_NS)
/* A worker that was ready this long before it died ends the streak: it was no crash loop. */
#define PV_VIRGL_HEALTHY_NS PV_VIRGL_BACKOFF_MAX_NS

static int move_high(int fd)
{
   int high = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, PV_VIRGL_SPAWN_FD_BASE);
   if (fd >= 0)
      close(fd);
   return high;
}

/* Starts the worker with control, events and shared on fds 3, 4, 5 and nothing else of the
 * VMM's: no other fd, not its signal mask or handlers, not its process group (a Ctrl-C for
 * the VMM reaches the worker as the end of its socket, after the VMM has let go). */
static pid_t spawn_worker(int control, int events, int shared)
{
   posix_spawn_file_actions_t actions;
   posix_spawnattr_t attr;
   sigset_t none, all;
   sigemptyset(&none);
   sigfillset(&all);
   posix_spawn_file_actions_init(&actions);
   posix_spawn_file_actions_adddup2(&actions, control, PV_WIRE_FD_CONTROL);
   posix_spawn_file_actions_adddup2(&actions, events, PV_WIRE_FD_EVENTS);
   posix_spawn_file_actions_adddup2(&actions, shared, PV_WIRE_FD_SHARED);
   posix_spawn_file_actions_addclosefrom_np(&actions, PV_WIRE_FD_SHARED + 1);
   posix_spawnattr_init(&attr);
   posix_spawnattr_setsigmask(&attr, &none);
   posix_spawnattr_setsigdefault(&attr, &all);
   posix_spawnattr_setpgroup(&attr, 0);
   posix_spawnattr_setflags(&attr,
                            POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
   char *argv[] = {pv_virgl.worker_path, NULL};
   pid_t pid = -1;
   int err = posix_spawn(&pid, pv_virgl.worker_path, &actions, &attr, argv, environ);
   posix_spawnattr_destroy(&attr);
   posix_spawn_file_actions_destroy(&actions);
   if (err) {
      pv_error("cannot start %s: %s", pv_virgl.worker_path, strerror(err));
      return -1;
   }
   return pid;
}

static void close_worker(struct pv_virgl_worker *w)
{
   if (w->control_fd >= 0)
      close(w->control_fd);
   if (w->events_fd >= 0)
      close(w->events_fd); /* leaves the epoll set with it */
   pv_os_unmap(w->shared, sizeof(*w->shared));
   w->control_fd = w->events_fd = -1;
   w->shared = NULL;
}

bool pv_virgl_worker_start(struct pv_virgl_worker *w)
{
   *w = (struct pv_virgl_worker){.pid = -1, .started_ns = pv_os_now_ns()};
   int control[2] = {-1, -1}, events[2] = {-1, -1};
   int shared = pv_os_memfd_create("pearvisor-virgl-fences", sizeof(*w->shared));
   bool ok = shared >= 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, control) == 0 &&
             socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, events) == 0;
   w->control_fd = control[0];
   w->events_fd = events[0];
   w->shared = ok ? pv_os_map_shared(shared, sizeof(*w->shared)) : NULL;
   int worker_control = move_high(control[1]), worker_events = move_high(events[1]);
   shared = move_high(shared);
   w->pid = w->shared && worker_control >= 0 && worker_events >= 0 && shared >= 0
                  ? spawn_worker(worker_control, worker_events, shared)
                  : -1;
   if (worker_control >= 0)
      close(worker_control);
   if (worker_events >= 0)
      close(worker_events);
   if (shared >= 0)
      close(shared);
   /* In the epoll set already while it waits: its ready byte, or its death, makes the VMM
    * poll, and the poll takes care of the pool. */
   struct epoll_event ev = {.events = EPOLLIN};
   if (w->pid < 0 || fcntl(w->events_fd, F_SETFL, O_NONBLOCK) != 0 ||
       epoll_ctl(pv_virgl.epoll_fd, EPOLL_CTL_ADD, w->events_fd, &ev) != 0) {
      if (w->pid < 0)
         pv_error("no worker process: %s", strerror(errno));
      pv_virgl_worker_discard(w);
      return false;
   }
   return true;
}

void pv_virgl_worker_discard(struct pv_virgl_worker *w)
{
   close_worker(w);
   if (w->pid > 0)
      pv_virgl_queue_dying(w->pid, 0);
   w->pid = -1;
}

static uint64_t backoff_ns(unsigned failures)
{
   if (failures <= 1)
      return 0;
   uint64_t ns = PV_VIRGL_BACKOFF_MIN_NS;
   for (unsigned i = 2; i < failures && ns < PV_VIRGL_BACKOFF_MAX_NS; i++)
      ns *= 2;
   return ns < PV_VIRGL_BACKOFF_MAX_NS ? ns : PV_VIRGL_BACKOFF_MAX_NS;
}

void pv_virgl_pool_init(void)
{
   unsigned size = PV_VIRGL_READY_DEFAULT;
   const char *env = getenv("PEARVISOR_VIRGL_READY");
   if (env && *env) {
      char *end;
      unsigned long n = strtoul(env, &end, 10);
      if (*end || n > PV_VIRGL_READY_MAX)
         pv_warn("PEARVISOR_VIRGL_READY=%s is not 0..%d; keeping %u ready worker(s)", env,
                 PV_VIRGL_READY_MAX, size);
      else
         size = (unsigned)n;
   }
   pv_virgl.pool = (struct pv_virgl_pool){.size = size};
   pv_virgl_pool_fill();
}

/* Takes the worker's bytes: the first says it is ready; the end of the socket, that it died
 * (its fds are closed then, and it waits to be reaped). */
static void update(struct pv_virgl_worker *w)
{
   if (w->gone)
      return;
   char bytes[16];
   ssize_t n;
   while ((n = recv(w->events_fd, bytes, sizeof(bytes), MSG_DONTWAIT)) > 0) {
      if (!w->ready) {
         w->ready = true;
         w->ready_ns = pv_os_now_ns();
         pv_info("ready worker %d is ready (%.1f ms)", (int)w->pid,
                 (double)(w->ready_ns - w->started_ns) / 1e6);
      }
   }
   if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      close_worker(w);
      w->gone = true;
      kill(w->pid, SIGKILL); /* dead or dying already: make sure it becomes reapable */
   }
}

/* A worker that died waiting: true once reaped (or reaped by the VMM), logged, and its
 * replacement scheduled. */
static bool reap_gone(struct pv_virgl_pool *pool, const struct pv_virgl_worker *w, uint64_t now)
{
   int status = 0;
   pid_t r;
   do {
      r = waitpid(w->pid, &status, WNOHANG);
   } while (r < 0 && errno == EINTR);
   if (r == 0)
      return false;
   char how[64] = "is gone";
   if (r == w->pid && WIFSIGNALED(status))
      snprintf(how, sizeof(how), "was killed by signal %d", WTERMSIG(status));
   else if (r == w->pid)
      snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
   if (w->ready_ns && now - w->ready_ns >= PV_VIRGL_HEALTHY_NS)
      pool->failures = 0;
   pool->failures++;
   pool->next_start_ns = now + backoff_ns(pool->failures);
   char when[48] = "";
   if (pool->next_start_ns > now)
      snprintf(when, sizeof(when), " in %llu ms",
               (unsigned long long)((pool->next_start_ns - now) / PV_MS_NS));
   pv_warn("ready worker %d %s while waiting for a context; replacing it%s", (int)w->pid, how,
           when);
   return true;
}

static void remove_at(struct pv_virgl_pool *pool, unsigned i)
{
   pool->workers[i] = pool->workers[--pool->count];
}

void pv_virgl_pool_fill(void)
{
   struct pv_virgl_pool *pool = &pv_virgl.pool;
   uint64_t now = pv_os_now_ns();
   for (unsigned i = 0; i < pool->count;) {
      struct pv_virgl_worker *w = &pool->workers[i];
      update(w);
      if (w->gone && reap_gone(pool, w, now))
         remove_at(pool, i);
      else
         i++;
   }
   /* Spawning is all this costs the VMM's thread (posix_spawn, about a millisecond); the
    * driver loads in the new process. */
   while (pool->count < pool->size && now >= pool->next_start_ns) {
      if (!pv_virgl_worker_start(&pool->workers[pool->count])) {
         pool->failures++;
         pool->next_start_ns = now + backoff_ns(pool->failures);
         break;
      }
      pv_info("ready worker %d started", (int)pool->workers[pool->count].pid);
      pool->count++;
   }
}

bool pv_virgl_pool_take(struct pv_virgl_worker *w)
{
   struct pv_virgl_pool *pool = &pv_virgl.pool;
   int best = -1;
   for (unsigned i = 0; i < pool->count; i++) {
      const struct pv_virgl_worker *c = &pool->workers[i];
      update(&pool->workers[i]);
      if (c->gone)
         continue;
      /* A ready one; else the one getting ready the longest, which is further along than a
       * worker started now would be. */
      if (best < 0 || (c->ready && !pool->workers[best].ready) ||
          (c->ready == pool->workers[best].ready && c->started_ns < pool->workers[best].started_ns))
         best = (int)i;
   }
   if (best < 0)
      return false;
   *w = pool->workers[best];
   remove_at(pool, (unsigned)best);
   if (w->ready)
      pool->failures = 0;
   return true;
}

void pv_virgl_pool_finish(void)
{
   struct pv_virgl_pool *pool = &pv_virgl.pool;
   for (unsigned i = 0; i < pool->count; i++) {
      struct pv_virgl_worker *w = &pool->workers[i];
      close_worker(w);
      kill(w->pid, SIGKILL);
      while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
         ;
   }
   pool->count = 0;
}
