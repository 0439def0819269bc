/* The vtest server's pool of ready workers: starting them, learning they are ready, handing
 * clients to them, and reaping and replacing those that die while they wait. */
#include "vtest/pv_vtest_pool.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/pv_log.h"
#include "util/pv_os.h"
#include "util/pv_socket.h"

#define PV_MS_NS 1000000ull
/* A ready worker that dies without serving anyone is replaced at once the first time; each
 * further death in a row doubles the wait, from 100 ms up to 30 s. A driver that crashes on
 * load then costs about ten restarts (and log lines) in its first minute and two a minute
 * after, instead of a loop forking as fast as it can. */
#define PV_VTEST_POOL_BACKOFF_MIN_NS (100 * PV_MS_NS)
#define PV_VTEST_POOL_BACKOFF_MAX_NS (30000 * PV_MS_NS)
/* A worker that was ready this long before it died ends the streak: it was no crash loop. */
#define PV_VTEST_POOL_HEALTHY_NS PV_VTEST_POOL_BACKOFF_MAX_NS
/* Getting ready (loading the driver, one instance) takes tens of milliseconds on lavapipe and
 * around a hundred on NVIDIA's; a worker not ready after 30 s is stuck, and killed. */
#define PV_VTEST_POOL_READY_LIMIT_NS (30000 * PV_MS_NS)

void pv_vtest_pool_init(struct pv_vtest_pool *pool, const struct pv_vtest_worker_env *env,
                        unsigned size)
{
   *pool = (struct pv_vtest_pool){.env = env,
                                  .size = size < PV_VTEST_READY_MAX ? size : PV_VTEST_READY_MAX};
}

static uint64_t backoff_ns(unsigned failures)
{
   if (failures <= 1)
      return 0;
   uint64_t ns = PV_VTEST_POOL_BACKOFF_MIN_NS;
   for (unsigned i = 2; i < failures && ns < PV_VTEST_POOL_BACKOFF_MAX_NS; i++)
      ns *= 2;
   return ns < PV_VTEST_POOL_BACKOFF_MAX_NS ? ns : PV_VTEST_POOL_BACKOFF_MAX_NS;
}

static void fail(struct pv_vtest_pool *pool, uint64_t now)
{
   pool->failures++;
   pool->next_start_ns = now + backoff_ns(pool->failures);
}

static bool start_one(struct pv_vtest_pool *pool)
{
   int sv[2];
   if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      pv_error("cannot start a ready worker: socketpair: %s", strerror(errno));
      return false;
   }
   pid_t pid = fork();
   if (pid == 0) {
      if (!pv_vtest_worker_enter(pool->env, sv[1]))
         _exit(1);
      pv_vtest_worker_run(pool->env, sv[1], true);
   }
   close(sv[1]);
   if (pid < 0) {
      pv_error("cannot start a ready worker: fork: %s", strerror(errno));
      close(sv[0]);
      return false;
   }
   pool->workers[pool->count++] =
         (struct pv_vtest_ready_worker){.pid = pid, .fd = sv[0], .started_ns = pv_os_now_ns()};
   pv_info("ready worker %d started", (int)pid);
   return true;
}

void pv_vtest_pool_fill(struct pv_vtest_pool *pool)
{
   uint64_t now = pv_os_now_ns();
   for (unsigned i = 0; i < pool->count; i++) {
      struct pv_vtest_ready_worker *w = &pool->workers[i];
      if (!w->ready && !w->killed && now - w->started_ns >= PV_VTEST_POOL_READY_LIMIT_NS) {
         pv_warn("ready worker %d is not ready after %llu s; killing it", (int)w->pid,
                 PV_VTEST_POOL_READY_LIMIT_NS / (1000 * PV_MS_NS));
         kill(w->pid, SIGKILL);
         w->killed = true;
      }
   }
   while (pool->count < pool->size && now >= pool->next_start_ns) {
      if (!start_one(pool)) {
         fail(pool, now);
         break;
      }
   }
}

size_t pv_vtest_pool_poll_fds(const struct pv_vtest_pool *pool, struct pollfd *fds)
{
   size_t n = 0;
   for (unsigned i = 0; i < pool->count; i++) {
      if (pool->workers[i].fd >= 0)
         fds[n++] = (struct pollfd){.fd = pool->workers[i].fd, .events = POLLIN};
   }
   return n;
}

static struct pv_vtest_ready_worker *find_fd(struct pv_vtest_pool *pool, int fd)
{
   for (unsigned i = 0; i < pool->count; i++) {
      if (pool->workers[i].fd == fd)
         return &pool->workers[i];
   }
   return NULL;
}

/* The worker closed its channel: it died or is dying. It stays in the pool, not to be handed
 * anyone, until it is reaped. */
static void channel_closed(struct pv_vtest_ready_worker *w)
{
   close(w->fd);
   w->fd = -1;
   w->ready = false;
}

void pv_vtest_pool_handle(struct pv_vtest_pool *pool, const struct pollfd *fds, size_t count)
{
   for (size_t i = 0; i < count; i++) {
      struct pv_vtest_ready_worker *w = fds[i].revents ? find_fd(pool, fds[i].fd) : NULL;
      if (!w)
         continue; /* reaped since the poll */
      char byte;
      ssize_t n = recv(w->fd, &byte, 1, MSG_DONTWAIT);
      if (n == 1 && !w->ready) {
         w->ready = true;
         w->ready_ns = pv_os_now_ns();
         pv_info("ready worker %d is ready (%.1f ms)", (int)w->pid,
                 (double)(w->ready_ns - w->started_ns) / 1e6);
      } else if (n >= 0 || (errno != EAGAIN && errno != EINTR)) {
         channel_closed(w); /* closed, failed, or a second byte it has no business sending */
      }
   }
}

static void remove_at(struct pv_vtest_pool *pool, unsigned i)
{
   pool->workers[i] = pool->workers[--pool->count];
}

pid_t pv_vtest_pool_hand_off(struct pv_vtest_pool *pool, int fd, int *channel)
{
   for (unsigned i = 0; i < pool->count; i++) {
      struct pv_vtest_ready_worker *w = &pool->workers[i];
      if (!w->ready)
         continue;
      char byte = 1;
      struct iovec iov = {.iov_base = &byte, .iov_len = 1};
      if (!pv_socket_send(w->fd, &iov, 1, fd)) {
         channel_closed(w); /* died just now: reaped and replaced as any other */
         continue;
      }
      pid_t pid = w->pid;
      pv_info("client served by ready worker %d", (int)pid);
      /* From here on it is a worker like a forked one: reaped and logged as those are, its
       * channel the server's. */
      *channel = w->fd;
      remove_at(pool, i);
      pool->failures = 0;
      close(fd);
      return pid;
   }
   return 0;
}

static void describe(int status, char *out, size_t size)
{
   if (WIFSIGNALED(status))
      snprintf(out, size, "was killed by signal %d", WTERMSIG(status));
   else
      snprintf(out, size, "exited with status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

bool pv_vtest_pool_reaped(struct pv_vtest_pool *pool, pid_t pid, int status)
{
   for (unsigned i = 0; i < pool->count; i++) {
      struct pv_vtest_ready_worker w = pool->workers[i];
      if (w.pid != pid)
         continue;
      if (w.fd >= 0)
         close(w.fd);
      remove_at(pool, i);
      uint64_t now = pv_os_now_ns();
      if (w.ready_ns && now - w.ready_ns >= PV_VTEST_POOL_HEALTHY_NS)
         pool->failures = 0;
      fail(pool, now);
      char how[64], when[48] = "";
      describe(status, how, sizeof(how));
      uint64_t wait = pool->next_start_ns - now;
      if (wait)
         snprintf(when, sizeof(when), " in %llu ms", (unsigned long long)(wait / PV_MS_NS));
      pv_warn("ready worker %d %s %s; replacing it%s", (int)pid, how,
              w.ready_ns ? "while waiting for a client" : "before it was ready", when);
      return true;
   }
   return false;
}

int pv_vtest_pool_timeout_ms(const struct pv_vtest_pool *pool)
{
   uint64_t now = pv_os_now_ns(), due = UINT64_MAX;
   if (pool->count < pool->size)
      due = pool->next_start_ns;
   for (unsigned i = 0; i < pool->count; i++) {
      const struct pv_vtest_ready_worker *w = &pool->workers[i];
      if (!w->ready && !w->killed && w->started_ns + PV_VTEST_POOL_READY_LIMIT_NS < due)
         due = w->started_ns + PV_VTEST_POOL_READY_LIMIT_NS;
   }
   if (due == UINT64_MAX)
      return -1;
   return due <= now ? 0 : (int)((due - now + PV_MS_NS - 1) / PV_MS_NS);
}

void pv_vtest_pool_finish(struct pv_vtest_pool *pool)
{
   for (unsigned i = 0; i < pool->count; i++) {
      struct pv_vtest_ready_worker *w = &pool->workers[i];
      if (w->fd >= 0)
         close(w->fd);
      kill(w->pid, SIGKILL);
      while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
         ;
   }
   if (pool->count)
      pv_info("stopped %u idle ready worker(s)", pool->count);
   pool->count = 0;
}
