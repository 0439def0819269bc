/* Blob resources: shared memory the guest maps (shm for rings and pools, host-visible
 * VkDeviceMemory), named by per-context resource ids. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "render/pv_render.h"
#include "util/pv_log.h"
#include "util/pv_os.h"

struct pv_render_shmem *pv_render_shmem_create(size_t size)
{
   struct pv_render_shmem *shmem = calloc(1, sizeof(*shmem));
   if (!shmem)
      return NULL;
   shmem->fd = pv_os_memfd_create("pearvisor-blob", size);
   if (shmem->fd < 0)
      goto fail_free;
   shmem->map = pv_os_map_shared(shmem->fd, size);
   if (!shmem->map)
      goto fail_close;
   shmem->size = size;
   atomic_init(&shmem->refs, 1);
   return shmem;
fail_close:
   close(shmem->fd);
fail_free:
   free(shmem);
   return NULL;
}

struct pv_render_shmem *pv_render_shmem_ref(struct pv_render_shmem *shmem)
{
   if (shmem)
      atomic_fetch_add(&shmem->refs, 1);
   return shmem;
}

void pv_render_shmem_unref(struct pv_render_shmem *shmem)
{
   if (!shmem || atomic_fetch_sub(&shmem->refs, 1) != 1)
      return;
   pv_os_unmap(shmem->map, shmem->size);
   close(shmem->fd);
   free(shmem);
}

struct pv_render_shmem *pv_render_resource_shmem(struct pv_gpu_context *ctx, uint32_t res_id)
{
   pthread_mutex_lock(&ctx->lock);
   struct pv_render_resource *res = pv_hash_lookup(&ctx->resources, res_id);
   struct pv_render_shmem *shmem = res ? pv_render_shmem_ref(res->shmem) : NULL;
   pthread_mutex_unlock(&ctx->lock);
   return shmem;
}

/* The memory object a HOST3D blob with a non-zero blob id names (venus.md §10). */
static struct pv_render_shmem *memory_shmem(struct pv_gpu_context *ctx, uint64_t blob_id,
                                            uint64_t size)
{
   struct pv_render_object *obj = pv_render_object_get(ctx, blob_id, VK_OBJECT_TYPE_DEVICE_MEMORY);
   if (!obj || !obj->data) {
      pv_error("%s: blob for unknown memory id %llu", ctx->name, (unsigned long long)blob_id);
      return NULL;
   }
   struct pv_render_memory *mem = obj->data;
   if (!mem->shmem) {
      pv_error("%s: memory %llu is not host-visible, the guest cannot map it", ctx->name,
               (unsigned long long)blob_id);
      return NULL;
   }
   if (mem->exported || size > mem->shmem->size) {
      pv_error("%s: memory %llu: blob already made or larger than the memory", ctx->name,
               (unsigned long long)blob_id);
      return NULL;
   }
   mem->exported = true;
   return pv_render_shmem_ref(mem->shmem);
}

bool pv_gpu_context_create_blob(struct pv_gpu_context *ctx, uint32_t blob_type, uint32_t blob_flags,
                                uint64_t size, uint64_t blob_id, uint32_t *res_id, int *fd)
{
   if (blob_type != PV_GPU_BLOB_TYPE_HOST3D || size == 0 || size > (1ull << 40) ||
       (blob_flags & PV_GPU_BLOB_FLAG_CROSS_DEVICE)) {
      pv_error("%s: blob type %u flags 0x%x size %llu not supported", ctx->name, blob_type,
               blob_flags, (unsigned long long)size);
      return false;
   }
   struct pv_render_shmem *shmem =
         blob_id ? memory_shmem(ctx, blob_id, size) : pv_render_shmem_create(size);
   if (!shmem)
      return false;
   struct pv_render_resource *res = calloc(1, sizeof(*res));
   int dup_fd = fcntl(shmem->fd, F_DUPFD_CLOEXEC, 0);
   if (!res || dup_fd < 0)
      goto fail;
   res->shmem = shmem;
   pthread_mutex_lock(&ctx->lock);
   do {
      res->res_id = ++ctx->next_res_id;
   } while (res->res_id == 0 || pv_hash_lookup(&ctx->resources, res->res_id));
   bool inserted = pv_hash_insert(&ctx->resources, res->res_id, res);
   pthread_mutex_unlock(&ctx->lock);
   if (!inserted)
      goto fail;
   *res_id = res->res_id;
   *fd = dup_fd;
   return true;
fail:
   if (dup_fd >= 0)
      close(dup_fd);
   free(res);
   pv_render_shmem_unref(shmem);
   return false;
}

void pv_gpu_context_unref_resource(struct pv_gpu_context *ctx, uint32_t res_id)
{
   pthread_mutex_lock(&ctx->lock);
   struct pv_render_resource *res = pv_hash_remove(&ctx->resources, res_id);
   pthread_mutex_unlock(&ctx->lock);
   if (!res)
      return;
   pv_render_shmem_unref(res->shmem);
   free(res);
}

static void free_resource(uint64_t key, void *value, void *data)
{
   struct pv_render_resource *res = value;
   pv_render_shmem_unref(res->shmem);
   free(res);
}

void pv_render_resources_finish(struct pv_gpu_context *ctx)
{
   pv_hash_foreach(&ctx->resources, free_resource, NULL);
   pv_hash_finish(&ctx->resources);
}
