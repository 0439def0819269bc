/* libFuzzer harness for the vtest transport (src/vtest/pv_vtest_conn.c framing,
 * pv_vtest_commands.c messages): the input is everything a client sent on one connection,
 * served by pv_vtest_serve_client on a socketpair against the real renderer (lavapipe), as a
 * worker process serves its guest but without forking one. The client side writes the input,
 * closes its sending half and reads every reply until the server hangs up. */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_gpu.h"
#include "vtest/pv_vtest.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct client {
   int fd;
   const uint8_t *data;
   size_t size;
};

/* Writes and reads on one thread: once the input is sent, what the server still answers
 * (replies and the fds passed with them, closed when the socket is) only has to be drained. */
static void *client_thread(void *arg)
{
   struct client *c = arg;
   for (size_t sent = 0; sent < c->size;) {
      ssize_t n = send(c->fd, c->data + sent, c->size - sent, MSG_NOSIGNAL);
      if (n <= 0)
         break; /* the server closed the connection on something malformed */
      sent += (size_t)n;
   }
   shutdown(c->fd, SHUT_WR);
   char reply[4096];
   while (recv(c->fd, reply, sizeof(reply), 0) > 0)
      continue;
   return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
   (void)argc, (void)argv;
   pv_fuzz_gpu();
   return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
   int fds[2];
   if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
      abort();
   struct client c = {fds[1], data, size};
   pthread_t thread;
   if (pthread_create(&thread, NULL, client_thread, &c) != 0)
      abort();
   pv_vtest_serve_client(pv_fuzz_gpu(), fds[0]); /* closes fds[0] */
   pthread_join(thread, NULL);
   close(fds[1]);
   return 0;
}
