/* pv-test-ycbcr: sampler Y'CbCr conversion of a 2-plane 4:2:0 image, checked texel by texel. */

/* A 16x16 G8_B8R8_2PLANE_420_UNORM image, uploaded plane by plane, sampled by a compute shader
 * at every luma texel centre through two conversions: RGB identity, whose output is the stored
 * bytes exactly, and BT.709 narrow range, checked against a model on the host. A second image
 * is DISJOINT (where the format allows), each plane bound to its own offset of one allocation.
 * Chroma is cosited and filtered NEAREST: an odd luma texel may take either chroma neighbour, but
 * must take one of them. */
#include <stdio.h>
#include <string.h>

#include "pv_test.h"

static const uint32_t ycbcr_spv[] =
#include "ycbcr.comp.spv.h"
      ;

#define NAME   "pv-test-ycbcr"
#define FORMAT VK_FORMAT_G8_B8R8_2PLANE_420_UNORM
#define SIDE   16u
#define TEXELS (SIDE * SIDE)
#define CHROMA (SIDE / 2)
#define GROUP  8u

/* Half an 8-bit step: lavapipe converts in 32-bit floats, well inside it; a wrong range or
 * model is off by several steps. */
#define BT709_TOLERANCE (0.5 / 255)

enum { VIEW_IDENTITY, VIEW_BT709, VIEW_DISJOINT, VIEW_COUNT };

/* The bytes of one image: plane 0 is Y, plane 1 interleaves Cb (B) and Cr (R). */
struct planes {
   uint8_t y[TEXELS];
   uint8_t cbcr[CHROMA * CHROMA][2];
};

struct ycbcr_image {
   VkImage image;
   VkDeviceMemory memory;
   bool disjoint;
};

struct scene {
   bool disjoint; /* the format supports DISJOINT */
   uint32_t descriptors_per_sampler;
   struct planes data[2]; /* the shared image, the disjoint one */
   struct ycbcr_image images[2];
   VkSamplerYcbcrConversion conversions[2]; /* identity, BT.709 */
   VkSampler samplers[2];
   VkImageView views[VIEW_COUNT];
   struct pv_buffer output;
   VkDescriptorSetLayout set_layout;
   VkDescriptorPool pool;
   VkDescriptorSet set;
   VkPipelineLayout layout;
   VkPipeline pipeline;
};

static void begin(struct pv_vkapp *app, struct scene *s)
{
   pv_test_begin_instance(app, NAME);
   VkPhysicalDeviceSamplerYcbcrConversionFeatures has_ycbcr = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SAMPLER_YCBCR_CONVERSION_FEATURES,
   };
   VkPhysicalDeviceFeatures2 has = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
         .pNext = &has_ycbcr,
   };
   vkGetPhysicalDeviceFeatures2(app->physical, &has);
   if (!has_ycbcr.samplerYcbcrConversion)
      pv_fail("the device has no samplerYcbcrConversion feature");
   VkFormatProperties props;
   vkGetPhysicalDeviceFormatProperties(app->physical, FORMAT, &props);
   const VkFormatFeatureFlags needed = VK_FORMAT_FEATURE_SAMPLED_IMAGE_BIT |
                                       VK_FORMAT_FEATURE_TRANSFER_DST_BIT |
                                       VK_FORMAT_FEATURE_COSITED_CHROMA_SAMPLES_BIT;
   if ((props.optimalTilingFeatures & needed) != needed)
      pv_fail("G8_B8R8_2PLANE_420_UNORM lacks sampling, transfer or cosited chroma: 0x%x",
              props.optimalTilingFeatures);
   s->disjoint = props.optimalTilingFeatures & VK_FORMAT_FEATURE_DISJOINT_BIT;

   VkSamplerYcbcrConversionImageFormatProperties ycbcr_props = {
         .sType = VK_STRUCTURE_TYPE_SAMPLER_YCBCR_CONVERSION_IMAGE_FORMAT_PROPERTIES,
   };
   VkImageFormatProperties2 image_props = {
         .sType = VK_STRUCTURE_TYPE_IMAGE_FORMAT_PROPERTIES_2,
         .pNext = &ycbcr_props,
   };
   const VkPhysicalDeviceImageFormatInfo2 image_info = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_IMAGE_FORMAT_INFO_2,
         .format = FORMAT,
         .type = VK_IMAGE_TYPE_2D,
         .tiling = VK_IMAGE_TILING_OPTIMAL,
         .usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT,
   };
   PV_VK_CHECK(vkGetPhysicalDeviceImageFormatProperties2(app->physical, &image_info, &image_props));
   s->descriptors_per_sampler = ycbcr_props.combinedImageSamplerDescriptorCount;

   const VkPhysicalDeviceSamplerYcbcrConversionFeatures enable_ycbcr = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SAMPLER_YCBCR_CONVERSION_FEATURES,
         .samplerYcbcrConversion = VK_TRUE,
   };
   const VkPhysicalDeviceFeatures2 enable = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
         .pNext = (void *)&enable_ycbcr,
   };
   pv_test_begin_device(app, NAME, &enable, NULL, 0);
   fprintf(stderr, "%s: disjoint %d, %u descriptors per combined image sampler\n", NAME,
           s->disjoint, s->descriptors_per_sampler);
}

/* Inside the narrow ranges (Y 16-235, Cb and Cr 16-240), so both conversions see legal input. */
static void fill_planes(struct planes *p, uint32_t seed)
{
   for (uint32_t i = 0; i < TEXELS; i++)
      p->y[i] = (uint8_t)(16 + pv_hash32(seed + i) % 220);
   for (uint32_t i = 0; i < CHROMA * CHROMA; i++) {
      p->cbcr[i][0] = (uint8_t)(16 + pv_hash32(seed + 0x10000 + i) % 225);
      p->cbcr[i][1] = (uint8_t)(16 + pv_hash32(seed + 0x20000 + i) % 225);
   }
}

static VkDeviceMemory allocate(struct pv_vkapp *app, VkDeviceSize size, uint32_t type_bits)
{
   const VkMemoryAllocateInfo info = {
         .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
         .allocationSize = size,
         .memoryTypeIndex =
               pv_vkapp_memory_type(app, type_bits, 0, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT),
   };
   VkDeviceMemory memory;
   PV_VK_CHECK(vkAllocateMemory(app->device, &info, NULL, &memory));
   return memory;
}

static VkMemoryRequirements plane_requirements(struct pv_vkapp *app, VkImage image,
                                               VkImageAspectFlagBits plane)
{
   const VkImagePlaneMemoryRequirementsInfo plane_info = {
         .sType = VK_STRUCTURE_TYPE_IMAGE_PLANE_MEMORY_REQUIREMENTS_INFO,
         .planeAspect = plane,
   };
   const VkImageMemoryRequirementsInfo2 info = {
         .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_REQUIREMENTS_INFO_2,
         .pNext = &plane_info,
         .image = image,
   };
   VkMemoryRequirements2 req = {.sType = VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2};
   vkGetImageMemoryRequirements2(app->device, &info, &req);
   return req.memoryRequirements;
}

/* Both planes of a disjoint image in one allocation, plane 1 after plane 0 at its alignment. */
static void bind_disjoint(struct pv_vkapp *app, struct ycbcr_image *img)
{
   const VkMemoryRequirements req0 =
         plane_requirements(app, img->image, VK_IMAGE_ASPECT_PLANE_0_BIT);
   const VkMemoryRequirements req1 =
         plane_requirements(app, img->image, VK_IMAGE_ASPECT_PLANE_1_BIT);
   const VkDeviceSize offset1 = (req0.size + req1.alignment - 1) / req1.alignment * req1.alignment;
   img->memory = allocate(app, offset1 + req1.size, req0.memoryTypeBits & req1.memoryTypeBits);
   const VkBindImagePlaneMemoryInfo planes[2] = {
         {VK_STRUCTURE_TYPE_BIND_IMAGE_PLANE_MEMORY_INFO, NULL, VK_IMAGE_ASPECT_PLANE_0_BIT},
         {VK_STRUCTURE_TYPE_BIND_IMAGE_PLANE_MEMORY_INFO, NULL, VK_IMAGE_ASPECT_PLANE_1_BIT},
   };
   const VkBindImageMemoryInfo binds[2] = {
         {VK_STRUCTURE_TYPE_BIND_IMAGE_MEMORY_INFO, &planes[0], img->image, img->memory, 0},
         {VK_STRUCTURE_TYPE_BIND_IMAGE_MEMORY_INFO, &planes[1], img->image, img->memory, offset1},
   };
   PV_VK_CHECK(vkBindImageMemory2(app->device, 2, binds));
}

static void create_image(struct pv_vkapp *app, struct ycbcr_image *img, bool disjoint)
{
   const VkImageCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
         .flags = disjoint ? VK_IMAGE_CREATE_DISJOINT_BIT : 0,
         .imageType = VK_IMAGE_TYPE_2D,
         .format = FORMAT,
         .extent = {SIDE, SIDE, 1},
         .mipLevels = 1,
         .arrayLayers = 1,
         .samples = VK_SAMPLE_COUNT_1_BIT,
         .tiling = VK_IMAGE_TILING_OPTIMAL,
         .usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT,
         .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
         .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
   };
   img->disjoint = disjoint;
   PV_VK_CHECK(vkCreateImage(app->device, &info, NULL, &img->image));
   if (disjoint) {
      bind_disjoint(app, img);
      return;
   }
   VkMemoryRequirements req;
   vkGetImageMemoryRequirements(app->device, img->image, &req);
   img->memory = allocate(app, req.size, req.memoryTypeBits);
   PV_VK_CHECK(vkBindImageMemory(app->device, img->image, img->memory, 0));
}

static void create_conversion(struct pv_vkapp *app, struct scene *s, int i,
                              VkSamplerYcbcrModelConversion model, VkSamplerYcbcrRange range)
{
   const VkSamplerYcbcrConversionCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_SAMPLER_YCBCR_CONVERSION_CREATE_INFO,
         .format = FORMAT,
         .ycbcrModel = model,
         .ycbcrRange = range,
         .components = {VK_COMPONENT_SWIZZLE_IDENTITY, VK_COMPONENT_SWIZZLE_IDENTITY,
                        VK_COMPONENT_SWIZZLE_IDENTITY, VK_COMPONENT_SWIZZLE_IDENTITY},
         .xChromaOffset = VK_CHROMA_LOCATION_COSITED_EVEN,
         .yChromaOffset = VK_CHROMA_LOCATION_COSITED_EVEN,
         .chromaFilter = VK_FILTER_NEAREST,
   };
   PV_VK_CHECK(vkCreateSamplerYcbcrConversion(app->device, &info, NULL, &s->conversions[i]));
   const VkSamplerYcbcrConversionInfo conversion = {
         .sType = VK_STRUCTURE_TYPE_SAMPLER_YCBCR_CONVERSION_INFO,
         .conversion = s->conversions[i],
   };
   /* Without separate reconstruction filters min and mag must match the chroma filter. */
   const VkSamplerCreateInfo sampler_info = {
         .sType = VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO,
         .pNext = &conversion,
         .magFilter = VK_FILTER_NEAREST,
         .minFilter = VK_FILTER_NEAREST,
         .mipmapMode = VK_SAMPLER_MIPMAP_MODE_NEAREST,
         .addressModeU = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
         .addressModeV = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
         .addressModeW = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
   };
   PV_VK_CHECK(vkCreateSampler(app->device, &sampler_info, NULL, &s->samplers[i]));
}

static VkImageView create_view(struct pv_vkapp *app, VkImage image, VkSamplerYcbcrConversion conv)
{
   const VkSamplerYcbcrConversionInfo conversion = {
         .sType = VK_STRUCTURE_TYPE_SAMPLER_YCBCR_CONVERSION_INFO,
         .conversion = conv,
   };
   const VkImageViewCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
         .pNext = &conversion,
         .image = image,
         .viewType = VK_IMAGE_VIEW_TYPE_2D,
         .format = FORMAT,
         .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1},
   };
   VkImageView view;
   PV_VK_CHECK(vkCreateImageView(app->device, &info, NULL, &view));
   return view;
}

/* Each plane copied from its own part of one staging buffer, both images in one submit. */
static void upload(struct pv_vkapp *app, struct scene *s)
{
   struct pv_buffer staging;
   pv_buffer_init(app, &staging, sizeof(s->data), VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                  PV_MEMORY_UPLOAD);
   memcpy(staging.map, s->data, sizeof(s->data));
   VkCommandBuffer cmd = pv_cmd_begin_once(app, &app->graphics);
   VkImageMemoryBarrier barriers[2];
   for (int i = 0; i < 2; i++) {
      barriers[i] = (VkImageMemoryBarrier){
            .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
            .dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
            .oldLayout = VK_IMAGE_LAYOUT_UNDEFINED,
            .newLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
            .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
            .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
            .image = s->images[i].image,
            .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1},
      };
   }
   vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0,
                        0, NULL, 0, NULL, 2, barriers);
   for (int i = 0; i < 2; i++) {
      const VkDeviceSize base = (VkDeviceSize)i * sizeof(struct planes);
      const VkBufferImageCopy regions[2] = {
            {
                  .bufferOffset = base + offsetof(struct planes, y),
                  .imageSubresource = {VK_IMAGE_ASPECT_PLANE_0_BIT, 0, 0, 1},
                  .imageExtent = {SIDE, SIDE, 1},
            },
            {
                  .bufferOffset = base + offsetof(struct planes, cbcr),
                  .imageSubresource = {VK_IMAGE_ASPECT_PLANE_1_BIT, 0, 0, 1},
                  .imageExtent = {CHROMA, CHROMA, 1},
            },
      };
      vkCmdCopyBufferToImage(cmd, staging.buffer, s->images[i].image,
                             VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 2, regions);
   }
   for (int i = 0; i < 2; i++) {
      barriers[i].srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
      barriers[i].dstAccessMask = VK_ACCESS_SHADER_READ_BIT;
      barriers[i].oldLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
      barriers[i].newLayout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
   }
   vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                        0, 0, NULL, 0, NULL, 2, barriers);
   pv_cmd_submit_once(app, &app->graphics, cmd);
   pv_buffer_finish(app, &staging);
}

static void create_images(struct pv_vkapp *app, struct scene *s)
{
   fill_planes(&s->data[0], 0x9cb0u);
   fill_planes(&s->data[1], 0x9cb1u);
   create_conversion(app, s, 0, VK_SAMPLER_YCBCR_MODEL_CONVERSION_RGB_IDENTITY,
                     VK_SAMPLER_YCBCR_RANGE_ITU_FULL);
   create_conversion(app, s, 1, VK_SAMPLER_YCBCR_MODEL_CONVERSION_YCBCR_709,
                     VK_SAMPLER_YCBCR_RANGE_ITU_NARROW);
   create_image(app, &s->images[0], false);
   create_image(app, &s->images[1], s->disjoint);
   s->views[VIEW_IDENTITY] = create_view(app, s->images[0].image, s->conversions[0]);
   s->views[VIEW_BT709] = create_view(app, s->images[0].image, s->conversions[1]);
   s->views[VIEW_DISJOINT] = create_view(app, s->images[1].image, s->conversions[0]);
   upload(app, s);
   pv_buffer_init(app, &s->output, VIEW_COUNT * TEXELS * 4 * sizeof(float),
                  VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, PV_MEMORY_READBACK);
}

/* Y'CbCr samplers must be immutable, and may take several descriptors each from the pool. */
static void create_descriptors(struct pv_vkapp *app, struct scene *s)
{
   const VkSampler *immutable[VIEW_COUNT] = {&s->samplers[0], &s->samplers[1], &s->samplers[0]};
   VkDescriptorSetLayoutBinding bindings[VIEW_COUNT + 1];
   for (uint32_t b = 0; b < VIEW_COUNT; b++)
      bindings[b] = (VkDescriptorSetLayoutBinding){b, VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 1,
                                                   VK_SHADER_STAGE_COMPUTE_BIT, immutable[b]};
   bindings[VIEW_COUNT] = (VkDescriptorSetLayoutBinding){
         VIEW_COUNT, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL};
   const VkDescriptorSetLayoutCreateInfo set_info = {
         .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
         .bindingCount = VIEW_COUNT + 1,
         .pBindings = bindings,
   };
   PV_VK_CHECK(vkCreateDescriptorSetLayout(app->device, &set_info, NULL, &s->set_layout));
   const VkDescriptorPoolSize sizes[2] = {
         {VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, VIEW_COUNT * s->descriptors_per_sampler},
         {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1},
   };
   const VkDescriptorPoolCreateInfo pool_info = {
         .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
         .maxSets = 1,
         .poolSizeCount = 2,
         .pPoolSizes = sizes,
   };
   PV_VK_CHECK(vkCreateDescriptorPool(app->device, &pool_info, NULL, &s->pool));
   const VkDescriptorSetAllocateInfo alloc = {
         .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
         .descriptorPool = s->pool,
         .descriptorSetCount = 1,
         .pSetLayouts = &s->set_layout,
   };
   PV_VK_CHECK(vkAllocateDescriptorSets(app->device, &alloc, &s->set));

   VkDescriptorImageInfo images[VIEW_COUNT];
   VkWriteDescriptorSet writes[VIEW_COUNT + 1];
   for (uint32_t b = 0; b < VIEW_COUNT; b++) {
      images[b] = (VkDescriptorImageInfo){VK_NULL_HANDLE, s->views[b],
                                          VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL};
      writes[b] = (VkWriteDescriptorSet){
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .dstSet = s->set,
            .dstBinding = b,
            .descriptorCount = 1,
            .descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER,
            .pImageInfo = &images[b],
      };
   }
   const VkDescriptorBufferInfo output = {s->output.buffer, 0, VK_WHOLE_SIZE};
   writes[VIEW_COUNT] = (VkWriteDescriptorSet){
         .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
         .dstSet = s->set,
         .dstBinding = VIEW_COUNT,
         .descriptorCount = 1,
         .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
         .pBufferInfo = &output,
   };
   vkUpdateDescriptorSets(app->device, VIEW_COUNT + 1, writes, 0, NULL);
}

static void create_pipeline(struct pv_vkapp *app, struct scene *s)
{
   const VkPushConstantRange push = {VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(uint32_t)};
   const VkPipelineLayoutCreateInfo layout_info = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
         .setLayoutCount = 1,
         .pSetLayouts = &s->set_layout,
         .pushConstantRangeCount = 1,
         .pPushConstantRanges = &push,
   };
   PV_VK_CHECK(vkCreatePipelineLayout(app->device, &layout_info, NULL, &s->layout));
   VkShaderModule module = pv_shader_create(app, PV_SPIRV(ycbcr_spv));
   const VkComputePipelineCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
         .stage =
               {
                     .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                     .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                     .module = module,
                     .pName = "main",
               },
         .layout = s->layout,
   };
   PV_VK_CHECK(vkCreateComputePipelines(app->device, VK_NULL_HANDLE, 1, &info, NULL, &s->pipeline));
   vkDestroyShaderModule(app->device, module, NULL);
}

static void sample(struct pv_vkapp *app, struct scene *s)
{
   const uint32_t side = SIDE;
   VkCommandBuffer cmd = pv_cmd_begin_once(app, &app->graphics);
   vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, s->pipeline);
   vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, s->layout, 0, 1, &s->set, 0, NULL);
   vkCmdPushConstants(cmd, s->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(side), &side);
   vkCmdDispatch(cmd, SIDE / GROUP, SIDE / GROUP, 1);
   pv_cmd_memory_barrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
   pv_cmd_submit_once(app, &app->graphics, cmd);
}

/* Written out rather than from libm, which the test programs do not link. */
static double magnitude(double v)
{
   return v < 0 ? -v : v;
}

static double clamp01(double v)
{
   return v < 0 ? 0 : v > 1 ? 1 : v;
}

/* BT.709 narrow range, 8 bits: the conversion the spec gives, in doubles. */
static void bt709(uint8_t y, uint8_t cb, uint8_t cr, double rgb[3])
{
   const double kr = 0.2126, kb = 0.0722;
   const double yy = (y - 16) / 219.0, pb = (cb - 128) / 224.0, pr = (cr - 128) / 224.0;
   rgb[0] = yy + (2 - 2 * kr) * pr;
   rgb[1] = yy - 2 * kr * (1 - kr) / (1 - kr - kb) * pr - 2 * kb * (1 - kb) / (1 - kr - kb) * pb;
   rgb[2] = yy + (2 - 2 * kb) * pb;
}

/* The chroma texels luma texel (x, y) may take. A cosited chroma sample sits on the even luma
 * texel, so an odd texel's centre is equally far from two of them: NEAREST may take either. */
static uint32_t chroma_candidates(uint32_t x, uint32_t y, uint32_t out[4])
{
   const uint32_t xs[2] = {x / 2, x / 2 + (x & 1) < CHROMA ? x / 2 + (x & 1) : CHROMA - 1};
   const uint32_t ys[2] = {y / 2, y / 2 + (y & 1) < CHROMA ? y / 2 + (y & 1) : CHROMA - 1};
   uint32_t count = 0;
   for (int j = 0; j < 2; j++) {
      for (int i = 0; i < 2; i++)
         out[count++] = ys[j] * CHROMA + xs[i];
   }
   return count;
}

/* RGB identity returns (Cr, Y, Cb, 1), each float its byte over 255. */
static bool identity_matches(const float got[4], uint8_t y, const uint8_t cbcr[2])
{
   const float want[4] = {cbcr[1], y, cbcr[0], 255};
   bool ok = true;
   for (int c = 0; c < 4; c++)
      ok &= magnitude(got[c] * 255.0 - want[c]) < 0.01;
   return ok;
}

static bool bt709_matches(const float got[4], uint8_t y, const uint8_t cbcr[2], double *error)
{
   double want[3];
   bt709(y, cbcr[0], cbcr[1], want);
   bool ok = magnitude(got[3] - 1.0) < 1e-6;
   *error = 0;
   for (int c = 0; c < 3; c++) {
      const double e = magnitude(clamp01(got[c]) - clamp01(want[c]));
      *error = e > *error ? e : *error;
   }
   return ok && *error <= BT709_TOLERANCE;
}

/* Every texel must match its luma and one of its candidate chroma texels. */
static bool check_view(const char *what, const float *out, const struct planes *p, bool is_bt709)
{
   size_t wrong = 0;
   double worst = 0;
   for (uint32_t y = 0; y < SIDE; y++) {
      for (uint32_t x = 0; x < SIDE; x++) {
         const float *got = &out[(y * SIDE + x) * 4];
         const uint8_t luma = p->y[y * SIDE + x];
         uint32_t candidates[4];
         const uint32_t count = chroma_candidates(x, y, candidates);
         bool texel_ok = false;
         double best = 1e9;
         for (uint32_t c = 0; c < count && !texel_ok; c++) {
            double error = 0;
            texel_ok = is_bt709 ? bt709_matches(got, luma, p->cbcr[candidates[c]], &error)
                                : identity_matches(got, luma, p->cbcr[candidates[c]]);
            best = error < best ? error : best;
         }
         worst = best > worst ? best : worst;
         if (!texel_ok && wrong++ == 0)
            fprintf(stderr, "%s: %s: texel (%u,%u) is (%.5f %.5f %.5f %.5f), Y %u\n", NAME, what, x,
                    y, got[0], got[1], got[2], got[3], luma);
      }
   }
   if (is_bt709)
      fprintf(stderr, "%s: %s: largest error %.2e (tolerance %.2e)\n", NAME, what, worst,
              BT709_TOLERANCE);
   if (wrong)
      fprintf(stderr, "%s: %s: %zu of %u texels wrong\n", NAME, what, wrong, TEXELS);
   return wrong == 0;
}

static void destroy_scene(struct pv_vkapp *app, struct scene *s)
{
   vkDestroyPipeline(app->device, s->pipeline, NULL);
   vkDestroyPipelineLayout(app->device, s->layout, NULL);
   vkDestroyDescriptorPool(app->device, s->pool, NULL);
   vkDestroyDescriptorSetLayout(app->device, s->set_layout, NULL);
   pv_buffer_finish(app, &s->output);
   for (int v = 0; v < VIEW_COUNT; v++)
      vkDestroyImageView(app->device, s->views[v], NULL);
   for (int i = 0; i < 2; i++) {
      vkDestroyImage(app->device, s->images[i].image, NULL);
      vkFreeMemory(app->device, s->images[i].memory, NULL);
      vkDestroySampler(app->device, s->samplers[i], NULL);
      vkDestroySamplerYcbcrConversion(app->device, s->conversions[i], NULL);
   }
}

int main(void)
{
   struct pv_vkapp app;
   struct scene scene = {0};
   begin(&app, &scene);
   create_images(&app, &scene);
   create_descriptors(&app, &scene);
   create_pipeline(&app, &scene);
   sample(&app, &scene);

   const float *out = scene.output.map;
   bool ok = check_view("RGB identity", out + VIEW_IDENTITY * TEXELS * 4, &scene.data[0], false);
   ok &= check_view("BT.709 narrow", out + VIEW_BT709 * TEXELS * 4, &scene.data[0], true);
   ok &= check_view(scene.disjoint ? "disjoint image" : "second image",
                    out + VIEW_DISJOINT * TEXELS * 4, &scene.data[1], false);
   /* The same host driver natively and through PearVisor gives the same float bits. */
   const uint64_t disjoint = scene.disjoint;
   uint64_t checksum = pv_fnv1a64(PV_FNV1A64_INIT, &disjoint, sizeof(disjoint));
   checksum = pv_fnv1a64(checksum, scene.output.map, scene.output.size);

   destroy_scene(&app, &scene);
   return pv_test_end(&app, NAME, ok, checksum);
}
