/* The vtest server's worker processes: children forked from the server, each serving the
 * connections of one guest process. The server never loads a Vulkan driver, so a fork copies no
 * driver state (no driver threads, locks or device fds): a worker loads its own. */
#ifndef PV_VTEST_WORKER_H
#define PV_VTEST_WORKER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <pearvisor/pv_gpu.h>

#include "vtest/pv_vtest.h"

/* The signals the server's accept loop handles; a worker gives them back to their default. */
#define PV_VTEST_SERVER_SIGNAL_COUNT 3
extern const int pv_vtest_server_signals[PV_VTEST_SERVER_SIGNAL_COUNT];

/* What a worker takes over from its server. */
struct pv_vtest_worker_env {
   const struct pv_vtest_options *options;
   sigset_t mask; /* the server's signal mask from before it blocked its own signals */
   pid_t server_pid;
};

/* In a child just forked: default handling of the server's signals and its old mask, death
 * with the server, and no fd of the server's but stdin, stdout, stderr and keep_fd. false
 * when the server is gone already. */
bool pv_vtest_worker_enter(const struct pv_vtest_worker_env *env, int keep_fd);
/* The channel between the server and a serving worker (a stream socketpair): the server sends
 * PV_VTEST_CHANNEL_CONNECTION with the fd of another connection of the worker's guest process
 * (Mesa opens one per VkInstance), the worker answers PV_VTEST_CHANNEL_ENDED for every
 * connection it has finished, and once all it was sent have ended the server sends
 * PV_VTEST_CHANNEL_BYE and sends nothing more. Bytes on a stream keep their order, so a
 * connection sent before the bye is served, never lost. */
#define PV_VTEST_CHANNEL_CONNECTION 'C'
#define PV_VTEST_CHANNEL_ENDED      'E'
#define PV_VTEST_CHANNEL_BYE        'B'

/* A worker on its end of a stream socketpair to the server. A ready one (prepare) first
 * prepares the host instance (pv_gpu_prepare) and sends one byte; then it waits for one byte
 * carrying a client's fd, confines itself, and serves that client and any more connections
 * that come on the channel, until they have all ended and the server said bye or went. A
 * worker that does not prepare creates its renderer inside the sandbox. Exits when the server
 * closes the channel before a client came. */
_Noreturn void pv_vtest_worker_run(const struct pv_vtest_worker_env *env, int channel,
                                   bool prepare);

#endif
