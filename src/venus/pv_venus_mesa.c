/* Decoders of the Venus protocol's own commands (VK_MESA_venus_protocol,
 * docs/protocol/venus.md §6). */
#include "venus/pv_venus_mesa.h"

#define PV_STYPE_RING_CREATE_INFO_MESA   1000384000
#define PV_STYPE_RING_MONITOR_INFO_MESA  1000384006
#define PV_STYPE_RING_PRIORITY_INFO_MESA 1000384007

static void read_stream_desc(struct pv_cs_reader *r, struct pv_venus_stream_desc *desc)
{
   desc->resource_id = pv_cs_read_u32(r);
   desc->offset = pv_cs_read_u64(r);
   desc->size = pv_cs_read_u64(r);
}

bool pv_decode_cmd_vkSetReplyCommandStreamMESA(struct pv_cs_reader *r,
                                               struct pv_cmd_vkSetReplyCommandStreamMESA *a)
{
   pv_cs_read_required_pointer(r);
   read_stream_desc(r, &a->stream);
   return !r->failed;
}

bool pv_decode_cmd_vkSeekReplyCommandStreamMESA(struct pv_cs_reader *r,
                                                struct pv_cmd_vkSeekReplyCommandStreamMESA *a)
{
   a->position = pv_cs_read_u64(r);
   return !r->failed;
}

bool pv_decode_cmd_vkExecuteCommandStreamsMESA(struct pv_cs_reader *r,
                                               struct pv_cmd_vkExecuteCommandStreamsMESA *a)
{
   a->stream_count = pv_cs_read_u32(r);
   uint64_t n = pv_cs_read_array_size(r, a->stream_count);
   if (n == 0)
      return pv_cs_fail(r, "vkExecuteCommandStreamsMESA without streams");
   struct pv_venus_stream_desc *streams = pv_cs_alloc_array(r, n, sizeof(*streams));
   for (uint64_t i = 0; streams && i < n; i++)
      read_stream_desc(r, &streams[i]);
   a->streams = streams;

   n = pv_cs_read_array_size(r, a->stream_count);
   uint64_t *positions = pv_cs_alloc_array(r, n, sizeof(*positions));
   for (uint64_t i = 0; positions && i < n; i++)
      positions[i] = pv_cs_read_u64(r);
   a->reply_positions = positions;

   /* Dependencies order streams for parallel execution; we run them in order anyway. */
   uint32_t dependency_count = pv_cs_read_u32(r);
   n = pv_cs_read_array_size(r, dependency_count);
   for (uint64_t i = 0; i < n && !r->failed; i++) {
      pv_cs_read_u32(r);
      pv_cs_read_u32(r);
   }
   a->flags = pv_cs_read_u32(r);
   return !r->failed;
}

static void read_ring_chain(struct pv_cs_reader *r, struct pv_venus_ring_layout *layout)
{
   /* Chains nest: each struct's own chain comes before its members (docs/protocol/venus.md §4),
    * so each link is a stack frame: bounded like every generated chain. */
   if (r->failed || !pv_cs_read_pointer(r) || !pv_cs_enter(r))
      return;
   uint32_t stype = pv_cs_read_u32(r);
   read_ring_chain(r, layout);
   pv_cs_leave(r);
   if (stype == PV_STYPE_RING_MONITOR_INFO_MESA)
      layout->monitor_period_us = pv_cs_read_u32(r);
   else if (stype == PV_STYPE_RING_PRIORITY_INFO_MESA)
      layout->priority = (int32_t)pv_cs_read_u32(r);
   else
      pv_cs_fail(r, "sType %u cannot extend VkRingCreateInfoMESA", stype);
}

bool pv_decode_cmd_vkCreateRingMESA(struct pv_cs_reader *r, struct pv_cmd_vkCreateRingMESA *a)
{
   a->ring = pv_cs_read_u64(r);
   pv_cs_read_required_pointer(r);
   pv_cs_read_stype(r, (VkStructureType)PV_STYPE_RING_CREATE_INFO_MESA);
   struct pv_venus_ring_layout *l = &a->layout;
   read_ring_chain(r, l);
   pv_cs_read_u32(r); /* flags: none defined */
   l->resource_id = pv_cs_read_u32(r);
   l->offset = pv_cs_read_u64(r);
   l->size = pv_cs_read_u64(r);
   l->idle_timeout_ns = pv_cs_read_u64(r);
   l->head_offset = pv_cs_read_u64(r);
   l->tail_offset = pv_cs_read_u64(r);
   l->status_offset = pv_cs_read_u64(r);
   l->buffer_offset = pv_cs_read_u64(r);
   l->buffer_size = pv_cs_read_u64(r);
   l->extra_offset = pv_cs_read_u64(r);
   l->extra_size = pv_cs_read_u64(r);
   return !r->failed;
}

bool pv_decode_cmd_vkDestroyRingMESA(struct pv_cs_reader *r, struct pv_cmd_vkDestroyRingMESA *a)
{
   a->ring = pv_cs_read_u64(r);
   return !r->failed;
}

bool pv_decode_cmd_vkNotifyRingMESA(struct pv_cs_reader *r, struct pv_cmd_vkNotifyRingMESA *a)
{
   a->ring = pv_cs_read_u64(r);
   a->seqno = pv_cs_read_u32(r);
   a->flags = pv_cs_read_u32(r);
   return !r->failed;
}

bool pv_decode_cmd_vkWriteRingExtraMESA(struct pv_cs_reader *r,
                                        struct pv_cmd_vkWriteRingExtraMESA *a)
{
   a->ring = pv_cs_read_u64(r);
   a->offset = pv_cs_read_u64(r);
   a->value = pv_cs_read_u32(r);
   return !r->failed;
}

bool pv_decode_cmd_vkSubmitVirtqueueSeqnoMESA(struct pv_cs_reader *r,
                                              struct pv_cmd_vkSubmitVirtqueueSeqnoMESA *a)
{
   a->ring = pv_cs_read_u64(r);
   a->seqno = pv_cs_read_u64(r);
   return !r->failed;
}

bool pv_decode_cmd_vkWaitVirtqueueSeqnoMESA(struct pv_cs_reader *r,
                                            struct pv_cmd_vkWaitVirtqueueSeqnoMESA *a)
{
   a->seqno = pv_cs_read_u64(r);
   return !r->failed;
}

bool pv_decode_cmd_vkWaitRingSeqnoMESA(struct pv_cs_reader *r, struct pv_cmd_vkWaitRingSeqnoMESA *a)
{
   a->ring = pv_cs_read_u64(r);
   a->seqno = pv_cs_read_u64(r);
   return !r->failed;
}
