/* The benchmark clock: CLOCK_MONOTONIC, which NTP slews never step. */
#include <time.h>

#include "pv_vkapp.h"

uint64_t pv_time_ns(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
