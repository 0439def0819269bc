/* Unit tests of the Venus command-stream reader and writer (docs/protocol/venus.md §3-§4):
 * every primitive, truncation at every byte, lying counts, sticky failure, writer overflow. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/pv_arena.h"
#include "venus/pv_cs.h"

/* A guest buffer of exactly the stream's size, so ASan catches any read past its end. */
struct stream {
   uint8_t *data;
   size_t size;
};

static struct stream stream_copy(const void *src, size_t size)
{
   struct stream s = {malloc(size), size};
   assert_non_null(s.data); /* glibc returns a unique pointer for size 0 */
   if (size)
      memcpy(s.data, src, size);
   return s;
}

/* Stream builder: little-endian 4-byte units, like the guest writes them. */
struct builder {
   uint8_t bytes[4096];
   size_t size;
};

static void put(struct builder *b, const void *src, size_t n)
{
   assert_true(b->size + n <= sizeof(b->bytes));
   memcpy(b->bytes + b->size, src, n);
   b->size += n;
}

static void put_u32(struct builder *b, uint32_t v)
{
   put(b, &v, 4);
}

static void put_u64(struct builder *b, uint64_t v)
{
   put(b, &v, 8);
}

/* Bytes padded to 4 with junk: the guest does not zero padding, the decoder must ignore it. */
static void put_padded(struct builder *b, const void *src, size_t n)
{
   static const uint8_t junk[3] = {0xde, 0xad, 0xbe};
   put(b, src, n);
   put(b, junk, (4 - n % 4) % 4);
}

static void put_string(struct builder *b, const char *s)
{
   put_u64(b, strlen(s) + 1);
   put_padded(b, s, strlen(s) + 1);
}

struct fixture {
   struct pv_arena arena;
   struct stream stream;
   struct pv_cs_reader r;
};

static int setup(void **state)
{
   struct fixture *f = calloc(1, sizeof(*f));
   if (!f)
      return -1;
   pv_arena_init(&f->arena, 1 << 20);
   *state = f;
   return 0;
}

static int teardown(void **state)
{
   struct fixture *f = *state;
   free(f->stream.data);
   pv_arena_finish(&f->arena);
   free(f);
   return 0;
}

/* Starts a reader over an exact-size copy of what b holds. */
static struct pv_cs_reader *reader_for(struct fixture *f, const struct builder *b,
                                       const struct pv_cs_handles *handles)
{
   free(f->stream.data);
   pv_arena_reset(&f->arena);
   f->stream = stream_copy(b->bytes, b->size);
   pv_cs_reader_init(&f->r, f->stream.data, f->stream.size, &f->arena, handles);
   return &f->r;
}

static void assert_failed_with(const struct pv_cs_reader *r, const char *needle)
{
   assert_true(r->failed);
   assert_ptr_equal(r->cur, r->end);
   if (!strstr(r->error, needle))
      fail_msg("error \"%s\" lacks \"%s\"", r->error, needle);
}

static void test_u32(void **state)
{
   struct builder b = {0};
   put_u32(&b, 0x11223344);
   put_u32(&b, 0xdeadbeef);
   struct pv_cs_reader *r = reader_for(*state, &b, NULL);
   assert_false(pv_cs_at_end(r));
   assert_int_equal(pv_cs_read_u32(r), 0x11223344);
   assert_int_equal(pv_cs_offset(r), 4);
   assert_int_equal(pv_cs_read_u32(r), 0xdeadbeef);
   assert_true(pv_cs_at_end(r));
   assert_false(r->failed);
   /* Reading past the end fails instead of reading. */
   assert_int_equal(pv_cs_read_u32(r), 0);
   assert_failed_with(r, "truncated");
}

static void test_u32_little_endian(void **state)
{
   static const uint8_t bytes[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                                   0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c};
   struct builder b = {0};
   put(&b, bytes, sizeof(bytes));
   struct pv_cs_reader *r = reader_for(*state, &b, NULL);
   assert_int_equal(pv_cs_read_u32(r), 0x04030201);
   assert_int_equal(pv_cs_read_u64(r), 0x0c0b0a0908070605ull);
   assert_true(pv_cs_at_end(r));
}

static void test_u64_at_4_mod_8(void **state)
{
   struct builder b = {0};
   put_u32(&b, 7);
   put_u64(&b, 0x0123456789abcdefull);
   put_u64(&b, UINT64_MAX);
   struct pv_cs_reader *r = reader_for(*state, &b, NULL);
   assert_int_equal(pv_cs_read_u32(r), 7);
   /* malloc returns 16-byte aligned memory, so this u64 sits at an address 4 mod 8. */
   assert_int_equal((uintptr_t)r->cur % 8, 4);
   assert_int_equal(pv_cs_read_u64(r), 0x0123456789abcdefull);
   assert_int_equal((uintptr_t)r->cur % 8, 4);
   assert_int_equal(pv_cs_read_u64(r), UINT64_MAX);
   assert_true(pv_cs_at_end(r));
   assert_false(r->failed);
}

static void test_u64_needs_8_bytes(void **state)
{
   struct builder b = {0};
   put_u32(&b, 1);
   struct pv_cs_reader *r = reader_for(*state, &b, NULL);
   assert_int_equal(pv_cs_read_u64(r), 0);
   assert_failed_with(r, "need 8 bytes, 4 left");
}

static void test_f32(void **state)
{
   uint32_t nan_bits = 0x7fc00123;
   struct builder b = {0};
   float values[] = {1.5f, -0.0f, 3.0e38f};
   for (int i = 0; i < 3; i++)
      put(&b, &values[i], 4);
   put_u32(&b, nan_bits);
   struct pv_cs_reader *r = reader_for(*state, &b, NULL);
   assert_true(pv_cs_read_f32(r) == 1.5f);
   float zero = pv_cs_read_f32(r);
   assert_true(zero == 0.0f && signbit(zero));
   assert_true(pv_cs_read_f32(r) == 3.0e38f);
   /* A NaN payload survives bit for bit. */
   float nan = pv_cs_read_f32(r);
   uint32_t bits;
   memcpy(&bits, &nan, 4);
   assert_int_equal(bits, nan_bits);
   assert_false(r->failed);
}

static void test_bytes_with_padding(void **state)
{
   struct builder b = {0};
   put_padded(&b, "abcde", 5);
   put_u32(&b, 42);
   put_padded(&b, "wxyz", 4);
   put_padded(&b, "q", 1);
   struct pv_cs_reader *r = reader_for(*state, &b, NULL);
   char out[8] = {0};
   pv_cs_read_bytes(r, out, 5);
   assert_memory_equal(out, "abcde", 5);
   assert_int_equal(pv_cs_offset(r), 8);
   assert_int_equal(pv_cs_read_u32(r), 42);
   pv_cs_read_bytes(r, out, 4);
   assert_memory_equal(out, "wxyz", 4);
   /* Zero bytes: nothing read, nothing moved. */
   pv_cs_read_bytes(r, out, 0);
   pv_cs_read_bytes(r, NULL, 0);
   assert_int_equal(pv_cs_offset(r), 16);
   pv_cs_read_bytes(r, out, 1);
   assert_int_equal(out[0], 'q');
   assert_true(pv_cs_at_end(r));
   assert_false(r->failed);
}

static void test_bytes_padding_must_be_present(void **state)
{
   /* A 5-byte stream: 5 bytes of data fit, their padding does not. */
   struct builder b = {0};
   put(&b, "abcde", 5);
   struct pv_cs_reader *r = reader_for(*state, &b, NULL);
   char out[5] = {0};
   pv_cs_read_bytes(r, out, 5);
   assert_failed_with(r, "truncated");
   assert_memory_equal(out, "\0\0\0\0\0", 5);
}

static void test_string(void **state)
{
   struct builder b = {0};
   put_string(&b, "hello");
   put_u64(&b, 0); /* NULL */
   put_string(&b, "");
   put_string(&b, "abc"); /* exactly 4 bytes, no padding */
   put_u64(&b, 4);        /* an earlier NUL is allowed: the string is "a" */
   put(&b, "a\0b\0", 4);
   put_u32(&b, 99);
   struct pv_cs_reader *r = reader_for(*state, &b, NULL);
   const char *hello = pv_cs_read_string(r);
   assert_string_equal(hello, "hello");
   /* The string lives in the arena, not in the guest's buffer. */
   assert_true((const uint8_t *)hello < r->begin || (const uint8_t *)hello >= r->end);
   assert_null(pv_cs_read_string(r));
   assert_string_equal(pv_cs_read_string(r), "");
   assert_string_equal(pv_cs_read_string(r), "abc");
   assert_string_equal(pv_cs_read_string(r), "a");
   assert_int_equal(pv_cs_read_u32(r), 99);
   assert_true(pv_cs_at_end(r));
   assert_false(r->failed);
   /* It outlives the guest buffer (which the guest may rewrite at any time). */
   struct fixture *f = *state;
   memset(f->stream.data, 0, f->stream.size);
   assert_string_equal(hello, "hello");
}

static void test_string_unterminated(void **state)
{
   struct builder b = {0};
   put_u64(&b, 4);
   put(&b, "abcd", 4);
   struct pv_cs_reader *r = reader_for(*state, &b, NULL);
   assert_null(pv_cs_read_string(r));
   assert_failed_with(r, "NUL");
}

static void test_string_truncated(void **state)
{
   struct builder b = {0};
   /* A length past the end. */
   put_u64(&b, 100);
   put_padded(&b, "hello", 6);
   struct pv_cs_reader *r = reader_for(*state, &b, NULL);
   assert_null(pv_cs_read_string(r));
   assert_failed_with(r, "string of 100 bytes, 8 left");

   /* The bytes fit but their padding does not. */
   b.size = 0;
   put_u64(&b, 5);
   put(&b, "abcd", 5);
   r = reader_for(*state, &b, NULL);
   assert_null(pv_cs_read_string(r));
   assert_failed_with(r, "truncated");

   /* Huge lengths must not reach the allocator. */
   uint64_t lengths[] = {UINT64_MAX, 1ull << 63, 1ull << 32};
   for (int i = 0; i < 3; i++) {
      b.size = 0;
      put_u64(&b, lengths[i]);
      put_u32(&b, 0);
      r = reader_for(*state, &b, NULL);
      assert_null(pv_cs_read_string(r));
      assert_failed_with(r, "string of");
   }
}

static void test_string_without_arena(void **state)
{
   struct builder b = {0};
   put_string(&b, "hi");
   struct fixture *f = *state;
   reader_for(f, &b, NULL);
   f->r.arena = NULL;
   assert_null(pv_cs_read_string(&f->r));
   assert_failed_with(&f->r, "no memory");
}

static void test_char_array(void **state)
{
   struct builder b = {0};
   /* A full array whose last byte is not NUL (a lying guest): dst still ends in NUL. */
   put_u64(&b, 8);
   put(&b, "abcdefgh", 8);
   /* A 5-byte array, padded to 8. */
   put_u64(&b, 5);
   put_padded(&b, "xyz\0\0", 5);
   put_u32(&b, 77);
   struct pv_cs_reader *r = reader_for(*state, &b, NULL);
   char name[8];
   pv_cs_read_char_array(r, name, sizeof(name));
   assert_string_equal(name, "abcdefg");
   char small[5];
   pv_cs_read_char_array(r, small, sizeof(small));
   assert_string_equal(small, "xyz");
   assert_int_equal(pv_cs_read_u32(r), 77);
   assert_false(r->failed);

   /* The count must equal the declared size. */
   b.size = 0;
   put_u64(&b, 7);
   put(&b, "abcdefgh", 8);
   r = reader_for(*state, &b, NULL);
   memset(name, 'z', sizeof(name));
   pv_cs_read_char_array(r, name, sizeof(name));
   assert_failed_with(r, "fixed array size 7, declared 8");
   assert_int_equal(name[7], 0);

   /* Declared size larger than what is left. */
   b.size = 0;
   put_u64(&b, 256);
   put(&b, "abcdefgh", 8);
   r = reader_for(*state, &b, NULL);
   char big[256];
   pv_cs_read_char_array(r, big, sizeof(big));
   assert_failed_with(r, "truncated");
   assert_int_equal(big[255], 0);
}

static void test_handle_without_table(void **state)
{
   struct builder b = {0};
   put_u64(&b, 0);
   put_u64(&b, 1234567890123ull);
   struct pv_cs_reader *r = reader_for(*state, &b, NULL);
   assert_int_equal(pv_cs_read_handle(r, VK_OBJECT_TYPE_BUFFER), 0);
   assert_int_equal(pv_cs_read_handle(r, VK_OBJECT_TYPE_BUFFER), 1234567890123ull);
   assert_false(r->failed);
}

/* A table holding one buffer (id 5) and one image (id 6). */
struct lookup_table {
   int calls;
};

static bool table_lookup(void *data, uint64_t id, VkObjectType type, uint64_t *handle)
{
   struct lookup_table *t = data;
   t->calls++;
   if (id == 5 && type == VK_OBJECT_TYPE_BUFFER) {
      *handle = 0xb0ff;
      return true;
   }
   if (id == 6 && type == VK_OBJECT_TYPE_IMAGE) {
      *handle = 0x1a6e;
      return true;
   }
   return false;
}

static void test_handle_with_table(void **state)
{
   struct lookup_table t = {0};
   const struct pv_cs_handles handles = {table_lookup, &t};
   struct builder b = {0};
   put_u64(&b, 5);
   put_u64(&b, 0);
   put_u64(&b, 6);
   struct pv_cs_reader *r = reader_for(*state, &b, &handles);
   assert_int_equal(pv_cs_read_handle(r, VK_OBJECT_TYPE_BUFFER), 0xb0ff);
   /* VK_NULL_HANDLE is not looked up. */
   assert_int_equal(pv_cs_read_handle(r, VK_OBJECT_TYPE_BUFFER), 0);
   assert_int_equal(t.calls, 1);
   assert_int_equal(pv_cs_read_handle(r, VK_OBJECT_TYPE_IMAGE), 0x1a6e);
   assert_false(r->failed);
   /* An id already read translates the same way. */
   assert_int_equal(pv_cs_translate(r, 5, VK_OBJECT_TYPE_BUFFER), 0xb0ff);
   assert_int_equal(pv_cs_translate(r, 0, VK_OBJECT_TYPE_BUFFER), 0);

   /* Unknown id. */
   b.size = 0;
   put_u64(&b, 7);
   r = reader_for(*state, &b, &handles);
   assert_int_equal(pv_cs_read_handle(r, VK_OBJECT_TYPE_BUFFER), 0);
   assert_failed_with(r, "unknown or mistyped object id 7 (VkObjectType 9)");

   /* Known id of another type. */
   b.size = 0;
   put_u64(&b, 5);
   r = reader_for(*state, &b, &handles);
   assert_int_equal(pv_cs_read_handle(r, VK_OBJECT_TYPE_IMAGE), 0);
   assert_failed_with(r, "unknown or mistyped object id 5 (VkObjectType 10)");

   /* A failed reader stops looking things up. */
   int calls = t.calls;
   assert_int_equal(pv_cs_translate(r, 5, VK_OBJECT_TYPE_BUFFER), 0);
   assert_int_equal(t.calls, calls);
}

static void test_stype(void **state)
{
   struct builder b = {0};
   put_u32(&b, VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO);
   put_u32(&b, VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO);
   struct pv_cs_reader *r = reader_for(*state, &b, NULL);
   pv_cs_read_stype(r, VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO);
   assert_false(r->failed);
   pv_cs_read_stype(r, VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO);
   assert_failed_with(r, "sType 14, expected 12");

   /* A truncated sType reports the truncation, not a mismatch. */
   b.size = 0;
   put(&b, "\x0c\0", 2);
   r = reader_for(*state, &b, NULL);
   pv_cs_read_stype(r, VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO);
   assert_failed_with(r, "truncated");
}

static void test_pointer_markers(void **state)
{
   struct builder b = {0};
   put_u64(&b, 0);
   put_u64(&b, 1);
   put_u64(&b, 1);
   put_u64(&b, 2);
   struct pv_cs_reader *r = reader_for(*state, &b, NULL);
   assert_false(pv_cs_read_pointer(r));
   assert_true(pv_cs_read_pointer(r));
   pv_cs_read_required_pointer(r);
   assert_false(r->failed);
   assert_false(pv_cs_read_pointer(r));
   assert_failed_with(r, "pointer marker 2 is neither 0 nor 1");

   /* The upper half counts: 1 + 2^32 is not 1. */
   b.size = 0;
   put_u64(&b, (1ull << 32) | 1);
   r = reader_for(*state, &b, NULL);
   assert_false(pv_cs_read_pointer(r));
   assert_failed_with(r, "pointer marker 4294967297");

   b.size = 0;
   put_u64(&b, 0);
   r = reader_for(*state, &b, NULL);
   pv_cs_read_required_pointer(r);
   assert_failed_with(r, "a required pointer is NULL");

   b.size = 0;
   put_u64(&b, 3);
   r = reader_for(*state, &b, NULL);
   pv_cs_read_required_pointer(r);
   assert_failed_with(r, "pointer marker 3");
}

static void test_array_sizes(void **state)
{
   struct builder b = {0};
   put_u64(&b, 0); /* NULL, even though the count member says 3 */
   put_u64(&b, 3);
   put_u64(&b, 32); /* a fixed array */
   put_u64(&b, 4);
   struct pv_cs_reader *r = reader_for(*state, &b, NULL);
   assert_int_equal(pv_cs_read_array_size(r, 3), 0);
   assert_int_equal(pv_cs_read_array_size(r, 3), 3);
   pv_cs_read_fixed_array_size(r, 32);
   assert_false(r->failed);
   assert_int_equal(pv_cs_read_array_size(r, 3), 0);
   assert_failed_with(r, "array size 4, expected 3");

   /* A fixed array's count may not be 0. */
   b.size = 0;
   put_u64(&b, 0);
   r = reader_for(*state, &b, NULL);
   pv_cs_read_fixed_array_size(r, 16);
   assert_failed_with(r, "fixed array size 0, declared 16");

   /* A huge count is reported in full. */
   b.size = 0;
   put_u64(&b, UINT64_MAX);
   r = reader_for(*state, &b, NULL);
   assert_int_equal(pv_cs_read_array_size(r, 2), 0);
   assert_failed_with(r, "array size 18446744073709551615, expected 2");
}

static void test_alloc_array(void **state)
{
   struct fixture *f = *state;
   struct builder b = {0};
   put_u32(&b, 0);
   struct pv_cs_reader *r = reader_for(f, &b, NULL);

   /* Count 0 is a NULL array, not an error. */
   assert_null(pv_cs_alloc_array(r, 0, 8));
   assert_false(r->failed);

   /* Zeroed and 8-byte aligned. */
   uint64_t *a = pv_cs_alloc_array(r, 5, sizeof(*a));
   assert_non_null(a);
   assert_int_equal((uintptr_t)a % 8, 0);
   for (int i = 0; i < 5; i++)
      assert_int_equal(a[i], 0);

   /* An output array carries no element bytes: 300 VkExtensionProperties with 4 bytes left. */
   pv_arena_finish(&f->arena);
   pv_arena_init(&f->arena, 256 << 20);
   r->arena = &f->arena;
   assert_non_null(pv_cs_alloc_array(r, 300, sizeof(VkExtensionProperties)));
   assert_false(r->failed);
   /* Up to 64 MiB in all whatever is left. */
   assert_non_null(pv_cs_alloc_array(r, 64 << 20, 1));
   assert_false(r->failed);
   assert_null(pv_cs_alloc_array(r, (64 << 20) + 8, 1));
   assert_failed_with(r, "array of 67108872 bytes with only 4 bytes left");
}

static void test_alloc_array_scales_with_stream(void **state)
{
   struct fixture *f = *state;
   pv_arena_finish(&f->arena);
   pv_arena_init(&f->arena, 256 << 20);
   /* Beyond 64 MiB an array may take 64 times the bytes left: 65 MiB needs 1040 KiB. */
   size_t sizes[] = {1 << 20, 2 << 20};
   for (int i = 0; i < 2; i++) {
      uint8_t *bytes = calloc(1, sizes[i]);
      assert_non_null(bytes);
      free(f->stream.data);
      f->stream = stream_copy(bytes, sizes[i]);
      free(bytes);
      pv_arena_reset(&f->arena);
      pv_cs_reader_init(&f->r, f->stream.data, f->stream.size, &f->arena, NULL);
      void *p = pv_cs_alloc_array(&f->r, 65 << 20, 1);
      if (i == 0) {
         assert_null(p);
         assert_failed_with(&f->r, "with only 1048576 bytes left");
      } else {
         assert_non_null(p);
         assert_false(f->r.failed);
      }
   }
}

static void test_alloc_array_lying_counts(void **state)
{
   struct fixture *f = *state;
   struct builder b = {0};
   put_u32(&b, 0);
   struct {
      uint64_t count;
      size_t size;
      const char *error;
   } cases[] = {
         {UINT64_MAX, 8, "exceeds 1 GiB"},           /* count * size overflows */
         {(1ull << 61) + 1, 8, "exceeds 1 GiB"},     /* overflows to 8 */
         {(1ull << 30) / 4 + 1, 4, "exceeds 1 GiB"}, /* 1 GiB + 4 */
         {1ull << 32, 1, "exceeds 1 GiB"},
         {100 << 20, 1, "bytes left"},    /* over 64 MiB with 4 bytes of stream */
         {1, 0, "exceeds 1 GiB"},         /* zero-sized elements make no sense */
         {300 << 10, 1024, "bytes left"}, /* 300 MiB */
   };
   for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
      struct pv_cs_reader *r = reader_for(f, &b, NULL);
      assert_null(pv_cs_alloc_array(r, cases[i].count, cases[i].size));
      assert_failed_with(r, cases[i].error);
   }

   /* The arena's limit (1 MiB here) still applies below 64 MiB. */
   struct pv_cs_reader *r = reader_for(f, &b, NULL);
   assert_null(pv_cs_alloc_array(r, 2 << 20, 1));
   assert_failed_with(r, "no memory for 2097152 bytes");

   /* No arena, no arrays. */
   r = reader_for(f, &b, NULL);
   r->arena = NULL;
   assert_null(pv_cs_alloc_array(r, 1, 4));
   assert_failed_with(r, "no memory");
}

/* How a generated decoder reads a counted u32 array: count, check, allocate, elements. */
static uint32_t *decode_u32_array(struct pv_cs_reader *r, uint64_t expected)
{
   uint64_t n = pv_cs_read_array_size(r, expected);
   uint32_t *a = pv_cs_alloc_array(r, n, sizeof(*a));
   for (uint64_t i = 0; a && i < n; i++)
      a[i] = pv_cs_read_u32(r);
   return r->failed ? NULL : a;
}

static void test_lying_counts_in_stream(void **state)
{
   struct builder b = {0};
   /* The count matches its count member, which the guest also lied about: 2^40 elements. */
   put_u64(&b, 1ull << 40);
   put_u32(&b, 1);
   put_u32(&b, 2);
   struct pv_cs_reader *r = reader_for(*state, &b, NULL);
   assert_null(decode_u32_array(r, 1ull << 40));
   assert_failed_with(r, "exceeds 1 GiB");

   /* A plausible count with too few elements: the arena gives it memory, the reads fail. */
   b.size = 0;
   put_u64(&b, 1000);
   put_u32(&b, 1);
   r = reader_for(*state, &b, NULL);
   assert_null(decode_u32_array(r, 1000));
   assert_failed_with(r, "truncated");

   /* Count and count member disagree. */
   b.size = 0;
   put_u64(&b, 3);
   put_u32(&b, 1);
   put_u32(&b, 2);
   put_u32(&b, 3);
   r = reader_for(*state, &b, NULL);
   assert_null(decode_u32_array(r, 2));
   assert_failed_with(r, "array size 3, expected 2");

   /* An honest one. */
   b.size = 0;
   put_u64(&b, 3);
   put_u32(&b, 10);
   put_u32(&b, 20);
   put_u32(&b, 30);
   r = reader_for(*state, &b, NULL);
   uint32_t *a = decode_u32_array(r, 3);
   assert_non_null(a);
   assert_int_equal(a[0] + a[1] + a[2], 60);
   assert_true(pv_cs_at_end(r));
}

/* A small command with one field of every kind, the way a generated decoder reads it. */
struct sample {
   uint32_t type, flags;
   uint64_t id;
   float f;
   const char *name;
   char label[6];
   uint32_t *values;
   uint64_t buffer;
   uint8_t blob[5];
};

static void build_sample(struct builder *b)
{
   b->size = 0;
   put_u32(b, 12); /* command type */
   put_u32(b, 1);  /* flags */
   put_u64(b, 1);  /* pCreateInfo marker */
   put_u32(b, VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO);
   put_u64(b, 0);          /* pNext: none */
   put_u64(b, 0xabcdef01); /* a u64 at offset 28, 4 mod 8 */
   float f = 2.5f;
   put(b, &f, 4);
   put_string(b, "name");
   put_u64(b, 6);
   put_padded(b, "label", 6);
   put_u64(b, 2);
   put_u32(b, 100);
   put_u32(b, 200);
   put_u64(b, 5); /* a handle */
   put_u64(b, 5);
   put_padded(b, "\x01\x02\x03\x04\x05", 5);
}

static bool decode_sample(struct pv_cs_reader *r, struct sample *s)
{
   memset(s, 0, sizeof(*s));
   s->type = pv_cs_read_u32(r);
   s->flags = pv_cs_read_u32(r);
   pv_cs_read_required_pointer(r);
   pv_cs_read_stype(r, VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO);
   if (pv_cs_read_pointer(r))
      pv_cs_fail(r, "unexpected pNext");
   s->id = pv_cs_read_u64(r);
   s->f = pv_cs_read_f32(r);
   s->name = pv_cs_read_string(r);
   pv_cs_read_char_array(r, s->label, sizeof(s->label));
   s->values = decode_u32_array(r, 2);
   s->buffer = pv_cs_read_handle(r, VK_OBJECT_TYPE_BUFFER);
   pv_cs_read_fixed_array_size(r, sizeof(s->blob));
   pv_cs_read_bytes(r, s->blob, sizeof(s->blob));
   return !r->failed;
}

static void test_sample_decodes(void **state)
{
   struct lookup_table t = {0};
   const struct pv_cs_handles handles = {table_lookup, &t};
   struct builder b;
   build_sample(&b);
   struct pv_cs_reader *r = reader_for(*state, &b, &handles);
   struct sample s;
   assert_true(decode_sample(r, &s));
   assert_true(pv_cs_at_end(r));
   assert_int_equal(s.type, 12);
   assert_int_equal(s.flags, 1);
   assert_int_equal(s.id, 0xabcdef01);
   assert_true(s.f == 2.5f);
   assert_string_equal(s.name, "name");
   assert_string_equal(s.label, "label");
   assert_int_equal(s.values[0], 100);
   assert_int_equal(s.values[1], 200);
   assert_int_equal(s.buffer, 0xb0ff);
   assert_memory_equal(s.blob, "\x01\x02\x03\x04\x05", 5);
   assert_string_equal(r->error, "");
}

static void test_truncation_at_every_offset(void **state)
{
   struct fixture *f = *state;
   struct lookup_table t = {0};
   const struct pv_cs_handles handles = {table_lookup, &t};
   struct builder b;
   build_sample(&b);
   /* Every prefix, including those that cut a field in the middle, fails cleanly without
    * reading past the end of its exact-size buffer. */
   for (size_t size = 0; size < b.size; size++) {
      struct builder prefix = {0};
      put(&prefix, b.bytes, size);
      struct pv_cs_reader *r = reader_for(f, &prefix, &handles);
      r->command_id = 12;
      struct sample s;
      assert_false(decode_sample(r, &s));
      assert_ptr_equal(r->cur, r->end);
      assert_true(strncmp(r->error, "command 12 at offset 0: ", 24) == 0);
      assert_true(strstr(r->error, "truncated") || strstr(r->error, "string of"));
   }
}

static void test_sticky_failure(void **state)
{
   struct lookup_table t = {0};
   const struct pv_cs_handles handles = {table_lookup, &t};
   struct builder b = {0};
   put_u32(&b, 1);
   for (int i = 0; i < 16; i++)
      put_u64(&b, 5);
   struct fixture *f = *state;
   struct pv_cs_reader *r = reader_for(f, &b, &handles);
   pv_cs_read_stype(r, VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO);
   assert_failed_with(r, "sType 1, expected 12");
   char first[sizeof(r->error)];
   memcpy(first, r->error, sizeof(first));

   /* Reads return zeroes and never move; the data is still there but is never looked at. */
   const uint8_t *cur = r->cur;
   assert_int_equal(pv_cs_read_u32(r), 0);
   assert_int_equal(pv_cs_read_u64(r), 0);
   assert_true(pv_cs_read_f32(r) == 0.0f);
   assert_false(pv_cs_read_pointer(r));
   pv_cs_read_required_pointer(r);
   assert_null(pv_cs_read_string(r));
   assert_int_equal(pv_cs_read_array_size(r, 5), 0);
   pv_cs_read_fixed_array_size(r, 5);
   assert_null(pv_cs_alloc_array(r, 5, 8));
   assert_int_equal(pv_cs_read_handle(r, VK_OBJECT_TYPE_BUFFER), 0);
   assert_int_equal(t.calls, 0);
   pv_cs_read_stype(r, VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO);
   char bytes[4] = {1, 2, 3, 4};
   pv_cs_read_bytes(r, bytes, 4);
   assert_memory_equal(bytes, "\x01\x02\x03\x04", 4);
   char name[4] = "abc";
   pv_cs_read_char_array(r, name, sizeof(name));
   assert_null(pv_cs_take(r, 0));
   assert_true(pv_cs_at_end(r));
   assert_ptr_equal(r->cur, cur);
   assert_true(r->failed);

   /* The first failure's message stays. */
   assert_false(pv_cs_fail(r, "a later failure"));
   assert_string_equal(r->error, first);
}

static void test_error_names_command(void **state)
{
   struct builder b = {0};
   put_u32(&b, 0);
   put_u32(&b, 0);
   put_u32(&b, 3);
   struct pv_cs_reader *r = reader_for(*state, &b, NULL);
   r->command_id = 42;
   r->command_offset = 4;
   pv_cs_read_u32(r);
   pv_cs_read_u32(r);
   pv_cs_read_stype(r, VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO);
   assert_string_equal(r->error, "command 42 at offset 4: sType 3, expected 12");

   /* A long message is cut, never overflows, and keeps the prefix. */
   r = reader_for(*state, &b, NULL);
   r->command_id = UINT32_MAX;
   r->command_offset = SIZE_MAX;
   char long_message[400];
   memset(long_message, 'x', sizeof(long_message) - 1);
   long_message[sizeof(long_message) - 1] = 0;
   assert_false(pv_cs_fail(r, "%s", long_message));
   assert_true(strlen(r->error) < sizeof(r->error));
   assert_true(strncmp(r->error, "command 4294967295 at offset 18446744073709551615: xxx", 54) ==
               0);
   assert_ptr_equal(r->cur, r->end);
}

static void test_empty_stream(void **state)
{
   struct builder b = {0};
   struct pv_cs_reader *r = reader_for(*state, &b, NULL);
   assert_true(pv_cs_at_end(r));
   assert_false(r->failed);
   assert_null(pv_cs_read_string(r));
   assert_failed_with(r, "need 8 bytes, 0 left");
}

/* A reader given no buffer at all (the ring reader's reset) is an empty stream; run under
 * UBSan this also checks that no arithmetic is done on the null pointer. */
static void test_null_stream(void **state)
{
   struct pv_cs_reader r;
   pv_cs_reader_init(&r, NULL, 0, NULL, NULL);
   assert_true(pv_cs_at_end(&r));
   assert_int_equal(pv_cs_offset(&r), 0);
   assert_int_equal(pv_cs_read_u32(&r), 0);
   assert_failed_with(&r, "need 4 bytes, 0 left");
}

static void test_writer(void **state)
{
   uint8_t buffer[64];
   memset(buffer, 0xff, sizeof(buffer));
   struct pv_cs_writer w;
   pv_cs_writer_init(&w, buffer, sizeof(buffer));
   pv_cs_write_u32(&w, 0x11223344);
   pv_cs_write_u64(&w, 0x0102030405060708ull); /* at offset 4 */
   pv_cs_write_f32(&w, -1.0f);
   pv_cs_write_bytes(&w, "abcde", 5);
   pv_cs_write_bytes(&w, NULL, 0);
   pv_cs_write_string(&w, "hi");
   pv_cs_write_string(&w, NULL);
   pv_cs_write_string(&w, "");
   assert_false(w.overflow);
   assert_int_equal(pv_cs_writer_size(&w), 4 + 8 + 4 + 8 + 12 + 8 + 12);

   static const uint8_t expected[] = {
         0x44, 0x33, 0x22, 0x11, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* u32, u64 */
         0x00, 0x00, 0x80, 0xbf,                                                 /* -1.0f */
         'a',  'b',  'c',  'd',  'e',  0,    0,    0, /* bytes, zero padding */
         3,    0,    0,    0,    0,    0,    0,    0,    'h',  'i',  0,    0, /* "hi" */
         0,    0,    0,    0,    0,    0,    0,    0,                         /* NULL */
         1,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0, /* "" */
   };
   assert_memory_equal(buffer, expected, sizeof(expected));
   assert_int_equal(buffer[sizeof(expected)], 0xff);

   /* What the writer wrote, the reader reads. */
   struct builder b = {0};
   put(&b, buffer, pv_cs_writer_size(&w));
   struct pv_cs_reader *r = reader_for(*state, &b, NULL);
   assert_int_equal(pv_cs_read_u32(r), 0x11223344);
   assert_int_equal(pv_cs_read_u64(r), 0x0102030405060708ull);
   assert_true(pv_cs_read_f32(r) == -1.0f);
   char out[5];
   pv_cs_read_bytes(r, out, 5);
   assert_memory_equal(out, "abcde", 5);
   assert_string_equal(pv_cs_read_string(r), "hi");
   assert_null(pv_cs_read_string(r));
   assert_string_equal(pv_cs_read_string(r), "");
   assert_true(pv_cs_at_end(r));
   assert_false(r->failed);
}

static void test_writer_overflow(void **state)
{
   uint8_t buffer[16];
   memset(buffer, 0xff, sizeof(buffer));
   struct pv_cs_writer w;
   /* Only the first 12 bytes belong to the writer. */
   pv_cs_writer_init(&w, buffer, 12);
   pv_cs_write_u64(&w, 1);
   pv_cs_write_u64(&w, 2);
   assert_true(w.overflow);
   assert_int_equal(pv_cs_writer_size(&w), 8);
   /* Sticky: a write that would fit is not made either. */
   pv_cs_write_u32(&w, 3);
   pv_cs_write_bytes(&w, "a", 1);
   pv_cs_write_string(&w, NULL);
   pv_cs_write_f32(&w, 1.0f);
   assert_null(pv_cs_reserve(&w, 0));
   assert_int_equal(pv_cs_writer_size(&w), 8);
   for (size_t i = 8; i < sizeof(buffer); i++)
      assert_int_equal(buffer[i], 0xff);

   /* Bytes whose padding does not fit, a string whose bytes do not, huge sizes. */
   pv_cs_writer_init(&w, buffer, 10);
   pv_cs_write_bytes(&w, "0123456789", 10);
   assert_true(w.overflow);
   assert_int_equal(pv_cs_writer_size(&w), 0);

   pv_cs_writer_init(&w, buffer, 12);
   pv_cs_write_string(&w, "hello");
   assert_true(w.overflow);
   assert_int_equal(pv_cs_writer_size(&w), 8);

   pv_cs_writer_init(&w, buffer, 12);
   assert_null(pv_cs_reserve(&w, SIZE_MAX));
   assert_true(w.overflow);
   pv_cs_writer_init(&w, buffer, 12);
   assert_null(pv_cs_reserve(&w, SIZE_MAX - 2)); /* padding wraps to 0 */
   assert_true(w.overflow);
   assert_int_equal(pv_cs_writer_size(&w), 0);

   /* Exactly full is not overflow. */
   pv_cs_writer_init(&w, buffer, 12);
   pv_cs_write_string(&w, "abc");
   assert_false(w.overflow);
   assert_int_equal(pv_cs_writer_size(&w), 12);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
   const struct CMUnitTest tests[] = {
         T(test_u32),
         T(test_u32_little_endian),
         T(test_u64_at_4_mod_8),
         T(test_u64_needs_8_bytes),
         T(test_f32),
         T(test_bytes_with_padding),
         T(test_bytes_padding_must_be_present),
         T(test_string),
         T(test_string_unterminated),
         T(test_string_truncated),
         T(test_string_without_arena),
         T(test_char_array),
         T(test_handle_without_table),
         T(test_handle_with_table),
         T(test_stype),
         T(test_pointer_markers),
         T(test_array_sizes),
         T(test_alloc_array),
         T(test_alloc_array_scales_with_stream),
         T(test_alloc_array_lying_counts),
         T(test_lying_counts_in_stream),
         T(test_sample_decodes),
         T(test_truncation_at_every_offset),
         T(test_sticky_failure),
         T(test_error_names_command),
         T(test_empty_stream),
         T(test_null_stream),
         T(test_writer),
         T(test_writer_overflow),
   };
#undef T
   return cmocka_run_group_tests(tests, NULL, NULL);
}
