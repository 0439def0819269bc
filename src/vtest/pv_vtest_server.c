/* The vtest server: listens on a UNIX socket and serves each client in a worker process of
 * its own (or a thread, with --no-fork), so one guest cannot touch another's memory. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/pv_log.h"
#include "vtest/pv_vtest.h"

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
   (void)sig;
   stop_requested = 1;
}

static int listen_on(const char *path)
{
   struct sockaddr_un addr = {.sun_family = AF_UNIX};
   if (strlen(path) >= sizeof(addr.sun_path)) {
      pv_error("socket path too long: %s", path);
      return -1;
   }
   strcpy(addr.sun_path, path);
   int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
   if (fd < 0)
      return -1;
   unlink(path); /* a stale socket of an earlier run */
   if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 16) != 0) {
      pv_error("cannot listen on %s: %s", path, strerror(errno));
      close(fd);
      return -1;
   }
   return fd;
}

struct client_thread {
   struct pv_gpu *gpu;
   int fd;
   bool print_stats;
};

static void *client_thread_main(void *arg)
{
   struct client_thread *c = arg;
   pv_vtest_serve_client(c->gpu, c->fd, c->print_stats);
   free(c);
   return NULL;
}

static void serve_in_thread(struct pv_gpu *gpu, int fd, bool print_stats)
{
   struct client_thread *c = malloc(sizeof(*c));
   pthread_t thread;
   if (c) {
      *c = (struct client_thread){gpu, fd, print_stats};
      if (pthread_create(&thread, NULL, client_thread_main, c) == 0) {
         pthread_detach(thread);
         return;
      }
   }
   free(c);
   close(fd);
}

static void serve_in_worker(const struct pv_vtest_options *options, int listen_fd, int fd)
{
   pid_t pid = fork();
   if (pid != 0) {
      if (pid < 0)
         pv_error("cannot fork a worker: %s", strerror(errno));
      close(fd);
      return;
   }
   close(listen_fd);
   signal(SIGINT, SIG_DFL);
   signal(SIGTERM, SIG_DFL);
   /* A worker never outlives its server: stopping the server stops every guest's worker. */
   prctl(PR_SET_PDEATHSIG, SIGKILL);
   if (getppid() == 1)
      _exit(1);
   struct pv_gpu_options gpu_options = {.host_icd = options->host_icd};
   struct pv_gpu *gpu = pv_gpu_create(&gpu_options);
   if (gpu)
      pv_vtest_serve_client(gpu, fd, options->print_stats);
   pv_gpu_destroy(gpu);
   _exit(gpu ? 0 : 1);
}

static void reap_workers(void)
{
   while (waitpid(-1, NULL, WNOHANG) > 0)
      ;
}

int pv_vtest_serve(const struct pv_vtest_options *options)
{
   struct sigaction sa = {.sa_handler = on_stop};
   sigaction(SIGINT, &sa, NULL);
   sigaction(SIGTERM, &sa, NULL);
   signal(SIGPIPE, SIG_IGN);
   int listen_fd = listen_on(options->socket_path);
   if (listen_fd < 0)
      return 1;
   struct pv_gpu *shared_gpu = NULL;
   if (options->no_fork) {
      struct pv_gpu_options gpu_options = {.host_icd = options->host_icd};
      shared_gpu = pv_gpu_create(&gpu_options);
      if (!shared_gpu) {
         close(listen_fd);
         return 1;
      }
   }
   pv_info("serving vtest on %s (%s)", options->socket_path,
           options->no_fork ? "one process" : "a worker process per client");
   while (!stop_requested) {
      int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
      int accept_errno = errno;
      reap_workers();
      if (fd < 0) {
         if (accept_errno != EINTR && accept_errno != ECONNABORTED)
            pv_error("accept: %s", strerror(accept_errno));
         continue;
      }
      if (options->no_fork)
         serve_in_thread(shared_gpu, fd, options->print_stats);
      else
         serve_in_worker(options, listen_fd, fd);
   }
   close(listen_fd);
   unlink(options->socket_path);
   reap_workers();
   /* Threads of --no-fork clients may still use the renderer: the process exit ends them. */
   return 0;
}
