/* The Venus capset we offer and the extensions it promises the guest
 * (docs/protocol/venus.md §9). */
#include <string.h>

#include "render/pv_render.h"

/* Venus wire format 1, VK_EXT_command_serialization 1, VK_MESA_venus_protocol 2 (we decode
 * VkRingPriorityInfoMESA, which spec 2 enables). */
#define PV_WIRE_FORMAT_VERSION        1
#define PV_COMMAND_SERIALIZATION_SPEC 1
#define PV_VENUS_PROTOCOL_SPEC        2

struct pv_venus_capset {
   uint32_t wire_format_version;
   uint32_t vk_xml_version;
   uint32_t vk_ext_command_serialization_spec_version;
   uint32_t vk_mesa_venus_protocol_spec_version;
   uint32_t supports_blob_id_0;
   uint32_t vk_extension_mask1[32];
   uint32_t allow_vk_wait_syncs;
   uint32_t supports_multiple_timelines;
   uint32_t use_guest_vram;
};

_Static_assert(sizeof(struct pv_venus_capset) == PV_GPU_CAPSET_MAX_SIZE, "capset is 160 bytes");

void pv_render_capset_init(uint8_t out[PV_GPU_CAPSET_MAX_SIZE])
{
   struct pv_venus_capset caps = {
         .wire_format_version = PV_WIRE_FORMAT_VERSION,
         .vk_xml_version = PV_VENUS_VK_XML_VERSION,
         .vk_ext_command_serialization_spec_version = PV_COMMAND_SERIALIZATION_SPEC,
         .vk_mesa_venus_protocol_spec_version = PV_VENUS_PROTOCOL_SPEC,
         .supports_blob_id_0 = 1,
         .allow_vk_wait_syncs = 1,
         .supports_multiple_timelines = 1,
         .use_guest_vram = 0,
   };
   /* Bit 0 says the mask is valid; then one bit per Khronos extension number we decode. */
   caps.vk_extension_mask1[0] = 1;
   for (size_t i = 0; i < pv_venus_extension_count; i++) {
      uint32_t n = pv_venus_extensions[i].number;
      if (!pv_venus_extensions[i].uncarried)
         caps.vk_extension_mask1[n / 32] |= 1u << (n % 32);
   }
   memcpy(out, &caps, sizeof(caps));
}

uint32_t pv_render_extension_spec_cap(const char *name)
{
   for (size_t i = 0; i < pv_venus_extension_count; i++) {
      if (strcmp(pv_venus_extensions[i].name, name) == 0)
         return pv_venus_extensions[i].uncarried ? 0 : pv_venus_extensions[i].spec_version;
   }
   return 0;
}
