/* Descriptor updates are checked before the host driver sees them: drivers write where an
 * update points without looking (its validity is the application's duty), and lavapipe
 * crashed on a corrupted vkUpdateDescriptorSets in e2e-stress and in fuzz_exec.
 * - Venus encodes a write's three arrays (image infos, buffer infos, texel buffer views) with
 *   a size each, so a guest can name a type and send that type's array empty: each write, and
 *   each push descriptor, must carry what its type reads.
 * - A write or copy must fit its sets' layouts: the binding there, of the write's type, and
 *   the elements within it and the bindings it rolls over into (VUID-VkWriteDescriptorSet-
 *   dstArrayElement-00321, VUID-VkCopyDescriptorSet-srcArrayElement-00346/-dstArrayElement-
 *   00347). Each set layout keeps its bindings, and each set a copy with its own variable
 *   count; sets are found by host handle through the object table's index. A push
 *   descriptor is checked against the set layout its pipeline layout has at that set.
 * One that does not fails the stream (the commands have no result to answer with). */
#include <stdlib.h>

#include "render/pv_render.h"

static void (*update_sets_next)(struct pv_venus_dispatch *d,
                                struct pv_cmd_vkUpdateDescriptorSets *args);
static void (*push_set_next)(struct pv_venus_dispatch *d,
                             struct pv_cmd_vkCmdPushDescriptorSet *args);
static void (*create_set_layout_next)(struct pv_venus_dispatch *d,
                                      struct pv_cmd_vkCreateDescriptorSetLayout *args);
static void (*allocate_sets_next)(struct pv_venus_dispatch *d,
                                  struct pv_cmd_vkAllocateDescriptorSets *args);

static int by_binding(const void *a, const void *b)
{
   const struct pv_render_binding *x = a, *y = b;
   if (x->set != y->set)
      return x->set > y->set ? 1 : -1;
   return (x->binding > y->binding) - (x->binding < y->binding);
}

const struct pv_render_binding *pv_render_find_binding(const struct pv_render_binding *bindings,
                                                       size_t count, uint32_t set, uint32_t binding)
{
   const struct pv_render_binding key = {.set = set, .binding = binding};
   return count ? bsearch(&key, bindings, count, sizeof(key), by_binding) : NULL;
}

/* The bindings with descriptors, sorted; a binding number twice is refused (VUID-
 * VkDescriptorSetLayoutCreateInfo-binding-00279), as a write could not tell which it means. */
static struct pv_render_binding *layout_bindings(struct pv_venus_dispatch *d,
                                                 const VkDescriptorSetLayoutCreateInfo *info,
                                                 size_t *count)
{
   const VkDescriptorSetLayoutBindingFlagsCreateInfo *flags = pv_render_find_in_chain(
         info->pNext, VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_BINDING_FLAGS_CREATE_INFO);
   if (flags && (flags->bindingCount != info->bindingCount || !flags->pBindingFlags))
      flags = NULL; /* 0 flags for every binding (VUID-...-bindingCount-03002 otherwise) */
   struct pv_render_binding *bindings = malloc((info->bindingCount + 1) * sizeof(*bindings));
   if (!bindings) {
      pv_cs_fail(d->reader, "out of memory");
      return NULL;
   }
   size_t n = 0;
   for (uint32_t i = 0; info->pBindings && i < info->bindingCount; i++) {
      const VkDescriptorSetLayoutBinding *b = &info->pBindings[i];
      if (b->descriptorCount)
         bindings[n++] = (struct pv_render_binding){
               0, b->binding, b->descriptorType, b->descriptorCount,
               flags && (flags->pBindingFlags[i] &
                         VK_DESCRIPTOR_BINDING_VARIABLE_DESCRIPTOR_COUNT_BIT)};
   }
   qsort(bindings, n, sizeof(*bindings), by_binding);
   for (size_t i = 1; i < n; i++) {
      if (bindings[i].binding == bindings[i - 1].binding) {
         pv_cs_fail(d->reader, "binding %u appears twice", bindings[i].binding);
         free(bindings);
         return NULL;
      }
   }
   *count = n;
   return bindings;
}

static void create_set_layout(struct pv_venus_dispatch *d,
                              struct pv_cmd_vkCreateDescriptorSetLayout *args)
{
   uint64_t id = args->pSetLayout ? (uint64_t)(uintptr_t)*args->pSetLayout : 0;
   size_t count = 0;
   struct pv_render_binding *bindings =
         args->pCreateInfo ? layout_bindings(d, args->pCreateInfo, &count) : NULL;
   if (args->pCreateInfo && !bindings)
      return;
   create_set_layout_next(d, args);
   if (args->ret == VK_SUCCESS && bindings &&
       !pv_render_object_set_flat(pv_render_ctx(d), id, VK_OBJECT_TYPE_DESCRIPTOR_SET_LAYOUT,
                                  bindings, count * sizeof(*bindings)))
      pv_cs_fail(d->reader, "out of memory");
   free(bindings);
}

/* A new set keeps its layout's bindings, the variable-count one cut to the set's count (0
 * when the allocation gives none). */
static bool keep_set_bindings(struct pv_venus_dispatch *d, uint64_t set_id,
                              VkDescriptorSetLayout layout, uint32_t variable_count)
{
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   struct pv_render_flat *bindings =
         pv_render_object_flat_copy(ctx, VK_OBJECT_TYPE_DESCRIPTOR_SET_LAYOUT, (uint64_t)layout);
   if (!bindings)
      return pv_cs_fail(d->reader, "set layout without recorded bindings");
   struct pv_render_binding *b = (struct pv_render_binding *)bindings->bytes;
   for (size_t i = 0; i < bindings->size / sizeof(*b); i++) {
      if (b[i].variable && b[i].count > variable_count)
         b[i].count = variable_count;
   }
   bool kept = pv_render_object_set_flat(ctx, set_id, VK_OBJECT_TYPE_DESCRIPTOR_SET,
                                         bindings->bytes, bindings->size);
   free(bindings);
   return kept || pv_cs_fail(d->reader, "out of memory");
}

static void allocate_sets(struct pv_venus_dispatch *d, struct pv_cmd_vkAllocateDescriptorSets *args)
{
   const VkDescriptorSetAllocateInfo *info = args->pAllocateInfo;
   const uint32_t n = info && args->pDescriptorSets ? info->descriptorSetCount : 0;
   uint64_t *ids = pv_cs_alloc_array(d->reader, n, sizeof(*ids));
   for (uint32_t i = 0; ids && i < n; i++)
      ids[i] = (uint64_t)(uintptr_t)args->pDescriptorSets[i];
   allocate_sets_next(d, args);
   if (args->ret != VK_SUCCESS || !ids)
      return;
   const VkDescriptorSetVariableDescriptorCountAllocateInfo *variable = pv_render_find_in_chain(
         info->pNext, VK_STRUCTURE_TYPE_DESCRIPTOR_SET_VARIABLE_DESCRIPTOR_COUNT_ALLOCATE_INFO);
   bool counted = variable && variable->descriptorSetCount == n && variable->pDescriptorCounts;
   for (uint32_t i = 0; i < n; i++) {
      if (!keep_set_bindings(d, ids[i], info->pSetLayouts[i],
                             counted ? variable->pDescriptorCounts[i] : 0))
         return;
   }
}

/* NULL if count descriptors from element on of binding b fit it and the bindings after it up
 * to end (of the same type: an update rolls over into the next binding that has descriptors;
 * an inline uniform block does not roll over), else what does not fit. */
static const char *range_fault(const struct pv_render_binding *b,
                               const struct pv_render_binding *end, uint32_t element,
                               uint32_t count)
{
   if (element >= b->count)
      return "its first element is beyond its binding";
   uint64_t room = b->count - element;
   for (const struct pv_render_binding *next = b + 1;
        room < count && next < end && next->type == b->type &&
        b->type != VK_DESCRIPTOR_TYPE_INLINE_UNIFORM_BLOCK;
        next++)
      room += next->count;
   return room < count
                ? "it has more descriptors than its binding, and those it rolls over into, hold"
                : NULL;
}

/* NULL if the update of count descriptors at (binding, element) of the bindings fits them,
 * with type (NULL from a copy's source: any) its binding's, else what is wrong. *type_out: the
 * binding's. */
static const char *bindings_fault(const struct pv_render_binding *bindings, size_t n, uint32_t set,
                                  uint32_t binding, uint32_t element, uint32_t count,
                                  const VkDescriptorType *type, VkDescriptorType *type_out)
{
   const struct pv_render_binding *b = pv_render_find_binding(bindings, n, set, binding);
   if (!b)
      return "its set's layout has no descriptors at that binding";
   if (type_out)
      *type_out = b->type;
   if (type && *type != b->type && b->type != VK_DESCRIPTOR_TYPE_MUTABLE_EXT)
      return "its descriptor type is not its binding's";
   const struct pv_render_binding *end = b + 1;
   while (end < bindings + n && end->set == set)
      end++;
   return range_fault(b, end, element, count);
}

/* As bindings_fault, for a live set of this device. */
static const char *update_fault(struct pv_venus_dispatch *d, VkDevice device, VkDescriptorSet set,
                                uint32_t binding, uint32_t element, uint32_t count,
                                const VkDescriptorType *type, VkDescriptorType *type_out)
{
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   struct pv_render_object *obj = pv_render_object_get_by_handle(ctx, VK_OBJECT_TYPE_DESCRIPTOR_SET,
                                                                 (uint64_t)set, (uint64_t)device);
   const struct pv_render_flat *bindings = obj ? obj->data : NULL;
   const char *fault = bindings ? bindings_fault((const struct pv_render_binding *)bindings->bytes,
                                                 bindings->size / sizeof(struct pv_render_binding),
                                                 0, binding, element, count, type, type_out)
                                : "its set has no recorded bindings";
   pv_render_object_put(ctx, obj);
   return fault;
}

static bool updates_fit(struct pv_venus_dispatch *d,
                        const struct pv_cmd_vkUpdateDescriptorSets *args)
{
   for (uint32_t i = 0; i < args->descriptorWriteCount; i++) {
      const VkWriteDescriptorSet *w = &args->pDescriptorWrites[i];
      const char *fault =
            w->descriptorCount
                  ? update_fault(d, args->device, w->dstSet, w->dstBinding, w->dstArrayElement,
                                 w->descriptorCount, &w->descriptorType, NULL)
                  : NULL;
      if (fault)
         return pv_cs_fail(d->reader, "write %u (binding %u, element %u, %u descriptors): %s", i,
                           w->dstBinding, w->dstArrayElement, w->descriptorCount, fault);
   }
   if (args->descriptorCopyCount && !args->pDescriptorCopies)
      return pv_cs_fail(d->reader, "%u copies and no array of them", args->descriptorCopyCount);
   for (uint32_t i = 0; i < args->descriptorCopyCount; i++) {
      const VkCopyDescriptorSet *c = &args->pDescriptorCopies[i];
      VkDescriptorType type = VK_DESCRIPTOR_TYPE_MAX_ENUM;
      const char *fault = NULL;
      if (c->descriptorCount)
         fault = update_fault(d, args->device, c->srcSet, c->srcBinding, c->srcArrayElement,
                              c->descriptorCount, NULL, &type);
      if (!fault && c->descriptorCount)
         fault = update_fault(d, args->device, c->dstSet, c->dstBinding, c->dstArrayElement,
                              c->descriptorCount, &type, NULL);
      if (fault)
         return pv_cs_fail(d->reader, "copy %u (%u descriptors): %s", i, c->descriptorCount, fault);
   }
   return true;
}

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
   if (writes_complete(d, args->descriptorWriteCount, args->pDescriptorWrites) &&
       updates_fit(d, args))
      update_sets_next(d, args);
}

/* Push descriptors update the set of the pipeline layout's set layout at that index. */
static bool pushes_fit(struct pv_venus_dispatch *d,
                       const struct pv_cmd_vkCmdPushDescriptorSet *args)
{
   struct pv_gpu_context *ctx = pv_render_ctx(d);
   struct pv_render_object *layout =
         pv_render_object_get(ctx, args->layout_id, VK_OBJECT_TYPE_PIPELINE_LAYOUT);
   const struct pv_render_flat *bindings = layout ? layout->data : NULL;
   const char *fault = bindings ? NULL : "its pipeline layout has no recorded bindings";
   uint32_t i = 0;
   for (; !fault && i < args->descriptorWriteCount; i++) {
      const VkWriteDescriptorSet *w = &args->pDescriptorWrites[i];
      if (w->descriptorCount)
         fault = bindings_fault((const struct pv_render_binding *)bindings->bytes,
                                bindings->size / sizeof(struct pv_render_binding), args->set,
                                w->dstBinding, w->dstArrayElement, w->descriptorCount,
                                &w->descriptorType, NULL);
   }
   pv_render_object_put(ctx, layout);
   return !fault ||
          pv_cs_fail(d->reader, "push of set %u, write %u: %s", args->set, i ? i - 1 : 0, fault);
}

static void push_set(struct pv_venus_dispatch *d, struct pv_cmd_vkCmdPushDescriptorSet *args)
{
   if (writes_complete(d, args->descriptorWriteCount, args->pDescriptorWrites) &&
       pushes_fit(d, args))
      push_set_next(d, args);
}

void pv_render_descriptor_init_dispatch(struct pv_venus_handlers *h)
{
   update_sets_next = h->vkUpdateDescriptorSets;
   h->vkUpdateDescriptorSets = update_sets;
   push_set_next = h->vkCmdPushDescriptorSet;
   h->vkCmdPushDescriptorSet = push_set;
   create_set_layout_next = h->vkCreateDescriptorSetLayout;
   h->vkCreateDescriptorSetLayout = create_set_layout;
   allocate_sets_next = h->vkAllocateDescriptorSets;
   h->vkAllocateDescriptorSets = allocate_sets;
}
