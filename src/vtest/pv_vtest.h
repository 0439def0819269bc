/* The vtest transport: a UNIX-socket server speaking Mesa's vtest protocol to venus guests. */
#ifndef PV_VTEST_H
#define PV_VTEST_H

#include <stdbool.h>

#include <pearvisor/pv_gpu.h>

#include "util/pv_sandbox.h"

struct pv_vtest_options {
   const char *socket_path;
   bool no_fork;     /* serve clients on threads of this process, sharing one renderer */
   bool print_stats; /* log each context's stats when its client leaves */
   enum pv_sandbox_mode sandbox; /* worker processes' confinement (not with no_fork) */
   unsigned ready; /* ready workers kept waiting for clients (not with no_fork); 0: none */
   /* Per guest (the renderer's and the connection's) and the server's connections; 0 in a
    * field: its default. Workers get them as they get the rest of these options. */
   struct pv_gpu_limits limits;
};

/* The most ready workers a server keeps. Each holds a loaded driver and a host instance: on
 * lavapipe an RSS of about 55 MiB (13 MiB anonymous, the rest shared library pages). */
#define PV_VTEST_READY_MAX 16

/* Serves until SIGINT/SIGTERM; returns a process exit status. The host driver is whatever
 * the process's Vulkan loader picks (VK_DRIVER_FILES, set by the caller before any thread). */
int pv_vtest_serve(const struct pv_vtest_options *options);
/* Serves one already-connected client on fd until it disconnects (or sends something that
 * cannot be framed); then destroys its context and closes fd. */
void pv_vtest_serve_client(struct pv_gpu *gpu, int fd);

#endif
