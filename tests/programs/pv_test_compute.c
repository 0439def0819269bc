/* pv-test-compute: SAXPY, a prefix sum and a storage-image rewrite, checked element by element. */

/* SAXPY over 64 MiB, a two-pass prefix sum over 1M uints, a 512x512 R32_UINT image; one checksum
 * over all three outputs. */
#include <stdlib.h>

#include "pv_test.h"

static const uint32_t scan_spv[] =
#include "scan.comp.spv.h"
      ;
static const uint32_t scan_add_spv[] =
#include "scan_add.comp.spv.h"
      ;
static const uint32_t invert_spv[] =
#include "invert.comp.spv.h"
      ;

#define NAME "pv-test-compute"

#define SAXPY_BYTES  (64u << 20)               /* x and y together */
#define SCAN_BLOCK   1024u                     /* elements per workgroup of scan.comp */
#define SCAN_COUNT   (SCAN_BLOCK * SCAN_BLOCK) /* 1M: the block totals fill exactly one block */
#define IMAGE_SIDE   512u
#define INVERT_GROUP 16u

static bool test_saxpy(struct pv_vkapp *app, uint64_t *checksum)
{
   struct pv_saxpy saxpy;
   pv_saxpy_init(app, &saxpy, &app->compute, SAXPY_BYTES / (2 * sizeof(float)));
   VkCommandBuffer cmd = pv_cmd_begin_once(app, &app->compute);
   pv_saxpy_record(&saxpy, cmd);
   pv_cmd_submit_once(app, &app->compute, cmd);
   bool ok = pv_saxpy_check(app, &saxpy, &app->compute, 1, checksum);
   pv_saxpy_finish(app, &saxpy);
   return ok;
}

struct scan_push {
   uint32_t base, sums_base;
};

static void compute_to_compute(VkCommandBuffer cmd)
{
   pv_cmd_memory_barrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                         VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
}

/* Scan each block, scan the block totals (one block), add them back to blocks 1 and up. */
static bool test_scan(struct pv_vkapp *app, uint64_t *checksum)
{
   /* Layout of the one buffer: the data, the block totals, the grand total. */
   const uint32_t words = SCAN_COUNT + SCAN_BLOCK + 1;
   uint32_t *host = pv_alloc(words * sizeof(uint32_t));
   uint32_t *expected = pv_alloc(SCAN_COUNT * sizeof(uint32_t));
   uint32_t sum = 0;
   for (uint32_t i = 0; i < words; i++)
      host[i] = i < SCAN_COUNT ? pv_hash32(i) & 0xffffu : 0; /* the sum wraps 32 bits */
   for (uint32_t i = 0; i < SCAN_COUNT; i++)
      expected[i] = sum += host[i];

   struct pv_buffer data;
   pv_buffer_init(app, &data, words * sizeof(uint32_t),
                  VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                        VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                  PV_MEMORY_DEVICE);
   pv_buffer_upload(app, &app->compute, &data, host, data.size);
   const VkDescriptorType type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
   struct pv_compute scan, add;
   pv_compute_init(app, &scan, PV_SPIRV(scan_spv), &type, 1, sizeof(struct scan_push));
   pv_compute_init(app, &add, PV_SPIRV(scan_add_spv), &type, 1, sizeof(struct scan_push));
   pv_compute_bind_buffer(app, &scan, 0, &data);
   pv_compute_bind_buffer(app, &add, 0, &data);

   const struct scan_push blocks = {0, SCAN_COUNT};
   const struct scan_push totals = {SCAN_COUNT, SCAN_COUNT + SCAN_BLOCK};
   VkCommandBuffer cmd = pv_cmd_begin_once(app, &app->compute);
   pv_cmd_dispatch(cmd, &scan, &blocks, SCAN_COUNT / SCAN_BLOCK, 1);
   compute_to_compute(cmd);
   pv_cmd_dispatch(cmd, &scan, &totals, 1, 1);
   compute_to_compute(cmd);
   pv_cmd_dispatch(cmd, &add, &blocks, SCAN_COUNT / SCAN_BLOCK - 1, 1);
   pv_cmd_submit_once(app, &app->compute, cmd);

   pv_buffer_download(app, &app->compute, &data, host, data.size);
   bool ok = pv_check_equal_u32("prefix sum", host, expected, SCAN_COUNT);
   *checksum = pv_fnv1a64(*checksum, host, SCAN_COUNT * sizeof(uint32_t));

   pv_compute_finish(app, &add);
   pv_compute_finish(app, &scan);
   pv_buffer_finish(app, &data);
   free(expected);
   free(host);
   return ok;
}

static bool test_storage_image(struct pv_vkapp *app, uint64_t *checksum)
{
   const uint32_t texels = IMAGE_SIDE * IMAGE_SIDE;
   uint32_t *host = pv_alloc(texels * sizeof(uint32_t));
   pv_pattern_fill(host, texels * sizeof(uint32_t), 0x1a6eu);
   struct pv_image image;
   pv_image_init(app, &image, VK_FORMAT_R32_UINT, IMAGE_SIDE, IMAGE_SIDE,
                 VK_IMAGE_USAGE_STORAGE_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT |
                       VK_IMAGE_USAGE_TRANSFER_DST_BIT);
   pv_image_upload(app, &app->compute, &image, host, VK_IMAGE_LAYOUT_GENERAL);

   const VkDescriptorType type = VK_DESCRIPTOR_TYPE_STORAGE_IMAGE;
   struct pv_compute invert;
   pv_compute_init(app, &invert, PV_SPIRV(invert_spv), &type, 1, 0);
   pv_compute_bind_image(app, &invert, 0, &image);
   VkCommandBuffer cmd = pv_cmd_begin_once(app, &app->compute);
   pv_cmd_dispatch(cmd, &invert, NULL, IMAGE_SIDE / INVERT_GROUP, IMAGE_SIDE / INVERT_GROUP);
   pv_cmd_submit_once(app, &app->compute, cmd);

   struct pv_buffer readback;
   pv_buffer_init(app, &readback, texels * sizeof(uint32_t), VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                  PV_MEMORY_READBACK);
   pv_image_copy_to_buffer(app, &app->compute, &image, VK_IMAGE_LAYOUT_GENERAL, &readback);
   for (uint32_t y = 0; y < IMAGE_SIDE; y++) {
      for (uint32_t x = 0; x < IMAGE_SIDE; x++)
         host[y * IMAGE_SIDE + x] = ~host[y * IMAGE_SIDE + x] ^ (x << 16 | y);
   }
   bool ok = pv_check_equal_u32("storage image", readback.map, host, texels);
   *checksum = pv_fnv1a64(*checksum, readback.map, readback.size);

   pv_buffer_finish(app, &readback);
   pv_compute_finish(app, &invert);
   pv_image_finish(app, &image);
   free(host);
   return ok;
}

int main(void)
{
   struct pv_vkapp app;
   pv_test_begin(&app, NAME, (struct pv_vkapp_config){0});
   uint64_t checksum = PV_FNV1A64_INIT;
   bool ok = test_saxpy(&app, &checksum);
   ok &= test_scan(&app, &checksum);
   ok &= test_storage_image(&app, &checksum);
   return pv_test_end(&app, NAME, ok, checksum);
}
