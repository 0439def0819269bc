/* Memory-type choice, buffers and images with their memory, and host <-> device copies. */
#include <string.h>

#include "pv_vkapp.h"

uint32_t pv_vkapp_memory_type(const struct pv_vkapp *app, uint32_t type_bits,
                              VkMemoryPropertyFlags required, VkMemoryPropertyFlags preferred)
{
   /* Drivers list types best-first, so the first match of each pass is the one to take. */
   const VkMemoryPropertyFlags wanted[2] = {required | preferred, required};
   for (int pass = 0; pass < 2; pass++) {
      for (uint32_t i = 0; i < app->memory.memoryTypeCount; i++) {
         VkMemoryPropertyFlags flags = app->memory.memoryTypes[i].propertyFlags;
         if ((type_bits & (1u << i)) && (flags & wanted[pass]) == wanted[pass])
            return i;
      }
   }
   pv_fail("no memory type in 0x%x with flags 0x%x", type_bits, required);
}

static VkDeviceMemory allocate(struct pv_vkapp *app, const VkMemoryRequirements *req,
                               enum pv_memory memory)
{
   const VkMemoryPropertyFlags host =
         VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
   uint32_t type;
   switch (memory) {
   case PV_MEMORY_UPLOAD:
      type = pv_vkapp_memory_type(app, req->memoryTypeBits, host, 0);
      break;
   case PV_MEMORY_READBACK:
      /* Uncached (write-combined) memory reads at a small fraction of cached speed. */
      type = pv_vkapp_memory_type(app, req->memoryTypeBits, host,
                                  VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
      break;
   default:
      type = pv_vkapp_memory_type(app, req->memoryTypeBits, 0, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
      break;
   }
   const VkMemoryAllocateInfo info = {
         .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
         .allocationSize = req->size,
         .memoryTypeIndex = type,
   };
   VkDeviceMemory mem;
   PV_VK_CHECK(vkAllocateMemory(app->device, &info, NULL, &mem));
   return mem;
}

void pv_buffer_init(struct pv_vkapp *app, struct pv_buffer *buf, VkDeviceSize size,
                    VkBufferUsageFlags usage, enum pv_memory memory)
{
   const uint32_t families[2] = {app->graphics.family, app->compute.family};
   const bool concurrent = families[0] != families[1];
   const VkBufferCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
         .size = size,
         .usage = usage,
         .sharingMode = concurrent ? VK_SHARING_MODE_CONCURRENT : VK_SHARING_MODE_EXCLUSIVE,
         .queueFamilyIndexCount = concurrent ? 2 : 0,
         .pQueueFamilyIndices = concurrent ? families : NULL,
   };
   memset(buf, 0, sizeof(*buf));
   buf->size = size;
   PV_VK_CHECK(vkCreateBuffer(app->device, &info, NULL, &buf->buffer));
   VkMemoryRequirements req;
   vkGetBufferMemoryRequirements(app->device, buf->buffer, &req);
   buf->memory = allocate(app, &req, memory);
   PV_VK_CHECK(vkBindBufferMemory(app->device, buf->buffer, buf->memory, 0));
   if (memory != PV_MEMORY_DEVICE)
      PV_VK_CHECK(vkMapMemory(app->device, buf->memory, 0, VK_WHOLE_SIZE, 0, &buf->map));
}

void pv_buffer_finish(struct pv_vkapp *app, struct pv_buffer *buf)
{
   /* Freeing memory unmaps it. */
   vkDestroyBuffer(app->device, buf->buffer, NULL);
   vkFreeMemory(app->device, buf->memory, NULL);
   memset(buf, 0, sizeof(*buf));
}

void pv_buffer_upload(struct pv_vkapp *app, struct pv_vkapp_queue *q, struct pv_buffer *buf,
                      const void *data, VkDeviceSize size)
{
   struct pv_buffer staging;
   pv_buffer_init(app, &staging, size, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, PV_MEMORY_UPLOAD);
   memcpy(staging.map, data, size);
   VkCommandBuffer cmd = pv_cmd_begin_once(app, q);
   const VkBufferCopy region = {.size = size};
   vkCmdCopyBuffer(cmd, staging.buffer, buf->buffer, 1, &region);
   pv_cmd_memory_barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                         VK_PIPELINE_STAGE_ALL_COMMANDS_BIT,
                         VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT);
   pv_cmd_submit_once(app, q, cmd);
   pv_buffer_finish(app, &staging);
}

void pv_buffer_download(struct pv_vkapp *app, struct pv_vkapp_queue *q, struct pv_buffer *buf,
                        void *data, VkDeviceSize size)
{
   struct pv_buffer readback;
   pv_buffer_init(app, &readback, size, VK_BUFFER_USAGE_TRANSFER_DST_BIT, PV_MEMORY_READBACK);
   VkCommandBuffer cmd = pv_cmd_begin_once(app, q);
   pv_cmd_memory_barrier(cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_MEMORY_WRITE_BIT,
                         VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
   const VkBufferCopy region = {.size = size};
   vkCmdCopyBuffer(cmd, buf->buffer, readback.buffer, 1, &region);
   pv_cmd_memory_barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
   pv_cmd_submit_once(app, q, cmd);
   memcpy(data, readback.map, size);
   pv_buffer_finish(app, &readback);
}

static VkImageAspectFlags format_aspect(VkFormat format)
{
   switch (format) {
   case VK_FORMAT_D16_UNORM:
   case VK_FORMAT_D32_SFLOAT:
      return VK_IMAGE_ASPECT_DEPTH_BIT;
   default:
      return VK_IMAGE_ASPECT_COLOR_BIT;
   }
}

static uint32_t format_texel_size(VkFormat format)
{
   switch (format) {
   case VK_FORMAT_R8G8B8A8_UNORM:
   case VK_FORMAT_B8G8R8A8_UNORM:
   case VK_FORMAT_R32_UINT:
      return 4;
   default:
      return 0; /* not copied by these programs */
   }
}

void pv_image_init(struct pv_vkapp *app, struct pv_image *img, VkFormat format, uint32_t width,
                   uint32_t height, VkImageUsageFlags usage)
{
   memset(img, 0, sizeof(*img));
   img->format = format;
   img->aspect = format_aspect(format);
   img->width = width;
   img->height = height;
   img->texel_size = format_texel_size(format);

   const VkImageCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
         .imageType = VK_IMAGE_TYPE_2D,
         .format = format,
         .extent = {width, height, 1},
         .mipLevels = 1,
         .arrayLayers = 1,
         .samples = VK_SAMPLE_COUNT_1_BIT,
         .tiling = VK_IMAGE_TILING_OPTIMAL,
         .usage = usage,
         .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
         .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
   };
   PV_VK_CHECK(vkCreateImage(app->device, &info, NULL, &img->image));
   VkMemoryRequirements req;
   vkGetImageMemoryRequirements(app->device, img->image, &req);
   img->memory = allocate(app, &req, PV_MEMORY_DEVICE);
   PV_VK_CHECK(vkBindImageMemory(app->device, img->image, img->memory, 0));

   const VkImageUsageFlags viewed = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_STORAGE_BIT |
                                    VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT |
                                    VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT;
   if (!(usage & viewed))
      return;
   const VkImageViewCreateInfo view_info = {
         .sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
         .image = img->image,
         .viewType = VK_IMAGE_VIEW_TYPE_2D,
         .format = format,
         .subresourceRange = {img->aspect, 0, 1, 0, 1},
   };
   PV_VK_CHECK(vkCreateImageView(app->device, &view_info, NULL, &img->view));
}

void pv_image_finish(struct pv_vkapp *app, struct pv_image *img)
{
   vkDestroyImageView(app->device, img->view, NULL);
   vkDestroyImage(app->device, img->image, NULL);
   vkFreeMemory(app->device, img->memory, NULL);
   memset(img, 0, sizeof(*img));
}

static VkBufferImageCopy whole_image(const struct pv_image *img)
{
   return (VkBufferImageCopy){
         .imageSubresource = {img->aspect, 0, 0, 1},
         .imageExtent = {img->width, img->height, 1},
   };
}

void pv_image_upload(struct pv_vkapp *app, struct pv_vkapp_queue *q, struct pv_image *img,
                     const void *data, VkImageLayout final_layout)
{
   const VkDeviceSize size = (VkDeviceSize)img->width * img->height * img->texel_size;
   struct pv_buffer staging;
   pv_buffer_init(app, &staging, size, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, PV_MEMORY_UPLOAD);
   memcpy(staging.map, data, size);

   VkCommandBuffer cmd = pv_cmd_begin_once(app, q);
   pv_cmd_image_barrier(cmd, img, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                        VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_MEMORY_WRITE_BIT,
                        VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
   const VkBufferImageCopy region = whole_image(img);
   vkCmdCopyBufferToImage(cmd, staging.buffer, img->image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1,
                          &region);
   pv_cmd_image_barrier(cmd, img, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, final_layout,
                        VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                        VK_PIPELINE_STAGE_ALL_COMMANDS_BIT,
                        VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT);
   pv_cmd_submit_once(app, q, cmd);
   pv_buffer_finish(app, &staging);
}

void pv_image_copy_to_buffer(struct pv_vkapp *app, struct pv_vkapp_queue *q, struct pv_image *img,
                             VkImageLayout layout, struct pv_buffer *dst)
{
   VkCommandBuffer cmd = pv_cmd_begin_once(app, q);
   pv_cmd_image_barrier(cmd, img, layout, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                        VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_MEMORY_WRITE_BIT,
                        VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
   const VkBufferImageCopy region = whole_image(img);
   vkCmdCopyImageToBuffer(cmd, img->image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, dst->buffer, 1,
                          &region);
   pv_cmd_memory_barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                         VK_PIPELINE_STAGE_ALL_COMMANDS_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                         VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_HOST_READ_BIT);
   pv_cmd_submit_once(app, q, cmd);
}
