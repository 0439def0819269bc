/* pv-test-transfer: 64 MiB host -> buffer -> image -> buffer -> host, every byte checked. */

/* Up through a mapped staging buffer into a 4096x4096 RGBA8 image (as four quadrant regions),
 * back into a device-local buffer, down through a mapped readback buffer. */
#include <stdlib.h>
#include <string.h>

#include "pv_test.h"

#define NAME "pv-test-transfer"
#define SIDE 4096u /* 4096 * 4096 * 4 bytes = 64 MiB */
#define HALF (SIDE / 2)

/* Four regions instead of one, so buffer offsets, row lengths and image offsets all matter. */
static void upload_quadrants(struct pv_vkapp *app, const struct pv_buffer *staging,
                             struct pv_image *image)
{
   VkBufferImageCopy regions[4];
   for (uint32_t q = 0; q < 4; q++) {
      const uint32_t x = (q & 1) * HALF, y = (q >> 1) * HALF;
      regions[q] = (VkBufferImageCopy){
            .bufferOffset = ((VkDeviceSize)y * SIDE + x) * 4,
            .bufferRowLength = SIDE,
            .bufferImageHeight = SIDE,
            .imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
            .imageOffset = {(int32_t)x, (int32_t)y, 0},
            .imageExtent = {HALF, HALF, 1},
      };
   }
   VkCommandBuffer cmd = pv_cmd_begin_once(app, &app->graphics);
   pv_cmd_image_barrier(cmd, image, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                        VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, 0, VK_PIPELINE_STAGE_TRANSFER_BIT,
                        VK_ACCESS_TRANSFER_WRITE_BIT);
   vkCmdCopyBufferToImage(cmd, staging->buffer, image->image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                          4, regions);
   pv_cmd_submit_once(app, &app->graphics, cmd);
}

int main(void)
{
   struct pv_vkapp app;
   pv_test_begin(&app, NAME, (struct pv_vkapp_config){0});
   const size_t size = (size_t)SIDE * SIDE * 4;
   uint32_t *source = pv_alloc(size), *dest = pv_alloc(size);
   pv_pattern_fill(source, size, 0x5eedu);
   memset(dest, 0, size);

   struct pv_buffer staging, device;
   pv_buffer_init(&app, &staging, size, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, PV_MEMORY_UPLOAD);
   pv_buffer_init(&app, &device, size,
                  VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                  PV_MEMORY_DEVICE);
   struct pv_image image;
   pv_image_init(&app, &image, VK_FORMAT_R8G8B8A8_UNORM, SIDE, SIDE,
                 VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT);

   memcpy(staging.map, source, size);
   upload_quadrants(&app, &staging, &image);
   pv_image_copy_to_buffer(&app, &app.graphics, &image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                           &device);
   pv_buffer_download(&app, &app.graphics, &device, dest, size);

   bool ok = pv_check_equal_u32("round trip through the image", dest, source, size / 4);
   uint64_t checksum = pv_fnv1a64(PV_FNV1A64_INIT, dest, size);

   pv_image_finish(&app, &image);
   pv_buffer_finish(&app, &device);
   pv_buffer_finish(&app, &staging);
   free(dest);
   free(source);
   return pv_test_end(&app, NAME, ok, checksum);
}
