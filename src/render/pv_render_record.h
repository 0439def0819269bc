/* PV_DEBUG=record: every command stream a context receives, written to a file so that the
 * fuzz harnesses (fuzz/) and tests can replay it. Format in docs/fuzzing.md. */
#ifndef PV_RENDER_RECORD_H
#define PV_RENDER_RECORD_H

#include <stddef.h>
#include <stdint.h>

struct pv_gpu_context;
struct pv_render_stream;

/* The file starts with this, then records until its end. */
#define PV_RECORD_MAGIC   "PVRECORD"
#define PV_RECORD_VERSION 1u

enum pv_record_kind {
   PV_RECORD_CONTEXT_STREAM = 1, /* one pv_gpu_context_submit (vtest SUBMIT_CMD2 batch) */
   PV_RECORD_RING = 2,           /* one batch the ring reader took from ring `ring_id` */
};

/* Little-endian, as every host we run on; 16 bytes, then `size` bytes of commands. */
struct pv_record_header {
   uint32_t kind; /* enum pv_record_kind */
   uint32_t size;
   uint64_t ring_id; /* the guest's ring id; 0 for the context stream */
};

/* Opens PV_RECORD_DIR/record-<pid>-<context name>-<n>.pvrec when the switch is on. */
void pv_render_record_init(struct pv_gpu_context *ctx);
/* Appends one record for what stream is about to execute; nothing when off. */
void pv_render_record(struct pv_render_stream *stream, const void *data, size_t size);
void pv_render_record_finish(struct pv_gpu_context *ctx);

#endif
