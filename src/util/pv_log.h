/* Logging to stderr with a process tag, and the PV_DEBUG / PV_PERF switches. */
#ifndef PV_LOG_H
#define PV_LOG_H

#include <stdbool.h>

enum pv_log_level { PV_LOG_ERROR, PV_LOG_WARN, PV_LOG_INFO, PV_LOG_DEBUG };

/* PV_DEBUG is a comma list: "all", "protocol" (every command), "vtest" (every message),
 * "ring" (ring state changes), "validate" (the Khronos validation layer on the host instance,
 * its messages logged as "validation: ..." errors and warnings), "record" (every context-stream
 * submit and ring batch written to PV_RECORD_DIR, default the current directory, for replay by
 * the fuzz harnesses: docs/fuzzing.md; not part of "all", since it writes files). PV_PERF is a
 * comma list of fast paths to turn off, to measure what each is worth: "no_lazy_wake" (a FUTEX_WAKE
 * after every command, whether anyone waits or not), "no_fence_pool" (a VkFence created and
 * destroyed per vtest fence), "no_timeline_waiters" (one thread waits for the vtest fences of every
 * timeline of a context, in turn). */
enum pv_debug_flag {
   PV_DEBUG_PROTOCOL = 1u << 0,
   PV_DEBUG_VTEST = 1u << 1,
   PV_DEBUG_RING = 1u << 2,
   PV_DEBUG_VALIDATE = 1u << 3,
   PV_DEBUG_RECORD = 1u << 4,
};
enum pv_perf_flag {
   PV_PERF_NO_LAZY_WAKE = 1u << 0,
   PV_PERF_NO_FENCE_POOL = 1u << 1,
   PV_PERF_NO_TIMELINE_WAITERS = 1u << 2,
};

void pv_log_init(const char *tag);
void pv_log_set_level(enum pv_log_level level);
void pv_log(enum pv_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool pv_debug(enum pv_debug_flag flag);
bool pv_perf_disabled(enum pv_perf_flag flag);

#define pv_error(...) pv_log(PV_LOG_ERROR, __VA_ARGS__)
#define pv_warn(...)  pv_log(PV_LOG_WARN, __VA_ARGS__)
#define pv_info(...)  pv_log(PV_LOG_INFO, __VA_ARGS__)

#endif
