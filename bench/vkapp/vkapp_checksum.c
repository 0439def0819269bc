/* FNV-1a 64, the checksum native and virtualized runs are compared by. */
#include "pv_vkapp.h"

uint64_t pv_fnv1a64(uint64_t hash, const void *data, size_t size)
{
   const unsigned char *bytes = data;
   for (size_t i = 0; i < size; i++) {
      hash ^= bytes[i];
      hash *= 0x100000001b3ull;
   }
   return hash;
}
