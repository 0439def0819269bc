/* What the harnesses that execute on the real renderer share: one renderer on lavapipe for
 * the whole run, and per input a fresh context with the resources a recorded guest names. */
#ifndef PV_FUZZ_GPU_H
#define PV_FUZZ_GPU_H

#include <stdint.h>

#include <pearvisor/pv_gpu.h>

/* The stock guest's first two blobs, which recorded streams (tests/data/venus/) name: its
 * instance ring and its reply pool. */
#define PV_FUZZ_RING_RES       1u
#define PV_FUZZ_RING_RES_SIZE  131268u /* Mesa's instance ring: 192-byte control + 128 KiB + 4 */
#define PV_FUZZ_REPLY_RES      2u
#define PV_FUZZ_REPLY_RES_SIZE (1u << 20)

/* The renderer, created on first use with lavapipe as the host driver. */
struct pv_gpu *pv_fuzz_gpu(void);
/* A new context with fresh (zeroed) resources PV_FUZZ_RING_RES and PV_FUZZ_REPLY_RES
 * attached, so that every input starts from the same state; aborts when that fails. */
struct pv_gpu_context *pv_fuzz_context_begin(void);
/* The host mapping of PV_FUZZ_RING_RES of the current context. */
uint8_t *pv_fuzz_ring_memory(void);
/* Destroys the context and its resources. */
void pv_fuzz_context_end(struct pv_gpu_context *ctx);

#endif
