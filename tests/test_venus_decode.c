/* Unit test of the generated Venus decoders and reply encoders on hand-built commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "venus_test_util.h"

/* --- building commands ------------------------------------------------------------------- */

/* The command being built, in little-endian 4-byte units as the guest encodes it. */
static struct {
   uint8_t *data;
   size_t size;
   size_t capacity;
} wire;

/* Appends n bytes and pads to 4 with 0xee: the guest leaves padding unspecified, so the
 * decoder must not read meaning into it. */
static void put_bytes(const void *bytes, size_t n)
{
   size_t padded = (n + 3) & ~(size_t)3;
   if (wire.size + padded > wire.capacity) {
      wire.capacity = (wire.size + padded) * 2;
      wire.data = realloc(wire.data, wire.capacity);
      assert_non_null(wire.data);
   }
   memcpy(wire.data + wire.size, bytes, n);
   memset(wire.data + wire.size + n, 0xee, padded - n);
   wire.size += padded;
}

static void put_u32(uint32_t v)
{
   const uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
   put_bytes(le, sizeof(le));
}

/* Only 4-byte aligned on the wire, like every 64-bit value. */
static void put_u64(uint64_t v)
{
   put_u32((uint32_t)v);
   put_u32((uint32_t)(v >> 32));
}

static void put_f32(float f)
{
   uint32_t bits;
   memcpy(&bits, &f, sizeof(bits));
   put_u32(bits);
}

static void put_words(const uint32_t *words, size_t n)
{
   for (size_t i = 0; i < n; i++)
      put_u32(words[i]);
}

/* Starts a new command. The id comes from protocol/venus-command-types.tsv; checking it against
 * the generated name table keeps the two in step. */
static void put_command(uint32_t id, const char *name, uint32_t flags)
{
   assert_string_equal(pv_venus_command_name(id), name);
   wire.size = 0;
   put_u32(id);
   put_u32(flags);
}

/* --- running one command ----------------------------------------------------------------- */

static struct pv_venus_handlers handlers; /* each test installs the one it needs */
static unsigned handler_calls;
static char error[256];
static uint8_t reply[4096];
static size_t reply_size;

/* Decodes the built command as a stream of its own. On success every byte must have been
 * consumed: the stream has no per-command length, so a short read derails the next command. */
static bool decode(const struct pv_cs_handles *handles)
{
   struct pv_venus_test t;
   pv_venus_test_init(&t, &handlers, reply, sizeof(reply), 64u << 20);
   pv_venus_test_begin(&t, wire.data, wire.size, handles);
   bool ok = pv_venus_dispatch_command(&t.dispatch);
   size_t consumed = pv_cs_offset(&t.reader);
   snprintf(error, sizeof(error), "%s", t.reader.error);
   reply_size = t.reply_size;
   pv_venus_test_finish(&t);
   if (ok)
      assert_int_equal(consumed, wire.size);
   return ok;
}

/* The command must fail before its handler runs, with `why` in the message. */
static void assert_decode_fails(const struct pv_cs_handles *handles, const char *why)
{
   if (decode(handles))
      fail_msg("decoded, but should have failed (%s)", why);
   assert_int_equal(handler_calls, 0);
   if (!strstr(error, why))
      fail_msg("error \"%s\" does not mention \"%s\"", error, why);
}

static uint32_t reply_u32(size_t offset)
{
   const uint8_t *le = reply + offset;
   assert_true(offset + 4 <= reply_size);
   return le[0] | (uint32_t)le[1] << 8 | (uint32_t)le[2] << 16 | (uint32_t)le[3] << 24;
}

static uint64_t reply_u64(size_t offset)
{
   return reply_u32(offset) | (uint64_t)reply_u32(offset + 4) << 32;
}

static void assert_reply_words(const uint32_t *expected, size_t n)
{
   for (size_t i = 0; i < n && i * 4 < reply_size; i++)
      if (reply_u32(i * 4) != expected[i])
         fail_msg("reply word %zu is %08x, expected %08x", i, reply_u32(i * 4), expected[i]);
   assert_int_equal(reply_size, n * 4);
}

static int reset(void **state)
{
   memset(&handlers, 0, sizeof(handlers));
   handler_calls = 0;
   error[0] = 0;
   reply_size = 0;
   return 0;
}

static int free_wire(void **state)
{
   free(wire.data);
   return 0;
}

/* Guest ids the handle-translation tests know; any other id is unknown. */
static const struct {
   uint64_t id;
   VkObjectType type;
   uint64_t handle;
} objects[] = {
      {5, VK_OBJECT_TYPE_COMMAND_BUFFER, 0x1234},
      {9, VK_OBJECT_TYPE_BUFFER, 0x5678},
};

static bool lookup_object(void *data, uint64_t id, VkObjectType type, uint64_t *handle)
{
   for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++) {
      if (objects[i].id == id) {
         *handle = objects[i].handle;
         return objects[i].type == type;
      }
   }
   return false;
}

static const struct pv_cs_handles object_table = {lookup_object, NULL};

/* --- vkCreateInstance: the worked example of docs/protocol/venus.md §5 ------------------- */

static struct {
   char app_name[8];
   bool has_engine_name;
   uint32_t api_version;
   uint32_t layer_count, extension_count;
   uint64_t instance_id;
} instance_got;

static void on_create_instance(struct pv_venus_dispatch *d, struct pv_cmd_vkCreateInstance *args)
{
   const VkApplicationInfo *app = args->pCreateInfo->pApplicationInfo;
   handler_calls++;
   snprintf(instance_got.app_name, sizeof(instance_got.app_name), "%s",
            app && app->pApplicationName ? app->pApplicationName : "(none)");
   instance_got.has_engine_name = app && app->pEngineName;
   instance_got.api_version = app ? app->apiVersion : 0;
   instance_got.layer_count = args->pCreateInfo->enabledLayerCount;
   instance_got.extension_count = args->pCreateInfo->enabledExtensionCount;
   instance_got.instance_id = (uint64_t)(uintptr_t)*args->pInstance;
   args->ret = VK_SUCCESS;
}

static void test_create_instance_worked_example(void **state)
{
   static const uint32_t command[] = {
         0x00000000, 0x00000001,             /* type 0, flags = reply */
         0x00000001, 0x00000000,             /* pCreateInfo count 1 */
         0x00000001,                         /* sType INSTANCE_CREATE_INFO */
         0x00000000, 0x00000000,             /* pNext none */
         0x00000000,                         /* flags */
         0x00000001, 0x00000000,             /* pApplicationInfo count 1 */
         0x00000000,                         /* sType APPLICATION_INFO */
         0x00000000, 0x00000000,             /* pNext none */
         0x00000003, 0x00000000, 0x00007463, /* pApplicationName: length 3, "ct\0" + pad */
         0x00000000,                         /* applicationVersion */
         0x00000000, 0x00000000,             /* pEngineName NULL */
         0x00000000,                         /* engineVersion */
         0x00401000,                         /* apiVersion 1.1.0 */
         0x00000000, 0x00000000, 0x00000000, /* enabledLayerCount 0, ppEnabledLayerNames count 0 */
         0x00000000, 0x00000000, 0x00000000, /* enabledExtensionCount 0, names count 0 */
         0x00000000, 0x00000000,             /* pAllocator NULL */
         0x00000001, 0x00000000, 0x00000001, 0x00000000, /* pInstance: count 1, id 1 */
   };
   static const uint32_t expected_reply[] = {
         0x00000000, 0x00000000, 0x00000001, 0x00000000, 0x00000001, 0x00000000,
   };
   handlers.vkCreateInstance = on_create_instance;
   wire.size = 0;
   put_words(command, sizeof(command) / 4);
   assert_true(decode(NULL));
   assert_int_equal(handler_calls, 1);
   assert_string_equal(instance_got.app_name, "ct");
   assert_false(instance_got.has_engine_name);
   assert_int_equal(instance_got.api_version, VK_API_VERSION_1_1);
   assert_int_equal(instance_got.layer_count, 0);
   assert_int_equal(instance_got.extension_count, 0);
   assert_int_equal(instance_got.instance_id, 1);
   assert_reply_words(expected_reply, sizeof(expected_reply) / 4);
}

/* --- vkGetBufferMemoryRequirements2: partial chain, reply of docs/protocol/venus.md §4 --- */

static struct {
   uint64_t buffer;
   VkStructureType chained;
} requirements_got;

static void on_buffer_requirements(struct pv_venus_dispatch *d,
                                   struct pv_cmd_vkGetBufferMemoryRequirements2 *args)
{
   VkMemoryRequirements2 *req = args->pMemoryRequirements;
   handler_calls++;
   if (!req)
      return; /* only if the decoder let a NULL through; see test_null_required_output_fails */
   requirements_got.buffer = (uint64_t)(uintptr_t)args->pInfo->buffer;
   requirements_got.chained = req->pNext ? ((VkBaseOutStructure *)req->pNext)->sType : 0;
   req->memoryRequirements = (VkMemoryRequirements){
         .size = 4096,
         .alignment = 64,
         .memoryTypeBits = 1,
   };
   if (requirements_got.chained == VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS) {
      VkMemoryDedicatedRequirements *dedicated = req->pNext;
      dedicated->prefersDedicatedAllocation = VK_FALSE;
      dedicated->requiresDedicatedAllocation = VK_FALSE;
   }
}

/* with_output: whether pMemoryRequirements is sent (the guest always sends it). */
static void put_buffer_requirements(bool with_output)
{
   put_command(145, "vkGetBufferMemoryRequirements2", PV_VENUS_GENERATE_REPLY);
   put_u64(3); /* device */
   put_u64(1);
   put_u32(VK_STRUCTURE_TYPE_BUFFER_MEMORY_REQUIREMENTS_INFO_2);
   put_u64(0);
   put_u64(6); /* buffer */
   put_u64(with_output);
   if (with_output) {
      put_u32(VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2);
      put_u64(1);
      put_u32(VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS);
      put_u64(0);
   }
}

static void test_buffer_requirements_reply(void **state)
{
   static const uint32_t expected_reply[] = {
         0x00000091,                         /* command type 145 */
         0x00000001, 0x00000000,             /* pMemoryRequirements count 1 */
         0x3b9d0453,                         /* sType MEMORY_REQUIREMENTS_2 */
         0x00000001, 0x00000000, 0x3b9cba18, /* chain: 1, sType MEMORY_DEDICATED_REQUIREMENTS */
         0x00000000, 0x00000000,             /* its chain: none */
         0x00000000, 0x00000000,             /* prefers-, requiresDedicatedAllocation */
         0x00001000, 0x00000000,             /* memoryRequirements.size = 4096 */
         0x00000040, 0x00000000,             /* memoryRequirements.alignment = 64 */
         0x00000001,                         /* memoryRequirements.memoryTypeBits */
   };
   handlers.vkGetBufferMemoryRequirements2 = on_buffer_requirements;
   put_buffer_requirements(true);
   assert_true(decode(NULL));
   assert_int_equal(handler_calls, 1);
   assert_int_equal(requirements_got.buffer, 6);
   assert_int_equal(requirements_got.chained, VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS);
   assert_reply_words(expected_reply, sizeof(expected_reply) / 4);
}

/* The API requires pMemoryRequirements (docs/protocol/venus.md §4: a NULL where the API requires a
 * pointer is fatal). Accepting it hands NULL to the handler, and the forwarding handler passes
 * it on to the host driver. */
static void test_null_required_output_fails(void **state)
{
   handlers.vkGetBufferMemoryRequirements2 = on_buffer_requirements;
   put_buffer_requirements(false);
   assert_decode_fails(NULL, "pMemoryRequirements");
}

/* --- vkCmdDispatch: handle translation --------------------------------------------------- */

static struct {
   uint64_t command_buffer, command_buffer_id;
   uint32_t groups[3];
} dispatch_got;

static void on_dispatch(struct pv_venus_dispatch *d, struct pv_cmd_vkCmdDispatch *args)
{
   handler_calls++;
   dispatch_got.command_buffer = (uint64_t)(uintptr_t)args->commandBuffer;
   dispatch_got.command_buffer_id = args->commandBuffer_id;
   dispatch_got.groups[0] = args->groupCountX;
   dispatch_got.groups[1] = args->groupCountY;
   dispatch_got.groups[2] = args->groupCountZ;
}

static void put_dispatch(uint64_t command_buffer)
{
   put_command(110, "vkCmdDispatch", 0);
   put_u64(command_buffer);
   put_u32(8);
   put_u32(4);
   put_u32(2);
}

static void test_dispatch_translates_handle(void **state)
{
   handlers.vkCmdDispatch = on_dispatch;
   put_dispatch(5);
   assert_true(decode(&object_table));
   assert_int_equal(handler_calls, 1);
   assert_int_equal(dispatch_got.command_buffer, 0x1234);
   assert_int_equal(dispatch_got.command_buffer_id, 5);
   assert_int_equal(dispatch_got.groups[0], 8);
   assert_int_equal(dispatch_got.groups[1], 4);
   assert_int_equal(dispatch_got.groups[2], 2);
}

static void test_dispatch_unknown_or_mistyped_id(void **state)
{
   handlers.vkCmdDispatch = on_dispatch;
   put_dispatch(7); /* unknown */
   assert_decode_fails(&object_table, "id 7");
   put_dispatch(9); /* a buffer */
   assert_decode_fails(&object_table, "id 9");
}

/* A dispatchable handle of id 0 would reach the loader (which aborts on it) and a required
 * non-dispatchable one the driver: vk.xml says neither may be VK_NULL_HANDLE. */
static void test_dispatch_null_command_buffer(void **state)
{
   handlers.vkCmdDispatch = on_dispatch;
   put_dispatch(0);
   assert_decode_fails(&object_table, "commandBuffer is VK_NULL_HANDLE");
   assert_int_equal(handler_calls, 0);
}

/* --- vkCreateBuffer: a counted u32 array; the allocator rule ----------------------------- */

static struct {
   VkBufferCreateInfo info;
   uint32_t families[2];
   uint64_t device_id, buffer_id;
} buffer_got;

static void on_create_buffer(struct pv_venus_dispatch *d, struct pv_cmd_vkCreateBuffer *args)
{
   handler_calls++;
   buffer_got.info = *args->pCreateInfo;
   if (args->pCreateInfo->pQueueFamilyIndices)
      memcpy(buffer_got.families, args->pCreateInfo->pQueueFamilyIndices,
             sizeof(buffer_got.families));
   buffer_got.info.pQueueFamilyIndices = NULL; /* points into the arena, gone after dispatch */
   buffer_got.device_id = args->device_id;
   buffer_got.buffer_id = (uint64_t)(uintptr_t)*args->pBuffer;
}

/* A storage buffer shared by queue families 0 and 2 unless a test changes these. */
static struct {
   uint32_t flags, sharing_mode;
} buffer_put;

/* queueFamilyIndexCount is 2; family_count is the array count on the wire (that many indices
 * follow), allocator the pAllocator marker. */
static void put_create_buffer(uint64_t family_count, uint64_t allocator)
{
   static const uint32_t families[] = {0, 2, 1};
   assert_true(family_count <= 3);
   put_command(50, "vkCreateBuffer", 0);
   put_u64(3); /* device */
   put_u64(1);
   put_u32(VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO);
   put_u64(0);
   put_u32(buffer_put.flags);
   put_u64(1u << 20); /* size */
   put_u32(VK_BUFFER_USAGE_STORAGE_BUFFER_BIT);
   put_u32(buffer_put.sharing_mode ? buffer_put.sharing_mode : VK_SHARING_MODE_CONCURRENT);
   put_u32(2);
   put_u64(family_count);
   put_words(families, family_count);
   put_u64(allocator);
   put_u64(1); /* pBuffer */
   put_u64(6);
}

static void test_create_buffer(void **state)
{
   handlers.vkCreateBuffer = on_create_buffer;
   put_create_buffer(2, 0);
   assert_true(decode(NULL));
   assert_int_equal(handler_calls, 1);
   assert_int_equal(buffer_got.device_id, 3);
   assert_int_equal(buffer_got.info.sType, VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO);
   assert_null(buffer_got.info.pNext);
   assert_int_equal(buffer_got.info.size, 1u << 20);
   assert_int_equal(buffer_got.info.usage, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT);
   assert_int_equal(buffer_got.info.sharingMode, VK_SHARING_MODE_CONCURRENT);
   assert_int_equal(buffer_got.info.queueFamilyIndexCount, 2);
   assert_int_equal(buffer_got.families[0], 0);
   assert_int_equal(buffer_got.families[1], 2);
   assert_int_equal(buffer_got.buffer_id, 6);
}

static void test_create_buffer_lying_count(void **state)
{
   handlers.vkCreateBuffer = on_create_buffer;
   put_create_buffer(3, 0);
   assert_decode_fails(NULL, "array size 3, expected 2");
}

static void test_allocator_must_be_null(void **state)
{
   handlers.vkCreateBuffer = on_create_buffer;
   put_create_buffer(2, 1);
   assert_decode_fails(NULL, "pAllocator");
}

/* An enum must hold one of its type's values, and a bitmask only its type's bits (drivers
 * index tables by them: lavapipe's heap broke on an image view's made-up aspect bits). */
static void test_undefined_enum_value_fails(void **state)
{
   handlers.vkCreateBuffer = on_create_buffer;
   buffer_put.sharing_mode = 2;
   put_create_buffer(2, 0);
   buffer_put.sharing_mode = 0;
   assert_decode_fails(NULL, "sharingMode: 2 is not a VkSharingMode value");
}

static void test_undefined_flag_bits_fail(void **state)
{
   handlers.vkCreateBuffer = on_create_buffer;
   buffer_put.flags = VK_BUFFER_CREATE_PROTECTED_BIT | (1u << 31);
   put_create_buffer(2, 0);
   buffer_put.flags = 0;
   assert_decode_fails(NULL, "flags: bits 0x80000000 are not VkBufferCreateFlags bits");
}

/* --- vkCmdPushConstants: a blob ---------------------------------------------------------- */

static struct {
   uint32_t offset, size;
   VkShaderStageFlags stages;
   uint64_t layout;
   uint8_t values[16];
} push_got;

static void on_push_constants(struct pv_venus_dispatch *d, struct pv_cmd_vkCmdPushConstants *args)
{
   handler_calls++;
   push_got.offset = args->offset;
   push_got.size = args->size;
   push_got.stages = args->stageFlags;
   push_got.layout = (uint64_t)(uintptr_t)args->layout;
   memset(push_got.values, 0, sizeof(push_got.values));
   memcpy(push_got.values, args->pValues, args->size);
}

static const uint8_t push_values[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                        0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

static void put_push_constants(uint32_t size, uint64_t blob_size)
{
   assert_true(blob_size <= sizeof(push_values));
   put_command(132, "vkCmdPushConstants", 0);
   put_u64(5); /* commandBuffer */
   put_u64(8); /* layout */
   put_u32(VK_SHADER_STAGE_COMPUTE_BIT);
   put_u32(16); /* offset */
   put_u32(size);
   put_u64(blob_size);
   put_bytes(push_values, blob_size);
}

static void test_push_constants(void **state)
{
   handlers.vkCmdPushConstants = on_push_constants;
   put_push_constants(16, 16);
   assert_true(decode(NULL));
   assert_int_equal(handler_calls, 1);
   assert_int_equal(push_got.offset, 16);
   assert_int_equal(push_got.size, 16);
   assert_int_equal(push_got.stages, VK_SHADER_STAGE_COMPUTE_BIT);
   assert_int_equal(push_got.layout, 8);
   assert_memory_equal(push_got.values, push_values, 16);

   /* A blob that is not a multiple of 4 is padded on the wire; the padding is skipped. */
   put_push_constants(6, 6);
   assert_true(decode(NULL));
   assert_int_equal(push_got.size, 6);
   assert_memory_equal(push_got.values, push_values, 6);
}

static void test_push_constants_size_mismatch(void **state)
{
   handlers.vkCmdPushConstants = on_push_constants;
   put_push_constants(16, 12);
   assert_decode_fails(NULL, "array size 12, expected 16");
}

/* --- vkCreateShaderModule: pCode counted as codeSize / 4 --------------------------------- */

static struct {
   size_t code_size;
   uint32_t code[2];
   uint64_t module_id;
} shader_got;

static void on_create_shader_module(struct pv_venus_dispatch *d,
                                    struct pv_cmd_vkCreateShaderModule *args)
{
   handler_calls++;
   shader_got.code_size = args->pCreateInfo->codeSize;
   memcpy(shader_got.code, args->pCreateInfo->pCode, sizeof(shader_got.code));
   shader_got.module_id = (uint64_t)(uintptr_t)*args->pShaderModule;
}

static void put_create_shader_module(uint64_t code_count)
{
   static const uint32_t code[] = {0x07230203, 0x00010600};
   assert_true(code_count <= 2);
   put_command(59, "vkCreateShaderModule", 0);
   put_u64(3); /* device */
   put_u64(1);
   put_u32(VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO);
   put_u64(0);
   put_u32(0); /* flags */
   put_u64(8); /* codeSize */
   put_u64(code_count);
   put_words(code, code_count);
   put_u64(0); /* pAllocator */
   put_u64(1); /* pShaderModule */
   put_u64(10);
}

static void test_create_shader_module(void **state)
{
   handlers.vkCreateShaderModule = on_create_shader_module;
   put_create_shader_module(2);
   assert_true(decode(NULL));
   assert_int_equal(handler_calls, 1);
   assert_int_equal(shader_got.code_size, 8);
   assert_int_equal(shader_got.code[0], 0x07230203);
   assert_int_equal(shader_got.code[1], 0x00010600);
   assert_int_equal(shader_got.module_id, 10);
}

static void test_create_shader_module_count_mismatch(void **state)
{
   handlers.vkCreateShaderModule = on_create_shader_module;
   put_create_shader_module(1);
   assert_decode_fails(NULL, "array size 1, expected 2");
}

/* --- vkCmdBeginRenderPass: VkClearValue / VkClearColorValue unions ----------------------- */

static struct {
   uint64_t render_pass, framebuffer;
   VkRect2D area;
   uint32_t clear_count;
   VkClearValue clear[2];
   VkSubpassContents contents;
} render_pass_got;

static void on_begin_render_pass(struct pv_venus_dispatch *d,
                                 struct pv_cmd_vkCmdBeginRenderPass *args)
{
   const VkRenderPassBeginInfo *info = args->pRenderPassBegin;
   handler_calls++;
   render_pass_got.render_pass = (uint64_t)(uintptr_t)info->renderPass;
   render_pass_got.framebuffer = (uint64_t)(uintptr_t)info->framebuffer;
   render_pass_got.area = info->renderArea;
   render_pass_got.clear_count = info->clearValueCount;
   memcpy(render_pass_got.clear, info->pClearValues, sizeof(render_pass_got.clear));
   render_pass_got.contents = args->contents;
}

/* Two clear values: a color one with the given tags (Mesa sends 0 and 2) and a depth one. */
static void put_begin_render_pass(uint32_t value_tag, uint32_t color_tag)
{
   put_command(133, "vkCmdBeginRenderPass", 0);
   put_u64(5); /* commandBuffer */
   put_u64(1);
   put_u32(VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO);
   put_u64(0);
   put_u64(11);           /* renderPass */
   put_u64(12);           /* framebuffer */
   put_u32((uint32_t)-3); /* renderArea.offset */
   put_u32(7);
   put_u32(64); /* renderArea.extent */
   put_u32(32);
   put_u32(2);
   put_u64(2);
   put_u32(value_tag);
   put_u32(color_tag);
   put_u64(4);
   put_u32(0x11);
   put_u32(0x22);
   put_u32(0x33);
   put_u32(0xffffffff);
   put_u32(1); /* VkClearValue.depthStencil */
   put_f32(0.5f);
   put_u32(0x7f);
   put_u32(VK_SUBPASS_CONTENTS_INLINE);
}

static void test_begin_render_pass(void **state)
{
   handlers.vkCmdBeginRenderPass = on_begin_render_pass;
   put_begin_render_pass(0, 2);
   assert_true(decode(NULL));
   assert_int_equal(handler_calls, 1);
   assert_int_equal(render_pass_got.render_pass, 11);
   assert_int_equal(render_pass_got.framebuffer, 12);
   assert_int_equal(render_pass_got.area.offset.x, -3);
   assert_int_equal(render_pass_got.area.offset.y, 7);
   assert_int_equal(render_pass_got.area.extent.width, 64);
   assert_int_equal(render_pass_got.area.extent.height, 32);
   assert_int_equal(render_pass_got.clear_count, 2);
   assert_int_equal(render_pass_got.clear[0].color.uint32[0], 0x11);
   assert_int_equal(render_pass_got.clear[0].color.uint32[1], 0x22);
   assert_int_equal(render_pass_got.clear[0].color.uint32[2], 0x33);
   assert_int_equal(render_pass_got.clear[0].color.uint32[3], 0xffffffff);
   assert_true(render_pass_got.clear[1].depthStencil.depth == 0.5f);
   assert_int_equal(render_pass_got.clear[1].depthStencil.stencil, 0x7f);
   assert_int_equal(render_pass_got.contents, VK_SUBPASS_CONTENTS_INLINE);
}

static void test_begin_render_pass_bad_union_tags(void **state)
{
   handlers.vkCmdBeginRenderPass = on_begin_render_pass;
   put_begin_render_pass(2, 2);
   assert_decode_fails(NULL, "VkClearValue tag 2");
   put_begin_render_pass(0, 3);
   assert_decode_fails(NULL, "VkClearColorValue tag 3");
}

/* --- vkUpdateDescriptorSets: pBufferInfo counted by descriptorCount ---------------------- */

static struct {
   uint32_t write_count, copy_count;
   VkWriteDescriptorSet write;
   bool image_info, texel_views, copies;
   VkDescriptorBufferInfo buffer_info;
} descriptor_got;

static void on_update_descriptor_sets(struct pv_venus_dispatch *d,
                                      struct pv_cmd_vkUpdateDescriptorSets *args)
{
   handler_calls++;
   descriptor_got.write_count = args->descriptorWriteCount;
   descriptor_got.copy_count = args->descriptorCopyCount;
   descriptor_got.copies = args->pDescriptorCopies != NULL;
   descriptor_got.write = args->pDescriptorWrites[0];
   descriptor_got.image_info = descriptor_got.write.pImageInfo != NULL;
   descriptor_got.texel_views = descriptor_got.write.pTexelBufferView != NULL;
   descriptor_got.buffer_info = descriptor_got.write.pBufferInfo[0];
}

static void test_update_descriptor_sets(void **state)
{
   handlers.vkUpdateDescriptorSets = on_update_descriptor_sets;
   put_command(79, "vkUpdateDescriptorSets", 0);
   put_u64(3); /* device */
   put_u32(1);
   put_u64(1);
   put_u32(VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET);
   put_u64(0);
   put_u64(13); /* dstSet */
   put_u32(2);  /* dstBinding */
   put_u32(0);  /* dstArrayElement */
   put_u32(1);  /* descriptorCount */
   put_u32(VK_DESCRIPTOR_TYPE_STORAGE_BUFFER);
   put_u64(0); /* pImageInfo: cleared by the guest */
   put_u64(1);
   put_u64(6); /* buffer */
   put_u64(256);
   put_u64(1024);
   put_u64(0); /* pTexelBufferView */
   put_u32(0);
   put_u64(0);
   assert_true(decode(NULL));
   assert_int_equal(handler_calls, 1);
   assert_int_equal(descriptor_got.write_count, 1);
   assert_int_equal(descriptor_got.copy_count, 0);
   assert_false(descriptor_got.copies);
   assert_int_equal((uint64_t)(uintptr_t)descriptor_got.write.dstSet, 13);
   assert_int_equal(descriptor_got.write.dstBinding, 2);
   assert_int_equal(descriptor_got.write.descriptorCount, 1);
   assert_int_equal(descriptor_got.write.descriptorType, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER);
   assert_false(descriptor_got.image_info);
   assert_false(descriptor_got.texel_views);
   assert_int_equal((uint64_t)(uintptr_t)descriptor_got.buffer_info.buffer, 6);
   assert_int_equal(descriptor_got.buffer_info.offset, 256);
   assert_int_equal(descriptor_got.buffer_info.range, 1024);
}

/* --- vkCmdSetBlendConstants: a fixed float[4] -------------------------------------------- */

static float blend_got[4];

static void on_blend_constants(struct pv_venus_dispatch *d,
                               struct pv_cmd_vkCmdSetBlendConstants *args)
{
   handler_calls++;
   memcpy(blend_got, args->blendConstants, sizeof(blend_got));
}

static const float blend_constants[4] = {0.25f, 0.5f, -0.75f, 1.0f};

static void put_blend_constants(uint64_t count)
{
   put_command(98, "vkCmdSetBlendConstants", 0);
   put_u64(5); /* commandBuffer */
   put_u64(count);
   for (uint64_t i = 0; i < count; i++)
      put_f32(blend_constants[i]);
}

static void test_blend_constants(void **state)
{
   handlers.vkCmdSetBlendConstants = on_blend_constants;
   put_blend_constants(4);
   assert_true(decode(NULL));
   assert_int_equal(handler_calls, 1);
   assert_memory_equal(blend_got, blend_constants, sizeof(blend_constants));
}

static void test_blend_constants_short(void **state)
{
   handlers.vkCmdSetBlendConstants = on_blend_constants;
   put_blend_constants(3);
   assert_decode_fails(NULL, "fixed array size 3, declared 4");
}

/* --- vkEnumerateDeviceExtensionProperties: an output array ------------------------------- */

static const VkExtensionProperties host_extensions[] = {
      {"VK_KHR_timeline_semaphore", 2},
      {"VK_EXT_external_memory_dma_buf", 1},
};

static struct {
   uint32_t count_in;
   bool array;
} extensions_got;

/* Answers like a driver: the count alone, or as many properties as fit. */
static void on_enumerate_extensions(struct pv_venus_dispatch *d,
                                    struct pv_cmd_vkEnumerateDeviceExtensionProperties *args)
{
   const uint32_t total = sizeof(host_extensions) / sizeof(host_extensions[0]);
   handler_calls++;
   extensions_got.count_in = *args->pPropertyCount;
   extensions_got.array = args->pProperties != NULL;
   args->ret = VK_SUCCESS;
   if (!args->pProperties) {
      *args->pPropertyCount = total;
      return;
   }
   uint32_t n = *args->pPropertyCount < total ? *args->pPropertyCount : total;
   memcpy(args->pProperties, host_extensions, n * sizeof(host_extensions[0]));
   *args->pPropertyCount = n;
   if (n < total)
      args->ret = VK_INCOMPLETE;
}

/* The guest's count and the array count on the wire; the elements themselves are outputs, so
 * no element bytes follow. */
static void put_enumerate_extensions(uint32_t count, uint64_t array_count)
{
   put_command(14, "vkEnumerateDeviceExtensionProperties", PV_VENUS_GENERATE_REPLY);
   put_u64(2); /* physicalDevice */
   put_u64(0); /* pLayerName */
   put_u64(1);
   put_u32(count);
   put_u64(array_count);
}

static void test_enumerate_extensions_count(void **state)
{
   static const uint32_t expected_reply[] = {
         14, VK_SUCCESS, 1, 0, 2, 0, 0, /* id, result, pPropertyCount 1 -> 2, pProperties NULL */
   };
   handlers.vkEnumerateDeviceExtensionProperties = on_enumerate_extensions;
   put_enumerate_extensions(0, 0);
   assert_true(decode(NULL));
   assert_int_equal(handler_calls, 1);
   assert_false(extensions_got.array);
   assert_reply_words(expected_reply, sizeof(expected_reply) / 4);
}

/* Reply: u32 id, u32 VkResult, u64 1, u32 count, u64 count, then per element u64 256, the 256
 * name bytes and u32 specVersion. */
static void assert_extensions_reply(VkResult result, uint32_t count)
{
   const size_t element = 8 + VK_MAX_EXTENSION_NAME_SIZE + 4;
   assert_int_equal(reply_size, 28 + count * element);
   assert_int_equal(reply_u32(0), 14);
   assert_int_equal(reply_u32(4), result);
   assert_int_equal(reply_u64(8), 1);
   assert_int_equal(reply_u32(16), count);
   assert_int_equal(reply_u64(20), count);
   for (uint32_t i = 0; i < count; i++) {
      size_t at = 28 + i * element;
      assert_int_equal(reply_u64(at), VK_MAX_EXTENSION_NAME_SIZE);
      /* All 256 bytes: the name and the zeroes after it. */
      assert_memory_equal(reply + at + 8, host_extensions[i].extensionName,
                          VK_MAX_EXTENSION_NAME_SIZE);
      assert_int_equal(reply_u32(at + 8 + VK_MAX_EXTENSION_NAME_SIZE),
                       host_extensions[i].specVersion);
   }
}

static void test_enumerate_extensions_array(void **state)
{
   handlers.vkEnumerateDeviceExtensionProperties = on_enumerate_extensions;
   put_enumerate_extensions(2, 2);
   assert_true(decode(NULL));
   assert_int_equal(extensions_got.count_in, 2);
   assert_true(extensions_got.array);
   assert_extensions_reply(VK_SUCCESS, 2);

   /* A short array: the reply carries the count written and an array of that size. */
   put_enumerate_extensions(1, 1);
   assert_true(decode(NULL));
   assert_extensions_reply(VK_INCOMPLETE, 1);
}

/* --- vkGetPhysicalDeviceFeatures2: a partial output chain -------------------------------- */

static struct {
   VkStructureType chain[4];
   size_t chain_length;
} features_got;

/* Records the chain and sets the first and last member of each struct, so the reply shows
 * where every struct's members went. */
static void on_features2(struct pv_venus_dispatch *d,
                         struct pv_cmd_vkGetPhysicalDeviceFeatures2 *args)
{
   VkPhysicalDeviceFeatures2 *features = args->pFeatures;
   handler_calls++;
   features_got.chain_length = 0;
   for (VkBaseOutStructure *s = features->pNext; s; s = s->pNext) {
      if (features_got.chain_length < 4)
         features_got.chain[features_got.chain_length] = s->sType;
      features_got.chain_length++;
      if (s->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES) {
         VkPhysicalDeviceVulkan11Features *v11 = (VkPhysicalDeviceVulkan11Features *)s;
         v11->storageBuffer16BitAccess = VK_TRUE;
         v11->shaderDrawParameters = VK_TRUE;
      } else if (s->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES) {
         VkPhysicalDeviceVulkan12Features *v12 = (VkPhysicalDeviceVulkan12Features *)s;
         v12->samplerMirrorClampToEdge = VK_TRUE;
         v12->subgroupBroadcastDynamicId = VK_TRUE;
      }
   }
   features->features.robustBufferAccess = VK_TRUE;
   features->features.inheritedQueries = VK_TRUE;
}

/* Partial encoding: each struct is its sType and chain marker only. */
static void put_features2(const uint32_t *chain, size_t length)
{
   put_command(147, "vkGetPhysicalDeviceFeatures2", PV_VENUS_GENERATE_REPLY);
   put_u64(2); /* physicalDevice */
   put_u64(1);
   put_u32(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2);
   for (size_t i = 0; i < length; i++) {
      put_u64(1);
      put_u32(chain[i]);
   }
   put_u64(0);
}

static const uint32_t features_chain[] = {
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
};

static void test_features2_chain(void **state)
{
   handlers.vkGetPhysicalDeviceFeatures2 = on_features2;
   put_features2(features_chain, 2);
   assert_true(decode(NULL));
   assert_int_equal(handler_calls, 1);
   assert_int_equal(features_got.chain_length, 2);
   assert_int_equal(features_got.chain[0], VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES);
   assert_int_equal(features_got.chain[1], VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES);
}

/* The reply nests the chain like the request and puts the innermost struct's members first
 * (docs/protocol/venus.md §4): Vulkan12Features (47 VkBool32), Vulkan11Features (12), then
 * VkPhysicalDeviceFeatures (55). */
static void test_features2_reply_nesting(void **state)
{
   enum { HEAD = 12, V12 = HEAD, V11 = V12 + 47, CORE = V11 + 12, WORDS = CORE + 55 };
   uint32_t expected[WORDS] = {
         147,
         1,
         0,
         VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
         1,
         0,
         VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
         1,
         0,
         VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
         0,
         0,
   };
   expected[V12] = expected[V11 - 1] = VK_TRUE;
   expected[V11] = expected[CORE - 1] = VK_TRUE;
   expected[CORE] = expected[WORDS - 1] = VK_TRUE;
   handlers.vkGetPhysicalDeviceFeatures2 = on_features2;
   put_features2(features_chain, 2);
   assert_true(decode(NULL));
   assert_reply_words(expected, WORDS);
}

static void test_features2_unknown_stype(void **state)
{
   static const uint32_t chain[] = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
                                    0x7fff0001};
   handlers.vkGetPhysicalDeviceFeatures2 = on_features2;
   put_features2(chain, 2);
   assert_decode_fails(NULL, "VkPhysicalDeviceFeatures2");
}

/* A chain can hold each struct that extends its parent once, so one longer than that is
 * hostile. Decoding it must fail, not recurse once per struct until the stack runs out (a
 * guest can send megabytes in one command through an indirect stream). Run in a child so a
 * crash is reported as a failure instead of ending the test program. */
static void test_features2_endless_chain_fails_cleanly(void **state)
{
   enum { LENGTH = 1 << 20, DECODE_FAILED = 0, DECODED = 3 };
   uint32_t *chain = malloc(LENGTH * sizeof(*chain));
   assert_non_null(chain);
   for (size_t i = 0; i < LENGTH; i++)
      chain[i] = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES;
   put_features2(chain, LENGTH);
   free(chain);

   pid_t child = fork();
   assert_true(child >= 0);
   if (child == 0) {
      /* No cmocka assertions here: a failing one would unwind into the child's copy of the
       * test runner. */
      static const struct pv_venus_handlers decode_only;
      struct pv_venus_test t;
      pv_venus_test_init(&t, &decode_only, reply, sizeof(reply), 256u << 20);
      pv_venus_test_begin(&t, wire.data, wire.size, NULL);
      _exit(pv_venus_dispatch_command(&t.dispatch) ? DECODED : DECODE_FAILED);
   }
   int status;
   assert_int_equal(waitpid(child, &status, 0), child);
   if (WIFSIGNALED(status))
      fail_msg("decoding a chain of %d structs crashed with signal %d", LENGTH, WTERMSIG(status));
   if (WEXITSTATUS(status) == DECODED)
      fail_msg("a chain of %d copies of one struct was accepted", LENGTH);
   if (WEXITSTATUS(status) != DECODE_FAILED)
      fail_msg("decoding a chain of %d structs exited with status %d (a sanitizer report?)", LENGTH,
               WEXITSTATUS(status));
}

/* --- vkCreateComputePipelines: an embedded shader stage with a string -------------------- */

static struct {
   VkPipelineShaderStageCreateInfo stage;
   char name[8];
   VkSpecializationMapEntry entry;
   uint32_t constant;
   uint64_t cache, layout, pipeline_id;
   int32_t base_index;
} pipeline_got;

static void on_create_compute_pipelines(struct pv_venus_dispatch *d,
                                        struct pv_cmd_vkCreateComputePipelines *args)
{
   const VkComputePipelineCreateInfo *info = &args->pCreateInfos[0];
   const VkSpecializationInfo *spec = info->stage.pSpecializationInfo;
   handler_calls++;
   pipeline_got.stage = info->stage;
   snprintf(pipeline_got.name, sizeof(pipeline_got.name), "%s", info->stage.pName);
   pipeline_got.entry = spec->pMapEntries[0];
   memcpy(&pipeline_got.constant, spec->pData, sizeof(pipeline_got.constant));
   pipeline_got.cache = (uint64_t)(uintptr_t)args->pipelineCache;
   pipeline_got.layout = (uint64_t)(uintptr_t)info->layout;
   pipeline_got.base_index = info->basePipelineIndex;
   pipeline_got.pipeline_id = (uint64_t)(uintptr_t)args->pPipelines[0];
}

/* name_length: the string's length on the wire; 5 includes the NUL of "main". */
static void put_create_compute_pipeline(uint64_t name_length)
{
   const uint32_t constant = 64;
   put_command(66, "vkCreateComputePipelines", 0);
   put_u64(3); /* device */
   put_u64(0); /* pipelineCache */
   put_u32(1);
   put_u64(1);
   put_u32(VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO);
   put_u64(0);
   put_u32(0);                                                   /* flags */
   put_u32(VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO); /* stage, by value */
   put_u64(0);
   put_u32(0);
   put_u32(VK_SHADER_STAGE_COMPUTE_BIT);
   put_u64(10); /* module */
   put_u64(name_length);
   put_bytes("main", name_length);
   put_u64(1); /* pSpecializationInfo */
   put_u32(1);
   put_u64(1);
   put_u32(7); /* constantID */
   put_u32(0); /* offset */
   put_u64(sizeof(constant));
   put_u64(sizeof(constant)); /* dataSize */
   put_u64(sizeof(constant));
   put_bytes(&constant, sizeof(constant));
   put_u64(8); /* layout */
   put_u64(0); /* basePipelineHandle */
   put_u32((uint32_t)-1);
   put_u64(0); /* pAllocator */
   put_u64(1);
   put_u64(14); /* pPipelines */
}

static void test_create_compute_pipeline(void **state)
{
   handlers.vkCreateComputePipelines = on_create_compute_pipelines;
   put_create_compute_pipeline(5);
   assert_true(decode(NULL));
   assert_int_equal(handler_calls, 1);
   assert_int_equal(pipeline_got.stage.sType, VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO);
   assert_int_equal(pipeline_got.stage.stage, VK_SHADER_STAGE_COMPUTE_BIT);
   assert_int_equal((uint64_t)(uintptr_t)pipeline_got.stage.module, 10);
   assert_string_equal(pipeline_got.name, "main");
   assert_int_equal(pipeline_got.entry.constantID, 7);
   assert_int_equal(pipeline_got.entry.size, 4);
   assert_int_equal(pipeline_got.constant, 64);
   assert_int_equal(pipeline_got.cache, 0);
   assert_int_equal(pipeline_got.layout, 8);
   assert_int_equal(pipeline_got.base_index, -1);
   assert_int_equal(pipeline_got.pipeline_id, 14);
}

static void test_create_compute_pipeline_unterminated_name(void **state)
{
   handlers.vkCreateComputePipelines = on_create_compute_pipelines;
   put_create_compute_pipeline(4);
   assert_decode_fails(NULL, "not NUL-terminated");
}

/* --- vkQueueSubmit: VkSubmitInfo with a VkTimelineSemaphoreSubmitInfo -------------------- */

static struct {
   uint64_t queue, fence;
   VkSubmitInfo submit;
   VkTimelineSemaphoreSubmitInfo timeline;
   uint64_t wait_semaphore, signal_semaphore, command_buffer;
   VkPipelineStageFlags wait_stage;
   uint64_t wait_value, signal_value;
} submit_got;

static void on_queue_submit(struct pv_venus_dispatch *d, struct pv_cmd_vkQueueSubmit *args)
{
   const VkSubmitInfo *submit = &args->pSubmits[0];
   const VkTimelineSemaphoreSubmitInfo *timeline = submit->pNext;
   handler_calls++;
   submit_got.queue = (uint64_t)(uintptr_t)args->queue;
   submit_got.fence = (uint64_t)(uintptr_t)args->fence;
   submit_got.submit = *submit;
   submit_got.timeline = *timeline;
   submit_got.wait_semaphore = (uint64_t)(uintptr_t)submit->pWaitSemaphores[0];
   submit_got.wait_stage = submit->pWaitDstStageMask[0];
   submit_got.command_buffer = (uint64_t)(uintptr_t)submit->pCommandBuffers[0];
   submit_got.signal_semaphore = (uint64_t)(uintptr_t)submit->pSignalSemaphores[0];
   submit_got.wait_value = timeline->pWaitSemaphoreValues[0];
   submit_got.signal_value = timeline->pSignalSemaphoreValues[0];
}

static void test_queue_submit_timeline(void **state)
{
   handlers.vkQueueSubmit = on_queue_submit;
   put_command(18, "vkQueueSubmit", 0);
   put_u64(4); /* queue */
   put_u32(1);
   put_u64(1);
   put_u32(VK_STRUCTURE_TYPE_SUBMIT_INFO);
   put_u64(1);
   put_u32(VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO);
   put_u64(0);
   put_u32(1); /* timeline members first: the chained struct is innermost */
   put_u64(1);
   put_u64(41);
   put_u32(1);
   put_u64(1);
   put_u64(0x100000002ull);
   put_u32(1); /* VkSubmitInfo members */
   put_u64(1);
   put_u64(20); /* pWaitSemaphores */
   put_u64(1);
   put_u32(VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
   put_u32(1);
   put_u64(1);
   put_u64(5); /* pCommandBuffers */
   put_u32(1);
   put_u64(1);
   put_u64(21); /* pSignalSemaphores */
   put_u64(15); /* fence */
   assert_true(decode(NULL));
   assert_int_equal(handler_calls, 1);
   assert_int_equal(submit_got.queue, 4);
   assert_int_equal(submit_got.fence, 15);
   assert_int_equal(submit_got.submit.sType, VK_STRUCTURE_TYPE_SUBMIT_INFO);
   assert_int_equal(submit_got.timeline.sType, VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO);
   assert_null(submit_got.timeline.pNext);
   assert_int_equal(submit_got.submit.waitSemaphoreCount, 1);
   assert_int_equal(submit_got.submit.commandBufferCount, 1);
   assert_int_equal(submit_got.submit.signalSemaphoreCount, 1);
   assert_int_equal(submit_got.wait_semaphore, 20);
   assert_int_equal(submit_got.wait_stage, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
   assert_int_equal(submit_got.command_buffer, 5);
   assert_int_equal(submit_got.signal_semaphore, 21);
   assert_int_equal(submit_got.timeline.waitSemaphoreValueCount, 1);
   assert_int_equal(submit_got.timeline.signalSemaphoreValueCount, 1);
   assert_int_equal(submit_got.wait_value, 41);
   assert_int_equal(submit_got.signal_value, 0x100000002ull);
}

/* submitCount 1 with no array: the driver would read pSubmits[0] from NULL. */
static void test_queue_submit_missing_array(void **state)
{
   handlers.vkQueueSubmit = on_queue_submit;
   put_command(18, "vkQueueSubmit", 0);
   put_u64(4);
   put_u32(1); /* submitCount */
   put_u64(0); /* pSubmits: NULL */
   put_u64(0); /* fence */
   assert_decode_fails(NULL, "pSubmits is NULL");
   assert_int_equal(handler_calls, 0);
}

/* --- the transport commands, generated from protocol/venus-mesa.xml ---------------------- */

static struct {
   uint64_t ring;
   VkRingCreateInfoMESA info;
   uint32_t monitor_period_us;
   int32_t priority;
} ring_got;

static void on_create_ring(struct pv_venus_dispatch *d, struct pv_cmd_vkCreateRingMESA *args)
{
   handler_calls++;
   ring_got.ring = args->ring;
   ring_got.info = *args->pCreateInfo;
   const VkRingMonitorInfoMESA *monitor = args->pCreateInfo->pNext;
   assert_int_equal(monitor->sType, VK_STRUCTURE_TYPE_RING_MONITOR_INFO_MESA);
   const VkRingPriorityInfoMESA *priority = monitor->pNext;
   assert_int_equal(priority->sType, VK_STRUCTURE_TYPE_RING_PRIORITY_INFO_MESA);
   assert_null(priority->pNext);
   ring_got.monitor_period_us = monitor->maxReportingPeriodMicroseconds;
   ring_got.priority = priority->priority;
}

/* The stock guest's ring: a monitor and a priority chained, members after the chain. */
static void test_create_ring_layout(void **state)
{
   handlers.vkCreateRingMESA = on_create_ring;
   put_command(188, "vkCreateRingMESA", 0);
   put_u64(0x77); /* ring */
   put_u64(1);    /* pCreateInfo */
   put_u32(VK_STRUCTURE_TYPE_RING_CREATE_INFO_MESA);
   put_u64(1);
   put_u32(VK_STRUCTURE_TYPE_RING_MONITOR_INFO_MESA);
   put_u64(1);
   put_u32(VK_STRUCTURE_TYPE_RING_PRIORITY_INFO_MESA);
   put_u64(0);
   put_u32((uint32_t)-3); /* priority: the innermost struct's members come first */
   put_u32(5000);         /* maxReportingPeriodMicroseconds */
   put_u32(0);            /* flags */
   put_u32(9);            /* resourceId */
   const uint64_t sizes[] = {64, 4160, 3000000000ull, 0, 4, 8, 64, 4096, 4160, 0};
   for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
      put_u64(sizes[i]);
   assert_true(decode(NULL));
   assert_int_equal(handler_calls, 1);
   assert_int_equal(ring_got.ring, 0x77);
   assert_int_equal(ring_got.info.resourceId, 9);
   assert_int_equal(ring_got.info.offset, 64);
   assert_int_equal(ring_got.info.size, 4160);
   assert_int_equal(ring_got.info.idleTimeout, 3000000000ull);
   assert_int_equal(ring_got.info.tailOffset, 4);
   assert_int_equal(ring_got.info.bufferOffset, 64);
   assert_int_equal(ring_got.info.bufferSize, 4096);
   assert_int_equal(ring_got.info.extraOffset, 4160);
   assert_int_equal(ring_got.monitor_period_us, 5000);
   assert_int_equal(ring_got.priority, -3);
}

/* A struct that cannot extend the ring's create info is refused, as in any other chain. */
static void test_create_ring_foreign_chain(void **state)
{
   handlers.vkCreateRingMESA = on_create_ring;
   put_command(188, "vkCreateRingMESA", 0);
   put_u64(1);
   put_u64(1);
   put_u32(VK_STRUCTURE_TYPE_RING_CREATE_INFO_MESA);
   put_u64(1);
   put_u32(VK_STRUCTURE_TYPE_DEVICE_QUEUE_TIMELINE_INFO_MESA);
   put_u64(0);
   put_u32(0);
   assert_decode_fails(NULL, "cannot extend VkRingCreateInfoMESA");
}

static struct {
   uint32_t count;
   VkCommandStreamDescriptionMESA second;
   size_t second_position;
   uint32_t dependency_count;
} streams_got;

static void on_execute_streams(struct pv_venus_dispatch *d,
                               struct pv_cmd_vkExecuteCommandStreamsMESA *args)
{
   handler_calls++;
   streams_got.count = args->streamCount;
   streams_got.second = args->pStreams[1];
   streams_got.second_position = args->pReplyPositions[1];
   streams_got.dependency_count = args->dependencyCount;
}

static void put_stream_description(uint32_t resource, uint64_t offset, uint64_t size)
{
   put_u32(resource);
   put_u64(offset);
   put_u64(size);
}

static void test_execute_command_streams(void **state)
{
   handlers.vkExecuteCommandStreamsMESA = on_execute_streams;
   put_command(180, "vkExecuteCommandStreamsMESA", 0);
   put_u32(2);
   put_u64(2);
   put_stream_description(3, 0, 128);
   put_stream_description(4, 256, 64);
   put_u64(2);
   put_u64(0);
   put_u64(512);
   put_u32(1); /* dependencyCount */
   put_u64(1);
   put_u32(0);
   put_u32(1);
   put_u32(0); /* flags */
   assert_true(decode(NULL));
   assert_int_equal(handler_calls, 1);
   assert_int_equal(streams_got.count, 2);
   assert_int_equal(streams_got.second.resourceId, 4);
   assert_int_equal(streams_got.second.offset, 256);
   assert_int_equal(streams_got.second.size, 64);
   assert_int_equal(streams_got.second_position, 512);
   assert_int_equal(streams_got.dependency_count, 1);
}

/* Two streams announced, one sent: the array size must match its count. */
static void test_execute_command_streams_lying_count(void **state)
{
   handlers.vkExecuteCommandStreamsMESA = on_execute_streams;
   put_command(180, "vkExecuteCommandStreamsMESA", 0);
   put_u32(2);
   put_u64(1);
   put_stream_description(3, 0, 128);
   assert_decode_fails(NULL, "array size");
}

/* A chain of 400 000 monitor structs (4.8 MB): one stack frame each would overflow the
 * worker's stack; the decoder must refuse it as any over-long chain. */
static void test_create_ring_endless_chain(void **state)
{
   enum { LINKS = 400000 };
   handlers.vkCreateRingMESA = on_create_ring;
   put_command(188, "vkCreateRingMESA", 0);
   put_u64(1);          /* ring */
   put_u64(1);          /* pCreateInfo */
   put_u32(1000384000); /* VK_STRUCTURE_TYPE_RING_CREATE_INFO_MESA */
   for (int i = 0; i < LINKS; i++) {
      put_u64(1);          /* pNext */
      put_u32(1000384006); /* VK_STRUCTURE_TYPE_RING_MONITOR_INFO_MESA */
   }
   put_u64(0);
   assert_decode_fails(NULL, "pNext chain longer");
}

#define TEST(name) cmocka_unit_test_setup(name, reset)

int main(void)
{
   const struct CMUnitTest tests[] = {
         TEST(test_create_instance_worked_example),
         TEST(test_buffer_requirements_reply),
         TEST(test_null_required_output_fails),
         TEST(test_dispatch_translates_handle),
         TEST(test_dispatch_unknown_or_mistyped_id),
         TEST(test_dispatch_null_command_buffer),
         TEST(test_create_buffer),
         TEST(test_create_buffer_lying_count),
         TEST(test_allocator_must_be_null),
         TEST(test_undefined_enum_value_fails),
         TEST(test_undefined_flag_bits_fail),
         TEST(test_push_constants),
         TEST(test_push_constants_size_mismatch),
         TEST(test_create_shader_module),
         TEST(test_create_shader_module_count_mismatch),
         TEST(test_begin_render_pass),
         TEST(test_begin_render_pass_bad_union_tags),
         TEST(test_update_descriptor_sets),
         TEST(test_blend_constants),
         TEST(test_blend_constants_short),
         TEST(test_enumerate_extensions_count),
         TEST(test_enumerate_extensions_array),
         TEST(test_features2_chain),
         TEST(test_features2_reply_nesting),
         TEST(test_features2_unknown_stype),
         TEST(test_features2_endless_chain_fails_cleanly),
         TEST(test_create_compute_pipeline),
         TEST(test_create_compute_pipeline_unterminated_name),
         TEST(test_queue_submit_timeline),
         TEST(test_queue_submit_missing_array),
         TEST(test_create_ring_layout),
         TEST(test_create_ring_foreign_chain),
         TEST(test_create_ring_endless_chain),
         TEST(test_execute_command_streams),
         TEST(test_execute_command_streams_lying_count),
   };
   return cmocka_run_group_tests(tests, NULL, free_wire);
}
