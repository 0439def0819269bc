/* The vtest server over the real renderer: what a Mesa 25 venus guest sees (capset, blobs,
 * syncs, malformed input, clients that leave mid-message), over a socketpair. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

#include <cmocka.h>

#include "vtest/pv_vtest.h"
#include "vtest_client.h"

struct server {
   struct pv_gpu *gpu;
   int fd;
   pthread_t thread;
};

static void *serve(void *arg)
{
   struct server *s = arg;
   pv_vtest_serve_client(s->gpu, s->fd);
   return NULL;
}

/* Starts a server thread on one end of a socketpair; returns the client end. */
static int start(struct server *s)
{
   int sv[2];
   assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
   s->gpu = pv_gpu_create(NULL);
   assert_non_null(s->gpu);
   s->fd = sv[1];
   assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
   return sv[0];
}

/* Closes the client end and checks the server thread ends (it must, whatever state). */
static void finish(struct server *s, int client)
{
   close(client);
   assert_int_equal(pthread_join(s->thread, NULL), 0);
   pv_gpu_destroy(s->gpu);
}

/* Mesa 25's exact opening (docs/protocol/vtest.md §4), up to CONTEXT_INIT. */
static void handshake(int fd)
{
   static const char name[] = "test";
   uint32_t header[2] = {sizeof(name), 8}; /* CREATE_RENDERER counts bytes */
   send_raw(fd, header, sizeof(header));
   send_raw(fd, name, sizeof(name));
   /* PING immediately followed by the BUSY_WAIT probe, before reading anything. */
   const uint32_t probe[2] = {0, 0};
   send_msg(fd, 10, NULL, 0);
   send_msg(fd, 7, probe, 2);
   uint32_t w[64];
   assert_int_equal(read_reply(fd, 10, w, 64), 0);
   assert_int_equal(read_reply(fd, 7, w, 64), 1);
   assert_int_equal(w[0], 0);
   const uint32_t version = 3;
   send_msg(fd, 11, &version, 1);
   assert_int_equal(read_reply(fd, 11, w, 64), 1);
   assert_int_equal(w[0], 3);
   const uint32_t timeline_param = 1;
   send_msg(fd, 15, &timeline_param, 1);
   assert_int_equal(read_reply(fd, 15, w, 64), 2);
   assert_int_equal(w[0], 1);
   assert_true(w[1] > 1);
   const uint32_t capset[2] = {4, 0};
   send_msg(fd, 16, capset, 2);
   assert_int_equal(read_reply(fd, 16, w, 64), 41);
   assert_int_equal(w[0], 1);     /* valid */
   assert_int_equal(w[1], 1);     /* wire format 1 */
   assert_int_equal(w[5], 1);     /* supports blob id 0 */
   assert_int_equal(w[6] & 1, 1); /* extension mask valid */
   const uint32_t venus = 4;
   send_msg(fd, 17, &venus, 1);
}

static void test_handshake_and_params(void **state)
{
   struct server s;
   int fd = start(&s);
   handshake(fd);
   uint32_t w[64];
   const uint32_t unknown_param = 99, old_capset[2] = {1, 0};
   send_msg(fd, 15, &unknown_param, 1);
   assert_int_equal(read_reply(fd, 15, w, 64), 2);
   assert_int_equal(w[0], 0);
   send_msg(fd, 16, old_capset, 2);
   assert_int_equal(read_reply(fd, 16, w, 64), 1);
   assert_int_equal(w[0], 0);
   const uint32_t newer = 9;
   send_msg(fd, 11, &newer, 1);
   read_reply(fd, 11, w, 64);
   assert_int_equal(w[0], 3);
   finish(&s, fd);
}

static void test_blob_fd_is_mappable(void **state)
{
   struct server s;
   int fd = start(&s);
   handshake(fd);
   /* The instance ring's shared memory: not a page multiple (docs/protocol/pitfalls.md #11). */
   const uint32_t blob[6] = {2, 1, 131268, 0, 0, 0};
   send_msg(fd, 18, blob, 6);
   uint32_t w[4];
   assert_int_equal(read_reply(fd, 18, w, 4), 1);
   assert_int_not_equal(w[0], 0);
   int shm = receive_fd(fd);
   uint8_t *map = mmap(NULL, 131268, PROT_READ | PROT_WRITE, MAP_SHARED, shm, 0);
   assert_true(map != MAP_FAILED);
   assert_int_equal(map[131267], 0); /* zero-filled */
   munmap(map, 131268);
   close(shm);
   send_msg(fd, 3, w, 1); /* RESOURCE_UNREF */
   /* A blob for memory that does not exist: vtest has no error reply, and the guest aborts
    * without an fd, so the answer is resource 0 with an fd whose mapping fails. */
   const uint32_t no_memory[6] = {2, 1, 4096, 0, 77, 0};
   send_msg(fd, 18, no_memory, 6);
   assert_int_equal(read_reply(fd, 18, w, 4), 1);
   assert_int_equal(w[0], 0);
   int empty = receive_fd(fd);
   assert_true(mmap(NULL, 4096, PROT_READ, MAP_SHARED, empty, 0) == MAP_FAILED ||
               lseek(empty, 0, SEEK_END) == 0);
   close(empty);
   const uint32_t bogus = 12345;
   send_msg(fd, 3, &bogus, 1); /* unknown ids are ignored */
   send_msg(fd, 10, NULL, 0);
   assert_int_equal(read_reply(fd, 10, w, 4), 0);
   finish(&s, fd);
}

static void test_syncs(void **state)
{
   struct server s;
   int fd = start(&s);
   handshake(fd);
   uint32_t w[8];
   const uint32_t initial[2] = {5, 0};
   send_msg(fd, 19, initial, 2);
   assert_int_equal(read_reply(fd, 19, w, 8), 1);
   uint32_t id = w[0];
   assert_int_not_equal(id, 0);
   send_msg(fd, 21, &id, 1);
   read_reply(fd, 21, w, 8);
   assert_int_equal(w[0], 5);
   /* A wait not yet satisfied: its eventfd must become readable after the write. */
   const uint32_t wait[5] = {0, 1000, id, 9, 0};
   send_msg(fd, 23, wait, 5);
   assert_int_equal(read_reply(fd, 23, w, 8), 0);
   int efd = receive_fd(fd);
   struct pollfd p = {.fd = efd, .events = POLLIN};
   assert_int_equal(poll(&p, 1, 0), 0);
   const uint32_t write[3] = {id, 9, 0};
   send_msg(fd, 22, write, 3);
   send_msg(fd, 21, &id, 1);
   read_reply(fd, 21, w, 8);
   assert_int_equal(w[0], 9);
   assert_int_equal(poll(&p, 1, 1000), 1);
   close(efd);
   /* SUBMIT_CMD2 with no commands and one sync on the CPU timeline: set at once. */
   const uint32_t submit[1 + 6 + 3] = {1, 1, 7, 0, 7, 1, 0, id, 42, 0};
   send_msg(fd, 24, submit, 10);
   send_msg(fd, 21, &id, 1);
   read_reply(fd, 21, w, 8);
   assert_int_equal(w[0], 42);
   send_msg(fd, 20, &id, 1);
   finish(&s, fd);
}

/* A fatal context keeps its connection: the guest would spin forever on a closed socket. */
static void test_fatal_context_keeps_answering(void **state)
{
   struct server s;
   int fd = start(&s);
   handshake(fd);
   /* vkNotifyRingMESA for a ring that does not exist. */
   const uint32_t submit[1 + 6 + 6] = {1, 1, 7, 6, 13, 0, 0, 190, 0, 0xdead, 0, 1, 0};
   send_msg(fd, 24, submit, 13);
   uint32_t w[4];
   send_msg(fd, 10, NULL, 0);
   assert_int_equal(read_reply(fd, 10, w, 4), 0);
   const uint32_t blob[6] = {2, 1, 4096, 0, 0, 0};
   send_msg(fd, 18, blob, 6);
   read_reply(fd, 18, w, 4);
   close(receive_fd(fd));
   finish(&s, fd);
}

static void test_unknown_command_is_skipped(void **state)
{
   struct server s;
   int fd = start(&s);
   handshake(fd);
   const uint32_t junk[3] = {1, 2, 3};
   send_msg(fd, 99, junk, 3); /* unknown */
   send_msg(fd, 6, junk, 3);  /* legacy virgl SUBMIT_CMD */
   uint32_t w[4];
   send_msg(fd, 10, NULL, 0);
   assert_int_equal(read_reply(fd, 10, w, 4), 0);
   finish(&s, fd);
}

/* The client leaves at every byte of a message: the serving thread must always return. */
static void test_disconnect_mid_message(void **state)
{
   uint8_t msg[8 + 24];
   const uint32_t header[2] = {6, 18}, blob[6] = {2, 1, 4096, 0, 0, 0};
   memcpy(msg, header, 8);
   memcpy(msg + 8, blob, 24);
   for (size_t cut = 0; cut < sizeof(msg); cut++) {
      struct server s;
      int fd = start(&s);
      handshake(fd);
      if (cut)
         send_raw(fd, msg, cut);
      finish(&s, fd);
   }
}

/* A real listening server survives a client that leaves mid-message and serves the next. */
static void test_server_survives_dead_client(void **state)
{
   char dir[] = "/tmp/pv-test-vtest-XXXXXX";
   assert_non_null(mkdtemp(dir));
   char path[64];
   snprintf(path, sizeof(path), "%.40s/sock", dir);
   pid_t pid = fork();
   if (pid == 0) {
      struct pv_vtest_options options = {.socket_path = path};
      _exit(pv_vtest_serve(&options));
   }
   struct sockaddr_un addr = {.sun_family = AF_UNIX};
   memcpy(addr.sun_path, path, sizeof(path));
   int fds[2];
   for (int i = 0; i < 2; i++) {
      fds[i] = socket(AF_UNIX, SOCK_STREAM, 0);
      int tries = 0;
      while (connect(fds[i], (struct sockaddr *)&addr, sizeof(addr)) != 0 && tries++ < 500)
         usleep(10000);
      assert_true(tries < 500);
      if (i == 0) {
         const uint32_t partial[2] = {100, 24};
         send_raw(fds[0], partial, sizeof(partial));
         send_raw(fds[0], partial, 4);
         close(fds[0]);
      }
   }
   handshake(fds[1]);
   uint32_t w[4];
   send_msg(fds[1], 10, NULL, 0);
   assert_int_equal(read_reply(fds[1], 10, w, 4), 0);
   close(fds[1]);
   kill(pid, SIGTERM);
   int status;
   assert_int_equal(waitpid(pid, &status, 0), pid);
   assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
   assert_int_equal(access(path, F_OK), -1); /* the socket is removed */
   rmdir(dir);
}

int main(void)
{
   signal(SIGPIPE, SIG_IGN);
   const struct CMUnitTest tests[] = {
         cmocka_unit_test(test_handshake_and_params),
         cmocka_unit_test(test_blob_fd_is_mappable),
         cmocka_unit_test(test_syncs),
         cmocka_unit_test(test_fatal_context_keeps_answering),
         cmocka_unit_test(test_unknown_command_is_skipped),
         cmocka_unit_test(test_disconnect_mid_message),
         cmocka_unit_test(test_server_survives_dead_client),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
