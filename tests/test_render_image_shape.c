/* Unit tests of the shape rules every image create info must keep (pv_render_image_shape.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "render/pv_render_image_shape.h"

/* An 8x8 2D image with its full chain of 4 levels: valid. */
static VkImageCreateInfo square(void)
{
   return (VkImageCreateInfo){
         .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
         .imageType = VK_IMAGE_TYPE_2D,
         .format = VK_FORMAT_R8G8B8A8_UNORM,
         .extent = {8, 8, 1},
         .mipLevels = 4,
         .arrayLayers = 1,
         .samples = VK_SAMPLE_COUNT_1_BIT,
         .usage = VK_IMAGE_USAGE_SAMPLED_BIT,
   };
}

static void assert_fault(const VkImageCreateInfo *info, const char *rule)
{
   const char *fault = pv_render_image_shape_fault(info);
   assert_non_null(fault);
   assert_string_equal(fault, rule);
}

static void test_valid_shapes_pass(void **state)
{
   VkImageCreateInfo info = square();
   assert_null(pv_render_image_shape_fault(&info));
   info.extent = (VkExtent3D){4096, 1, 1}; /* 13 levels along the longest side */
   info.mipLevels = 13;
   assert_null(pv_render_image_shape_fault(&info));
   info = square();
   info.imageType = VK_IMAGE_TYPE_3D;
   info.extent = (VkExtent3D){2, 2, 16};
   info.mipLevels = 5;
   assert_null(pv_render_image_shape_fault(&info));
   info = square();
   info.flags = VK_IMAGE_CREATE_CUBE_COMPATIBLE_BIT;
   info.arrayLayers = 12;
   assert_null(pv_render_image_shape_fault(&info));
}

/* The fuzz finding: an 8x8 image claiming 2^32-1 levels. */
static void test_levels_beyond_the_chain_fail(void **state)
{
   VkImageCreateInfo info = square();
   info.mipLevels = 5;
   assert_fault(&info, "more mip levels than the extent halves into");
   info.mipLevels = UINT32_MAX;
   assert_fault(&info, "more mip levels than the extent halves into");
}

static void test_zero_sizes_fail(void **state)
{
   const char *rule = "extent, mipLevels and arrayLayers must not be 0";
   VkImageCreateInfo info = square();
   info.extent.height = 0;
   assert_fault(&info, rule);
   info = square();
   info.mipLevels = 0;
   assert_fault(&info, rule);
   info = square();
   info.arrayLayers = 0;
   assert_fault(&info, rule);
}

static void test_extent_must_fit_the_type(void **state)
{
   VkImageCreateInfo info = square();
   info.imageType = VK_IMAGE_TYPE_1D;
   assert_fault(&info, "a 1D image must be 1 texel high and deep");
   info = square();
   info.extent.depth = 2;
   assert_fault(&info, "a 2D image must be 1 texel deep");
   info = square();
   info.imageType = VK_IMAGE_TYPE_3D;
   info.arrayLayers = 2;
   assert_fault(&info, "a 3D image must have 1 array layer");
}

static void test_cube_must_be_square_with_six_layers(void **state)
{
   const char *rule = "a cube-compatible image must be 2D and square with at least 6 layers";
   VkImageCreateInfo info = square();
   info.flags = VK_IMAGE_CREATE_CUBE_COMPATIBLE_BIT;
   info.arrayLayers = 5;
   assert_fault(&info, rule);
   info.arrayLayers = 6;
   info.extent.width = 16;
   assert_fault(&info, rule);
}

int main(void)
{
   const struct CMUnitTest tests[] = {
         cmocka_unit_test(test_valid_shapes_pass),
         cmocka_unit_test(test_levels_beyond_the_chain_fail),
         cmocka_unit_test(test_zero_sizes_fail),
         cmocka_unit_test(test_extent_must_fit_the_type),
         cmocka_unit_test(test_cube_must_be_square_with_six_layers),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
