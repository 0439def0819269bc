/* A thread that keeps a worker process from outliving its peer. While the transport is busy
 * in a call on the guest's behalf it watches the peer's socket: if the peer has hung up it
 * cancels the call (through a callback), so a stream blocked on something that will never
 * happen lets go; the same when the process is asked to stop. Once armed it bounds teardown:
 * a process whose teardown is not done by the deadline (a GPU still running a guest's
 * endless shader) exits, and the kernel and the driver reclaim what it held. */
#ifndef PV_WATCHDOG_H
#define PV_WATCHDOG_H

#include <stdbool.h>

struct pv_watchdog;

/* Starts watching fd and stop_fd (both stay the caller's; stop_fd -1: none), a descriptor
 * that becomes readable, and stays so, when the process is asked to stop. cancel(data,
 * stop_asked) runs on the watchdog's thread at most once: after the peer hung up or a stop was
 * asked for, for a call that is still busy some 100-200 ms later (a guest's last commands before it
 * closes run to the end). NULL when no thread can be started (logged; the caller serves
 * unwatched). */
struct pv_watchdog *pv_watchdog_start(int fd, int stop_fd, const char *name,
                                      void (*cancel)(void *data, bool stop_asked), void *data);
/* Marks whether the caller is inside a call that a hang-up should cancel. */
void pv_watchdog_set_busy(struct pv_watchdog *w, bool busy);
/* From now on cancel never runs (it has returned if it was running), and unless
 * pv_watchdog_stop comes within seconds, the process logs why and exits with status 3. */
void pv_watchdog_arm_exit(struct pv_watchdog *w, unsigned seconds);
/* Stops and frees the watchdog. Accepts NULL. */
void pv_watchdog_stop(struct pv_watchdog *w);

#endif
