/* libFuzzer harness for the command-stream reader and writer: an input-chosen sequence of
 * primitives over input-chosen bytes, checking the reader's invariants after each step. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/pv_arena.h"
#include "venus/pv_cs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Accepts even ids whose low bits name the asked type modulo 4, so both outcomes occur. */
static bool fuzz_lookup(void *data, uint64_t id, VkObjectType type, uint64_t *handle)
{
   if (id % 2 || (id / 2) % 4 != (uint64_t)type % 4)
      return false;
   *handle = ~id;
   return true;
}

static void check(const struct pv_cs_reader *r)
{
   if (r->cur < r->begin || r->cur > r->end)
      abort();
   if (r->failed && (r->cur != r->end || !r->error[0]))
      abort();
   if (!r->failed && (r->error[0] || (r->cur - r->begin) % 4))
      abort();
}

/* One step of a decoder, chosen by op; every pointer it gets back is touched in full, so ASan
 * sees any allocation shorter than promised. */
static void step(struct pv_cs_reader *r, struct pv_cs_writer *w, uint8_t op)
{
   volatile uint8_t sink = 0;
   uint8_t arg = op >> 4;
   switch (op & 15) {
   case 0:
      pv_cs_write_u32(w, pv_cs_read_u32(r));
      break;
   case 1:
      pv_cs_write_u64(w, pv_cs_read_u64(r));
      break;
   case 2:
      pv_cs_write_f32(w, pv_cs_read_f32(r));
      break;
   case 3: {
      uint8_t bytes[16];
      pv_cs_read_bytes(r, bytes, arg);
      pv_cs_write_bytes(w, bytes, r->failed ? 0 : arg);
      break;
   }
   case 4: {
      const char *s = pv_cs_read_string(r);
      if (s && r->failed)
         abort();
      pv_cs_write_string(w, s);
      break;
   }
   case 5: {
      char name[16];
      memset(name, 'x', sizeof(name));
      size_t declared = arg ? arg : 16;
      pv_cs_read_char_array(r, name, declared);
      if (strlen(name) >= declared)
         abort();
      break;
   }
   case 6:
      pv_cs_read_handle(r, (VkObjectType)arg);
      break;
   case 7: {
      static const struct pv_cs_handles handles = {fuzz_lookup, NULL};
      const struct pv_cs_handles *saved = r->handles;
      r->handles = &handles;
      uint64_t handle = pv_cs_read_handle(r, (VkObjectType)arg);
      if (r->failed && handle)
         abort();
      r->handles = saved;
      break;
   }
   case 8:
      pv_cs_read_stype(r, (VkStructureType)arg);
      break;
   case 9:
      pv_cs_read_pointer(r);
      break;
   case 10:
      pv_cs_read_required_pointer(r);
      break;
   case 11: {
      /* A counted array of u32, as generated decoders read one. */
      uint64_t n = pv_cs_read_u64(r);
      n = pv_cs_read_array_size(r, n);
      uint32_t *a = pv_cs_alloc_array(r, n, sizeof(*a));
      for (uint64_t i = 0; a && i < n && !r->failed; i++)
         a[i] = pv_cs_read_u32(r);
      if (a)
         sink ^= ((uint8_t *)a)[n * sizeof(*a) - 1];
      break;
   }
   case 12: {
      /* A string array. */
      uint64_t n = pv_cs_read_u64(r);
      const char **a = pv_cs_alloc_array(r, n, sizeof(*a));
      for (uint64_t i = 0; a && i < n && !r->failed; i++) {
         a[i] = pv_cs_read_string(r);
         if (a[i])
            sink ^= (uint8_t)strlen(a[i]);
      }
      break;
   }
   case 13:
      pv_cs_read_fixed_array_size(r, arg);
      break;
   case 14: {
      /* An output array: a bare count, elements as large as VkExtensionProperties. */
      uint64_t n = pv_cs_read_u64(r);
      VkExtensionProperties *a = pv_cs_alloc_array(r, n, sizeof(*a));
      if (a)
         sink ^= ((uint8_t *)a)[n * sizeof(*a) - 1];
      break;
   }
   default:
      pv_cs_fail(r, "op %u", (unsigned)op);
      break;
   }
   (void)sink;
}

/* Input: one byte N, N op bytes, then the stream. The arena is small so a run stays fast;
 * its limit is exercised rather than the 64 MiB array floor. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
   if (size < 1)
      return 0;
   size_t ops = data[0];
   if (ops > size - 1)
      ops = size - 1;
   const uint8_t *program = data + 1;
   const uint8_t *stream = program + ops;

   struct pv_arena arena;
   pv_arena_init(&arena, 4 << 20);
   struct pv_cs_reader r;
   pv_cs_reader_init(&r, stream, size - 1 - ops, &arena, NULL);
   r.command_id = data[0];
   uint8_t reply[64];
   struct pv_cs_writer w;
   pv_cs_writer_init(&w, reply, sizeof(reply));

   for (size_t i = 0; i < ops; i++) {
      bool was_failed = r.failed;
      const uint8_t *cur = r.cur;
      step(&r, &w, program[i]);
      check(&r);
      /* Sticky: once failed, nothing moves. */
      if (was_failed && r.cur != cur)
         abort();
      if (w.cur < w.begin || w.cur > w.end || (w.cur - w.begin) % 4)
         abort();
   }
   pv_arena_finish(&arena);
   return 0;
}
