/* Launching a vtest server as a child process on a private socket, and stopping it. */
#ifndef PV_LAUNCH_H
#define PV_LAUNCH_H

#include <stdbool.h>
#include <sys/types.h>

struct pv_launch {
   pid_t pid;
   char socket_path[108]; /* sizeof(sockaddr_un.sun_path) */
   char dir[64];          /* private directory holding the socket */
};

/* Starts `pearvisor serve --socket <private path> [--icd host_icd]`, or, when server_cmd is
 * not NULL, `sh -c "<server_cmd>"` with the socket path in $PV_SOCKET (for measuring other
 * vtest servers). Returns once the socket accepts connections (or false after 10 s / if the
 * child died, with a message on stderr). */
bool pv_launch_start(struct pv_launch *server, const char *server_cmd, const char *host_icd);
/* SIGTERM, then SIGKILL after 2 s; removes the socket and directory. */
void pv_launch_stop(struct pv_launch *server);

/* Sets the environment that points a Mesa venus guest at the server (VN_DEBUG=vtest,
 * VTEST_SOCKET_NAME, VK_DRIVER_FILES/VK_ICD_FILENAMES = venus_icd). */
void pv_launch_guest_env(const struct pv_launch *server, const char *venus_icd);

#define PV_DEFAULT_VENUS_ICD "/usr/share/vulkan/icd.d/virtio_icd.json"

#endif
