/* A thread that keeps a worker process from outliving its peer (pv_watchdog.h). */
#include "util/pv_watchdog.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/pv_log.h"
#include "util/pv_os.h"

/* After a hang-up, how often the watchdog looks whether the caller has become busy. */
#define PV_WATCHDOG_TICK_MS 100

struct pv_watchdog {
   pthread_t thread;
   pthread_mutex_t lock; /* everything below but busy; held while cancel runs */
   int fd;
   int stop_fd; /* -1: none */
   int wake_fd; /* eventfd: arm or stop happened */
   char name[64];
   void (*cancel)(void *data, bool stop_asked);
   void *data;
   atomic_uint busy;   /* odd while busy; bumped at each start and end of a call */
   unsigned busy_seen; /* busy as of the last tick after the hang-up */
   bool hung_up, stop_asked, cancelled, armed, stopping;
   unsigned exit_seconds;
   uint64_t exit_at_ns;
};

static int next_timeout_ms(const struct pv_watchdog *w)
{
   if (w->armed) {
      uint64_t now = pv_os_now_ns();
      return now >= w->exit_at_ns ? 0 : (int)((w->exit_at_ns - now) / 1000000 + 1);
   }
   return (w->hung_up || w->stop_asked) && !w->cancelled ? PV_WATCHDOG_TICK_MS : -1;
}

static void *watchdog_thread(void *arg)
{
   struct pv_watchdog *w = arg;
   pthread_mutex_lock(&w->lock);
   while (!w->stopping) {
      struct pollfd fds[3] = {
            {.fd = w->wake_fd, .events = POLLIN},
            {.fd = w->hung_up || w->armed ? -1 : w->fd, .events = POLLRDHUP},
            {.fd = w->stop_asked || w->armed ? -1 : w->stop_fd, .events = POLLIN},
      };
      int timeout = next_timeout_ms(w);
      pthread_mutex_unlock(&w->lock);
      poll(fds, 3, timeout);
      uint64_t count;
      if (fds[0].revents & POLLIN)
         (void)!read(w->wake_fd, &count, sizeof(count));
      pthread_mutex_lock(&w->lock);
      if (w->stopping)
         break;
      if (w->armed && pv_os_now_ns() >= w->exit_at_ns) {
         pv_error("%s: teardown did not finish within %u s (the GPU may still be running "
                  "the guest's work); exiting, the kernel and the driver reclaim the rest",
                  w->name, w->exit_seconds);
         _exit(3);
      }
      if (fds[1].revents)
         w->hung_up = true;
      if (fds[2].revents)
         w->stop_asked = true;
      /* Only a call that has lasted a whole tick after the hang-up is cancelled: a guest
       * that sends its last commands and closes at once must not have them cut short. */
      unsigned busy = atomic_load(&w->busy);
      if ((w->hung_up || w->stop_asked) && !w->armed && !w->cancelled && (busy & 1) &&
          busy == w->busy_seen) {
         w->cancelled = true;
         w->cancel(w->data, !w->hung_up);
      }
      w->busy_seen = busy;
   }
   pthread_mutex_unlock(&w->lock);
   return NULL;
}

struct pv_watchdog *pv_watchdog_start(int fd, int stop_fd, const char *name,
                                      void (*cancel)(void *data, bool stop_asked), void *data)
{
   struct pv_watchdog *w = calloc(1, sizeof(*w));
   if (!w)
      goto fail;
   w->fd = fd;
   w->stop_fd = stop_fd;
   w->cancel = cancel;
   w->data = data;
   snprintf(w->name, sizeof(w->name), "%s", name);
   w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
   pthread_mutex_init(&w->lock, NULL);
   if (w->wake_fd >= 0 && pthread_create(&w->thread, NULL, watchdog_thread, w) == 0)
      return w;
   if (w->wake_fd >= 0)
      close(w->wake_fd);
   pthread_mutex_destroy(&w->lock);
   free(w);
fail:
   pv_error("%s: cannot start a watchdog thread; a blocked stream will not notice its guest "
            "leave",
            name);
   return NULL;
}

void pv_watchdog_set_busy(struct pv_watchdog *w, bool busy)
{
   if (w && (atomic_load_explicit(&w->busy, memory_order_relaxed) & 1) != busy)
      atomic_fetch_add(&w->busy, 1);
}

static void wake(struct pv_watchdog *w)
{
   uint64_t one = 1;
   (void)!write(w->wake_fd, &one, sizeof(one));
}

void pv_watchdog_arm_exit(struct pv_watchdog *w, unsigned seconds)
{
   if (!w)
      return;
   pthread_mutex_lock(&w->lock);
   w->armed = true;
   w->exit_seconds = seconds;
   w->exit_at_ns = pv_os_now_ns() + (uint64_t)seconds * 1000000000ull;
   pthread_mutex_unlock(&w->lock);
   wake(w);
}

void pv_watchdog_stop(struct pv_watchdog *w)
{
   if (!w)
      return;
   pthread_mutex_lock(&w->lock);
   w->stopping = true;
   pthread_mutex_unlock(&w->lock);
   wake(w);
   pthread_join(w->thread, NULL);
   close(w->wake_fd);
   pthread_mutex_destroy(&w->lock);
   free(w);
}
