/* The renderer's internal model: renderer, context, objects, resources, streams and rings. */
#ifndef PV_RENDER_H
#define PV_RENDER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pearvisor/pv_gpu.h>
#include <vulkan/vulkan.h>

#include "util/pv_arena.h"
#include "util/pv_hash.h"
#include "venus/pv_venus_dispatch.h"
#include "venus/pv_vk_table.h"

struct pv_render_prepared;

struct pv_gpu {
   struct pv_venus_handlers handlers; /* shared by every stream of every context */
   struct pv_gpu_limits limits;       /* per context, defaults resolved (pv_limits.h) */
   uint8_t capset[PV_GPU_CAPSET_MAX_SIZE];

   pthread_mutex_t lock;            /* resources, contexts */
   struct pv_hash resources;        /* caller's res_id -> struct pv_render_resource */
   struct pv_gpu_context *contexts; /* every live context, for reset and destroy */
   /* pv_gpu_prepare's host instance until the first vkCreateInstance takes or drops it */
   _Atomic(struct pv_render_prepared *) prepared;
   /* Memory types each host device takes a memfd import into, by device and driver: the
    * answer costs a device creation (85 ms on an H200), so it is found once per process, by
    * pv_gpu_prepare in a ready worker before any guest comes. Under lock. */
   struct pv_render_import_probe {
      uint8_t uuid[VK_UUID_SIZE];
      uint32_t driver_version;
      uint32_t importable;
   } import_probes[8];
   uint32_t import_probe_count;
};

/* Shared memory that both sides map: shm blobs (rings, reply and command pools) and
 * host-visible VkDeviceMemory. Counted, because a blob, a memory object and a ring can each
 * outlive the others (docs/protocol/venus.md §10: the guest may unref before or after
 * vkFreeMemory). */
struct pv_render_shmem {
   atomic_int refs;
   int fd; /* -1 for guest pages, which are the VMM's */
   void *map;
   size_t size;
};

/* A blob resource: the renderer's, named by the caller's id. */
struct pv_render_resource {
   uint32_t res_id;
   uint32_t blob_flags;
   uint64_t size;
   struct pv_render_shmem *shmem; /* NULL: guest pages in several ranges (not shareable) */
   bool mapped;
};

/* A guest object id bound to a host object. */
struct pv_render_object {
   uint64_t id;
   VkObjectType type; /* VK_OBJECT_TYPE_UNKNOWN while the id is only reserved */
   uint64_t handle;
   uint64_t parent; /* host handle of the device (or instance) that owns it */
   /* Pool families (pv_render_objects.c), under the context lock: the pool it was allocated
    * from, its siblings there, and for a pool the first of what was allocated from it. */
   struct pv_render_object *pool;
   struct pv_render_object *prev, *next;
   struct pv_render_object *children;
   void *data; /* per-type state: struct pv_render_device, pv_render_memory, ... */
   /* One for the table while the id is bound, one for each holder (pv_render_object_get):
    * the object and its state are freed with the last, so a stream still using it when
    * another unbinds it keeps it whole. */
   atomic_uint refs;
};

struct pv_render_queue {
   VkDevice device;
   VkQueue queue;
   uint32_t ring_idx;    /* vtest timeline bound by VkDeviceQueueTimelineInfoMESA */
   pthread_mutex_t lock; /* VkQueue is externally synchronized; rings and fences share it */
};

/* What the memory of a physical device looks like to the guest; probed once, by whichever
 * stream asks first (pv_render_memory.c). */
struct pv_render_physical_device {
   pthread_mutex_t lock;
   bool probed;
   bool host_pointer; /* the host has VK_EXT_external_memory_host */
   VkDeviceSize host_pointer_alignment;
   VkPhysicalDeviceMemoryProperties guest_memory; /* host-visible types we cannot back hidden */
   uint32_t backed; /* host-visible types a memfd of ours can be imported into */
};

/* Whether buffers or images of one kind can be bound to memory imported as a host pointer:
 * the host's external-memory answers, remembered because creates are frequent and the answer
 * depends only on the key; and the resources that cannot (pv_render_buffer_image.c). */
#define PV_RENDER_BINDABLE_CACHE_SIZE 32
struct pv_render_bindable_entry {
   uint32_t key[8];
   bool used, bindable;
   VkImageFormatProperties limits; /* images: what an external image may be */
};
struct pv_render_bindable_cache {
   pthread_mutex_t lock;
   uint32_t next; /* round-robin victim once full */
   struct pv_render_bindable_entry entries[PV_RENDER_BINDABLE_CACHE_SIZE];
   /* Host handles of live resources created without the import, whose memory requirements
    * must leave out the imported types (values: the cache itself, any non-NULL will do). */
   struct pv_hash unbindable;
   bool conflict_reported;
};

struct pv_render_device {
   VkDevice device;
   VkPhysicalDevice physical_device;
   VkPhysicalDeviceMemoryProperties memory_properties; /* the host's */
   bool host_pointer_import;                           /* VK_EXT_external_memory_host enabled */
   VkDeviceSize host_pointer_alignment;
   uint32_t backed; /* memory types the guest maps: each allocation a memfd imported */
   struct pv_render_bindable_cache buffers, images;
};

struct pv_render_memory {
   VkDeviceMemory memory;
   VkDeviceSize size;
   struct pv_render_shmem *shmem; /* NULL when the guest cannot map it */
   bool exported;                 /* a blob was made from it (only once) */
};

/* Where replies of one stream go (docs/protocol/venus.md §7). */
struct pv_render_reply {
   struct pv_render_shmem *shmem; /* NULL: none set */
   uint64_t offset;
   uint64_t size;
   uint64_t position;
};

/* One command stream being executed: the context stream or a ring. */
/* Most objects one command holds: a device and its physical device, or a queue. */
#define PV_RENDER_STREAM_MAX_HELD 4

struct pv_render_stream {
   struct pv_venus_dispatch dispatch;
   struct pv_cs_reader reader;
   struct pv_arena arena;
   struct pv_gpu_context *ctx;
   struct pv_render_ring *ring; /* NULL for the context stream */
   struct pv_render_reply reply;
   bool in_execute; /* inside vkExecuteCommandStreamsMESA (nesting is fatal) */
   /* References the command being executed holds (pv_render_hold), dropped when it ends. */
   struct pv_render_object *held[PV_RENDER_STREAM_MAX_HELD];
   unsigned held_count;
};

#define PV_RING_STATUS_IDLE  0x1u
#define PV_RING_STATUS_FATAL 0x2u
#define PV_RING_STATUS_ALIVE 0x4u

struct pv_render_ring {
   uint64_t id; /* the guest's ring id (not an object id) */
   struct pv_render_stream stream;
   struct pv_render_shmem *shmem;
   atomic_uint *head;
   atomic_uint *tail;
   atomic_uint *status;
   uint8_t *buffer;
   uint32_t buffer_size;
   uint8_t *extra;
   uint64_t extra_size;
   uint64_t idle_timeout_ns;
   uint32_t monitor_period_us;
   uint8_t *scratch;   /* unwrapped copy of a submission that wraps around the buffer */
   uint32_t exec_base; /* ring position of the submission being executed */
   uint64_t pickup_ns; /* when the ring thread saw that submission (for tracing) */

   pthread_t thread;
   atomic_bool stop;
   atomic_uint wake;           /* futex word: bumped by notify, destroy, virtqueue seqno */
   atomic_uint head_published; /* futex word: bumped after each head store */
   atomic_uint head_waiters;   /* threads in pv_render_ring_wait_head */
   bool lazy_head_wake;        /* wake head_published only when someone waits */
   atomic_uint_least64_t virtqueue_seqno; /* vkSubmitVirtqueueSeqnoMESA */
   struct pv_render_ring *next;
};

/* Waits for a vtest fence on a queue's timeline without blocking any stream. */
struct pv_render_fence_waiter;

/* Retired fences waiting for pv_gpu_context_poll (PV_GPU_CONTEXT_POLL_FENCES). */
struct pv_render_fence_mailbox {
   pthread_mutex_t lock;
   int fd;         /* eventfd, readable while rings is not empty */
   uint64_t rings; /* bit per ring_idx with a retired fence not yet delivered */
   uint64_t newest[PV_GPU_MAX_TIMELINES];
};

struct pv_gpu_context {
   struct pv_gpu *gpu;
   struct pv_gpu_context *next; /* in gpu->contexts */
   char name[64];
   uint32_t flags; /* PV_GPU_CONTEXT_* */
   pv_gpu_fence_retired_fn fence_retired;
   void *fence_data;
   struct pv_render_fence_mailbox mailbox; /* PV_GPU_CONTEXT_POLL_FENCES */

   pthread_mutex_t lock; /* objects, by_handle, attached, rings, queues */
   struct pv_hash objects;
   /* Objects that Vulkan structs name by host handle only, indexed by it (pv_render_objects.c
    * says which types; values: struct pv_render_object, not owned): pools, which allocations
    * name, descriptor sets, which writes name, and the layouts and modules that pipelines and
    * sets are checked against. */
   struct pv_hash by_handle;
   struct pv_hash attached; /* res_ids its streams may name (values: the gpu's entries) */
   struct pv_render_ring *rings;
   struct pv_render_queue *queues[PV_GPU_MAX_TIMELINES]; /* by ring_idx */
   struct pv_cs_handles handles;

   const struct pv_vk_table *vk; /* set by vkCreateInstance */
   struct pv_vk_table vk_storage;

   struct pv_render_stream stream; /* the context stream (vtest SUBMIT_CMD2) */
   atomic_bool fatal;

   pthread_t monitor; /* sets ALIVE on monitored rings */
   bool monitor_running;
   atomic_uint monitor_wake; /* futex word to stop it */

   struct pv_render_fence_waiter *fence_waiters[PV_GPU_MAX_TIMELINES]; /* by slot, lazily */
   struct pv_render_tracer *tracer; /* NULL unless PV_TRACE_DIR is set */
   int record_fd;                   /* PV_DEBUG=record's file; -1 when off */

   atomic_uint_least64_t commands;
   atomic_uint_least64_t device_memory_bytes;
   atomic_uint limits_reported; /* bit per enum pv_limit already logged (pv_limits_report) */
};

/* --- objects (pv_render_objects.c) --- */
void pv_render_objects_init(struct pv_gpu_context *ctx);
/* Destroys every host object left (devices wait idle first) and empties the table. */
void pv_render_objects_finish(struct pv_gpu_context *ctx);
/* The bound object of that id and type, with a reference the caller drops with
 * pv_render_object_put (never under the context lock); NULL if there is none. */
struct pv_render_object *pv_render_object_get(struct pv_gpu_context *ctx, uint64_t id,
                                              VkObjectType type);
/* Drops a reference; the last frees the object with its state. NULL is ignored. */
void pv_render_object_put(struct pv_gpu_context *ctx, struct pv_render_object *obj);
/* The bound object of that type, host handle and parent (0: any), with a reference as
 * pv_render_object_get gives; NULL if there is none. */
struct pv_render_object *pv_render_object_get_by_handle(struct pv_gpu_context *ctx,
                                                        VkObjectType type, uint64_t handle,
                                                        uint64_t parent);
/* Per-object state that is plain bytes: a shader module's code, the bindings of a set layout,
 * a descriptor set and a pipeline layout, a framebuffer's size (pv_render_shader.c,
 * pv_render_descriptor.c, pv_render_pass.c). */
struct pv_render_flat {
   size_t size;
   uint8_t bytes[];
};
/* A binding with descriptors, as set layouts, descriptor sets and pipeline layouts keep them
 * (sorted by set, then binding; pv_render_descriptor.c): writes, copies and pipeline stages
 * are checked against these. */
struct pv_render_binding {
   uint32_t set; /* in a pipeline layout, the set's index; else 0 */
   uint32_t binding;
   VkDescriptorType type;
   uint32_t count;    /* descriptors; bytes for an inline uniform block */
   uint32_t variable; /* VARIABLE_DESCRIPTOR_COUNT: each set of the layout has a count of its own */
};
/* The binding (set, binding) of a sorted array of count, NULL if it has none. */
const struct pv_render_binding *pv_render_find_binding(const struct pv_render_binding *bindings,
                                                       size_t count, uint32_t set,
                                                       uint32_t binding);
/* Keeps a copy of bytes with the live object id of that type (freed with it); false when out
 * of memory. An object that has its state already keeps it. */
bool pv_render_object_set_flat(struct pv_gpu_context *ctx, uint64_t id, VkObjectType type,
                               const void *bytes, size_t size);
/* A copy (the caller frees it) of the state of the live object of that type and host handle;
 * NULL when there is none. */
struct pv_render_flat *pv_render_object_flat_copy(struct pv_gpu_context *ctx, VkObjectType type,
                                                  uint64_t handle);
/* The guest id bound to a host handle of this type, 0 if none (slow: a scan). */
uint64_t pv_render_object_find_id(struct pv_gpu_context *ctx, VkObjectType type, uint64_t handle);
enum pv_render_reserve_result {
   PV_RENDER_RESERVE_OK,
   PV_RENDER_RESERVE_REFUSED, /* an id is 0, in use or named twice, or memory ran out */
   PV_RENDER_RESERVE_FULL,    /* the table holds the objects limit already */
};
/* Takes the guest ids of objects about to be created, before the host creates them, so that
 * a create never makes a host object it cannot bind. All or none: on failure *refused is the
 * id that failed. A reserved id names nothing (typed lookups and unbinds pass it by) until
 * committed; it counts against the objects limit from now (reaching it is logged once). */
enum pv_render_reserve_result pv_render_objects_reserve(struct pv_gpu_context *ctx,
                                                        const uint64_t *ids, uint64_t count,
                                                        uint64_t *refused);
/* Binds a reserved id to the host object created for it, with its per-type state (data, or
 * NULL; the object owns it from now), or gives the id back when handle is 0 (the host made
 * none). pool: host handle of the pool it was allocated from, 0 if none. false when the id
 * was given back or was not reserved; the caller still owns data then. */
bool pv_render_object_commit(struct pv_gpu_context *ctx, VkObjectType type, uint64_t id,
                             uint64_t handle, uint64_t parent, uint64_t pool, void *data);
/* Reserve and commit at once, for a host object that exists already: false when the id is 0
 * or in use, and the caller still owns the host object and data. */
bool pv_render_object_bind(struct pv_gpu_context *ctx, VkObjectType type, uint64_t id,
                           uint64_t handle, uint64_t parent, uint64_t pool, void *data);
/* Forgets the object (and, for pools, every object allocated from it). Frees per-type
 * state through the type's release hook. */
void pv_render_object_unbind(struct pv_gpu_context *ctx, uint64_t id);
/* The guest reset the pool: forgets what its family's reset frees on the host. */
void pv_render_object_reset(struct pv_gpu_context *ctx, uint64_t id);
/* Destroys and forgets every object whose parent is `parent` (device teardown). */
void pv_render_objects_destroy_children(struct pv_gpu_context *ctx, uint64_t parent);

/* --- shared memory and resources (pv_render_resource.c) --- */
struct pv_render_shmem *pv_render_shmem_create(size_t size);
struct pv_render_shmem *pv_render_shmem_ref(struct pv_render_shmem *shmem);
void pv_render_shmem_unref(struct pv_render_shmem *shmem);
/* The shared memory of a resource attached to the context, with a reference taken; NULL
 * (and why in error) if there is none. */
struct pv_render_shmem *pv_render_resource_shmem(struct pv_gpu_context *ctx, uint32_t res_id);
/* Detaches every resource from the context. */
void pv_render_resources_detach_all(struct pv_gpu_context *ctx);
/* Unrefs every resource of the renderer (reset, destroy). */
void pv_render_resources_finish(struct pv_gpu *gpu);

/* --- fence delivery (pv_render_fence.c) --- */
bool pv_render_mailbox_init(struct pv_gpu_context *ctx);
void pv_render_mailbox_finish(struct pv_gpu_context *ctx);
/* Reports a retired fence: the callback now, or the mailbox for pv_gpu_context_poll. */
void pv_render_fence_retire(struct pv_gpu_context *ctx, uint32_t ring_idx, uint64_t fence_id);

/* --- streams (pv_render_stream.c) --- */
void pv_render_stream_init(struct pv_render_stream *stream, struct pv_gpu_context *ctx,
                           struct pv_render_ring *ring);
void pv_render_stream_finish(struct pv_render_stream *stream);
/* Executes every command of [data, data+size); calls after_command (may be NULL) after each
 * with the bytes consumed so far. False when the stream failed (context now fatal). */
bool pv_render_stream_execute(struct pv_render_stream *stream, const void *data, size_t size,
                              void (*after_command)(struct pv_render_stream *, size_t),
                              void *unused);
static inline struct pv_render_stream *pv_render_stream_of(struct pv_venus_dispatch *d)
{
   return (struct pv_render_stream *)((char *)d - offsetof(struct pv_render_stream, dispatch));
}
/* Decodes and executes the stream's next command; false when the stream failed. What the
 * command held (pv_render_hold) is dropped when it returns. */
bool pv_render_stream_dispatch(struct pv_render_stream *stream);
/* pv_render_object_get for the command being executed, whose end drops the reference.
 * NULL if there is no such object, or (the stream failed) the command holds too many. */
struct pv_render_object *pv_render_hold(struct pv_venus_dispatch *d, uint64_t id,
                                        VkObjectType type);
/* Whether a command stream of size bytes is within the context's stream limit; if not, the
 * context is now fatal (logged). */
bool pv_render_stream_size_allowed(struct pv_gpu_context *ctx, uint64_t size);
/* Marks the context fatal: logs why once, stops every ring, sets their FATAL bit. */
void pv_render_context_set_fatal(struct pv_gpu_context *ctx, const char *why);

/* --- rings (pv_render_ring.c) --- */
bool pv_render_ring_create(struct pv_render_stream *creator, uint64_t id,
                           const VkRingCreateInfoMESA *info);
struct pv_render_ring *pv_render_ring_find(struct pv_gpu_context *ctx, uint64_t id);
void pv_render_ring_destroy(struct pv_gpu_context *ctx, struct pv_render_ring *ring);
void pv_render_ring_notify(struct pv_render_ring *ring);
/* Blocks until the ring's head reaches seqno (wrap-aware) or the context dies. False, at
 * once, for a seqno past what the guest has written (it could never come). */
bool pv_render_ring_wait_head(struct pv_render_ring *ring, uint32_t seqno);
void pv_render_ring_submit_virtqueue_seqno(struct pv_render_ring *ring, uint64_t seqno);
void pv_render_ring_wait_virtqueue_seqno(struct pv_render_ring *ring, uint64_t seqno);
void pv_render_rings_set_status(struct pv_gpu_context *ctx, uint32_t bits);
bool pv_render_monitor_start(struct pv_gpu_context *ctx);
void pv_render_monitor_stop(struct pv_gpu_context *ctx);

/* --- handler families (each fills its slots of the handler table) --- */
void pv_render_forward_init(struct pv_venus_handlers *h);
void pv_render_transport_init_dispatch(struct pv_venus_handlers *h);
void pv_render_instance_init_dispatch(struct pv_venus_handlers *h);
void pv_render_device_init_dispatch(struct pv_venus_handlers *h);
void pv_render_memory_init_dispatch(struct pv_venus_handlers *h);
void pv_render_buffer_image_init_dispatch(struct pv_venus_handlers *h);
void pv_render_queue_init_dispatch(struct pv_venus_handlers *h);
void pv_render_wait_init_dispatch(struct pv_venus_handlers *h);
/* After the forwarders: wraps the creates that take guest SPIR-V (pv_render_shader.c). */
void pv_render_shader_init_dispatch(struct pv_venus_handlers *h);
void pv_render_descriptor_init_dispatch(struct pv_venus_handlers *h);
void pv_render_pass_init_dispatch(struct pv_venus_handlers *h);

/* --- shaders (pv_render_shader.c) --- */
/* Whether the Khronos validator accepts the guest's SPIR-V (size in bytes); why not is
 * logged. */
bool pv_render_spirv_valid(const char *ctx_name, const uint32_t *code, size_t size);

/* --- queues (pv_render_queue.c) --- */
struct pv_render_queue *pv_render_queue_create(VkDevice device, VkQueue queue, uint32_t ring_idx);
void pv_render_queue_destroy(struct pv_render_queue *queue);

/* --- vtest fences (pv_render_fence_waiter.c) --- */
bool pv_render_fence_submit(struct pv_gpu_context *ctx, uint32_t ring_idx, uint64_t fence_id);
/* Waits until no fence of device is pending and frees its spare fences: before the device
 * is destroyed. */
void pv_render_fences_drain_device(struct pv_gpu_context *ctx, VkDevice device);
void pv_render_fences_finish(struct pv_gpu_context *ctx);

/* --- memory types (pv_render_memory.c) --- */
/* The memory state of a physical device the guest named, probed on first use: with device
 * when the caller has one of the physical device's (it must have VK_EXT_external_memory_host
 * enabled when the host has it), else with a short-lived device of our own. NULL when out of
 * memory or the id is not a physical device. */
struct pv_render_physical_device *
pv_render_physical_device_probe(struct pv_venus_dispatch *d, uint64_t physical_id, VkDevice device);
void pv_render_physical_device_destroy(struct pv_render_physical_device *phys);
/* Finds (or remembers from earlier) the memory types of physical that take a memfd import,
 * asking through device, or a short-lived device of our own when device is VK_NULL_HANDLE. */
uint32_t pv_render_import_probe(struct pv_gpu *gpu, const struct pv_vk_table *vk,
                                VkPhysicalDevice physical, VkDevice device);

/* --- devices (pv_render_device.c) --- */
void pv_render_device_state_destroy(struct pv_render_device *dev);
/* Does the host device offer the extension? */
bool pv_render_host_has_extension(struct pv_venus_dispatch *d, VkPhysicalDevice physical,
                                  const char *name);

/* --- buffers and images (pv_render_buffer_image.c) --- */
void pv_render_bindable_cache_init(struct pv_render_bindable_cache *cache);
void pv_render_bindable_cache_finish(struct pv_render_bindable_cache *cache);

/* --- instances (pv_render_instance.c, pv_render_prepare.c) --- */
/* The host instance's create info for a guest's application info (NULL: none given): app
 * receives the application info it points to. Validation is not part of it. */
void pv_render_instance_host_info(const VkApplicationInfo *guest, VkApplicationInfo *app,
                                  VkInstanceCreateInfo *info);
/* pv_gpu_prepare's instance, now the caller's (NULL when there is none): only one
 * vkCreateInstance ever gets it. */
struct pv_render_prepared *pv_render_prepared_take(struct pv_gpu *gpu);
/* Whether prepared (NULL: no) was created with exactly info. */
bool pv_render_prepared_matches(const struct pv_render_prepared *prepared,
                                const VkInstanceCreateInfo *info);
/* Frees prepared and returns its instance, now the context's; loads ctx->vk from it if the
 * context has no entry points yet. */
VkInstance pv_render_prepared_adopt(struct pv_render_prepared *prepared,
                                    struct pv_gpu_context *ctx);
/* Destroys the instance and frees prepared. Accepts NULL. */
void pv_render_prepared_destroy(struct pv_render_prepared *prepared);
/* Destroys what is left of the instance's objects, its validation messenger, then the host
 * instance, and forgets it (vkDestroyInstance and context teardown). */
void pv_render_instance_destroy(struct pv_gpu_context *ctx, uint64_t id);

/* Device extensions of the host that we offer (pv_render_instance.c); fills out if not
 * NULL, returns the count. */
uint32_t pv_render_offered_extensions(struct pv_venus_dispatch *d, VkPhysicalDevice physical,
                                      VkExtensionProperties *out);

/* --- capset (pv_render_capset.c) --- */
void pv_render_capset_init(uint8_t capset[PV_GPU_CAPSET_MAX_SIZE]);
/* Is the extension one the protocol carries and we offer? Returns its spec version cap. */
uint32_t pv_render_extension_spec_cap(const char *name);

/* The first struct of that type in a decoded pNext chain, or NULL. */
static inline const void *pv_render_find_in_chain(const void *chain, VkStructureType stype)
{
   for (const VkBaseInStructure *s = chain; s; s = s->pNext) {
      if (s->sType == stype)
         return s;
   }
   return NULL;
}

/* The context of a stream's dispatch (for handlers). */
static inline struct pv_gpu_context *pv_render_ctx(struct pv_venus_dispatch *d)
{
   return pv_render_stream_of(d)->ctx;
}

#endif
