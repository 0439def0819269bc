/* A colour target drawn with flat-coloured quads: what the query and indirect-draw programs
 * render into, so their checks can read known pixels back. */
#ifndef PV_TEST_FLAT_H
#define PV_TEST_FLAT_H

#include "pv_vkapp.h"

struct pv_test_flat_vertex {
   float pos[2]; /* clip space */
   uint8_t color[4];
};

struct pv_test_flat {
   struct pv_image color; /* RGBA8, size x size, colour attachment and transfer source */
   VkRenderPass pass;
   VkFramebuffer framebuffer;
   VkPipelineLayout layout; /* empty */
   VkPipeline pipeline;     /* quad.vert + flat.frag over struct pv_test_flat_vertex */
};

void pv_test_flat_init(struct pv_vkapp *app, struct pv_test_flat *flat, uint32_t size);
void pv_test_flat_finish(struct pv_vkapp *app, struct pv_test_flat *flat);

#endif
