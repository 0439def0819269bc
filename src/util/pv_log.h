/* Logging to stderr with a process tag, and the PV_DEBUG / PV_PERF switches. */
#ifndef PV_LOG_H
#define PV_LOG_H

#include <stdbool.h>

enum pv_log_level { PV_LOG_ERROR, PV_LOG_WARN, PV_LOG_INFO, PV_LOG_DEBUG };

/* PV_DEBUG is a comma list: "all", "protocol" (every command), "vtest" (every message),
 * "ring" (ring state changes). PV_PERF is a comma list of fast paths to turn off: "no_spin"
 * (ring threads block as soon as a ring is empty). */
enum pv_debug_flag {
   PV_DEBUG_PROTOCOL = 1u << 0,
   PV_DEBUG_VTEST = 1u << 1,
   PV_DEBUG_RING = 1u << 2,
};
enum pv_perf_flag {
   PV_PERF_NO_SPIN = 1u << 0,
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
