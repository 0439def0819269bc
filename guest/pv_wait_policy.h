/* The fast-wait layer's polling policy: spin, then yield, then growing sleeps, to a deadline. */
#ifndef PV_WAIT_POLICY_H
#define PV_WAIT_POLICY_H

#include <stdbool.h>
#include <stdint.h>

/* One wait call's state: caller-owned, set up by pv_wait_policy_init. */
struct pv_wait_policy {
   uint64_t start_ns;    /* CLOCK_MONOTONIC when the wait began */
   uint64_t deadline_ns; /* UINT64_MAX: no deadline */
   uint64_t sleep_ns;    /* the next nap of the sleeping phase */
};

/* timeout_ns is Vulkan's: relative, 0 = look once, UINT64_MAX (or any overflow) = forever. */
void pv_wait_policy_init(struct pv_wait_policy *w, uint64_t timeout_ns);
/* Called after a poll found the condition unmet: false once the deadline has passed (the
 * caller returns VK_TIMEOUT; its last poll came at the deadline, or within a pause or a yield
 * of it), else waits a while, by how long the wait has lasted, and returns true for the next
 * poll. */
bool pv_wait_policy_relax(struct pv_wait_policy *w);

#endif
