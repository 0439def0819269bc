/* A guest context of the library: the worker process that runs it (pv_virgl_pool.c starts
 * them), the requests it is sent, the fences it retires, and what is left when it dies.
 * Everything here runs under pv_virgl.lock, except pv_virgl_context_send and
 * pv_virgl_context_create_blob, which the VMM serializes per context. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/pv_log.h"
#include "util/pv_os.h"
#include "util/pv_socket.h"
#include "virgl/pv_virgl.h"

/* How long a worker has to free everything and exit once its sockets close. */
#define PV_VIRGL_STOP_GRACE_NS (5ull * 1000000000ull)
/* How long a worker whose sockets closed gets to become reapable: 20 x 5 ms. */
#define PV_VIRGL_EXIT_TRIES   20
#define PV_VIRGL_EXIT_STEP_US 5000
/* How long a blob reply may take: the worker runs everything sent before it first. */
#define PV_VIRGL_REPLY_TIMEOUT_MS 10000

bool pv_virgl_find_worker(char *path, size_t size)
{
   const char *env = getenv("PEARVISOR_VIRGL_WORKER");
   if (env && *env) {
      snprintf(path, size, "%s", env);
   } else {
      /* Resolved now: a VMM may change its directory later (QEMU -daemonize does). */
      Dl_info info;
      char *lib = dladdr((void *)pv_virgl_find_worker, &info) && info.dli_fname
                        ? realpath(info.dli_fname, NULL)
                        : NULL;
      if (!lib) {
         pv_error("cannot tell where libvirglrenderer.so.1 is; set PEARVISOR_VIRGL_WORKER");
         return false;
      }
      *strrchr(lib, '/') = '\0'; /* realpath's result is absolute */
      snprintf(path, size, "%s/pearvisor-virgl-worker", lib);
      free(lib);
   }
   if (access(path, X_OK) != 0) {
      pv_error("the context worker %s cannot run (%s): it is installed next to "
               "libvirglrenderer.so.1; PEARVISOR_VIRGL_WORKER names another",
               path, strerror(errno));
      return false;
   }
   return true;
}

/* The context's first request: the worker serves this context from now on. false when the
 * worker is gone. */
static bool send_start(const struct pv_virgl_worker *w, const char *name)
{
   struct pv_wire_start start = {{0}};
   snprintf(start.name, sizeof(start.name), "%s", name);
   struct pv_wire_header h = {.op = PV_WIRE_START, .size = sizeof(start)};
   struct iovec iov[2] = {{&h, sizeof(h)}, {&start, sizeof(start)}};
   return pv_socket_send(w->control_fd, iov, 2, -1);
}

bool pv_virgl_context_start(struct pv_virgl_context *c)
{
   struct pv_virgl_worker w;
   bool pooled;
   for (;;) {
      pooled = pv_virgl_pool_take(&w);
      if (!pooled && !pv_virgl_worker_start(&w)) {
         pv_error("%s: no worker process", c->name);
         return false;
      }
      if (send_start(&w, c->name))
         break;
      /* Died between the pool's look and now: the next one, or one of its own. */
      pv_virgl_worker_discard(&w);
      if (!pooled) {
         pv_error("%s: its worker %d died before it started", c->name, (int)w.pid);
         return false;
      }
   }
   c->pid = w.pid;
   c->control_fd = w.control_fd;
   c->events_fd = w.events_fd;
   c->shared = w.shared;
   pv_info("%s: served by worker %d (%s)", c->name, (int)c->pid,
           !pooled   ? "started for it"
           : w.ready ? "a ready one"
                     : "one of the pool, still getting ready");
   /* Replaces the one taken; the spawn is all it costs here. */
   pv_virgl_pool_fill();
   return true;
}

void pv_virgl_queue_dying(pid_t pid, uint64_t grace_ns)
{
   if (pv_virgl.dying_count == pv_virgl.dying_capacity) {
      size_t capacity = pv_virgl.dying_capacity ? 2 * pv_virgl.dying_capacity : 8;
      struct pv_virgl_dying *grown = realloc(pv_virgl.dying, capacity * sizeof(*grown));
      if (!grown) {
         /* Cannot wait for it later: end it now rather than leave a zombie behind. */
         kill(pid, SIGKILL);
         waitpid(pid, NULL, 0);
         return;
      }
      pv_virgl.dying = grown;
      pv_virgl.dying_capacity = capacity;
   }
   pv_virgl.dying[pv_virgl.dying_count++] = (struct pv_virgl_dying){
         .pid = pid, .kill_at_ns = grace_ns ? pv_os_now_ns() + grace_ns : 0};
}

void pv_virgl_context_stop(struct pv_virgl_context *c)
{
   if (c->control_fd >= 0)
      close(c->control_fd);
   if (c->events_fd >= 0)
      close(c->events_fd); /* leaves the epoll set with it */
   pv_os_unmap(c->shared, sizeof(*c->shared));
   c->control_fd = c->events_fd = -1;
   c->shared = NULL;
   if (c->pid > 0)
      pv_virgl_queue_dying(c->pid, c->lost ? 0 : PV_VIRGL_STOP_GRACE_NS);
   c->pid = -1;
   c->lost = true;
   /* Its global fences wait for nothing now (the id may come back as a new context). */
   for (size_t i = 0; i < pv_virgl.global_count; i++) {
      if (pv_virgl.global_fences[i].ctx_id == c->ctx_id)
         pv_virgl.global_fences[i].ctx_id = 0;
   }
}

/* True once pid is gone (reaped here, or by a VMM that reaps every child itself). */
static bool reaped(pid_t pid)
{
   pid_t r;
   do {
      r = waitpid(pid, NULL, WNOHANG);
   } while (r < 0 && errno == EINTR);
   return r == pid || (r < 0 && errno == ECHILD);
}

void pv_virgl_reap(bool wait)
{
   for (;;) {
      uint64_t now = pv_os_now_ns();
      size_t kept = 0;
      for (size_t i = 0; i < pv_virgl.dying_count; i++) {
         struct pv_virgl_dying d = pv_virgl.dying[i];
         if (reaped(d.pid))
            continue;
         if (now >= d.kill_at_ns) {
            if (d.kill_at_ns)
               pv_warn("worker %d did not exit in time; killing it", (int)d.pid);
            kill(d.pid, SIGKILL);
         }
         pv_virgl.dying[kept++] = d;
      }
      pv_virgl.dying_count = kept;
      if (!wait || kept == 0)
         return;
      usleep(10000);
   }
}

/* The worker is gone, or must be treated as gone: later submits fail, and the next poll
 * retires every fence the VMM asked for (a guest waiting on one would otherwise hang). */
static void lose(struct pv_virgl_context *c, const char *why)
{
   if (c->lost)
      return;
   c->lost = true;
   /* A worker that died closes its sockets just before it can be reaped: give it a moment. */
   int status = 0;
   pid_t r = 0;
   for (int tries = 0; r == 0 && tries < PV_VIRGL_EXIT_TRIES; tries++) {
      if (tries)
         usleep(PV_VIRGL_EXIT_STEP_US);
      do {
         r = waitpid(c->pid, &status, WNOHANG);
      } while (r < 0 && errno == EINTR);
   }
   if (r == c->pid && WIFSIGNALED(status))
      pv_error("%s: worker %d killed by signal %d (%s) %s; the context is lost", c->name,
               (int)c->pid, WTERMSIG(status), strsignal(WTERMSIG(status)), why);
   else if (r == c->pid)
      pv_error("%s: worker %d exited with status %d %s; the context is lost", c->name, (int)c->pid,
               WEXITSTATUS(status), why);
   else if (r < 0)
      pv_error("%s: worker %d is gone %s; the context is lost", c->name, (int)c->pid, why);
   else
      pv_error("%s: worker %d stopped answering %s; killing it, the context is lost", c->name,
               (int)c->pid, why);
   if (r == 0)
      kill(c->pid, SIGKILL); /* reaped when the context is destroyed */
   else
      c->pid = -1;
}

static void deliver(struct pv_virgl_context *c, uint32_t ring, uint64_t id)
{
   c->fence_delivered[ring] = id;
   if (pv_virgl.cb->version >= 3 && pv_virgl.cb->write_context_fence)
      pv_virgl.cb->write_context_fence(pv_virgl.cookie, c->ctx_id, ring, id);
}

bool pv_virgl_context_send(struct pv_virgl_context *c, uint32_t op, const void *payload,
                           uint32_t size)
{
   if (c->lost)
      return false;
   struct pv_wire_header h = {.op = op, .size = size};
   struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)payload, size}};
   if (pv_socket_send(c->control_fd, iov, size ? 2 : 1, -1))
      return true;
   lose(c, "(its socket closed)");
   return false;
}

/* A blob memfd from the worker is mapped by the VMM into the guest: it must be sealed
 * against shrinking (or the worker could make the VMM fault) and hold the whole blob. */
static bool blob_fd_sound(int fd, uint64_t size)
{
   struct stat st;
   int seals = fcntl(fd, F_GET_SEALS);
   return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size >= size &&
          seals >= 0 && (seals & F_SEAL_SHRINK);
}

int pv_virgl_context_create_blob(struct pv_virgl_context *c, const struct pv_wire_create_blob *req)
{
   if (!pv_virgl_context_send(c, PV_WIRE_CREATE_BLOB, req, sizeof(*req)))
      return -1;
   struct pollfd p = {.fd = c->control_fd, .events = POLLIN};
   int ready;
   do {
      ready = poll(&p, 1, PV_VIRGL_REPLY_TIMEOUT_MS);
   } while (ready < 0 && errno == EINTR);
   struct pv_wire_blob_reply reply = {0};
   int fd = -1;
   if (ready != 1 || !pv_socket_recv(c->control_fd, &reply, sizeof(reply), &fd)) {
      if (fd >= 0)
         close(fd);
      lose(c, ready == 0 ? "(no blob reply in 10 s)" : "(while creating a blob)");
      return -1;
   }
   if (reply.ok && fd >= 0 && reply.fd_type == PV_GPU_FD_TYPE_SHM && blob_fd_sound(fd, req->size))
      return fd;
   if (reply.ok)
      pv_error("%s: blob %u: the worker's memfd is not one the VMM can map safely", c->name,
               req->res_id);
   if (fd >= 0)
      close(fd);
   return -1;
}

/* Takes the bytes off the events socket; false once the worker has closed it. */
static bool drain_events(struct pv_virgl_context *c)
{
   char bytes[64];
   for (;;) {
      ssize_t n = recv(c->events_fd, bytes, sizeof(bytes), MSG_DONTWAIT);
      if (n > 0)
         continue;
      return n < 0 && (errno == EAGAIN || errno == EINTR);
   }
}

void pv_virgl_context_poll(struct pv_virgl_context *c)
{
   if (c->lost) {
      for (uint32_t ring = 0; ring < PV_GPU_MAX_TIMELINES; ring++) {
         if (c->fence_asked[ring] != c->fence_delivered[ring])
            deliver(c, ring, c->fence_asked[ring]);
      }
      return;
   }
   bool alive = drain_events(c);
   /* The page is the worker's: a fence is delivered only if the VMM asked for it and it is
    * newer than the last one delivered (fence ids of a ring only grow). */
   for (uint32_t ring = 0; ring < PV_GPU_MAX_TIMELINES; ring++) {
      uint64_t id = atomic_load_explicit(&c->shared->ring_fence[ring], memory_order_acquire);
      if (id > c->fence_delivered[ring] && id <= c->fence_asked[ring])
         deliver(c, ring, id);
   }
   if (!alive) {
      lose(c, "(its events socket closed)");
      pv_virgl_context_poll(c);
   }
}

bool pv_virgl_global_fence(uint32_t fence_id, uint32_t ctx_id)
{
   if (pv_virgl.global_count == pv_virgl.global_capacity) {
      size_t capacity = pv_virgl.global_capacity ? 2 * pv_virgl.global_capacity : 64;
      struct pv_virgl_global_fence *grown =
            realloc(pv_virgl.global_fences, capacity * sizeof(*grown));
      if (!grown)
         return false;
      pv_virgl.global_fences = grown;
      pv_virgl.global_capacity = capacity;
   }
   struct pv_virgl_context *c = pv_virgl_context(ctx_id);
   struct pv_virgl_global_fence f = {.fence_id = fence_id};
   if (c && !c->lost) {
      const struct pv_wire_global_fence req = {.seq = c->global_sent + 1};
      if (pv_virgl_context_send(c, PV_WIRE_GLOBAL_FENCE, &req, sizeof(req))) {
         f.ctx_id = ctx_id;
         f.seq = ++c->global_sent;
      }
   }
   pv_virgl.global_fences[pv_virgl.global_count++] = f;
   return true;
}

void pv_virgl_global_poll(void)
{
   size_t done = 0;
   for (; done < pv_virgl.global_count; done++) {
      const struct pv_virgl_global_fence *f = &pv_virgl.global_fences[done];
      struct pv_virgl_context *c = f->ctx_id ? pv_virgl_context(f->ctx_id) : NULL;
      if (c && !c->lost &&
          atomic_load_explicit(&c->shared->global_seq, memory_order_acquire) < f->seq)
         break; /* later global fences wait behind it */
   }
   if (!done)
      return;
   uint32_t newest = pv_virgl.global_fences[done - 1].fence_id;
   pv_virgl.global_count -= done;
   memmove(pv_virgl.global_fences, pv_virgl.global_fences + done,
           pv_virgl.global_count * sizeof(*pv_virgl.global_fences));
   if (pv_virgl.cb->write_fence)
      pv_virgl.cb->write_fence(pv_virgl.cookie, newest);
}
