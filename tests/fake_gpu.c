/* A stand-in for the renderer behind pv_gpu.h that records what a transport asks of it. */
#include "fake_gpu.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct fake_gpu_state fake_gpu = {.lock = PTHREAD_MUTEX_INITIALIZER};

struct pv_gpu {
   int unused;
};

struct pv_gpu_context {
   bool fatal;
};

void fake_gpu_reset(void)
{
   pthread_mutex_lock(&fake_gpu.lock);
   size_t offset = offsetof(struct fake_gpu_state, fatal_submits);
   memset((char *)&fake_gpu + offset, 0, sizeof(fake_gpu) - offset);
   pthread_mutex_unlock(&fake_gpu.lock);
}

void fake_gpu_retire(uint32_t ring_idx)
{
   uint64_t ids[FAKE_GPU_MAX_FENCES];
   int count = 0;
   pthread_mutex_lock(&fake_gpu.lock);
   int kept = 0;
   for (int i = 0; i < fake_gpu.fence_count; i++) {
      if (fake_gpu.fences[i].ring_idx == ring_idx)
         ids[count++] = fake_gpu.fences[i].fence_id;
      else
         fake_gpu.fences[kept++] = fake_gpu.fences[i];
   }
   fake_gpu.fence_count = kept;
   pv_gpu_fence_retired_fn fn = fake_gpu.fence_retired;
   void *data = fake_gpu.fence_data;
   pthread_mutex_unlock(&fake_gpu.lock);
   for (int i = 0; fn && i < count; i++)
      fn(data, ring_idx, ids[i]);
}

void fake_gpu_capset(uint8_t capset[PV_GPU_CAPSET_MAX_SIZE])
{
   for (int i = 0; i < PV_GPU_CAPSET_MAX_SIZE; i++)
      capset[i] = (uint8_t)(i + 1);
}

struct pv_gpu *pv_gpu_create(const struct pv_gpu_options *options)
{
   pthread_mutex_lock(&fake_gpu.lock);
   fake_gpu.gpus_created++;
   pthread_mutex_unlock(&fake_gpu.lock);
   return calloc(1, sizeof(struct pv_gpu));
}

void pv_gpu_destroy(struct pv_gpu *gpu)
{
   pthread_mutex_lock(&fake_gpu.lock);
   fake_gpu.gpus_destroyed++;
   pthread_mutex_unlock(&fake_gpu.lock);
   free(gpu);
}

bool pv_gpu_prepare(struct pv_gpu *gpu)
{
   pthread_mutex_lock(&fake_gpu.lock);
   fake_gpu.gpus_prepared++;
   bool block = fake_gpu.block_prepare;
   pthread_mutex_unlock(&fake_gpu.lock);
   while (block)
      pause();
   return true;
}

bool pv_gpu_get_capset(struct pv_gpu *gpu, uint32_t id, uint32_t version, void *data, size_t *size)
{
   if (id != PV_GPU_CAPSET_VENUS || version != PV_GPU_CAPSET_VENUS_VERSION)
      return false;
   uint8_t capset[PV_GPU_CAPSET_MAX_SIZE];
   fake_gpu_capset(capset);
   *size = *size < sizeof(capset) ? *size : sizeof(capset);
   memcpy(data, capset, *size);
   return true;
}

struct pv_gpu_context *pv_gpu_context_create(struct pv_gpu *gpu,
                                             const struct pv_gpu_context_desc *desc)
{
   if (desc->capset_id != PV_GPU_CAPSET_VENUS)
      return NULL;
   pthread_mutex_lock(&fake_gpu.lock);
   fake_gpu.contexts_created++;
   fake_gpu.capset_id = desc->capset_id;
   strncpy(fake_gpu.debug_name, desc->debug_name, sizeof(fake_gpu.debug_name) - 1);
   fake_gpu.fence_retired = desc->fence_retired;
   fake_gpu.fence_data = desc->fence_data;
   pthread_mutex_unlock(&fake_gpu.lock);
   return calloc(1, sizeof(struct pv_gpu_context));
}

void pv_gpu_context_release(struct pv_gpu_context *ctx)
{
   pthread_mutex_lock(&fake_gpu.lock);
   fake_gpu.contexts_released++;
   pthread_mutex_unlock(&fake_gpu.lock);
}

void pv_gpu_context_destroy(struct pv_gpu_context *ctx)
{
   if (!ctx)
      return;
   pthread_mutex_lock(&fake_gpu.lock);
   fake_gpu.contexts_destroyed++;
   pthread_mutex_unlock(&fake_gpu.lock);
   free(ctx);
}

bool pv_gpu_context_submit(struct pv_gpu_context *ctx, const void *commands, size_t size)
{
   pthread_mutex_lock(&fake_gpu.lock);
   fake_gpu.submits++;
   if ((uintptr_t)commands % 4)
      fake_gpu.submit_misaligned = true;
   if (fake_gpu.submitted_size + size <= FAKE_GPU_MAX_SUBMITTED) {
      memcpy(fake_gpu.submitted + fake_gpu.submitted_size, commands, size);
      fake_gpu.submitted_size += size;
   }
   if (fake_gpu.fatal_submits)
      ctx->fatal = true;
   pthread_mutex_unlock(&fake_gpu.lock);
   return !ctx->fatal;
}

bool pv_gpu_context_is_fatal(const struct pv_gpu_context *ctx)
{
   return ctx->fatal;
}

void pv_gpu_context_cancel(struct pv_gpu_context *ctx, const char *why)
{
   ctx->fatal = true;
}

bool pv_gpu_resource_create_blob(struct pv_gpu_context *ctx, const struct pv_gpu_blob_desc *desc)
{
   pthread_mutex_lock(&fake_gpu.lock);
   fake_gpu.blobs++;
   fake_gpu.blob_type = desc->blob_mem;
   fake_gpu.blob_flags = desc->blob_flags;
   fake_gpu.blob_size = desc->size;
   fake_gpu.blob_id = desc->blob_id;
   fake_gpu.blob_res_id = desc->res_id;
   bool fail = fake_gpu.fail_blobs;
   pthread_mutex_unlock(&fake_gpu.lock);
   return !fail;
}

/* Any id gets a fresh memfd of the newest blob's size: the transport only passes it on. */
bool pv_gpu_resource_export(struct pv_gpu *gpu, uint32_t res_id, int *fd, uint32_t *fd_type)
{
   pthread_mutex_lock(&fake_gpu.lock);
   uint64_t size = fake_gpu.blob_size;
   pthread_mutex_unlock(&fake_gpu.lock);
   *fd = memfd_create("fake-blob", MFD_CLOEXEC);
   if (*fd < 0)
      return false;
   if (ftruncate(*fd, (off_t)size) != 0) {
      close(*fd);
      return false;
   }
   *fd_type = PV_GPU_FD_TYPE_SHM;
   return true;
}

bool pv_gpu_resource_unref(struct pv_gpu *gpu, uint32_t res_id)
{
   pthread_mutex_lock(&fake_gpu.lock);
   if (fake_gpu.unref_count < FAKE_GPU_MAX_UNREFS)
      fake_gpu.unrefs[fake_gpu.unref_count++] = res_id;
   pthread_mutex_unlock(&fake_gpu.lock);
   return true;
}

bool pv_gpu_context_submit_fence(struct pv_gpu_context *ctx, uint32_t ring_idx, uint64_t fence_id)
{
   if (ring_idx >= PV_GPU_MAX_TIMELINES)
      return false;
   pthread_mutex_lock(&fake_gpu.lock);
   bool ok = fake_gpu.fence_count < FAKE_GPU_MAX_FENCES;
   if (ok) {
      fake_gpu.fences[fake_gpu.fence_count].ring_idx = ring_idx;
      fake_gpu.fences[fake_gpu.fence_count].fence_id = fence_id;
      fake_gpu.fence_count++;
   }
   pthread_mutex_unlock(&fake_gpu.lock);
   return ok;
}

void pv_gpu_context_get_stats(struct pv_gpu_context *ctx, struct pv_gpu_context_stats *stats)
{
   pthread_mutex_lock(&fake_gpu.lock);
   fake_gpu.stats_calls++;
   *stats = (struct pv_gpu_context_stats){.commands = (uint64_t)fake_gpu.submits};
   pthread_mutex_unlock(&fake_gpu.lock);
}
