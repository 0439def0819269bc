/* The vtest server's worker processes: children forked from the server, each serving one
 * client. The server never loads a Vulkan driver, so a fork copies no driver state (no
 * driver threads, locks or device fds): a worker loads its own. */
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
/* Confines the worker, serves the client on fd until it leaves, and exits. gpu: the worker's
 * renderer when it made (and prepared) one before; NULL creates one inside the sandbox. */
_Noreturn void pv_vtest_worker_serve(const struct pv_vtest_worker_env *env, struct pv_gpu *gpu,
                                     int fd);
/* A ready worker, on its end of a stream socketpair to the server: prepares the host instance
 * (pv_gpu_prepare), sends one byte, waits for one byte carrying a client's fd, then serves
 * that client (pv_vtest_worker_serve). Exits when the server closes the channel first. */
_Noreturn void pv_vtest_worker_ready(const struct pv_vtest_worker_env *env, int channel);

#endif
