/* Whole-message I/O on stream sockets, with an fd passed alongside (SCM_RIGHTS), and the
 * process at a socket's other end. */
#include "util/pv_socket.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

union pv_fd_control {
   struct cmsghdr align;
   char buf[CMSG_SPACE(sizeof(int))];
};

bool pv_socket_send(int fd, struct iovec *iov, int count, int pass_fd)
{
   union pv_fd_control control;
   memset(&control, 0, sizeof(control));
   while (count > 0) {
      struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)count};
      if (pass_fd >= 0) {
         msg.msg_control = control.buf;
         msg.msg_controllen = sizeof(control.buf);
         struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
         cmsg->cmsg_level = SOL_SOCKET;
         cmsg->cmsg_type = SCM_RIGHTS;
         cmsg->cmsg_len = CMSG_LEN(sizeof(int));
         memcpy(CMSG_DATA(cmsg), &pass_fd, sizeof(int));
      }
      ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
         continue;
      if (n < 0)
         return false;
      pass_fd = -1; /* it went with the first byte */
      size_t left = (size_t)n;
      while (count > 0 && left >= iov->iov_len) {
         left -= iov->iov_len;
         iov++;
         count--;
      }
      if (count > 0) {
         iov->iov_base = (uint8_t *)iov->iov_base + left;
         iov->iov_len -= left;
      }
   }
   return true;
}

/* Keeps the first fd of the message in *got_fd and closes any others. */
static void take_fds(struct msghdr *msg, int *got_fd)
{
   for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
         continue;
      size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < n; i++) {
         int fd;
         memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
         if (*got_fd < 0)
            *got_fd = fd;
         else
            close(fd);
      }
   }
}

bool pv_socket_recv(int fd, void *data, size_t size, int *got_fd)
{
   uint8_t *p = data;
   while (size) {
      union pv_fd_control control;
      struct iovec iov = {.iov_base = p, .iov_len = size};
      struct msghdr msg = {
            .msg_iov = &iov,
            .msg_iovlen = 1,
            .msg_control = control.buf,
            .msg_controllen = sizeof(control.buf),
      };
      ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
      if (n < 0 && errno == EINTR)
         continue;
      if (n <= 0)
         return false;
      take_fds(&msg, got_fd);
      p += n;
      size -= (size_t)n;
   }
   return true;
}

bool pv_socket_peer_of(int fd, struct pv_socket_peer *peer)
{
   struct ucred cred;
   socklen_t len = sizeof(cred);
   if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.pid <= 0)
      return false;
   char path[32], stat[1024];
   snprintf(path, sizeof(path), "/proc/%d/stat", (int)cred.pid);
   FILE *f = fopen(path, "re");
   if (!f)
      return false;
   size_t n = fread(stat, 1, sizeof(stat) - 1, f);
   fclose(f);
   stat[n] = '\0';
   /* The command name (field 2) may hold spaces and parentheses: fields after it follow the
    * last ')'. starttime is field 22, the 20th after the name. */
   const char *p = strrchr(stat, ')');
   for (int field = 2; p && field < 22; field++)
      p = strchr(p + 1, ' ');
   unsigned long long start;
   if (!p || sscanf(p + 1, "%llu", &start) != 1)
      return false;
   *peer = (struct pv_socket_peer){cred.pid, start};
   return true;
}
