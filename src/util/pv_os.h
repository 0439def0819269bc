/* OS helpers: shared memory, wake-ups, clocks. The only place with Linux-specific calls. */
#ifndef PV_OS_H
#define PV_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A zero-filled memfd of exactly size bytes, sealed against shrinking and growing.
 * Returns the fd or -1 (errno set). */
int pv_os_memfd_create(const char *name, size_t size);
/* Maps fd read/write shared; NULL on failure. */
void *pv_os_map_shared(int fd, size_t size);
void pv_os_unmap(void *ptr, size_t size);

uint64_t pv_os_now_ns(void); /* CLOCK_MONOTONIC */

/* A wake-up word for one sleeper: pv_os_futex_wait sleeps while *word == expected (or until
 * timeout_ns passes, 0 = forever); pv_os_futex_wake wakes all sleepers. */
void pv_os_futex_wait(uint32_t *word, uint32_t expected, uint64_t timeout_ns);
void pv_os_futex_wake(uint32_t *word);

#endif
