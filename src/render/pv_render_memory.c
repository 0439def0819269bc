/* Device memory: host-visible memory is a memfd we map and import as a host pointer, so the
 * guest maps the very same pages (no copies, coherent both ways); the guest is shown as
 * host-visible only the memory types such an import can go to. */
#include <stdlib.h>
#include <string.h>

#include "render/pv_render_forward.h"
#include "render/pv_render_memtype.h"
#include "util/pv_limits.h"
#include "util/pv_log.h"

/* The smallest mapping we probe an import with: a page, or the host's import alignment. */
#define PV_PROBE_SIZE 4096u

static VkDeviceSize align_up(VkDeviceSize size, VkDeviceSize alignment)
{
   return alignment ? (size + alignment - 1) / alignment * alignment : size;
}

/* Drops what cannot go with a host-pointer import: dedicated allocation (the import is not
 * dedicated) and export requests (we never offer external memory). */
static const void *strip_chain(const void *chain)
{
   const VkBaseInStructure *first = NULL, **link = &first;
   for (const VkBaseInStructure *s = chain; s; s = s->pNext) {
      if (s->sType == VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO ||
          s->sType == VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO)
         continue;
      *link = s;
      link = (const VkBaseInStructure **)&((VkBaseInStructure *)s)->pNext;
   }
   *link = NULL;
   return first;
}

/* Allocates through a memfd when the type is host-visible and the host can import it. */
static struct pv_render_shmem *import_shmem(struct pv_venus_dispatch *d,
                                            struct pv_render_device *dev,
                                            VkMemoryAllocateInfo *info,
                                            VkImportMemoryHostPointerInfoEXT *import)
{
   const struct pv_vk_table *vk = pv_render_vk(d);
   if (!dev->host_pointer_import)
      return NULL;
   VkDeviceSize size = align_up(info->allocationSize, dev->host_pointer_alignment);
   struct pv_render_shmem *shmem = pv_render_shmem_create(size);
   if (!shmem)
      return NULL;
   VkMemoryHostPointerPropertiesEXT props = {
         .sType = VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT,
   };
   if (vk->vkGetMemoryHostPointerPropertiesEXT(
             dev->device, VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT, shmem->map,
             &props) != VK_SUCCESS ||
       !(props.memoryTypeBits & (1u << info->memoryTypeIndex))) {
      pv_render_shmem_unref(shmem);
      return NULL;
   }
   *import = (VkImportMemoryHostPointerInfoEXT){
         .sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT,
         .pNext = strip_chain(info->pNext),
         .handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT,
         .pHostPointer = shmem->map,
   };
   info->pNext = import;
   info->allocationSize = size;
   return shmem;
}

/* Counts size against the context's memory limit before the driver is asked. false (logged
 * once) when it would pass the limit: nothing is counted then. */
static bool charge_memory(struct pv_gpu_context *ctx, VkDeviceSize size)
{
   const uint64_t limit = ctx->gpu->limits.memory;
   uint64_t before = atomic_fetch_add(&ctx->device_memory_bytes, size);
   if (size <= limit && before <= limit - size)
      return true;
   atomic_fetch_sub(&ctx->device_memory_bytes, size);
   pv_limits_report(&ctx->limits_reported, PV_LIMIT_MEMORY, ctx->name, limit,
                    "allocations past it answer VK_ERROR_OUT_OF_DEVICE_MEMORY");
   return false;
}

static void allocate_memory(struct pv_venus_dispatch *d, struct pv_cmd_vkAllocateMemory *args)
{
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   struct pv_render_object *dev_obj = pv_render_hold(d, args->device_id, VK_OBJECT_TYPE_DEVICE);
   struct pv_render_device *dev = dev_obj ? dev_obj->data : NULL;
   VkMemoryAllocateInfo info = *args->pAllocateInfo;
   if (!dev || !args->pMemory || info.memoryTypeIndex >= dev->memory_properties.memoryTypeCount) {
      pv_cs_fail(d->reader, "vkAllocateMemory: bad device, id or memory type %u",
                 info.memoryTypeIndex);
      return;
   }
   const VkDeviceSize asked = info.allocationSize;
   if (!charge_memory(ctx, asked)) {
      args->ret = VK_ERROR_OUT_OF_DEVICE_MEMORY;
      return;
   }
   const uint64_t id = (uint64_t)(uintptr_t)*args->pMemory;
   if (!pv_render_reserve(d, &id, 1, &args->ret)) {
      atomic_fetch_sub(&ctx->device_memory_bytes, asked);
      return;
   }
   /* The guest sees host-visible only the types in dev->backed (the probe found that a
    * memfd can be imported there); the others it can only use as device memory. */
   const bool imported = dev->backed & (1u << info.memoryTypeIndex);
   VkImportMemoryHostPointerInfoEXT import;
   struct pv_render_shmem *shmem = imported ? import_shmem(d, dev, &info, &import) : NULL;
   if (imported && !shmem)
      pv_error("%s: memory type %u: no memfd of %llu bytes to import (out of memory, or the "
               "host refused an import its probe accepted)",
               ctx->name, info.memoryTypeIndex, (unsigned long long)asked);
   struct pv_render_memory *mem = !imported || shmem ? calloc(1, sizeof(*mem)) : NULL;
   VkDeviceMemory memory = VK_NULL_HANDLE;
   args->ret = mem ? ctx->vk->vkAllocateMemory(args->device, &info, NULL, &memory)
                   : VK_ERROR_OUT_OF_HOST_MEMORY;
   if (args->ret != VK_SUCCESS) {
      free(mem);
      pv_render_shmem_unref(shmem);
      pv_render_object_commit(ctx, VK_OBJECT_TYPE_DEVICE_MEMORY, id, 0, 0, 0, NULL);
      atomic_fetch_sub(&ctx->device_memory_bytes, asked);
      return;
   }
   /* Counted as allocated: an import rounds the size up to the host's alignment. */
   *mem = (struct pv_render_memory){memory, info.allocationSize, shmem, false};
   atomic_fetch_add(&ctx->device_memory_bytes, info.allocationSize - asked);
   /* Cannot fail: this command reserved the id. */
   pv_render_object_commit(ctx, VK_OBJECT_TYPE_DEVICE_MEMORY, id, (uint64_t)(uintptr_t)memory,
                           (uint64_t)(uintptr_t)args->device, 0, mem);
}

static void free_memory(struct pv_venus_dispatch *d, struct pv_cmd_vkFreeMemory *args)
{
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   if (!args->memory)
      return;
   ctx->vk->vkFreeMemory(args->device, args->memory, NULL);
   /* The guest's blob keeps the memfd pages alive if it still maps them
    * (docs/protocol/venus.md §10). */
   pv_render_object_unbind(ctx, args->memory_id);
}

/* Bit per memory type the host can import a memfd mapping of ours into, as allocations do. */
static uint32_t probe_import(const struct pv_vk_table *vk, VkDevice device, VkDeviceSize alignment)
{
   struct pv_render_shmem *shmem = pv_render_shmem_create(align_up(PV_PROBE_SIZE, alignment));
   if (!shmem)
      return 0;
   VkMemoryHostPointerPropertiesEXT props = {
         .sType = VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT,
   };
   if (vk->vkGetMemoryHostPointerPropertiesEXT(
             device, VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT, shmem->map, &props) !=
       VK_SUCCESS)
      props.memoryTypeBits = 0;
   pv_render_shmem_unref(shmem);
   return props.memoryTypeBits;
}

/* The guest asks for memory properties while it enumerates, long before it creates a device,
 * and vkGetMemoryHostPointerPropertiesEXT needs one: a device with one queue and the import
 * extension, made and destroyed here. It costs one device creation per physical device the
 * guest asks about, once per context: about 12 ms on lavapipe, 85 ms on NVIDIA's H200 driver.
 * Nothing cheaper is correct within a context: which types take a memfd only the driver knows,
 * and only through a device. (Asking at enumeration instead would cost the same, and would
 * be paid by guests that never ask about memory.) */
static uint32_t probe_with_own_device(const struct pv_vk_table *vk, VkPhysicalDevice physical,
                                      VkDeviceSize alignment)
{
   const float priority = 1.0f;
   const VkDeviceQueueCreateInfo queue = {
         .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
         .queueFamilyIndex = 0,
         .queueCount = 1,
         .pQueuePriorities = &priority,
   };
   const char *extension = VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME;
   const VkDeviceCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
         .queueCreateInfoCount = 1,
         .pQueueCreateInfos = &queue,
         .enabledExtensionCount = 1,
         .ppEnabledExtensionNames = &extension,
   };
   VkDevice device = VK_NULL_HANDLE;
   if (vk->vkCreateDevice(physical, &info, NULL, &device) != VK_SUCCESS)
      return 0;
   uint32_t bits = probe_import(vk, device, alignment);
   vk->vkDestroyDevice(device, NULL);
   return bits;
}

static VkDeviceSize host_pointer_alignment(const struct pv_vk_table *vk, VkPhysicalDevice physical)
{
   VkPhysicalDeviceExternalMemoryHostPropertiesEXT host = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT,
   };
   VkPhysicalDeviceProperties2 props = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
         .pNext = &host,
   };
   vk->vkGetPhysicalDeviceProperties2(physical, &props);
   return host.minImportedHostPointerAlignment;
}

/* Says once per physical device what the guest is not shown, and what we cannot mend. */
static void report_probe(struct pv_gpu_context *ctx, const VkPhysicalDeviceMemoryProperties *host,
                         const struct pv_render_physical_device *phys)
{
   const VkPhysicalDeviceMemoryProperties *guest = &phys->guest_memory;
   for (uint32_t i = 0; i < host->memoryTypeCount; i++) {
      if (host->memoryTypes[i].propertyFlags != guest->memoryTypes[i].propertyFlags)
         pv_info("%s: memory type %u (flags %#x) takes no memfd import: the guest gets it as "
                 "device memory only",
                 ctx->name, i, host->memoryTypes[i].propertyFlags);
   }
   if (pv_render_memtype_unbacked(guest, phys->backed))
      pv_error("%s: the host cannot import a memfd into any host-visible coherent memory type; "
               "the guest will not be able to map memory",
               ctx->name);
   if (!pv_render_memtype_order_valid(guest))
      pv_warn("%s: with host-visible flags hidden, the memory types no longer follow the spec's "
              "order; guests choosing the first match may choose slower memory",
              ctx->name);
}

/* The identity a probe's answer belongs to: the device and the driver build. */
static void probe_key(const struct pv_vk_table *vk, VkPhysicalDevice physical,
                      struct pv_render_import_probe *key)
{
   VkPhysicalDeviceIDProperties id = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES};
   VkPhysicalDeviceProperties2 props = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
         .pNext = &id,
   };
   vk->vkGetPhysicalDeviceProperties2(physical, &props);
   memcpy(key->uuid, id.deviceUUID, sizeof(key->uuid));
   key->driver_version = props.properties.driverVersion;
}

uint32_t pv_render_import_probe(struct pv_gpu *gpu, const struct pv_vk_table *vk,
                                VkPhysicalDevice physical, VkDevice device)
{
   struct pv_render_import_probe key;
   probe_key(vk, physical, &key);
   pthread_mutex_lock(&gpu->lock);
   for (uint32_t i = 0; i < gpu->import_probe_count; i++) {
      const struct pv_render_import_probe *p = &gpu->import_probes[i];
      if (memcmp(p->uuid, key.uuid, sizeof(key.uuid)) == 0 &&
          p->driver_version == key.driver_version) {
         pthread_mutex_unlock(&gpu->lock);
         return p->importable;
      }
   }
   pthread_mutex_unlock(&gpu->lock);
   VkDeviceSize alignment = host_pointer_alignment(vk, physical);
   key.importable = device ? probe_import(vk, device, alignment)
                           : probe_with_own_device(vk, physical, alignment);
   pthread_mutex_lock(&gpu->lock);
   if (gpu->import_probe_count < sizeof(gpu->import_probes) / sizeof(gpu->import_probes[0]))
      gpu->import_probes[gpu->import_probe_count++] = key;
   pthread_mutex_unlock(&gpu->lock);
   return key.importable;
}

static void probe(struct pv_venus_dispatch *d, struct pv_render_physical_device *phys,
                  VkPhysicalDevice physical, VkDevice device)
{
   const struct pv_vk_table *vk = pv_render_vk(d);
   VkPhysicalDeviceMemoryProperties host;
   vk->vkGetPhysicalDeviceMemoryProperties(physical, &host);
   phys->host_pointer =
         vk->vkGetMemoryHostPointerPropertiesEXT &&
         pv_render_host_has_extension(d, physical, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME);
   uint32_t importable = 0;
   if (phys->host_pointer) {
      phys->host_pointer_alignment = host_pointer_alignment(vk, physical);
      importable = pv_render_import_probe(pv_render_ctx(d)->gpu, vk, physical, device);
   }
   phys->backed = pv_render_memtype_filter(&host, importable, &phys->guest_memory);
   phys->probed = true;
   report_probe(pv_render_ctx(d), &host, phys);
}

/* The physical device's state, made on first use (any stream may be first). */
static struct pv_render_physical_device *physical_state(struct pv_gpu_context *ctx,
                                                        struct pv_render_object *obj)
{
   pthread_mutex_lock(&ctx->lock);
   if (!obj->data) {
      struct pv_render_physical_device *phys = calloc(1, sizeof(*phys));
      if (phys)
         pthread_mutex_init(&phys->lock, NULL);
      obj->data = phys;
   }
   struct pv_render_physical_device *phys = obj->data;
   pthread_mutex_unlock(&ctx->lock);
   return phys;
}

struct pv_render_physical_device *
pv_render_physical_device_probe(struct pv_venus_dispatch *d, uint64_t physical_id, VkDevice device)
{
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   struct pv_render_object *obj = pv_render_hold(d, physical_id, VK_OBJECT_TYPE_PHYSICAL_DEVICE);
   struct pv_render_physical_device *phys = obj ? physical_state(ctx, obj) : NULL;
   if (!phys)
      return NULL;
   /* Once probed the state never changes, so readers need the lock only to see it set. */
   pthread_mutex_lock(&phys->lock);
   if (!phys->probed)
      probe(d, phys, (VkPhysicalDevice)(uintptr_t)obj->handle, device);
   pthread_mutex_unlock(&phys->lock);
   return phys;
}

void pv_render_physical_device_destroy(struct pv_render_physical_device *phys)
{
   if (!phys)
      return;
   pthread_mutex_destroy(&phys->lock);
   free(phys);
}

static void get_memory_properties(struct pv_venus_dispatch *d,
                                  struct pv_cmd_vkGetPhysicalDeviceMemoryProperties *args)
{
   struct pv_render_physical_device *phys =
         pv_render_physical_device_probe(d, args->physicalDevice_id, VK_NULL_HANDLE);
   if (!phys || !args->pMemoryProperties) {
      pv_cs_fail(d->reader, "vkGetPhysicalDeviceMemoryProperties: no reply or out of memory");
      return;
   }
   *args->pMemoryProperties = phys->guest_memory;
}

static void get_memory_properties2(struct pv_venus_dispatch *d,
                                   struct pv_cmd_vkGetPhysicalDeviceMemoryProperties2 *args)
{
   struct pv_render_physical_device *phys =
         pv_render_physical_device_probe(d, args->physicalDevice_id, VK_NULL_HANDLE);
   if (!phys || !args->pMemoryProperties) {
      pv_cs_fail(d->reader, "vkGetPhysicalDeviceMemoryProperties2: no reply or out of memory");
      return;
   }
   /* The host fills the chain (heap budgets); the types are the guest's view. */
   pv_render_vk(d)->vkGetPhysicalDeviceMemoryProperties2(args->physicalDevice,
                                                         args->pMemoryProperties);
   args->pMemoryProperties->memoryProperties = phys->guest_memory;
}

void pv_render_memory_init_dispatch(struct pv_venus_handlers *h)
{
   h->vkAllocateMemory = allocate_memory;
   h->vkFreeMemory = free_memory;
   h->vkGetPhysicalDeviceMemoryProperties = get_memory_properties;
   h->vkGetPhysicalDeviceMemoryProperties2 = get_memory_properties2;
}
