/* Unit tests of the bench harness's numbers: summaries, the bootstrap interval, PV_RESULT
 * parsing, and the checks that fail a phase. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench_internal.h"

static void test_summary_odd(void **state)
{
   uint64_t v[] = {50, 10, 30, 20, 40};
   struct pv_bench_summary s;
   pv_bench_summarize(v, 5, &s);
   assert_int_equal(s.n, 5);
   assert_float_equal(s.mean, 30, 1e-9);
   assert_float_equal(s.median, 30, 1e-9);
   assert_float_equal(s.min, 10, 1e-9);
   assert_float_equal(s.max, 50, 1e-9);
   /* Rank 0.99 * 4 = 3.96: 40 + 0.96 * (50 - 40). */
   assert_float_equal(s.p99, 49.6, 1e-9);
   assert_int_equal(v[0], 10); /* sorted in place, for the plot's CDF */
   assert_int_equal(v[4], 50);
}

static void test_summary_even(void **state)
{
   uint64_t v[] = {4, 1, 3, 2};
   struct pv_bench_summary s;
   pv_bench_summarize(v, 4, &s);
   assert_float_equal(s.median, 2.5, 1e-9);
   assert_float_equal(s.mean, 2.5, 1e-9);
   /* Rank 0.99 * 3 = 2.97: 3 + 0.97 * (4 - 3). */
   assert_float_equal(s.p99, 3.97, 1e-9);

   /* p99 of 1..1000: rank 989.01 between 990 and 991. */
   uint64_t *many = malloc(1000 * sizeof(*many));
   assert_non_null(many);
   for (int i = 0; i < 1000; i++)
      many[i] = (uint64_t)(1000 - i);
   pv_bench_summarize(many, 1000, &s);
   assert_float_equal(s.median, 500.5, 1e-9);
   assert_float_equal(s.p99, 990.01, 1e-6);
   free(many);
}

static void test_summary_small(void **state)
{
   uint64_t one[] = {7};
   struct pv_bench_summary s;
   pv_bench_summarize(one, 1, &s);
   assert_float_equal(s.median, 7, 1e-9);
   assert_float_equal(s.p99, 7, 1e-9);
   pv_bench_summarize(NULL, 0, &s);
   assert_int_equal(s.n, 0);
   assert_float_equal(s.median, 0, 0);
}

static void test_median_double(void **state)
{
   double odd[] = {3, 1, 2};
   double even[] = {10, 40, 20, 30};
   assert_float_equal(pv_bench_median(odd, 3), 2, 1e-12);
   assert_float_equal(pv_bench_median(even, 4), 25, 1e-12);
   assert_true(isnan(pv_bench_median(NULL, 0)));
}

static void test_bootstrap(void **state)
{
   const double native[] = {100, 104, 97, 101, 99, 103, 98};
   const double virt[] = {200, 190, 212, 205, 198, 202};
   double low, high, low2, high2;
   pv_bench_efficiency_ci(native, 7, virt, 6, &low, &high);
   /* The point estimate: median native time / median virtualized time = 100 / 201. */
   double point = 100.0 / 201.0;
   assert_true(low <= point && point <= high);
   assert_true(low < high);
   assert_true(low > 0.4 && high < 0.6);
   /* Fixed seed: the same input gives the same interval, bit for bit. */
   pv_bench_efficiency_ci(native, 7, virt, 6, &low2, &high2);
   assert_memory_equal(&low, &low2, sizeof(low));
   assert_memory_equal(&high, &high2, sizeof(high));

   /* No spread, no interval; nothing to resample, no interval at all. */
   const double same[] = {50, 50, 50};
   pv_bench_efficiency_ci(same, 3, same, 3, &low, &high);
   assert_float_equal(low, 1, 0);
   assert_float_equal(high, 1, 0);
   pv_bench_efficiency_ci(same, 0, same, 3, &low, &high);
   assert_true(isnan(low) && isnan(high));
}

static const char good[] =
      "{\"workload\":\"clear\",\"device\":\"llvmpipe (LLVM 15.0.6, 256 bits)\","
      "\"iterations\":3,\"items_per_iteration\":1,\"item_unit\":\"frames\","
      "\"bytes_per_iteration\":0,\"valid\":true,\"checksum\":\"9f2c0011aabbccdd\","
      "\"samples_ns\":[12345,12001,13000]}\n";

static void test_parse_good(void **state)
{
   struct pv_bench_result r;
   char error[256] = "";
   assert_true(pv_bench_result_parse(good, &r, error, sizeof(error)));
   assert_string_equal(r.workload, "clear");
   assert_string_equal(r.device, "llvmpipe (LLVM 15.0.6, 256 bits)");
   assert_string_equal(r.item_unit, "frames");
   assert_string_equal(r.checksum, "9f2c0011aabbccdd");
   assert_int_equal(r.iterations, 3);
   assert_int_equal(r.items_per_iteration, 1);
   assert_int_equal(r.bytes_per_iteration, 0);
   assert_true(r.valid);
   assert_int_equal(r.samples_ns[0], 12345);
   assert_int_equal(r.samples_ns[2], 13000);
   assert_null(r.start_ns);
   assert_null(r.submit_ns);
   assert_true(isnan(r.cpu_ns));
   assert_true(isnan(r.server_cpu_ns));
   pv_bench_result_finish(&r);
   pv_bench_result_finish(&r); /* idempotent */
}

static void test_parse_variants(void **state)
{
   struct pv_bench_result r;
   char error[256] = "";
   /* Any key order, whitespace, escapes, the optional timestamps, unknown keys of any
    * shape, valid:false (the caller fails the run on it, the parser does not). */
   const char *line = " { \"samples_ns\" : [ 5 , 6 ] , \"start_ns\":[1,2],\"submit_ns\":[0,0],"
                      "\"cpu_ns\":7000,\"server_cpu_ns\":123456789012,"
                      "\"future\":{\"a\":[1.5,-2e3,null,\"x\"],\"b\":{}},"
                      "\"workload\":\"transfer_up\",\"device\":\"GPU \\\"X\\\" \\\\ \\u00e9\\n\","
                      "\"iterations\":2,\"items_per_iteration\":4194304,\"item_unit\":\"bytes\","
                      "\"bytes_per_iteration\":4194304,\"valid\":false,\"checksum\":\"00ff\"}\r\n";
   assert_true(pv_bench_result_parse(line, &r, error, sizeof(error)));
   assert_string_equal(r.workload, "transfer_up");
   assert_string_equal(r.device, "GPU \"X\" \\ \xc3\xa9\n");
   assert_false(r.valid);
   assert_int_equal(r.bytes_per_iteration, 4194304);
   assert_non_null(r.start_ns);
   assert_int_equal(r.start_ns[1], 2);
   assert_non_null(r.submit_ns);
   assert_true(r.cpu_ns == 7000);
   assert_true(r.server_cpu_ns == 123456789012.0);
   pv_bench_result_finish(&r);
}

/* good with `from` replaced by `to` must fail, with an error naming `expect`. */
static void check_malformed(const char *from, const char *to, const char *expect)
{
   char line[1024];
   const char *at = strstr(good, from);
   assert_non_null(at);
   snprintf(line, sizeof(line), "%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
   struct pv_bench_result r;
   char error[256] = "";
   if (pv_bench_result_parse(line, &r, error, sizeof(error)))
      fail_msg("accepted: %s", line);
   if (!strstr(error, expect))
      fail_msg("error \"%s\" does not mention \"%s\" for: %s", error, expect, line);
   assert_null(r.samples_ns); /* nothing left to free */
}

static void test_parse_malformed(void **state)
{
   check_malformed("\"iterations\":3,", "", "no \"iterations\"");
   check_malformed("\"checksum\":\"9f2c0011aabbccdd\",", "", "no \"checksum\"");
   check_malformed("[12345,12001,13000]", "[12345,12001]", "2 samples_ns for 3 iterations");
   check_malformed("[12345,12001,13000]", "[12345,12001,13000,1]", "4 samples_ns");
   check_malformed("[12345,12001,13000]", "[12345,x,13000]", "non-negative integer");
   check_malformed("[12345,12001,13000]", "[12345,-1,13000]", "non-negative integer");
   check_malformed("[12345,12001,13000]", "[12345,12001.5,13000]", "fraction");
   check_malformed("[12345,12001,13000]", "[12345,12001,13000", "expected ']'");
   check_malformed("[12345,12001,13000]", "[12345,,13000]", "non-negative integer");
   check_malformed("\"iterations\":3", "\"iterations\":0", "iterations = 0");
   check_malformed("\"iterations\":3", "\"iterations\":\"3\"", "non-negative integer");
   check_malformed("\"iterations\":3", "\"iterations\":03", "leading zero");
   check_malformed("\"iterations\":3", "\"iterations\":99999999999999999999999", "out of range");
   check_malformed("\"valid\":true", "\"valid\":1", "true or false");
   check_malformed("\"valid\":true", "\"valid\":tru", "true or false");
   check_malformed("\"workload\":\"clear\"", "\"workload\":\"cl\\qear\"", "bad escape");
   check_malformed("\"workload\":\"clear\"", "\"workload\":clear", "expected '\"'");
   check_malformed("\"workload\":\"clear\"", "\"workload\":\"\"", "empty workload");
   check_malformed("\"checksum\"", "\"checksum\":\"a\",\"checksum\"", "given twice");
   check_malformed("\"device\":", "\"device\" ", "expected ':'");
   check_malformed("llvmpipe", "llvm\tpipe", "control character");
   check_malformed(
         "llvmpipe",
         "llvmpipellvmpipellvmpipellvmpipellvmpipellvmpipellvmpipellvmpipellvmpipellvmpipe"
         "llvmpipellvmpipellvmpipellvmpipellvmpipellvmpipellvmpipellvmpipellvmpipellvmpipe"
         "llvmpipellvmpipellvmpipellvmpipellvmpipellvmpipellvmpipellvmpipellvmpipellvmpipe"
         "llvmpipellvmpipellvmpipellvmpipellvmpipellvmpipellvmpipellvmpipellvmpipellvmpipe",
         "string too long");
   check_malformed("13000]}", "13000]", "expected '}'");
   check_malformed("13000]}", "13000]} x", "text after the object");
   check_malformed("13000]}", "13000],}", "expected '\"'");
   check_malformed("{\"workload\"", "[\"workload\"", "expected '{'");

   struct pv_bench_result r;
   char error[256];
   assert_false(pv_bench_result_parse("", &r, error, sizeof(error)));
   assert_false(pv_bench_result_parse("{}", &r, error, sizeof(error)));
   assert_non_null(strstr(error, "no \"workload\""));
   assert_false(pv_bench_result_parse("{\"workload\":\"cle", &r, error, sizeof(error)));
   assert_non_null(strstr(error, "unterminated string"));
}

/* A result of workload name with checksum and samples, as a workload would report it. */
static struct pv_bench_result make_result(const char *name, const char *checksum, bool valid,
                                          uint64_t *samples, uint32_t n)
{
   struct pv_bench_result r = {
         .iterations = n, .items_per_iteration = 1, .valid = valid, .samples_ns = samples};
   snprintf(r.workload, sizeof(r.workload), "%s", name);
   snprintf(r.checksum, sizeof(r.checksum), "%s", checksum);
   snprintf(r.item_unit, sizeof(r.item_unit), "frames");
   return r;
}

static void test_phase_checks(void **state)
{
   struct pv_bench_run *run = calloc(1, sizeof(*run));
   assert_non_null(run);
   uint64_t fast[] = {100, 100, 100}, slow[] = {200, 200, 200};
   for (int rep = 0; rep < 3; rep++) {
      struct pv_bench_result n = make_result("clear", "aa", true, fast, 3);
      struct pv_bench_result v = make_result("clear", "aa", true, slow, 3);
      pv_bench_record(run, PV_BENCH_NATIVE, &n);
      pv_bench_record(run, PV_BENCH_VIRTUAL, &v);
   }
   /* Same checksum on both paths, but the virtualized one differs. */
   struct pv_bench_result n = make_result("draw", "bb", true, fast, 3);
   struct pv_bench_result v = make_result("draw", "bc", true, slow, 3);
   pv_bench_record(run, PV_BENCH_NATIVE, &n);
   pv_bench_record(run, PV_BENCH_VIRTUAL, &v);
   /* Output the workload itself found wrong. */
   n = make_result("batch", "cc", false, fast, 3);
   pv_bench_record(run, PV_BENCH_NATIVE, &n);
   /* A workload that failed before reporting any phase, and one failing after. */
   pv_bench_fail(run, "transfer", "native run 1/3: exited with status 2");
   n = make_result("latency_x", "dd", true, fast, 3);
   pv_bench_record(run, PV_BENCH_NATIVE, &n);
   pv_bench_record(run, PV_BENCH_VIRTUAL, &n);
   pv_bench_fail(run, "latency", "virtualized run 2/3: killed by signal 11");
   pv_bench_compute(run);

   struct pv_bench_phase *clear = pv_bench_phase_get(run, "clear");
   assert_false(clear->failed);
   assert_int_equal(clear->reps[PV_BENCH_NATIVE], 3);
   assert_int_equal(clear->summary[PV_BENCH_VIRTUAL].n, 9);
   assert_float_equal(clear->throughput[PV_BENCH_NATIVE], 1e7, 1e-3);
   assert_float_equal(clear->efficiency, 0.5, 1e-12);
   assert_float_equal(clear->efficiency_low, 0.5, 1e-12);
   assert_float_equal(clear->efficiency_high, 0.5, 1e-12);

   struct pv_bench_phase *draw = pv_bench_phase_get(run, "draw");
   assert_true(draw->failed);
   assert_non_null(strstr(draw->failure, "checksum bc of a virtualized run differs"));
   assert_true(isnan(draw->efficiency));
   struct pv_bench_phase *batch = pv_bench_phase_get(run, "batch");
   assert_true(batch->failed);
   assert_non_null(strstr(batch->failure, "native run reported wrong output"));
   struct pv_bench_phase *transfer = pv_bench_phase_get(run, "transfer");
   assert_true(transfer->failed);
   assert_string_equal(transfer->failure, "native run 1/3: exited with status 2");
   struct pv_bench_phase *latency = pv_bench_phase_get(run, "latency_x");
   assert_true(latency->failed);
   assert_non_null(strstr(latency->failure, "signal 11"));
   /* pv_bench_fail marked latency's own phase, made no new one. */
   assert_int_equal(run->phase_count, 5);

   pv_bench_run_finish(run);
   free(run);
}

int main(void)
{
   const struct CMUnitTest tests[] = {
         cmocka_unit_test(test_summary_odd),    cmocka_unit_test(test_summary_even),
         cmocka_unit_test(test_summary_small),  cmocka_unit_test(test_median_double),
         cmocka_unit_test(test_bootstrap),      cmocka_unit_test(test_parse_good),
         cmocka_unit_test(test_parse_variants), cmocka_unit_test(test_parse_malformed),
         cmocka_unit_test(test_phase_checks),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
