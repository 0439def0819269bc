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

/* How long a server may take to start listening (first Vulkan use can be slow). */
#define PV_LAUNCH_TIMEOUT_MS 10000
#define PV_LAUNCH_POLL_MS    5

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

static void exec_server(const struct pv_launch *server, const char *server_cmd,
                        const char *host_icd)
{
   if (server_cmd) {
      setenv("PV_SOCKET", server->socket_path, 1);
      execl("/bin/sh", "sh", "-c", server_cmd, (char *)NULL);
   } else {
      char self[PATH_MAX];
      ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
      if (n > 0) {
         self[n] = 0;
         char *argv[] = {self,
                         "serve",
                         "--socket",
                         (char *)server->socket_path,
                         host_icd ? "--icd" : NULL,
                         (char *)host_icd,
                         NULL};
         execv(self, argv);
      }
   }
   fprintf(stderr, "pearvisor: cannot start the server: %s\n", strerror(errno));
   _exit(127);
}

bool pv_launch_start(struct pv_launch *server, const char *server_cmd, const char *host_icd)
{
   const char *base = getenv("XDG_RUNTIME_DIR");
   snprintf(server->dir, sizeof(server->dir), "%s/pearvisor-XXXXXX",
            base && strlen(base) < 32 ? base : "/tmp");
   if (!mkdtemp(server->dir)) {
      fprintf(stderr, "pearvisor: cannot make a private directory: %s\n", strerror(errno));
      return false;
   }
   snprintf(server->socket_path, sizeof(server->socket_path), "%s/vtest.sock", server->dir);
   server->pid = fork();
   if (server->pid < 0) {
      rmdir(server->dir);
      return false;
   }
   if (server->pid == 0)
      exec_server(server, server_cmd, host_icd);
   for (int waited = 0; waited < PV_LAUNCH_TIMEOUT_MS; waited += PV_LAUNCH_POLL_MS) {
      if (can_connect(server->socket_path))
         return true;
      int status;
      if (waitpid(server->pid, &status, WNOHANG) == server->pid) {
         fprintf(stderr, "pearvisor: the server exited before it was ready\n");
         server->pid = -1;
         pv_launch_stop(server);
         return false;
      }
      nanosleep(&(struct timespec){0, PV_LAUNCH_POLL_MS * 1000000L}, NULL);
   }
   fprintf(stderr, "pearvisor: the server did not listen within %d ms\n", PV_LAUNCH_TIMEOUT_MS);
   pv_launch_stop(server);
   return false;
}

void pv_launch_stop(struct pv_launch *server)
{
   if (server->pid > 0) {
      kill(server->pid, SIGTERM);
      int waited = 0;
      while (waitpid(server->pid, NULL, WNOHANG) == 0) {
         if (waited >= 2000) {
            kill(server->pid, SIGKILL);
            waitpid(server->pid, NULL, 0);
            break;
         }
         nanosleep(&(struct timespec){0, 10 * 1000000L}, NULL);
         waited += 10;
      }
      server->pid = -1;
   }
   unlink(server->socket_path);
   rmdir(server->dir);
}

void pv_launch_guest_env(const struct pv_launch *server, const char *venus_icd)
{
   const char *icd = venus_icd ? venus_icd : PV_DEFAULT_VENUS_ICD;
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
