/* Unit tests of the bump allocator: zeroing, alignment, the limit, chunk reuse across resets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/pv_arena.h"

static bool all_zero(const void *p, size_t n)
{
   const unsigned char *b = p;
   for (size_t i = 0; i < n; i++) {
      if (b[i])
         return false;
   }
   return true;
}

static void test_zeroed_and_aligned(void **state)
{
   struct pv_arena arena;
   pv_arena_init(&arena, 1 << 20);
   /* Odd sizes would misalign the next allocation without rounding. */
   for (size_t size = 1; size < 200; size += 7) {
      unsigned char *p = pv_arena_alloc(&arena, size);
      assert_non_null(p);
      assert_int_equal((uintptr_t)p % 8, 0);
      assert_true(all_zero(p, size));
      memset(p, 0xa5, size);
   }
   /* Memory dirtied before a reset comes back zeroed. */
   pv_arena_reset(&arena);
   for (size_t size = 1; size < 200; size += 7) {
      unsigned char *p = pv_arena_alloc(&arena, size);
      assert_non_null(p);
      assert_true(all_zero(p, size));
   }
   pv_arena_finish(&arena);
}

static void test_allocations_do_not_overlap(void **state)
{
   struct pv_arena arena;
   pv_arena_init(&arena, 64 << 20);
   /* Enough to span several chunks; each allocation keeps its own fill. */
   enum { count = 4000, size = 100 };
   unsigned char *ptrs[count];
   for (int i = 0; i < count; i++) {
      ptrs[i] = pv_arena_alloc(&arena, size);
      assert_non_null(ptrs[i]);
      memset(ptrs[i], i & 0xff, size);
   }
   for (int i = 0; i < count; i++) {
      for (int j = 0; j < size; j++)
         assert_int_equal(ptrs[i][j], i & 0xff);
   }
   pv_arena_finish(&arena);
}

static void test_chunks_kept_across_reset(void **state)
{
   struct pv_arena arena;
   pv_arena_init(&arena, 1 << 20);
   void *first = pv_arena_alloc(&arena, 100);
   void *second = pv_arena_alloc(&arena, 200);
   assert_non_null(first);
   assert_non_null(second);
   pv_arena_reset(&arena);
   /* The same shape of allocations lands in the same memory: no trip to malloc. */
   assert_ptr_equal(pv_arena_alloc(&arena, 100), first);
   assert_ptr_equal(pv_arena_alloc(&arena, 200), second);
   pv_arena_finish(&arena);
}

static void test_large_allocation(void **state)
{
   struct pv_arena arena;
   pv_arena_init(&arena, 16 << 20);
   /* Bigger than a chunk: gets a chunk of its own, zeroed, and is given back on reset. */
   for (int round = 0; round < 3; round++) {
      unsigned char *small = pv_arena_alloc(&arena, 16);
      unsigned char *big = pv_arena_alloc(&arena, 4 << 20);
      assert_non_null(small);
      assert_non_null(big);
      assert_true(all_zero(big, 4 << 20));
      memset(big, 0xff, 4 << 20);
      pv_arena_reset(&arena);
   }
   pv_arena_finish(&arena);
}

static void test_limit(void **state)
{
   struct pv_arena arena;
   pv_arena_init(&arena, 1024);
   assert_non_null(pv_arena_alloc(&arena, 1000));
   assert_non_null(pv_arena_alloc(&arena, 24));
   /* 1024 bytes handed out: the next byte is over the limit. */
   assert_null(pv_arena_alloc(&arena, 1));
   /* The limit counts bytes between resets, not over the arena's life. */
   pv_arena_reset(&arena);
   assert_non_null(pv_arena_alloc(&arena, 1024));
   pv_arena_reset(&arena);
   assert_null(pv_arena_alloc(&arena, 1025));
   /* A failed allocation does not use up the budget. */
   assert_non_null(pv_arena_alloc(&arena, 1024));
   pv_arena_finish(&arena);
}

static void test_huge_sizes(void **state)
{
   struct pv_arena arena;
   pv_arena_init(&arena, SIZE_MAX);
   /* Rounding SIZE_MAX up to 8 wraps; chunk header plus size would wrap too. */
   assert_null(pv_arena_alloc(&arena, SIZE_MAX));
   assert_null(pv_arena_alloc(&arena, SIZE_MAX - 7));
   assert_non_null(pv_arena_alloc(&arena, 8));
   pv_arena_finish(&arena);
}

static void test_finish_without_use(void **state)
{
   struct pv_arena arena;
   pv_arena_init(&arena, 1024);
   pv_arena_reset(&arena);
   pv_arena_finish(&arena);
   /* finish leaves the arena empty, so finishing twice is harmless. */
   pv_arena_finish(&arena);
}

int main(void)
{
   const struct CMUnitTest tests[] = {
         cmocka_unit_test(test_zeroed_and_aligned),
         cmocka_unit_test(test_allocations_do_not_overlap),
         cmocka_unit_test(test_chunks_kept_across_reset),
         cmocka_unit_test(test_large_allocation),
         cmocka_unit_test(test_limit),
         cmocka_unit_test(test_huge_sizes),
         cmocka_unit_test(test_finish_without_use),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
