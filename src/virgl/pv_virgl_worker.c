/* pearvisor-virgl-worker: one guest context of libvirglrenderer.so.1 in a process of its
 * own. The VMM's process never parses a guest's command streams; a bug a guest reaches in
 * the decoder or the host driver ends this process, and the VMM, its other contexts and its
 * other guests carry on. The library starts it before it knows the context
 * (pv_virgl_wire.h has the conversation): it prepares the host instance, says it is ready,
 * is told its context, serves it until the library closes the control socket, then frees
 * everything and exits. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/pv_crash.h"
#include "util/pv_limits.h"
#include "util/pv_log.h"
#include "util/pv_os.h"
#include "util/pv_sandbox.h"
#include "util/pv_socket.h"
#include "util/pv_watchdog.h"
#include "virgl/pv_virgl_wire.h"

/* A teardown that takes longer (a GPU still running the guest's endless shader) ends the
 * process instead: the kernel and the driver reclaim what it held. The library kills a
 * worker still there a little later. */
#define PV_WORKER_TEARDOWN_LIMIT_S 3

struct pv_worker {
   char name[sizeof(struct pv_wire_start)]; /* the context's, from the library */
   struct pv_gpu *gpu;
   struct pv_gpu_context *ctx;
   struct pv_wire_shared *shared;
   uint8_t *payload; /* the current request's, grown to the largest seen */
   size_t capacity;
   bool page_changed; /* since the last byte on the events socket */
   struct pv_watchdog *watchdog;
};

/* The library closed the control socket (the VMM destroyed the context, or died) while a
 * request blocked. */
static void cancel_context(void *ctx, bool stop_asked)
{
   (void)stop_asked; /* no stop descriptor is watched here */
   pv_gpu_context_cancel(ctx, "the VMM let go of the context while a command was blocked");
}

static void fence_retired(void *data, uint32_t ring_idx, uint64_t fence_id)
{
   struct pv_worker *w = data;
   atomic_store_explicit(&w->shared->ring_fence[ring_idx], fence_id, memory_order_release);
   w->page_changed = true;
}

/* One byte per batch of changes. Never blocks: when the socket is full it is readable
 * already, and the library reads the page, not the bytes. */
static void notify(struct pv_worker *w)
{
   if (!w->page_changed)
      return;
   w->page_changed = false;
   char byte = 0;
   send(PV_WIRE_FD_EVENTS, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Reads one request into h and w->payload. false when the library has gone (the normal
 * end) or sent something malformed (logged). */
static bool read_request(struct pv_worker *w, struct pv_wire_header *h)
{
   int fd = -1;
   bool ok = pv_socket_recv(PV_WIRE_FD_CONTROL, h, sizeof(*h), &fd);
   if (fd >= 0)
      close(fd); /* requests never carry fds */
   if (!ok)
      return false;
   if (h->size > PV_WIRE_MAX_PAYLOAD) {
      pv_error("request %u of %u bytes is over the limit; stopping", h->op, h->size);
      return false;
   }
   if (h->size > w->capacity) {
      uint8_t *grown = realloc(w->payload, h->size);
      if (!grown) {
         pv_error("no memory for a %u-byte request; stopping", h->size);
         return false;
      }
      w->payload = grown;
      w->capacity = h->size;
   }
   if (!pv_socket_recv(PV_WIRE_FD_CONTROL, w->payload, h->size, &fd)) {
      pv_error("the library left in the middle of request %u", h->op);
      return false;
   }
   if (fd >= 0)
      close(fd);
   return true;
}

static bool answer_blob(struct pv_worker *w, const struct pv_wire_create_blob *req)
{
   const struct pv_gpu_blob_desc desc = {
         .res_id = req->res_id,
         .blob_mem = req->blob_mem,
         .blob_flags = req->blob_flags,
         .blob_id = req->blob_id,
         .size = req->size,
   };
   struct pv_wire_blob_reply reply = {0};
   int fd = -1;
   if (req->blob_mem == PV_GPU_BLOB_MEM_HOST3D && pv_gpu_resource_create_blob(w->ctx, &desc)) {
      if (pv_gpu_resource_export(w->gpu, req->res_id, &fd, &reply.fd_type))
         reply.ok = 1;
      else
         pv_gpu_resource_unref(w->gpu, req->res_id);
   }
   struct iovec iov = {.iov_base = &reply, .iov_len = sizeof(reply)};
   bool sent = pv_socket_send(PV_WIRE_FD_CONTROL, &iov, 1, fd);
   if (fd >= 0)
      close(fd);
   return sent;
}

/* The payload size each fixed-size request must have; 0 for SUBMIT (any size). */
static size_t request_size(uint32_t op)
{
   switch (op) {
   case PV_WIRE_FENCE:
      return sizeof(struct pv_wire_fence);
   case PV_WIRE_GLOBAL_FENCE:
      return sizeof(struct pv_wire_global_fence);
   case PV_WIRE_CREATE_BLOB:
      return sizeof(struct pv_wire_create_blob);
   case PV_WIRE_UNREF:
   case PV_WIRE_ATTACH:
   case PV_WIRE_DETACH:
      return sizeof(struct pv_wire_resource);
   default:
      return 0;
   }
}

/* Runs one request. false ends the worker: the library broke the protocol or left. */
static bool run_request(struct pv_worker *w, const struct pv_wire_header *h)
{
   if (h->op != PV_WIRE_SUBMIT && (request_size(h->op) == 0 || h->size != request_size(h->op))) {
      pv_error("malformed request %u (%u bytes); stopping", h->op, h->size);
      return false;
   }
   const void *p = w->payload;
   switch (h->op) {
   case PV_WIRE_SUBMIT:
      if (!pv_gpu_context_submit(w->ctx, p, h->size))
         atomic_store_explicit(&w->shared->fatal, 1, memory_order_release);
      return true;
   case PV_WIRE_FENCE: {
      const struct pv_wire_fence *f = p;
      if (!pv_gpu_context_submit_fence(w->ctx, f->ring_idx, f->fence_id))
         pv_error("%s: fence %llu on ring %u, which no queue is bound to, never retires", w->name,
                  (unsigned long long)f->fence_id, f->ring_idx);
      return true;
   }
   case PV_WIRE_GLOBAL_FENCE: {
      const struct pv_wire_global_fence *f = p;
      atomic_store_explicit(&w->shared->global_seq, f->seq, memory_order_release);
      w->page_changed = true;
      return true;
   }
   case PV_WIRE_CREATE_BLOB:
      return answer_blob(w, p);
   case PV_WIRE_UNREF:
      pv_gpu_resource_unref(w->gpu, ((const struct pv_wire_resource *)p)->res_id);
      return true;
   case PV_WIRE_ATTACH:
      pv_gpu_context_attach_resource(w->ctx, ((const struct pv_wire_resource *)p)->res_id);
      return true;
   default: /* PV_WIRE_DETACH, the last one request_size accepts */
      pv_gpu_context_detach_resource(w->ctx, ((const struct pv_wire_resource *)p)->res_id);
      return true;
   }
}

static void serve(struct pv_worker *w)
{
   struct pollfd fds[2] = {
         {.fd = PV_WIRE_FD_CONTROL, .events = POLLIN},
         {.fd = pv_gpu_context_poll_fd(w->ctx), .events = POLLIN},
   };
   for (;;) {
      if (poll(fds, 2, -1) < 0) {
         if (errno == EINTR)
            continue;
         pv_error("poll: %s; stopping", strerror(errno));
         return;
      }
      if (fds[1].revents & POLLIN)
         pv_gpu_context_poll(w->ctx);
      if (fds[0].revents) {
         struct pv_wire_header h;
         if (!read_request(w, &h))
            return;
         pv_watchdog_set_busy(w->watchdog, true);
         bool keep = run_request(w, &h);
         pv_watchdog_set_busy(w->watchdog, false);
         if (!keep)
            return;
      }
      notify(w);
   }
}

static bool fd_open(int fd)
{
   return fcntl(fd, F_GETFD) >= 0;
}

/* The first request names the context. false when the library let go of us first (a ready
 * worker no context took) or sent something else (logged). */
static bool read_start(struct pv_worker *w)
{
   struct pv_wire_header h;
   if (!read_request(w, &h))
      return false;
   if (h.op != PV_WIRE_START || h.size != sizeof(struct pv_wire_start) ||
       !memchr(w->payload, '\0', h.size)) {
      pv_error("the first request is %u (%u bytes), not START; stopping", h.op, h.size);
      return false;
   }
   memcpy(w->name, w->payload, sizeof(w->name));
   return true;
}

int main(int argc, char **argv)
{
   pv_log_init("pearvisor-virgl-worker");
   if (argc != 1 || !fd_open(PV_WIRE_FD_CONTROL) || !fd_open(PV_WIRE_FD_EVENTS) ||
       !fd_open(PV_WIRE_FD_SHARED)) {
      static const char usage[] =
            "usage: pearvisor-virgl-worker\n"
            "Serves one guest context for PearVisor's libvirglrenderer.so.1, which starts it\n"
            "with its sockets on fds 3 and 4 and its fence page on fd 5. Not for running by "
            "hand.\n";
      fputs(usage, stderr);
      return 2;
   }
   struct pv_worker w = {.name = ""};
   w.shared = pv_os_map_shared(PV_WIRE_FD_SHARED, sizeof(*w.shared));
   close(PV_WIRE_FD_SHARED);
   struct pv_gpu_options options = {.version = PV_GPU_OPTIONS_VERSION};
   bool limits = pv_limits_from_env(PV_VIRGL_LIMITS_ENV, &options.limits);
   w.gpu = w.shared && limits ? pv_gpu_create(&options) : NULL;
   if (!w.gpu) {
      pv_error("cannot set up the renderer; exiting");
      return 1;
   }
   /* Outside the sandbox, like any program loading a driver, and before any guest: the
    * library hands a ready worker to its next context. One that cannot prepare (logged)
    * leaves the host instance to the guest's vkCreateInstance, as without. */
   pv_gpu_prepare(w.gpu);
   /* Confined before the first request is read, the driver's threads too. */
   char who[48];
   snprintf(who, sizeof(who), "virgl worker %d", (int)getpid());
   if (!pv_sandbox_enter(pv_sandbox_mode_from_env(), who))
      return 1;
   /* Ready, says the first byte, to a library that keeps us in its pool. One that started us
    * for a context sent START at once: then nothing is said, or the byte would wake the
    * VMM for a fence that is not there. */
   struct pollfd start_sent = {.fd = PV_WIRE_FD_CONTROL, .events = POLLIN};
   w.page_changed = poll(&start_sent, 1, 0) == 0;
   notify(&w);
   if (!read_start(&w)) {
      pv_gpu_destroy(w.gpu);
      free(w.payload);
      return 0;
   }
   /* The process name (its first 15 bytes) tells ps and top which context this is. */
   prctl(PR_SET_NAME, w.name, 0, 0, 0);
   pv_crash_set_guest(w.name);
   const struct pv_gpu_context_desc desc = {
         .capset_id = PV_GPU_CAPSET_VENUS,
         .debug_name = w.name,
         .flags = PV_GPU_CONTEXT_POLL_FENCES,
         .fence_retired = fence_retired,
         .fence_data = &w,
   };
   w.ctx = pv_gpu_context_create(w.gpu, &desc);
   if (!w.ctx) {
      pv_error("%s: cannot set up the context; exiting", w.name);
      return 1;
   }
   w.watchdog = pv_watchdog_start(PV_WIRE_FD_CONTROL, -1, w.name, cancel_context, w.ctx);
   serve(&w);
   pv_watchdog_arm_exit(w.watchdog, PV_WORKER_TEARDOWN_LIMIT_S);
   pv_gpu_context_destroy(w.ctx);
   pv_gpu_destroy(w.gpu);
   pv_watchdog_stop(w.watchdog);
   free(w.payload);
   return 0;
}
