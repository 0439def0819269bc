/* PearVisor's Vulkan helper library: the plumbing every workload and test program shares. */
#ifndef PV_VKAPP_H
#define PV_VKAPP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

/*
 * Only Vulkan 1.2 core is used: through venus the guest device is capped at 1.2 and has no
 * synchronization2 or swapchain, and these programs must run the same natively and virtualized.
 */

/* Every wait is bounded, so a lost fence or semaphore fails the program instead of hanging it. */
#define PV_VK_TIMEOUT_NS 10000000000ull

/* --- fatal errors (vkapp_check.c): exit status 2 --- */

const char *pv_vk_result_name(VkResult result);
/* Prints "FILE:LINE: CALL failed: RESULT" to stderr and exits 2. */
_Noreturn void pv_vk_fail(const char *call, VkResult result, const char *file, int line);
/* Prints "pv: MESSAGE" to stderr and exits 2: for what no program can carry on without. */
_Noreturn void pv_fail(const char *format, ...) __attribute__((format(printf, 1, 2)));
/* malloc that exits 2 instead of returning NULL. */
void *pv_alloc(size_t size);

/* Checks a VkResult; the call's text is the error message, hence a macro. */
#define PV_VK_CHECK(call)                                                                          \
   do {                                                                                            \
      VkResult pv_vk_check_result_ = (call);                                                       \
      if (pv_vk_check_result_ != VK_SUCCESS)                                                       \
         pv_vk_fail(#call, pv_vk_check_result_, __FILE__, __LINE__);                               \
   } while (0)

/* --- instance, device and queues (vkapp_device.c) --- */

struct pv_vkapp_queue {
   uint32_t family;
   uint32_t index;
   VkQueue queue;
   VkCommandPool pool; /* one per pv_vkapp_queue, even when two share a family */
};

struct pv_vkapp_config {
   const char *name;        /* VkApplicationInfo.pApplicationName */
   bool timeline_semaphore; /* enable Vulkan 1.2 timeline semaphores (fails if absent) */
   bool distinct_queues;    /* ask for a second queue in the graphics family when there is no
                               separate compute family, so compute != graphics where possible */
};

struct pv_vkapp {
   VkInstance instance;
   VkPhysicalDevice physical;
   VkDevice device;
   VkPhysicalDeviceProperties props;
   VkPhysicalDeviceMemoryProperties memory;
   struct pv_vkapp_queue graphics; /* first family with graphics and compute */
   struct pv_vkapp_queue compute;  /* a compute-only family if any, else in the graphics family */
};

/* A Vulkan 1.2 instance with no layers or extensions of its own. */
VkInstance pv_vkapp_create_instance(const char *name);
/* Creates the instance, the first physical device, the device, its queues and command pools. */
void pv_vkapp_init(struct pv_vkapp *app, const struct pv_vkapp_config *config);
/* The caller has waited for all its work and destroyed its objects (no vkDeviceWaitIdle here:
 * through venus it would be one more round trip in what the create workload times). */
void pv_vkapp_finish(struct pv_vkapp *app);

/* --- memory, buffers and images (vkapp_memory.c) --- */

enum pv_memory {
   PV_MEMORY_DEVICE,   /* device-local, never mapped */
   PV_MEMORY_UPLOAD,   /* host-visible and coherent, written by the host */
   PV_MEMORY_READBACK, /* host-visible and coherent, cached where possible: read by the host */
};

/* A memory type in type_bits with every flag of required, preferring one that also has every
 * flag of preferred; exits 2 when there is none. */
uint32_t pv_vkapp_memory_type(const struct pv_vkapp *app, uint32_t type_bits,
                              VkMemoryPropertyFlags required, VkMemoryPropertyFlags preferred);

/* Buffers are CONCURRENT between the graphics and compute families when those differ, so any
 * queue may use them without queue family ownership transfers. */
struct pv_buffer {
   VkBuffer buffer;
   VkDeviceMemory memory;
   VkDeviceSize size;
   void *map; /* host-visible buffers stay mapped for their lifetime; NULL otherwise */
};

void pv_buffer_init(struct pv_vkapp *app, struct pv_buffer *buf, VkDeviceSize size,
                    VkBufferUsageFlags usage, enum pv_memory memory);
/* Accepts a zeroed or already finished buffer. */
void pv_buffer_finish(struct pv_vkapp *app, struct pv_buffer *buf);
/* Copies size bytes between the host and the start of buf through a temporary staging buffer on
 * queue q, and waits; the upload is visible to every later command on q. */
void pv_buffer_upload(struct pv_vkapp *app, struct pv_vkapp_queue *q, struct pv_buffer *buf,
                      const void *data, VkDeviceSize size);
void pv_buffer_download(struct pv_vkapp *app, struct pv_vkapp_queue *q, struct pv_buffer *buf,
                        void *data, VkDeviceSize size);

/* A 2D, single-mip, optimal-tiling image in device-local memory. */
struct pv_image {
   VkImage image;
   VkDeviceMemory memory;
   VkImageView view; /* only for sampled, storage and attachment images */
   VkFormat format;
   VkImageAspectFlags aspect;
   uint32_t width, height;
   uint32_t texel_size; /* bytes per texel, for the color formats the programs copy */
};

void pv_image_init(struct pv_vkapp *app, struct pv_image *img, VkFormat format, uint32_t width,
                   uint32_t height, VkImageUsageFlags usage);
void pv_image_finish(struct pv_vkapp *app, struct pv_image *img);
/* Uploads width * height * texel_size bytes of data into the whole image (contents before are
 * discarded) and leaves it in final_layout, ready for any later command on q. */
void pv_image_upload(struct pv_vkapp *app, struct pv_vkapp_queue *q, struct pv_image *img,
                     const void *data, VkImageLayout final_layout);
/* Copies the whole image, now in layout and written by earlier commands on q, to the start of
 * dst, and waits; the image is left in TRANSFER_SRC_OPTIMAL. dst may then be read by the host or
 * by any later command on q. */
void pv_image_copy_to_buffer(struct pv_vkapp *app, struct pv_vkapp_queue *q, struct pv_image *img,
                             VkImageLayout layout, struct pv_buffer *dst);

/* --- command buffers, submission and barriers (vkapp_commands.c) --- */

VkCommandBuffer pv_cmd_alloc(struct pv_vkapp *app, struct pv_vkapp_queue *q);
void pv_cmd_begin(VkCommandBuffer cmd, VkCommandBufferUsageFlags flags);
void pv_cmd_end(VkCommandBuffer cmd);
VkFence pv_fence_create(struct pv_vkapp *app);
/* Submits cmd (none when VK_NULL_HANDLE) to q, signalling fence (may be VK_NULL_HANDLE). */
void pv_submit(struct pv_vkapp_queue *q, VkCommandBuffer cmd, VkFence fence);
/* Waits for fence (at most PV_VK_TIMEOUT_NS) and resets it for the next submit. */
void pv_fence_wait(struct pv_vkapp *app, VkFence fence);
/* A recording command buffer to hand to pv_cmd_submit_once, which submits it, waits, frees it. */
VkCommandBuffer pv_cmd_begin_once(struct pv_vkapp *app, struct pv_vkapp_queue *q);
void pv_cmd_submit_once(struct pv_vkapp *app, struct pv_vkapp_queue *q, VkCommandBuffer cmd);

void pv_cmd_memory_barrier(VkCommandBuffer cmd, VkPipelineStageFlags src_stage,
                           VkAccessFlags src_access, VkPipelineStageFlags dst_stage,
                           VkAccessFlags dst_access);
void pv_cmd_image_barrier(VkCommandBuffer cmd, const struct pv_image *img, VkImageLayout old_layout,
                          VkImageLayout new_layout, VkPipelineStageFlags src_stage,
                          VkAccessFlags src_access, VkPipelineStageFlags dst_stage,
                          VkAccessFlags dst_access);
/* Discards img's contents (after earlier transfers on the queue are done with it), clears it to
 * rgba with vkCmdClearColorImage and leaves it in TRANSFER_DST_OPTIMAL. */
void pv_cmd_clear_image(VkCommandBuffer cmd, const struct pv_image *img, const float rgba[4]);

/* --- shaders and pipelines (vkapp_pipeline.c) --- */

/* SPIR-V compiled by glslc at build time: `static const uint32_t x[] =
 * #include "x.comp.spv.h"
 * ;` then PV_SPIRV(x). */
struct pv_spirv {
   const uint32_t *code;
   size_t size; /* bytes */
};
#define PV_SPIRV(array) ((struct pv_spirv){(array), sizeof(array)})

VkShaderModule pv_shader_create(struct pv_vkapp *app, struct pv_spirv spirv);

/* A compute pipeline whose one descriptor set has binding i of type types[i] (storage buffers
 * and storage images), with push constants of push_size bytes. */
struct pv_compute {
   VkDescriptorSetLayout set_layout;
   VkPipelineLayout layout;
   VkPipeline pipeline;
   VkDescriptorPool pool;
   VkDescriptorSet set;
   uint32_t push_size;
};

void pv_compute_init(struct pv_vkapp *app, struct pv_compute *c, struct pv_spirv spirv,
                     const VkDescriptorType *types, uint32_t binding_count, uint32_t push_size);
void pv_compute_finish(struct pv_vkapp *app, struct pv_compute *c);
void pv_compute_bind_buffer(struct pv_vkapp *app, struct pv_compute *c, uint32_t binding,
                            const struct pv_buffer *buf);
void pv_compute_bind_image(struct pv_vkapp *app, struct pv_compute *c, uint32_t binding,
                           const struct pv_image *img);
/* Records bind, push (push_size bytes of push) and dispatch of groups_x * groups_y groups. */
void pv_cmd_dispatch(VkCommandBuffer cmd, const struct pv_compute *c, const void *push,
                     uint32_t groups_x, uint32_t groups_y);

/* One subpass writing color (and depth unless VK_FORMAT_UNDEFINED), both cleared on load; color
 * ends in TRANSFER_SRC_OPTIMAL, made visible to transfers, for reading back. */
VkRenderPass pv_render_pass_create(struct pv_vkapp *app, VkFormat color, VkFormat depth);
VkFramebuffer pv_framebuffer_create(struct pv_vkapp *app, VkRenderPass pass,
                                    const struct pv_image *color, const struct pv_image *depth);

struct pv_graphics_desc {
   struct pv_spirv vertex, fragment;
   VkRenderPass render_pass;
   VkPipelineLayout layout;
   uint32_t vertex_stride; /* one interleaved vertex buffer, binding 0 */
   const VkVertexInputAttributeDescription *attributes;
   uint32_t attribute_count;
   bool depth_test; /* LESS, with depth writes */
   uint32_t width, height;
};

/* A triangle-list pipeline with a fixed full-target viewport, no culling and no blending. */
VkPipeline pv_graphics_pipeline_create(struct pv_vkapp *app, const struct pv_graphics_desc *desc);

/* --- deterministic data and exact checks (vkapp_data.c) --- */

/* A well-mixed 32-bit hash, for test data the shaders and the host can both compute. */
uint32_t pv_hash32(uint32_t x);
/* Fills size bytes (a multiple of 4) with pv_hash32(word index ^ seed). */
void pv_pattern_fill(void *dst, size_t size, uint32_t seed);
/* true when got[i] == expected[i] for all i; otherwise reports what, the first mismatch and the
 * number of mismatches to stderr. */
bool pv_check_equal_u32(const char *what, const uint32_t *got, const uint32_t *expected,
                        size_t count);
/* The same against one value for every element. */
bool pv_check_fill_u32(const char *what, const uint32_t *got, uint32_t expected, size_t count);

/* --- the clear colours (vkapp_colors.c) --- */

#define PV_COLOR_COUNT 6

struct pv_color {
   const char *name;
   float rgba[4]; /* 0 or 1 only, so every format stores them exactly */
};

/* red, green, blue, yellow, magenta, cyan */
extern const struct pv_color pv_colors[PV_COLOR_COUNT];

/* The colour as a B8G8R8A8_UNORM texel reads back in memory, as a little-endian uint32. */
uint32_t pv_color_bgra8(const struct pv_color *color);

/* --- SAXPY, shared by the compute workload and the compute test (vkapp_saxpy.c) --- */

/*
 * y = a * x + y over count floats, with a, x and y small integers: every result is an exactly
 * representable integer, so any driver, fused multiply-add or not, gives the same bits. After
 * at most PV_SAXPY_MAX_ROUNDS rounds the values stay below 2^24.
 */
#define PV_SAXPY_MAX_ROUNDS 100000u

struct pv_saxpy {
   uint32_t count;
   struct pv_buffer x, y; /* device-local */
   struct pv_compute kernel;
};

/* Creates x and y (count floats each) and uploads their starting values through q. */
void pv_saxpy_init(struct pv_vkapp *app, struct pv_saxpy *s, struct pv_vkapp_queue *q,
                   uint32_t count);
void pv_saxpy_finish(struct pv_vkapp *app, struct pv_saxpy *s);
/* Records one round, ordered after the rounds (and uploads) submitted before it on the queue. */
void pv_saxpy_record(const struct pv_saxpy *s, VkCommandBuffer cmd);
/* Downloads y through q and checks every element after rounds rounds; hashes y into *checksum. */
bool pv_saxpy_check(struct pv_vkapp *app, struct pv_saxpy *s, struct pv_vkapp_queue *q,
                    uint32_t rounds, uint64_t *checksum);

/* --- checksums and time (vkapp_checksum.c, vkapp_time.c) --- */

#define PV_FNV1A64_INIT 0xcbf29ce484222325ull

/* FNV-1a 64 of size bytes, continuing from hash (PV_FNV1A64_INIT to start). */
uint64_t pv_fnv1a64(uint64_t hash, const void *data, size_t size);
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t pv_time_ns(void);

/* --- the benchmark result line (vkapp_result.c), see bench/WORKLOAD-PROTOCOL.md --- */

/* CPU time of a workload's timed iterations (all of them together). */
struct pv_cpu_time {
   bool known;         /* measured at all */
   uint64_t guest_ns;  /* this process: the application and its Vulkan driver */
   bool server_known;  /* a server's process tree was named (PV_BENCH_SERVER_PID) */
   uint64_t server_ns; /* that tree */
};

struct pv_result {
   const char *workload;
   const char *device;
   uint32_t iterations;
   uint64_t items_per_iteration;
   const char *item_unit;
   uint64_t bytes_per_iteration;
   bool valid;
   uint64_t checksum;
   const uint64_t *samples_ns; /* iterations of them */
   /* For `pearvisor bench --explain` (NULL when not recorded): each timed iteration's start
    * on CLOCK_MONOTONIC, which the server's trace shares, and how long its vkQueueSubmit
    * call took in the guest driver. */
   const uint64_t *start_ns;
   const uint64_t *submit_ns;
   struct pv_cpu_time cpu;
};

/* Prints one `PV_RESULT {json}` line on stdout. */
void pv_result_print(const struct pv_result *result);

#endif
