/* The six clear colours of the clear and batch workloads and the clear test. */
#include "pv_vkapp.h"

const struct pv_color pv_colors[PV_COLOR_COUNT] = {
      {"red", {1, 0, 0, 1}},    {"green", {0, 1, 0, 1}},   {"blue", {0, 0, 1, 1}},
      {"yellow", {1, 1, 0, 1}}, {"magenta", {1, 0, 1, 1}}, {"cyan", {0, 1, 1, 1}},
};

uint32_t pv_color_bgra8(const struct pv_color *color)
{
   /* Bytes B, G, R, A in memory: a little-endian uint32 has B lowest. */
   uint32_t b = color->rgba[2] != 0 ? 0xffu : 0, g = color->rgba[1] != 0 ? 0xffu : 0;
   uint32_t r = color->rgba[0] != 0 ? 0xffu : 0, a = color->rgba[3] != 0 ? 0xffu : 0;
   return b | g << 8 | r << 16 | a << 24;
}
