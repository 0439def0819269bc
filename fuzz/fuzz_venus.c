/* libFuzzer harness for the generated Venus decoders: the input is decoded as a command stream. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "venus_test_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Smaller than the renderer's 256 MiB per command so that inputs asking for huge arrays stay
 * fast; they still reach the same limit checks. */
#define PV_FUZZ_ARENA_LIMIT (32u << 20)

/* Ids below 1000 name an object of any type, so inputs get past handle look-ups into the
 * structs behind them; larger ids take the unknown-object path. */
static bool fuzz_lookup(void *data, uint64_t id, VkObjectType type, uint64_t *handle)
{
   *handle = id;
   return id < 1000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
   static const struct pv_venus_handlers decode_only;
   static const struct pv_cs_handles handles = {fuzz_lookup, NULL};
   static uint8_t reply[1 << 20]; /* Mesa's reply pool starts at 1 MiB */
   struct pv_venus_test t;
   pv_venus_test_init(&t, &decode_only, reply, sizeof(reply), PV_FUZZ_ARENA_LIMIT);
   pv_venus_test_begin(&t, data, size, &handles);

   /* pv_venus_dispatch_command resets the arena after each command, as a ring does. */
   while (!pv_cs_at_end(&t.reader)) {
      size_t start = pv_cs_offset(&t.reader);
      t.reply_size = 0;
      if (!pv_venus_dispatch_command(&t.dispatch)) {
         if (!t.reader.error[0])
            abort(); /* every failure must say why */
         break;
      }
      /* A decoded command is whole 4-byte units, at least its id and flags. */
      size_t length = pv_cs_offset(&t.reader) - start;
      if (length < 8 || length % 4)
         abort();
      /* A reply is written only when asked for and starts with the command's id. (The
       * hand-decoded transport commands, 178-191 and 251-253, write none: Mesa never asks.) */
      if (t.reply_size) {
         uint32_t id = 0;
         if (t.reply_size >= sizeof(id))
            memcpy(&id, reply, sizeof(id));
         if (!(t.dispatch.command_flags & PV_VENUS_GENERATE_REPLY) || id != t.dispatch.command_id)
            abort();
      }
   }
   pv_venus_test_finish(&t);
   return 0;
}
