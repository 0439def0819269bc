/* Decoders of the Venus protocol's own commands (VK_MESA_venus_protocol,
 * docs/protocol/venus.md §6), which are not in vk.xml. */
#ifndef PV_VENUS_MESA_H
#define PV_VENUS_MESA_H

#include "venus/pv_cs.h"

struct pv_venus_stream_desc {
   uint32_t resource_id;
   uint64_t offset;
   uint64_t size;
};

/* VkDeviceQueueTimelineInfoMESA, chained to VkDeviceQueueInfo2: binds the queue to a vtest
 * timeline (docs/protocol/venus.md §11). */
#define PV_STYPE_DEVICE_QUEUE_TIMELINE_INFO_MESA 1000384005
struct pv_venus_queue_timeline_info {
   VkStructureType sType;
   const void *pNext;
   uint32_t ring_idx;
};

struct pv_cmd_vkSetReplyCommandStreamMESA {
   struct pv_venus_stream_desc stream;
};

struct pv_cmd_vkSeekReplyCommandStreamMESA {
   uint64_t position;
};

struct pv_cmd_vkExecuteCommandStreamsMESA {
   uint32_t stream_count;
   const struct pv_venus_stream_desc *streams;
   const uint64_t *reply_positions; /* NULL or stream_count entries */
   uint32_t flags;
};

struct pv_venus_ring_layout {
   uint32_t resource_id;
   uint64_t offset, size;
   uint64_t idle_timeout_ns;
   uint64_t head_offset, tail_offset, status_offset;
   uint64_t buffer_offset, buffer_size;
   uint64_t extra_offset, extra_size;
   uint32_t monitor_period_us; /* 0: not monitored */
   int32_t priority;
};

struct pv_cmd_vkCreateRingMESA {
   uint64_t ring;
   struct pv_venus_ring_layout layout;
};

struct pv_cmd_vkDestroyRingMESA {
   uint64_t ring;
};

struct pv_cmd_vkNotifyRingMESA {
   uint64_t ring;
   uint32_t seqno;
   uint32_t flags;
};

struct pv_cmd_vkWriteRingExtraMESA {
   uint64_t ring;
   uint64_t offset;
   uint32_t value;
};

struct pv_cmd_vkSubmitVirtqueueSeqnoMESA {
   uint64_t ring;
   uint64_t seqno;
};

struct pv_cmd_vkWaitVirtqueueSeqnoMESA {
   uint64_t seqno;
};

struct pv_cmd_vkWaitRingSeqnoMESA {
   uint64_t ring;
   uint64_t seqno;
};

bool pv_decode_cmd_vkSetReplyCommandStreamMESA(struct pv_cs_reader *r,
                                               struct pv_cmd_vkSetReplyCommandStreamMESA *a);
bool pv_decode_cmd_vkSeekReplyCommandStreamMESA(struct pv_cs_reader *r,
                                                struct pv_cmd_vkSeekReplyCommandStreamMESA *a);
bool pv_decode_cmd_vkExecuteCommandStreamsMESA(struct pv_cs_reader *r,
                                               struct pv_cmd_vkExecuteCommandStreamsMESA *a);
bool pv_decode_cmd_vkCreateRingMESA(struct pv_cs_reader *r, struct pv_cmd_vkCreateRingMESA *a);
bool pv_decode_cmd_vkDestroyRingMESA(struct pv_cs_reader *r, struct pv_cmd_vkDestroyRingMESA *a);
bool pv_decode_cmd_vkNotifyRingMESA(struct pv_cs_reader *r, struct pv_cmd_vkNotifyRingMESA *a);
bool pv_decode_cmd_vkWriteRingExtraMESA(struct pv_cs_reader *r,
                                        struct pv_cmd_vkWriteRingExtraMESA *a);
bool pv_decode_cmd_vkSubmitVirtqueueSeqnoMESA(struct pv_cs_reader *r,
                                              struct pv_cmd_vkSubmitVirtqueueSeqnoMESA *a);
bool pv_decode_cmd_vkWaitVirtqueueSeqnoMESA(struct pv_cs_reader *r,
                                            struct pv_cmd_vkWaitVirtqueueSeqnoMESA *a);
bool pv_decode_cmd_vkWaitRingSeqnoMESA(struct pv_cs_reader *r,
                                       struct pv_cmd_vkWaitRingSeqnoMESA *a);

#endif
