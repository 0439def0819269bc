/* Executing one command stream: decoding with the context's object table, replies into the
 * stream's reply buffer, and turning the first failure into a fatal context. */
#include <stdio.h>

#include "render/pv_render.h"
#include "render/pv_render_record.h"
#include "util/pv_limits.h"
#include "util/pv_log.h"

/* Most bytes one command may decode into (arrays, strings, chains): a guest count that
 * asks for more is lying or hostile. */
#define PV_STREAM_ARENA_LIMIT (256u << 20)

static bool reply_begin(struct pv_venus_dispatch *d, struct pv_cs_writer *w)
{
   struct pv_render_reply *reply = &pv_render_stream_of(d)->reply;
   if (!reply->shmem)
      return pv_cs_fail(d->reader, "reply wanted but no reply stream is set");
   /* Write only inside [offset, offset + size) of the stream the guest set aside. */
   pv_cs_writer_init(w, (uint8_t *)reply->shmem->map + reply->offset + reply->position,
                     reply->size - reply->position);
   return true;
}

static void reply_end(struct pv_venus_dispatch *d, const struct pv_cs_writer *w)
{
   struct pv_render_reply *reply = &pv_render_stream_of(d)->reply;
   if (w->overflow) {
      pv_cs_fail(d->reader, "reply does not fit in the %llu bytes left of the reply stream",
                 (unsigned long long)(reply->size - reply->position));
      return;
   }
   reply->position += pv_cs_writer_size(w);
}

void pv_render_stream_init(struct pv_render_stream *stream, struct pv_gpu_context *ctx,
                           struct pv_render_ring *ring)
{
   stream->ctx = ctx;
   stream->ring = ring;
   pv_arena_init(&stream->arena, PV_STREAM_ARENA_LIMIT);
   stream->dispatch.reader = &stream->reader;
   stream->dispatch.handlers = &ctx->gpu->handlers;
   stream->dispatch.reply_begin = reply_begin;
   stream->dispatch.reply_end = reply_end;
   stream->reply = (struct pv_render_reply){0};
}

void pv_render_stream_finish(struct pv_render_stream *stream)
{
   pv_render_shmem_unref(stream->reply.shmem);
   stream->reply.shmem = NULL;
   pv_arena_finish(&stream->arena);
}

void pv_render_context_set_fatal(struct pv_gpu_context *ctx, const char *why)
{
   if (atomic_exchange(&ctx->fatal, true))
      return;
   pv_error("%s: context is now fatal: %s", ctx->name, why);
   pv_render_rings_set_status(ctx, PV_RING_STATUS_FATAL);
}

bool pv_render_stream_size_allowed(struct pv_gpu_context *ctx, uint64_t size)
{
   const uint64_t limit = ctx->gpu->limits.stream;
   if (size <= limit)
      return true;
   pv_limits_report(&ctx->limits_reported, PV_LIMIT_STREAM, ctx->name, limit,
                    "the context turns fatal");
   char why[128];
   snprintf(why, sizeof(why), "a %llu-byte command stream is over the stream limit",
            (unsigned long long)size);
   pv_render_context_set_fatal(ctx, why);
   return false;
}

bool pv_render_stream_dispatch(struct pv_render_stream *stream)
{
   /* A nested stream (vkExecuteCommandStreamsMESA) runs inside its parent's command, so
    * each command drops only what it took itself. */
   const unsigned outer = stream->held_count;
   bool ok = pv_venus_dispatch_command(&stream->dispatch);
   while (stream->held_count > outer)
      pv_render_object_put(stream->ctx, stream->held[--stream->held_count]);
   return ok;
}

struct pv_render_object *pv_render_hold(struct pv_venus_dispatch *d, uint64_t id, VkObjectType type)
{
   struct pv_render_stream *stream = pv_render_stream_of(d);
   if (stream->held_count == PV_RENDER_STREAM_MAX_HELD) {
      pv_cs_fail(d->reader, "a command holds more than %d objects", PV_RENDER_STREAM_MAX_HELD);
      return NULL;
   }
   struct pv_render_object *obj = pv_render_object_get(stream->ctx, id, type);
   if (obj)
      stream->held[stream->held_count++] = obj;
   return obj;
}

bool pv_render_stream_execute(struct pv_render_stream *stream, const void *data, size_t size,
                              void (*after_command)(struct pv_render_stream *, size_t),
                              void *unused)
{
   (void)unused;
   struct pv_gpu_context *ctx = stream->ctx;
   if (!pv_render_stream_size_allowed(ctx, size))
      return false;
   struct pv_cs_reader *r = &stream->reader;
   pv_render_record(stream, data, size);
   pv_cs_reader_init(r, data, size, &stream->arena, &ctx->handles);
   while (!pv_cs_at_end(r)) {
      if (atomic_load_explicit(&ctx->fatal, memory_order_relaxed))
         return false;
      if (!pv_render_stream_dispatch(stream))
         break;
      atomic_fetch_add_explicit(&ctx->commands, 1, memory_order_relaxed);
      if (after_command)
         after_command(stream, pv_cs_offset(r));
   }
   if (r->failed) {
      char why[256];
      snprintf(why, sizeof(why), "%s stream, %s: %s", stream->ring ? "ring" : "context",
               pv_venus_command_name(r->command_id), r->error);
      pv_render_context_set_fatal(ctx, why);
      return false;
   }
   return true;
}
