/* Launching a vtest server as a child process on a private socket, and stopping it. */
#include "util/pv_launch.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "util/pv_os.h"

/* A server is ready once it listens: polling connect() every 5 ms adds at most 5 ms to a
 * start-up of tens of ms (the first Vulkan instance), and 10 s is far beyond a healthy one. */
#define PV_LAUNCH_POLL_NS    (5 * 1000000ull)
#define PV_LAUNCH_TIMEOUT_NS (10 * 1000000000ull)
/* A server gets 2 s to tear its devices down after SIGTERM; polled every 10 ms. */
#define PV_LAUNCH_STOP_POLL_NS    (10 * 1000000ull)
#define PV_LAUNCH_STOP_TIMEOUT_NS (2 * 1000000000ull)

static void sleep_ns(uint64_t ns)
{
   struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
                         .tv_nsec = (long)(ns % 1000000000ull)};
   while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
      ;
}

static bool can_connect(const char *path)
{
   struct sockaddr_un addr = {.sun_family = AF_UNIX};
   snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
   int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
   bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
   if (fd >= 0)
      close(fd);
   return ok;
}

/* The child: never returns. */
static void exec_server(const struct pv_launch *server, const char *self, const char *server_cmd,
                        const char *host_icd)
{
   /* The caller's stdout carries its own output (the bench's report, a guest program's);
    * whatever a server prints belongs with the diagnostics. */
   dup2(STDERR_FILENO, STDOUT_FILENO);
#ifdef __linux__
   /* A server outliving its caller (killed, or interrupted while the server sits in its own
    * process group) would hold its socket forever. */
   prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
   if (server_cmd) {
      /* Its own process group, so that stopping reaches every process the command starts,
       * not only the shell. */
      setpgid(0, 0);
      setenv("PV_SOCKET", server->socket_path, 1);
      execl("/bin/sh", "sh", "-c", server_cmd, (char *)NULL);
      fprintf(stderr, "pearvisor: cannot run /bin/sh: %s\n", strerror(errno));
   } else {
      char *argv[] = {(char *)self,
                      "serve",
                      "--socket",
                      (char *)server->socket_path,
                      host_icd ? "--icd" : NULL,
                      (char *)host_icd,
                      NULL};
      execv(self, argv);
      fprintf(stderr, "pearvisor: cannot run %s serve: %s\n", self, strerror(errno));
   }
   _exit(127);
}

static void describe_exit(int status, char *out, size_t size)
{
   if (WIFSIGNALED(status))
      snprintf(out, size, "was killed by signal %d", WTERMSIG(status));
   else
      snprintf(out, size, "exited with status %d", WEXITSTATUS(status));
}

bool pv_launch_start(struct pv_launch *server, const char *server_cmd, const char *host_icd)
{
   memset(server, 0, sizeof(*server));
   server->pid = -1;
   char self[PATH_MAX] = "";
   if (!server_cmd) {
      ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
      if (n <= 0) {
         fprintf(stderr, "pearvisor: cannot find its own executable: %s\n", strerror(errno));
         return false;
      }
      self[n] = 0;
   }
   /* A runtime directory too long for the socket path falls back to /tmp. */
   const char *base = getenv("XDG_RUNTIME_DIR");
   if (!base || !*base || strlen(base) + sizeof("/pearvisor-XXXXXX") > sizeof(server->dir))
      base = "/tmp";
   snprintf(server->dir, sizeof(server->dir), "%s/pearvisor-XXXXXX", base);
   if (!mkdtemp(server->dir)) {
      fprintf(stderr, "pearvisor: cannot make a private directory in %s: %s\n", base,
              strerror(errno));
      return false;
   }
   snprintf(server->socket_path, sizeof(server->socket_path), "%s/vtest.sock", server->dir);

   server->pid = fork();
   if (server->pid == 0)
      exec_server(server, self, server_cmd, host_icd);
   if (server->pid < 0) {
      fprintf(stderr, "pearvisor: cannot fork the server: %s\n", strerror(errno));
      goto fail;
   }
   if (server_cmd)
      setpgid(server->pid, server->pid); /* also here: no race with the first kill */

   for (uint64_t deadline = pv_os_now_ns() + PV_LAUNCH_TIMEOUT_NS;;) {
      if (can_connect(server->socket_path))
         return true;
      int status;
      if (waitpid(server->pid, &status, WNOHANG) == server->pid) {
         char how[64];
         describe_exit(status, how, sizeof(how));
         fprintf(stderr, "pearvisor: the server %s before it listened on %s\n", how,
                 server->socket_path);
         server->pid = -1;
         goto fail;
      }
      if (pv_os_now_ns() >= deadline)
         break;
      sleep_ns(PV_LAUNCH_POLL_NS);
   }
   fprintf(stderr, "pearvisor: the server did not listen on %s within %llu s%s\n",
           server->socket_path, PV_LAUNCH_TIMEOUT_NS / 1000000000ull,
           server_cmd ? " (does the command use $PV_SOCKET?)" : "");
fail:
   pv_launch_stop(server);
   return false;
}

/* Signals the server, and its whole group when it leads one (a --server-cmd shell). */
static void signal_server(pid_t pid, int sig)
{
   kill(getpgid(pid) == pid ? -pid : pid, sig);
}

void pv_launch_stop(struct pv_launch *server)
{
   if (server->pid > 0) {
      signal_server(server->pid, SIGTERM);
      uint64_t deadline = pv_os_now_ns() + PV_LAUNCH_STOP_TIMEOUT_NS;
      while (waitpid(server->pid, NULL, WNOHANG) == 0) {
         if (pv_os_now_ns() >= deadline) {
            signal_server(server->pid, SIGKILL);
            waitpid(server->pid, NULL, 0);
            break;
         }
         sleep_ns(PV_LAUNCH_STOP_POLL_NS);
      }
      server->pid = -1;
   }
   if (server->socket_path[0])
      unlink(server->socket_path);
   if (server->dir[0])
      rmdir(server->dir);
}

void pv_launch_guest_env(const struct pv_launch *server, const char *venus_icd)
{
   const char *icd = venus_icd ? venus_icd : PV_DEFAULT_VENUS_ICD;
   /* Keep any debug flags the user set; venus only needs "vtest" among them. */
   const char *debug = getenv("VN_DEBUG");
   char list[256];
   if (debug && *debug && !strstr(debug, "vtest"))
      snprintf(list, sizeof(list), "%s,vtest", debug);
   else
      snprintf(list, sizeof(list), "%s", debug && *debug ? debug : "vtest");
   setenv("VN_DEBUG", list, 1);
   setenv("VTEST_SOCKET_NAME", server->socket_path, 1);
   setenv("VK_DRIVER_FILES", icd, 1);
   setenv("VK_ICD_FILENAMES", icd, 1);
}

static bool has_guest_layer(const char *dir)
{
   char path[PATH_MAX];
   int n = snprintf(path, sizeof(path), "%s/%s", dir, PV_GUEST_LAYER_MANIFEST);
   return n > 0 && (size_t)n < sizeof(path) && access(path, R_OK) == 0;
}

bool pv_launch_find_guest_layer(char *dir, size_t size)
{
   static const char *const beside[] = {"guest", "../share"}; /* build tree, installed */
   char self[PATH_MAX];
   ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
   if (n <= 0)
      return false;
   self[n] = 0;
   char *slash = strrchr(self, '/');
   if (!slash)
      return false;
   *slash = 0;
   for (size_t i = 0; i < sizeof(beside) / sizeof(beside[0]); i++) {
      char candidate[PATH_MAX], resolved[PATH_MAX];
      int len = snprintf(candidate, sizeof(candidate), "%s/%s", self, beside[i]);
      if (len <= 0 || (size_t)len >= sizeof(candidate) || !has_guest_layer(candidate) ||
          !realpath(candidate, resolved) || strlen(resolved) >= size)
         continue;
      memcpy(dir, resolved, strlen(resolved) + 1);
      return true;
   }
   return false;
}

void pv_launch_guest_layer_env(bool enable, const char *dir)
{
   if (!enable) {
      unsetenv("PEARVISOR_FAST_WAIT");
      setenv("PEARVISOR_NO_FAST_WAIT", "1", 1);
      return;
   }
   /* A PEARVISOR_NO_FAST_WAIT=1 of the user's is left alone: the loader lets it win. */
   setenv("PEARVISOR_FAST_WAIT", "1", 1);
   if (!dir)
      return;
   /* Unset or empty, XDG_DATA_DIRS means /usr/local/share:/usr/share (the XDG base directory
    * rule, which the loader follows): kept after ours, so that the system's layers (the
    * validation layer among them) are still found. */
   const char *old = getenv("XDG_DATA_DIRS");
   if (!old || !*old)
      old = "/usr/local/share:/usr/share";
   size_t size = strlen(dir) + 1 + strlen(old) + 1;
   char *list = malloc(size);
   if (!list)
      return;
   snprintf(list, size, "%s:%s", dir, old);
   setenv("XDG_DATA_DIRS", list, 1);
   free(list);
}
