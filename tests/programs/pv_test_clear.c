/* pv-test-clear: a 1080p BGRA8 image cleared to six colours, every pixel read back and checked. */
#include "pv_test.h"

#define NAME   "pv-test-clear"
#define WIDTH  1920u
#define HEIGHT 1080u

int main(void)
{
   struct pv_vkapp app;
   pv_test_begin(&app, NAME, (struct pv_vkapp_config){0});
   struct pv_image image;
   pv_image_init(&app, &image, VK_FORMAT_B8G8R8A8_UNORM, WIDTH, HEIGHT,
                 VK_IMAGE_USAGE_TRANSFER_DST_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT);
   const size_t pixels = (size_t)WIDTH * HEIGHT;
   struct pv_buffer readback;
   pv_buffer_init(&app, &readback, pixels * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                  PV_MEMORY_READBACK);

   bool ok = true;
   uint64_t checksum = PV_FNV1A64_INIT;
   for (int c = 0; c < PV_COLOR_COUNT; c++) {
      const struct pv_color *color = &pv_colors[c];
      VkCommandBuffer cmd = pv_cmd_begin_once(&app, &app.graphics);
      pv_cmd_clear_image(cmd, &image, color->rgba);
      pv_cmd_submit_once(&app, &app.graphics, cmd);
      pv_image_copy_to_buffer(&app, &app.graphics, &image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                              &readback);
      ok &= pv_check_fill_u32(color->name, readback.map, pv_color_bgra8(color), pixels);
      checksum = pv_fnv1a64(checksum, readback.map, pixels * 4);
   }

   pv_buffer_finish(&app, &readback);
   pv_image_finish(&app, &image);
   return pv_test_end(&app, NAME, ok, checksum);
}
