/* Blob resources: shared memory both sides map (shm for rings and pools, host-visible
 * VkDeviceMemory, or guest pages a VMM hands us), named by the caller's resource ids,
 * mapped and exported on request, attached to the contexts that may use them. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "render/pv_render.h"
#include "util/pv_log.h"
#include "util/pv_os.h"

/* Larger than any GPU's memory: a size beyond it is a guest's lie, not a request. */
#define PV_RESOURCE_MAX_SIZE (1ull << 40)

static struct pv_render_shmem *shmem_new(int fd, void *map, size_t size)
{
   struct pv_render_shmem *shmem = calloc(1, sizeof(*shmem));
   if (!shmem)
      return NULL;
   *shmem = (struct pv_render_shmem){.fd = fd, .map = map, .size = size};
   atomic_init(&shmem->refs, 1);
   return shmem;
}

struct pv_render_shmem *pv_render_shmem_create(size_t size)
{
   int fd = pv_os_memfd_create("pearvisor-blob", size);
   if (fd < 0)
      return NULL;
   void *map = pv_os_map_shared(fd, size);
   struct pv_render_shmem *shmem = map ? shmem_new(fd, map, size) : NULL;
   if (!shmem) {
      if (map)
         pv_os_unmap(map, size);
      close(fd);
   }
   return shmem;
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
   /* Guest pages (fd -1) belong to the VMM: nothing of ours to unmap. */
   if (shmem->fd >= 0) {
      pv_os_unmap(shmem->map, shmem->size);
      close(shmem->fd);
   }
   free(shmem);
}

struct pv_render_shmem *pv_render_resource_shmem(struct pv_gpu_context *ctx, uint32_t res_id)
{
   pthread_mutex_lock(&ctx->lock);
   bool attached = pv_hash_lookup(&ctx->attached, res_id) != NULL;
   pthread_mutex_unlock(&ctx->lock);
   if (!attached)
      return NULL;
   pthread_mutex_lock(&ctx->gpu->lock);
   struct pv_render_resource *res = pv_hash_lookup(&ctx->gpu->resources, res_id);
   struct pv_render_shmem *shmem = res ? pv_render_shmem_ref(res->shmem) : NULL;
   pthread_mutex_unlock(&ctx->gpu->lock);
   if (res && !shmem)
      pv_error("%s: resource %u is guest memory in several ranges; Venus shared memory must "
               "be contiguous",
               ctx->name, res_id);
   return shmem;
}

/* The shared memory of a memory object for a blob of size bytes; NULL (logged) if it has
 * none to give. */
static struct pv_render_shmem *memory_blob(struct pv_gpu_context *ctx, struct pv_render_memory *mem,
                                           uint64_t blob_id, uint64_t size)
{
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

/* The memory object a HOST3D blob with a non-zero blob id names: the guest passes the
 * VkDeviceMemory's object id as the blob id. */
static struct pv_render_shmem *memory_shmem(struct pv_gpu_context *ctx, uint64_t blob_id,
                                            uint64_t size)
{
   struct pv_render_object *obj = pv_render_object_get(ctx, blob_id, VK_OBJECT_TYPE_DEVICE_MEMORY);
   struct pv_render_shmem *shmem = NULL;
   if (obj && obj->data)
      shmem = memory_blob(ctx, obj->data, blob_id, size);
   else
      pv_error("%s: blob for unknown memory id %llu", ctx->name, (unsigned long long)blob_id);
   pv_render_object_put(ctx, obj);
   return shmem;
}

/* Guest pages: usable as Venus shared memory only when they are one range. */
static bool guest_shmem(struct pv_gpu_context *ctx, const struct pv_gpu_blob_desc *desc,
                        struct pv_render_shmem **shmem)
{
   uint64_t total = 0;
   for (uint32_t i = 0; i < desc->iovec_count; i++)
      total += desc->iovecs[i].iov_len;
   if (!desc->iovecs || desc->iovec_count == 0 || total < desc->size) {
      pv_error("%s: guest blob of %llu bytes backed by %u ranges of %llu bytes in all", ctx->name,
               (unsigned long long)desc->size, desc->iovec_count, (unsigned long long)total);
      return false;
   }
   *shmem = NULL;
   if (desc->iovec_count == 1) {
      *shmem = shmem_new(-1, desc->iovecs[0].iov_base, desc->size);
      if (!*shmem)
         return false;
   }
   return true;
}

static bool attach(struct pv_gpu_context *ctx, struct pv_render_resource *res)
{
   pthread_mutex_lock(&ctx->lock);
   bool ok = pv_hash_lookup(&ctx->attached, res->res_id) ||
             pv_hash_insert(&ctx->attached, res->res_id, res);
   pthread_mutex_unlock(&ctx->lock);
   return ok;
}

bool pv_gpu_resource_create_blob(struct pv_gpu_context *ctx, const struct pv_gpu_blob_desc *desc)
{
   struct pv_gpu *gpu = ctx->gpu;
   if (desc->res_id == 0 || desc->size == 0 || desc->size > PV_RESOURCE_MAX_SIZE ||
       (desc->blob_flags & PV_GPU_BLOB_FLAG_CROSS_DEVICE)) {
      pv_error("%s: blob %u: type %u, flags %#x, %llu bytes not supported", ctx->name, desc->res_id,
               desc->blob_mem, desc->blob_flags, (unsigned long long)desc->size);
      return false;
   }
   struct pv_render_shmem *shmem = NULL;
   switch (desc->blob_mem) {
   case PV_GPU_BLOB_MEM_HOST3D:
      shmem = desc->blob_id ? memory_shmem(ctx, desc->blob_id, desc->size)
                            : pv_render_shmem_create(desc->size);
      if (!shmem)
         return false;
      break;
   case PV_GPU_BLOB_MEM_GUEST:
   case PV_GPU_BLOB_MEM_HOST3D_GUEST:
      if (!guest_shmem(ctx, desc, &shmem))
         return false;
      break;
   default:
      pv_error("%s: blob %u: unknown blob memory type %u", ctx->name, desc->res_id, desc->blob_mem);
      return false;
   }
   struct pv_render_resource *res = calloc(1, sizeof(*res));
   if (!res)
      goto fail;
   *res = (struct pv_render_resource){
         .res_id = desc->res_id,
         .blob_flags = desc->blob_flags,
         .size = desc->size,
         .shmem = shmem,
   };
   pthread_mutex_lock(&gpu->lock);
   bool inserted = pv_hash_insert(&gpu->resources, res->res_id, res);
   pthread_mutex_unlock(&gpu->lock);
   if (!inserted) {
      pv_error("%s: blob %u: resource id already in use", ctx->name, desc->res_id);
      goto fail;
   }
   if (!attach(ctx, res)) {
      pv_gpu_resource_unref(gpu, res->res_id);
      return false;
   }
   return true;
fail:
   free(res);
   pv_render_shmem_unref(shmem);
   return false;
}

static void detach_from(struct pv_gpu *gpu, uint32_t res_id)
{
   for (struct pv_gpu_context *ctx = gpu->contexts; ctx; ctx = ctx->next) {
      pthread_mutex_lock(&ctx->lock);
      pv_hash_remove(&ctx->attached, res_id);
      pthread_mutex_unlock(&ctx->lock);
   }
}

static void free_resource(struct pv_render_resource *res)
{
   pv_render_shmem_unref(res->shmem);
   free(res);
}

bool pv_gpu_resource_unref(struct pv_gpu *gpu, uint32_t res_id)
{
   /* Rings and reply streams hold their own shmem references, so what a context is using
    * stays valid until it lets go. */
   pthread_mutex_lock(&gpu->lock);
   struct pv_render_resource *res = pv_hash_remove(&gpu->resources, res_id);
   if (res)
      detach_from(gpu, res_id);
   pthread_mutex_unlock(&gpu->lock);
   if (!res)
      return false;
   free_resource(res);
   return true;
}

bool pv_gpu_resource_map(struct pv_gpu *gpu, uint32_t res_id, void **ptr, uint64_t *size,
                         uint32_t *map_info)
{
   pthread_mutex_lock(&gpu->lock);
   struct pv_render_resource *res = pv_hash_lookup(&gpu->resources, res_id);
   const char *why = !res                                             ? "unknown resource"
                     : !(res->blob_flags & PV_GPU_BLOB_FLAG_MAPPABLE) ? "not mappable"
                     : !res->shmem                                    ? "guest pages in ranges"
                     : res->mapped                                    ? "already mapped"
                                                                      : NULL;
   if (!why) {
      /* The renderer's own mapping of the memfd (or the guest's pages): the VMM shows the
       * guest the very pages the host driver uses, so nothing is ever copied. */
      res->mapped = true;
      *ptr = res->shmem->map;
      *size = res->size;
      *map_info = PV_GPU_MAP_CACHE_CACHED;
   }
   pthread_mutex_unlock(&gpu->lock);
   if (why)
      pv_error("map of resource %u refused: %s", res_id, why);
   return !why;
}

bool pv_gpu_resource_unmap(struct pv_gpu *gpu, uint32_t res_id)
{
   pthread_mutex_lock(&gpu->lock);
   struct pv_render_resource *res = pv_hash_lookup(&gpu->resources, res_id);
   bool ok = res && res->mapped;
   if (ok)
      res->mapped = false;
   pthread_mutex_unlock(&gpu->lock);
   if (!ok)
      pv_error("unmap of resource %u refused: %s", res_id, res ? "not mapped" : "unknown");
   return ok;
}

bool pv_gpu_resource_export(struct pv_gpu *gpu, uint32_t res_id, int *fd, uint32_t *fd_type)
{
   pthread_mutex_lock(&gpu->lock);
   struct pv_render_resource *res = pv_hash_lookup(&gpu->resources, res_id);
   int dup_fd =
         res && res->shmem && res->shmem->fd >= 0 ? fcntl(res->shmem->fd, F_DUPFD_CLOEXEC, 0) : -1;
   pthread_mutex_unlock(&gpu->lock);
   if (dup_fd < 0) {
      pv_error("export of resource %u refused: %s", res_id,
               !res ? "unknown resource" : "no host memory to share");
      return false;
   }
   *fd = dup_fd;
   *fd_type = PV_GPU_FD_TYPE_SHM;
   return true;
}

bool pv_gpu_context_attach_resource(struct pv_gpu_context *ctx, uint32_t res_id)
{
   pthread_mutex_lock(&ctx->gpu->lock);
   struct pv_render_resource *res = pv_hash_lookup(&ctx->gpu->resources, res_id);
   bool ok = res && attach(ctx, res);
   pthread_mutex_unlock(&ctx->gpu->lock);
   if (!res)
      pv_error("%s: attach of unknown resource %u", ctx->name, res_id);
   return ok;
}

void pv_gpu_context_detach_resource(struct pv_gpu_context *ctx, uint32_t res_id)
{
   pthread_mutex_lock(&ctx->lock);
   pv_hash_remove(&ctx->attached, res_id);
   pthread_mutex_unlock(&ctx->lock);
}

void pv_render_resources_detach_all(struct pv_gpu_context *ctx)
{
   pthread_mutex_lock(&ctx->lock);
   pv_hash_finish(&ctx->attached);
   pv_hash_init(&ctx->attached);
   pthread_mutex_unlock(&ctx->lock);
}

static void free_entry(uint64_t key, void *value, void *data)
{
   free_resource(value);
}

void pv_render_resources_finish(struct pv_gpu *gpu)
{
   pthread_mutex_lock(&gpu->lock);
   for (struct pv_gpu_context *ctx = gpu->contexts; ctx; ctx = ctx->next)
      pv_render_resources_detach_all(ctx);
   pv_hash_foreach(&gpu->resources, free_entry, NULL);
   pv_hash_finish(&gpu->resources);
   pv_hash_init(&gpu->resources);
   pthread_mutex_unlock(&gpu->lock);
}
