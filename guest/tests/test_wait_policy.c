/* Unit tests of the fast-wait layer's polling policy: deadlines, overflow, the sleeping phase. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "pv_wait_policy.h"

static uint64_t now_ns(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Timeout 0 is "look once": the first relax already says the deadline has passed. */
static void test_timeout_zero(void **state)
{
   struct pv_wait_policy w;
   pv_wait_policy_init(&w, 0);
   assert_false(pv_wait_policy_relax(&w));
}

/* UINT64_MAX, and any timeout that overflows the clock, never ends. */
static void test_forever(void **state)
{
   struct pv_wait_policy w;
   pv_wait_policy_init(&w, UINT64_MAX);
   assert_int_equal(w.deadline_ns, UINT64_MAX);
   pv_wait_policy_init(&w, UINT64_MAX - 5);
   assert_int_equal(w.deadline_ns, UINT64_MAX);
   for (int i = 0; i < 1000; i++)
      assert_true(pv_wait_policy_relax(&w));
}

/* A 2 ms timeout: relax returns true until the deadline and false only after it, and the
 * naps stay within their cap. */
static void test_deadline(void **state)
{
   struct pv_wait_policy w;
   pv_wait_policy_init(&w, 2000000);
   uint64_t start = w.start_ns;
   unsigned relaxes = 0;
   while (pv_wait_policy_relax(&w))
      relaxes++;
   uint64_t end = now_ns();
   assert_true(relaxes > 0);
   assert_true(end >= start + 2000000);
   assert_true(w.sleep_ns <= 100000);
}

/* Past the busy phases the naps grow from the first step, and stop at their cap. Counted in
 * naps, not in time: on a loaded machine one nap may outlast a short deadline. */
static void test_naps_grow(void **state)
{
   struct pv_wait_policy w;
   pv_wait_policy_init(&w, 10000000000ull);
   while (w.sleep_ns <= 5000 && pv_wait_policy_relax(&w))
      ;
   assert_true(w.sleep_ns > 5000);
   for (int naps = 0; naps < 20; naps++)
      assert_true(pv_wait_policy_relax(&w));
   assert_int_equal(w.sleep_ns, 100000);
}

int main(void)
{
   const struct CMUnitTest tests[] = {
         cmocka_unit_test(test_timeout_zero),
         cmocka_unit_test(test_forever),
         cmocka_unit_test(test_naps_grow),
         cmocka_unit_test(test_deadline),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
