/* Shader modules, compute pipelines with their descriptor set, render passes, draw pipelines. */
#include "pv_vkapp.h"

VkShaderModule pv_shader_create(struct pv_vkapp *app, struct pv_spirv spirv)
{
   const VkShaderModuleCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
         .codeSize = spirv.size,
         .pCode = spirv.code,
   };
   VkShaderModule module;
   PV_VK_CHECK(vkCreateShaderModule(app->device, &info, NULL, &module));
   return module;
}

/* Bindings of one compute set: at most this many, enough for every kernel here. */
#define PV_COMPUTE_MAX_BINDINGS 4

void pv_compute_init(struct pv_vkapp *app, struct pv_compute *c, struct pv_spirv spirv,
                     const VkDescriptorType *types, uint32_t binding_count, uint32_t push_size)
{
   if (binding_count > PV_COMPUTE_MAX_BINDINGS)
      pv_fail("%u compute bindings, at most %d", binding_count, PV_COMPUTE_MAX_BINDINGS);
   c->push_size = push_size;

   VkDescriptorSetLayoutBinding bindings[PV_COMPUTE_MAX_BINDINGS];
   VkDescriptorPoolSize sizes[PV_COMPUTE_MAX_BINDINGS];
   for (uint32_t i = 0; i < binding_count; i++) {
      bindings[i] = (VkDescriptorSetLayoutBinding){
            .binding = i,
            .descriptorType = types[i],
            .descriptorCount = 1,
            .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
      };
      sizes[i] = (VkDescriptorPoolSize){types[i], 1};
   }
   const VkDescriptorSetLayoutCreateInfo set_info = {
         .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
         .bindingCount = binding_count,
         .pBindings = bindings,
   };
   PV_VK_CHECK(vkCreateDescriptorSetLayout(app->device, &set_info, NULL, &c->set_layout));

   const VkPushConstantRange push = {VK_SHADER_STAGE_COMPUTE_BIT, 0, push_size};
   const VkPipelineLayoutCreateInfo layout_info = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
         .setLayoutCount = 1,
         .pSetLayouts = &c->set_layout,
         .pushConstantRangeCount = push_size ? 1 : 0,
         .pPushConstantRanges = &push,
   };
   PV_VK_CHECK(vkCreatePipelineLayout(app->device, &layout_info, NULL, &c->layout));

   VkShaderModule module = pv_shader_create(app, spirv);
   const VkComputePipelineCreateInfo pipeline_info = {
         .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
         .stage =
               {
                     .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                     .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                     .module = module,
                     .pName = "main",
               },
         .layout = c->layout,
   };
   PV_VK_CHECK(vkCreateComputePipelines(app->device, VK_NULL_HANDLE, 1, &pipeline_info, NULL,
                                        &c->pipeline));
   vkDestroyShaderModule(app->device, module, NULL);

   const VkDescriptorPoolCreateInfo pool_info = {
         .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
         .maxSets = 1,
         .poolSizeCount = binding_count,
         .pPoolSizes = sizes,
   };
   PV_VK_CHECK(vkCreateDescriptorPool(app->device, &pool_info, NULL, &c->pool));
   const VkDescriptorSetAllocateInfo alloc_info = {
         .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
         .descriptorPool = c->pool,
         .descriptorSetCount = 1,
         .pSetLayouts = &c->set_layout,
   };
   PV_VK_CHECK(vkAllocateDescriptorSets(app->device, &alloc_info, &c->set));
}

void pv_compute_finish(struct pv_vkapp *app, struct pv_compute *c)
{
   /* Destroying the pool frees its set. */
   vkDestroyDescriptorPool(app->device, c->pool, NULL);
   vkDestroyPipeline(app->device, c->pipeline, NULL);
   vkDestroyPipelineLayout(app->device, c->layout, NULL);
   vkDestroyDescriptorSetLayout(app->device, c->set_layout, NULL);
}

void pv_compute_bind_buffer(struct pv_vkapp *app, struct pv_compute *c, uint32_t binding,
                            const struct pv_buffer *buf)
{
   const VkDescriptorBufferInfo info = {buf->buffer, 0, VK_WHOLE_SIZE};
   const VkWriteDescriptorSet write = {
         .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
         .dstSet = c->set,
         .dstBinding = binding,
         .descriptorCount = 1,
         .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
         .pBufferInfo = &info,
   };
   vkUpdateDescriptorSets(app->device, 1, &write, 0, NULL);
}

void pv_compute_bind_image(struct pv_vkapp *app, struct pv_compute *c, uint32_t binding,
                           const struct pv_image *img)
{
   /* Storage images are only ever read and written in GENERAL. */
   const VkDescriptorImageInfo info = {VK_NULL_HANDLE, img->view, VK_IMAGE_LAYOUT_GENERAL};
   const VkWriteDescriptorSet write = {
         .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
         .dstSet = c->set,
         .dstBinding = binding,
         .descriptorCount = 1,
         .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_IMAGE,
         .pImageInfo = &info,
   };
   vkUpdateDescriptorSets(app->device, 1, &write, 0, NULL);
}

void pv_cmd_dispatch(VkCommandBuffer cmd, const struct pv_compute *c, const void *push,
                     uint32_t groups_x, uint32_t groups_y)
{
   vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, c->pipeline);
   vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, c->layout, 0, 1, &c->set, 0, NULL);
   if (c->push_size)
      vkCmdPushConstants(cmd, c->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, c->push_size, push);
   vkCmdDispatch(cmd, groups_x, groups_y, 1);
}

VkRenderPass pv_render_pass_create(struct pv_vkapp *app, VkFormat color, VkFormat depth)
{
   const bool has_depth = depth != VK_FORMAT_UNDEFINED;
   const VkAttachmentDescription attachments[2] = {
         {
               .format = color,
               .samples = VK_SAMPLE_COUNT_1_BIT,
               .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
               .storeOp = VK_ATTACHMENT_STORE_OP_STORE,
               .stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE,
               .stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
               .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
               .finalLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
         },
         {
               .format = depth,
               .samples = VK_SAMPLE_COUNT_1_BIT,
               .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
               .storeOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
               .stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE,
               .stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
               .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
               .finalLayout = VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL,
         },
   };
   const VkAttachmentReference color_ref = {0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL};
   const VkAttachmentReference depth_ref = {1, VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL};
   const VkSubpassDescription subpass = {
         .pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS,
         .colorAttachmentCount = 1,
         .pColorAttachments = &color_ref,
         .pDepthStencilAttachment = has_depth ? &depth_ref : NULL,
   };
   /* In: the previous use of the attachments (an earlier pass or a readback copy) is finished
    * before they are cleared. Out: the color is visible to the readback copy. */
   const VkPipelineStageFlags attachment_stages = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT |
                                                  VK_PIPELINE_STAGE_EARLY_FRAGMENT_TESTS_BIT |
                                                  VK_PIPELINE_STAGE_LATE_FRAGMENT_TESTS_BIT;
   const VkAccessFlags attachment_writes =
         VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT | VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT;
   const VkSubpassDependency dependencies[2] = {
         {
               .srcSubpass = VK_SUBPASS_EXTERNAL,
               .dstSubpass = 0,
               .srcStageMask = attachment_stages | VK_PIPELINE_STAGE_TRANSFER_BIT,
               .dstStageMask = attachment_stages,
               .srcAccessMask = attachment_writes,
               .dstAccessMask = attachment_writes | VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_READ_BIT,
         },
         {
               .srcSubpass = 0,
               .dstSubpass = VK_SUBPASS_EXTERNAL,
               .srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
               .dstStageMask = VK_PIPELINE_STAGE_TRANSFER_BIT,
               .srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT,
               .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT,
         },
   };
   const VkRenderPassCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO,
         .attachmentCount = has_depth ? 2 : 1,
         .pAttachments = attachments,
         .subpassCount = 1,
         .pSubpasses = &subpass,
         .dependencyCount = 2,
         .pDependencies = dependencies,
   };
   VkRenderPass pass;
   PV_VK_CHECK(vkCreateRenderPass(app->device, &info, NULL, &pass));
   return pass;
}

VkFramebuffer pv_framebuffer_create(struct pv_vkapp *app, VkRenderPass pass,
                                    const struct pv_image *color, const struct pv_image *depth)
{
   const VkImageView views[2] = {color->view, depth ? depth->view : VK_NULL_HANDLE};
   const VkFramebufferCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO,
         .renderPass = pass,
         .attachmentCount = depth ? 2 : 1,
         .pAttachments = views,
         .width = color->width,
         .height = color->height,
         .layers = 1,
   };
   VkFramebuffer framebuffer;
   PV_VK_CHECK(vkCreateFramebuffer(app->device, &info, NULL, &framebuffer));
   return framebuffer;
}

VkPipeline pv_graphics_pipeline_create(struct pv_vkapp *app, const struct pv_graphics_desc *desc)
{
   VkShaderModule vertex = pv_shader_create(app, desc->vertex);
   VkShaderModule fragment = pv_shader_create(app, desc->fragment);
   const VkPipelineShaderStageCreateInfo stages[2] = {
         {
               .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
               .stage = VK_SHADER_STAGE_VERTEX_BIT,
               .module = vertex,
               .pName = "main",
         },
         {
               .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
               .stage = VK_SHADER_STAGE_FRAGMENT_BIT,
               .module = fragment,
               .pName = "main",
         },
   };
   const VkVertexInputBindingDescription binding = {0, desc->vertex_stride,
                                                    VK_VERTEX_INPUT_RATE_VERTEX};
   const VkPipelineVertexInputStateCreateInfo vertex_input = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO,
         .vertexBindingDescriptionCount = 1,
         .pVertexBindingDescriptions = &binding,
         .vertexAttributeDescriptionCount = desc->attribute_count,
         .pVertexAttributeDescriptions = desc->attributes,
   };
   const VkPipelineInputAssemblyStateCreateInfo input_assembly = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO,
         .topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST,
   };
   const VkViewport viewport = {0, 0, (float)desc->width, (float)desc->height, 0, 1};
   const VkRect2D scissor = {{0, 0}, {desc->width, desc->height}};
   const VkPipelineViewportStateCreateInfo viewport_state = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO,
         .viewportCount = 1,
         .pViewports = &viewport,
         .scissorCount = 1,
         .pScissors = &scissor,
   };
   const VkPipelineRasterizationStateCreateInfo raster = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO,
         .polygonMode = VK_POLYGON_MODE_FILL,
         .cullMode = VK_CULL_MODE_NONE,
         .frontFace = VK_FRONT_FACE_COUNTER_CLOCKWISE,
         .lineWidth = 1.0f,
   };
   const VkPipelineMultisampleStateCreateInfo multisample = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO,
         .rasterizationSamples = VK_SAMPLE_COUNT_1_BIT,
   };
   const VkPipelineDepthStencilStateCreateInfo depth = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_DEPTH_STENCIL_STATE_CREATE_INFO,
         .depthTestEnable = desc->depth_test,
         .depthWriteEnable = desc->depth_test,
         .depthCompareOp = VK_COMPARE_OP_LESS,
   };
   const VkPipelineColorBlendAttachmentState blend_attachment = {
         .colorWriteMask = VK_COLOR_COMPONENT_R_BIT | VK_COLOR_COMPONENT_G_BIT |
                           VK_COLOR_COMPONENT_B_BIT | VK_COLOR_COMPONENT_A_BIT,
   };
   const VkPipelineColorBlendStateCreateInfo blend = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO,
         .attachmentCount = 1,
         .pAttachments = &blend_attachment,
   };
   const VkGraphicsPipelineCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO,
         .stageCount = 2,
         .pStages = stages,
         .pVertexInputState = &vertex_input,
         .pInputAssemblyState = &input_assembly,
         .pViewportState = &viewport_state,
         .pRasterizationState = &raster,
         .pMultisampleState = &multisample,
         .pDepthStencilState = &depth,
         .pColorBlendState = &blend,
         .layout = desc->layout,
         .renderPass = desc->render_pass,
   };
   VkPipeline pipeline;
   PV_VK_CHECK(vkCreateGraphicsPipelines(app->device, VK_NULL_HANDLE, 1, &info, NULL, &pipeline));
   vkDestroyShaderModule(app->device, fragment, NULL);
   vkDestroyShaderModule(app->device, vertex, NULL);
   return pipeline;
}
