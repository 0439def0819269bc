/* libFuzzer harness for the ring reader (src/render/pv_render_ring.c): a ring in shared memory
 * whose contents the input gives, created through vkCreateRingMESA on the context stream as a
 * guest does, and read until the reader stops.
 *
 * Input: u8 log2 of the buffer size (taken modulo 14, plus 4: 16 B..128 KiB), 3 bytes unused,
 * u32 tail1, u32 tail2, then the commands P. Before the ring exists, P[0, tail1) is written at
 * ring positions 0..tail1 and the tail set to tail1 (the guest may write before creating); once
 * the reader has caught up, P[tail1, tail2) is written at positions tail1..tail2 (wrapping
 * around the buffer), the tail set to tail2 and the ring notified. Tails are free-running u32
 * byte counters, so any value is a guest's choice. */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "fuzz_gpu.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Mesa's layout of its instance ring (PV_FUZZ_RING_RES_SIZE), which the buffer may fill. */
#define RING_ID       1u
#define HEAD_OFFSET   0u
#define TAIL_OFFSET   64u
#define STATUS_OFFSET 128u
#define BUFFER_OFFSET 192u
#define EXTRA_OFFSET  (BUFFER_OFFSET + (128u << 10))
#define STATUS_FATAL  0x2u
#define STATUS_IDLE   0x1u
/* How long the reader may take to catch up: a command that blocks (a virtqueue seqno wait,
 * a fence wait) is cut short by the context's destruction after it. */
#define CATCH_UP_NS 200000000ll

static void put_u64(uint32_t *w, uint64_t v)
{
   w[0] = (uint32_t)v;
   w[1] = (uint32_t)(v >> 32);
}

/* vkCreateRingMESA(RING_ID, {resource PV_FUZZ_RING_RES, Mesa's layout, buffer_size}) as the
 * stock guest encodes it (docs/protocol/venus.md §8), with an idle timeout of 100 us so the
 * reader also goes through sleeping and being notified. */
static bool create_ring(struct pv_gpu_context *ctx, uint32_t buffer_size)
{
   uint32_t w[35] = {188, 0};
   put_u64(w + 2, RING_ID);
   put_u64(w + 4, 1);        /* pCreateInfo present */
   w[6] = 1000384000;        /* VkRingCreateInfoMESA */
   put_u64(w + 7, 1);        /* pNext present: */
   w[9] = 1000384006;        /* VkRingMonitorInfoMESA */
   put_u64(w + 10, 0);       /* its pNext */
   w[12] = 3000000;          /* maxReportingPeriodMicroseconds */
   w[13] = 0;                /* flags */
   w[14] = PV_FUZZ_RING_RES; /* resourceId */
   put_u64(w + 15, 0);       /* offset */
   put_u64(w + 17, PV_FUZZ_RING_RES_SIZE);
   put_u64(w + 19, 100000); /* idleTimeout (ns) */
   put_u64(w + 21, HEAD_OFFSET);
   put_u64(w + 23, TAIL_OFFSET);
   put_u64(w + 25, STATUS_OFFSET);
   put_u64(w + 27, BUFFER_OFFSET);
   put_u64(w + 29, buffer_size);
   put_u64(w + 31, EXTRA_OFFSET);
   put_u64(w + 33, 4); /* extraSize */
   return pv_gpu_context_submit(ctx, w, sizeof(w));
}

static bool notify_ring(struct pv_gpu_context *ctx)
{
   uint32_t w[6] = {190, 0};
   put_u64(w + 2, RING_ID);
   return pv_gpu_context_submit(ctx, w, sizeof(w));
}

static long long now_ns(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* Until the reader has taken everything up to tail (true), or stopped on a fatal error, or
 * took too long. */
static bool catch_up(uint8_t *ring, uint32_t tail)
{
   atomic_uint *head = (atomic_uint *)(ring + HEAD_OFFSET);
   atomic_uint *status = (atomic_uint *)(ring + STATUS_OFFSET);
   const struct timespec nap = {0, 20000};
   for (long long deadline = now_ns() + CATCH_UP_NS; now_ns() < deadline;) {
      if (atomic_load(status) & STATUS_FATAL)
         return false;
      if (atomic_load(head) == tail)
         return true;
      nanosleep(&nap, NULL);
   }
   return false;
}

/* Copies P[from, to) to the ring positions from..to, wrapping, as far as P has bytes. */
static void write_commands(uint8_t *buffer, uint32_t buffer_size, const uint8_t *p, size_t p_size,
                           uint32_t from, uint32_t to)
{
   for (uint32_t pos = from; pos != to && pos < p_size; pos++)
      buffer[pos & (buffer_size - 1)] = p[pos];
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
   (void)argc, (void)argv;
   pv_fuzz_gpu();
   return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
   if (size < 12)
      return 0;
   uint32_t buffer_size = 1u << (4 + data[0] % 14), tail1, tail2;
   memcpy(&tail1, data + 4, 4);
   memcpy(&tail2, data + 8, 4);
   const uint8_t *p = data + 12;
   size_t p_size = size - 12;

   struct pv_gpu_context *ctx = pv_fuzz_context_begin();
   uint8_t *ring = pv_fuzz_ring_memory();
   uint8_t *buffer = ring + BUFFER_OFFSET;
   atomic_uint *tail = (atomic_uint *)(ring + TAIL_OFFSET);
   write_commands(buffer, buffer_size, p, p_size, 0, tail1);
   atomic_store(tail, tail1);
   /* The second batch only once the first is consumed: a guest writing over commands the
    * reader has not taken is a race this harness would not replay alike. */
   if (create_ring(ctx, buffer_size) && catch_up(ring, tail1)) {
      write_commands(buffer, buffer_size, p, p_size, tail1, tail2);
      atomic_store(tail, tail2);
      if (atomic_load((atomic_uint *)(ring + STATUS_OFFSET)) & STATUS_IDLE)
         notify_ring(ctx);
      catch_up(ring, tail2);
   }
   pv_fuzz_context_end(ctx);
   return 0;
}
