/* The renderer's object table through crafted Venus streams, over a fake host driver that
 * counts what the host holds: pools and what is allocated from them, creates whose guest id
 * clashes, and the per-context limits (struct pv_gpu_limits). */
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fake_vk.h"
#include "render/pv_render.h"

/* Guest ids the tests use; sets and command buffers take theirs from 1000 up. */
#define DEVICE_ID          3
#define LAYOUT_ID          10
#define POOL_ID            11
#define POOL2_ID           12
#define FENCE_ID           13
#define QUERY_POOL_ID      14
#define PIPELINE_LAYOUT_ID 15

/* --- building commands ------------------------------------------------------------------- */

/* One stream of commands, in the guest's little-endian 4-byte units. */
static struct {
   uint32_t words[1 << 16];
   size_t count;
} wire;

static void put_u32(uint32_t v)
{
   assert_true(wire.count < sizeof(wire.words) / sizeof(wire.words[0]));
   wire.words[wire.count++] = v; /* Venus is little-endian, like every host we build for */
}

static void put_u64(uint64_t v)
{
   put_u32((uint32_t)v);
   put_u32((uint32_t)(v >> 32));
}

/* Command ids from protocol/venus-command-types.tsv; checked against the generated names. */
static void put_command(uint32_t id, const char *name)
{
   assert_string_equal(pv_venus_command_name(id), name);
   put_u32(id);
   put_u32(0); /* no reply */
}

/* A command whose reply goes to the reply stream (VK_COMMAND_GENERATE_REPLY_BIT_EXT). */
static void put_command_replying(uint32_t id, const char *name)
{
   assert_string_equal(pv_venus_command_name(id), name);
   put_u32(id);
   put_u32(1);
}

/* A struct's sType and an empty pNext chain. */
static void put_struct(VkStructureType stype)
{
   put_u32((uint32_t)stype);
   put_u64(0);
}

static void put_ids(const uint64_t *ids, uint32_t count)
{
   put_u64(count);
   for (uint32_t i = 0; i < count; i++)
      put_u64(ids[i]);
}

static void create_fence(uint64_t id)
{
   put_command(35, "vkCreateFence");
   put_u64(DEVICE_ID);
   put_u64(1);
   put_struct(VK_STRUCTURE_TYPE_FENCE_CREATE_INFO);
   put_u32(0);
   put_u64(0); /* pAllocator */
   put_u64(1);
   put_u64(id);
}

/* The tests' set layout: binding 0 holds 2 uniform buffers, binding 1 one more (an update
 * rolls over into it), binding 2 none, binding 3 a storage buffer. */
static const VkDescriptorSetLayoutBinding layout_bindings[] = {
      {3, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL},
      {0, VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, 2, VK_SHADER_STAGE_COMPUTE_BIT, NULL},
      {1, VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL},
};

static void create_set_layout(uint64_t id)
{
   const uint32_t count = sizeof(layout_bindings) / sizeof(layout_bindings[0]);
   put_command(72, "vkCreateDescriptorSetLayout");
   put_u64(DEVICE_ID);
   put_u64(1);
   put_struct(VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO);
   put_u32(0); /* flags */
   put_u32(count);
   put_u64(count);
   for (uint32_t i = 0; i < count; i++) {
      put_u32(layout_bindings[i].binding);
      put_u32(layout_bindings[i].descriptorType);
      put_u32(layout_bindings[i].descriptorCount);
      put_u32(layout_bindings[i].stageFlags);
      put_u64(0); /* pImmutableSamplers */
   }
   put_u64(0);
   put_u64(1);
   put_u64(id);
}

static void create_descriptor_pool(uint64_t id)
{
   put_command(74, "vkCreateDescriptorPool");
   put_u64(DEVICE_ID);
   put_u64(1);
   put_struct(VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO);
   put_u32(VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT);
   put_u32(64); /* maxSets */
   put_u32(1);
   put_u64(1);
   put_u32(VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER);
   put_u32(64);
   put_u64(0);
   put_u64(1);
   put_u64(id);
}

static void destroy_descriptor_pool(uint64_t id)
{
   put_command(75, "vkDestroyDescriptorPool");
   put_u64(DEVICE_ID);
   put_u64(id);
   put_u64(0);
}

static void reset_descriptor_pool(uint64_t id)
{
   put_command(76, "vkResetDescriptorPool");
   put_u64(DEVICE_ID);
   put_u64(id);
   put_u32(0);
}

static void allocate_sets(uint64_t pool, const uint64_t *ids, uint32_t count)
{
   put_command(77, "vkAllocateDescriptorSets");
   put_u64(DEVICE_ID);
   put_u64(1);
   put_struct(VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO);
   put_u64(pool);
   put_u32(count);
   put_u64(count);
   for (uint32_t i = 0; i < count; i++)
      put_u64(LAYOUT_ID);
   put_ids(ids, count);
}

/* One write of count uniform buffers to binding 0 of set, its buffer infos left empty as the
 * guest encodes them for image types: nothing for a driver to read. */
static void update_set_without_buffer_infos(uint64_t set, uint32_t count)
{
   put_command(79, "vkUpdateDescriptorSets");
   put_u64(DEVICE_ID);
   put_u32(1);
   put_u64(1);
   put_struct(VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET);
   put_u64(set);
   put_u32(0); /* dstBinding */
   put_u32(0); /* dstArrayElement */
   put_u32(count);
   put_u32(VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER);
   put_u64(0); /* pImageInfo */
   put_u64(0); /* pBufferInfo */
   put_u64(0); /* pTexelBufferView */
   put_u32(0);
   put_u64(0); /* no copies */
}

/* An array of one write of count buffers of type to (binding, element) of set, each buffer
 * info there. */
static void put_buffer_write(uint64_t set, uint32_t binding, uint32_t element, uint32_t count,
                             VkDescriptorType type)
{
   put_u32(1);
   put_u64(1);
   put_struct(VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET);
   put_u64(set);
   put_u32(binding);
   put_u32(element);
   put_u32(count);
   put_u32(type);
   put_u64(0); /* pImageInfo */
   put_u64(count);
   for (uint32_t i = 0; i < count; i++) {
      put_u64(0); /* a null descriptor's buffer */
      put_u64(0);
      put_u64(VK_WHOLE_SIZE);
   }
   put_u64(0); /* pTexelBufferView */
}

static void update_set(uint64_t set, uint32_t binding, uint32_t element, uint32_t count,
                       VkDescriptorType type)
{
   put_command(79, "vkUpdateDescriptorSets");
   put_u64(DEVICE_ID);
   put_buffer_write(set, binding, element, count, type);
   put_u32(0);
   put_u64(0); /* no copies */
}

/* A pipeline layout of two sets, each of the tests' set layout. */
static void create_pipeline_layout(uint64_t id)
{
   put_command(68, "vkCreatePipelineLayout");
   put_u64(DEVICE_ID);
   put_u64(1);
   put_struct(VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO);
   put_u32(0); /* flags */
   put_u32(2);
   put_u64(2);
   put_u64(LAYOUT_ID);
   put_u64(LAYOUT_ID);
   put_u32(0); /* no push constant ranges */
   put_u64(0);
   put_u64(0);
   put_u64(1);
   put_u64(id);
}

static void push_set(uint64_t command_buffer, uint64_t layout, uint32_t set, uint32_t binding,
                     uint32_t count, VkDescriptorType type)
{
   put_command(249, "vkCmdPushDescriptorSetKHR");
   put_u64(command_buffer);
   put_u32(VK_PIPELINE_BIND_POINT_COMPUTE);
   put_u64(layout);
   put_u32(set);
   put_buffer_write(0, binding, 0, count, type); /* a push names no set */
}

static void copy_set(uint64_t src, uint32_t src_binding, uint64_t dst, uint32_t dst_binding,
                     uint32_t count)
{
   put_command(79, "vkUpdateDescriptorSets");
   put_u64(DEVICE_ID);
   put_u32(0);
   put_u64(0); /* no writes */
   put_u32(1);
   put_u64(1);
   put_struct(VK_STRUCTURE_TYPE_COPY_DESCRIPTOR_SET);
   put_u64(src);
   put_u32(src_binding);
   put_u32(0);
   put_u64(dst);
   put_u32(dst_binding);
   put_u32(0);
   put_u32(count);
}

static void free_sets(uint64_t pool, const uint64_t *ids, uint32_t count)
{
   put_command(78, "vkFreeDescriptorSets");
   put_u64(DEVICE_ID);
   put_u64(pool);
   put_u32(count);
   put_ids(ids, count);
}

static void create_command_pool(uint64_t id)
{
   put_command(85, "vkCreateCommandPool");
   put_u64(DEVICE_ID);
   put_u64(1);
   put_struct(VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO);
   put_u32(VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT);
   put_u32(0); /* queueFamilyIndex */
   put_u64(0);
   put_u64(1);
   put_u64(id);
}

static void destroy_command_pool(uint64_t id)
{
   put_command(86, "vkDestroyCommandPool");
   put_u64(DEVICE_ID);
   put_u64(id);
   put_u64(0);
}

static void reset_command_pool(uint64_t id)
{
   put_command(87, "vkResetCommandPool");
   put_u64(DEVICE_ID);
   put_u64(id);
   put_u32(0);
}

static void allocate_command_buffers(uint64_t pool, const uint64_t *ids, uint32_t count)
{
   put_command(88, "vkAllocateCommandBuffers");
   put_u64(DEVICE_ID);
   put_u64(1);
   put_struct(VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO);
   put_u64(pool);
   put_u32(VK_COMMAND_BUFFER_LEVEL_PRIMARY);
   put_u32(count);
   put_ids(ids, count);
}

static void free_command_buffers(uint64_t pool, const uint64_t *ids, uint32_t count)
{
   put_command(89, "vkFreeCommandBuffers");
   put_u64(DEVICE_ID);
   put_u64(pool);
   put_u32(count);
   put_ids(ids, count);
}

static void create_query_pool(uint64_t id)
{
   put_command(47, "vkCreateQueryPool");
   put_u64(DEVICE_ID);
   put_u64(1);
   put_struct(VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO);
   put_u32(0);                       /* flags */
   put_u32(VK_QUERY_TYPE_OCCLUSION); /* queryType */
   put_u32(4);                       /* queryCount */
   put_u32(0);                       /* pipelineStatistics */
   put_u64(0);                       /* pAllocator */
   put_u64(1);
   put_u64(id);
}

static void get_query_pool_results(uint64_t pool, VkQueryResultFlags flags)
{
   put_command(49, "vkGetQueryPoolResults");
   put_u64(DEVICE_ID);
   put_u64(pool);
   put_u32(0);  /* firstQuery */
   put_u32(4);  /* queryCount */
   put_u64(32); /* dataSize */
   put_u64(32); /* pData: an output array of that size */
   put_u64(8);  /* stride */
   put_u32(flags);
}

static void allocate_memory(uint64_t id, uint64_t size)
{
   put_command_replying(21, "vkAllocateMemory");
   put_u64(DEVICE_ID);
   put_u64(1);
   put_struct(VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO);
   put_u64(size);
   put_u32(0); /* memoryTypeIndex */
   put_u64(0); /* pAllocator */
   put_u64(1);
   put_u64(id);
}

static void free_memory(uint64_t id)
{
   put_command(22, "vkFreeMemory");
   put_u64(DEVICE_ID);
   put_u64(id);
   put_u64(0);
}

static void create_fence_replying(uint64_t id)
{
   put_command_replying(35, "vkCreateFence");
   put_u64(DEVICE_ID);
   put_u64(1);
   put_struct(VK_STRUCTURE_TYPE_FENCE_CREATE_INFO);
   put_u32(0);
   put_u64(0);
   put_u64(1);
   put_u64(id);
}

static void destroy_fence(uint64_t id)
{
   put_command(36, "vkDestroyFence");
   put_u64(DEVICE_ID);
   put_u64(id);
   put_u64(0);
}

static void set_reply_stream(uint32_t res_id, uint64_t size)
{
   put_command(178, "vkSetReplyCommandStreamMESA");
   put_u64(1);
   put_u32(res_id);
   put_u64(0); /* offset */
   put_u64(size);
}

/* A ring in the first 4 KiB of a resource: head, tail and status words, a 1 KiB buffer. */
static void create_ring(uint64_t ring, uint32_t res_id)
{
   put_command(188, "vkCreateRingMESA");
   put_u64(ring);
   put_u64(1);
   put_u32(1000384000); /* VK_STRUCTURE_TYPE_RING_CREATE_INFO_MESA */
   put_u64(0);          /* pNext */
   put_u32(0);          /* flags */
   put_u32(res_id);
   put_u64(0);       /* offset */
   put_u64(4096);    /* size */
   put_u64(1000000); /* idle timeout, ns */
   put_u64(0);       /* head */
   put_u64(4);       /* tail */
   put_u64(8);       /* status */
   put_u64(64);      /* buffer */
   put_u64(1024);    /* buffer size */
   put_u64(0);       /* extra */
   put_u64(0);
}

/* --- a context over the fake driver ------------------------------------------------------ */

static struct pv_gpu *gpu;
static struct pv_gpu_context *ctx;
static struct pv_vk_table vk;

static void fence_retired(void *data, uint32_t ring_idx, uint64_t fence_id)
{
}

/* Runs the stream built so far; true when the context is still alive after it. */
static bool submit(void)
{
   bool ok = pv_gpu_context_submit(ctx, wire.words, wire.count * 4);
   wire.count = 0;
   return ok;
}

static uint64_t objects(void)
{
   struct pv_gpu_context_stats stats;
   pv_gpu_context_get_stats(ctx, &stats);
   return stats.objects;
}

/* Low enough for a test to reach, high enough for what setup makes. */
static const struct pv_gpu_options limited = {
      .version = PV_GPU_OPTIONS_VERSION,
      .limits = {.memory = 1u << 20, .objects = 8, .rings = 1, .stream = 64u << 10, .reply = 4096},
};

/* A context whose instance and device are there already (the fake's), with one descriptor
 * set layout made through the stream; the renderer's limits as options say (NULL: none
 * given). */
static int start(const struct pv_gpu_options *options)
{
   fake_vk_reset();
   gpu = pv_gpu_create(options);
   assert_non_null(gpu);
   const struct pv_gpu_context_desc desc = {
         .capset_id = PV_GPU_CAPSET_VENUS,
         .debug_name = "objects",
         .fence_retired = fence_retired,
   };
   ctx = pv_gpu_context_create(gpu, &desc);
   assert_non_null(ctx);
   fake_vk_table(&vk);
   ctx->vk = &vk;
   assert_true(pv_render_object_bind(ctx, VK_OBJECT_TYPE_DEVICE, DEVICE_ID,
                                     (uint64_t)(uintptr_t)fake_vk_create_device(), 0, 0, NULL));
   wire.count = 0;
   create_set_layout(LAYOUT_ID);
   assert_true(submit());
   return 0;
}

static int setup(void **state)
{
   return start(NULL);
}

static int setup_limited(void **state)
{
   return start(&limited);
}

/* Teardown must leave the host holding nothing, whatever the test did. */
static int teardown(void **state)
{
   pv_gpu_context_destroy(ctx);
   pv_gpu_destroy(gpu);
   assert_int_equal(fake_vk_live_total(), 0);
   assert_int_equal(fake_vk.misuse, 0);
   fake_vk_reset();
   return 0;
}

static void ids_from(uint64_t first, uint64_t *ids, uint32_t count)
{
   for (uint32_t i = 0; i < count; i++)
      ids[i] = first + i;
}

/* --- waits the driver would make for ever --------------------------------------------- */

/* VK_QUERY_RESULT_WAIT_BIT never reaches the driver (which would block for ever on a query
 * nobody submits): the renderer asks without it until the queries are available. */
static void test_query_wait_polls_the_driver(void **state)
{
   create_query_pool(QUERY_POOL_ID);
   fake_vk.queries_not_ready = 3;
   get_query_pool_results(QUERY_POOL_ID, VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
   assert_true(submit());
   assert_int_equal(fake_vk.query_result_calls, 4);
   assert_false(fake_vk.query_wait_seen);
   /* Without WAIT_BIT the guest gets the driver's one answer, VK_NOT_READY included. */
   fake_vk.queries_not_ready = 1;
   get_query_pool_results(QUERY_POOL_ID, VK_QUERY_RESULT_64_BIT);
   assert_true(submit());
   assert_int_equal(fake_vk.query_result_calls, 5);
}

static void *cancel_later(void *unused)
{
   nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
   pv_gpu_context_cancel(ctx, "test: the guest left");
   return NULL;
}

/* A query that never becomes available holds the stream only until the context dies. */
static void test_query_wait_ends_with_the_context(void **state)
{
   create_query_pool(QUERY_POOL_ID);
   assert_true(submit());
   fake_vk.queries_not_ready = 1 << 30;
   pthread_t canceller;
   assert_int_equal(pthread_create(&canceller, NULL, cancel_later, NULL), 0);
   get_query_pool_results(QUERY_POOL_ID, VK_QUERY_RESULT_WAIT_BIT);
   submit(); /* returns: that is the test */
   assert_true(pv_gpu_context_is_fatal(ctx));
   pthread_join(canceller, NULL);
   assert_true(fake_vk.query_result_calls > 1);
   assert_false(fake_vk.query_wait_seen);
}

/* --- pools and what is allocated from them ----------------------------------------------- */

/* An application that resets its descriptor pool every frame: the sets go with each reset,
 * so the table stays the same size however long it runs, and their ids are free again. */
static void test_reset_descriptor_pool_frees_sets(void **state)
{
   create_descriptor_pool(POOL_ID);
   assert_true(submit());
   const uint64_t base = objects();
   uint64_t ids[8];
   ids_from(1000, ids, 8);
   allocate_sets(POOL_ID, ids, 8);
   assert_true(submit());
   assert_int_equal(objects(), base + 8);
   assert_int_equal(fake_vk.live[VK_OBJECT_TYPE_DESCRIPTOR_SET], 8);
   reset_descriptor_pool(POOL_ID);
   assert_true(submit());
   assert_int_equal(objects(), base);
   assert_int_equal(fake_vk.live[VK_OBJECT_TYPE_DESCRIPTOR_SET], 0);
   /* The same ids again: nothing of the old sets is left to clash with. */
   allocate_sets(POOL_ID, ids, 8);
   reset_descriptor_pool(POOL_ID);
   assert_true(submit());
   for (uint32_t frame = 0; frame < 1000; frame++) {
      ids_from(2000 + frame * 8, ids, 8);
      allocate_sets(POOL_ID, ids, 8);
      reset_descriptor_pool(POOL_ID);
      assert_true(submit());
      assert_int_equal(objects(), base);
   }
   assert_int_equal(fake_vk.live[VK_OBJECT_TYPE_DESCRIPTOR_SET], 0);
}

/* A write whose type reads an array the guest sent empty never reaches the driver, which
 * would read it unchecked (lavapipe crashed so); one that reads nothing does. */
static void test_write_lacking_its_descriptors_is_refused(void **state)
{
   const uint64_t set = 1000;
   create_descriptor_pool(POOL_ID);
   allocate_sets(POOL_ID, &set, 1);
   update_set_without_buffer_infos(set, 0);
   assert_true(submit());
   assert_int_equal(fake_vk.descriptor_updates, 1);
   update_set_without_buffer_infos(set, 1);
   assert_false(submit());
   assert_true(pv_gpu_context_is_fatal(ctx));
   assert_int_equal(fake_vk.descriptor_updates, 1);
}

/* A write must fit its set's layout: the binding there, of the write's type, and the
 * elements within it and the bindings it rolls over into. One that does not never reaches
 * the driver, which would write past the set. */
static void test_write_must_fit_the_layout(void **state)
{
   const uint64_t set = 1000;
   create_descriptor_pool(POOL_ID);
   allocate_sets(POOL_ID, &set, 1);
   update_set(set, 0, 0, 3, VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER); /* rolls over into 1 */
   update_set(set, 3, 0, 1, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER);
   assert_true(submit());
   assert_int_equal(fake_vk.descriptor_updates, 2);
   static const struct {
      uint32_t binding, element, count;
      VkDescriptorType type;
   } faults[] = {
         {0, 0, 4, VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER}, /* binding 3 is of another type */
         {0, 2, 1, VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER}, /* element beyond binding 0 */
         {2, 0, 1, VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER}, /* no descriptors there */
         {7, 0, 1, VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER}, /* no such binding */
         {0, 0, 1, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER}, /* binding 0 holds uniform buffers */
   };
   for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
      teardown(state);
      setup(state);
      create_descriptor_pool(POOL_ID);
      allocate_sets(POOL_ID, &set, 1);
      update_set(set, faults[i].binding, faults[i].element, faults[i].count, faults[i].type);
      assert_false(submit());
      assert_true(pv_gpu_context_is_fatal(ctx));
      assert_int_equal(fake_vk.descriptor_updates, 0);
   }
}

/* A copy must fit both sets, and its destination's type must be its source's. */
static void test_copy_must_fit_both_layouts(void **state)
{
   uint64_t sets[2];
   ids_from(1000, sets, 2);
   create_descriptor_pool(POOL_ID);
   allocate_sets(POOL_ID, sets, 2);
   copy_set(sets[0], 0, sets[1], 0, 3);
   assert_true(submit());
   assert_int_equal(fake_vk.descriptor_updates, 1);
   copy_set(sets[0], 3, sets[1], 0, 1); /* a storage buffer into a uniform binding */
   assert_false(submit());
   assert_true(pv_gpu_context_is_fatal(ctx));
   assert_int_equal(fake_vk.descriptor_updates, 1);
}

/* A push descriptor must fit the set layout its pipeline layout has at that set. */
static void test_push_must_fit_the_pipeline_layout(void **state)
{
   const uint64_t command_buffer = 1000;
   create_pipeline_layout(PIPELINE_LAYOUT_ID);
   create_command_pool(POOL_ID);
   allocate_command_buffers(POOL_ID, &command_buffer, 1);
   push_set(command_buffer, PIPELINE_LAYOUT_ID, 1, 0, 3, VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER);
   assert_true(submit());
   assert_int_equal(fake_vk.descriptor_updates, 1);
   push_set(command_buffer, PIPELINE_LAYOUT_ID, 1, 3, 2, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER);
   assert_false(submit());
   assert_true(pv_gpu_context_is_fatal(ctx));
   assert_int_equal(fake_vk.descriptor_updates, 1);
}

/* Freed sets go one by one; destroying the pool takes the rest, and only its own. */
static void test_free_and_destroy_descriptor_pool(void **state)
{
   create_descriptor_pool(POOL_ID);
   create_descriptor_pool(POOL2_ID);
   assert_true(submit());
   const uint64_t base = objects();
   uint64_t ids[4], other[2];
   ids_from(1000, ids, 4);
   ids_from(1100, other, 2);
   allocate_sets(POOL_ID, ids, 4);
   allocate_sets(POOL2_ID, other, 2);
   free_sets(POOL_ID, ids, 2);
   assert_true(submit());
   assert_int_equal(objects(), base + 4);
   destroy_descriptor_pool(POOL_ID);
   assert_true(submit());
   assert_int_equal(objects(), base + 1);
   assert_int_equal(fake_vk.live[VK_OBJECT_TYPE_DESCRIPTOR_SET], 2);
   /* The destroyed pool's ids, all four, are free for a new pool's sets. */
   create_descriptor_pool(POOL_ID);
   allocate_sets(POOL_ID, ids, 4);
   free_sets(POOL2_ID, other, 2); /* the other pool's sets are still named */
   assert_true(submit());
   assert_int_equal(objects(), base + 4);
}

/* vkResetCommandPool keeps its command buffers (they stay valid and named), and
 * vkDestroyCommandPool frees them all. */
static void test_command_pool_reset_keeps_buffers(void **state)
{
   create_command_pool(POOL_ID);
   assert_true(submit());
   const uint64_t base = objects();
   uint64_t ids[4];
   ids_from(1000, ids, 4);
   allocate_command_buffers(POOL_ID, ids, 4);
   reset_command_pool(POOL_ID);
   assert_true(submit());
   assert_int_equal(objects(), base + 4);
   assert_int_equal(fake_vk.live[VK_OBJECT_TYPE_COMMAND_BUFFER], 4);
   free_command_buffers(POOL_ID, ids, 2);
   assert_true(submit());
   assert_int_equal(objects(), base + 2);
   destroy_command_pool(POOL_ID);
   assert_true(submit());
   assert_int_equal(objects(), base - 1);
   assert_int_equal(fake_vk.live[VK_OBJECT_TYPE_COMMAND_BUFFER], 0);
   create_command_pool(POOL_ID);
   allocate_command_buffers(POOL_ID, ids, 4);
   assert_true(submit());
   assert_int_equal(objects(), base + 4);
}

/* Ids the host made nothing for are not taken. */
static void test_failed_allocation_takes_no_ids(void **state)
{
   create_descriptor_pool(POOL_ID);
   assert_true(submit());
   const uint64_t base = objects();
   uint64_t ids[4];
   ids_from(1000, ids, 4);
   fake_vk.fail_allocations = true;
   allocate_sets(POOL_ID, ids, 4);
   assert_true(submit());
   assert_int_equal(objects(), base);
   fake_vk.fail_allocations = false;
   allocate_sets(POOL_ID, ids, 4);
   assert_true(submit());
   assert_int_equal(objects(), base + 4);
}

/* --- creates whose guest id clashes ------------------------------------------------------ */

/* A create naming a live id fails the context and leaves no host object behind. */
static void test_clashing_create_makes_no_host_object(void **state)
{
   create_fence(FENCE_ID);
   assert_true(submit());
   assert_int_equal(fake_vk.live[VK_OBJECT_TYPE_FENCE], 1);
   const uint64_t count = objects();
   create_fence(FENCE_ID);
   assert_false(submit());
   assert_true(pv_gpu_context_is_fatal(ctx));
   assert_int_equal(fake_vk.live[VK_OBJECT_TYPE_FENCE], 1);
   assert_int_equal(objects(), count);
}

static void test_create_with_id_0_makes_no_host_object(void **state)
{
   create_fence(0);
   assert_false(submit());
   assert_int_equal(fake_vk.live[VK_OBJECT_TYPE_FENCE], 0);
}

/* An id named twice in one allocation: the host allocates none of the sets. */
static void test_allocation_repeating_an_id_allocates_nothing(void **state)
{
   create_descriptor_pool(POOL_ID);
   assert_true(submit());
   const uint64_t base = objects();
   const uint64_t ids[3] = {1000, 1001, 1000};
   allocate_sets(POOL_ID, ids, 3);
   assert_false(submit());
   assert_int_equal(fake_vk.live[VK_OBJECT_TYPE_DESCRIPTOR_SET], 0);
   assert_int_equal(objects(), base);
}

/* An allocation whose last id is a live object's: none of its command buffers is made, and
 * the ids before it are not left taken. */
static void test_allocation_clashing_with_a_live_id_allocates_nothing(void **state)
{
   create_command_pool(POOL_ID);
   assert_true(submit());
   const uint64_t base = objects();
   const uint64_t ids[3] = {1000, 1001, FENCE_ID};
   create_fence(FENCE_ID);
   allocate_command_buffers(POOL_ID, ids, 3);
   assert_false(submit());
   assert_int_equal(fake_vk.live[VK_OBJECT_TYPE_COMMAND_BUFFER], 0);
   assert_int_equal(objects(), base + 1);
}

/* --- limits ---------------------------------------------------------------------------- */

/* A shared-memory blob attached to the context, mapped here: for replies and rings. */
static uint8_t *blob(uint32_t res_id, uint64_t size)
{
   const struct pv_gpu_blob_desc desc = {
         .res_id = res_id,
         .blob_mem = PV_GPU_BLOB_MEM_HOST3D,
         .blob_flags = PV_GPU_BLOB_FLAG_MAPPABLE,
         .size = size,
   };
   assert_true(pv_gpu_resource_create_blob(ctx, &desc));
   void *map;
   uint64_t mapped_size;
   uint32_t map_info;
   assert_true(pv_gpu_resource_map(gpu, res_id, &map, &mapped_size, &map_info));
   return map;
}

static int32_t reply_result(const uint8_t *reply, size_t offset)
{
   int32_t ret;
   memcpy(&ret, reply + offset + 4, sizeof(ret)); /* after the command id */
   return ret;
}

/* The device's memory state, as vkCreateDevice would have made it: one memory type, none
 * of it mapped through a memfd. */
static void give_device_memory_state(void)
{
   struct pv_render_object *dev = pv_render_object_get(ctx, DEVICE_ID, VK_OBJECT_TYPE_DEVICE);
   struct pv_render_device *state = calloc(1, sizeof(*state));
   assert_non_null(state);
   state->memory_properties.memoryTypeCount = 1;
   pv_render_bindable_cache_init(&state->buffers);
   pv_render_bindable_cache_init(&state->images);
   dev->data = state;
   pv_render_object_put(ctx, dev);
}

static uint64_t device_memory_bytes(void)
{
   struct pv_gpu_context_stats stats;
   pv_gpu_context_get_stats(ctx, &stats);
   return stats.device_memory_bytes;
}

/* Past the memory limit an allocation answers VK_ERROR_OUT_OF_DEVICE_MEMORY without reaching
 * the driver; the context lives on, and an allocation that fits still works. */
static void test_memory_limit(void **state)
{
   give_device_memory_state();
   const uint8_t *reply = blob(1, 4096);
   set_reply_stream(1, 4096);
   allocate_memory(100, 768u << 10);
   allocate_memory(101, 512u << 10);         /* 1.25 MiB together: over */
   allocate_memory(102, UINT64_MAX - 4095u); /* wraps the sum: over too */
   allocate_memory(103, 256u << 10);         /* exactly 1 MiB together */
   assert_true(submit());
   assert_int_equal(reply_result(reply, 0), VK_SUCCESS);
   assert_int_equal(reply_result(reply, 24), VK_ERROR_OUT_OF_DEVICE_MEMORY);
   assert_int_equal(reply_result(reply, 48), VK_ERROR_OUT_OF_DEVICE_MEMORY);
   assert_int_equal(reply_result(reply, 72), VK_SUCCESS);
   assert_int_equal(fake_vk.memory_allocations, 2);
   assert_int_equal(fake_vk.live[VK_OBJECT_TYPE_DEVICE_MEMORY], 2);
   assert_int_equal(device_memory_bytes(), 1u << 20);
   /* Freed memory counts no more. */
   free_memory(100);
   set_reply_stream(1, 4096);
   allocate_memory(101, 512u << 10);
   assert_true(submit());
   assert_int_equal(reply_result(reply, 0), VK_SUCCESS);
   assert_int_equal(device_memory_bytes(), 768u << 10);
   assert_false(pv_gpu_context_is_fatal(ctx));
}

/* A memory object's state, bound straight into the table and counted as allocated. It has
 * no parent, so no teardown hands its made-up host handle to the driver. */
static void bind_memory_state(uint64_t id, VkDeviceSize size)
{
   struct pv_render_memory *mem = calloc(1, sizeof(*mem));
   assert_non_null(mem);
   mem->size = size;
   atomic_fetch_add(&ctx->device_memory_bytes, size);
   assert_true(
         pv_render_object_bind(ctx, VK_OBJECT_TYPE_DEVICE_MEMORY, id, 0x1000 + id, 0, 0, mem));
}

/* An object a stream holds outlives its unbind by another: its state goes (and its memory
 * stops counting) with the last reference, not before. */
static void test_held_object_outlives_unbind(void **state)
{
   bind_memory_state(100, 4096);
   struct pv_render_object *held = pv_render_object_get(ctx, 100, VK_OBJECT_TYPE_DEVICE_MEMORY);
   assert_non_null(held);
   assert_null(pv_render_object_get(ctx, 100, VK_OBJECT_TYPE_BUFFER));
   pv_render_object_unbind(ctx, 100);
   assert_null(pv_render_object_get(ctx, 100, VK_OBJECT_TYPE_DEVICE_MEMORY));
   assert_int_equal(device_memory_bytes(), 4096);
   assert_int_equal(((struct pv_render_memory *)held->data)->size, 4096);
   pv_render_object_put(ctx, held);
   assert_int_equal(device_memory_bytes(), 0);
}

enum { CHURN_ROUNDS = 20000 };
static atomic_bool churn_done;

/* Binds and unbinds the same id over and over, as a guest destroying and re-creating on one
 * ring while another uses the object. */
static void *churn(void *unused)
{
   (void)unused;
   for (int i = 0; i < CHURN_ROUNDS; i++) {
      bind_memory_state(100, 1);
      pv_render_object_unbind(ctx, 100);
   }
   atomic_store(&churn_done, true);
   return NULL;
}

/* Readers racing binds and unbinds only ever see whole state (ASan, and TSan in the e2e
 * programs, would report the use after free the table allowed before references). */
static void test_get_races_unbind(void **state)
{
   pthread_t thread;
   atomic_store(&churn_done, false);
   assert_int_equal(pthread_create(&thread, NULL, churn, NULL), 0);
   uint64_t seen = 0;
   while (!atomic_load(&churn_done)) {
      struct pv_render_object *obj = pv_render_object_get(ctx, 100, VK_OBJECT_TYPE_DEVICE_MEMORY);
      if (obj) {
         const struct pv_render_memory *mem = obj->data;
         seen += mem->size;
         pv_render_object_put(ctx, obj);
      }
   }
   assert_int_equal(pthread_join(thread, NULL), 0);
   assert_int_equal(device_memory_bytes(), 0);
   print_message("a reader saw the object %llu times while it was bound and unbound %d times\n",
                 (unsigned long long)seen, CHURN_ROUNDS);
}

/* At the objects limit a create answers VK_ERROR_OUT_OF_HOST_MEMORY without reaching the
 * driver; once an object goes, the next create works. */
static void test_objects_limit(void **state)
{
   const uint8_t *reply = blob(1, 4096);
   set_reply_stream(1, 4096);
   const uint64_t room = limited.limits.objects - objects();
   for (uint64_t i = 0; i <= room; i++)
      create_fence_replying(100 + i);
   assert_true(submit());
   for (uint64_t i = 0; i < room; i++)
      assert_int_equal(reply_result(reply, i * 24), VK_SUCCESS);
   assert_int_equal(reply_result(reply, room * 24), VK_ERROR_OUT_OF_HOST_MEMORY);
   assert_int_equal(fake_vk.live[VK_OBJECT_TYPE_FENCE], room);
   assert_int_equal(objects(), limited.limits.objects);
   destroy_fence(100);
   set_reply_stream(1, 4096);
   create_fence_replying(100 + room);
   assert_true(submit());
   assert_int_equal(reply_result(reply, 0), VK_SUCCESS);
   assert_false(pv_gpu_context_is_fatal(ctx));
}

/* A ring past the rings limit (one here) turns the context fatal. */
static void test_rings_limit(void **state)
{
   blob(1, 4096);
   blob(2, 4096);
   create_ring(1, 1);
   assert_true(submit());
   create_ring(2, 2);
   assert_false(submit());
   assert_true(pv_gpu_context_is_fatal(ctx));
}

/* A submit larger than the stream limit turns the context fatal before any of it runs. */
static void test_stream_limit(void **state)
{
   const uint64_t before = objects();
   create_fence(100);
   while (wire.count * 4 <= limited.limits.stream)
      put_u32(0); /* trailing words: never decoded */
   assert_false(submit());
   assert_true(pv_gpu_context_is_fatal(ctx));
   assert_int_equal(objects(), before);
   assert_int_equal(fake_vk.live[VK_OBJECT_TYPE_FENCE], 0);
}

/* A reply stream larger than the reply limit turns the context fatal. */
static void test_reply_limit(void **state)
{
   blob(1, 2 * limited.limits.reply);
   set_reply_stream(1, limited.limits.reply);
   assert_true(submit());
   set_reply_stream(1, limited.limits.reply + 4);
   assert_false(submit());
   assert_true(pv_gpu_context_is_fatal(ctx));
}

/* An options struct of version 1 ends before the limits: the renderer must not read them. */
static void test_version_1_options_get_defaults(void **state)
{
   const struct {
      uint32_t version;
   } old = {1};
   struct pv_gpu *g = pv_gpu_create((const struct pv_gpu_options *)&old);
   assert_non_null(g);
   assert_int_equal(g->limits.objects, 1u << 20);
   assert_int_equal(g->limits.memory, 64ull << 30);
   pv_gpu_destroy(g);
}

int main(void)
{
   const struct CMUnitTest tests[] = {
         cmocka_unit_test_setup_teardown(test_query_wait_polls_the_driver, setup, teardown),
         cmocka_unit_test_setup_teardown(test_query_wait_ends_with_the_context, setup, teardown),
         cmocka_unit_test_setup_teardown(test_reset_descriptor_pool_frees_sets, setup, teardown),
         cmocka_unit_test_setup_teardown(test_free_and_destroy_descriptor_pool, setup, teardown),
         cmocka_unit_test_setup_teardown(test_command_pool_reset_keeps_buffers, setup, teardown),
         cmocka_unit_test_setup_teardown(test_failed_allocation_takes_no_ids, setup, teardown),
         cmocka_unit_test_setup_teardown(test_clashing_create_makes_no_host_object, setup,
                                         teardown),
         cmocka_unit_test_setup_teardown(test_create_with_id_0_makes_no_host_object, setup,
                                         teardown),
         cmocka_unit_test_setup_teardown(test_allocation_repeating_an_id_allocates_nothing, setup,
                                         teardown),
         cmocka_unit_test_setup_teardown(test_allocation_clashing_with_a_live_id_allocates_nothing,
                                         setup, teardown),
         cmocka_unit_test_setup_teardown(test_write_lacking_its_descriptors_is_refused, setup,
                                         teardown),
         cmocka_unit_test_setup_teardown(test_write_must_fit_the_layout, setup, teardown),
         cmocka_unit_test_setup_teardown(test_copy_must_fit_both_layouts, setup, teardown),
         cmocka_unit_test_setup_teardown(test_push_must_fit_the_pipeline_layout, setup, teardown),
         cmocka_unit_test_setup_teardown(test_held_object_outlives_unbind, setup, teardown),
         cmocka_unit_test_setup_teardown(test_get_races_unbind, setup, teardown),
         cmocka_unit_test_setup_teardown(test_memory_limit, setup_limited, teardown),
         cmocka_unit_test_setup_teardown(test_objects_limit, setup_limited, teardown),
         cmocka_unit_test_setup_teardown(test_rings_limit, setup_limited, teardown),
         cmocka_unit_test_setup_teardown(test_stream_limit, setup_limited, teardown),
         cmocka_unit_test_setup_teardown(test_reply_limit, setup_limited, teardown),
         cmocka_unit_test(test_version_1_options_get_defaults),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
