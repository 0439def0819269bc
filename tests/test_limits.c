/* Unit tests of the limits' parser, defaults and help (util/pv_limits.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/pv_limits.h"

static void test_parse_sizes_and_counts(void **state)
{
   struct pv_gpu_limits l = {0};
   char error[256];
   assert_true(pv_limits_parse(&l, "memory=4096", error, sizeof(error)));
   assert_int_equal(l.memory, 4096);
   assert_true(pv_limits_parse(&l, "memory=3K", error, sizeof(error)));
   assert_int_equal(l.memory, 3 << 10);
   assert_true(pv_limits_parse(&l, "stream=2m", error, sizeof(error)));
   assert_int_equal(l.stream, 2 << 20);
   assert_true(pv_limits_parse(&l, "reply=1G", error, sizeof(error)));
   assert_int_equal(l.reply, 1 << 30);
   assert_true(pv_limits_parse(&l, "connections=2", error, sizeof(error)));
   assert_int_equal(l.connections, 2);
   assert_true(pv_limits_parse(&l, "objects=18446744073709551615", error, sizeof(error)));
   assert_int_equal(l.objects, UINT64_MAX);
   /* The others stay as they were. */
   assert_int_equal(l.rings, 0);
   assert_int_equal(l.syncs, 0);
}

static void assert_refused(const char *text, const char *why)
{
   struct pv_gpu_limits l = {.rings = 7};
   char error[256] = "";
   assert_false(pv_limits_parse(&l, text, error, sizeof(error)));
   if (!strstr(error, why))
      fail_msg("'%s': error '%s' does not say '%s'", text, error, why);
   assert_int_equal(l.rings, 7);
}

static void test_parse_refuses_bad_input(void **state)
{
   assert_refused("bogus=1", "unknown limit 'bogus' (known: memory, objects, rings");
   assert_refused("rings", "positive integer");
   assert_refused("rings=", "positive integer");
   assert_refused("rings=0", "positive integer");
   assert_refused("rings=-1", "positive integer");
   assert_refused("rings= 1", "positive integer");
   assert_refused("rings=4K", "positive integer, not '4K'"); /* a count takes no suffix */
   assert_refused("memory=1T", "K, M, G");
   assert_refused("memory=1KB", "K, M, G");
   assert_refused("memory=17179869184G", "K, M, G"); /* overflows 64 bits */
   assert_refused("objects=18446744073709551616", "positive integer");
   assert_refused("=1", "unknown limit ''");
}

static void test_parse_list_is_all_or_nothing(void **state)
{
   struct pv_gpu_limits l = {0};
   char error[256];
   assert_true(pv_limits_parse_list(&l, "", error, sizeof(error)));
   assert_true(pv_limits_parse_list(&l, "memory=1G,objects=4096", error, sizeof(error)));
   assert_int_equal(l.memory, 1 << 30);
   assert_int_equal(l.objects, 4096);
   assert_false(pv_limits_parse_list(&l, "rings=2,waits=x", error, sizeof(error)));
   assert_int_equal(l.rings, 0);
   assert_non_null(strstr(error, "'waits'"));
}

static void test_defaults_fill_zeros(void **state)
{
   const struct pv_gpu_limits given = {.rings = 3};
   struct pv_gpu_limits l = pv_limits_resolve(&given);
   assert_int_equal(l.rings, 3);
   assert_int_equal(l.memory, 64ull << 30);
   assert_int_equal(l.objects, 1u << 20);
   assert_int_equal(l.stream, 64u << 20);
   assert_int_equal(l.connections, 64);
   for (int i = 0; i < PV_LIMIT_COUNT; i++)
      assert_int_equal(pv_limits_get(&l, i) != 0, 1);
   struct pv_gpu_limits d = pv_limits_resolve(NULL);
   assert_int_equal(d.rings, 64);
}

static void test_help_lists_every_limit_with_its_default(void **state)
{
   char help[2048];
   size_t len = pv_limits_help(help, sizeof(help));
   assert_true(len < sizeof(help));
   assert_int_equal(strlen(help), len);
   for (int i = 0; i < PV_LIMIT_COUNT; i++)
      assert_non_null(strstr(help, pv_limit_infos[i].name));
   assert_non_null(strstr(help, "(default 64G)"));
   assert_non_null(strstr(help, "(default 1048576)"));
   /* Too small a buffer: the length it needs, as snprintf says. */
   char small[8];
   assert_int_equal(pv_limits_help(small, sizeof(small)), len);
}

int main(void)
{
   const struct CMUnitTest tests[] = {
         cmocka_unit_test(test_parse_sizes_and_counts),
         cmocka_unit_test(test_parse_refuses_bad_input),
         cmocka_unit_test(test_parse_list_is_all_or_nothing),
         cmocka_unit_test(test_defaults_fill_zeros),
         cmocka_unit_test(test_help_lists_every_limit_with_its_default),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
