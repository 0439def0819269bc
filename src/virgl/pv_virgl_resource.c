/* virglrenderer's ABI, resource side: Venus blobs (made by a context's worker; the library
 * holds their memfds, and maps and exports them zero-copy) and 2D resources (the guest
 * console and cursor) kept in host memory. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/pv_log.h"
#include "virgl/pv_virgl.h"

/* Larger than any display: a 2D size beyond it is a lie, not a request. */
#define PV_VIRGL_MAX_2D_EXTENT 16384u
/* Every 2D format a virtio-gpu guest uses for its console and cursor has 4 bytes a pixel. */
#define PV_VIRGL_2D_BYTES_PER_PIXEL 4u
/* The pipe texture target of a plain 2D image. */
#define PV_VIRGL_TARGET_2D 2u

struct pv_virgl_resource *pv_virgl_resource(uint32_t res_id)
{
   return pv_virgl.gpu ? pv_hash_lookup(&pv_virgl.resources, res_id) : NULL;
}

/* Tells the blob's worker, if it is still there, about the resource. */
static void tell_owner(const struct pv_virgl_resource *res, uint32_t op)
{
   struct pv_virgl_context *owner = res->owner ? pv_virgl_context(res->owner) : NULL;
   const struct pv_wire_resource req = {.res_id = res->res_id};
   if (owner)
      pv_virgl_context_send(owner, op, &req, sizeof(req));
}

static void unmap_blob(struct pv_virgl_resource *res)
{
   if (res->map)
      munmap(res->map, res->size);
   res->map = NULL;
}

static void free_resource(struct pv_virgl_resource *res)
{
   if (res->blob) {
      tell_owner(res, PV_WIRE_UNREF);
      unmap_blob(res);
      close(res->fd);
   }
   free(res->pixels);
   free(res);
}

static bool remember(struct pv_virgl_resource *res)
{
   if (pv_hash_insert(&pv_virgl.resources, res->res_id, res))
      return true;
   pv_error("resource %u: id 0 or already in use", res->res_id);
   return false;
}

PV_VIRGL_EXPORT int virgl_renderer_resource_create(struct virgl_renderer_resource_create_args *args,
                                                   struct iovec *iov, uint32_t num_iovs)
{
   if (args->target != PV_VIRGL_TARGET_2D || args->depth > 1 || args->array_size > 1 ||
       args->last_level || args->nr_samples > 1) {
      pv_virgl_log_gl_once(PV_VIRGL_GL_3D_RESOURCE, "resource_create (a GL 3D resource)");
      return -EINVAL;
   }
   if (args->width == 0 || args->height == 0 || args->width > PV_VIRGL_MAX_2D_EXTENT ||
       args->height > PV_VIRGL_MAX_2D_EXTENT) {
      pv_error("resource_create %u: %ux%u is not a 2D size we serve", args->handle, args->width,
               args->height);
      return -EINVAL;
   }
   struct pv_virgl_resource *res = calloc(1, sizeof(*res));
   if (!res)
      return -ENOMEM;
   *res = (struct pv_virgl_resource){
         .res_id = args->handle,
         .format = args->format,
         .width = args->width,
         .height = args->height,
         .stride = args->width * PV_VIRGL_2D_BYTES_PER_PIXEL,
         .flags = args->flags,
         .iov = iov,
         .iov_count = (int)num_iovs,
   };
   res->pixels = calloc(res->height, res->stride);
   pthread_mutex_lock(&pv_virgl.lock);
   bool ok = res->pixels && pv_virgl_gpu() && remember(res);
   pthread_mutex_unlock(&pv_virgl.lock);
   if (!ok) {
      free(res->pixels);
      free(res);
      return -EINVAL;
   }
   return 0;
}

/* Only HOST3D: the worker cannot reach guest pages, which are the VMM's memory (GUEST and
 * HOST3D_GUEST blobs; the stock guest uses HOST3D, since the capset offers blob id 0). */
PV_VIRGL_EXPORT int
virgl_renderer_resource_create_blob(const struct virgl_renderer_resource_create_blob_args *args)
{
   pthread_mutex_lock(&pv_virgl.lock);
   int ret = -EINVAL;
   struct pv_virgl_context *c = pv_virgl_context(args->ctx_id);
   struct pv_virgl_resource *res = NULL;
   if (!c || args->blob_mem != PV_GPU_BLOB_MEM_HOST3D || args->res_handle == 0 ||
       pv_virgl_resource(args->res_handle)) {
      pv_error("resource_create_blob %u: %s", args->res_handle,
               !c ? "unknown context (blobs need a Venus context)"
               : args->blob_mem != PV_GPU_BLOB_MEM_HOST3D ? "only host (HOST3D) blobs are served"
                                                          : "id 0 or already in use");
      goto out;
   }
   const struct pv_wire_create_blob req = {
         .res_id = args->res_handle,
         .blob_mem = args->blob_mem,
         .blob_flags = args->blob_flags,
         .blob_id = args->blob_id,
         .size = args->size,
   };
   int fd = pv_virgl_context_create_blob(c, &req);
   res = fd >= 0 ? calloc(1, sizeof(*res)) : NULL;
   if (!res) {
      if (fd >= 0)
         close(fd);
      goto out;
   }
   *res = (struct pv_virgl_resource){
         .res_id = args->res_handle,
         .blob = true,
         .owner = args->ctx_id,
         .fd = fd,
         .size = args->size,
         .mappable = args->blob_flags & PV_GPU_BLOB_FLAG_MAPPABLE,
   };
   if (!remember(res)) {
      free_resource(res);
      goto out;
   }
   ret = 0;
out:
   pthread_mutex_unlock(&pv_virgl.lock);
   return ret;
}

PV_VIRGL_EXPORT void virgl_renderer_resource_unref(uint32_t res_handle)
{
   pthread_mutex_lock(&pv_virgl.lock);
   struct pv_virgl_resource *res =
         pv_virgl.gpu ? pv_hash_remove(&pv_virgl.resources, res_handle) : NULL;
   if (res)
      free_resource(res);
   else
      pv_error("resource_unref of unknown resource %u", res_handle);
   pthread_mutex_unlock(&pv_virgl.lock);
}

static void free_entry(uint64_t key, void *value, void *data)
{
   free_resource(value);
}

static void orphan_entry(uint64_t key, void *value, void *data)
{
   struct pv_virgl_resource *res = value;
   if (res->owner == *(const uint32_t *)data)
      res->owner = 0;
}

void pv_virgl_resources_orphan(uint32_t ctx_id)
{
   pv_hash_foreach(&pv_virgl.resources, orphan_entry, &ctx_id);
}

void pv_virgl_resources_finish(void)
{
   pv_hash_foreach(&pv_virgl.resources, free_entry, NULL);
   pv_hash_finish(&pv_virgl.resources);
   pv_hash_init(&pv_virgl.resources);
}

/* Runs fn on the resource under the lock; -EINVAL for an unknown id. */
#define WITH_RESOURCE(res_id, call)                                                                \
   do {                                                                                            \
      pthread_mutex_lock(&pv_virgl.lock);                                                          \
      struct pv_virgl_resource *res = pv_virgl_resource(res_id);                                   \
      int ret_ = res ? (call) : -EINVAL;                                                           \
      if (!res)                                                                                    \
         pv_error("%s: unknown resource %u", __func__, (unsigned)(res_id));                        \
      pthread_mutex_unlock(&pv_virgl.lock);                                                        \
      return ret_;                                                                                 \
   } while (0)

/* The VMM's own shared mapping of the memfd: the worker, its GPU driver and the guest see
 * the same pages. */
static int blob_map(struct pv_virgl_resource *res, void **map, uint64_t *size)
{
   if (!res->blob || !res->mappable || res->map)
      return -EINVAL;
   void *p = mmap(NULL, res->size, PROT_READ | PROT_WRITE, MAP_SHARED, res->fd, 0);
   if (p == MAP_FAILED)
      return -errno;
   res->map = *map = p;
   *size = res->size;
   return 0;
}

static int blob_unmap(struct pv_virgl_resource *res)
{
   if (!res->map)
      return -EINVAL;
   unmap_blob(res);
   return 0;
}

PV_VIRGL_EXPORT int virgl_renderer_resource_map(uint32_t res_handle, void **map, uint64_t *out_size)
{
   WITH_RESOURCE(res_handle, blob_map(res, map, out_size));
}

PV_VIRGL_EXPORT int virgl_renderer_resource_unmap(uint32_t res_handle)
{
   WITH_RESOURCE(res_handle, blob_unmap(res));
}

/* Every mapping is a cached memfd mapping. */
PV_VIRGL_EXPORT int virgl_renderer_resource_get_map_info(uint32_t res_handle, uint32_t *map_info)
{
   WITH_RESOURCE(res_handle, res->blob ? (*map_info = PV_GPU_MAP_CACHE_CACHED, 0) : -EINVAL);
}

static int blob_export(struct pv_virgl_resource *res, uint32_t *fd_type, int *fd)
{
   if (!res->blob)
      return -EINVAL;
   *fd = fcntl(res->fd, F_DUPFD_CLOEXEC, 0);
   *fd_type = PV_GPU_FD_TYPE_SHM;
   return *fd >= 0 ? 0 : -errno;
}

PV_VIRGL_EXPORT int virgl_renderer_resource_export_blob(uint32_t res_id, uint32_t *fd_type, int *fd)
{
   WITH_RESOURCE(res_id, blob_export(res, fd_type, fd));
}

static int fill_info(const struct pv_virgl_resource *res, struct virgl_renderer_resource_info *info)
{
   *info = (struct virgl_renderer_resource_info){
         .handle = res->res_id,
         .virgl_format = res->format,
         .width = res->width,
         .height = res->height,
         .depth = 1,
         .flags = res->flags,
         .stride = res->stride,
         .fd = -1, /* no dma-buf: blobs are memfds, 2D resources plain memory */
   };
   return 0;
}

PV_VIRGL_EXPORT int virgl_renderer_resource_get_info(int res_handle,
                                                     struct virgl_renderer_resource_info *info)
{
   WITH_RESOURCE((uint32_t)res_handle, fill_info(res, info));
}

PV_VIRGL_EXPORT int
virgl_renderer_resource_get_info_ext(int res_handle, struct virgl_renderer_resource_info_ext *ext)
{
   memset(&ext->has_dmabuf_export, 0,
          sizeof(*ext) - offsetof(struct virgl_renderer_resource_info_ext, has_dmabuf_export));
   WITH_RESOURCE((uint32_t)res_handle, fill_info(res, &ext->base));
}

static int attach_iov(struct pv_virgl_resource *res, struct iovec *iov, int count)
{
   if (res->blob || res->iov)
      return -EINVAL;
   res->iov = iov;
   res->iov_count = count;
   return 0;
}

PV_VIRGL_EXPORT int virgl_renderer_resource_attach_iov(int res_handle, struct iovec *iov,
                                                       int num_iovs)
{
   WITH_RESOURCE((uint32_t)res_handle, attach_iov(res, iov, num_iovs));
}

PV_VIRGL_EXPORT void virgl_renderer_resource_detach_iov(int res_handle, struct iovec **iov,
                                                        int *num_iovs)
{
   pthread_mutex_lock(&pv_virgl.lock);
   struct pv_virgl_resource *res = pv_virgl_resource((uint32_t)res_handle);
   if (iov)
      *iov = res ? res->iov : NULL;
   if (num_iovs)
      *num_iovs = res ? res->iov_count : 0;
   if (res) {
      res->iov = NULL;
      res->iov_count = 0;
   }
   pthread_mutex_unlock(&pv_virgl.lock);
}

/* Copies len bytes between the guest backing at byte offset and host memory; false when the
 * backing is shorter. to_host picks the direction. */
static bool copy_iov(const struct iovec *iov, int count, uint64_t offset, uint8_t *host, size_t len,
                     bool to_host)
{
   for (int i = 0; i < count && len; i++) {
      if (offset >= iov[i].iov_len) {
         offset -= iov[i].iov_len;
         continue;
      }
      size_t n = iov[i].iov_len - offset < len ? iov[i].iov_len - offset : len;
      uint8_t *guest = (uint8_t *)iov[i].iov_base + offset;
      memcpy(to_host ? host : guest, to_host ? guest : host, n);
      host += n;
      len -= n;
      offset = 0;
   }
   return len == 0;
}

/* A 2D transfer: the backing has the resource's layout, offset names the box's first byte. */
static int transfer_2d(struct pv_virgl_resource *res, uint32_t stride, const struct virgl_box *box,
                       uint64_t offset, const struct iovec *iov, int count, bool to_host)
{
   if (res->blob) {
      pv_virgl_log_gl_once(PV_VIRGL_GL_TRANSFER, "transfer of a blob (GL-only)");
      return -EINVAL;
   }
   if (!iov) {
      iov = res->iov;
      count = res->iov_count;
   }
   uint32_t bpp = PV_VIRGL_2D_BYTES_PER_PIXEL;
   uint32_t guest_stride = stride ? stride : res->stride;
   if (!box || !iov || box->w > res->width || box->x > res->width - box->w ||
       box->h > res->height || box->y > res->height - box->h || box->z || box->d > 1) {
      pv_error("transfer of resource %u: no backing, or a box outside %ux%u", res->res_id,
               res->width, res->height);
      return -EINVAL;
   }
   for (uint32_t row = 0; row < box->h; row++) {
      uint8_t *host = res->pixels + (size_t)(box->y + row) * res->stride + (size_t)box->x * bpp;
      if (!copy_iov(iov, count, offset + (uint64_t)row * guest_stride, host, (size_t)box->w * bpp,
                    to_host)) {
         pv_error("transfer of resource %u: the guest backing is too short", res->res_id);
         return -EINVAL;
      }
   }
   return 0;
}

PV_VIRGL_EXPORT int virgl_renderer_transfer_write_iov(uint32_t handle, uint32_t ctx_id, int level,
                                                      uint32_t stride, uint32_t layer_stride,
                                                      struct virgl_box *box, uint64_t offset,
                                                      struct iovec *iovec, unsigned int iovec_cnt)
{
   WITH_RESOURCE(handle, transfer_2d(res, stride, box, offset, iovec, (int)iovec_cnt, true));
}

PV_VIRGL_EXPORT int virgl_renderer_transfer_read_iov(uint32_t handle, uint32_t ctx_id,
                                                     uint32_t level, uint32_t stride,
                                                     uint32_t layer_stride, struct virgl_box *box,
                                                     uint64_t offset, struct iovec *iov,
                                                     int iovec_cnt)
{
   WITH_RESOURCE(handle, transfer_2d(res, stride, box, offset, iov, iovec_cnt, false));
}

/* A blob lives in its creator's worker: only that context can name it. 2D resources never
 * enter a Venus stream: nothing to tell anyone. */
static int attach_to(uint32_t ctx_id, struct pv_virgl_resource *res, bool attach)
{
   if (!res->blob || (!attach && res->owner == 0))
      return 0;
   if (ctx_id != res->owner) {
      pv_error("resource %u belongs to context %u; a blob cannot be shared with context %u",
               res->res_id, res->owner, ctx_id);
      return -EINVAL;
   }
   tell_owner(res, attach ? PV_WIRE_ATTACH : PV_WIRE_DETACH);
   return 0;
}

static void ctx_resource(int ctx_id, int res_handle, bool attach)
{
   pthread_mutex_lock(&pv_virgl.lock);
   struct pv_virgl_resource *res = pv_virgl_resource((uint32_t)res_handle);
   if (!res || attach_to((uint32_t)ctx_id, res, attach))
      pv_error("ctx %d: %s of resource %d failed", ctx_id, attach ? "attach" : "detach",
               res_handle);
   pthread_mutex_unlock(&pv_virgl.lock);
}

PV_VIRGL_EXPORT void virgl_renderer_ctx_attach_resource(int ctx_id, int res_handle)
{
   ctx_resource(ctx_id, res_handle, true);
}

PV_VIRGL_EXPORT void virgl_renderer_ctx_detach_resource(int ctx_id, int res_handle)
{
   ctx_resource(ctx_id, res_handle, false);
}

/* The cursor image, a copy the VMM frees with free(). */
PV_VIRGL_EXPORT void *virgl_renderer_get_cursor_data(uint32_t resource_id, uint32_t *width,
                                                     uint32_t *height)
{
   pthread_mutex_lock(&pv_virgl.lock);
   struct pv_virgl_resource *res = pv_virgl_resource(resource_id);
   void *copy = res && !res->blob ? malloc((size_t)res->stride * res->height) : NULL;
   if (copy) {
      memcpy(copy, res->pixels, (size_t)res->stride * res->height);
      *width = res->width;
      *height = res->height;
   }
   pthread_mutex_unlock(&pv_virgl.lock);
   return copy;
}
