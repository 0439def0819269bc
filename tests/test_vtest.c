/* Unit tests of the vtest transport against a fake renderer: Mesa 25's exact handshake, every
 * command, malformed input, clients that leave mid-message, and real listening servers. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_gpu.h"
#include "util/pv_log.h"
#include "vtest_client.h"
#include "vtest/pv_vtest.h"
#include "vtest/pv_vtest_conn.h"

/* Mesa sends the process name; this one is 11 bytes with its NUL, so every message after it
 * starts at an odd offset of the stream. */
static const char test_name[] = "test_vtest";

struct server {
   struct pv_gpu *gpu;
   int fd;
   struct pv_vtest_serve_params params;
   pthread_t thread;
};

static void *serve_thread(void *arg)
{
   struct server *s = arg;
   if (s->params.print_stats || s->params.stop_fd >= 0 || s->params.limits)
      pv_vtest_conn_serve(s->gpu, s->fd, &s->params);
   else
      pv_vtest_serve_client(s->gpu, s->fd);
   return NULL;
}

/* Starts serving one end of a socketpair on a thread; returns the client end. */
static int start_with(struct server *s, const struct pv_vtest_serve_params *params)
{
   fake_gpu_reset();
   int sv[2];
   assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
   *s = (struct server){
         .gpu = pv_gpu_create(NULL),
         .fd = sv[1],
         .params = *params,
   };
   assert_non_null(s->gpu);
   assert_int_equal(pthread_create(&s->thread, NULL, serve_thread, s), 0);
   return sv[0];
}

static int start(struct server *s)
{
   const struct pv_vtest_serve_params params = {.stop_fd = -1};
   return start_with(s, &params);
}

/* Closes the client end; the serving thread must return and leave no context behind. */
static void finish(struct server *s, int client)
{
   close(client);
   assert_int_equal(pthread_join(s->thread, NULL), 0);
   pv_gpu_destroy(s->gpu);
   assert_int_equal(fake_gpu.contexts_destroyed, fake_gpu.contexts_created);
}

static void create_renderer(int fd)
{
   const uint32_t header[2] = {sizeof(test_name), 8}; /* CREATE_RENDERER counts bytes */
   send_raw(fd, header, sizeof(header));
   send_raw(fd, test_name, sizeof(test_name));
}

/* Mesa 25's exact opening (docs/protocol/vtest.md §4), up to and including CONTEXT_INIT. */
static void handshake(int fd)
{
   create_renderer(fd);
   /* PING immediately followed by the BUSY_WAIT probe, before reading anything; the answer
    * is exactly [0][10] then [1][7]{0}. */
   const uint32_t probe[2 + 2 + 2] = {0, 10, 2, 7, 0, 0};
   send_raw(fd, probe, sizeof(probe));
   const uint32_t probe_reply[2 + 3] = {0, 10, 1, 7, 0};
   uint32_t got[5];
   read_exact(fd, got, sizeof(got));
   assert_memory_equal(got, probe_reply, sizeof(probe_reply));

   const uint32_t version[3] = {1, 11, 3}, version_reply[3] = {1, 11, 3};
   send_raw(fd, version, sizeof(version));
   read_exact(fd, got, sizeof(version_reply));
   assert_memory_equal(got, version_reply, sizeof(version_reply));

   const uint32_t param[3] = {1, 15, 1}, param_reply[4] = {2, 15, 1, PV_GPU_MAX_TIMELINES};
   send_raw(fd, param, sizeof(param));
   read_exact(fd, got, sizeof(param_reply));
   assert_memory_equal(got, param_reply, sizeof(param_reply));

   const uint32_t capset[4] = {2, 16, 4, 0}, capset_header[3] = {41, 16, 1};
   send_raw(fd, capset, sizeof(capset));
   read_exact(fd, got, sizeof(capset_header));
   assert_memory_equal(got, capset_header, sizeof(capset_header));
   uint8_t data[PV_GPU_CAPSET_MAX_SIZE], expected[PV_GPU_CAPSET_MAX_SIZE];
   read_exact(fd, data, sizeof(data));
   fake_gpu_capset(expected);
   assert_memory_equal(data, expected, sizeof(expected));

   const uint32_t init[3] = {1, 17, 4};
   send_raw(fd, init, sizeof(init));
}

/* RESOURCE_CREATE_BLOB; returns the resource id, the received fd in *blob_fd. */
static uint32_t create_blob(int fd, uint32_t type, uint32_t flags, uint64_t size, uint64_t id,
                            int *blob_fd)
{
   const uint32_t blob[6] = {
         type, flags, (uint32_t)size, (uint32_t)(size >> 32), (uint32_t)id, (uint32_t)(id >> 32)};
   send_msg(fd, 18, blob, 6);
   uint32_t res_id;
   assert_int_equal(read_reply(fd, 18, &res_id, 1), 1);
   *blob_fd = receive_fd(fd);
   return res_id;
}

static void check_mappable(int fd, size_t size)
{
   struct stat st;
   assert_int_equal(fstat(fd, &st), 0);
   assert_int_equal(st.st_size, (off_t)size);
   uint8_t *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
   assert_true(map != MAP_FAILED);
   assert_int_equal(map[size - 1], 0);
   map[0] = 0x5a;
   munmap(map, size);
}

static void test_mesa_handshake(void **state)
{
   struct server s;
   int fd = start(&s);
   handshake(fd);
   /* Nothing may follow the replies: the guest would read it as the next reply. */
   assert_false(wait_readable(fd, 50));

   /* The instance ring's shared memory: not a page multiple (docs/protocol/pitfalls.md #11). */
   int ring_fd;
   uint32_t ring_res = create_blob(fd, 2, 1, 131268, 0, &ring_fd);
   assert_int_not_equal(ring_res, 0);
   check_mappable(ring_fd, 131268);
   close(ring_fd);
   assert_int_equal(fake_gpu.contexts_created, 1);
   assert_int_equal(fake_gpu.capset_id, 4);
   assert_string_equal(fake_gpu.debug_name, test_name);
   assert_int_equal(fake_gpu.blob_type, 2);
   assert_int_equal(fake_gpu.blob_flags, 1);
   assert_int_equal(fake_gpu.blob_size, 131268);
   assert_int_equal(fake_gpu.blob_id, 0);

   /* [42][24]: one batch {RING_IDX, offset 7, 35 dwords, syncs at 42, none, CPU timeline}. */
   uint32_t submit[42] = {1, 1, 7, 35, 42, 0, 0};
   for (uint32_t i = 7; i < 42; i++)
      submit[i] = 0xc0de0000 + i;
   send_msg(fd, 24, submit, 42);

   int pool_fd;
   uint32_t pool_res = create_blob(fd, 2, 1, 1 << 20, 0, &pool_fd);
   assert_int_not_equal(pool_res, 0);
   assert_int_not_equal(pool_res, ring_res);
   check_mappable(pool_fd, 1 << 20);
   close(pool_fd);

   assert_int_equal(fake_gpu.submits, 1);
   assert_int_equal(fake_gpu.submitted_size, 35 * 4);
   assert_memory_equal(fake_gpu.submitted, submit + 7, 35 * 4);
   assert_false(fake_gpu.submit_misaligned);
   finish(&s, fd);
   assert_int_equal(fake_gpu.contexts_destroyed, 1);
}

/* A whole burst in one write, as read ahead by the server: after the odd-length name every
 * payload must still reach the renderer 4-byte aligned, and in order. */
static void test_burst_after_odd_length_name(void **state)
{
   struct server s;
   int fd = start(&s);
   uint8_t burst[8 + sizeof(test_name) + 12 + 2 * (8 + 4 * 9) + 8];
   size_t n = 0;
   const uint32_t create[2] = {sizeof(test_name), 8}, init[3] = {1, 17, 4}, ping[2] = {0, 10};
   const uint32_t submit[2 + 9] = {9, 24, 1, 1, 7, 2, 9, 0, 0, 0xaaaa5555, 0x12345678};
   memcpy(burst + n, create, sizeof(create));
   n += sizeof(create);
   memcpy(burst + n, test_name, sizeof(test_name));
   n += sizeof(test_name);
   memcpy(burst + n, init, sizeof(init));
   n += sizeof(init);
   for (int i = 0; i < 2; i++) {
      memcpy(burst + n, submit, sizeof(submit));
      n += sizeof(submit);
   }
   memcpy(burst + n, ping, sizeof(ping));
   n += sizeof(ping);
   assert_int_equal(n, sizeof(burst));
   send_raw(fd, burst, n);
   uint32_t w[1];
   assert_int_equal(read_reply(fd, 10, w, 0), 0);
   assert_int_equal(fake_gpu.submits, 2);
   assert_false(fake_gpu.submit_misaligned);
   assert_int_equal(fake_gpu.submitted_size, 16);
   assert_memory_equal(fake_gpu.submitted, submit + 9, 8);
   assert_memory_equal(fake_gpu.submitted + 8, submit + 9, 8);
   finish(&s, fd);
}

static void test_params_versions_capsets(void **state)
{
   struct server s;
   int fd = start(&s);
   handshake(fd);
   uint32_t w[64];
   const uint32_t unknown_param = 2;
   send_msg(fd, 15, &unknown_param, 1);
   assert_int_equal(read_reply(fd, 15, w, 64), 2);
   assert_int_equal(w[0], 0);
   assert_int_equal(w[1], 0);
   const uint32_t virgl_capset[2] = {1, 0}, venus_v1[2] = {4, 1};
   send_msg(fd, 16, virgl_capset, 2);
   assert_int_equal(read_reply(fd, 16, w, 64), 1);
   assert_int_equal(w[0], 0);
   send_msg(fd, 16, venus_v1, 2);
   assert_int_equal(read_reply(fd, 16, w, 64), 1);
   assert_int_equal(w[0], 0);
   const uint32_t older = 2, newer = 9;
   send_msg(fd, 11, &older, 1);
   read_reply(fd, 11, w, 64);
   assert_int_equal(w[0], 2);
   send_msg(fd, 11, &newer, 1);
   read_reply(fd, 11, w, 64);
   assert_int_equal(w[0], 3);
   /* A later probe is answered the same way. */
   const uint32_t probe[2] = {0, 0};
   send_msg(fd, 7, probe, 2);
   assert_int_equal(read_reply(fd, 7, w, 64), 1);
   assert_int_equal(w[0], 0);
   finish(&s, fd);
}

static void test_blobs(void **state)
{
   struct server s;
   int fd = start(&s);
   handshake(fd);
   /* Device memory: a 64-bit Venus object id, mappable and shareable. */
   int mem_fd;
   uint32_t res = create_blob(fd, 2, 3, 8192, 0x100000007ull, &mem_fd);
   assert_int_not_equal(res, 0);
   check_mappable(mem_fd, 8192);
   close(mem_fd);
   assert_int_equal(fake_gpu.blob_flags, 3);
   assert_int_equal(fake_gpu.blob_size, 8192);
   assert_int_equal(fake_gpu.blob_id, 0x100000007ull);
   assert_int_equal(fake_gpu.blob_res_id, res);

   /* The client's own resource reaches the renderer; an id it never got does not (in a
    * shared renderer it could be another client's). */
   send_msg(fd, 3, &res, 1);
   const uint32_t unknown = 12345;
   send_msg(fd, 3, &unknown, 1);
   assert_alive(fd);
   assert_int_equal(fake_gpu.unref_count, 1);
   assert_int_equal(fake_gpu.unrefs[0], res);

   /* A blob the renderer refuses: resource 0 and an fd the guest cannot map, so its mmap
    * fails instead of the guest aborting for want of an fd. */
   fake_gpu.fail_blobs = true;
   int bad_fd;
   assert_int_equal(create_blob(fd, 2, 1, 4096, 77, &bad_fd), 0);
   assert_true(mmap(NULL, 4096, PROT_READ, MAP_SHARED, bad_fd, 0) == MAP_FAILED);
   close(bad_fd);
   assert_alive(fd);
   finish(&s, fd);
}

static void test_submit_batches_and_syncs(void **state)
{
   struct server s;
   int fd = start(&s);
   handshake(fd);
   uint32_t w[8];
   uint32_t ids[2];
   for (int i = 0; i < 2; i++) {
      const uint32_t zero[2] = {0, 0};
      send_msg(fd, 19, zero, 2);
      assert_int_equal(read_reply(fd, 19, w, 8), 1);
      ids[i] = w[0];
      assert_int_not_equal(ids[i], 0);
   }
   assert_int_not_equal(ids[0], ids[1]);

   /* Two batches with the 6-dword protocol-3 stride: commands of batch 0 at 13 (2 dwords) and
    * of batch 1 at 15 (3 dwords); batch 0 sets sync 0 on the CPU timeline, batch 1 sets
    * sync 1 (to a 64-bit value) on timeline 3. */
   uint32_t submit[24] = {2, 1, 13, 2, 18, 1, 0, 1, 15, 3, 21, 1, 3};
   for (uint32_t i = 13; i < 18; i++)
      submit[i] = 0xba7c0000 + i;
   submit[18] = ids[0];
   submit[19] = 7;
   submit[20] = 0;
   submit[21] = ids[1];
   submit[22] = 8;
   submit[23] = 1;
   send_msg(fd, 24, submit, 24);
   send_msg(fd, 21, &ids[0], 1);
   read_reply(fd, 21, w, 8);
   assert_int_equal(w[0], 7); /* the CPU timeline is done at once */
   assert_int_equal(fake_gpu.submits, 2);
   assert_int_equal(fake_gpu.submitted_size, 5 * 4);
   assert_memory_equal(fake_gpu.submitted, submit + 13, 5 * 4);
   assert_false(fake_gpu.submit_misaligned);
   assert_int_equal(fake_gpu.fence_count, 1);
   assert_int_equal(fake_gpu.fences[0].ring_idx, 3);

   /* Timeline 3's fence: the sync changes only when the renderer retires it, and a wait for
    * that value fires then. */
   const uint32_t wait[5] = {0, 0xffffffff, ids[1], 8, 1};
   send_msg(fd, 23, wait, 5);
   assert_int_equal(read_reply(fd, 23, w, 8), 0);
   int efd = receive_fd(fd);
   send_msg(fd, 21, &ids[1], 1);
   read_reply(fd, 21, w, 8);
   assert_int_equal(w[0], 0);
   assert_false(wait_readable(efd, 0));
   fake_gpu_retire(3);
   assert_true(wait_readable(efd, TEST_WAIT_MS));
   close(efd);
   send_msg(fd, 21, &ids[1], 1);
   read_reply(fd, 21, w, 8);
   assert_int_equal(w[0], 8);
   assert_int_equal(w[1], 1);

   /* Without the RING_IDX flag the ring_idx field means nothing: CPU timeline. */
   const uint32_t no_flag[10] = {1, 0, 7, 0, 7, 1, 5, ids[0], 9, 0};
   send_msg(fd, 24, no_flag, 10);
   send_msg(fd, 21, &ids[0], 1);
   read_reply(fd, 21, w, 8);
   assert_int_equal(w[0], 9);

   /* An invalid timeline and an unknown sync are logged; the connection goes on. */
   const uint32_t bad_ring[10] = {1, 1, 7, 0, 7, 1, 70, ids[0], 11, 0};
   send_msg(fd, 24, bad_ring, 10);
   const uint32_t bad_sync[10] = {1, 1, 7, 0, 7, 1, 2, 999, 11, 0};
   send_msg(fd, 24, bad_sync, 10);
   send_msg(fd, 21, &ids[0], 1);
   read_reply(fd, 21, w, 8);
   assert_int_equal(w[0], 9);
   assert_int_equal(fake_gpu.fence_count, 0);

   /* A fence whose sync is gone before it retires does not touch the sync reusing its id. */
   const uint32_t pending[10] = {1, 1, 7, 0, 7, 1, 2, ids[0], 50, 0};
   send_msg(fd, 24, pending, 10);
   send_msg(fd, 20, &ids[0], 1);
   const uint32_t zero[2] = {0, 0};
   send_msg(fd, 19, zero, 2);
   read_reply(fd, 19, w, 8);
   uint32_t reused = w[0];
   fake_gpu_retire(2);
   send_msg(fd, 21, &reused, 1);
   read_reply(fd, 21, w, 8);
   assert_int_equal(w[0], 0);
   finish(&s, fd);
}

static uint32_t sync_create(int fd, uint64_t value)
{
   const uint32_t initial[2] = {(uint32_t)value, (uint32_t)(value >> 32)};
   uint32_t id;
   send_msg(fd, 19, initial, 2);
   assert_int_equal(read_reply(fd, 19, &id, 1), 1);
   assert_int_not_equal(id, 0);
   return id;
}

static uint64_t sync_read(int fd, uint32_t id)
{
   uint32_t w[2];
   send_msg(fd, 21, &id, 1);
   assert_int_equal(read_reply(fd, 21, w, 2), 2);
   return w[0] | (uint64_t)w[1] << 32;
}

static void sync_write(int fd, uint32_t id, uint64_t value)
{
   const uint32_t write[3] = {id, (uint32_t)value, (uint32_t)(value >> 32)};
   send_msg(fd, 22, write, 3);
}

/* SYNC_WAIT for (id, value) pairs; returns the fd the guest polls. */
static int sync_wait(int fd, bool any, uint32_t timeout_ms, const uint32_t *ids,
                     const uint64_t *values, uint32_t count)
{
   uint32_t w[2 + 3 * 4] = {any ? 1 : 0, timeout_ms};
   for (uint32_t i = 0; i < count; i++) {
      w[2 + 3 * i] = ids[i];
      w[3 + 3 * i] = (uint32_t)values[i];
      w[4 + 3 * i] = (uint32_t)(values[i] >> 32);
   }
   send_msg(fd, 23, w, 2 + 3 * count);
   uint32_t none[1];
   assert_int_equal(read_reply(fd, 23, none, 0), 0);
   return receive_fd(fd);
}

static void test_syncs(void **state)
{
   struct server s;
   int fd = start(&s);
   handshake(fd);
   uint32_t a = sync_create(fd, 5), b = sync_create(fd, 0x100000000ull);
   assert_int_equal(sync_read(fd, a), 5);
   assert_int_equal(sync_read(fd, b), 0x100000000ull);

   /* All of: fires only when both are reached. */
   const uint32_t ab[2] = {a, b};
   const uint64_t all_values[2] = {9, 0x100000001ull};
   int all = sync_wait(fd, false, 0xffffffff, ab, all_values, 2);
   assert_false(wait_readable(all, 0));
   sync_write(fd, a, 9);
   assert_int_equal(sync_read(fd, a), 9);
   assert_false(wait_readable(all, 0));
   sync_write(fd, b, 0x100000001ull);
   assert_true(wait_readable(all, TEST_WAIT_MS));
   close(all);

   /* Any of, and one already satisfied: readable at once. */
   const uint64_t any_values[2] = {100, 1};
   int any = sync_wait(fd, true, 1000, ab, any_values, 2);
   assert_true(wait_readable(any, TEST_WAIT_MS));
   close(any);

   /* A write stores the value as given: smaller resets. */
   sync_write(fd, a, 2);
   assert_int_equal(sync_read(fd, a), 2);

   /* Expired waits are dropped: timeout 0 at once, 50 ms after 50 ms; neither fires later. */
   const uint64_t three[1] = {3};
   int now = sync_wait(fd, false, 0, &a, three, 1);
   int soon = sync_wait(fd, false, 50, &a, three, 1);
   struct timespec pause = {.tv_nsec = 100 * 1000 * 1000};
   nanosleep(&pause, NULL);
   sync_write(fd, a, 3);
   assert_int_equal(sync_read(fd, a), 3);
   assert_false(wait_readable(now, 50));
   assert_false(wait_readable(soon, 0));
   close(now);
   close(soon);

   /* Unref: the id is gone. */
   send_msg(fd, 20, &a, 1);
   assert_int_equal(sync_read(fd, a), 0);
   send_msg(fd, 20, &a, 1); /* again: logged, ignored */
   sync_write(fd, a, 1);    /* unknown: logged, ignored */
   assert_alive(fd);
   finish(&s, fd);
}

/* Syncs live in the connection: they work without CONTEXT_INIT. */
static void test_syncs_without_context(void **state)
{
   struct server s;
   int fd = start(&s);
   create_renderer(fd);
   uint32_t id = sync_create(fd, 1);
   const uint64_t one[1] = {1};
   int efd = sync_wait(fd, false, 0, &id, one, 1);
   assert_true(wait_readable(efd, TEST_WAIT_MS));
   close(efd);
   finish(&s, fd);
}

/* What a guest's poll() of a SYNC_WAIT fd sees within timeout_ms: 0 for nothing. */
static short wait_events(int fd, int timeout_ms)
{
   struct pollfd p = {.fd = fd, .events = POLLIN};
   return poll(&p, 1, timeout_ms) == 1 ? p.revents : 0;
}

/* A wait the worker can no longer satisfy ends in an error for the guest (POLLHUP without
 * POLLIN: VK_ERROR_DEVICE_LOST), not in a poll() that never returns; a satisfied one reads
 * as POLLIN. */
static void test_sync_wait_hangs_up_at_teardown(void **state)
{
   struct server s;
   int fd = start(&s);
   create_renderer(fd);
   uint32_t id = sync_create(fd, 0);
   const uint64_t one[1] = {1}, two[1] = {2};
   int satisfied = sync_wait(fd, false, 0xffffffff, &id, one, 1);
   int pending = sync_wait(fd, false, 0xffffffff, &id, two, 1);
   sync_write(fd, id, 1);
   assert_true(wait_events(satisfied, TEST_WAIT_MS) & POLLIN);
   assert_int_equal(wait_events(pending, 50), 0);
   finish(&s, fd);
   assert_int_equal(wait_events(pending, TEST_WAIT_MS), POLLHUP);
   close(satisfied);
   close(pending);
}

/* Past the syncs limit SYNC_CREATE answers sync 0 and past the waits limit a SYNC_WAIT's fd
 * hangs up at once (the guest's wait fails); the connection answers on, and a sync or wait
 * given back makes room again. */
static void test_sync_and_wait_limits(void **state)
{
   static const struct pv_gpu_limits limits = {.syncs = 2, .waits = 1};
   const struct pv_vtest_serve_params params = {.stop_fd = -1, .limits = &limits};
   struct server s;
   int fd = start_with(&s, &params);
   create_renderer(fd);

   uint32_t a = sync_create(fd, 0), b = sync_create(fd, 0);
   const uint32_t zero[2] = {0, 0};
   uint32_t refused;
   send_msg(fd, 19, zero, 2);
   assert_int_equal(read_reply(fd, 19, &refused, 1), 1);
   assert_int_equal(refused, 0);
   send_msg(fd, 20, &b, 1);
   b = sync_create(fd, 0);

   const uint64_t one[1] = {1};
   int pending = sync_wait(fd, false, 0xffffffff, &a, one, 1);
   int over = sync_wait(fd, false, 0xffffffff, &b, one, 1);
   assert_int_equal(wait_events(over, TEST_WAIT_MS), POLLHUP);
   assert_int_equal(wait_events(pending, 0), 0);
   /* One already satisfied is never pending, so the limit does not refuse it. */
   const uint64_t none[1] = {0};
   int satisfied = sync_wait(fd, false, 0xffffffff, &b, none, 1);
   assert_true(wait_events(satisfied, TEST_WAIT_MS) & POLLIN);
   /* The pending one fires and makes room. */
   sync_write(fd, a, 1);
   assert_true(wait_events(pending, TEST_WAIT_MS) & POLLIN);
   int again = sync_wait(fd, false, 0xffffffff, &b, one, 1);
   assert_int_equal(wait_events(again, 50), 0);
   sync_write(fd, b, 1);
   assert_true(wait_events(again, TEST_WAIT_MS) & POLLIN);
   assert_int_equal(sync_read(fd, a), 1);
   close(pending);
   close(over);
   close(satisfied);
   close(again);
   finish(&s, fd);
}

/* The server stops while a guest is connected: the guest is told by everything it waits on
 * (its context turns fatal, a pending SYNC_WAIT hangs up), new work gets the protocol's
 * failure answers, and the connection stays until the guest leaves. */
static void test_stop_tells_the_guest(void **state)
{
   int stop_fd = eventfd(0, EFD_CLOEXEC);
   assert_true(stop_fd >= 0);
   struct server s;
   const struct pv_vtest_serve_params params = {.stop_fd = stop_fd};
   int fd = start_with(&s, &params);
   handshake(fd);
   uint32_t id = sync_create(fd, 0);
   const uint64_t one[1] = {1};
   int pending = sync_wait(fd, false, 0xffffffff, &id, one, 1);

   assert_int_equal(eventfd_write(stop_fd, 1), 0);
   assert_int_equal(wait_events(pending, TEST_WAIT_MS), POLLHUP);
   const uint32_t capset_query[2] = {PV_GPU_CAPSET_VENUS, 0};
   send_msg(fd, PV_VTEST_GET_CAPSET, capset_query, 2);
   uint32_t valid[1 + PV_GPU_CAPSET_MAX_SIZE / 4];
   assert_int_equal(read_reply(fd, PV_VTEST_GET_CAPSET, valid, 1), 1);
   assert_int_equal(valid[0], 0);
   int blob_fd;
   assert_int_equal(create_blob(fd, 2, 1, 4096, 0, &blob_fd), 0);
   close(blob_fd);
   assert_int_equal(sync_read(fd, id), 0); /* syncs still answer */
   assert_int_equal(fake_gpu.blobs, 0);
   finish(&s, fd);
   close(pending);
   close(stop_fd);
}

/* A fatal context keeps its connection: the guest would spin forever on a closed socket. */
static void test_fatal_context_keeps_answering(void **state)
{
   struct server s;
   int fd = start(&s);
   handshake(fd);
   fake_gpu.fatal_submits = true;
   uint32_t id = sync_create(fd, 0);
   const uint32_t submit[1 + 6 + 2 + 3] = {1, 1, 7, 2, 9, 1, 0, 0xdead, 0xbeef, id, 4, 0};
   send_msg(fd, 24, submit, 12);
   send_msg(fd, 24, submit, 12);
   assert_alive(fd);
   assert_int_equal(fake_gpu.submits, 2);
   assert_int_equal(sync_read(fd, id), 4);
   int blob_fd;
   assert_int_not_equal(create_blob(fd, 2, 1, 4096, 0, &blob_fd), 0);
   close(blob_fd);
   finish(&s, fd);
}

static void test_unknown_and_legacy_commands_are_skipped(void **state)
{
   struct server s;
   int fd = start(&s);
   handshake(fd);
   const uint32_t junk[3] = {1, 2, 3};
   send_msg(fd, 99, junk, 3);         /* unknown */
   send_msg(fd, 99, junk, 3);         /* again: logged once */
   send_msg(fd, 6, junk, 3);          /* legacy SUBMIT_CMD */
   send_msg(fd, 1, NULL, 0);          /* legacy GET_CAPS: no reply can be given */
   send_msg(fd, 0, NULL, 0);          /* id 0 */
   send_msg(fd, 0xffffffff, junk, 2); /* far out of range */
   /* A sane but large payload is read and skipped, and the buffer grows for it. */
   size_t words = 1u << 20;
   uint32_t *big = calloc(words, 4);
   assert_non_null(big);
   send_msg(fd, 200, big, (uint32_t)words);
   free(big);
   /* The first reply is the PING's: nothing was answered for the skipped commands. */
   assert_alive(fd);
   assert_int_equal(fake_gpu.submits, 0);
   finish(&s, fd);
}

static void test_bad_lengths_close(void **state)
{
   static const uint32_t headers[][2] = {
         {0x40000000, 24},          /* 4 GiB of SUBMIT_CMD2 */
         {(64u << 20) / 4 + 1, 99}, /* one dword over 64 MiB, even for an unknown id */
         {0xffffffff, 8},           /* CREATE_RENDERER counts bytes: 4 GiB */
   };
   for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
      struct server s;
      int fd = start(&s);
      if (headers[i][1] != 8)
         handshake(fd);
      send_raw(fd, headers[i], sizeof(headers[i]));
      assert_closed(fd);
      finish(&s, fd);
   }
}

static void test_short_payloads_close(void **state)
{
   static const uint32_t cases[][2] = {
         {18, 2}, /* RESOURCE_CREATE_BLOB needs 6 */
         {7, 1},  /* BUSY_WAIT needs 2 */
         {24, 0}, /* SUBMIT_CMD2 needs its batch count */
         {23, 4}, /* SYNC_WAIT: 2 + 3 per sync */
         {22, 2}, /* SYNC_WRITE needs 3 */
   };
   for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
      struct server s;
      int fd = start(&s);
      handshake(fd);
      const uint32_t words[4] = {1, 1, 0, 0};
      send_msg(fd, cases[i][0], words, cases[i][1]);
      assert_closed(fd);
      finish(&s, fd);
   }
}

static void test_batch_outside_payload_closes(void **state)
{
   static const uint32_t cases[][14] = {
         {2, 1, 7, 0, 7, 0, 0},              /* two batch records in 7 dwords */
         {1, 1, 7, 1000, 7, 0, 0},           /* 1000 command dwords at 7 */
         {1, 1, 7, 0, 7, 5, 0},              /* 5 syncs at 7 */
         {1, 1, 0xffffffff, 2, 7, 0, 0},     /* offset + size wraps in 32 bits */
         {1, 1, 7, 0, 0xfffffffe, 1, 0},     /* sync offset wraps */
         {1, 1, 7, 0, 7, 0x55555556, 0},     /* 3 * sync_count wraps */
         {2, 1, 13, 1, 14, 0, 0, 1, 13, 99}, /* batch 0 fine, batch 1 not: nothing runs */
   };
   static const uint32_t lengths[] = {7, 7, 7, 7, 7, 7, 14};
   for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
      struct server s;
      int fd = start(&s);
      handshake(fd);
      send_msg(fd, 24, cases[i], lengths[i]);
      assert_closed(fd);
      assert_int_equal(fake_gpu.submits, 0);
      finish(&s, fd);
   }
}

static void test_before_create_renderer_closes(void **state)
{
   struct server s;
   int fd = start(&s);
   send_msg(fd, 10, NULL, 0);
   assert_closed(fd);
   finish(&s, fd);
}

/* Commands that need a context, before CONTEXT_INIT (or after a refused one): logged, the
 * connection answers what it can. */
static void test_commands_before_context_init(void **state)
{
   struct server s;
   int fd = start(&s);
   create_renderer(fd);
   int blob_fd;
   assert_int_equal(create_blob(fd, 2, 1, 4096, 0, &blob_fd), 0);
   assert_true(mmap(NULL, 4096, PROT_READ, MAP_SHARED, blob_fd, 0) == MAP_FAILED);
   close(blob_fd);
   const uint32_t submit[9] = {1, 1, 7, 2, 9, 0, 0, 1, 2};
   send_msg(fd, 24, submit, 9);
   const uint32_t res = 1;
   send_msg(fd, 3, &res, 1);
   const uint32_t unserved = 6;
   send_msg(fd, 17, &unserved, 1);
   send_msg(fd, 24, submit, 9);
   assert_alive(fd);
   assert_int_equal(fake_gpu.contexts_created, 0);
   assert_int_equal(fake_gpu.blobs, 0);
   assert_int_equal(fake_gpu.submits, 0);
   assert_int_equal(fake_gpu.unref_count, 0);
   /* The guest may still init a capset that is served. */
   const uint32_t venus = 4;
   send_msg(fd, 17, &venus, 1);
   assert_int_not_equal(create_blob(fd, 2, 1, 4096, 0, &blob_fd), 0);
   close(blob_fd);
   assert_int_equal(fake_gpu.contexts_created, 1);
   finish(&s, fd);
}

static void test_second_context_init(void **state)
{
   struct server s;
   int fd = start(&s);
   handshake(fd);
   const uint32_t same = 4, other = 6;
   send_msg(fd, 17, &same, 1);  /* a no-op */
   send_msg(fd, 17, &other, 1); /* an error: logged, ignored */
   assert_alive(fd);
   assert_int_equal(fake_gpu.contexts_created, 1);
   int blob_fd;
   assert_int_not_equal(create_blob(fd, 2, 1, 4096, 0, &blob_fd), 0);
   close(blob_fd);
   finish(&s, fd);
}

/* The client leaves at every byte of CREATE_RENDERER, and of a SUBMIT_CMD2 after the
 * handshake: the serving thread must always return and destroy the context. */
static void test_disconnect_mid_message(void **state)
{
   uint8_t create[8 + sizeof(test_name)];
   const uint32_t create_header[2] = {sizeof(test_name), 8};
   memcpy(create, create_header, 8);
   memcpy(create + 8, test_name, sizeof(test_name));
   for (size_t cut = 1; cut < sizeof(create); cut++) {
      struct server s;
      int fd = start(&s);
      send_raw(fd, create, cut);
      finish(&s, fd);
   }
   const uint32_t submit[2 + 10] = {10, 24, 1, 1, 7, 3, 10, 0, 0, 1, 2, 3};
   for (size_t cut = 0; cut < sizeof(submit); cut++) {
      struct server s;
      int fd = start(&s);
      handshake(fd);
      send_raw(fd, submit, cut);
      finish(&s, fd);
      assert_int_equal(fake_gpu.contexts_destroyed, 1);
      assert_int_equal(fake_gpu.submits, 0);
   }
}

/* --stats reads the context's stats before and after release. */
static void test_stats_on_disconnect(void **state)
{
   struct server s;
   const struct pv_vtest_serve_params params = {.print_stats = true, .stop_fd = -1};
   int fd = start_with(&s, &params);
   handshake(fd);
   assert_alive(fd);
   finish(&s, fd);
   assert_int_equal(fake_gpu.stats_calls, 2);
   assert_int_equal(fake_gpu.contexts_released, 1);
}

/* --- real listening servers --- */

struct listening {
   char dir[32];
   char path[64];
   pid_t pid;
};

static void listen_path(struct listening *l)
{
   strcpy(l->dir, "/tmp/pv-test-vtest-XXXXXX");
   assert_non_null(mkdtemp(l->dir));
   snprintf(l->path, sizeof(l->path), "%s/sock", l->dir);
}

static pid_t serve_options_in_child(const struct pv_vtest_options *options)
{
   pid_t pid = fork();
   assert_true(pid >= 0);
   if (pid == 0)
      _exit(pv_vtest_serve(options));
   return pid;
}

static pid_t serve_in_child(const char *path, bool no_fork)
{
   const struct pv_vtest_options options = {.socket_path = path, .no_fork = no_fork};
   return serve_options_in_child(&options);
}

/* Connects, retrying while the server starts. */
static int connect_to(const char *path)
{
   struct sockaddr_un addr = {.sun_family = AF_UNIX};
   strcpy(addr.sun_path, path);
   for (int tries = 0; tries < TEST_WAIT_MS / 10; tries++) {
      int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      assert_true(fd >= 0);
      if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
         return fd;
      close(fd);
      usleep(10000);
   }
   fail_msg("no server on %s", path);
   return -1;
}

/* Waits for a child's exit status, failing the test if it takes too long. */
static int wait_exit(pid_t pid)
{
   int status;
   for (int tries = 0; tries < TEST_WAIT_MS / 10; tries++) {
      pid_t done = waitpid(pid, &status, WNOHANG);
      assert_true(done >= 0);
      if (done == pid)
         return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      usleep(10000);
   }
   kill(pid, SIGKILL);
   waitpid(pid, &status, 0);
   fail_msg("server %d did not exit", (int)pid);
   return -1;
}

/* A dead client's garbage, then a whole guest session. */
static void dead_then_live_client(const char *path)
{
   int dead = connect_to(path);
   const uint32_t partial[3] = {100, 24, 1};
   send_raw(dead, partial, sizeof(partial));
   close(dead);
   int fd = connect_to(path);
   handshake(fd);
   int blob_fd;
   assert_int_not_equal(create_blob(fd, 2, 1, 131268, 0, &blob_fd), 0);
   check_mappable(blob_fd, 131268);
   close(blob_fd);
   assert_alive(fd);
   close(fd);
}

static void test_server_survives_dead_client(void **state)
{
   struct listening l;
   listen_path(&l);
   /* A stale socket of an earlier run: bound, never listened on, left behind. */
   struct sockaddr_un addr = {.sun_family = AF_UNIX};
   strcpy(addr.sun_path, l.path);
   int stale = socket(AF_UNIX, SOCK_STREAM, 0);
   assert_int_equal(bind(stale, (struct sockaddr *)&addr, sizeof(addr)), 0);
   close(stale);

   pid_t pid = serve_in_child(l.path, false);
   dead_then_live_client(l.path);
   /* A client that sends a bad length is dropped; the server goes on. */
   int bad = connect_to(l.path);
   const uint32_t huge[2] = {0x40000000, 8};
   send_raw(bad, huge, sizeof(huge));
   assert_closed(bad);
   close(bad);
   dead_then_live_client(l.path);
   /* A second server refuses the live socket instead of stealing it. */
   assert_int_equal(wait_exit(serve_in_child(l.path, false)), 1);
   dead_then_live_client(l.path);

   kill(pid, SIGTERM);
   assert_int_equal(wait_exit(pid), 0);
   assert_int_equal(access(l.path, F_OK), -1); /* the socket is removed */
   rmdir(l.dir);
}

/* --no-fork: concurrent clients on threads sharing one renderer; SIGTERM ends the server even
 * with a client still connected. */
static void test_no_fork_server(void **state)
{
   struct listening l;
   listen_path(&l);
   pid_t pid = serve_in_child(l.path, true);
   int first = connect_to(l.path);
   int second = connect_to(l.path);
   handshake(first);
   handshake(second);
   assert_alive(first);
   dead_then_live_client(l.path);
   assert_alive(second);
   close(first);

   kill(pid, SIGTERM);
   assert_int_equal(wait_exit(pid), 0);
   assert_closed(second);
   close(second);
   assert_int_equal(access(l.path, F_OK), -1);
   rmdir(l.dir);
}

/* Whether a new connection is served (answers a PING) rather than closed at once. */
static bool connection_served(const char *path)
{
   int fd = connect_to(path);
   create_renderer(fd);
   send_msg(fd, 10, NULL, 0);
   uint32_t reply[2] = {1, 1};
   bool served = wait_readable(fd, TEST_WAIT_MS) && read(fd, reply, sizeof(reply)) == 8 &&
                 reply[0] == 0 && reply[1] == 10;
   close(fd);
   return served;
}

/* Past the connections limit a new client is closed at once; the one served goes on, and
 * once it leaves there is room again. */
static void test_connections_limit(void **state)
{
   struct listening l;
   listen_path(&l);
   const struct pv_vtest_options options = {
         .socket_path = l.path, .no_fork = true, .limits = {.connections = 1}};
   pid_t pid = serve_options_in_child(&options);
   int first = connect_to(l.path);
   create_renderer(first);
   assert_alive(first);
   int refused = connect_to(l.path);
   assert_closed(refused);
   close(refused);
   assert_alive(first);
   close(first);
   /* Its thread ends a moment after the client leaves. */
   bool served = false;
   for (int tries = 0; !served && tries < TEST_WAIT_MS / 10; tries++) {
      served = connection_served(l.path);
      if (!served)
         usleep(10000);
   }
   assert_true(served);
   kill(pid, SIGTERM);
   assert_int_equal(wait_exit(pid), 0);
   rmdir(l.dir);
}

/* A server keeping `ready` ready workers, its info lines in log_path. */
static pid_t serve_ready_in_child(const char *path, unsigned ready, const char *log_path)
{
   pid_t pid = fork();
   assert_true(pid >= 0);
   if (pid == 0) {
      int log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (log < 0 || dup2(log, STDERR_FILENO) < 0)
         _exit(99);
      pv_log_set_level(PV_LOG_INFO);
      const struct pv_vtest_options options = {.socket_path = path, .ready = ready};
      _exit(pv_vtest_serve(&options));
   }
   return pid;
}

/* The pids of the log's lines with prefix PID suffix, in order, into out[0..max); returns
 * how many there are. */
static int log_pids(const char *log_path, const char *prefix, const char *suffix, pid_t *out,
                    int max)
{
   static char text[1 << 16];
   FILE *f = fopen(log_path, "r");
   size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
   if (f)
      fclose(f);
   text[n] = '\0';
   int found = 0;
   for (const char *p = text; (p = strstr(p, prefix)); p++) {
      char *end;
      long pid = strtol(p + strlen(prefix), &end, 10);
      if (end == p + strlen(prefix) || strncmp(end, suffix, strlen(suffix)) != 0)
         continue;
      if (found < max)
         out[found] = (pid_t)pid;
      found++;
   }
   return found;
}

/* Waits until the log has at least count such lines. */
static void wait_log(const char *log_path, const char *prefix, const char *suffix, int count)
{
   for (int tries = 0; tries < TEST_WAIT_MS / 10; tries++) {
      if (log_pids(log_path, prefix, suffix, NULL, 0) >= count)
         return;
      usleep(10000);
   }
   fail_msg("%s has fewer than %d lines \"%sPID%s\"", log_path, count, prefix, suffix);
}

static const char ready_line[] = "ready worker ", ready_suffix[] = " is ready";
static const char handed_line[] = "client served by ready worker ";

/* The ready workers the server has not handed a client, but dead, into idle[0..max);
 * returns how many. */
static int idle_workers(const char *log_path, pid_t dead, pid_t *idle, int max)
{
   pid_t ready[32], handed[32];
   int r = log_pids(log_path, ready_line, ready_suffix, ready, 32);
   int h = log_pids(log_path, handed_line, "", handed, 32);
   int n = 0;
   for (int i = 0; i < r && i < 32; i++) {
      bool taken = ready[i] == dead;
      for (int j = 0; j < h && j < 32; j++)
         taken |= handed[j] == ready[i];
      if (!taken && n < max)
         idle[n++] = ready[i];
   }
   return n;
}

/* Waits (up to 10 s) until pid, a worker of the server, has exited and been reaped. */
static void wait_gone(pid_t pid)
{
   for (int i = 0; i < 1000 && kill(pid, 0) == 0; i++)
      usleep(10000);
   assert_int_equal(kill(pid, 0), -1);
}

/* --ready: every client, more of them in a row than the pool holds, is served by a worker that
 * was ready before it came; one that dies while it waits is replaced; SIGTERM ends the idle
 * ones and reaps them. */
static void test_ready_workers(void **state)
{
   struct listening l;
   listen_path(&l);
   char log[96];
   snprintf(log, sizeof(log), "%s/log", l.dir);
   /* Orphans become ours: an idle worker the server left unreaped would linger as our zombie
    * instead of vanishing with it. */
   assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
   pid_t server = serve_ready_in_child(l.path, 2, log);
   wait_log(log, ready_line, ready_suffix, 2);
   for (int i = 0; i < 3; i++) {
      int fd = connect_to(l.path);
      handshake(fd);
      assert_alive(fd);
      close(fd);
      wait_log(log, handed_line, "", i + 1);
      /* A worker takes every connection of its guest process while it serves one (this test
       * is one process): the next client must come after this one's worker has gone. */
      pid_t handed[4];
      assert_int_equal(log_pids(log, handed_line, "", handed, 4), i + 1);
      wait_gone(handed[i]);
      /* The pool refills while a client is served. */
      wait_log(log, ready_line, ready_suffix, 2 + i + 1);
   }

   pid_t victim;
   assert_int_equal(idle_workers(log, 0, &victim, 1), 1);
   assert_int_equal(kill(victim, SIGKILL), 0);
   wait_log(log, ready_line, " was killed by signal 9 while waiting for a client", 1);
   wait_log(log, ready_line, ready_suffix, 6);
   int fd = connect_to(l.path);
   handshake(fd);
   close(fd);
   wait_log(log, handed_line, "", 4);
   wait_log(log, ready_line, ready_suffix, 7);
   assert_int_equal(log_pids(log, "client served by new worker ", "", NULL, 0), 0);

   pid_t idle[4];
   assert_int_equal(idle_workers(log, victim, idle, 4), 2);
   kill(server, SIGTERM);
   assert_int_equal(wait_exit(server), 0);
   for (int i = 0; i < 2; i++)
      assert_int_equal(kill(idle[i], 0), -1);
   assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
   while (waitpid(-1, NULL, WNOHANG) > 0)
      ; /* workers of clients that were still tearing down */
   unlink(log);
   rmdir(l.dir);
}

/* A guest never waits for the pool: with no worker ready (their driver stuck loading), a
 * client gets a worker forked for it, and SIGTERM still ends the stuck ones. */
static void test_no_ready_worker_falls_back(void **state)
{
   struct listening l;
   listen_path(&l);
   char log[96];
   snprintf(log, sizeof(log), "%s/log", l.dir);
   fake_gpu_reset();
   fake_gpu.block_prepare = true; /* in the workers forked from here on */
   pid_t server = serve_ready_in_child(l.path, 2, log);
   fake_gpu.block_prepare = false;
   wait_log(log, ready_line, " started", 2);
   int fd = connect_to(l.path);
   handshake(fd);
   assert_alive(fd);
   close(fd);
   wait_log(log, "client served by new worker ", " (no ready worker)", 1);
   assert_int_equal(log_pids(log, handed_line, "", NULL, 0), 0);
   kill(server, SIGTERM);
   assert_int_equal(wait_exit(server), 0);
   unlink(log);
   rmdir(l.dir);
}

/* A path that is not a socket is never replaced. */
static void test_server_refuses_a_file(void **state)
{
   struct listening l;
   listen_path(&l);
   int file = open(l.path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
   assert_true(file >= 0);
   close(file);
   assert_int_equal(wait_exit(serve_in_child(l.path, false)), 1);
   assert_int_equal(access(l.path, F_OK), 0);
   unlink(l.path);
   rmdir(l.dir);
}

int main(void)
{
   signal(SIGPIPE, SIG_IGN);
   const struct CMUnitTest tests[] = {
         cmocka_unit_test(test_mesa_handshake),
         cmocka_unit_test(test_burst_after_odd_length_name),
         cmocka_unit_test(test_params_versions_capsets),
         cmocka_unit_test(test_blobs),
         cmocka_unit_test(test_submit_batches_and_syncs),
         cmocka_unit_test(test_syncs),
         cmocka_unit_test(test_syncs_without_context),
         cmocka_unit_test(test_sync_wait_hangs_up_at_teardown),
         cmocka_unit_test(test_sync_and_wait_limits),
         cmocka_unit_test(test_connections_limit),
         cmocka_unit_test(test_stop_tells_the_guest),
         cmocka_unit_test(test_fatal_context_keeps_answering),
         cmocka_unit_test(test_unknown_and_legacy_commands_are_skipped),
         cmocka_unit_test(test_bad_lengths_close),
         cmocka_unit_test(test_short_payloads_close),
         cmocka_unit_test(test_batch_outside_payload_closes),
         cmocka_unit_test(test_before_create_renderer_closes),
         cmocka_unit_test(test_commands_before_context_init),
         cmocka_unit_test(test_second_context_init),
         cmocka_unit_test(test_disconnect_mid_message),
         cmocka_unit_test(test_stats_on_disconnect),
         cmocka_unit_test(test_server_survives_dead_client),
         cmocka_unit_test(test_no_fork_server),
         cmocka_unit_test(test_server_refuses_a_file),
         cmocka_unit_test(test_ready_workers),
         cmocka_unit_test(test_no_ready_worker_falls_back),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
