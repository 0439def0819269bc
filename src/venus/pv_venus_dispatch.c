/* Decoding a Venus command stream one command at a time and handing each to its handler. */
#include "venus/pv_venus_dispatch.h"

#include "util/pv_arena.h"
#include "util/pv_crash.h"
#include "util/pv_log.h"
#include "util/pv_os.h"

const char *pv_venus_command_name(uint32_t command_id)
{
   if (command_id < PV_VENUS_COMMAND_LIMIT && pv_venus_commands[command_id].name)
      return pv_venus_commands[command_id].name;
   return "unknown";
}

bool pv_venus_dispatch_command(struct pv_venus_dispatch *d)
{
   struct pv_cs_reader *r = d->reader;
   r->command_offset = pv_cs_offset(r);
   r->command_id = pv_cs_read_u32(r);
   d->command_id = r->command_id;
   d->command_flags = pv_cs_read_u32(r);
   if (r->failed)
      return false;
   /* There is no length prefix: a command we cannot decode leaves no way to find the next
    * one, so an unknown id ends the stream (docs/protocol/venus.md §2). */
   pv_venus_exec_fn exec =
         d->command_id < PV_VENUS_COMMAND_LIMIT ? pv_venus_exec_table[d->command_id] : NULL;
   if (!exec) {
      const char *why =
            d->command_id < PV_VENUS_COMMAND_LIMIT && pv_venus_commands[d->command_id].unsupported
                  ? pv_venus_commands[d->command_id].unsupported
                  : "no such command";
      return pv_cs_fail(r, "%s is not supported (%s)", pv_venus_command_name(d->command_id), why);
   }
   /* Logged once done, with the time the handler took: where a guest's time goes. */
   const bool trace = pv_debug(PV_DEBUG_PROTOCOL);
   const uint64_t start_ns = trace ? pv_os_now_ns() : 0;
   pv_crash_note_command(d->command_id, pv_venus_commands[d->command_id].name);
   exec(d);
   if (trace)
      pv_info("protocol: %s (id %u, flags 0x%x) at stream offset %zu: %.3f ms%s",
              pv_venus_command_name(d->command_id), d->command_id, d->command_flags,
              (size_t)r->command_offset, (double)(pv_os_now_ns() - start_ns) / 1e6,
              r->failed ? ", failed" : "");
   /* Decoded arguments live only for the command. */
   if (r->arena)
      pv_arena_reset(r->arena);
   return !r->failed;
}
