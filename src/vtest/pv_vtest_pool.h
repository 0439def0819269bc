/* The vtest server's pool of ready workers (`serve --ready N`): worker processes that have
 * loaded the host driver and prepared a host instance before any client comes, so that a
 * new guest does not wait for that. The accept loop hands a client's fd to one of them and
 * starts a replacement; with none ready it forks a worker for the client as without a pool.
 * Everything here runs on the accept loop's thread. */
#ifndef PV_VTEST_POOL_H
#define PV_VTEST_POOL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vtest/pv_vtest.h"
#include "vtest/pv_vtest_worker.h"

struct pv_vtest_ready_worker {
   pid_t pid;
   int fd;      /* the server's end of its channel; -1 once the worker closed it */
   bool ready;  /* it said so: the host instance is prepared, it waits for a client */
   bool killed; /* took too long to get ready, killed; waits to be reaped */
   uint64_t started_ns, ready_ns;
};

struct pv_vtest_pool {
   const struct pv_vtest_worker_env *env;
   unsigned size;  /* how many to keep */
   unsigned count; /* workers[0..count): started and not yet handed a client or reaped */
   struct pv_vtest_ready_worker workers[PV_VTEST_READY_MAX];
   unsigned failures;      /* ready workers in a row that died without serving anyone */
   uint64_t next_start_ns; /* back-off after failures: no new ready worker before this */
};

void pv_vtest_pool_init(struct pv_vtest_pool *pool, const struct pv_vtest_worker_env *env,
                        unsigned size);
/* Starts ready workers until there are size of them (unless backing off from failures), and
 * kills one stuck getting ready. Forking is all it does here: the slow part runs in the
 * child, so the accept loop is never held up by a refill. */
void pv_vtest_pool_fill(struct pv_vtest_pool *pool);
/* The channels to poll, into fds (room for PV_VTEST_READY_MAX); returns how many. */
size_t pv_vtest_pool_poll_fds(const struct pv_vtest_pool *pool, struct pollfd *fds);
/* After poll: notes the workers that became ready and the channels that closed. */
void pv_vtest_pool_handle(struct pv_vtest_pool *pool, const struct pollfd *fds, size_t count);
/* Hands the client to a ready worker and closes fd here: returns that worker's pid, which
 * the pool forgets, and its channel (pv_vtest_worker.h), now the caller's. 0 when no worker is
 * ready (fd is still the caller's). */
pid_t pv_vtest_pool_hand_off(struct pv_vtest_pool *pool, int fd, int *channel);
/* The server reaped pid: true when it was one of the pool's, which is then logged and
 * replaced (after a back-off when they keep dying). */
bool pv_vtest_pool_reaped(struct pv_vtest_pool *pool, pid_t pid, int status);
/* Milliseconds until pv_vtest_pool_fill has something to do; -1 when nothing is due. */
int pv_vtest_pool_timeout_ms(const struct pv_vtest_pool *pool);
/* Kills and reaps every worker still in the pool. */
void pv_vtest_pool_finish(struct pv_vtest_pool *pool);

#endif
