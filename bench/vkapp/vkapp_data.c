/* Deterministic test data and exact element-by-element checks that say where they failed. */
#include <stdio.h>

#include "pv_vkapp.h"

uint32_t pv_hash32(uint32_t x)
{
   /* "lowbias32" (Chris Wellons): cheap, and every input bit reaches every output bit. */
   x ^= x >> 16;
   x *= 0x7feb352du;
   x ^= x >> 15;
   x *= 0x846ca68bu;
   x ^= x >> 16;
   return x;
}

void pv_pattern_fill(void *dst, size_t size, uint32_t seed)
{
   uint32_t *words = dst;
   for (size_t i = 0; i < size / 4; i++)
      words[i] = pv_hash32((uint32_t)i ^ seed);
}

static bool report(const char *what, size_t mismatches, size_t first, uint32_t got,
                   uint32_t expected)
{
   if (mismatches == 0)
      return true;
   fprintf(stderr, "pv: %s: %zu wrong, first at element %zu: 0x%08x, expected 0x%08x\n", what,
           mismatches, first, got, expected);
   return false;
}

bool pv_check_equal_u32(const char *what, const uint32_t *got, const uint32_t *expected,
                        size_t count)
{
   size_t mismatches = 0, first = 0;
   for (size_t i = 0; i < count; i++) {
      if (got[i] != expected[i] && mismatches++ == 0)
         first = i;
   }
   return report(what, mismatches, first, mismatches ? got[first] : 0,
                 mismatches ? expected[first] : 0);
}

bool pv_check_fill_u32(const char *what, const uint32_t *got, uint32_t expected, size_t count)
{
   size_t mismatches = 0, first = 0;
   for (size_t i = 0; i < count; i++) {
      if (got[i] != expected && mismatches++ == 0)
         first = i;
   }
   return report(what, mismatches, first, mismatches ? got[first] : 0, expected);
}
