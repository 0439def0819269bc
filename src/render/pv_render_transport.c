/* Handlers of the Venus protocol's own commands: reply streams, nested command streams,
 * rings and the seqno handshakes that order the socket against the rings
 * (docs/protocol/venus.md §6-§8). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/pv_render.h"
#include "util/pv_limits.h"
#include "util/pv_log.h"

static bool range_inside(uint64_t offset, uint64_t size, size_t limit)
{
   return offset <= limit && size <= limit - offset;
}

static void set_reply_stream(struct pv_venus_dispatch *d,
                             struct pv_cmd_vkSetReplyCommandStreamMESA *args)
{
   struct pv_render_stream *stream = pv_render_stream_of(d);
   const VkCommandStreamDescriptionMESA *desc = args->pStream;
   struct pv_render_shmem *shmem = pv_render_resource_shmem(stream->ctx, desc->resourceId);
   if (!shmem) {
      pv_cs_fail(d->reader, "reply stream resource %u does not exist", desc->resourceId);
      return;
   }
   if (!range_inside(desc->offset, desc->size, shmem->size)) {
      pv_render_shmem_unref(shmem);
      pv_cs_fail(d->reader, "reply stream [%llu, +%llu) outside resource %u",
                 (unsigned long long)desc->offset, (unsigned long long)desc->size,
                 desc->resourceId);
      return;
   }
   const uint64_t limit = stream->ctx->gpu->limits.reply;
   if (desc->size > limit) {
      pv_render_shmem_unref(shmem);
      pv_limits_report(&stream->ctx->limits_reported, PV_LIMIT_REPLY, stream->ctx->name, limit,
                       "the context turns fatal");
      pv_cs_fail(d->reader, "a %llu-byte reply stream is over the reply limit",
                 (unsigned long long)desc->size);
      return;
   }
   pv_render_shmem_unref(stream->reply.shmem);
   stream->reply = (struct pv_render_reply){shmem, desc->offset, desc->size, 0};
}

static void seek_reply_stream(struct pv_venus_dispatch *d,
                              struct pv_cmd_vkSeekReplyCommandStreamMESA *args)
{
   struct pv_render_reply *reply = &pv_render_stream_of(d)->reply;
   if (!reply->shmem || args->position > reply->size) {
      pv_cs_fail(d->reader, "reply seek to %llu outside the reply stream",
                 (unsigned long long)args->position);
      return;
   }
   reply->position = args->position;
}

/* Runs one nested stream on the same dispatch, with its own reader. */
static bool execute_nested(struct pv_render_stream *stream,
                           const VkCommandStreamDescriptionMESA *desc, char *error,
                           size_t error_size)
{
   struct pv_render_shmem *shmem = pv_render_resource_shmem(stream->ctx, desc->resourceId);
   if (!shmem || !range_inside(desc->offset, desc->size, shmem->size)) {
      snprintf(error, error_size, "command stream resource %u [%llu, +%llu) is not valid",
               desc->resourceId, (unsigned long long)desc->offset, (unsigned long long)desc->size);
      pv_render_shmem_unref(shmem);
      return false;
   }
   if (desc->size > stream->ctx->gpu->limits.stream) {
      pv_limits_report(&stream->ctx->limits_reported, PV_LIMIT_STREAM, stream->ctx->name,
                       stream->ctx->gpu->limits.stream, "the context turns fatal");
      snprintf(error, error_size, "a %llu-byte nested command stream is over the stream limit",
               (unsigned long long)desc->size);
      pv_render_shmem_unref(shmem);
      return false;
   }
   struct pv_cs_reader *r = &stream->reader;
   pv_cs_reader_init(r, (uint8_t *)shmem->map + desc->offset, desc->size, &stream->arena,
                     &stream->ctx->handles);
   while (!pv_cs_at_end(r) && pv_render_stream_dispatch(stream))
      atomic_fetch_add_explicit(&stream->ctx->commands, 1, memory_order_relaxed);
   if (r->failed)
      snprintf(error, error_size, "in nested stream: %s: %s", pv_venus_command_name(r->command_id),
               r->error);
   pv_render_shmem_unref(shmem);
   return !r->failed;
}

static void execute_command_streams(struct pv_venus_dispatch *d,
                                    struct pv_cmd_vkExecuteCommandStreamsMESA *args)
{
   struct pv_render_stream *stream = pv_render_stream_of(d);
   if (stream->in_execute) {
      pv_cs_fail(d->reader, "nested vkExecuteCommandStreamsMESA");
      return;
   }
   /* The nested commands reuse the arena that holds args: copy what we still need. */
   size_t count = args->streamCount;
   if (count == 0) {
      pv_cs_fail(d->reader, "vkExecuteCommandStreamsMESA without streams");
      return;
   }
   VkCommandStreamDescriptionMESA *descs = malloc(count * sizeof(*descs));
   size_t *positions = args->pReplyPositions ? malloc(count * sizeof(*positions)) : NULL;
   if (!descs || (args->pReplyPositions && !positions)) {
      free(descs);
      pv_cs_fail(d->reader, "out of memory for %zu command streams", count);
      return;
   }
   /* Dependencies order streams for parallel execution; we run them in order anyway. */
   memcpy(descs, args->pStreams, count * sizeof(*descs));
   if (positions)
      memcpy(positions, args->pReplyPositions, count * sizeof(*positions));

   struct pv_cs_reader outer = stream->reader;
   char error[512] = "";
   bool ok = true;
   stream->in_execute = true;
   for (size_t i = 0; ok && i < count; i++) {
      if (positions) {
         if (!stream->reply.shmem || positions[i] > stream->reply.size) {
            snprintf(error, sizeof(error), "reply position %llu outside the reply stream",
                     (unsigned long long)positions[i]);
            ok = false;
            break;
         }
         stream->reply.position = positions[i];
      }
      if (descs[i].size)
         ok = execute_nested(stream, &descs[i], error, sizeof(error));
   }
   stream->in_execute = false;
   stream->reader = outer;
   free(descs);
   free(positions);
   if (!ok)
      pv_cs_fail(d->reader, "%s", error);
}

static bool on_context_stream(struct pv_venus_dispatch *d, const char *name)
{
   if (pv_render_stream_of(d)->ring)
      return pv_cs_fail(d->reader, "%s is only valid on the context stream", name);
   return true;
}

static struct pv_render_ring *ring_or_fail(struct pv_venus_dispatch *d, uint64_t id)
{
   struct pv_render_ring *ring = pv_render_ring_find(pv_render_ctx(d), id);
   if (!ring)
      pv_cs_fail(d->reader, "ring %llx does not exist", (unsigned long long)id);
   return ring;
}

static void create_ring(struct pv_venus_dispatch *d, struct pv_cmd_vkCreateRingMESA *args)
{
   if (on_context_stream(d, "vkCreateRingMESA"))
      pv_render_ring_create(pv_render_stream_of(d), args->ring, args->pCreateInfo);
}

static void destroy_ring(struct pv_venus_dispatch *d, struct pv_cmd_vkDestroyRingMESA *args)
{
   if (!on_context_stream(d, "vkDestroyRingMESA"))
      return;
   struct pv_render_ring *ring = ring_or_fail(d, args->ring);
   if (ring)
      pv_render_ring_destroy(pv_render_ctx(d), ring);
}

static void notify_ring(struct pv_venus_dispatch *d, struct pv_cmd_vkNotifyRingMESA *args)
{
   struct pv_render_ring *ring = ring_or_fail(d, args->ring);
   if (ring)
      pv_render_ring_notify(ring);
}

static void write_ring_extra(struct pv_venus_dispatch *d, struct pv_cmd_vkWriteRingExtraMESA *args)
{
   struct pv_render_ring *ring = ring_or_fail(d, args->ring);
   if (!ring)
      return;
   if (!ring->extra || args->offset > ring->extra_size || ring->extra_size - args->offset < 4 ||
       (args->offset & 3)) {
      pv_cs_fail(d->reader, "ring extra offset %llu out of range",
                 (unsigned long long)args->offset);
      return;
   }
   atomic_store((atomic_uint *)(ring->extra + args->offset), args->value);
}

static void submit_virtqueue_seqno(struct pv_venus_dispatch *d,
                                   struct pv_cmd_vkSubmitVirtqueueSeqnoMESA *args)
{
   struct pv_render_ring *ring = ring_or_fail(d, args->ring);
   if (ring)
      pv_render_ring_submit_virtqueue_seqno(ring, args->seqno);
}

static void wait_virtqueue_seqno(struct pv_venus_dispatch *d,
                                 struct pv_cmd_vkWaitVirtqueueSeqnoMESA *args)
{
   struct pv_render_ring *ring = pv_render_stream_of(d)->ring;
   if (!ring) {
      pv_cs_fail(d->reader, "vkWaitVirtqueueSeqnoMESA is only valid on a ring");
      return;
   }
   pv_render_ring_wait_virtqueue_seqno(ring, args->seqno);
}

static void wait_ring_seqno(struct pv_venus_dispatch *d, struct pv_cmd_vkWaitRingSeqnoMESA *args)
{
   struct pv_render_ring *ring = ring_or_fail(d, args->ring);
   if (ring && !pv_render_ring_wait_head(ring, (uint32_t)args->seqno))
      pv_cs_fail(d->reader, "vkWaitRingSeqnoMESA: seqno %llu is past the ring's tail",
                 (unsigned long long)args->seqno);
}

void pv_render_transport_init_dispatch(struct pv_venus_handlers *h)
{
   h->vkSetReplyCommandStreamMESA = set_reply_stream;
   h->vkSeekReplyCommandStreamMESA = seek_reply_stream;
   h->vkExecuteCommandStreamsMESA = execute_command_streams;
   h->vkCreateRingMESA = create_ring;
   h->vkDestroyRingMESA = destroy_ring;
   h->vkNotifyRingMESA = notify_ring;
   h->vkWriteRingExtraMESA = write_ring_extra;
   h->vkSubmitVirtqueueSeqnoMESA = submit_virtqueue_seqno;
   h->vkWaitVirtqueueSeqnoMESA = wait_virtqueue_seqno;
   h->vkWaitRingSeqnoMESA = wait_ring_seqno;
}
