/* Venus rings: a thread per ring polls the guest's tail in shared memory, executes the new
 * commands and publishes the head after each (docs/protocol/venus.md §8). */
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "render/pv_render.h"
#include "util/pv_limits.h"
#include "util/pv_log.h"
#include "util/pv_os.h"

/* Until the idle timeout the thread naps this long between polls: the guest only notifies a
 * ring it sees IDLE, so this bounds the pick-up delay of a submission that arrives while the
 * ring is awake. The thread does not spin first: on an H200 a 50 us spin made no difference
 * with the stock guest and cost 18 us per synchronous submit with the guest wait layer, which
 * spins itself (docs/benchmarks.md). */
#define PV_RING_NAP_NS 20000ull
/* The guest picks how long a ring stays awake after its last command (the stock guest:
 * about a millisecond) and how often ALIVE must be set (seconds). Both are clamped, since
 * each awake ring naps in 20 us steps and the monitor wakes three times a period: an idle
 * timeout of UINT64_MAX or a period of 1 us would make an idle guest burn CPU. */
#define PV_RING_MAX_IDLE_TIMEOUT_NS 10000000ull
#define PV_RING_MIN_MONITOR_US      10000u
/* Rings are at most 16 MiB (head and tail are u32 byte counters). */
#define PV_RING_MAX_BUFFER (16u << 20)

static bool inside(uint64_t offset, uint64_t size, uint64_t limit)
{
   return offset <= limit && size <= limit - offset && (offset & 3) == 0 && (size & 3) == 0;
}

static bool overlaps(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size)
{
   return a < b + b_size && b < a + a_size;
}

static bool validate_layout(struct pv_cs_reader *r, const VkRingCreateInfoMESA *l,
                            size_t shmem_size)
{
   if (!inside(l->offset, l->size, shmem_size))
      return pv_cs_fail(r, "ring [%llu, +%llu) outside its %zu-byte resource",
                        (unsigned long long)l->offset, (unsigned long long)l->size, shmem_size);
   const uint64_t parts[4][2] = {{l->headOffset, 4},
                                 {l->tailOffset, 4},
                                 {l->statusOffset, 4},
                                 {l->bufferOffset, l->bufferSize}};
   for (int i = 0; i < 4; i++) {
      if (!inside(parts[i][0], parts[i][1], l->size))
         return pv_cs_fail(r, "ring part %d outside the ring", i);
      for (int j = 0; j < i; j++) {
         if (overlaps(parts[i][0], parts[i][1], parts[j][0], parts[j][1]))
            return pv_cs_fail(r, "ring parts %d and %d overlap", i, j);
      }
   }
   if (l->extraSize && !inside(l->extraOffset, l->extraSize, l->size))
      return pv_cs_fail(r, "ring extra region outside the ring");
   if (l->bufferSize == 0 || l->bufferSize > PV_RING_MAX_BUFFER ||
       (l->bufferSize & (l->bufferSize - 1)))
      return pv_cs_fail(r, "ring buffer size %llu is not a power of two <= 16 MiB",
                        (unsigned long long)l->bufferSize);
   return true;
}

/* Publishes progress after each command: the guest may read a reply as soon as the head
 * passes its command, so the release store orders the reply bytes before it. Only
 * vkWaitRingSeqnoMESA on the context stream sleeps on head_published, and rarely: the
 * FUTEX_WAKE system call (about a microsecond) is made only while it does. The bump and the
 * waiter count are sequentially consistent against the waiter's own pair (count, then read
 * the word), so either it sees the new word or we see it counted. PV_PERF=no_lazy_wake wakes
 * after every command. */
static void publish_head(struct pv_render_stream *stream, size_t consumed)
{
   struct pv_render_ring *ring = stream->ring;
   atomic_store_explicit(ring->head, ring->exec_base + (uint32_t)consumed, memory_order_release);
   atomic_fetch_add_explicit(&ring->head_published, 1, memory_order_seq_cst);
   if (!ring->lazy_head_wake || atomic_load_explicit(&ring->head_waiters, memory_order_seq_cst))
      pv_os_futex_wake((uint32_t *)&ring->head_published);
}

static bool ring_should_stop(struct pv_render_ring *ring)
{
   return atomic_load_explicit(&ring->stop, memory_order_acquire) ||
          atomic_load_explicit(&ring->stream.ctx->fatal, memory_order_relaxed);
}

static bool execute_pending(struct pv_render_ring *ring, uint32_t cur, uint32_t tail)
{
   uint32_t size = tail - cur;
   if (size > ring->buffer_size) {
      pv_cs_reader_init(&ring->stream.reader, NULL, 0, NULL, NULL);
      pv_render_context_set_fatal(ring->stream.ctx, "ring tail is beyond the ring buffer");
      return false;
   }
   uint32_t start = cur & (ring->buffer_size - 1);
   const uint8_t *data = ring->buffer + start;
   if (start + size > ring->buffer_size) {
      /* The submission wraps: decode from one unwrapped copy. */
      uint32_t first = ring->buffer_size - start;
      memcpy(ring->scratch, ring->buffer + start, first);
      memcpy(ring->scratch + first, ring->buffer, size - first);
      data = ring->scratch;
   }
   ring->exec_base = cur;
   return pv_render_stream_execute(&ring->stream, data, size, publish_head, NULL);
}

static void *ring_thread(void *arg)
{
   struct pv_render_ring *ring = arg;
   /* Naps must be short for PV_RING_NAP_NS to mean anything (default slack is 50 us). */
   prctl(PR_SET_TIMERSLACK, 1000UL);
   uint32_t cur = atomic_load_explicit(ring->head, memory_order_relaxed);
   uint64_t last_work = pv_os_now_ns();

   while (!ring_should_stop(ring)) {
      uint32_t tail = atomic_load_explicit(ring->tail, memory_order_acquire);
      if (tail != cur) {
         ring->pickup_ns = pv_os_now_ns();
         if (!execute_pending(ring, cur, tail))
            break;
         cur = tail;
         last_work = pv_os_now_ns();
         continue;
      }
      uint64_t quiet = pv_os_now_ns() - last_work;
      /* Read the wake word before the last look at stop and tail: a destroy or notify
       * after this read changes the word, so the wait below returns at once instead of
       * sleeping through it. */
      uint32_t wake = atomic_load_explicit(&ring->wake, memory_order_acquire);
      if (ring_should_stop(ring))
         break;
      if (quiet < ring->idle_timeout_ns) {
         pv_os_futex_wait((uint32_t *)&ring->wake, wake, PV_RING_NAP_NS);
         continue;
      }
      /* Going to sleep: say so, then look once more, because the guest only notifies a
       * ring it sees IDLE and may have submitted just before the bit was set. */
      atomic_fetch_or_explicit(ring->status, PV_RING_STATUS_IDLE, memory_order_seq_cst);
      if (atomic_load_explicit(ring->tail, memory_order_seq_cst) == cur)
         pv_os_futex_wait((uint32_t *)&ring->wake, wake, 0);
      atomic_fetch_and_explicit(ring->status, ~PV_RING_STATUS_IDLE, memory_order_seq_cst);
      last_work = pv_os_now_ns();
      if (pv_debug(PV_DEBUG_RING))
         pv_info("ring %llx: awake", (unsigned long long)ring->id);
   }
   return NULL;
}

/* Rings are created on the context stream only, so counting them cannot race a create. */
static bool ring_allowed(struct pv_gpu_context *ctx)
{
   uint64_t count = 0;
   pthread_mutex_lock(&ctx->lock);
   for (struct pv_render_ring *ring = ctx->rings; ring; ring = ring->next)
      count++;
   pthread_mutex_unlock(&ctx->lock);
   if (count < ctx->gpu->limits.rings)
      return true;
   pv_limits_report(&ctx->limits_reported, PV_LIMIT_RINGS, ctx->name, ctx->gpu->limits.rings,
                    "the context turns fatal");
   return false;
}

static void ring_free(struct pv_render_ring *ring)
{
   pv_render_stream_finish(&ring->stream);
   pv_render_shmem_unref(ring->shmem);
   free(ring->scratch);
   free(ring);
}

/* The monitor period the guest chained to its ring, 0 when it did not ask for one. The
 * priority it may chain is not honoured: every ring thread runs at the worker's. */
static uint32_t monitor_period_us(const VkRingCreateInfoMESA *info)
{
   for (const VkBaseInStructure *link = info->pNext; link; link = link->pNext) {
      if (link->sType == VK_STRUCTURE_TYPE_RING_MONITOR_INFO_MESA)
         return ((const VkRingMonitorInfoMESA *)link)->maxReportingPeriodMicroseconds;
   }
   return 0;
}

bool pv_render_ring_create(struct pv_render_stream *creator, uint64_t id,
                           const VkRingCreateInfoMESA *l)
{
   struct pv_gpu_context *ctx = creator->ctx;
   struct pv_cs_reader *r = &creator->reader;
   if (pv_render_ring_find(ctx, id))
      return pv_cs_fail(r, "ring %llx already exists", (unsigned long long)id);
   if (!ring_allowed(ctx))
      return pv_cs_fail(r, "the rings limit (%llu) is reached",
                        (unsigned long long)ctx->gpu->limits.rings);
   struct pv_render_shmem *shmem = pv_render_resource_shmem(ctx, l->resourceId);
   if (!shmem)
      return pv_cs_fail(r, "ring resource %u does not exist", l->resourceId);
   if (!validate_layout(r, l, shmem->size)) {
      pv_render_shmem_unref(shmem);
      return false;
   }
   struct pv_render_ring *ring = calloc(1, sizeof(*ring));
   uint8_t *base = (uint8_t *)shmem->map + l->offset;
   if (!ring || !(ring->scratch = malloc(l->bufferSize))) {
      free(ring);
      pv_render_shmem_unref(shmem);
      return pv_cs_fail(r, "out of memory for ring");
   }
   ring->id = id;
   ring->shmem = shmem;
   ring->head = (atomic_uint *)(base + l->headOffset);
   ring->tail = (atomic_uint *)(base + l->tailOffset);
   ring->status = (atomic_uint *)(base + l->statusOffset);
   ring->buffer = base + l->bufferOffset;
   ring->buffer_size = (uint32_t)l->bufferSize;
   ring->extra = l->extraSize ? base + l->extraOffset : NULL;
   ring->extra_size = l->extraSize;
   ring->idle_timeout_ns = l->idleTimeout < PV_RING_MAX_IDLE_TIMEOUT_NS
                                 ? l->idleTimeout
                                 : PV_RING_MAX_IDLE_TIMEOUT_NS;
   uint32_t period_us = monitor_period_us(l);
   ring->monitor_period_us =
         period_us && period_us < PV_RING_MIN_MONITOR_US ? PV_RING_MIN_MONITOR_US : period_us;
   ring->lazy_head_wake = !pv_perf_disabled(PV_PERF_NO_LAZY_WAKE);
   pv_render_stream_init(&ring->stream, ctx, ring);
   if (atomic_load(ring->head) != 0 || atomic_load(ring->status) != 0) {
      ring_free(ring);
      return pv_cs_fail(r, "ring head and status must start at 0");
   }
   if (ring->monitor_period_us)
      atomic_fetch_or(ring->status, PV_RING_STATUS_ALIVE);

   pthread_mutex_lock(&ctx->lock);
   ring->next = ctx->rings;
   ctx->rings = ring;
   pthread_mutex_unlock(&ctx->lock);
   /* Poll from the start: the guest may have written commands already
    * (docs/protocol/venus.md §8). */
   if (pthread_create(&ring->thread, NULL, ring_thread, ring) != 0) {
      pthread_mutex_lock(&ctx->lock);
      ctx->rings = ring->next;
      pthread_mutex_unlock(&ctx->lock);
      ring_free(ring);
      return pv_cs_fail(r, "cannot start a ring thread");
   }
   if (ring->monitor_period_us && !pv_render_monitor_start(ctx))
      return pv_cs_fail(r, "cannot start the ring monitor");
   if (pv_debug(PV_DEBUG_RING))
      pv_info("ring %llx: started, %u-byte buffer, idle after %llu us, monitor every %u us",
              (unsigned long long)id, ring->buffer_size,
              (unsigned long long)(ring->idle_timeout_ns / 1000), ring->monitor_period_us);
   return true;
}

struct pv_render_ring *pv_render_ring_find(struct pv_gpu_context *ctx, uint64_t id)
{
   pthread_mutex_lock(&ctx->lock);
   struct pv_render_ring *ring = ctx->rings;
   while (ring && ring->id != id)
      ring = ring->next;
   pthread_mutex_unlock(&ctx->lock);
   return ring;
}

static void wake_ring(struct pv_render_ring *ring)
{
   atomic_fetch_add_explicit(&ring->wake, 1, memory_order_release);
   pv_os_futex_wake((uint32_t *)&ring->wake);
}

void pv_render_ring_destroy(struct pv_gpu_context *ctx, struct pv_render_ring *ring)
{
   pthread_mutex_lock(&ctx->lock);
   struct pv_render_ring **link = &ctx->rings;
   while (*link && *link != ring)
      link = &(*link)->next;
   if (*link)
      *link = ring->next;
   pthread_mutex_unlock(&ctx->lock);
   atomic_store(&ring->stop, true);
   wake_ring(ring);
   pthread_join(ring->thread, NULL);
   if (pv_debug(PV_DEBUG_RING))
      pv_info("ring %llx: stopped", (unsigned long long)ring->id);
   ring_free(ring);
}

void pv_render_ring_notify(struct pv_render_ring *ring)
{
   wake_ring(ring);
}

bool pv_render_ring_wait_head(struct pv_render_ring *ring, uint32_t seqno)
{
   /* The guest asks for a seqno it has already written into the ring (the tail is stored
    * before the request is sent on the other channel). One past the tail could only be
    * reached by the guest writing more, which it will not do while it waits: refuse it
    * rather than block the context stream for ever. */
   uint32_t tail = atomic_load_explicit(ring->tail, memory_order_acquire);
   if ((uint32_t)(seqno - tail) - 1u < 0x7fffffffu)
      return false;
   atomic_fetch_add_explicit(&ring->head_waiters, 1, memory_order_seq_cst);
   for (;;) {
      uint32_t published = atomic_load_explicit(&ring->head_published, memory_order_seq_cst);
      uint32_t head = atomic_load_explicit(ring->head, memory_order_acquire);
      /* Head and seqno are free-running u32 counters: compare modulo 2^32. */
      if ((uint32_t)(head - seqno) <= 0x7fffffffu || ring_should_stop(ring))
         break;
      wake_ring(ring);
      pv_os_futex_wait((uint32_t *)&ring->head_published, published, 1000000);
   }
   atomic_fetch_sub_explicit(&ring->head_waiters, 1, memory_order_relaxed);
   return true;
}

void pv_render_ring_submit_virtqueue_seqno(struct pv_render_ring *ring, uint64_t seqno)
{
   atomic_store_explicit(&ring->virtqueue_seqno, seqno, memory_order_release);
   wake_ring(ring);
}

void pv_render_ring_wait_virtqueue_seqno(struct pv_render_ring *ring, uint64_t seqno)
{
   for (;;) {
      uint32_t wake = atomic_load_explicit(&ring->wake, memory_order_acquire);
      if (atomic_load_explicit(&ring->virtqueue_seqno, memory_order_acquire) >= seqno ||
          ring_should_stop(ring))
         return;
      pv_os_futex_wait((uint32_t *)&ring->wake, wake, 1000000);
   }
}

void pv_render_rings_set_status(struct pv_gpu_context *ctx, uint32_t bits)
{
   pthread_mutex_lock(&ctx->lock);
   for (struct pv_render_ring *ring = ctx->rings; ring; ring = ring->next) {
      atomic_fetch_or(ring->status, bits);
      if (bits & PV_RING_STATUS_FATAL)
         wake_ring(ring);
   }
   pthread_mutex_unlock(&ctx->lock);
}

/* One thread per context keeps ALIVE set on monitored rings, even while a ring thread is
 * blocked in a long vkWaitForFences: the guest aborts if it stays clear for ~3.5 s. */
static void *monitor_thread(void *arg)
{
   struct pv_gpu_context *ctx = arg;
   for (;;) {
      uint32_t wake = atomic_load(&ctx->monitor_wake);
      if (wake & 1)
         break;
      uint64_t period_us = 3000000;
      pthread_mutex_lock(&ctx->lock);
      for (struct pv_render_ring *ring = ctx->rings; ring; ring = ring->next) {
         if (!ring->monitor_period_us)
            continue;
         atomic_fetch_or(ring->status, PV_RING_STATUS_ALIVE);
         if (ring->monitor_period_us < period_us)
            period_us = ring->monitor_period_us;
      }
      pthread_mutex_unlock(&ctx->lock);
      /* A third of the period leaves room for a late wake-up. */
      pv_os_futex_wait((uint32_t *)&ctx->monitor_wake, wake, period_us * 1000 / 3);
   }
   return NULL;
}

bool pv_render_monitor_start(struct pv_gpu_context *ctx)
{
   pthread_mutex_lock(&ctx->lock);
   bool start = !ctx->monitor_running;
   ctx->monitor_running = true;
   pthread_mutex_unlock(&ctx->lock);
   if (start && pthread_create(&ctx->monitor, NULL, monitor_thread, ctx) != 0) {
      ctx->monitor_running = false;
      return false;
   }
   return true;
}

void pv_render_monitor_stop(struct pv_gpu_context *ctx)
{
   if (!ctx->monitor_running)
      return;
   atomic_fetch_or(&ctx->monitor_wake, 1);
   pv_os_futex_wake((uint32_t *)&ctx->monitor_wake);
   pthread_join(ctx->monitor, NULL);
   ctx->monitor_running = false;
}
