/* The vtest server's worker processes: setting up a forked child, serving the connections of
 * its guest process, and a ready worker's wait for a client with the host instance already
 * prepared. */
#include "vtest/pv_vtest_worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "util/pv_log.h"
#include "util/pv_socket.h"
#include "vtest/pv_vtest_conn.h"

/* A worker whose teardown takes longer (a GPU still running a guest's endless shader) exits:
 * the kernel and the driver reclaim what it held. */
#define PV_VTEST_TEARDOWN_LIMIT_S 3

const int pv_vtest_server_signals[PV_VTEST_SERVER_SIGNAL_COUNT] = {SIGINT, SIGTERM, SIGCHLD};

/* Readable once SIGINT or SIGTERM came: the server (or a terminal) asks this worker to stop. */
static int stop_fd = -1;

/* The connections this worker serves: its first, on the main thread, and those the server
 * sends on the channel, a thread each. */
static struct {
   pthread_mutex_t lock;
   pthread_cond_t changed;
   unsigned active; /* connections being served */
   bool open;       /* the server may still send one */
   int channel;     /* -1: none */
   struct pv_gpu *gpu;
   const struct pv_vtest_serve_params *params;
} served = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER, .channel = -1};

static void tell_server(char byte)
{
   struct iovec iov = {.iov_base = &byte, .iov_len = 1};
   if (served.channel >= 0)
      pv_socket_send(served.channel, &iov, 1, -1); /* a server gone says so by closing */
}

static void connection_ended(void)
{
   pthread_mutex_lock(&served.lock);
   served.active--;
   pthread_cond_broadcast(&served.changed);
   pthread_mutex_unlock(&served.lock);
   tell_server(PV_VTEST_CHANNEL_ENDED);
}

static void *serve_another(void *arg)
{
   pv_vtest_conn_serve(served.gpu, (int)(intptr_t)arg, served.params);
   connection_ended();
   return NULL;
}

/* The channel's reader: starts a thread for each connection the server sends, until the bye
 * (or the server's end closing). */
static void *take_connections(void *unused)
{
   for (;;) {
      char byte = 0;
      int fd = -1;
      if (!pv_socket_recv(served.channel, &byte, 1, &fd) || byte != PV_VTEST_CHANNEL_CONNECTION ||
          fd < 0) {
         if (fd >= 0)
            close(fd);
         break;
      }
      pthread_mutex_lock(&served.lock);
      served.active++;
      pthread_mutex_unlock(&served.lock);
      pthread_t thread;
      if (pthread_create(&thread, NULL, serve_another, (void *)(intptr_t)fd) == 0) {
         pthread_detach(thread);
         continue;
      }
      pv_error("worker: cannot start a thread for another connection; dropping it");
      close(fd);
      connection_ended();
   }
   pthread_mutex_lock(&served.lock);
   served.open = false;
   pthread_cond_broadcast(&served.changed);
   pthread_mutex_unlock(&served.lock);
   return unused;
}

bool pv_vtest_worker_enter(const struct pv_vtest_worker_env *env, int keep_fd)
{
   for (size_t i = 0; i < PV_VTEST_SERVER_SIGNAL_COUNT; i++)
      signal(pv_vtest_server_signals[i], SIG_DFL);
   /* SIGINT/SIGTERM stay blocked in every thread (the driver's inherit the mask) and pending,
    * so the connection sees them on a signalfd and tells its guest before it goes
    * (pv_vtest_serve_params.stop_fd); the worker never outlives its server either way. */
   sigset_t stop_signals, mask = env->mask;
   sigemptyset(&stop_signals);
   sigaddset(&stop_signals, SIGINT);
   sigaddset(&stop_signals, SIGTERM);
   sigaddset(&mask, SIGINT);
   sigaddset(&mask, SIGTERM);
   pthread_sigmask(SIG_SETMASK, &mask, NULL);
   /* The listening socket, other workers' channels, other clients: none of this one's
    * business. */
   if (keep_fd > STDERR_FILENO + 1)
      close_range(STDERR_FILENO + 1, (unsigned)keep_fd - 1, 0);
   close_range((unsigned)keep_fd + 1, ~0u, 0);
   stop_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
   if (stop_fd < 0)
      pv_warn("worker: no signalfd (%s); a stopping server closes its guest at once",
              strerror(errno));
   prctl(PR_SET_PDEATHSIG, SIGKILL);
   return getppid() == env->server_pid; /* else the server died before prctl() took effect */
}

/* Confines the worker and serves fd, and what comes on channel, until all have ended. gpu:
 * the worker's renderer when it made (and prepared) one before; NULL creates one inside the
 * sandbox. */
static _Noreturn void serve(const struct pv_vtest_worker_env *env, struct pv_gpu *gpu, int fd,
                            int channel)
{
   /* Confined before the first guest byte is read. */
   char who[48];
   snprintf(who, sizeof(who), "vtest worker %d", (int)getpid());
   if (!pv_sandbox_enter(env->options->sandbox, who)) {
      close(fd);
      _exit(1);
   }
   const struct pv_gpu_options gpu_options = {.version = PV_GPU_OPTIONS_VERSION,
                                              .limits = env->options->limits};
   if (!gpu)
      gpu = pv_gpu_create(&gpu_options);
   if (!gpu) {
      pv_error("worker: cannot create the renderer; dropping the client");
      close(fd);
      _exit(1);
   }
   const struct pv_vtest_serve_params params = {
         .print_stats = env->options->print_stats,
         .teardown_limit_s = PV_VTEST_TEARDOWN_LIMIT_S,
         .stop_fd = stop_fd,
         .limits = &env->options->limits,
   };
   served.gpu = gpu;
   served.params = &params;
   served.active = 1;
   served.channel = channel;
   pthread_t reader;
   served.open = channel >= 0 && pthread_create(&reader, NULL, take_connections, NULL) == 0;
   if (served.open) {
      pthread_detach(reader);
   } else if (channel >= 0) {
      /* The server sees the channel close and sends nothing more. */
      pv_warn("worker: no thread for more connections; serving this one only");
      close(channel);
      served.channel = -1;
   }
   pv_vtest_conn_serve(gpu, fd, &params);
   connection_ended();
   pthread_mutex_lock(&served.lock);
   while (served.active || served.open)
      pthread_cond_wait(&served.changed, &served.lock);
   pthread_mutex_unlock(&served.lock);
   pv_gpu_destroy(gpu);
   _exit(0);
}

_Noreturn void pv_vtest_worker_run(const struct pv_vtest_worker_env *env, int channel, bool prepare)
{
   /* Outside the sandbox, like any program loading a driver; no guest byte has come yet. The
    * sandbox confines the driver's threads too once it is in (pv_sandbox_enter). A host
    * instance that cannot be prepared (logged) is left to the guest's vkCreateInstance, as
    * without a pool. */
   struct pv_gpu *gpu = NULL;
   char byte = 1;
   struct iovec iov = {.iov_base = &byte, .iov_len = 1};
   if (prepare) {
      const struct pv_gpu_options gpu_options = {.version = PV_GPU_OPTIONS_VERSION,
                                                 .limits = env->options->limits};
      gpu = pv_gpu_create(&gpu_options);
      if (!gpu)
         _exit(1);
      pv_gpu_prepare(gpu);
   }
   int fd = -1;
   bool handed = (!prepare || pv_socket_send(channel, &iov, 1, -1)) &&
                 pv_socket_recv(channel, &byte, 1, &fd);
   if (!handed || fd < 0) {
      /* The server let go of us (it is stopping) before any client came. */
      if (fd >= 0)
         close(fd);
      close(channel);
      if (gpu)
         pv_gpu_destroy(gpu);
      _exit(0);
   }
   serve(env, gpu, fd, channel);
}
