/* Venus command-stream reader and writer: the non-inline, bounds-checked primitives. */
#include "venus/pv_cs.h"

#include <stdarg.h>
#include <stdio.h>

#include "util/pv_arena.h"

/* Bounds on one decoded array (pv_cs_alloc_array); no count from the guest is trusted.
 * - 1 GiB in all: the reference renderer caps a stream's scratch memory there.
 * - max(64 MiB, 64 x the bytes left in the stream). An input element costs at least 4 wire
 *   bytes and decodes into at most a few hundred host bytes, so an honest input array fits in
 *   64 x its wire size. Output arrays travel as a bare count with no element bytes
 *   (VkExtensionProperties[n]), so they rely on the floor: 64 MiB holds 258,000
 *   VkExtensionProperties of 260 bytes, far beyond any real output array. */
#define PV_CS_MAX_ARRAY_BYTES   (1ull << 30)
#define PV_CS_ARRAY_FLOOR_BYTES (64ull << 20)
#define PV_CS_ARRAY_EXPANSION   64u

void pv_cs_reader_init(struct pv_cs_reader *r, const void *data, size_t size,
                       struct pv_arena *arena, const struct pv_cs_handles *handles)
{
   r->begin = r->cur = data;
   /* No stream at all (NULL, 0) is an empty one; NULL + 0 would be undefined behaviour
    * (fuzz_ring found the ring reader resetting its reader that way). */
   r->end = size ? r->begin + size : r->begin;
   r->arena = arena;
   r->handles = handles;
   r->failed = false;
   r->depth = 0;
   r->command_id = 0;
   r->command_offset = 0;
   r->error[0] = 0;
}

bool pv_cs_fail(struct pv_cs_reader *r, const char *fmt, ...)
{
   if (!r->failed) {
      char message[128]; /* leaves room for the prefix in r->error */
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(message, sizeof(message), fmt, ap);
      va_end(ap);
      snprintf(r->error, sizeof(r->error), "command %u at offset %zu: %s", r->command_id,
               r->command_offset, message);
   }
   r->failed = true;
   r->cur = r->end; /* nothing more is read */
   return false;
}

void pv_cs_read_bytes(struct pv_cs_reader *r, void *dst, size_t n)
{
   const void *p = pv_cs_take(r, n);
   if (p && n) /* dst may be NULL for an empty array; memcpy must not see it */
      memcpy(dst, p, n);
}

void *pv_cs_alloc_array(struct pv_cs_reader *r, uint64_t count, size_t size)
{
   if (count == 0 || r->failed)
      return NULL;
   /* Checked by division first, so count * size cannot overflow. */
   if (size == 0 || count > PV_CS_MAX_ARRAY_BYTES / size) {
      pv_cs_fail(r, "array of %llu elements of %zu bytes exceeds 1 GiB", (unsigned long long)count,
                 size);
      return NULL;
   }
   size_t bytes = (size_t)(count * size);
   size_t left = (size_t)(r->end - r->cur);
   if (bytes > PV_CS_ARRAY_FLOOR_BYTES && bytes / PV_CS_ARRAY_EXPANSION > left) {
      pv_cs_fail(r, "array of %zu bytes with only %zu bytes left in the stream", bytes, left);
      return NULL;
   }
   void *p = r->arena ? pv_arena_alloc(r->arena, bytes) : NULL;
   if (!p)
      pv_cs_fail(r, "no memory for %zu bytes of arguments", bytes);
   return p;
}

uint64_t pv_cs_read_array_size(struct pv_cs_reader *r, uint64_t expected)
{
   uint64_t n = pv_cs_read_u64(r);
   if (n != 0 && n != expected) {
      pv_cs_fail(r, "array size %llu, expected %llu", (unsigned long long)n,
                 (unsigned long long)expected);
      return 0;
   }
   return n;
}

uint64_t pv_cs_read_required_array_size(struct pv_cs_reader *r, uint64_t expected, const char *what)
{
   uint64_t n = pv_cs_read_array_size(r, expected);
   if (n == 0 && expected != 0 && !r->failed)
      pv_cs_fail(r, "%s is NULL where %llu elements are required", what,
                 (unsigned long long)expected);
   return n;
}

void pv_cs_read_fixed_array_size(struct pv_cs_reader *r, uint64_t declared)
{
   uint64_t n = pv_cs_read_u64(r);
   if (n != declared && !r->failed)
      pv_cs_fail(r, "fixed array size %llu, declared %llu", (unsigned long long)n,
                 (unsigned long long)declared);
}

bool pv_cs_read_pointer(struct pv_cs_reader *r)
{
   uint64_t marker = pv_cs_read_u64(r);
   if (marker > 1) {
      pv_cs_fail(r, "pointer marker %llu is neither 0 nor 1", (unsigned long long)marker);
      return false;
   }
   return marker == 1;
}

void pv_cs_read_required_pointer(struct pv_cs_reader *r)
{
   if (!pv_cs_read_pointer(r) && !r->failed)
      pv_cs_fail(r, "a required pointer is NULL");
}

const char *pv_cs_read_string(struct pv_cs_reader *r)
{
   uint64_t length = pv_cs_read_u64(r);
   if (length == 0)
      return NULL;
   if (length > (uint64_t)(r->end - r->cur)) {
      pv_cs_fail(r, "string of %llu bytes, %zu left", (unsigned long long)length,
                 (size_t)(r->end - r->cur));
      return NULL;
   }
   char *s = pv_cs_alloc_array(r, length, 1);
   if (!s)
      return NULL;
   pv_cs_read_bytes(r, s, (size_t)length);
   if (!r->failed && s[length - 1] != 0) {
      pv_cs_fail(r, "string not NUL-terminated");
      return NULL;
   }
   return r->failed ? NULL : s;
}

void pv_cs_read_char_array(struct pv_cs_reader *r, char *dst, size_t declared)
{
   pv_cs_read_fixed_array_size(r, declared);
   pv_cs_read_bytes(r, dst, declared);
   if (declared)
      dst[declared - 1] = 0;
}

uint64_t pv_cs_read_handle(struct pv_cs_reader *r, VkObjectType type)
{
   return pv_cs_translate(r, pv_cs_read_u64(r), type);
}

void pv_cs_read_stype(struct pv_cs_reader *r, VkStructureType expected)
{
   uint32_t stype = pv_cs_read_u32(r);
   if (!r->failed && stype != (uint32_t)expected)
      pv_cs_fail(r, "sType %u, expected %u", stype, (uint32_t)expected);
}

void pv_cs_writer_init(struct pv_cs_writer *w, void *data, size_t size)
{
   w->begin = w->cur = data;
   w->end = w->begin + size;
   w->overflow = false;
}

void pv_cs_write_bytes(struct pv_cs_writer *w, const void *src, size_t n)
{
   void *p = pv_cs_reserve(w, n);
   if (p && n)
      memcpy(p, src, n);
}

void pv_cs_write_string(struct pv_cs_writer *w, const char *s)
{
   if (!s) {
      pv_cs_write_u64(w, 0);
      return;
   }
   size_t n = strlen(s) + 1;
   pv_cs_write_u64(w, n);
   pv_cs_write_bytes(w, s, n);
}
