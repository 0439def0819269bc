/* Whole-message I/O on stream sockets, with an fd passed alongside (SCM_RIGHTS). */
#include "util/pv_socket.h"

#include <errno.h>
#include <stdint.h>
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
