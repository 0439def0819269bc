/* Logging to stderr with a process tag, and the PV_DEBUG / PV_PERF switches. */
#include "util/pv_log.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *log_tag = "pearvisor";
/* Atomic: pv_log_set_level may run while other threads log. */
static atomic_int log_level = PV_LOG_WARN;
static unsigned debug_flags, perf_flags;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

struct pv_flag_name {
   const char *name;
   unsigned flag;
   bool not_in_all; /* a switch with effects beyond the log (files written) is named alone */
};

/* The flags a comma list in the environment variable var names; a name it does not know is
 * reported (the logger is not ready yet, so straight to stderr) rather than dropped unseen. */
static unsigned parse_list(const char *var, const struct pv_flag_name *names, size_t count)
{
   const char *list = getenv(var);
   unsigned flags = 0;
   if (!list)
      return 0;
   char *copy = strdup(list), *save = NULL;
   for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok;
        tok = strtok_r(NULL, ",", &save)) {
      bool all = strcmp(tok, "all") == 0, known = all;
      for (size_t i = 0; i < count; i++) {
         if ((all && !names[i].not_in_all) || strcmp(tok, names[i].name) == 0) {
            flags |= names[i].flag;
            known = true;
         }
      }
      if (!known)
         fprintf(stderr, "%s: warning: %s: unknown switch '%s' ignored\n", log_tag, var, tok);
   }
   free(copy);
   return flags;
}

static void read_env(void)
{
   static const struct pv_flag_name debug_names[] = {{"protocol", PV_DEBUG_PROTOCOL},
                                                     {"vtest", PV_DEBUG_VTEST},
                                                     {"ring", PV_DEBUG_RING},
                                                     {"validate", PV_DEBUG_VALIDATE},
                                                     {"record", PV_DEBUG_RECORD, true}};
   static const struct pv_flag_name perf_names[] = {
         {"no_lazy_wake", PV_PERF_NO_LAZY_WAKE},
         {"no_fence_pool", PV_PERF_NO_FENCE_POOL},
         {"no_timeline_waiters", PV_PERF_NO_TIMELINE_WAITERS}};
   debug_flags = parse_list("PV_DEBUG", debug_names, sizeof(debug_names) / sizeof(debug_names[0]));
   perf_flags = parse_list("PV_PERF", perf_names, sizeof(perf_names) / sizeof(perf_names[0]));
   const char *level = getenv("PV_LOG");
   /* The debug switches log at info level: asking for one is asking to see it. */
   if (debug_flags && !level)
      atomic_store_explicit(&log_level, PV_LOG_INFO, memory_order_relaxed);
   static const char *const levels[] = {"error", "warn", "info", "debug"};
   for (int i = 0; level && i < 4; i++) {
      if (strcmp(level, levels[i]) == 0)
         atomic_store_explicit(&log_level, i, memory_order_relaxed);
   }
}

void pv_log_init(const char *tag)
{
   log_tag = tag;
   pthread_once(&env_once, read_env);
}

void pv_log_set_level(enum pv_log_level level)
{
   pthread_once(&env_once, read_env);
   atomic_store_explicit(&log_level, (int)level, memory_order_relaxed);
}

void pv_log(enum pv_log_level level, const char *fmt, ...)
{
   static const char *const names[] = {"error", "warning", "info", "debug"};
   pthread_once(&env_once, read_env);
   if ((int)level > atomic_load_explicit(&log_level, memory_order_relaxed))
      return;
   /* One write per line, so lines of concurrent threads and workers do not interleave. */
   char line[1024];
   int n = snprintf(line, sizeof(line), "%s[%d]: %s: ", log_tag, (int)getpid(), names[level]);
   va_list ap;
   va_start(ap, fmt);
   if (n >= 0 && (size_t)n < sizeof(line))
      n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
   va_end(ap);
   if (n < 0)
      return;
   size_t len = (size_t)n < sizeof(line) - 1 ? (size_t)n : sizeof(line) - 2;
   line[len++] = '\n';
   ssize_t written = write(STDERR_FILENO, line, len);
   (void)written;
}

bool pv_debug(enum pv_debug_flag flag)
{
   pthread_once(&env_once, read_env);
   return debug_flags & flag;
}

bool pv_perf_disabled(enum pv_perf_flag flag)
{
   pthread_once(&env_once, read_env);
   return perf_flags & flag;
}
