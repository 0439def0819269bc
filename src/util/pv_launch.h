/* Launching a vtest server as a child process on a private socket, and stopping it. */
#ifndef PV_LAUNCH_H
#define PV_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
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

/* The guest-side layer VK_LAYER_PEARVISOR_fast_wait (docs/guest-layer.md) is an implicit layer,
 * and the Vulkan loader of Debian 12 (1.3.239) has no variable naming a folder of those (its
 * VK_LAYER_PATH and VK_ADD_LAYER_PATH are for explicit layers): it looks in
 * <dir>/vulkan/implicit_layer.d of its XDG folders. So the layer's location is such a <dir>. */
#define PV_GUEST_LAYER_MANIFEST "vulkan/implicit_layer.d/VkLayer_pearvisor_fast_wait.json"

/* The folder holding PV_GUEST_LAYER_MANIFEST next to the running executable, made absolute:
 * <exe dir>/guest in a build tree, <exe dir>/../share where installed. False when neither has
 * it (a copy in the loader's own folders, /usr/share and the like, is still found there). */
bool pv_launch_find_guest_layer(char *dir, size_t size);
/* Sets the guest environment that turns the layer on (PEARVISOR_FAST_WAIT=1, and dir, unless
 * NULL, first in XDG_DATA_DIRS) or off (PEARVISOR_NO_FAST_WAIT=1, which also keeps a copy in
 * the loader's own folders off). For the child, after pv_launch_guest_env. */
void pv_launch_guest_layer_env(bool enable, const char *dir);

#endif
