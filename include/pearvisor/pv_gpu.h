/* PearVisor's renderer API: the one entry point transports (vtest, virtio-gpu) use.
 *
 * A renderer serves contexts; a context is one guest connection speaking Venus. The
 * transport hands it command bytes, blob requests and fence requests; everything Vulkan
 * happens behind this header. Thread rules: one transport thread per context calls the
 * context functions; the renderer runs its own ring threads and calls fence_retired from
 * them. */
#ifndef PEARVISOR_PV_GPU_H
#define PEARVISOR_PV_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PV_GPU_CAPSET_VENUS         4
#define PV_GPU_CAPSET_VENUS_VERSION 0
#define PV_GPU_CAPSET_MAX_SIZE      160

/* Blob types and flags as in the virtio-gpu blob model (vtest RESOURCE_CREATE_BLOB). */
#define PV_GPU_BLOB_TYPE_GUEST        1
#define PV_GPU_BLOB_TYPE_HOST3D       2
#define PV_GPU_BLOB_TYPE_HOST3D_GUEST 3
#define PV_GPU_BLOB_FLAG_MAPPABLE     0x1
#define PV_GPU_BLOB_FLAG_SHAREABLE    0x2
#define PV_GPU_BLOB_FLAG_CROSS_DEVICE 0x4

/* Timeline 0 is the CPU timeline; each VkQueue binds one of 1..PV_GPU_MAX_TIMELINES-1. */
#define PV_GPU_MAX_TIMELINES 64

struct pv_gpu;
struct pv_gpu_context;

struct pv_gpu_options {
   /* Host Vulkan driver manifest (e.g. lvp_icd.json); NULL lets the loader choose. */
   const char *host_icd;
};

/* Called when everything submitted to timeline ring_idx before the fence has finished.
 * Runs on a renderer thread. */
typedef void (*pv_gpu_fence_retired_fn)(void *data, uint32_t ring_idx, uint64_t fence_id);

/* What a context holds now; read by tests and `pearvisor serve --stats`. */
struct pv_gpu_context_stats {
   uint64_t objects;             /* live Vulkan objects (guest ids bound) */
   uint64_t device_memory_bytes; /* bytes of live VkDeviceMemory */
   uint64_t resources;           /* live blob resources */
   uint64_t rings;               /* live rings */
   uint64_t commands;            /* Venus commands executed so far */
};

struct pv_gpu *pv_gpu_create(const struct pv_gpu_options *options);
void pv_gpu_destroy(struct pv_gpu *gpu);

/* Copies capset (id, version) into data (at most *size bytes) and sets *size to its length.
 * False for a capset this renderer does not serve. */
bool pv_gpu_get_capset(struct pv_gpu *gpu, uint32_t id, uint32_t version, void *data, size_t *size);

/* NULL when capset_id is not one this renderer serves. */
struct pv_gpu_context *pv_gpu_context_create(struct pv_gpu *gpu, uint32_t capset_id,
                                             const char *debug_name,
                                             pv_gpu_fence_retired_fn fence_retired,
                                             void *fence_data);
/* Stops the context's rings, waits for the GPU and frees every host object, mapping and
 * memfd the guest left behind; the context itself stays, so its stats can show what teardown
 * left (nothing, when it works). Destroy does this too. */
void pv_gpu_context_release(struct pv_gpu_context *ctx);
/* Releases (above) and frees the context. Accepts NULL. */
void pv_gpu_context_destroy(struct pv_gpu_context *ctx);

/* Executes Venus commands of the context stream. False when the context is (now) fatal;
 * the reason has been logged once. */
bool pv_gpu_context_submit(struct pv_gpu_context *ctx, const void *commands, size_t size);
bool pv_gpu_context_is_fatal(const struct pv_gpu_context *ctx);

/* Creates a blob resource and returns a new fd for it in *fd (the caller owns it) and its
 * resource id (non-zero, unique among the context's live resources) in *res_id. */
bool pv_gpu_context_create_blob(struct pv_gpu_context *ctx, uint32_t blob_type, uint32_t blob_flags,
                                uint64_t size, uint64_t blob_id, uint32_t *res_id, int *fd);
/* Unknown ids are ignored. */
void pv_gpu_context_unref_resource(struct pv_gpu_context *ctx, uint32_t res_id);

/* Asks for fence_retired(ring_idx, fence_id) once the timeline's work so far is done.
 * False for an invalid ring_idx. */
bool pv_gpu_context_submit_fence(struct pv_gpu_context *ctx, uint32_t ring_idx, uint64_t fence_id);

void pv_gpu_context_get_stats(struct pv_gpu_context *ctx, struct pv_gpu_context_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
