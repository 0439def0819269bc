/* Descriptor writes are checked before the host driver sees them. A driver reads the array
 * that a write's descriptor type names without looking (its presence is the application's
 * duty), while Venus encodes each of a write's three arrays with a size of its own: a guest
 * can name a type and send that type's array empty, and lavapipe crashed on a corrupted
 * vkUpdateDescriptorSets in e2e-stress. So each write must carry what its type reads; one
 * that does not, or names a type this renderer does not know, fails the stream (the commands
 * have no result to answer with). Not checked yet: a write against its set's layout (binding,
 * type, array range; docs/security.md, Open findings). */
#include "render/pv_render.h"

static void (*update_sets_next)(struct pv_venus_dispatch *d,
                                struct pv_cmd_vkUpdateDescriptorSets *args);
static void (*push_set_next)(struct pv_venus_dispatch *d,
                             struct pv_cmd_vkCmdPushDescriptorSet *args);

static bool inline_block_present(const VkWriteDescriptorSet *w)
{
   const VkWriteDescriptorSetInlineUniformBlock *block = pv_render_find_in_chain(
         w->pNext, VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET_INLINE_UNIFORM_BLOCK);
   /* An inline block's descriptorCount is its size in bytes. */
   return block && block->pData && block->dataSize == w->descriptorCount;
}

/* NULL if the write carries what its type reads, else what it lacks. */
static const char *write_lacks(const VkWriteDescriptorSet *w)
{
   if (w->descriptorCount == 0)
      return NULL; /* reads nothing (and is invalid, but harmless) */
   switch (w->descriptorType) {
   case VK_DESCRIPTOR_TYPE_SAMPLER:
   case VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER:
   case VK_DESCRIPTOR_TYPE_SAMPLED_IMAGE:
   case VK_DESCRIPTOR_TYPE_STORAGE_IMAGE:
   case VK_DESCRIPTOR_TYPE_INPUT_ATTACHMENT:
      return w->pImageInfo ? NULL : "image infos";
   case VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER:
   case VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER:
      return w->pTexelBufferView ? NULL : "buffer views";
   case VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER:
   case VK_DESCRIPTOR_TYPE_STORAGE_BUFFER:
   case VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER_DYNAMIC:
   case VK_DESCRIPTOR_TYPE_STORAGE_BUFFER_DYNAMIC:
      return w->pBufferInfo ? NULL : "buffer infos";
   case VK_DESCRIPTOR_TYPE_INLINE_UNIFORM_BLOCK:
      return inline_block_present(w) ? NULL : "an inline uniform block of its size";
   default:
      return "a descriptor type this renderer knows";
   }
}

static bool writes_complete(struct pv_venus_dispatch *d, uint32_t count,
                            const VkWriteDescriptorSet *writes)
{
   if (count && !writes)
      return pv_cs_fail(d->reader, "%u writes and no array of them", count);
   for (uint32_t i = 0; i < count; i++) {
      const char *lacks = write_lacks(&writes[i]);
      if (lacks)
         return pv_cs_fail(d->reader, "write %u (descriptor type %d) lacks %s", i,
                           writes[i].descriptorType, lacks);
   }
   return true;
}

static void update_sets(struct pv_venus_dispatch *d, struct pv_cmd_vkUpdateDescriptorSets *args)
{
   if (writes_complete(d, args->descriptorWriteCount, args->pDescriptorWrites))
      update_sets_next(d, args);
}

static void push_set(struct pv_venus_dispatch *d, struct pv_cmd_vkCmdPushDescriptorSet *args)
{
   if (writes_complete(d, args->descriptorWriteCount, args->pDescriptorWrites))
      push_set_next(d, args);
}

void pv_render_descriptor_init_dispatch(struct pv_venus_handlers *h)
{
   update_sets_next = h->vkUpdateDescriptorSets;
   h->vkUpdateDescriptorSets = update_sets;
   push_set_next = h->vkCmdPushDescriptorSet;
   h->vkCmdPushDescriptorSet = push_set;
}
