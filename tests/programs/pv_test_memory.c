/* pv-test-memory: every memory type the device shows, each used as far as its flags allow. */

/* Each host-visible type is allocated, mapped, written and read back by the CPU; every type a
 * buffer or an image may use is bound to one that carries data through the GPU, and where it
 * is host-visible the CPU writes what the GPU reads and reads what the GPU writes through the
 * mapping. Through PearVisor these are the types the guest is shown: none may fail to map, and
 * each must hold what was put there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_test.h"

#define NAME "pv-test-memory"
#define SIZE (256u * 1024u) /* bytes per buffer and mapping */
#define SIDE 128u           /* a 128 x 128 RGBA8 image: 64 KiB */

/* What every check of one run compares against, and the checksum it builds. */
struct memory_test {
   struct pv_vkapp app;
   uint32_t *pattern;  /* SIZE bytes the CPU writes */
   uint32_t *inverted; /* SIZE bytes the GPU writes */
   uint32_t *got;
   uint64_t checksum;
   bool hashed[3]; /* the first result of each kind of check goes into the checksum */
};

enum check_kind { CHECK_MAPPING, CHECK_BUFFER, CHECK_IMAGE };

static VkMemoryPropertyFlags type_flags(const struct memory_test *t, uint32_t type)
{
   return t->app.memory.memoryTypes[type].propertyFlags;
}

/* Compares and, once per kind, hashes: every type must give the same bytes, so the checksum
 * is the same whatever number of types the device has. */
static bool check(struct memory_test *t, enum check_kind kind, const char *what, uint32_t type,
                  const void *got, const uint32_t *expected, size_t size)
{
   char name[96];
   snprintf(name, sizeof(name), "type %u: %s", type, what);
   bool ok = pv_check_equal_u32(name, got, expected, size / 4);
   if (ok && !t->hashed[kind]) {
      t->hashed[kind] = true;
      t->checksum = pv_fnv1a64(t->checksum, got, size);
   }
   return ok;
}

static VkDeviceMemory allocate_type(struct memory_test *t, VkDeviceSize size, uint32_t type)
{
   const VkMemoryAllocateInfo info = {
         .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
         .allocationSize = size,
         .memoryTypeIndex = type,
   };
   VkDeviceMemory memory;
   PV_VK_CHECK(vkAllocateMemory(t->app.device, &info, NULL, &memory));
   return memory;
}

/* Makes CPU writes visible to the device, or device writes visible to the CPU, where the type
 * is not coherent. */
static void flush(struct memory_test *t, uint32_t type, VkDeviceMemory memory, bool to_device)
{
   if (type_flags(t, type) & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)
      return;
   const VkMappedMemoryRange range = {
         .sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE,
         .memory = memory,
         .size = VK_WHOLE_SIZE,
   };
   if (to_device)
      PV_VK_CHECK(vkFlushMappedMemoryRanges(t->app.device, 1, &range));
   else
      PV_VK_CHECK(vkInvalidateMappedMemoryRanges(t->app.device, 1, &range));
}

/* Memory with no resource: mapped, written, unmapped, mapped again and read. */
static bool check_mapping(struct memory_test *t, uint32_t type)
{
   VkDeviceMemory memory = allocate_type(t, SIZE, type);
   void *map;
   PV_VK_CHECK(vkMapMemory(t->app.device, memory, 0, VK_WHOLE_SIZE, 0, &map));
   memcpy(map, t->pattern, SIZE);
   flush(t, type, memory, true);
   vkUnmapMemory(t->app.device, memory);
   PV_VK_CHECK(vkMapMemory(t->app.device, memory, 0, VK_WHOLE_SIZE, 0, &map));
   flush(t, type, memory, false);
   bool ok = check(t, CHECK_MAPPING, "mapped twice", type, map, t->pattern, SIZE);
   vkFreeMemory(t->app.device, memory, NULL);
   return ok;
}

/* The GPU copies src into dst, then makes it visible to the host. */
static void gpu_copy(struct memory_test *t, VkBuffer src, VkBuffer dst)
{
   VkCommandBuffer cmd = pv_cmd_begin_once(&t->app, &t->app.graphics);
   pv_cmd_memory_barrier(cmd, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_WRITE_BIT,
                         VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
   const VkBufferCopy region = {.size = SIZE};
   vkCmdCopyBuffer(cmd, src, dst, 1, &region);
   pv_cmd_memory_barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
   pv_cmd_submit_once(&t->app, &t->app.graphics, cmd);
}

/* Both directions between the CPU and the GPU through the buffer's own mapping. */
static bool check_mapped_buffer(struct memory_test *t, uint32_t type, struct pv_buffer *buf)
{
   PV_VK_CHECK(vkMapMemory(t->app.device, buf->memory, 0, VK_WHOLE_SIZE, 0, &buf->map));
   memcpy(buf->map, t->pattern, SIZE);
   flush(t, type, buf->memory, true);
   struct pv_buffer readback, staging;
   pv_buffer_init(&t->app, &readback, SIZE, VK_BUFFER_USAGE_TRANSFER_DST_BIT, PV_MEMORY_READBACK);
   gpu_copy(t, buf->buffer, readback.buffer);
   bool ok = check(t, CHECK_BUFFER, "CPU writes, GPU reads", type, readback.map, t->pattern, SIZE);

   pv_buffer_init(&t->app, &staging, SIZE, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, PV_MEMORY_UPLOAD);
   memcpy(staging.map, t->inverted, SIZE);
   gpu_copy(t, staging.buffer, buf->buffer);
   flush(t, type, buf->memory, false);
   ok &= check(t, CHECK_BUFFER, "GPU writes, CPU reads", type, buf->map, t->inverted, SIZE);
   pv_buffer_finish(&t->app, &staging);
   pv_buffer_finish(&t->app, &readback);
   return ok;
}

/* A buffer bound to memory of the type; skipped (true) when buffers may not use it. */
static bool check_buffer(struct memory_test *t, uint32_t type)
{
   const VkBufferCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
         .size = SIZE,
         .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
         .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
   };
   struct pv_buffer buf = {.size = SIZE};
   PV_VK_CHECK(vkCreateBuffer(t->app.device, &info, NULL, &buf.buffer));
   VkMemoryRequirements req;
   vkGetBufferMemoryRequirements(t->app.device, buf.buffer, &req);
   if (!(req.memoryTypeBits & (1u << type))) {
      vkDestroyBuffer(t->app.device, buf.buffer, NULL);
      return true;
   }
   buf.memory = allocate_type(t, req.size, type);
   PV_VK_CHECK(vkBindBufferMemory(t->app.device, buf.buffer, buf.memory, 0));
   bool ok;
   if (type_flags(t, type) & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) {
      ok = check_mapped_buffer(t, type, &buf);
   } else {
      pv_buffer_upload(&t->app, &t->app.graphics, &buf, t->pattern, SIZE);
      pv_buffer_download(&t->app, &t->app.graphics, &buf, t->got, SIZE);
      ok = check(t, CHECK_BUFFER, "GPU only", type, t->got, t->pattern, SIZE);
   }
   pv_buffer_finish(&t->app, &buf);
   return ok;
}

/* An optimal-tiling image bound to memory of the type, filled and read back by the GPU;
 * skipped (true) when images may not use it. */
static bool check_image(struct memory_test *t, uint32_t type)
{
   struct pv_image img = {
         .format = VK_FORMAT_R8G8B8A8_UNORM,
         .aspect = VK_IMAGE_ASPECT_COLOR_BIT,
         .width = SIDE,
         .height = SIDE,
         .texel_size = 4,
   };
   const VkImageCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
         .imageType = VK_IMAGE_TYPE_2D,
         .format = img.format,
         .extent = {SIDE, SIDE, 1},
         .mipLevels = 1,
         .arrayLayers = 1,
         .samples = VK_SAMPLE_COUNT_1_BIT,
         .tiling = VK_IMAGE_TILING_OPTIMAL,
         .usage = VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT,
         .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
         .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
   };
   PV_VK_CHECK(vkCreateImage(t->app.device, &info, NULL, &img.image));
   VkMemoryRequirements req;
   vkGetImageMemoryRequirements(t->app.device, img.image, &req);
   if (!(req.memoryTypeBits & (1u << type))) {
      vkDestroyImage(t->app.device, img.image, NULL);
      return true;
   }
   img.memory = allocate_type(t, req.size, type);
   PV_VK_CHECK(vkBindImageMemory(t->app.device, img.image, img.memory, 0));
   const size_t size = (size_t)SIDE * SIDE * 4;
   struct pv_buffer readback;
   pv_buffer_init(&t->app, &readback, size, VK_BUFFER_USAGE_TRANSFER_DST_BIT, PV_MEMORY_READBACK);
   pv_image_upload(&t->app, &t->app.graphics, &img, t->pattern,
                   VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
   pv_image_copy_to_buffer(&t->app, &t->app.graphics, &img, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                           &readback);
   bool ok = check(t, CHECK_IMAGE, "image round trip", type, readback.map, t->pattern, size);
   pv_buffer_finish(&t->app, &readback);
   pv_image_finish(&t->app, &img);
   return ok;
}

int main(void)
{
   struct memory_test t = {.checksum = PV_FNV1A64_INIT};
   pv_test_begin(&t.app, NAME, (struct pv_vkapp_config){0});
   t.pattern = pv_alloc(SIZE);
   t.inverted = pv_alloc(SIZE);
   t.got = pv_alloc(SIZE);
   pv_pattern_fill(t.pattern, SIZE, 0x3e30u);
   for (size_t i = 0; i < SIZE / 4; i++)
      t.inverted[i] = ~t.pattern[i];

   bool ok = true;
   uint32_t host_visible = 0;
   for (uint32_t type = 0; type < t.app.memory.memoryTypeCount; type++) {
      VkMemoryPropertyFlags flags = type_flags(&t, type);
      fprintf(stderr, "%s: memory type %u: flags %#x, heap %u\n", NAME, type, flags,
              t.app.memory.memoryTypes[type].heapIndex);
      if (flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) {
         host_visible++;
         ok &= check_mapping(&t, type);
      }
      ok &= check_buffer(&t, type);
      ok &= check_image(&t, type);
   }
   if (!host_visible || !t.hashed[CHECK_BUFFER]) {
      fprintf(stderr, "%s: no host-visible memory type, or none a buffer may use\n", NAME);
      ok = false;
   }

   free(t.got);
   free(t.inverted);
   free(t.pattern);
   return pv_test_end(&t.app, NAME, ok, t.checksum);
}
