/* One vtest connection: the loop that serves it, reading message frames, writing replies,
 * passing fds. */
#include "vtest/pv_vtest_conn.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/pv_limits.h"
#include "util/pv_log.h"
#include "util/pv_os.h"
#include "util/pv_socket.h"
#include "util/pv_watchdog.h"
#include "vtest/pv_vtest.h"

#define PV_VTEST_HEADER_BYTES 8
/* Enough for every message of a busy guest's burst in one recv(); grows for larger ones. */
#define PV_VTEST_READER_MIN_CAPACITY (64u << 10)

/* Moves the unconsumed bytes to the start of the buffer. */
static void reader_compact(struct pv_vtest_reader *r)
{
   memmove(r->buf, r->buf + r->start, r->end - r->start);
   r->end -= r->start;
   r->start = 0;
}

/* The server is stopping: the guest hears it from everything it waits on, so none of its
 * waits outlasts the worker. */
static void begin_stop(struct pv_vtest_conn *conn)
{
   conn->stopping = true;
   conn->stop_deadline_ns = pv_os_now_ns() + PV_VTEST_STOP_GRACE_S * 1000000000ull;
   pv_warn("%s: the server is stopping; the guest's context is fatal now, and the connection "
           "closes when the guest leaves or in %d s",
           conn->name, PV_VTEST_STOP_GRACE_S);
   if (conn->ctx)
      pv_gpu_context_cancel(conn->ctx, "the server is stopping");
   pv_vtest_syncs_fail_waiters(&conn->syncs);
}

/* Waits until the guest's next bytes can be read, watching for the server's stop request
 * meanwhile (only with a stop_fd: a plain blocking recv() costs one system call less). false:
 * the connection ends now (stopping, and the guest stayed past the grace). */
static bool wait_for_guest(struct pv_vtest_conn *conn)
{
   for (;;) {
      struct pollfd p[2] = {{.fd = conn->fd, .events = POLLIN},
                            {.fd = conn->stopping ? -1 : conn->stop_fd, .events = POLLIN}};
      int timeout_ms = -1;
      if (conn->stopping) {
         uint64_t now = pv_os_now_ns();
         if (now >= conn->stop_deadline_ns) {
            pv_warn("%s: the guest is still connected %d s after the stop; closing", conn->name,
                    PV_VTEST_STOP_GRACE_S);
            return false;
         }
         timeout_ms = (int)((conn->stop_deadline_ns - now) / 1000000) + 1;
      }
      int n = poll(p, 2, timeout_ms);
      if (n < 0 && errno != EINTR) {
         pv_error("%s: poll: %s", conn->name, strerror(errno));
         return false;
      }
      if (p[0].revents)
         return true;
      if (p[1].revents)
         begin_stop(conn);
   }
}

/* Makes need bytes available at buf + start, 4-byte aligned, reading ahead as much as the
 * socket has. false when the peer leaves (or fails) first. Once the buffer has grown to the
 * largest message seen this costs no allocation, and usually one recv() per burst. */
static bool reader_fill(struct pv_vtest_conn *conn, size_t need)
{
   struct pv_vtest_reader *r = &conn->reader;
   /* Payloads are read as dwords in place. Only CREATE_RENDERER has a length that is not a
    * dword multiple, so this happens at most once per connection. */
   if (r->start % 4)
      reader_compact(r);
   if (r->end - r->start >= need)
      return true;
   if (r->start && r->start + need > r->capacity)
      reader_compact(r);
   if (need > r->capacity) {
      size_t capacity = r->capacity ? r->capacity : PV_VTEST_READER_MIN_CAPACITY;
      while (capacity < need)
         capacity *= 2;
      if (capacity > PV_VTEST_HEADER_BYTES + (size_t)PV_VTEST_MAX_PAYLOAD)
         capacity = PV_VTEST_HEADER_BYTES + (size_t)PV_VTEST_MAX_PAYLOAD;
      uint8_t *buf = realloc(r->buf, capacity);
      if (!buf) {
         pv_error("%s: no memory for a %zu-byte vtest message", conn->name, need);
         return false;
      }
      r->buf = buf;
      r->capacity = capacity;
   }
   while (r->end - r->start < need) {
      if (conn->stop_fd >= 0 && !wait_for_guest(conn))
         return false;
      ssize_t n = recv(conn->fd, r->buf + r->end, r->capacity - r->end, 0);
      if (n < 0 && errno == EINTR)
         continue;
      if (n < 0 && errno != ECONNRESET)
         pv_error("%s: vtest read failed: %s", conn->name, strerror(errno));
      if (n <= 0)
         return false;
      r->end += (size_t)n;
   }
   return true;
}

/* Reads the next message; *payload stays valid until the next call. false when the client
 * is gone or sent a length that cannot be accepted (logged). */
static bool read_message(struct pv_vtest_conn *conn, uint32_t *id, uint32_t *length,
                         const void **payload)
{
   struct pv_vtest_reader *r = &conn->reader;
   if (!reader_fill(conn, PV_VTEST_HEADER_BYTES)) {
      if (r->end != r->start)
         pv_warn("%s: client left in the middle of a vtest message header", conn->name);
      return false;
   }
   uint32_t header[2];
   memcpy(header, r->buf + r->start, sizeof(header));
   *length = header[0];
   *id = header[1];
   /* CREATE_RENDERER counts bytes; everything else counts dwords (docs/protocol/pitfalls.md #1). */
   uint64_t bytes = *id == PV_VTEST_CREATE_RENDERER ? *length : (uint64_t)*length * 4;
   if (bytes > PV_VTEST_MAX_PAYLOAD) {
      pv_error("%s: vtest command %u: payload of %llu bytes is over the %u-byte limit; closing "
               "the connection",
               conn->name, *id, (unsigned long long)bytes, PV_VTEST_MAX_PAYLOAD);
      return false;
   }
   if (!reader_fill(conn, PV_VTEST_HEADER_BYTES + bytes)) {
      pv_warn("%s: client left in the middle of vtest command %u (%llu of %llu payload bytes)",
              conn->name, *id,
              (unsigned long long)(r->end - r->start > PV_VTEST_HEADER_BYTES
                                         ? r->end - r->start - PV_VTEST_HEADER_BYTES
                                         : 0),
              (unsigned long long)bytes);
      return false;
   }
   *payload = r->buf + r->start + PV_VTEST_HEADER_BYTES;
   r->start += PV_VTEST_HEADER_BYTES + bytes;
   if (r->start == r->end)
      r->start = r->end = 0; /* the payload's bytes stay untouched until the next fill */
   return true;
}

bool pv_vtest_conn_reply(struct pv_vtest_conn *conn, uint32_t id, const uint32_t *words,
                         uint32_t count)
{
   /* Header and payload in one send: the guest reads them back to back. */
   uint32_t msg[2 + PV_VTEST_MAX_REPLY_WORDS];
   if (count > PV_VTEST_MAX_REPLY_WORDS)
      abort(); /* a reply of ours that does not fit is a bug of this file's callers */
   msg[0] = count;
   msg[1] = id;
   if (count)
      memcpy(msg + 2, words, (size_t)count * 4);
   struct iovec iov = {.iov_base = msg, .iov_len = (2 + (size_t)count) * 4};
   return pv_socket_send(conn->fd, &iov, 1, -1);
}

bool pv_vtest_conn_send_fd(struct pv_vtest_conn *conn, int fd)
{
   char byte = 0;
   struct iovec iov = {.iov_base = &byte, .iov_len = 1};
   return pv_socket_send(conn->fd, &iov, 1, fd);
}

/* --stats: what the guest left behind, and what teardown left of that (nothing, when it
 * works). One line; tests/e2e/killed_guest.py parses it. */
static void log_stats(struct pv_vtest_conn *conn)
{
   struct pv_gpu_context_stats left, after;
   pv_gpu_context_get_stats(conn->ctx, &left);
   pv_gpu_context_release(conn->ctx);
   pv_gpu_context_get_stats(conn->ctx, &after);
   pv_info("stats: %s: %llu commands; at disconnect %llu objects, %llu bytes of device memory, "
           "%llu resources, %llu rings; after teardown %llu objects, %llu bytes, %llu "
           "resources, %llu rings",
           conn->name, (unsigned long long)left.commands, (unsigned long long)left.objects,
           (unsigned long long)left.device_memory_bytes, (unsigned long long)left.resources,
           (unsigned long long)left.rings, (unsigned long long)after.objects,
           (unsigned long long)after.device_memory_bytes, (unsigned long long)after.resources,
           (unsigned long long)after.rings);
}

static void unref_resource(uint64_t res_id, void *value, void *gpu)
{
   pv_gpu_resource_unref(gpu, (uint32_t)res_id);
}

void pv_vtest_conn_serve(struct pv_gpu *gpu, int fd, const struct pv_vtest_serve_params *params)
{
   struct pv_vtest_conn conn = {
         .fd = fd, .gpu = gpu, .print_stats = params->print_stats, .stop_fd = params->stop_fd};
   strcpy(conn.name, "vtest client");
   const struct pv_gpu_limits limits = pv_limits_resolve(params->limits);
   pv_vtest_syncs_init(&conn.syncs, &limits);
   pv_hash_init(&conn.resources);
   uint32_t id, length;
   const void *payload;
   while (read_message(&conn, &id, &length, &payload)) {
      if (pv_debug(PV_DEBUG_VTEST))
         pv_info("%s: vtest command %u, length %u", conn.name, id, length);
      if (!conn.have_renderer && id != PV_VTEST_CREATE_RENDERER) {
         pv_error("%s: vtest command %u before CREATE_RENDERER; closing the connection", conn.name,
                  id);
         break;
      }
      pv_watchdog_set_busy(conn.watchdog, true);
      bool keep = pv_vtest_handle(&conn, id, payload, length);
      pv_watchdog_set_busy(conn.watchdog, false);
      if (!keep)
         break;
   }
   /* From here the context is not cancelled any more; a worker process gives up on a
    * teardown that cannot finish. */
   if (params->teardown_limit_s) {
      pv_watchdog_arm_exit(conn.watchdog, params->teardown_limit_s);
   } else {
      pv_watchdog_stop(conn.watchdog);
      conn.watchdog = NULL;
   }
   if (conn.ctx && conn.print_stats)
      log_stats(&conn);
   /* Frees every host object the guest left behind; after it no fence can retire, so the
    * syncs can go. */
   pv_gpu_context_destroy(conn.ctx);
   pv_hash_foreach(&conn.resources, unref_resource, gpu);
   pv_hash_finish(&conn.resources);
   pv_vtest_syncs_finish(&conn.syncs);
   free(conn.reader.buf);
   pv_watchdog_stop(conn.watchdog);
   close(fd);
}

void pv_vtest_serve_client(struct pv_gpu *gpu, int fd)
{
   const struct pv_vtest_serve_params params = {.stop_fd = -1};
   pv_vtest_conn_serve(gpu, fd, &params);
}
