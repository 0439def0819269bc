/* OS helpers: shared memory, wake-ups, clocks. The only place with Linux-specific calls. */
#include "util/pv_os.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int pv_os_memfd_create(const char *name, size_t size)
{
   int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
   if (fd < 0)
      return -1;
   /* The guest maps exactly this size; seals keep either side from changing it. */
   if (ftruncate(fd, (off_t)size) != 0 ||
       fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
      int saved = errno;
      close(fd);
      errno = saved;
      return -1;
   }
   return fd;
}

void *pv_os_map_shared(int fd, size_t size)
{
   void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
   return p == MAP_FAILED ? NULL : p;
}

void pv_os_unmap(void *ptr, size_t size)
{
   if (ptr)
      munmap(ptr, size);
}

uint64_t pv_os_now_ns(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Not FUTEX_PRIVATE: the word may live in memory shared with another process. */
void pv_os_futex_wait(uint32_t *word, uint32_t expected, uint64_t timeout_ns)
{
   struct timespec ts = {(time_t)(timeout_ns / 1000000000ull), (long)(timeout_ns % 1000000000ull)};
   syscall(SYS_futex, word, FUTEX_WAIT, expected, timeout_ns ? &ts : NULL, NULL, 0);
}

void pv_os_futex_wake(uint32_t *word)
{
   syscall(SYS_futex, word, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}
