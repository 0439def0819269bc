/* One vtest connection: reading message frames, writing replies, passing fds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/pv_log.h"
#include "vtest/pv_vtest.h"
#include "vtest/pv_vtest_conn.h"

static bool write_all(int fd, const void *data, size_t size)
{
   const uint8_t *p = data;
   while (size) {
      ssize_t n = send(fd, p, size, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
         continue;
      if (n <= 0)
         return false;
      p += n;
      size -= (size_t)n;
   }
   return true;
}

/* Reads exactly size bytes; false on EOF or error at any point (a client may leave
 * mid-message). */
static bool read_all(int fd, void *data, size_t size)
{
   uint8_t *p = data;
   while (size) {
      ssize_t n = read(fd, p, size);
      if (n < 0 && errno == EINTR)
         continue;
      if (n <= 0)
         return false;
      p += n;
      size -= (size_t)n;
   }
   return true;
}

bool pv_vtest_reply(struct pv_vtest_conn *conn, uint32_t id, const uint32_t *words, uint32_t count)
{
   /* Header and payload in one send: the guest reads them back to back. */
   uint32_t small[2 + 64];
   uint32_t *msg = count <= 64 ? small : malloc((2 + (size_t)count) * 4);
   if (!msg)
      return false;
   msg[0] = count;
   msg[1] = id;
   if (count)
      memcpy(msg + 2, words, (size_t)count * 4);
   bool ok = write_all(conn->fd, msg, (2 + (size_t)count) * 4);
   if (msg != small)
      free(msg);
   return ok;
}

bool pv_vtest_send_fd(struct pv_vtest_conn *conn, int fd)
{
   char byte = 0;
   struct iovec iov = {.iov_base = &byte, .iov_len = 1};
   union {
      struct cmsghdr align;
      char buf[CMSG_SPACE(sizeof(int))];
   } control;
   memset(&control, 0, sizeof(control));
   struct msghdr msg = {
         .msg_iov = &iov,
         .msg_iovlen = 1,
         .msg_control = control.buf,
         .msg_controllen = sizeof(control.buf),
   };
   struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
   cmsg->cmsg_level = SOL_SOCKET;
   cmsg->cmsg_type = SCM_RIGHTS;
   cmsg->cmsg_len = CMSG_LEN(sizeof(int));
   memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
   ssize_t n;
   do {
      n = sendmsg(conn->fd, &msg, MSG_NOSIGNAL);
   } while (n < 0 && errno == EINTR);
   return n == 1;
}

static bool ensure_capacity(struct pv_vtest_conn *conn, size_t bytes)
{
   if (bytes <= conn->payload_capacity)
      return true;
   size_t capacity = conn->payload_capacity ? conn->payload_capacity : 4096;
   while (capacity < bytes)
      capacity *= 2;
   uint32_t *p = realloc(conn->payload, capacity);
   if (!p)
      return false;
   conn->payload = p;
   conn->payload_capacity = capacity;
   return true;
}

void pv_vtest_serve_client(struct pv_gpu *gpu, int fd, bool print_stats)
{
   struct pv_vtest_conn conn = {.fd = fd, .gpu = gpu, .print_stats = print_stats};
   snprintf(conn.name, sizeof(conn.name), "client");
   pv_vtest_syncs_init(&conn);
   for (;;) {
      uint32_t header[2];
      if (!read_all(fd, header, sizeof(header)))
         break; /* the client left, possibly mid-message: nothing more to do */
      uint32_t length = header[0], id = header[1];
      /* CREATE_RENDERER counts bytes; everything else counts dwords (pitfalls.md #1). */
      uint64_t bytes = id == PV_VTEST_CREATE_RENDERER ? length : (uint64_t)length * 4;
      if (bytes > PV_VTEST_MAX_PAYLOAD) {
         pv_error("%s: vtest command %u with a %llu-byte payload: too long, closing", conn.name, id,
                  (unsigned long long)bytes);
         break;
      }
      if (!ensure_capacity(&conn, bytes + 4) || !read_all(fd, conn.payload, bytes))
         break;
      if (pv_debug(PV_DEBUG_VTEST))
         pv_info("%s: vtest command %u, length %u", conn.name, id, length);
      if (!conn.have_renderer && id != PV_VTEST_CREATE_RENDERER) {
         pv_error("%s: vtest command %u before CREATE_RENDERER, closing", conn.name, id);
         break;
      }
      if (!pv_vtest_handle(&conn, id, length))
         break;
   }
   if (conn.ctx && conn.print_stats) {
      struct pv_gpu_context_stats left, after;
      pv_gpu_context_get_stats(conn.ctx, &left);
      pv_gpu_context_release(conn.ctx);
      pv_gpu_context_get_stats(conn.ctx, &after);
      /* Asked for with --stats: printed whatever the log level. */
      fprintf(stderr,
              "pearvisor[%d]: stats: %s: %llu commands; at disconnect %llu objects, %llu "
              "bytes of device memory, %llu resources, %llu rings; after teardown %llu "
              "objects, %llu bytes, %llu resources, %llu rings\n",
              (int)getpid(), conn.name, (unsigned long long)left.commands,
              (unsigned long long)left.objects, (unsigned long long)left.device_memory_bytes,
              (unsigned long long)left.resources, (unsigned long long)left.rings,
              (unsigned long long)after.objects, (unsigned long long)after.device_memory_bytes,
              (unsigned long long)after.resources, (unsigned long long)after.rings);
   }
   /* Teardown frees every host object the guest left behind. */
   pv_gpu_context_destroy(conn.ctx);
   pv_vtest_syncs_finish(&conn);
   free(conn.payload);
   close(fd);
}
