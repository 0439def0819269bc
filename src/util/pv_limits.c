/* Per-guest limits: defaults, names, parsing and reporting (pv_limits.h). */
#include "util/pv_limits.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/pv_log.h"

#define KIB (1ull << 10)
#define MIB (1ull << 20)
#define GIB (1ull << 30)

/* The defaults are far above what a real guest uses (the stock venus guest running vulkaninfo,
 * glmark2 through zink, piglit and tests/programs holds thousands of objects, a few rings and
 * at most hundreds of MiB, sends streams of kilobytes to a few MiB) and low enough that one
 * guest cannot take the host from the others:
 * - memory: 64 GiB, a host's worth of GPU memory on most machines (lavapipe's comes out of
 *   host RAM); a guest meant to use more of a bigger GPU gets --limit memory=.
 * - objects: 1M; a table entry with its state is about 100 bytes, so at most ~100 MiB.
 * - rings: 64; the stock guest makes one per instance.
 * - stream: 64 MiB, the vtest payload cap (PV_VTEST_MAX_PAYLOAD); a ring's buffer is at most
 *   16 MiB, so no ring batch reaches it.
 * - reply: 64 MiB; the guest sizes its reply stream for its largest reply (query results,
 *   pipeline caches), kilobytes to a few MiB.
 * - syncs: 1M live sync objects (24 MiB), the cap vtest always had.
 * - waits: 256 pending SYNC_WAITs; each holds a pipe fd, and a worker's usual soft fd limit is
 *   1024 (Mesa 25 sends none).
 * - connections: 64 at once, half of them at most from one guest process (whose worker takes
 *   them as fast as they come); each guest process is a worker process (on lavapipe 55 MiB
 *   RSS idle). */
const struct pv_limit_info pv_limit_infos[PV_LIMIT_COUNT] = {
      [PV_LIMIT_MEMORY] = {"memory", "bytes of live device memory per guest", 64 * GIB, true},
      [PV_LIMIT_OBJECTS] = {"objects", "live Vulkan objects per guest", 1u << 20, false},
      [PV_LIMIT_RINGS] = {"rings", "live Venus rings per guest", 64, false},
      [PV_LIMIT_STREAM] = {"stream", "bytes of one command stream or ring batch", 64 * MIB, true},
      [PV_LIMIT_REPLY] = {"reply", "bytes of one reply stream", 64 * MIB, true},
      [PV_LIMIT_SYNCS] = {"syncs", "live vtest sync objects per connection", 1u << 20, false},
      [PV_LIMIT_WAITS] = {"waits", "pending vtest SYNC_WAITs per connection", 256, false},
      [PV_LIMIT_CONNECTIONS] = {"connections", "vtest connections served at once", 64, false},
};

/* The field of each limit, in enum order (the struct's order). */
static uint64_t *field(struct pv_gpu_limits *limits, enum pv_limit which)
{
   uint64_t *fields[PV_LIMIT_COUNT] = {
         &limits->memory, &limits->objects, &limits->rings, &limits->stream,
         &limits->reply,  &limits->syncs,   &limits->waits, &limits->connections,
   };
   return fields[which];
}

struct pv_gpu_limits pv_limits_resolve(const struct pv_gpu_limits *in)
{
   struct pv_gpu_limits out = in ? *in : (struct pv_gpu_limits){0};
   for (int i = 0; i < PV_LIMIT_COUNT; i++) {
      uint64_t *value = field(&out, i);
      if (!*value)
         *value = pv_limit_infos[i].default_value;
   }
   return out;
}

uint64_t pv_limits_get(const struct pv_gpu_limits *limits, enum pv_limit which)
{
   return *field((struct pv_gpu_limits *)limits, which);
}

static bool parse_value(const struct pv_limit_info *info, const char *text, uint64_t *value)
{
   if (*text < '0' || *text > '9')
      return false;
   char *end;
   errno = 0;
   unsigned long long n = strtoull(text, &end, 10);
   if (errno)
      return false;
   uint64_t unit = 1;
   if (info->bytes && *end) {
      switch (*end++) {
      case 'K':
      case 'k':
         unit = KIB;
         break;
      case 'M':
      case 'm':
         unit = MIB;
         break;
      case 'G':
      case 'g':
         unit = GIB;
         break;
      default:
         return false;
      }
   }
   if (*end || n == 0 || n > UINT64_MAX / unit)
      return false;
   *value = n * unit;
   return true;
}

bool pv_limits_parse(struct pv_gpu_limits *limits, const char *text, char *error, size_t error_size)
{
   const char *eq = strchr(text, '=');
   size_t name_len = eq ? (size_t)(eq - text) : strlen(text);
   for (int i = 0; i < PV_LIMIT_COUNT; i++) {
      const struct pv_limit_info *info = &pv_limit_infos[i];
      if (strlen(info->name) != name_len || strncmp(info->name, text, name_len) != 0)
         continue;
      uint64_t value;
      if (!eq || !parse_value(info, eq + 1, &value)) {
         snprintf(error, error_size, "limit '%.*s' takes a positive integer%s, not '%s'",
                  (int)name_len, text, info->bytes ? " (bytes; K, M, G suffixes)" : "",
                  eq ? eq + 1 : "");
         return false;
      }
      *field(limits, i) = value;
      return true;
   }
   char names[128] = "";
   for (int i = 0; i < PV_LIMIT_COUNT; i++)
      snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "",
               pv_limit_infos[i].name);
   snprintf(error, error_size, "unknown limit '%.*s' (known: %s)", (int)name_len, text, names);
   return false;
}

bool pv_limits_parse_list(struct pv_gpu_limits *limits, const char *text, char *error,
                          size_t error_size)
{
   struct pv_gpu_limits parsed = *limits;
   char item[128];
   for (const char *start = text; *start;) {
      size_t len = strcspn(start, ",");
      if (len >= sizeof(item)) {
         snprintf(error, error_size, "limit '%.*s...' is too long", 32, start);
         return false;
      }
      memcpy(item, start, len);
      item[len] = '\0';
      if (!pv_limits_parse(&parsed, item, error, error_size))
         return false;
      start += len + (start[len] == ',');
   }
   *limits = parsed;
   return true;
}

bool pv_limits_from_env(const char *var, struct pv_gpu_limits *limits)
{
   const char *text = getenv(var);
   char error[256];
   if (!text || pv_limits_parse_list(limits, text, error, sizeof(error)))
      return true;
   pv_error("%s=%s: %s", var, text, error);
   return false;
}

/* A value as a person would write it for --limit: 64G rather than 68719476736. */
static void format_value(const struct pv_limit_info *info, uint64_t value, char *out, size_t size)
{
   static const struct {
      uint64_t unit;
      char suffix;
   } units[] = {{GIB, 'G'}, {MIB, 'M'}, {KIB, 'K'}};
   for (size_t i = 0; info->bytes && i < sizeof(units) / sizeof(units[0]); i++) {
      if (value % units[i].unit == 0) {
         snprintf(out, size, "%llu%c", (unsigned long long)(value / units[i].unit),
                  units[i].suffix);
         return;
      }
   }
   snprintf(out, size, "%llu", (unsigned long long)value);
}

size_t pv_limits_help(char *out, size_t size)
{
   size_t len = 0;
   for (int i = 0; i < PV_LIMIT_COUNT; i++) {
      const struct pv_limit_info *info = &pv_limit_infos[i];
      char value[32];
      format_value(info, info->default_value, value, sizeof(value));
      int n =
            snprintf(len < size ? out + len : NULL, len < size ? size - len : 0,
                     "                    %-12s %s (default %s)\n", info->name, info->what, value);
      len += n > 0 ? (size_t)n : 0;
   }
   return len;
}

void pv_limits_report(atomic_uint *reported, enum pv_limit which, const char *who, uint64_t limit,
                      const char *consequence)
{
   if (atomic_fetch_or(reported, 1u << which) & (1u << which))
      return;
   char value[32];
   format_value(&pv_limit_infos[which], limit, value, sizeof(value));
   pv_warn("%s: reached the %s limit (%s: %s): %s (logged once)", who, pv_limit_infos[which].name,
           pv_limit_infos[which].what, value, consequence);
}
