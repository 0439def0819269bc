/* Host waits a guest asks for (vkWaitForFences, vkWaitSemaphores) run in slices: a context
 * whose guest has gone, or that turned fatal, stops waiting within one slice instead of
 * holding its thread (and its worker process) for ever on a fence nobody will signal. */
#include "render/pv_render_forward.h"
#include "util/pv_os.h"

#define PV_WAIT_SLICE_NS 100000000ull /* 100 ms */

/* One host wait of at most timeout_ns. */
typedef VkResult (*pv_wait_fn)(const struct pv_vk_table *vk, const void *args, uint64_t timeout);

static VkResult sliced_wait(struct pv_venus_dispatch *d, pv_wait_fn wait, const void *args,
                            uint64_t timeout)
{
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   const uint64_t start = pv_os_now_ns();
   const uint64_t deadline = timeout > UINT64_MAX - start ? UINT64_MAX : start + timeout;
   for (;;) {
      uint64_t now = pv_os_now_ns();
      uint64_t left = deadline > now ? deadline - now : 0;
      uint64_t slice = left < PV_WAIT_SLICE_NS ? left : PV_WAIT_SLICE_NS;
      VkResult result = wait(ctx->vk, args, slice);
      if (result != VK_TIMEOUT || slice == left)
         return result;
      /* Nobody reads the reply of a fatal context: its guest has gone or will be told. */
      if (atomic_load_explicit(&ctx->fatal, memory_order_relaxed))
         return VK_ERROR_DEVICE_LOST;
   }
}

static VkResult wait_fences_once(const struct pv_vk_table *vk, const void *data, uint64_t timeout)
{
   const struct pv_cmd_vkWaitForFences *args = data;
   return vk->vkWaitForFences(args->device, args->fenceCount, args->pFences, args->waitAll,
                              timeout);
}

static void wait_for_fences(struct pv_venus_dispatch *d, struct pv_cmd_vkWaitForFences *args)
{
   args->ret = sliced_wait(d, wait_fences_once, args, args->timeout);
}

static VkResult wait_semaphores_once(const struct pv_vk_table *vk, const void *data,
                                     uint64_t timeout)
{
   const struct pv_cmd_vkWaitSemaphores *args = data;
   return vk->vkWaitSemaphores(args->device, args->pWaitInfo, timeout);
}

static void wait_semaphores(struct pv_venus_dispatch *d, struct pv_cmd_vkWaitSemaphores *args)
{
   if (!pv_render_vk(d)->vkWaitSemaphores) {
      pv_cs_fail(d->reader, "vkWaitSemaphores: the host driver lacks it");
      return;
   }
   args->ret = sliced_wait(d, wait_semaphores_once, args, args->timeout);
}

void pv_render_wait_init_dispatch(struct pv_venus_handlers *h)
{
   h->vkWaitForFences = wait_for_fences;
   h->vkWaitSemaphores = wait_semaphores;
}
