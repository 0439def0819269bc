/* Fence delivery: straight from the renderer thread that saw the fence retire, or through a
 * mailbox the caller empties with pv_gpu_context_poll on its own thread (a VMM whose
 * callbacks must run on its main loop). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "render/pv_render.h"
#include "util/pv_log.h"

static bool polled(const struct pv_gpu_context *ctx)
{
   return ctx->flags & PV_GPU_CONTEXT_POLL_FENCES;
}

bool pv_render_mailbox_init(struct pv_gpu_context *ctx)
{
   struct pv_render_fence_mailbox *box = &ctx->mailbox;
   box->fd = -1;
   if (!polled(ctx))
      return true;
   box->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
   if (box->fd < 0) {
      pv_error("%s: no eventfd for fence polling: %s", ctx->name, strerror(errno));
      return false;
   }
   pthread_mutex_init(&box->lock, NULL);
   return true;
}

void pv_render_mailbox_finish(struct pv_gpu_context *ctx)
{
   struct pv_render_fence_mailbox *box = &ctx->mailbox;
   if (box->fd < 0)
      return;
   close(box->fd);
   box->fd = -1;
   pthread_mutex_destroy(&box->lock);
}

void pv_render_fence_retire(struct pv_gpu_context *ctx, uint32_t ring_idx, uint64_t fence_id)
{
   if (!polled(ctx)) {
      ctx->fence_retired(ctx->fence_data, ring_idx, fence_id);
      return;
   }
   /* Fences of a ring retire in order, so keeping the newest loses nothing the VMM needs:
    * it retires every fence of the ring up to that id. */
   struct pv_render_fence_mailbox *box = &ctx->mailbox;
   pthread_mutex_lock(&box->lock);
   bool was_empty = box->rings == 0;
   box->rings |= 1ull << ring_idx;
   box->newest[ring_idx] = fence_id;
   pthread_mutex_unlock(&box->lock);
   const uint64_t one = 1;
   if (was_empty && write(box->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
      pv_error("%s: cannot signal the fence poll fd: %s", ctx->name, strerror(errno));
}

int pv_gpu_context_poll_fd(struct pv_gpu_context *ctx)
{
   return ctx->mailbox.fd;
}

void pv_gpu_context_poll(struct pv_gpu_context *ctx)
{
   struct pv_render_fence_mailbox *box = &ctx->mailbox;
   if (box->fd < 0)
      return;
   uint64_t count, newest[PV_GPU_MAX_TIMELINES];
   pthread_mutex_lock(&box->lock);
   /* Drained under the lock, so a retire racing with us either lands in this batch or
    * writes the eventfd again after we emptied it. */
   if (read(box->fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
      pv_error("%s: cannot read the fence poll fd: %s", ctx->name, strerror(errno));
   uint64_t rings = box->rings;
   box->rings = 0;
   for (uint64_t left = rings; left; left &= left - 1)
      newest[__builtin_ctzll(left)] = box->newest[__builtin_ctzll(left)];
   pthread_mutex_unlock(&box->lock);
   for (uint64_t left = rings; left; left &= left - 1) {
      uint32_t ring_idx = (uint32_t)__builtin_ctzll(left);
      ctx->fence_retired(ctx->fence_data, ring_idx, newest[ring_idx]);
   }
}
