/* Per-guest limits (struct pv_gpu_limits): their defaults, their names, the NAME=VALUE parser
 * shared by `pearvisor serve --limit` and PEARVISOR_VIRGL_LIMITS, and the once-per-guest log
 * line of a limit reached. */
#ifndef PV_LIMITS_H
#define PV_LIMITS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pearvisor/pv_gpu.h>

enum pv_limit {
   PV_LIMIT_MEMORY,
   PV_LIMIT_OBJECTS,
   PV_LIMIT_RINGS,
   PV_LIMIT_STREAM,
   PV_LIMIT_REPLY,
   PV_LIMIT_SYNCS,
   PV_LIMIT_WAITS,
   PV_LIMIT_CONNECTIONS,
   PV_LIMIT_COUNT
};

struct pv_limit_info {
   const char *name;       /* as in --limit NAME=VALUE */
   const char *what;       /* what it counts, for help and log lines */
   uint64_t default_value; /* what 0 in struct pv_gpu_limits means */
   bool bytes;             /* a size: VALUE takes K/M/G suffixes, help prints it so */
};

extern const struct pv_limit_info pv_limit_infos[PV_LIMIT_COUNT];

/* The limits in effect: in with every 0 replaced by its default (in NULL: all defaults). */
struct pv_gpu_limits pv_limits_resolve(const struct pv_gpu_limits *in);
uint64_t pv_limits_get(const struct pv_gpu_limits *limits, enum pv_limit which);

/* Sets one limit from "NAME=VALUE" (VALUE a positive integer, for sizes with an optional K,
 * M or G suffix, powers of 1024). false, with why in error, for an unknown name or a bad
 * value; limits is then unchanged. */
bool pv_limits_parse(struct pv_gpu_limits *limits, const char *text, char *error,
                     size_t error_size);
/* The same for a comma-separated list ("memory=1G,objects=4096"); an empty list sets
 * nothing. All or nothing. */
bool pv_limits_parse_list(struct pv_gpu_limits *limits, const char *text, char *error,
                          size_t error_size);

/* Sets the limits listed in the environment variable var (as pv_limits_parse_list takes
 * them). Unset or empty sets nothing; false, logged, for a bad list, which sets nothing. */
bool pv_limits_from_env(const char *var, struct pv_gpu_limits *limits);

/* One help line per limit ("  NAME  what (default VALUE)") into out; returns the length it
 * needs, as snprintf does. */
size_t pv_limits_help(char *out, size_t size);

/* Logs, once per guest (a bit of *reported each), that guest who reached a limit: its
 * name, the limit's value and what the guest gets instead (consequence). */
void pv_limits_report(atomic_uint *reported, enum pv_limit which, const char *who, uint64_t limit,
                      const char *consequence);

#endif
