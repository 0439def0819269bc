/* pv_gpu_prepare: a host instance made before any guest asks, and handed to the first
 * vkCreateInstance that would create exactly the same one. */
#include <stdlib.h>
#include <string.h>

#include "render/pv_render.h"
#include "util/pv_log.h"
#include "util/pv_os.h"

struct pv_render_prepared {
   VkInstance instance;
   VkApplicationInfo app;
   VkInstanceCreateInfo info; /* what it was created with; pApplicationInfo points to app */
   struct pv_vk_table vk;     /* its entry points */
};

bool pv_gpu_prepare(struct pv_gpu *gpu)
{
   if (atomic_load(&gpu->prepared))
      return true;
   uint64_t start = pv_os_now_ns();
   struct pv_render_prepared *p = calloc(1, sizeof(*p));
   if (!p)
      return false;
   /* The instance a guest naming no application gets: the stock venus driver forwards the
    * application's own VkApplicationInfo, which is not known yet. */
   pv_render_instance_host_info(NULL, &p->app, &p->info);
   VkResult result = vkCreateInstance(&p->info, NULL, &p->instance);
   if (result != VK_SUCCESS) {
      pv_warn("pv_gpu_prepare: host vkCreateInstance failed: %d; guests create their own", result);
      free(p);
      return false;
   }
   pv_vk_table_load(&p->vk, vkGetInstanceProcAddr, p->instance);
   /* Drivers open their devices on the first enumeration (lavapipe builds its screen then):
    * that too is done before the guest comes. The loader keeps the list for the guest's own
    * enumeration, which returns the same devices in the same order. */
   uint32_t count = 0;
   if (p->vk.vkEnumeratePhysicalDevices(p->instance, &count, NULL) == VK_SUCCESS && count) {
      VkPhysicalDevice *devices = calloc(count, sizeof(*devices));
      if (devices && p->vk.vkEnumeratePhysicalDevices(p->instance, &count, devices) >= 0 &&
          p->vk.vkGetMemoryHostPointerPropertiesEXT) {
         /* The memory probe's answer outlives this instance: every guest of this worker
          * reuses it, whichever instance it gets. */
         for (uint32_t i = 0; i < count; i++)
            pv_render_import_probe(gpu, &p->vk, devices[i], VK_NULL_HANDLE);
      }
      free(devices);
   }
   atomic_store(&gpu->prepared, p);
   pv_info("host instance prepared in %.1f ms (%u physical devices)",
           (double)(pv_os_now_ns() - start) / 1e6, count);
   return true;
}

struct pv_render_prepared *pv_render_prepared_take(struct pv_gpu *gpu)
{
   return atomic_exchange(&gpu->prepared, NULL);
}

/* NULL only equals NULL: an application name of "" is not the same as none. */
static bool same_string(const char *a, const char *b)
{
   return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_names(uint32_t count_a, const char *const *a, uint32_t count_b,
                       const char *const *b)
{
   if (count_a != count_b)
      return false;
   for (uint32_t i = 0; i < count_a; i++) {
      if (!same_string(a[i], b[i]))
         return false;
   }
   return true;
}

static bool same_app(const VkApplicationInfo *a, const VkApplicationInfo *b)
{
   if (!a || !b)
      return a == b;
   return a->sType == b->sType && !a->pNext && !b->pNext &&
          same_string(a->pApplicationName, b->pApplicationName) &&
          a->applicationVersion == b->applicationVersion &&
          same_string(a->pEngineName, b->pEngineName) && a->engineVersion == b->engineVersion &&
          a->apiVersion == b->apiVersion;
}

/* Every field the driver sees. Drivers may key behaviour on the application's identity
 * (Mesa's driconf, vendors' application profiles), so names and versions count too. A pNext
 * chain is never the same: the prepared instance has none, and chains are not compared. */
bool pv_render_prepared_matches(const struct pv_render_prepared *prepared,
                                const VkInstanceCreateInfo *info)
{
   if (!prepared)
      return false;
   const VkInstanceCreateInfo *mine = &prepared->info;
   return info->sType == mine->sType && !info->pNext && !mine->pNext &&
          info->flags == mine->flags && same_app(info->pApplicationInfo, mine->pApplicationInfo) &&
          same_names(info->enabledLayerCount, info->ppEnabledLayerNames, mine->enabledLayerCount,
                     mine->ppEnabledLayerNames) &&
          same_names(info->enabledExtensionCount, info->ppEnabledExtensionNames,
                     mine->enabledExtensionCount, mine->ppEnabledExtensionNames);
}

VkInstance pv_render_prepared_adopt(struct pv_render_prepared *prepared, struct pv_gpu_context *ctx)
{
   VkInstance instance = prepared->instance;
   if (!ctx->vk) {
      ctx->vk_storage = prepared->vk;
      ctx->vk = &ctx->vk_storage;
   }
   free(prepared);
   return instance;
}

void pv_render_prepared_destroy(struct pv_render_prepared *prepared)
{
   if (!prepared)
      return;
   prepared->vk.vkDestroyInstance(prepared->instance, NULL);
   free(prepared);
}
