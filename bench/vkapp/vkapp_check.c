/* Fatal errors: a failed Vulkan call or a missing resource ends the program with status 2. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "pv_vkapp.h"

const char *pv_vk_result_name(VkResult result)
{
   switch (result) {
#define PV_RESULT_CASE(r)                                                                          \
   case r:                                                                                         \
      return #r
      PV_RESULT_CASE(VK_SUCCESS);
      PV_RESULT_CASE(VK_NOT_READY);
      PV_RESULT_CASE(VK_TIMEOUT);
      PV_RESULT_CASE(VK_EVENT_SET);
      PV_RESULT_CASE(VK_EVENT_RESET);
      PV_RESULT_CASE(VK_INCOMPLETE);
      PV_RESULT_CASE(VK_ERROR_OUT_OF_HOST_MEMORY);
      PV_RESULT_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY);
      PV_RESULT_CASE(VK_ERROR_INITIALIZATION_FAILED);
      PV_RESULT_CASE(VK_ERROR_DEVICE_LOST);
      PV_RESULT_CASE(VK_ERROR_MEMORY_MAP_FAILED);
      PV_RESULT_CASE(VK_ERROR_LAYER_NOT_PRESENT);
      PV_RESULT_CASE(VK_ERROR_EXTENSION_NOT_PRESENT);
      PV_RESULT_CASE(VK_ERROR_FEATURE_NOT_PRESENT);
      PV_RESULT_CASE(VK_ERROR_INCOMPATIBLE_DRIVER);
      PV_RESULT_CASE(VK_ERROR_TOO_MANY_OBJECTS);
      PV_RESULT_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED);
      PV_RESULT_CASE(VK_ERROR_FRAGMENTED_POOL);
      PV_RESULT_CASE(VK_ERROR_UNKNOWN);
      PV_RESULT_CASE(VK_ERROR_OUT_OF_POOL_MEMORY);
      PV_RESULT_CASE(VK_ERROR_INVALID_EXTERNAL_HANDLE);
      PV_RESULT_CASE(VK_ERROR_FRAGMENTATION);
      PV_RESULT_CASE(VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS);
#undef PV_RESULT_CASE
   default:
      return "unknown VkResult";
   }
}

_Noreturn void pv_vk_fail(const char *call, VkResult result, const char *file, int line)
{
   fprintf(stderr, "%s:%d: %s failed: %s (%d)\n", file, line, call, pv_vk_result_name(result),
           (int)result);
   if (result == VK_TIMEOUT)
      fprintf(stderr, "pv: gave up waiting after %llu s\n", PV_VK_TIMEOUT_NS / 1000000000ull);
   exit(2);
}

_Noreturn void pv_fail(const char *format, ...)
{
   va_list args;
   va_start(args, format);
   fputs("pv: ", stderr);
   vfprintf(stderr, format, args);
   fputc('\n', stderr);
   va_end(args);
   exit(2);
}

void *pv_alloc(size_t size)
{
   void *p = malloc(size ? size : 1);
   if (!p)
      pv_fail("out of memory allocating %zu bytes", size);
   return p;
}
