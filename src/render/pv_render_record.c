/* PV_DEBUG=record (see pv_render_record.h). The context stream and its ring threads write
 * concurrently; each record is one writev to an O_APPEND file, which Linux keeps whole, so
 * no lock orders them. */
#include "render/pv_render_record.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "render/pv_render.h"
#include "util/pv_log.h"

/* The context's name, reduced to characters that are safe in a file name. */
static void file_safe_name(const char *name, char *out, size_t size)
{
   size_t i = 0;
   for (; name[i] && i + 1 < size; i++) {
      char c = name[i];
      bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
      out[i] = safe ? c : '_';
   }
   out[i] = '\0';
}

void pv_render_record_init(struct pv_gpu_context *ctx)
{
   static atomic_uint contexts;
   ctx->record_fd = -1;
   if (!pv_debug(PV_DEBUG_RECORD))
      return;
   const char *dir = getenv("PV_RECORD_DIR");
   char name[sizeof(ctx->name)], path[512];
   file_safe_name(ctx->name, name, sizeof(name));
   snprintf(path, sizeof(path), "%s/record-%d-%s-%u.pvrec", dir && *dir ? dir : ".", (int)getpid(),
            name, atomic_fetch_add(&contexts, 1));
   int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
   uint32_t version = PV_RECORD_VERSION;
   struct iovec iov[2] = {{PV_RECORD_MAGIC, 8}, {&version, sizeof(version)}};
   if (fd < 0 || writev(fd, iov, 2) != 12) {
      pv_error("%s: PV_DEBUG=record: cannot write %s", ctx->name, path);
      if (fd >= 0)
         close(fd);
      return;
   }
   pv_info("%s: PV_DEBUG=record: recording to %s", ctx->name, path);
   ctx->record_fd = fd;
}

void pv_render_record(struct pv_render_stream *stream, const void *data, size_t size)
{
   int fd = stream->ctx->record_fd;
   if (fd < 0)
      return;
   struct pv_record_header header = {
         .kind = stream->ring ? PV_RECORD_RING : PV_RECORD_CONTEXT_STREAM,
         .size = (uint32_t)size,
         .ring_id = stream->ring ? stream->ring->id : 0,
   };
   struct iovec iov[2] = {{&header, sizeof(header)}, {(void *)data, size}};
   /* A vtest payload is at most 64 MiB and a ring batch 16 MiB: size fits the u32. A short
    * write is reported, not retried: a record cut in half would mislead more than a gap. */
   if (writev(fd, iov, 2) != (ssize_t)(sizeof(header) + size))
      pv_error("%s: PV_DEBUG=record: a record of %zu bytes could not be written", stream->ctx->name,
               size);
}

void pv_render_record_finish(struct pv_gpu_context *ctx)
{
   if (ctx->record_fd >= 0)
      close(ctx->record_fd);
   ctx->record_fd = -1;
}
