/* A minimal vtest client for the tests (vtest_client.c). */
#ifndef PV_TEST_VTEST_CLIENT_H
#define PV_TEST_VTEST_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How long a test waits for something that should happen at once before failing. */
#define TEST_WAIT_MS 5000

void send_raw(int fd, const void *data, size_t size);
/* One message: [count][id] + count dwords. */
void send_msg(int fd, uint32_t id, const uint32_t *words, uint32_t count);
bool wait_readable(int fd, int timeout_ms);
void read_exact(int fd, void *data, size_t size);
/* Reads one reply, checks its id, returns its payload length in dwords. */
uint32_t read_reply(int fd, uint32_t id, uint32_t *words, uint32_t max);
/* Receives the fd message the way Mesa does: a 1-byte recvmsg with room for one int. */
int receive_fd(int fd);
/* The server closed the connection: the next read sees EOF. */
void assert_closed(int fd);
/* The connection still answers a ping. */
void assert_alive(int fd);

#endif
