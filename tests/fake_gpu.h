/* A stand-in for the renderer behind pv_gpu.h that records what a transport asks of it. */
#ifndef FAKE_GPU_H
#define FAKE_GPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pearvisor/pv_gpu.h>

#define FAKE_GPU_MAX_SUBMITTED (1u << 20)
#define FAKE_GPU_MAX_FENCES    64
#define FAKE_GPU_MAX_UNREFS    64

/* Everything the fake saw. The serving thread writes it under lock; a test reads it after a
 * round trip (a reply) has shown the server got that far. */
struct fake_gpu_state {
   pthread_mutex_t lock;
   /* switches set by a test */
   bool fatal_submits; /* submits make the context fatal and report false */
   bool fail_blobs;    /* pv_gpu_resource_create_blob fails */
   bool block_prepare; /* pv_gpu_prepare never returns (a driver stuck loading) */
   /* records */
   int gpus_created, gpus_destroyed, gpus_prepared;
   int contexts_created, contexts_released, contexts_destroyed;
   uint32_t capset_id;
   char debug_name[64];
   int submits;
   bool submit_misaligned; /* a submit's bytes did not start 4-byte aligned */
   size_t submitted_size;
   uint8_t submitted[FAKE_GPU_MAX_SUBMITTED]; /* every submit's bytes, back to back */
   int blobs;
   uint32_t blob_type, blob_flags;
   uint64_t blob_size, blob_id;
   uint32_t blob_res_id; /* the id the transport chose */
   int unref_count;
   uint32_t unrefs[FAKE_GPU_MAX_UNREFS];
   int fence_count; /* fences accepted and not yet retired by fake_gpu_retire */
   struct {
      uint32_t ring_idx;
      uint64_t fence_id;
   } fences[FAKE_GPU_MAX_FENCES];
   int stats_calls;
   pv_gpu_fence_retired_fn fence_retired; /* of the newest context */
   void *fence_data;
};

extern struct fake_gpu_state fake_gpu;

/* Forgets every record and switch. */
void fake_gpu_reset(void);
/* Retires the pending fences of ring_idx, as a renderer thread would, in order. */
void fake_gpu_retire(uint32_t ring_idx);
/* The capset the fake serves for (PV_GPU_CAPSET_VENUS, 0): byte i is i + 1. */
void fake_gpu_capset(uint8_t capset[PV_GPU_CAPSET_MAX_SIZE]);

#endif
