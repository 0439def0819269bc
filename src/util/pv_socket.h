/* Whole-message I/O on stream sockets, with an fd passed alongside (SCM_RIGHTS). */
#ifndef PV_SOCKET_H
#define PV_SOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

/* Sends every byte of iov[0..count) (retrying short writes and EINTR; never SIGPIPE), with
 * pass_fd attached to the first byte unless it is -1. The caller keeps pass_fd. false when
 * the peer is gone or the send fails. iov is consumed (its entries are advanced). */
bool pv_socket_send(int fd, struct iovec *iov, int count, int pass_fd);
/* Receives exactly size bytes. An fd arriving with them is stored in *got_fd (which the
 * caller must set to -1 first, and then owns); any further fds are closed. false when the
 * peer leaves first or the read fails; *got_fd may still have been set. */
bool pv_socket_recv(int fd, void *data, size_t size, int *got_fd);

#endif
