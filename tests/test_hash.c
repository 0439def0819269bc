/* Unit tests of the u64 -> pointer hash map: basics, growth, tombstones, churn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/pv_hash.h"

/* Distinct non-NULL values without allocating: the map never dereferences them. */
static void *value_of(uint64_t key)
{
   return (void *)(uintptr_t)(key * 16 + 8);
}

static void test_basics(void **state)
{
   struct pv_hash map;
   pv_hash_init(&map);
   assert_null(pv_hash_lookup(&map, 1));
   assert_null(pv_hash_remove(&map, 1));
   assert_int_equal(pv_hash_count(&map), 0);

   assert_true(pv_hash_insert(&map, 1, value_of(1)));
   assert_true(pv_hash_insert(&map, UINT64_MAX, value_of(2)));
   assert_ptr_equal(pv_hash_lookup(&map, 1), value_of(1));
   assert_ptr_equal(pv_hash_lookup(&map, UINT64_MAX), value_of(2));
   assert_null(pv_hash_lookup(&map, 2));
   assert_int_equal(pv_hash_count(&map), 2);

   /* Duplicates, key 0 and NULL values are refused and change nothing. */
   assert_false(pv_hash_insert(&map, 1, value_of(3)));
   assert_false(pv_hash_insert(&map, 0, value_of(3)));
   assert_false(pv_hash_insert(&map, 3, NULL));
   assert_null(pv_hash_lookup(&map, 0));
   assert_null(pv_hash_lookup(&map, 3));
   assert_ptr_equal(pv_hash_lookup(&map, 1), value_of(1));
   assert_int_equal(pv_hash_count(&map), 2);

   assert_ptr_equal(pv_hash_remove(&map, 1), value_of(1));
   assert_null(pv_hash_remove(&map, 1));
   assert_null(pv_hash_remove(&map, 0));
   assert_null(pv_hash_lookup(&map, 1));
   assert_int_equal(pv_hash_count(&map), 1);

   /* A removed key can be bound again. */
   assert_true(pv_hash_insert(&map, 1, value_of(4)));
   assert_ptr_equal(pv_hash_lookup(&map, 1), value_of(4));
   pv_hash_finish(&map);
}

static void test_growth(void **state)
{
   struct pv_hash map;
   pv_hash_init(&map);
   /* Sequential ids, as Mesa hands them out, and widely spread ones. */
   enum { count = 100000 };
   for (uint64_t i = 1; i <= count; i++) {
      assert_true(pv_hash_insert(&map, i, value_of(i)));
      assert_true(pv_hash_insert(&map, i << 40, value_of(i << 40)));
   }
   assert_int_equal(pv_hash_count(&map), 2 * count);
   for (uint64_t i = 1; i <= count; i++) {
      assert_ptr_equal(pv_hash_lookup(&map, i), value_of(i));
      assert_ptr_equal(pv_hash_lookup(&map, i << 40), value_of(i << 40));
   }
   assert_null(pv_hash_lookup(&map, count + 1));
   /* Load stays under 70%. */
   assert_true(map.count * 10 <= map.capacity * 7);
   pv_hash_finish(&map);
}

static void test_tombstones_keep_probes_going(void **state)
{
   struct pv_hash map;
   pv_hash_init(&map);
   enum { count = 5000 };
   for (uint64_t i = 1; i <= count; i++)
      assert_true(pv_hash_insert(&map, i, value_of(i)));
   /* Removing every other key leaves tombstones inside probe runs of the survivors. */
   for (uint64_t i = 1; i <= count; i += 2)
      assert_ptr_equal(pv_hash_remove(&map, i), value_of(i));
   assert_int_equal(pv_hash_count(&map), count / 2);
   for (uint64_t i = 1; i <= count; i++) {
      if (i % 2)
         assert_null(pv_hash_lookup(&map, i));
      else
         assert_ptr_equal(pv_hash_lookup(&map, i), value_of(i));
   }
   /* Reinserting reuses tombstones and still refuses live duplicates. */
   for (uint64_t i = 1; i <= count; i += 2)
      assert_true(pv_hash_insert(&map, i, value_of(i + 1)));
   for (uint64_t i = 2; i <= count; i += 2)
      assert_false(pv_hash_insert(&map, i, value_of(i)));
   for (uint64_t i = 1; i <= count; i++)
      assert_ptr_equal(pv_hash_lookup(&map, i), value_of(i % 2 ? i + 1 : i));
   assert_int_equal(pv_hash_count(&map), count);
   pv_hash_finish(&map);
}

static void test_churn_stays_small(void **state)
{
   struct pv_hash map;
   pv_hash_init(&map);
   /* A long session creates and destroys objects with ever-growing ids while only a few live
    * at once; tombstones must be recycled, not make the table double forever. */
   enum { live = 10 };
   for (uint64_t i = 1; i <= live; i++)
      assert_true(pv_hash_insert(&map, i, value_of(i)));
   for (uint64_t i = live + 1; i < 1000000; i++) {
      assert_true(pv_hash_insert(&map, i, value_of(i)));
      assert_ptr_equal(pv_hash_remove(&map, i - live), value_of(i - live));
   }
   assert_int_equal(pv_hash_count(&map), live);
   assert_true(map.capacity <= 128);
   for (uint64_t i = 1000000 - live; i < 1000000; i++)
      assert_ptr_equal(pv_hash_lookup(&map, i), value_of(i));
   pv_hash_finish(&map);
}

struct visit {
   uint64_t key_sum;
   size_t calls;
};

static void visit_entry(uint64_t key, void *value, void *data)
{
   struct visit *v = data;
   assert_ptr_equal(value, value_of(key));
   v->key_sum += key;
   v->calls++;
}

static void test_foreach(void **state)
{
   struct pv_hash map;
   pv_hash_init(&map);
   struct visit v = {0};
   pv_hash_foreach(&map, visit_entry, &v);
   assert_int_equal(v.calls, 0);

   for (uint64_t i = 1; i <= 1000; i++)
      assert_true(pv_hash_insert(&map, i, value_of(i)));
   for (uint64_t i = 1; i <= 1000; i += 3)
      pv_hash_remove(&map, i);
   uint64_t expected = 0;
   size_t expected_calls = 0;
   for (uint64_t i = 1; i <= 1000; i++) {
      if ((i - 1) % 3) {
         expected += i;
         expected_calls++;
      }
   }
   pv_hash_foreach(&map, visit_entry, &v);
   assert_int_equal(v.calls, expected_calls);
   assert_int_equal(v.key_sum, expected);
   pv_hash_finish(&map);
}

int main(void)
{
   const struct CMUnitTest tests[] = {
         cmocka_unit_test(test_basics),
         cmocka_unit_test(test_growth),
         cmocka_unit_test(test_tombstones_keep_probes_going),
         cmocka_unit_test(test_churn_stays_small),
         cmocka_unit_test(test_foreach),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
