/* A minimal vtest client for the tests: framing, replies and fd passing, every wait bounded
 * so a misbehaving server fails a test instead of hanging it. */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "vtest_client.h"

void send_raw(int fd, const void *data, size_t size)
{
   const uint8_t *p = data;
   while (size) {
      ssize_t n = send(fd, p, size, MSG_NOSIGNAL);
      assert_true(n > 0);
      p += n;
      size -= (size_t)n;
   }
}

void send_msg(int fd, uint32_t id, const uint32_t *words, uint32_t count)
{
   const uint32_t header[2] = {count, id};
   send_raw(fd, header, sizeof(header));
   if (count)
      send_raw(fd, words, count * 4u);
}

bool wait_readable(int fd, int timeout_ms)
{
   struct pollfd p = {.fd = fd, .events = POLLIN};
   return poll(&p, 1, timeout_ms) == 1;
}

void read_exact(int fd, void *data, size_t size)
{
   uint8_t *p = data;
   while (size) {
      assert_true(wait_readable(fd, TEST_WAIT_MS));
      ssize_t n = read(fd, p, size);
      assert_true(n > 0);
      p += n;
      size -= (size_t)n;
   }
}

/* Reads one reply, checks its id, returns its payload length in dwords. */
uint32_t read_reply(int fd, uint32_t id, uint32_t *words, uint32_t max)
{
   uint32_t header[2];
   read_exact(fd, header, sizeof(header));
   assert_int_equal(header[1], id);
   assert_true(header[0] <= max);
   read_exact(fd, words, header[0] * 4u);
   return header[0];
}

/* Receives the fd message the way Mesa does: a 1-byte recvmsg with room for one int. */
int receive_fd(int fd)
{
   char byte = 1;
   struct iovec iov = {.iov_base = &byte, .iov_len = 1};
   union {
      struct cmsghdr align;
      char buf[CMSG_SPACE(sizeof(int))];
   } control;
   struct msghdr msg = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = control.buf,
                        .msg_controllen = sizeof(control.buf)};
   assert_true(wait_readable(fd, TEST_WAIT_MS));
   assert_int_equal(recvmsg(fd, &msg, MSG_CMSG_CLOEXEC), 1);
   assert_int_equal(byte, 0);
   struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
   assert_non_null(cmsg);
   assert_int_equal(cmsg->cmsg_level, SOL_SOCKET);
   assert_int_equal(cmsg->cmsg_type, SCM_RIGHTS);
   assert_int_equal(cmsg->cmsg_len, CMSG_LEN(sizeof(int)));
   int received;
   memcpy(&received, CMSG_DATA(cmsg), sizeof(int));
   assert_true(received >= 0);
   return received;
}

/* The server closed the connection: the next read sees EOF. */
void assert_closed(int fd)
{
   char byte;
   assert_true(wait_readable(fd, TEST_WAIT_MS));
   assert_int_equal(read(fd, &byte, 1), 0);
}

/* The connection still answers. */
void assert_alive(int fd)
{
   uint32_t w[1];
   send_msg(fd, 10, NULL, 0);
   assert_int_equal(read_reply(fd, 10, w, 0), 0);
}
