/* SAXPY with exactly representable values, shared by the compute workload and compute test. */
#include <stdio.h>
#include <stdlib.h>

#include "pv_vkapp.h"

static const uint32_t saxpy_spv[] =
#include "saxpy.comp.spv.h"
      ;

#define SAXPY_A          3.0f
#define SAXPY_GROUP      256u
#define SAXPY_MAX_GROUPS 65535u

struct saxpy_push {
   float a;
   uint32_t count;
};

/* Starting values: x below 16, y below 1024, so y + rounds * 3 * 15 stays an exact float. */
static float saxpy_x(uint32_t i)
{
   return (float)(i & 15u);
}

static float saxpy_y(uint32_t i)
{
   return (float)((i >> 4) & 1023u);
}

void pv_saxpy_init(struct pv_vkapp *app, struct pv_saxpy *s, struct pv_vkapp_queue *q,
                   uint32_t count)
{
   const VkDeviceSize size = (VkDeviceSize)count * sizeof(float);
   if (size > app->props.limits.maxStorageBufferRange)
      pv_fail("SAXPY vectors of %llu bytes exceed maxStorageBufferRange %u",
              (unsigned long long)size, app->props.limits.maxStorageBufferRange);
   s->count = count;
   const VkBufferUsageFlags usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                    VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                    VK_BUFFER_USAGE_TRANSFER_DST_BIT;
   pv_buffer_init(app, &s->x, size, usage, PV_MEMORY_DEVICE);
   pv_buffer_init(app, &s->y, size, usage, PV_MEMORY_DEVICE);

   float *host = pv_alloc(size);
   for (uint32_t i = 0; i < count; i++)
      host[i] = saxpy_x(i);
   pv_buffer_upload(app, q, &s->x, host, size);
   for (uint32_t i = 0; i < count; i++)
      host[i] = saxpy_y(i);
   pv_buffer_upload(app, q, &s->y, host, size);
   free(host);

   const VkDescriptorType types[2] = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                      VK_DESCRIPTOR_TYPE_STORAGE_BUFFER};
   pv_compute_init(app, &s->kernel, PV_SPIRV(saxpy_spv), types, 2, sizeof(struct saxpy_push));
   pv_compute_bind_buffer(app, &s->kernel, 0, &s->x);
   pv_compute_bind_buffer(app, &s->kernel, 1, &s->y);
}

void pv_saxpy_finish(struct pv_vkapp *app, struct pv_saxpy *s)
{
   pv_compute_finish(app, &s->kernel);
   pv_buffer_finish(app, &s->y);
   pv_buffer_finish(app, &s->x);
}

void pv_saxpy_record(const struct pv_saxpy *s, VkCommandBuffer cmd)
{
   /* The previous round's y (in an earlier submission) is read and rewritten by this one. */
   pv_cmd_memory_barrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                         VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
   const struct saxpy_push push = {SAXPY_A, s->count};
   uint32_t groups = (s->count + SAXPY_GROUP - 1) / SAXPY_GROUP;
   pv_cmd_dispatch(cmd, &s->kernel, &push, groups < SAXPY_MAX_GROUPS ? groups : SAXPY_MAX_GROUPS,
                   1);
}

bool pv_saxpy_check(struct pv_vkapp *app, struct pv_saxpy *s, struct pv_vkapp_queue *q,
                    uint32_t rounds, uint64_t *checksum)
{
   if (rounds > PV_SAXPY_MAX_ROUNDS) {
      fprintf(stderr, "pv: %u SAXPY rounds: results past %u are not exact\n", rounds,
              PV_SAXPY_MAX_ROUNDS);
      return false;
   }
   float *y = pv_alloc(s->y.size);
   pv_buffer_download(app, q, &s->y, y, s->y.size);
   bool ok = true;
   for (uint32_t i = 0; i < s->count && ok; i++) {
      float expected = saxpy_y(i) + (float)rounds * SAXPY_A * saxpy_x(i);
      if (y[i] != expected) {
         fprintf(stderr, "pv: SAXPY y[%u] = %.9g after %u rounds, expected %.9g\n", i, y[i], rounds,
                 expected);
         ok = false;
      }
   }
   *checksum = pv_fnv1a64(*checksum, y, s->y.size);
   free(y);
   return ok;
}
