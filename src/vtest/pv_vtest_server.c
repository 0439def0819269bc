/* The vtest server: listens on a UNIX socket and serves each client in a worker process of
 * its own (or a thread, with --no-fork), so one guest cannot touch another's memory; with
 * --ready, one of a pool of workers that prepared the host instance before it came. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/pv_limits.h"
#include "util/pv_log.h"
#include "util/pv_os.h"
#include "util/pv_socket.h"
#include "vtest/pv_vtest.h"
#include "vtest/pv_vtest_conn.h"
#include "vtest/pv_vtest_pool.h"
#include "vtest/pv_vtest_worker.h"

static volatile sig_atomic_t stop_requested, child_exited;

static void on_signal(int sig)
{
   if (sig == SIGCHLD)
      child_exited = 1;
   else
      stop_requested = 1;
}

/* The signals the accept loop handles (pv_vtest_server_signals) stay blocked except inside
 * ppoll(), so one that arrives between checking the flags and waiting cannot be lost. */
#define PV_VTEST_HANDLED_SIGNALS PV_VTEST_SERVER_SIGNAL_COUNT

/* A --no-fork client. The thread serves (and closes) its own dup of the socket; the
 * server's copy lets it shut the connection down at exit without racing that close. */
struct pv_vtest_client {
   pthread_t thread;
   struct pv_gpu *gpu;
   int fd;
   int serve_fd;
   bool print_stats;
   const struct pv_gpu_limits *limits;
   atomic_bool done;
   struct pv_vtest_client *next;
};

/* How long a stopping server waits for its workers: their guests' grace, their bounded
 * teardown, and a margin. Past it they are killed. */
#define PV_VTEST_STOP_LIMIT_S (PV_VTEST_STOP_GRACE_S + 5)

/* A worker serving a guest process. Every connection of that process goes to it while it
 * takes more: Mesa opens one per VkInstance, they are one trust domain, and one worker means
 * one driver load, as natively one process loads it once (docs/architecture.md, Workers). */
struct pv_vtest_serving {
   pid_t pid;
   int channel;                 /* pv_vtest_worker.h; -1: it takes no more */
   struct pv_socket_peer guest; /* pid 0: unknown, so never matched */
   unsigned connections;        /* handed to it and not ended yet */
};

struct pv_vtest_server {
   const struct pv_vtest_options *options;
   int listen_fd;
   struct pv_vtest_serving *serving; /* not the pool's: told first when stopping */
   size_t serving_count, serving_capacity;
   struct pollfd *polled; /* what the accept loop polls: listening socket, pool, serving */
   size_t polled_capacity;
   struct pv_gpu *gpu; /* --no-fork: one renderer shared by every client */
   struct pv_vtest_client *clients;
   struct pv_vtest_worker_env worker_env; /* its mask: the one from before install_signals */
   struct pv_vtest_pool pool;
   struct sigaction old_actions[PV_VTEST_HANDLED_SIGNALS];
   struct pv_gpu_limits limits; /* options->limits, defaults resolved */
};

/* True when a server answers on addr (or its backlog is full): its socket is not stale. */
static bool socket_alive(const struct sockaddr_un *addr)
{
   int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
   if (fd < 0)
      return false;
   bool alive = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0 || errno == EAGAIN;
   close(fd);
   return alive;
}

static int listen_on(const char *path)
{
   struct sockaddr_un addr = {.sun_family = AF_UNIX};
   if (strlen(path) >= sizeof(addr.sun_path)) {
      pv_error("socket path too long (%zu bytes at most): %s", sizeof(addr.sun_path) - 1, path);
      return -1;
   }
   strcpy(addr.sun_path, path);
   struct stat st;
   if (lstat(path, &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) {
         pv_error("%s exists and is not a socket; not replacing it", path);
         return -1;
      }
      if (socket_alive(&addr)) {
         pv_error("another server is already listening on %s", path);
         return -1;
      }
      unlink(path); /* left by a server that did not exit cleanly */
   }
   /* Non-blocking, so a client that gives up between poll() and accept() cannot stall us. */
   int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
   if (fd < 0) {
      pv_error("socket: %s", strerror(errno));
      return -1;
   }
   if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 16) != 0) {
      pv_error("cannot listen on %s: %s", path, strerror(errno));
      close(fd);
      return -1;
   }
   return fd;
}

static void *client_main(void *arg)
{
   struct pv_vtest_client *c = arg;
   const struct pv_vtest_serve_params params = {
         .print_stats = c->print_stats, .stop_fd = -1, .limits = c->limits};
   pv_vtest_conn_serve(c->gpu, c->serve_fd, &params);
   atomic_store(&c->done, true);
   return NULL;
}

static void serve_in_thread(struct pv_vtest_server *server, int fd)
{
   struct pv_vtest_client *c = malloc(sizeof(*c));
   if (!c)
      goto fail;
   *c = (struct pv_vtest_client){.gpu = server->gpu,
                                 .fd = fd,
                                 .print_stats = server->options->print_stats,
                                 .limits = &server->options->limits};
   c->serve_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
   if (c->serve_fd < 0)
      goto fail_free;
   if (pthread_create(&c->thread, NULL, client_main, c) != 0)
      goto fail_dup;
   c->next = server->clients;
   server->clients = c;
   return;

fail_dup:
   close(c->serve_fd);
fail_free:
   free(c);
fail:
   pv_error("cannot start a thread for a client; dropping it");
   close(fd);
}

/* Joins the threads of clients that have left (checked whenever the accept loop wakes, so a
 * finished thread lingers until the next connection); with all, first makes every client
 * leave. */
static void join_clients(struct pv_vtest_server *server, bool all)
{
   if (all) {
      for (struct pv_vtest_client *c = server->clients; c; c = c->next)
         shutdown(c->fd, SHUT_RDWR);
   }
   for (struct pv_vtest_client **link = &server->clients; *link;) {
      struct pv_vtest_client *c = *link;
      if (!all && !atomic_load(&c->done)) {
         link = &c->next;
         continue;
      }
      pthread_join(c->thread, NULL);
      close(c->fd);
      *link = c->next;
      free(c);
   }
}

static void add_serving(struct pv_vtest_server *server, pid_t pid, int channel,
                        const struct pv_socket_peer *guest)
{
   if (server->serving_count == server->serving_capacity) {
      size_t capacity = server->serving_capacity ? 2 * server->serving_capacity : 16;
      struct pv_vtest_serving *serving = realloc(server->serving, capacity * sizeof(*serving));
      if (!serving) {
         /* It still dies with the server (PR_SET_PDEATHSIG), only without its grace; without
          * its channel it serves the one connection. */
         pv_warn("no memory to track worker %d; a stop will not wait for it", (int)pid);
         if (channel >= 0)
            close(channel);
         return;
      }
      server->serving = serving;
      server->serving_capacity = capacity;
   }
   server->serving[server->serving_count++] = (struct pv_vtest_serving){
         .pid = pid, .channel = channel, .guest = *guest, .connections = 1};
}

/* false when pid was not serving. */
static bool remove_serving(struct pv_vtest_server *server, pid_t pid)
{
   for (size_t i = 0; i < server->serving_count; i++) {
      if (server->serving[i].pid == pid) {
         if (server->serving[i].channel >= 0)
            close(server->serving[i].channel);
         server->serving[i] = server->serving[--server->serving_count];
         return true;
      }
   }
   return false;
}

static bool send_byte(int channel, char byte, int fd)
{
   struct iovec iov = {.iov_base = &byte, .iov_len = 1};
   return pv_socket_send(channel, &iov, 1, fd);
}

static void stop_taking(struct pv_vtest_serving *w)
{
   close(w->channel);
   w->channel = -1;
}

/* Another connection of a guest process a worker serves goes to that worker; false when
 * none takes it. */
static bool hand_to_guest_worker(struct pv_vtest_server *server, int fd,
                                 const struct pv_socket_peer *guest)
{
   for (size_t i = 0; i < server->serving_count; i++) {
      struct pv_vtest_serving *w = &server->serving[i];
      if (w->channel < 0 || w->guest.pid != guest->pid || w->guest.start != guest->start)
         continue;
      if (!send_byte(w->channel, PV_VTEST_CHANNEL_CONNECTION, fd)) {
         stop_taking(w); /* it is exiting: the client goes to another worker */
         return false;
      }
      w->connections++;
      pv_info("client served by worker %d, with the other connections of guest process %d",
              (int)w->pid, (int)guest->pid);
      close(fd);
      return true;
   }
   return false;
}

/* What a serving worker said: connections that ended; when all it was handed have, the bye. */
static void handle_channel(struct pv_vtest_server *server, int channel)
{
   struct pv_vtest_serving *w = NULL;
   for (size_t i = 0; i < server->serving_count && !w; i++)
      w = server->serving[i].channel == channel ? &server->serving[i] : NULL;
   if (!w)
      return; /* reaped meanwhile */
   char bytes[64];
   ssize_t n;
   while ((n = recv(channel, bytes, sizeof(bytes), MSG_DONTWAIT)) > 0) {
      for (ssize_t i = 0; i < n; i++) {
         if (bytes[i] == PV_VTEST_CHANNEL_ENDED && w->connections)
            w->connections--;
      }
   }
   if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      stop_taking(w); /* the worker closed it: it takes no more */
   } else if (!w->connections) {
      send_byte(channel, PV_VTEST_CHANNEL_BYE, -1);
      stop_taking(w);
   }
}

/* A worker forked for this client, which loads the host driver itself (the only way without
 * a pool, and the way when no ready worker is there: a guest never waits for the pool). The
 * client's fd goes over the worker's channel, as to a ready worker. */
static void serve_in_worker(struct pv_vtest_server *server, int fd,
                            const struct pv_socket_peer *guest)
{
   int sv[2];
   pid_t pid = -1;
   if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0) {
      pid = fork();
      if (pid == 0) {
         if (!pv_vtest_worker_enter(&server->worker_env, sv[1]))
            _exit(1);
         pv_vtest_worker_run(&server->worker_env, sv[1], false);
      }
      close(sv[1]);
   }
   if (pid > 0 && send_byte(sv[0], PV_VTEST_CHANNEL_CONNECTION, fd)) {
      pv_info("client served by new worker %d%s", (int)pid,
              server->pool.size ? " (no ready worker)" : "");
      add_serving(server, pid, sv[0], guest);
   } else {
      pv_error("cannot start a worker: %s; dropping the client", strerror(errno));
      if (pid > 0)
         add_serving(server, pid, sv[0], guest); /* reaped when it exits */
      else if (pid < 0 && sv[0] >= 0)
         close(sv[0]);
   }
   close(fd);
}

/* The server's only children are its workers, ready or serving. */
static void reap_workers(struct pv_vtest_server *server)
{
   int status;
   pid_t pid;
   while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      if (pv_vtest_pool_reaped(&server->pool, pid, status))
         continue;
      remove_serving(server, pid);
      if (WIFSIGNALED(status))
         pv_error("worker %d was killed by signal %d", (int)pid, WTERMSIG(status));
      else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
         pv_warn("worker %d exited with status %d", (int)pid, WEXITSTATUS(status));
   }
}

/* Connections served now: those handed to workers and not ended, or --no-fork threads still
 * running (joined only when the loop wakes, so a thread that just finished counts until
 * then). */
static uint64_t connections(const struct pv_vtest_server *server)
{
   uint64_t count = 0;
   for (size_t i = 0; i < server->serving_count; i++)
      count += server->serving[i].connections;
   for (const struct pv_vtest_client *c = server->clients; c; c = c->next)
      count += !atomic_load(&c->done);
   return count;
}

/* A guest past the connections limit is refused (closed at once: it sees end of file) and
 * logged; the guests already served never notice. */
static bool connection_allowed(const struct pv_vtest_server *server)
{
   uint64_t limit = server->limits.connections;
   if (connections(server) < limit)
      return true;
   pv_warn("refusing a connection: the connections limit (%llu served at once) is reached",
           (unsigned long long)limit);
   return false;
}

/* No guest process may hold more than half of the connections limit, so that one opening
 * connections as fast as it can (its worker takes them quickly: no fork) cannot lock the other
 * guests out. One over its share is refused like one over the limit. */
static bool guest_share_allowed(const struct pv_vtest_server *server,
                                const struct pv_socket_peer *guest)
{
   uint64_t share = server->limits.connections / 2 ? server->limits.connections / 2 : 1;
   uint64_t held = 0;
   for (size_t i = 0; i < server->serving_count; i++) {
      const struct pv_vtest_serving *w = &server->serving[i];
      if (w->guest.pid == guest->pid && w->guest.start == guest->start)
         held += w->connections;
   }
   if (held < share)
      return true;
   pv_warn("refusing a connection of guest process %d: it holds %llu, half the connections "
           "limit",
           (int)guest->pid, (unsigned long long)held);
   return false;
}

static void accept_one(struct pv_vtest_server *server)
{
   int fd = accept4(server->listen_fd, NULL, NULL, SOCK_CLOEXEC);
   if (fd < 0) {
      if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
         return;
      pv_error("accept: %s", strerror(errno));
      /* Out of fds or memory: the socket stays readable, so back off instead of spinning. */
      nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
      return;
   }
   if (!connection_allowed(server)) {
      close(fd);
      return;
   }
   if (server->options->no_fork) {
      serve_in_thread(server, fd);
      return;
   }
   struct pv_socket_peer guest = {0};
   bool known = pv_socket_peer_of(fd, &guest);
   if (known && !guest_share_allowed(server, &guest)) {
      close(fd);
      return;
   }
   if (known && hand_to_guest_worker(server, fd, &guest))
      return;
   int channel = -1;
   pid_t ready = pv_vtest_pool_hand_off(&server->pool, fd, &channel);
   if (ready)
      add_serving(server, ready, channel, &guest);
   else
      serve_in_worker(server, fd, &guest);
}

/* The accept loop's poll set: the listening socket, the pool's channels (*pool_channels of
 * them), then the serving workers'; returns its size. Channels that no memory is left for are
 * polled once there is. */
static size_t poll_set(struct pv_vtest_server *server, size_t *pool_channels)
{
   size_t need = 1 + PV_VTEST_READY_MAX + server->serving_count;
   if (need > server->polled_capacity) {
      struct pollfd *grown = realloc(server->polled, need * sizeof(*grown));
      if (grown) {
         server->polled = grown;
         server->polled_capacity = need;
      }
   }
   struct pollfd *p = server->polled;
   p[0] = (struct pollfd){.fd = server->listen_fd, .events = POLLIN};
   *pool_channels = pv_vtest_pool_poll_fds(&server->pool, p + 1);
   size_t n = 1 + *pool_channels;
   for (size_t i = 0; i < server->serving_count && n < server->polled_capacity; i++) {
      if (server->serving[i].channel >= 0)
         p[n++] = (struct pollfd){.fd = server->serving[i].channel, .events = POLLIN};
   }
   return n;
}

/* Stopping with guests connected: each worker tells its guest (pv_vtest_serve_params.stop_fd)
 * and ends when the guest has gone or its grace is over; the server waits for that, up to
 * PV_VTEST_STOP_LIMIT_S or a second stop signal, then kills what is left. No guest is cut
 * off in the middle of a reply, and none is left waiting on a worker that is gone. */
static void stop_workers(struct pv_vtest_server *server, const sigset_t *wait_mask)
{
   if (!server->serving_count)
      return;
   pv_info("stopping: telling %zu guest%s; waiting up to %d s for %s to leave",
           server->serving_count, server->serving_count == 1 ? "" : "s", PV_VTEST_STOP_LIMIT_S,
           server->serving_count == 1 ? "it" : "them");
   for (size_t i = 0; i < server->serving_count; i++) {
      /* No more connections for it: it ends with those it has. */
      if (server->serving[i].channel >= 0)
         stop_taking(&server->serving[i]);
      kill(server->serving[i].pid, SIGTERM);
   }
   stop_requested = 0;
   uint64_t deadline = pv_os_now_ns() + PV_VTEST_STOP_LIMIT_S * 1000000000ull;
   while (server->serving_count && !stop_requested) {
      uint64_t now = pv_os_now_ns();
      if (now >= deadline)
         break;
      struct timespec left = {.tv_sec = (time_t)((deadline - now) / 1000000000u),
                              .tv_nsec = (long)((deadline - now) % 1000000000u)};
      ppoll(NULL, 0, &left, wait_mask); /* SIGCHLD, a second stop signal, or the deadline */
      if (child_exited) {
         child_exited = 0;
         reap_workers(server);
      }
   }
   for (size_t i = 0; i < server->serving_count; i++) {
      pv_warn("worker %d is still serving %s; killing it", (int)server->serving[i].pid,
              stop_requested ? "at a second stop signal" : "at the stop deadline");
      kill(server->serving[i].pid, SIGKILL);
   }
   while (server->serving_count) {
      pid_t pid = waitpid(-1, NULL, 0);
      if (pid < 0 && errno != EINTR)
         break;
      if (pid > 0)
         remove_serving(server, pid);
   }
}

static void install_signals(struct pv_vtest_server *server)
{
   sigset_t block;
   sigemptyset(&block);
   struct sigaction sa = {.sa_handler = on_signal};
   sigemptyset(&sa.sa_mask);
   for (size_t i = 0; i < PV_VTEST_HANDLED_SIGNALS; i++) {
      sigaddset(&block, pv_vtest_server_signals[i]);
      sigaction(pv_vtest_server_signals[i], &sa, &server->old_actions[i]);
   }
   pthread_sigmask(SIG_BLOCK, &block, &server->worker_env.mask);
   /* Writes to a guest that left fail with EPIPE instead of killing the server. */
   signal(SIGPIPE, SIG_IGN);
}

static void restore_signals(struct pv_vtest_server *server)
{
   for (size_t i = 0; i < PV_VTEST_HANDLED_SIGNALS; i++)
      sigaction(pv_vtest_server_signals[i], &server->old_actions[i], NULL);
   pthread_sigmask(SIG_SETMASK, &server->worker_env.mask, NULL);
}

int pv_vtest_serve(const struct pv_vtest_options *options)
{
   struct pv_vtest_server server = {
         .options = options,
         .listen_fd = -1,
         .worker_env = {.options = options, .server_pid = getpid()},
         .limits = pv_limits_resolve(&options->limits),
   };
   /* Ready workers are forked from this process, which therefore never loads a driver:
    * forking a process that has (its threads, locks, device fds) is not safe. --no-fork
    * loads one here, so it has no pool. */
   pv_vtest_pool_init(&server.pool, &server.worker_env, options->no_fork ? 0 : options->ready);
   int status = 1;
   /* --stats asks for info lines; an explicit PV_LOG still decides. */
   if (options->print_stats && !getenv("PV_LOG"))
      pv_log_set_level(PV_LOG_INFO);
   stop_requested = 0;
   install_signals(&server);
   server.listen_fd = listen_on(options->socket_path);
   if (server.listen_fd < 0)
      goto out_signals;
   if (options->no_fork) {
      const struct pv_gpu_options gpu_options = {.version = PV_GPU_OPTIONS_VERSION,
                                                 .limits = options->limits};
      server.gpu = pv_gpu_create(&gpu_options);
      if (!server.gpu) {
         pv_error("cannot create the renderer");
         goto out_listen;
      }
   }
   pv_info("serving vtest on %s (%s, %u ready)", options->socket_path,
           options->no_fork ? "one process" : "a worker process per guest process",
           server.pool.size);

   sigset_t wait_mask = server.worker_env.mask;
   for (size_t i = 0; i < PV_VTEST_HANDLED_SIGNALS; i++)
      sigdelset(&wait_mask, pv_vtest_server_signals[i]);
   pv_vtest_pool_fill(&server.pool);
   server.polled_capacity = 1 + PV_VTEST_READY_MAX;
   server.polled = calloc(server.polled_capacity, sizeof(*server.polled));
   if (!server.polled) {
      pv_error("out of memory");
      goto out_gpu;
   }
   while (!stop_requested) {
      size_t channels;
      size_t polled = poll_set(&server, &channels);
      struct pollfd *p = server.polled;
      int timeout_ms = pv_vtest_pool_timeout_ms(&server.pool);
      struct timespec timeout = {.tv_sec = timeout_ms / 1000,
                                 .tv_nsec = (long)(timeout_ms % 1000) * 1000000};
      int ready = ppoll(p, polled, timeout_ms < 0 ? NULL : &timeout, &wait_mask);
      int wait_errno = errno;
      if (child_exited) {
         child_exited = 0;
         reap_workers(&server);
      }
      if (ready < 0 && wait_errno != EINTR) {
         pv_error("poll: %s", strerror(wait_errno));
         break;
      }
      if (ready > 0) {
         pv_vtest_pool_handle(&server.pool, p + 1, channels);
         for (size_t i = 1 + channels; i < polled; i++) {
            if (p[i].revents)
               handle_channel(&server, p[i].fd);
         }
      }
      if (ready > 0 && p[0].revents && !stop_requested)
         accept_one(&server);
      if (!stop_requested)
         pv_vtest_pool_fill(&server.pool);
      if (options->no_fork)
         join_clients(&server, false);
   }
   status = stop_requested ? 0 : 1;

   /* No new guest from here: one that connects now is refused, not left in the backlog. */
   close(server.listen_fd);
   server.listen_fd = -1;
   unlink(options->socket_path);
   pv_vtest_pool_finish(&server.pool);
   stop_workers(&server, &wait_mask);
   join_clients(&server, true);
out_gpu:
   if (server.gpu)
      pv_gpu_destroy(server.gpu);
out_listen:
   if (server.listen_fd >= 0) {
      close(server.listen_fd);
      unlink(options->socket_path);
   }
out_signals:
   pv_vtest_pool_finish(&server.pool);
   reap_workers(&server);
   free(server.serving);
   free(server.polled);
   restore_signals(&server);
   return status;
}
