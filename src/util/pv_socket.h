/* Whole-message I/O on stream sockets, with an fd passed alongside (SCM_RIGHTS), and the
 * process at a socket's other end. */
#ifndef PV_SOCKET_H
#define PV_SOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Sends every byte of iov[0..count) (retrying short writes and EINTR; never SIGPIPE), with
 * pass_fd attached to the first byte unless it is -1. The caller keeps pass_fd. false when
 * the peer is gone or the send fails. iov is consumed (its entries are advanced). */
bool pv_socket_send(int fd, struct iovec *iov, int count, int pass_fd);
/* Receives exactly size bytes. An fd arriving with them is stored in *got_fd (which the
 * caller must set to -1 first, and then owns); any further fds are closed. false when the
 * peer leaves first or the read fails; *got_fd may still have been set. */
bool pv_socket_recv(int fd, void *data, size_t size, int *got_fd);

/* The process at the other end of a connected UNIX socket: its pid and its start time (clock
 * ticks after boot), which tells a reused pid apart. */
struct pv_socket_peer {
   pid_t pid;
   uint64_t start;
};
/* false when the peer is unknown: it is in another pid namespace (pid 0) or its /proc entry
 * cannot be read (it has gone already). */
bool pv_socket_peer_of(int fd, struct pv_socket_peer *peer);

#endif
