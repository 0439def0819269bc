/* PearVisor's renderer API: the one entry point transports (vtest sockets, the
 * virglrenderer-compatible VMM library) use.
 *
 * A renderer serves contexts; a context is one guest speaking Venus. Resources (shared
 * memory blobs) belong to the renderer and carry ids the caller chooses, as a VMM's
 * virtio-gpu device does; a context uses a resource in its command streams only while the
 * resource is attached to it. Everything Vulkan happens behind this header.
 *
 * Thread rules:
 * - pv_gpu_create, pv_gpu_prepare, pv_gpu_destroy and pv_gpu_reset: one thread, with no other
 *   call running.
 * - Every other call may come from any thread. Calls on one context must not overlap (the
 *   caller serializes them, e.g. one transport thread per context), except
 *   pv_gpu_context_cancel; different contexts may be driven concurrently. Resource calls take the
 * renderer's lock and may overlap.
 * - The renderer runs its own threads (one per Venus ring, a fence waiter per timeline). A
 *   context's fence callback runs on one of them (so calls for different timelines may
 *   overlap), unless the context was created with
 *   PV_GPU_CONTEXT_POLL_FENCES: then retired fences wait for pv_gpu_context_poll, which runs
 *   the callback on the calling thread, and pv_gpu_context_poll_fd becomes readable when
 *   there is something to deliver.
 * - The host driver is the one the process's Vulkan loader picks (VK_DRIVER_FILES); the
 *   renderer never changes the process environment. */
#ifndef PEARVISOR_PV_GPU_H
#define PEARVISOR_PV_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PV_GPU_CAPSET_VENUS         4
#define PV_GPU_CAPSET_VENUS_VERSION 0
#define PV_GPU_CAPSET_MAX_SIZE      160

/* Where a blob's memory lives, as in the virtio-gpu blob model. */
#define PV_GPU_BLOB_MEM_GUEST         1 /* guest pages (iovecs), no host allocation */
#define PV_GPU_BLOB_MEM_HOST3D        2 /* host memory: shm, or a context's VkDeviceMemory */
#define PV_GPU_BLOB_MEM_HOST3D_GUEST  3 /* host allocation backed by guest pages (iovecs) */
#define PV_GPU_BLOB_FLAG_MAPPABLE     0x1
#define PV_GPU_BLOB_FLAG_SHAREABLE    0x2
#define PV_GPU_BLOB_FLAG_CROSS_DEVICE 0x4

/* How a host mapping may be cached by the guest (virtio-gpu map_info values). */
#define PV_GPU_MAP_CACHE_CACHED 0x1
/* What an exported fd is: a memfd the receiver maps at offset 0, exactly the blob's size. */
#define PV_GPU_FD_TYPE_SHM 3

/* Timeline 0 is the CPU timeline (the context stream); each VkQueue binds one of
 * 1..PV_GPU_MAX_TIMELINES-1. */
#define PV_GPU_MAX_TIMELINES 64

struct pv_gpu;
struct pv_gpu_context;

#define PV_GPU_OPTIONS_VERSION 2

/* What one guest may hold or send, so that one guest cannot take the host from the others.
 * 0 in a field means its default (src/util/pv_limits.c has them, and why; `pearvisor serve
 * --help` lists them). The renderer enforces the first five per context; the vtest transport
 * enforces the last three, the renderer ignores them. Reaching a limit is logged once per
 * context; docs/architecture.md (Limits) says what the guest sees. */
struct pv_gpu_limits {
   uint64_t memory;      /* bytes of live VkDeviceMemory (the sum of vkAllocateMemory sizes) */
   uint64_t objects;     /* live objects (entries of the context's object table) */
   uint64_t rings;       /* live Venus rings */
   uint64_t stream;      /* bytes of one command stream: a submit, a ring batch, a nested one */
   uint64_t reply;       /* bytes of one reply stream */
   uint64_t syncs;       /* vtest: live sync objects of a connection */
   uint64_t waits;       /* vtest: pending SYNC_WAITs of a connection */
   uint64_t connections; /* vtest: connections one server serves at once */
};

/* Versioned: a caller built against an older header passes its version, and fields added
 * since keep their defaults. */
struct pv_gpu_options {
   uint32_t version; /* PV_GPU_OPTIONS_VERSION */
   /* since version 2 */
   struct pv_gpu_limits limits;
};

/* Everything submitted to timeline ring_idx before fence fence_id has finished. Within a
 * ring, fences retire in submission order. */
typedef void (*pv_gpu_fence_retired_fn)(void *data, uint32_t ring_idx, uint64_t fence_id);

/* Deliver fences through pv_gpu_context_poll instead of from renderer threads. Fences of
 * one ring are merged: a call reports the newest retired fence id of each ring that
 * advanced (all older ones of that ring have retired too). */
#define PV_GPU_CONTEXT_POLL_FENCES 0x1u

struct pv_gpu_context_desc {
   uint32_t capset_id;
   const char *debug_name; /* in log lines; NULL: "guest" */
   uint32_t flags;         /* PV_GPU_CONTEXT_* */
   pv_gpu_fence_retired_fn fence_retired;
   void *fence_data;
};

struct pv_gpu_blob_desc {
   uint32_t res_id; /* chosen by the caller: non-zero, not in use in this renderer */
   uint32_t blob_mem;
   uint32_t blob_flags;
   uint64_t blob_id; /* HOST3D: 0 for shared memory, else a VkDeviceMemory's guest id */
   uint64_t size;
   const struct iovec *iovecs; /* GUEST, HOST3D_GUEST: the guest pages, in order */
   uint32_t iovec_count;
};

/* What a context holds now; read by tests and `pearvisor serve --stats`. */
struct pv_gpu_context_stats {
   uint64_t objects;             /* live Vulkan objects (guest ids bound) */
   uint64_t device_memory_bytes; /* bytes of live VkDeviceMemory */
   uint64_t resources;           /* resources attached */
   uint64_t rings;               /* live rings */
   uint64_t commands;            /* Venus commands executed so far */
};

/* What the decoder carries, for `pearvisor info --protocol`. */
enum pv_gpu_command_support {
   PV_GPU_COMMAND_UNSUPPORTED,  /* not decodable; a guest sending it turns fatal */
   PV_GPU_COMMAND_FORWARDED,    /* generated handler: ids mapped, host entry point called */
   PV_GPU_COMMAND_HAND_WRITTEN, /* a handler with judgement (creation, memory, sync, ...) */
};

struct pv_gpu_command_info {
   uint32_t id;
   const char *name;
   enum pv_gpu_command_support support;
   const char *reason; /* why it is unsupported, NULL otherwise */
};

/* An extension of the guest's protocol. The guest is offered it where the decoder carries it
 * and the host device (or, for an instance extension, the host instance) has it. */
struct pv_gpu_extension_info {
   const char *name;
   uint32_t number;       /* Khronos extension number */
   uint32_t spec_version; /* the highest the guest's protocol knows; what is offered is capped */
   bool instance;         /* an instance extension, else a device one */
   const char *uncarried; /* why the decoder does not carry it (never offered); NULL if it does */
};

struct pv_gpu_protocol_info {
   uint32_t wire_format_version;
   uint32_t vk_xml_version;   /* VK_MAKE_API_VERSION the guest is told: the older of the
                                 registry's and the guest protocol's */
   uint32_t command_count;    /* entries pv_gpu_get_protocol_commands can return */
   uint32_t extension_count;  /* protocol extensions the decoder carries (the capset mask) */
   uint32_t registry_version; /* VK_MAKE_API_VERSION of the vk.xml the decoder came from */
   uint32_t protocol_extension_count; /* entries pv_gpu_get_protocol_extensions can return */
};

/* NULL when the options are of an unknown version or memory runs out (logged). Creating a
 * renderer loads no Vulkan driver; pv_gpu_prepare or the first context's vkCreateInstance
 * does. */
struct pv_gpu *pv_gpu_create(const struct pv_gpu_options *options);
/* Does now, before any guest, what a guest's vkCreateInstance would otherwise wait for: loads
 * the host driver, creates a host instance as the renderer would for a guest that names no
 * application (no pApplicationInfo, or one without names and versions), enumerates its
 * physical devices and loads its entry points. The first vkCreateInstance of any context
 * takes that instance if the host instance it would create is exactly the same (version,
 * application info, layers, extensions); otherwise it creates its own as before (the driver
 * stays loaded meanwhile) and the prepared one is destroyed. Results are the same either way.
 * Call once, before creating contexts; a second call does nothing. false (logged) when no
 * host instance can be created: contexts then work as without it. pv_gpu_reset keeps a
 * prepared instance no context took; pv_gpu_destroy destroys it. */
bool pv_gpu_prepare(struct pv_gpu *gpu);
/* Destroys every context and resource left. Accepts NULL. */
void pv_gpu_destroy(struct pv_gpu *gpu);
/* Destroys every context and resource: the renderer is as new. Context pointers and
 * resource ids held by the caller are invalid afterwards. */
void pv_gpu_reset(struct pv_gpu *gpu);

/* Copies capset (id, version) into data (at most *size bytes) and sets *size to its length.
 * False for a capset this renderer does not serve. */
bool pv_gpu_get_capset(struct pv_gpu *gpu, uint32_t id, uint32_t version, void *data, size_t *size);
void pv_gpu_get_protocol_info(struct pv_gpu *gpu, struct pv_gpu_protocol_info *info);
/* Fills out[0..max) with the commands of the protocol's id table in id order; returns how
 * many there are. */
uint32_t pv_gpu_get_protocol_commands(struct pv_gpu *gpu, struct pv_gpu_command_info *out,
                                      uint32_t max);
/* Fills out[0..max) with the extensions of the guest's protocol in extension-number order;
 * returns how many there are. */
uint32_t pv_gpu_get_protocol_extensions(struct pv_gpu *gpu, struct pv_gpu_extension_info *out,
                                        uint32_t max);

/* NULL when the capset is not one this renderer serves (or memory runs out). */
struct pv_gpu_context *pv_gpu_context_create(struct pv_gpu *gpu,
                                             const struct pv_gpu_context_desc *desc);
/* Stops the context's rings, waits for the GPU (fences still pending are dropped, their
 * callbacks never run) and frees every host object, mapping and memfd the guest left
 * behind; resources stay (they are the renderer's) but are detached. The context itself
 * stays, so its stats can show what teardown left (nothing, when it works). */
void pv_gpu_context_release(struct pv_gpu_context *ctx);
/* Releases (above) and frees the context. Accepts NULL. */
void pv_gpu_context_destroy(struct pv_gpu_context *ctx);

/* Executes Venus commands of the context stream. False when the context is (now) fatal;
 * the reason has been logged once. */
bool pv_gpu_context_submit(struct pv_gpu_context *ctx, const void *commands, size_t size);
bool pv_gpu_context_is_fatal(const struct pv_gpu_context *ctx);
/* Makes the context fatal (why is logged) from any thread, also while another call on it
 * runs: every wait of its streams returns within about 100 ms and its rings stop. For a
 * transport that sees its guest leave while a stream blocks. */
void pv_gpu_context_cancel(struct pv_gpu_context *ctx, const char *why);

/* Asks for fence_retired(ring_idx, fence_id) once the timeline's work so far is done.
 * False for an invalid ring_idx (one no queue is bound to), logged. */
bool pv_gpu_context_submit_fence(struct pv_gpu_context *ctx, uint32_t ring_idx, uint64_t fence_id);
/* PV_GPU_CONTEXT_POLL_FENCES only: an fd that polls readable while retired fences wait for
 * pv_gpu_context_poll (owned by the context), and the call that delivers them. -1 and a
 * no-op for other contexts. */
int pv_gpu_context_poll_fd(struct pv_gpu_context *ctx);
void pv_gpu_context_poll(struct pv_gpu_context *ctx);

void pv_gpu_context_get_stats(struct pv_gpu_context *ctx, struct pv_gpu_context_stats *stats);

/* Creates a blob resource for the context and attaches it to it. HOST3D with blob_id 0 is
 * zero-filled shared memory; HOST3D with a blob id exports that VkDeviceMemory of the
 * context (host-visible, once); GUEST and HOST3D_GUEST use the guest pages given (Venus
 * shared memory must then be one contiguous range). False, logged, on anything else. */
bool pv_gpu_resource_create_blob(struct pv_gpu_context *ctx, const struct pv_gpu_blob_desc *desc);
/* False for an unknown id. A resource still mapped is unmapped first. */
bool pv_gpu_resource_unref(struct pv_gpu *gpu, uint32_t res_id);
/* A host pointer to the whole blob, valid until unmap or unref, its size and its caching
 * type (PV_GPU_MAP_CACHE_*). False for an unknown id, a blob without the MAPPABLE flag or
 * one already mapped. */
bool pv_gpu_resource_map(struct pv_gpu *gpu, uint32_t res_id, void **ptr, uint64_t *size,
                         uint32_t *map_info);
bool pv_gpu_resource_unmap(struct pv_gpu *gpu, uint32_t res_id);
/* A new fd for the blob (the caller owns it) and its type (PV_GPU_FD_TYPE_*). False for an
 * unknown id or a blob without host memory (GUEST). */
bool pv_gpu_resource_export(struct pv_gpu *gpu, uint32_t res_id, int *fd, uint32_t *fd_type);
/* Lets the context's command streams name the resource. False for an unknown id. Attaching
 * twice, or detaching what is not attached, changes nothing. */
bool pv_gpu_context_attach_resource(struct pv_gpu_context *ctx, uint32_t res_id);
void pv_gpu_context_detach_resource(struct pv_gpu_context *ctx, uint32_t res_id);

#ifdef __cplusplus
}
#endif

#endif
