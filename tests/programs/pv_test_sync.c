/* pv-test-sync: 1000 submits chained by a Vulkan 1.2 timeline semaphore, checked in order. */

/* Submit i waits for value i and signals i + 1, alternating between two queues where the device
 * has two; the last one also signals a fence. Every wait is bounded: a lost signal fails instead
 * of hanging. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_test.h"

static const uint32_t counter_spv[] =
#include "counter.comp.spv.h"
      ;

#define NAME  "pv-test-sync"
#define STEPS 1000u

struct counter_push {
   uint32_t queue, capacity;
};

static VkSemaphore create_timeline(struct pv_vkapp *app)
{
   const VkSemaphoreTypeCreateInfo type = {
         .sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
         .semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE,
         .initialValue = 0,
   };
   const VkSemaphoreCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO,
         .pNext = &type,
   };
   VkSemaphore semaphore;
   PV_VK_CHECK(vkCreateSemaphore(app->device, &info, NULL, &semaphore));
   return semaphore;
}

/* Step 0 waits for the initial value 0, so every step has the same shape. */
static void submit_step(struct pv_vkapp_queue *q, VkCommandBuffer cmd, VkSemaphore timeline,
                        uint64_t step, VkFence fence)
{
   const uint64_t wait_value = step, signal_value = step + 1;
   const VkPipelineStageFlags wait_stage = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT;
   const VkTimelineSemaphoreSubmitInfo values = {
         .sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
         .waitSemaphoreValueCount = 1,
         .pWaitSemaphoreValues = &wait_value,
         .signalSemaphoreValueCount = 1,
         .pSignalSemaphoreValues = &signal_value,
   };
   const VkSubmitInfo info = {
         .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
         .pNext = &values,
         .waitSemaphoreCount = 1,
         .pWaitSemaphores = &timeline,
         .pWaitDstStageMask = &wait_stage,
         .commandBufferCount = 1,
         .pCommandBuffers = &cmd,
         .signalSemaphoreCount = 1,
         .pSignalSemaphores = &timeline,
   };
   PV_VK_CHECK(vkQueueSubmit(q->queue, 1, &info, fence));
}

static bool check_log(const uint32_t *log, uint32_t queue_count)
{
   if (log[0] != STEPS) {
      fprintf(stderr, "%s: the shader ran %u steps, expected %u\n", NAME, log[0], STEPS);
      return false;
   }
   for (uint32_t i = 0; i < STEPS; i++) {
      if (log[1 + i] != i % queue_count) {
         fprintf(stderr, "%s: step %u ran on queue %u, expected %u\n", NAME, i, log[1 + i],
                 i % queue_count);
         return false;
      }
   }
   return true;
}

int main(void)
{
   struct pv_vkapp app;
   pv_test_begin(&app, NAME,
                 (struct pv_vkapp_config){.timeline_semaphore = true, .distinct_queues = true});
   struct pv_vkapp_queue *queues[2] = {&app.graphics, &app.compute};
   const uint32_t queue_count = app.compute.queue != app.graphics.queue ? 2 : 1;
   fprintf(stderr, "%s: chaining %u submits over %u queue(s)\n", NAME, STEPS, queue_count);

   const size_t log_size = (1 + STEPS) * sizeof(uint32_t);
   uint32_t *log = pv_alloc(log_size);
   memset(log, 0, log_size);
   struct pv_buffer buffer;
   pv_buffer_init(&app, &buffer, log_size,
                  VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                        VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                  PV_MEMORY_DEVICE);
   /* On queue 0, which runs step 0: later steps see it through the chain. */
   pv_buffer_upload(&app, queues[0], &buffer, log, log_size);

   const VkDescriptorType type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
   struct pv_compute counter;
   pv_compute_init(&app, &counter, PV_SPIRV(counter_spv), &type, 1, sizeof(struct counter_push));
   pv_compute_bind_buffer(&app, &counter, 0, &buffer);
   VkCommandBuffer cmds[2];
   for (uint32_t q = 0; q < queue_count; q++) {
      /* Resubmitted while its previous submission may still be pending. */
      cmds[q] = pv_cmd_alloc(&app, queues[q]);
      pv_cmd_begin(cmds[q], VK_COMMAND_BUFFER_USAGE_SIMULTANEOUS_USE_BIT);
      const struct counter_push push = {q, STEPS};
      pv_cmd_dispatch(cmds[q], &counter, &push, 1, 1);
      pv_cmd_end(cmds[q]);
   }

   VkSemaphore timeline = create_timeline(&app);
   VkFence fence = pv_fence_create(&app);
   for (uint32_t i = 0; i < STEPS; i++) {
      uint32_t q = i % queue_count;
      submit_step(queues[q], cmds[q], timeline, i, i + 1 == STEPS ? fence : VK_NULL_HANDLE);
   }
   pv_fence_wait(&app, fence);
   const uint64_t final_value = STEPS;
   const VkSemaphoreWaitInfo wait = {
         .sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
         .semaphoreCount = 1,
         .pSemaphores = &timeline,
         .pValues = &final_value,
   };
   PV_VK_CHECK(vkWaitSemaphores(app.device, &wait, PV_VK_TIMEOUT_NS));
   uint64_t value = 0;
   PV_VK_CHECK(vkGetSemaphoreCounterValue(app.device, timeline, &value));
   bool ok = value == STEPS;
   if (!ok)
      fprintf(stderr, "%s: timeline at %llu, expected %u\n", NAME, (unsigned long long)value,
              STEPS);

   /* On the queue of the last step, so submission order covers its writes. */
   pv_buffer_download(&app, queues[(STEPS - 1) % queue_count], &buffer, log, log_size);
   ok &= check_log(log, queue_count);
   /* Independent of the number of queues, so any two runs of a correct chain agree. */
   uint64_t checksum = pv_fnv1a64(PV_FNV1A64_INIT, &value, sizeof(value));
   checksum = pv_fnv1a64(checksum, &log[0], sizeof(log[0]));

   vkDestroyFence(app.device, fence, NULL);
   vkDestroySemaphore(app.device, timeline, NULL);
   pv_compute_finish(&app, &counter);
   pv_buffer_finish(&app, &buffer);
   free(log);
   return pv_test_end(&app, NAME, ok, checksum);
}
