/* Unit tests of libvirglrenderer.so.1 (src/virgl): the virglrenderer C ABI driven in QEMU 10's
 * order of calls, against the real renderer on lavapipe, and its pool of ready workers. No
 * guest: a worker prepares a host instance, and no Venus stream asks for one. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "virgl/pv_virgl_abi.h"

/* The library's exports, with the signatures of src/virgl/pv_virgl*.c. */
int virgl_renderer_init(void *cookie, int flags, struct virgl_renderer_callbacks *cb);
void virgl_renderer_reset(void);
void virgl_renderer_cleanup(void *cookie);
void virgl_renderer_get_cap_set(uint32_t set, uint32_t *max_ver, uint32_t *max_size);
void virgl_renderer_fill_caps(uint32_t set, uint32_t version, void *caps);
int virgl_renderer_context_create_with_flags(uint32_t ctx_id, uint32_t ctx_flags, uint32_t nlen,
                                             const char *name);
void virgl_renderer_context_destroy(uint32_t handle);
int virgl_renderer_submit_cmd(void *buffer, int ctx_id, int ndw);
int virgl_renderer_context_create_fence(uint32_t ctx_id, uint32_t flags, uint32_t ring_idx,
                                        uint64_t fence_id);
int virgl_renderer_create_fence(int client_fence_id, uint32_t ctx_id);
void virgl_renderer_poll(void);
int virgl_renderer_get_poll_fd(void);
void virgl_renderer_context_poll(uint32_t ctx_id);
int virgl_renderer_context_get_poll_fd(uint32_t ctx_id);
int virgl_renderer_resource_create(struct virgl_renderer_resource_create_args *args,
                                   struct iovec *iov, uint32_t num_iovs);
int virgl_renderer_resource_create_blob(
      const struct virgl_renderer_resource_create_blob_args *args);
void virgl_renderer_resource_unref(uint32_t res_handle);
int virgl_renderer_resource_map(uint32_t res_handle, void **map, uint64_t *out_size);
int virgl_renderer_resource_unmap(uint32_t res_handle);
int virgl_renderer_resource_get_map_info(uint32_t res_handle, uint32_t *map_info);
int virgl_renderer_resource_export_blob(uint32_t res_id, uint32_t *fd_type, int *fd);
int virgl_renderer_resource_get_info(int res_handle, struct virgl_renderer_resource_info *info);
int virgl_renderer_resource_get_info_ext(int res_handle,
                                         struct virgl_renderer_resource_info_ext *ext);
int virgl_renderer_resource_attach_iov(int res_handle, struct iovec *iov, int num_iovs);
void virgl_renderer_resource_detach_iov(int res_handle, struct iovec **iov, int *num_iovs);
int virgl_renderer_transfer_write_iov(uint32_t handle, uint32_t ctx_id, int level, uint32_t stride,
                                      uint32_t layer_stride, struct virgl_box *box, uint64_t offset,
                                      struct iovec *iovec, unsigned int iovec_cnt);
void virgl_renderer_ctx_attach_resource(int ctx_id, int res_handle);
void virgl_renderer_ctx_detach_resource(int ctx_id, int res_handle);
void *virgl_renderer_get_cursor_data(uint32_t resource_id, uint32_t *width, uint32_t *height);

/* QEMU's values. */
#define FLAG_VENUS         (1 << 6)
#define FLAG_RENDER_SERVER (1 << 9)
#define CAPSET_VIRGL       1
#define CAPSET_VIRGL2      2
#define CAPSET_VENUS       4
#define BLOB_MEM_HOST3D    2
#define BLOB_FLAG_MAPPABLE 1
#define FD_TYPE_SHM        3
#define MAP_CACHE_CACHED   1
#define BLOB_SIZE          131268u

static const char ctx_name[] = "test_virgl";

/* What the callbacks saw. */
static int cookie;
static struct {
   int fence_calls;
   uint32_t fence;
   int context_fence_calls;
   uint32_t context_fence_ctx;
   uint32_t context_fence_ring;
   uint64_t context_fence_id;
   bool bad_cookie;
} seen;

static void write_fence(void *c, uint32_t fence)
{
   if (c != &cookie)
      seen.bad_cookie = true;
   seen.fence_calls++;
   seen.fence = fence;
}

static void write_context_fence(void *c, uint32_t ctx_id, uint32_t ring_idx, uint64_t fence_id)
{
   if (c != &cookie)
      seen.bad_cookie = true;
   seen.context_fence_calls++;
   seen.context_fence_ctx = ctx_id;
   seen.context_fence_ring = ring_idx;
   seen.context_fence_id = fence_id;
}

/* The library keeps the pointer: it must outlive the test. */
static struct virgl_renderer_callbacks callbacks = {
      .version = 3,
      .write_fence = write_fence,
      .write_context_fence = write_context_fence,
};

static int setup(void **state)
{
   memset(&seen, 0, sizeof(seen));
   /* QEMU asks for the capsets before init. */
   uint32_t max_ver = 99, max_size = 99;
   virgl_renderer_get_cap_set(CAPSET_VIRGL, &max_ver, &max_size);
   assert_int_equal(max_size, 0);
   virgl_renderer_get_cap_set(CAPSET_VIRGL2, &max_ver, &max_size);
   assert_int_equal(max_size, 0);
   virgl_renderer_get_cap_set(CAPSET_VENUS, &max_ver, &max_size);
   assert_int_equal(max_ver, 0);
   assert_int_equal(max_size, 160);
   assert_int_equal(virgl_renderer_init(&cookie, FLAG_VENUS | FLAG_RENDER_SERVER, &callbacks), 0);
   return 0;
}

static int teardown(void **state)
{
   virgl_renderer_cleanup(&cookie);
   return 0;
}

static int create_context(uint32_t ctx_id)
{
   return virgl_renderer_context_create_with_flags(ctx_id, CAPSET_VENUS, sizeof(ctx_name) - 1,
                                                   ctx_name);
}

static int create_blob(uint32_t res_id, uint32_t ctx_id, uint32_t flags)
{
   const struct virgl_renderer_resource_create_blob_args args = {
         .res_handle = res_id,
         .ctx_id = ctx_id,
         .blob_mem = BLOB_MEM_HOST3D,
         .blob_flags = flags,
         .blob_id = 0,
         .size = BLOB_SIZE,
   };
   return virgl_renderer_resource_create_blob(&args);
}

static bool fd_readable(int fd)
{
   struct pollfd p = {.fd = fd, .events = POLLIN};
   return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* --- 1. QEMU's whole sequence for one Venus context and one shared-memory blob --- */

static void test_happy_path(void **state)
{
   assert_int_equal(virgl_renderer_init(&cookie, FLAG_VENUS, &callbacks), -EBUSY);

   uint8_t caps[160];
   memset(caps, 0xee, sizeof(caps));
   virgl_renderer_fill_caps(CAPSET_VENUS, 0, caps);
   uint32_t wire_format_version;
   memcpy(&wire_format_version, caps, sizeof(wire_format_version));
   assert_int_equal(wire_format_version, 1);

   assert_int_equal(create_context(1), 0);
   assert_int_equal(create_blob(1, 1, BLOB_FLAG_MAPPABLE), 0);
   virgl_renderer_ctx_attach_resource(1, 1);

   struct virgl_renderer_resource_info info;
   memset(&info, 0xee, sizeof(info));
   assert_int_equal(virgl_renderer_resource_get_info(1, &info), 0);
   assert_int_equal(info.handle, 1);
   assert_int_equal(info.fd, -1);

   void *map = NULL;
   uint64_t size = 0;
   assert_int_equal(virgl_renderer_resource_map(1, &map, &size), 0);
   assert_non_null(map);
   assert_int_equal(size, BLOB_SIZE);
   uint8_t *bytes = map;
   for (uint32_t i = 0; i < BLOB_SIZE; i++)
      assert_int_equal(bytes[i], 0); /* zero-filled */
   for (uint32_t i = 0; i < BLOB_SIZE; i++)
      bytes[i] = (uint8_t)(i * 7 + 3);

   uint32_t map_info = 0;
   assert_int_equal(virgl_renderer_resource_get_map_info(1, &map_info), 0);
   assert_int_equal(map_info, MAP_CACHE_CACHED);

   uint32_t fd_type = 0;
   int fd = -1;
   assert_int_equal(virgl_renderer_resource_export_blob(1, &fd_type, &fd), 0);
   assert_int_equal(fd_type, FD_TYPE_SHM);
   assert_true(fd >= 0);
   struct stat st;
   assert_int_equal(fstat(fd, &st), 0);
   assert_true((uint64_t)st.st_size >= BLOB_SIZE);
   uint8_t *other = mmap(NULL, BLOB_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
   assert_true(other != MAP_FAILED);
   /* Zero-copy: the exported fd is the mapped memory, both ways. */
   assert_memory_equal(other, bytes, BLOB_SIZE);
   other[BLOB_SIZE - 1] ^= 0xff;
   assert_int_equal(bytes[BLOB_SIZE - 1], (uint8_t)((BLOB_SIZE - 1) * 7 + 3) ^ 0xff);
   munmap(other, BLOB_SIZE);
   close(fd);

   assert_int_equal(virgl_renderer_resource_unmap(1), 0);
   virgl_renderer_ctx_detach_resource(1, 1);
   virgl_renderer_resource_unref(1);
   assert_int_not_equal(virgl_renderer_resource_get_info(1, &info), 0);
   virgl_renderer_context_destroy(1);
   assert_int_equal(virgl_renderer_context_get_poll_fd(1), -1);

   /* Reset forgets everything: ids may be used again. */
   assert_int_equal(create_context(2), 0);
   assert_int_equal(create_blob(2, 2, BLOB_FLAG_MAPPABLE), 0);
   virgl_renderer_reset();
   assert_int_not_equal(virgl_renderer_resource_get_info(2, &info), 0);
   assert_int_equal(virgl_renderer_context_get_poll_fd(2), -1);
   assert_int_equal(create_context(2), 0);
   assert_int_equal(create_blob(2, 2, BLOB_FLAG_MAPPABLE), 0);

   /* Cleanup, then a context is refused until init again; teardown's second cleanup is
    * harmless. */
   virgl_renderer_cleanup(&cookie);
   assert_int_not_equal(create_context(3), 0);
   assert_int_equal(virgl_renderer_init(&cookie, FLAG_VENUS, &callbacks), 0);
   assert_int_equal(create_context(3), 0);
   assert_false(seen.bad_cookie);
}

/* --- 2. Bad input from the VMM side --- */

static void test_bad_input(void **state)
{
   struct virgl_renderer_resource_info info;
   void *map = NULL;
   uint64_t size = 0;
   uint32_t u32 = 0;
   int fd = -1;

   /* Ids never created. */
   assert_int_not_equal(virgl_renderer_resource_map(42, &map, &size), 0);
   assert_int_not_equal(virgl_renderer_resource_unmap(42), 0);
   assert_int_not_equal(virgl_renderer_resource_get_info(42, &info), 0);
   assert_int_not_equal(virgl_renderer_resource_get_map_info(42, &u32), 0);
   assert_int_not_equal(virgl_renderer_resource_export_blob(42, &u32, &fd), 0);
   assert_int_not_equal(virgl_renderer_resource_attach_iov(42, NULL, 0), 0);
   struct iovec *iov = (struct iovec *)&info;
   int count = 5;
   virgl_renderer_resource_detach_iov(42, &iov, &count);
   assert_null(iov);
   assert_int_equal(count, 0);
   virgl_renderer_resource_unref(42);
   virgl_renderer_ctx_attach_resource(42, 42);
   virgl_renderer_ctx_detach_resource(42, 42);
   virgl_renderer_context_destroy(42);
   virgl_renderer_context_poll(42);
   assert_null(virgl_renderer_get_cursor_data(42, &u32, &u32));
   uint32_t cmd[4] = {0};
   assert_int_not_equal(virgl_renderer_submit_cmd(cmd, 42, 4), 0);
   assert_int_not_equal(virgl_renderer_context_create_fence(42, 0, 0, 1), 0);
   assert_int_equal(virgl_renderer_context_get_poll_fd(42), -1);

   /* Contexts: GL capsets, id 0, an id in use. */
   assert_int_not_equal(
         virgl_renderer_context_create_with_flags(1, CAPSET_VIRGL, sizeof(ctx_name) - 1, ctx_name),
         0);
   assert_int_not_equal(
         virgl_renderer_context_create_with_flags(1, CAPSET_VIRGL2, sizeof(ctx_name) - 1, ctx_name),
         0);
   assert_int_not_equal(create_context(0), 0);
   assert_int_equal(create_context(1), 0);
   assert_int_not_equal(create_context(1), 0);
   /* A misaligned or negative submit on a real context. */
   assert_int_not_equal(virgl_renderer_submit_cmd((uint8_t *)cmd + 1, 1, 1), 0);
   assert_int_not_equal(virgl_renderer_submit_cmd(cmd, 1, -1), 0);
   assert_int_not_equal(virgl_renderer_submit_cmd(NULL, 1, 4), 0);

   /* Blobs: unknown context, an id in use, id 0. */
   assert_int_not_equal(create_blob(1, 42, BLOB_FLAG_MAPPABLE), 0);
   assert_int_not_equal(create_blob(0, 1, BLOB_FLAG_MAPPABLE), 0);
   assert_int_equal(create_blob(1, 1, BLOB_FLAG_MAPPABLE), 0);
   assert_int_not_equal(create_blob(1, 1, BLOB_FLAG_MAPPABLE), 0);
   struct virgl_renderer_resource_create_args args2d = {.handle = 1,
                                                        .target = 2,
                                                        .format = 1,
                                                        .bind = 2,
                                                        .width = 8,
                                                        .height = 8,
                                                        .depth = 1,
                                                        .array_size = 1};
   assert_int_not_equal(virgl_renderer_resource_create(&args2d, NULL, 0), 0);
   /* The first blob survived both attempts. */
   assert_int_equal(virgl_renderer_resource_map(1, &map, &size), 0);
   assert_int_equal(size, BLOB_SIZE);
   /* Map twice fails; the first mapping stays usable. */
   void *map2 = NULL;
   assert_int_not_equal(virgl_renderer_resource_map(1, &map2, &size), 0);
   ((uint8_t *)map)[0] = 1;
   /* A blob is not a 2D resource. */
   assert_int_not_equal(virgl_renderer_resource_attach_iov(1, (struct iovec *)cmd, 1), 0);
   assert_null(virgl_renderer_get_cursor_data(1, &u32, &u32));
   struct virgl_box box = {0, 0, 0, 1, 1, 1};
   assert_int_not_equal(virgl_renderer_transfer_write_iov(1, 1, 0, 0, 0, &box, 0, NULL, 0), 0);
   assert_int_equal(virgl_renderer_resource_unmap(1), 0);
   assert_int_not_equal(virgl_renderer_resource_unmap(1), 0);

   /* Guest-memory blobs cannot reach a worker process. */
   struct virgl_renderer_resource_create_blob_args guest = {
         .res_handle = 3,
         .ctx_id = 1,
         .blob_mem = 1,
         .blob_flags = BLOB_FLAG_MAPPABLE,
         .size = sizeof(info),
         .iovecs = &(struct iovec){&info, sizeof(info)},
         .num_iovs = 1};
   assert_int_not_equal(virgl_renderer_resource_create_blob(&guest), 0);
   guest.blob_mem = 3;
   assert_int_not_equal(virgl_renderer_resource_create_blob(&guest), 0);
   assert_int_not_equal(virgl_renderer_resource_get_info(3, &info), 0);

   /* An unmappable blob: no map, but it still exports. */
   assert_int_equal(create_blob(2, 1, 0), 0);
   assert_int_not_equal(virgl_renderer_resource_map(2, &map2, &size), 0);
   uint32_t fd_type = 0;
   assert_int_equal(virgl_renderer_resource_export_blob(2, &fd_type, &fd), 0);
   assert_true(fd >= 0);
   close(fd);

   /* Double unref: the second is harmless, and the id is free again. */
   virgl_renderer_resource_unref(2);
   virgl_renderer_resource_unref(2);
   assert_int_not_equal(virgl_renderer_resource_get_info(2, &info), 0);
   assert_int_equal(create_blob(2, 1, BLOB_FLAG_MAPPABLE), 0);

   /* A resource outlives the context that created it (it is the renderer's). */
   assert_int_equal(virgl_renderer_resource_map(2, &map, &size), 0);
   virgl_renderer_context_destroy(1);
   virgl_renderer_context_destroy(1);
   assert_int_equal(virgl_renderer_resource_get_info(2, &info), 0);
   ((uint8_t *)map)[BLOB_SIZE - 1] = 1;
   virgl_renderer_resource_unref(2);
   virgl_renderer_resource_unref(1);
}

/* --- 3. Fences --- */

/* Fences retire in the context's worker process: wait for its poll fd. */
static bool wait_readable(int fd)
{
   struct pollfd p = {.fd = fd, .events = POLLIN};
   return poll(&p, 1, 10000) == 1 && (p.revents & (POLLIN | POLLHUP));
}

static void test_fences(void **state)
{
   assert_int_equal(create_context(1), 0);
   int fd = virgl_renderer_context_get_poll_fd(1);
   assert_true(fd >= 0);
   assert_false(fd_readable(fd));

   /* Ring 0 (the CPU timeline) retires as soon as the worker sees it; the next poll
    * delivers it. */
   assert_int_equal(virgl_renderer_context_create_fence(1, 0, 0, 7), 0);
   assert_true(wait_readable(fd));
   assert_int_equal(seen.context_fence_calls, 0);
   virgl_renderer_poll();
   assert_int_equal(seen.context_fence_calls, 1);
   assert_int_equal(seen.context_fence_ctx, 1);
   assert_int_equal(seen.context_fence_ring, 0);
   assert_int_equal(seen.context_fence_id, 7);
   assert_false(fd_readable(fd));
   virgl_renderer_poll();
   assert_int_equal(seen.context_fence_calls, 1);
   assert_int_equal(seen.fence_calls, 0);

   /* Two fences of one ring, then a global fence behind them on the same context: once the
    * global one retires, the worker has run both, and a poll delivers the newest (merged
    * with the older one unless a poll came between them). */
   assert_int_equal(virgl_renderer_context_create_fence(1, 0, 0, 8), 0);
   assert_int_equal(virgl_renderer_context_create_fence(1, 0, 0, 9), 0);
   assert_int_equal(virgl_renderer_create_fence(4, 1), 0);
   int global_fd = virgl_renderer_get_poll_fd();
   assert_true(global_fd >= 0);
   for (int i = 0; i < 1000 && seen.fence_calls == 0; i++) {
      assert_true(wait_readable(global_fd));
      virgl_renderer_context_poll(1);
      virgl_renderer_poll();
   }
   assert_int_equal(seen.fence_calls, 1);
   assert_int_equal(seen.fence, 4);
   virgl_renderer_poll();
   assert_int_equal(seen.context_fence_id, 9);
   assert_in_range(seen.context_fence_calls, 2, 3);
   assert_false(fd_readable(fd));
   seen.context_fence_calls = 2;

   /* A global fence of no context waits for nothing. */
   assert_int_equal(virgl_renderer_create_fence(5, 0), 0);
   virgl_renderer_poll();
   assert_int_equal(seen.fence_calls, 2);
   assert_int_equal(seen.fence, 5);
   virgl_renderer_poll();
   assert_int_equal(seen.fence_calls, 2);
   assert_int_equal(seen.context_fence_calls, 2);

   /* Rings past the last are refused; a ring no queue is bound to is the worker's to log,
    * and its fence never retires (a fence behind it on ring 0 still does). */
   assert_int_not_equal(virgl_renderer_context_create_fence(1, 0, 64, 10), 0);
   assert_int_not_equal(virgl_renderer_context_create_fence(1, 0, UINT32_MAX, 10), 0);
   assert_int_equal(virgl_renderer_context_create_fence(1, 0, 3, 10), 0);
   assert_int_equal(virgl_renderer_context_create_fence(1, 0, 0, 11), 0);
   assert_true(wait_readable(fd));
   virgl_renderer_poll();
   assert_int_equal(seen.context_fence_calls, 3);
   assert_int_equal(seen.context_fence_ring, 0);
   assert_int_equal(seen.context_fence_id, 11);

   /* A context destroyed with a fence waiting for the poll: never delivered. */
   assert_int_equal(create_context(2), 0);
   assert_int_equal(virgl_renderer_context_create_fence(2, 0, 0, 12), 0);
   assert_true(wait_readable(virgl_renderer_context_get_poll_fd(2)));
   virgl_renderer_context_destroy(2);
   virgl_renderer_poll();
   assert_int_equal(seen.context_fence_calls, 3);
   assert_int_equal(seen.context_fence_ctx, 1);
   /* The other context is unaffected. */
   assert_int_equal(virgl_renderer_context_create_fence(1, 0, 0, 13), 0);
   assert_true(wait_readable(fd));
   virgl_renderer_poll();
   assert_int_equal(seen.context_fence_calls, 4);
   assert_int_equal(seen.context_fence_ctx, 1);
   assert_int_equal(seen.context_fence_id, 13);

   /* Reset drops a pending fence too. */
   assert_int_equal(virgl_renderer_context_create_fence(1, 0, 0, 14), 0);
   assert_true(wait_readable(fd));
   virgl_renderer_reset();
   virgl_renderer_poll();
   assert_int_equal(seen.context_fence_calls, 4);
   assert_false(seen.bad_cookie);
}

/* --- 4. Isolation: a worker process per context --- */

/* Children of ours whose process name starts with prefix, into out[0..max); returns how
 * many there are. */
static int children_named(const char *prefix, pid_t *out, int max)
{
   char path[300], comm[64];
   DIR *proc = opendir("/proc");
   assert_non_null(proc);
   int found = 0;
   for (struct dirent *e; (e = readdir(proc));) {
      int pid = atoi(e->d_name), ppid = 0;
      snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
      FILE *f = pid > 0 ? fopen(path, "r") : NULL;
      if (!f)
         continue;
      bool child = fscanf(f, "%*d (%*[^)]) %*c %d", &ppid) == 1 && ppid == getpid();
      fclose(f);
      snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
      f = child ? fopen(path, "r") : NULL;
      size_t n = f ? fread(comm, 1, sizeof(comm) - 1, f) : 0;
      if (f)
         fclose(f);
      comm[n] = '\0';
      if (child && strncmp(comm, prefix, strlen(prefix)) == 0) {
         if (found < max)
            out[found] = pid;
         found++;
      }
   }
   closedir(proc);
   return found;
}

/* A child of ours whose process name names ctx_id: its worker, once that has read which
 * context it serves (after getting ready). */
static pid_t find_worker(uint32_t ctx_id)
{
   char want[32];
   snprintf(want, sizeof(want), "ctx %u ", ctx_id);
   pid_t pid = -1;
   return children_named(want, &pid, 1) ? pid : -1;
}

/* The worker serving ctx_id, waited for up to 10 s. */
static pid_t worker_of(uint32_t ctx_id)
{
   pid_t pid = -1;
   for (int i = 0; i < 1000 && pid < 0; i++) {
      if (i)
         usleep(10000);
      pid = find_worker(ctx_id);
   }
   return pid;
}

/* Polls until write_fence has reported fence (the worker has run everything before it). */
static void wait_global_fence(uint32_t fence)
{
   for (int i = 0; i < 1000 && seen.fence != fence; i++) {
      assert_true(wait_readable(virgl_renderer_get_poll_fd()));
      virgl_renderer_poll();
   }
   assert_int_equal(seen.fence, fence);
}

static void test_isolation(void **state)
{
   assert_int_equal(create_context(1), 0);
   assert_int_equal(create_context(2), 0);
   pid_t pid1 = worker_of(1), pid2 = worker_of(2);
   assert_true(pid1 > 0);
   assert_true(pid2 > 0);
   assert_int_not_equal(pid1, pid2);
   assert_int_not_equal(pid1, getpid());

   /* A blob of context 1, mapped here and written. */
   assert_int_equal(create_blob(1, 1, BLOB_FLAG_MAPPABLE), 0);
   virgl_renderer_ctx_attach_resource(1, 1);
   void *map = NULL;
   uint64_t size = 0;
   assert_int_equal(virgl_renderer_resource_map(1, &map, &size), 0);
   memset(map, 0x5a, BLOB_SIZE);

   /* A command stream that makes context 2 fatal: later submits fail, context 1 does not
    * notice. */
   uint32_t bogus[2] = {0x7fffffff, 0};
   assert_int_equal(virgl_renderer_submit_cmd(bogus, 2, 2), 0);
   assert_int_equal(virgl_renderer_create_fence(30, 2), 0);
   wait_global_fence(30);
   assert_int_not_equal(virgl_renderer_submit_cmd(bogus, 2, 2), 0);
   assert_int_equal(virgl_renderer_submit_cmd(NULL, 1, 0), 0);

   /* Context 1's worker dies (as a crash would end it) with a fence pending on a ring that
    * would never retire it. The library notices, retires it so no guest waits for ever,
    * and refuses the context's work from then on. */
   assert_int_equal(virgl_renderer_context_create_fence(1, 0, 5, 40), 0);
   int fd1 = virgl_renderer_context_get_poll_fd(1);
   assert_int_equal(kill(pid1, SIGKILL), 0);
   assert_true(wait_readable(fd1));
   int before = seen.context_fence_calls;
   virgl_renderer_poll();
   assert_int_equal(seen.context_fence_calls, before + 1);
   assert_int_equal(seen.context_fence_ctx, 1);
   assert_int_equal(seen.context_fence_ring, 5);
   assert_int_equal(seen.context_fence_id, 40);
   assert_int_not_equal(virgl_renderer_submit_cmd(NULL, 1, 0), 0);
   assert_int_not_equal(create_blob(2, 1, BLOB_FLAG_MAPPABLE), 0);
   /* Its fences still retire (at once), and its memory is still the VMM's to read. */
   assert_int_equal(virgl_renderer_context_create_fence(1, 0, 5, 41), 0);
   virgl_renderer_poll();
   assert_int_equal(seen.context_fence_id, 41);
   for (uint32_t i = 0; i < BLOB_SIZE; i++)
      assert_int_equal(((uint8_t *)map)[i], 0x5a);

   /* Context 2's worker is still alive and answering (fatal, but its fences retire). */
   assert_int_equal(virgl_renderer_context_create_fence(2, 0, 0, 50), 0);
   assert_true(wait_readable(virgl_renderer_context_get_poll_fd(2)));
   virgl_renderer_poll();
   assert_int_equal(seen.context_fence_ctx, 2);
   assert_int_equal(seen.context_fence_id, 50);

   /* The dead worker was reaped; a destroyed context's worker exits and is reaped too. */
   virgl_renderer_context_destroy(1);
   assert_int_equal(kill(pid1, 0), -1);
   virgl_renderer_context_destroy(2);
   for (int i = 0; i < 500 && kill(pid2, 0) == 0; i++) {
      usleep(10000);
      virgl_renderer_poll();
   }
   assert_int_equal(kill(pid2, 0), -1);
   assert_int_equal(virgl_renderer_resource_unmap(1), 0);
   virgl_renderer_resource_unref(1);
   assert_false(seen.bad_cookie);
}

/* --- 5. 2D resources (the console and cursor) --- */

static void test_2d(void **state)
{
   enum { W = 64, H = 32 };
   struct virgl_renderer_resource_create_args args = {
         .handle = 10,
         .target = 2,
         .format = 1,
         .bind = 2,
         .width = W,
         .height = H,
         .depth = 1,
         .array_size = 1,
   };
   assert_int_equal(virgl_renderer_resource_create(&args, NULL, 0), 0);
   assert_int_not_equal(virgl_renderer_resource_create(&args, NULL, 0), 0);

   uint8_t *pattern = malloc(W * H * 4);
   assert_non_null(pattern);
   for (size_t i = 0; i < W * H * 4; i++)
      pattern[i] = (uint8_t)(i * 13 + 1);
   /* Two iovecs, split mid-row, as guest pages are. */
   struct iovec iov[2] = {{pattern, 1000}, {pattern + 1000, W * H * 4 - 1000}};

   struct virgl_box box = {0, 0, 0, W, H, 1};
   /* No backing yet. */
   assert_int_not_equal(virgl_renderer_transfer_write_iov(10, 0, 0, 0, 0, &box, 0, NULL, 0), 0);
   assert_int_equal(virgl_renderer_resource_attach_iov(10, iov, 2), 0);
   assert_int_not_equal(virgl_renderer_resource_attach_iov(10, iov, 2), 0);

   uint32_t w = 0, h = 0;
   uint8_t *pixels = virgl_renderer_get_cursor_data(10, &w, &h);
   assert_non_null(pixels);
   assert_int_equal(pixels[0], 0);
   free(pixels);

   assert_int_equal(virgl_renderer_transfer_write_iov(10, 0, 0, 0, 0, &box, 0, NULL, 0), 0);
   pixels = virgl_renderer_get_cursor_data(10, &w, &h);
   assert_non_null(pixels);
   assert_int_equal(w, W);
   assert_int_equal(h, H);
   assert_memory_equal(pixels, pattern, W * H * 4);
   free(pixels);

   /* A sub-box at an offset copies only its rectangle. */
   struct virgl_box sub = {8, 4, 0, 4, 2, 1};
   memset(pattern, 0, W * H * 4);
   assert_int_equal(
         virgl_renderer_transfer_write_iov(10, 0, 0, 0, 0, &sub, (4 * W + 8) * 4, NULL, 0), 0);
   pixels = virgl_renderer_get_cursor_data(10, &w, &h);
   assert_non_null(pixels);
   for (uint32_t y = 0; y < H; y++) {
      for (uint32_t x = 0; x < W; x++) {
         size_t at = ((size_t)y * W + x) * 4;
         bool inside = x >= 8 && x < 12 && y >= 4 && y < 6;
         assert_int_equal(pixels[at], inside ? 0 : (uint8_t)(at * 13 + 1));
      }
   }
   free(pixels);

   /* Boxes outside the resource. */
   struct virgl_box bad[] = {
         {0, 0, 0, W + 1, H, 1}, {0, 0, 0, W, H + 1, 1},      {1, 0, 0, W, 1, 1},
         {0, H, 0, 1, 1, 1},     {UINT32_MAX, 0, 0, 2, 1, 1}, {0, 0, 1, 1, 1, 1},
         {0, 0, 0, 1, 1, 2},
   };
   for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
      assert_int_not_equal(virgl_renderer_transfer_write_iov(10, 0, 0, 0, 0, &bad[i], 0, NULL, 0),
                           0);
   assert_int_not_equal(virgl_renderer_transfer_write_iov(10, 0, 0, 0, 0, NULL, 0, NULL, 0), 0);
   /* A backing too short for the box. */
   struct iovec short_iov = {pattern, W * 4};
   assert_int_not_equal(virgl_renderer_transfer_write_iov(10, 0, 0, 0, 0, &box, 0, &short_iov, 1),
                        0);

   struct virgl_renderer_resource_info_ext ext;
   memset(&ext, 0xee, sizeof(ext));
   ext.version = 0;
   assert_int_equal(virgl_renderer_resource_get_info_ext(10, &ext), 0);
   assert_int_equal(ext.base.handle, 10);
   assert_int_equal(ext.base.width, W);
   assert_int_equal(ext.base.height, H);
   assert_int_equal(ext.base.stride, W * 4);
   assert_int_equal(ext.base.virgl_format, 1);
   assert_int_equal(ext.base.fd, -1);
   assert_false(ext.has_dmabuf_export);

   struct iovec *got = NULL;
   int count = 0;
   virgl_renderer_resource_detach_iov(10, &got, &count);
   assert_ptr_equal(got, iov);
   assert_int_equal(count, 2);
   virgl_renderer_resource_detach_iov(10, &got, &count);
   assert_null(got);
   assert_int_equal(count, 0);
   assert_int_not_equal(virgl_renderer_transfer_write_iov(10, 0, 0, 0, 0, &box, 0, NULL, 0), 0);
   free(pattern);

   /* 2D resources are not blobs. */
   void *map = NULL;
   uint64_t size = 0;
   uint32_t fd_type = 0;
   int fd = -1;
   assert_int_not_equal(virgl_renderer_resource_map(10, &map, &size), 0);
   assert_int_not_equal(virgl_renderer_resource_export_blob(10, &fd_type, &fd), 0);

   virgl_renderer_resource_unref(10);
   assert_null(virgl_renderer_get_cursor_data(10, &w, &h));

   /* What a GL guest would ask for. */
   struct virgl_renderer_resource_create_args gl = args;
   gl.handle = 11;
   gl.target = 3;
   assert_int_not_equal(virgl_renderer_resource_create(&gl, NULL, 0), 0);
   gl = args;
   gl.handle = 11;
   gl.last_level = 1;
   assert_int_not_equal(virgl_renderer_resource_create(&gl, NULL, 0), 0);
   gl = args;
   gl.handle = 11;
   gl.width = 0;
   assert_int_not_equal(virgl_renderer_resource_create(&gl, NULL, 0), 0);
   gl = args;
   gl.handle = 0;
   assert_int_not_equal(virgl_renderer_resource_create(&gl, NULL, 0), 0);
   /* None of them was kept. */
   assert_int_not_equal(virgl_renderer_resource_get_info(11, &ext.base), 0);
}

/* --- 6. Ready workers (PEARVISOR_VIRGL_READY) --- */

/* A worker waiting for a context has the executable's name (15 bytes of it). */
static const char idle_name[] = "pearvisor-virgl";

/* The one idle worker other than not_pid, once there is exactly one (polling as a VMM does,
 * which reaps and replaces), waited for up to 10 s. */
static pid_t wait_idle_worker(pid_t not_pid)
{
   for (int i = 0; i < 1000; i++) {
      pid_t pids[4];
      if (children_named(idle_name, pids, 4) == 1 && pids[0] != not_pid)
         return pids[0];
      virgl_renderer_poll();
      usleep(10000);
   }
   fail_msg("no idle worker");
   return -1;
}

/* Waits until the idle worker pid is ready: it confines itself (the tests run it with its
 * sandbox on) just before it sends its ready byte, which the next poll takes. */
static void wait_ready(pid_t pid)
{
   char path[64], line[128];
   snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
   for (int i = 0; i < 1000; i++) {
      FILE *f = fopen(path, "r");
      bool confined = false;
      while (f && fgets(line, sizeof(line), f))
         confined |= strcmp(line, "Seccomp:\t2\n") == 0;
      if (f)
         fclose(f);
      if (confined) {
         usleep(50000);
         virgl_renderer_poll();
         return;
      }
      usleep(10000);
   }
   fail_msg("worker %d did not get ready", (int)pid);
}

/* The context's worker runs what it is sent. */
static void check_served(uint32_t ctx_id, uint32_t fence)
{
   assert_int_equal(virgl_renderer_submit_cmd(NULL, (int)ctx_id, 0), 0);
   assert_int_equal(virgl_renderer_create_fence((int)fence, ctx_id), 0);
   wait_global_fence(fence);
}

static void test_ready_workers(void **state)
{
   /* init started one (a pool of one by default); a context created once it is ready gets
    * it, and the pool is topped up at once. */
   pid_t ready = wait_idle_worker(-1);
   wait_ready(ready);
   assert_int_equal(create_context(1), 0);
   assert_int_equal(worker_of(1), ready);
   check_served(1, 60);
   pid_t refill = wait_idle_worker(ready);
   wait_ready(refill);

   /* A ready worker that dies while it waits is reaped and replaced, and the replacement
    * serves the next context. */
   assert_int_equal(kill(refill, SIGKILL), 0);
   pid_t replacement = wait_idle_worker(refill);
   assert_int_equal(kill(refill, 0), -1);
   wait_ready(replacement);
   assert_int_equal(create_context(2), 0);
   assert_int_equal(worker_of(2), replacement);
   check_served(2, 61);

   /* cleanup kills and reaps the idle one. */
   pid_t idle = wait_idle_worker(replacement);
   virgl_renderer_cleanup(&cookie);
   assert_int_equal(kill(idle, 0), -1);
   assert_int_equal(children_named(idle_name, NULL, 0), 0);
}

static int setup_without_pool(void **state)
{
   setenv("PEARVISOR_VIRGL_READY", "0", 1);
   return setup(state);
}

static int teardown_without_pool(void **state)
{
   unsetenv("PEARVISOR_VIRGL_READY");
   return teardown(state);
}

/* PEARVISOR_VIRGL_READY=0: no worker until a context comes, one started for each. */
static void test_without_ready_workers(void **state)
{
   usleep(100000);
   virgl_renderer_poll();
   assert_int_equal(children_named(idle_name, NULL, 0), 0);
   assert_int_equal(create_context(1), 0);
   check_served(1, 70);
   assert_true(worker_of(1) > 0);
   assert_int_equal(children_named(idle_name, NULL, 0), 0);
}

/* --- 7. PEARVISOR_VIRGL_LIMITS --- */

/* A list that does not parse fails init (the VMM asked for limits it would not get); one that
 * does is read by the library and its workers alike, and contexts are served under it. */
static void test_limits_from_the_environment(void **state)
{
   setenv("PEARVISOR_VIRGL_LIMITS", "memory=1G,bogus=1", 1);
   assert_int_equal(virgl_renderer_init(&cookie, FLAG_VENUS, &callbacks), -EINVAL);
   setenv("PEARVISOR_VIRGL_LIMITS", "memory=1G,objects=4096", 1);
   assert_int_equal(virgl_renderer_init(&cookie, FLAG_VENUS, &callbacks), 0);
   assert_int_equal(create_context(1), 0);
   check_served(1, 80);
   virgl_renderer_context_destroy(1);
   unsetenv("PEARVISOR_VIRGL_LIMITS");
}

int main(void)
{
   /* wait_ready reads the workers' confinement: their sandbox stays on here. */
   unsetenv("PV_SANDBOX");
   const struct CMUnitTest tests[] = {
         cmocka_unit_test_setup_teardown(test_happy_path, setup, teardown),
         cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
         cmocka_unit_test_setup_teardown(test_fences, setup, teardown),
         cmocka_unit_test_setup_teardown(test_isolation, setup, teardown),
         cmocka_unit_test_setup_teardown(test_2d, setup, teardown),
         cmocka_unit_test_setup_teardown(test_ready_workers, setup, teardown),
         cmocka_unit_test_setup_teardown(test_without_ready_workers, setup_without_pool,
                                         teardown_without_pool),
         cmocka_unit_test_teardown(test_limits_from_the_environment, teardown),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
