/* Host waits a guest asks for (vkWaitForFences, vkWaitSemaphores, vkGetQueryPoolResults with
 * VK_QUERY_RESULT_WAIT_BIT) run in slices: a context whose guest has gone, or that turned
 * fatal, stops waiting within one slice instead of holding its thread (and its worker
 * process) for ever on a fence nobody will signal or a query nobody will end. */
#include <time.h>

#include "render/pv_render_forward.h"
#include "util/pv_log.h"
#include "util/pv_os.h"

#define PV_WAIT_SLICE_NS 100000000ull /* 100 ms */
/* A query wait polls (Vulkan has no timeout for it): first at once, then with naps doubling
 * from 20 us to this cap, so a long wait costs a few hundred wake-ups a second at most. */
#define PV_QUERY_POLL_MAX_NS 2000000ull /* 2 ms */
/* A query wait this long is logged once: most likely a query that was never submitted. */
#define PV_QUERY_WAIT_REPORT_NS 10000000000ull /* 10 s */

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

/* With WAIT_BIT the driver would block until every query is available, which for a query the
 * guest never submits is for ever. Asked without it, the driver answers VK_NOT_READY until
 * then, and VK_SUCCESS with exactly the data the waiting call writes once they all are. */
static void get_query_pool_results(struct pv_venus_dispatch *d,
                                   struct pv_cmd_vkGetQueryPoolResults *args)
{
   const struct pv_vk_table *vk = pv_render_vk(d);
   if (!vk || !vk->vkGetQueryPoolResults) {
      pv_cs_fail(d->reader, "vkGetQueryPoolResults: %s",
                 vk ? "the host driver lacks it" : "before vkCreateInstance");
      return;
   }
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   const VkQueryResultFlags flags = args->flags & ~(VkQueryResultFlags)VK_QUERY_RESULT_WAIT_BIT;
   const uint64_t start = pv_os_now_ns();
   bool reported = false;
   for (uint64_t nap_ns = 20000;;
        nap_ns = nap_ns * 2 < PV_QUERY_POLL_MAX_NS ? nap_ns * 2 : PV_QUERY_POLL_MAX_NS) {
      args->ret = vk->vkGetQueryPoolResults(args->device, args->queryPool, args->firstQuery,
                                            args->queryCount, args->dataSize, args->pData,
                                            args->stride, flags);
      if (args->ret != VK_NOT_READY || flags == args->flags)
         return;
      if (atomic_load_explicit(&ctx->fatal, memory_order_relaxed)) {
         args->ret = VK_ERROR_DEVICE_LOST;
         return;
      }
      if (!reported && pv_os_now_ns() - start >= PV_QUERY_WAIT_REPORT_NS) {
         reported = true;
         pv_warn("%s: vkGetQueryPoolResults has waited %llu s for queries %u..%u (never "
                 "submitted?); still waiting",
                 ctx->name, PV_QUERY_WAIT_REPORT_NS / 1000000000ull, args->firstQuery,
                 args->firstQuery + args->queryCount - 1);
      }
      nanosleep(&(struct timespec){.tv_nsec = (long)nap_ns}, NULL);
   }
}

void pv_render_wait_init_dispatch(struct pv_venus_handlers *h)
{
   h->vkWaitForFences = wait_for_fences;
   h->vkWaitSemaphores = wait_semaphores;
   h->vkGetQueryPoolResults = get_query_pool_results;
}
