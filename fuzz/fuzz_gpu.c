/* The real renderer for the executing harnesses (fuzz_gpu.h). */
#include "fuzz_gpu.h"

#include <stdio.h>
#include <stdlib.h>

#include "util/pv_log.h"

static struct pv_gpu *gpu;
static void *ring_map;

static void fence_retired(void *data, uint32_t ring_idx, uint64_t fence_id)
{
   (void)data, (void)ring_idx, (void)fence_id;
}

struct pv_gpu *pv_fuzz_gpu(void)
{
   if (gpu)
      return gpu;
   /* Before the loader reads it (the first vkCreateInstance, on a later input). Both names:
    * loaders before 1.3.207 know only the older one. */
   setenv("VK_DRIVER_FILES", "/usr/share/vulkan/icd.d/lvp_icd.json", 0);
   setenv("VK_ICD_FILENAMES", "/usr/share/vulkan/icd.d/lvp_icd.json", 0);
   /* Rejected inputs warn on the way to their fatal error; only the error is worth a line
    * per input. PV_LOG=info brings the rest back for a replay. */
   if (!getenv("PV_LOG"))
      pv_log_set_level(PV_LOG_ERROR);
   gpu = pv_gpu_create(NULL);
   if (!gpu)
      abort();
   return gpu;
}

static void create_shm(struct pv_gpu_context *ctx, uint32_t res_id, uint64_t size)
{
   const struct pv_gpu_blob_desc desc = {.res_id = res_id,
                                         .blob_mem = PV_GPU_BLOB_MEM_HOST3D,
                                         .blob_flags = PV_GPU_BLOB_FLAG_MAPPABLE,
                                         .size = size};
   if (!pv_gpu_resource_create_blob(ctx, &desc))
      abort();
}

struct pv_gpu_context *pv_fuzz_context_begin(void)
{
   const struct pv_gpu_context_desc desc = {
         .capset_id = PV_GPU_CAPSET_VENUS, .debug_name = "fuzz", .fence_retired = fence_retired};
   struct pv_gpu_context *ctx = pv_gpu_context_create(pv_fuzz_gpu(), &desc);
   if (!ctx)
      abort();
   create_shm(ctx, PV_FUZZ_RING_RES, PV_FUZZ_RING_RES_SIZE);
   create_shm(ctx, PV_FUZZ_REPLY_RES, PV_FUZZ_REPLY_RES_SIZE);
   uint64_t size;
   uint32_t map_info;
   if (!pv_gpu_resource_map(gpu, PV_FUZZ_RING_RES, &ring_map, &size, &map_info))
      abort();
   return ctx;
}

uint8_t *pv_fuzz_ring_memory(void)
{
   return ring_map;
}

void pv_fuzz_context_end(struct pv_gpu_context *ctx)
{
   pv_gpu_context_destroy(ctx);
   pv_gpu_resource_unref(gpu, PV_FUZZ_RING_RES);
   pv_gpu_resource_unref(gpu, PV_FUZZ_REPLY_RES);
   ring_map = NULL;
}
