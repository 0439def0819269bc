/* The fast-wait layer's polling policy: spin, then yield, then growing sleeps, to a deadline. */
#include "pv_wait_policy.h"

#include <sched.h>
#include <time.h>

/*
 * The numbers. A round trip through venus to the host GPU and back costs ~35 µs; the stock
 * guest waits by yielding ~15 times and then sleeping in 160 µs steps, so that round trip is
 * seen after ~230 µs. What is polled (vkGetFenceStatus, vkGetSemaphoreCounterValue,
 * vkGetQueryPoolResults without WAIT) reads shared memory the host writes (venus feedback):
 * ~100 ns, no syscall, so polling often is cheap.
 *
 * Spin for the first 50 µs: that covers the 35 µs round trip with room, so a short GPU job is
 * seen within a poll (~1 µs) of its end. The CPU pause between polls keeps the loop from
 * hammering the cache line the host writes, and yields the core's pipeline to a hyper-thread.
 */
#define PV_WAIT_SPIN_NS 50000ull
/* 16 pauses: ~0.7 µs where a pause is ~140 cycles (Skylake and later), ~50 ns where it is ~10:
 * either way small against the round trip, and a poll stays a small share of the loop. */
#define PV_WAIT_PAUSES_PER_POLL 16
/* Then sched_yield between polls until 200 µs: as quick as spinning while the core is idle,
 * but a runnable thread (another of the application's, or the vtest server on the same core
 * when the guest is a process) gets the core. 200 µs is the CPU budget of one wait call: the
 * thread cannot use more CPU than the wall time these phases are bounded by. */
#define PV_WAIT_BUSY_NS 200000ull
/* Then sleep, 5 µs first, doubling to 100 µs: a job that ends soon after the busy phase is
 * seen soon, and a long one (a frame, a large dispatch) costs ~10k cheap polls a second at
 * most, well under 1% of a core. Linux adds the thread's timer slack (50 µs unless the
 * application changed it) to every nap, so the short steps really last 55-90 µs: still below
 * the stock 160 µs, and the slack is the application's to set, not the layer's. */
#define PV_WAIT_SLEEP_FIRST_NS 5000ull
#define PV_WAIT_SLEEP_MAX_NS   100000ull

static uint64_t now_ns(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void cpu_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
   __builtin_ia32_pause();
#elif defined(__aarch64__)
   /* isb rather than yield: yield is a no-op on most arm64 cores, isb stalls for a few tens
    * of cycles, which is what a pause is for. */
   __asm__ __volatile__("isb" ::: "memory");
#endif
}

void pv_wait_policy_init(struct pv_wait_policy *w, uint64_t timeout_ns)
{
   w->start_ns = now_ns();
   w->deadline_ns = timeout_ns > UINT64_MAX - w->start_ns ? UINT64_MAX : w->start_ns + timeout_ns;
   w->sleep_ns = PV_WAIT_SLEEP_FIRST_NS;
}

bool pv_wait_policy_relax(struct pv_wait_policy *w)
{
   uint64_t now = now_ns();
   if (now >= w->deadline_ns)
      return false;
   uint64_t elapsed = now - w->start_ns;
   if (elapsed < PV_WAIT_SPIN_NS) {
      for (int i = 0; i < PV_WAIT_PAUSES_PER_POLL; i++)
         cpu_pause();
   } else if (elapsed < PV_WAIT_BUSY_NS) {
      sched_yield();
   } else {
      /* Never past the deadline: the last poll comes right at it. */
      uint64_t nap = w->sleep_ns < w->deadline_ns - now ? w->sleep_ns : w->deadline_ns - now;
      struct timespec ts = {.tv_sec = (time_t)(nap / 1000000000ull),
                            .tv_nsec = (long)(nap % 1000000000ull)};
      nanosleep(&ts, NULL); /* a signal only brings the next poll sooner */
      w->sleep_ns = w->sleep_ns * 2 < PV_WAIT_SLEEP_MAX_NS ? w->sleep_ns * 2 : PV_WAIT_SLEEP_MAX_NS;
   }
   return true;
}
