/* Command buffers, submission with bounded fence waits, barriers and image clears. */
#include "pv_vkapp.h"

VkCommandBuffer pv_cmd_alloc(struct pv_vkapp *app, struct pv_vkapp_queue *q)
{
   const VkCommandBufferAllocateInfo info = {
         .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
         .commandPool = q->pool,
         .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
         .commandBufferCount = 1,
   };
   VkCommandBuffer cmd;
   PV_VK_CHECK(vkAllocateCommandBuffers(app->device, &info, &cmd));
   return cmd;
}

void pv_cmd_begin(VkCommandBuffer cmd, VkCommandBufferUsageFlags flags)
{
   const VkCommandBufferBeginInfo info = {
         .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
         .flags = flags,
   };
   PV_VK_CHECK(vkBeginCommandBuffer(cmd, &info));
}

void pv_cmd_end(VkCommandBuffer cmd)
{
   PV_VK_CHECK(vkEndCommandBuffer(cmd));
}

VkFence pv_fence_create(struct pv_vkapp *app)
{
   const VkFenceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
   VkFence fence;
   PV_VK_CHECK(vkCreateFence(app->device, &info, NULL, &fence));
   return fence;
}

void pv_submit(struct pv_vkapp_queue *q, VkCommandBuffer cmd, VkFence fence)
{
   const VkSubmitInfo info = {
         .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
         .commandBufferCount = cmd ? 1 : 0,
         .pCommandBuffers = &cmd,
   };
   PV_VK_CHECK(vkQueueSubmit(q->queue, 1, &info, fence));
}

void pv_fence_wait(struct pv_vkapp *app, VkFence fence)
{
   PV_VK_CHECK(vkWaitForFences(app->device, 1, &fence, VK_TRUE, PV_VK_TIMEOUT_NS));
   PV_VK_CHECK(vkResetFences(app->device, 1, &fence));
}

VkCommandBuffer pv_cmd_begin_once(struct pv_vkapp *app, struct pv_vkapp_queue *q)
{
   VkCommandBuffer cmd = pv_cmd_alloc(app, q);
   pv_cmd_begin(cmd, VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT);
   return cmd;
}

void pv_cmd_submit_once(struct pv_vkapp *app, struct pv_vkapp_queue *q, VkCommandBuffer cmd)
{
   pv_cmd_end(cmd);
   VkFence fence = pv_fence_create(app);
   pv_submit(q, cmd, fence);
   pv_fence_wait(app, fence);
   vkDestroyFence(app->device, fence, NULL);
   vkFreeCommandBuffers(app->device, q->pool, 1, &cmd);
}

void pv_cmd_memory_barrier(VkCommandBuffer cmd, VkPipelineStageFlags src_stage,
                           VkAccessFlags src_access, VkPipelineStageFlags dst_stage,
                           VkAccessFlags dst_access)
{
   const VkMemoryBarrier barrier = {
         .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
         .srcAccessMask = src_access,
         .dstAccessMask = dst_access,
   };
   vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 1, &barrier, 0, NULL, 0, NULL);
}

void pv_cmd_image_barrier(VkCommandBuffer cmd, const struct pv_image *img, VkImageLayout old_layout,
                          VkImageLayout new_layout, VkPipelineStageFlags src_stage,
                          VkAccessFlags src_access, VkPipelineStageFlags dst_stage,
                          VkAccessFlags dst_access)
{
   const VkImageMemoryBarrier barrier = {
         .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
         .srcAccessMask = src_access,
         .dstAccessMask = dst_access,
         .oldLayout = old_layout,
         .newLayout = new_layout,
         .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
         .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
         .image = img->image,
         .subresourceRange = {img->aspect, 0, 1, 0, 1},
   };
   vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 0, NULL, 0, NULL, 1, &barrier);
}

void pv_cmd_clear_image(VkCommandBuffer cmd, const struct pv_image *img, const float rgba[4])
{
   /* From UNDEFINED: the old contents are about to be overwritten, so need not be kept. */
   pv_cmd_image_barrier(cmd, img, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                        VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                        VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
   const VkClearColorValue color = {.float32 = {rgba[0], rgba[1], rgba[2], rgba[3]}};
   const VkImageSubresourceRange range = {img->aspect, 0, 1, 0, 1};
   vkCmdClearColorImage(cmd, img->image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, &color, 1, &range);
}
