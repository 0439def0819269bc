/* Protocol test: every command the real Mesa venus guest recorded (tests/data/venus) decodes
 * to exactly its recorded length, replies encode, and damaged copies fail cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/pv_arena.h"
#include "venus/pv_venus_dispatch.h"

struct record {
   uint32_t command_id;
   size_t offset;
   size_t length;
   uint32_t reply;
};

struct run {
   uint8_t *bin;
   size_t bin_size;
   struct record *records;
   size_t count;
};

static uint8_t reply_buffer[1 << 20];
static size_t reply_used;

static bool reply_begin(struct pv_venus_dispatch *d, struct pv_cs_writer *w)
{
   (void)d;
   pv_cs_writer_init(w, reply_buffer, sizeof(reply_buffer));
   return true;
}

static void reply_end(struct pv_venus_dispatch *d, const struct pv_cs_writer *w)
{
   (void)d;
   assert_false(w->overflow);
   reply_used = pv_cs_writer_size(w);
}

static uint8_t *read_file(const char *path, size_t *size)
{
   FILE *f = fopen(path, "rb");
   if (!f)
      fail_msg("cannot open %s", path);
   fseek(f, 0, SEEK_END);
   long n = ftell(f);
   fseek(f, 0, SEEK_SET);
   uint8_t *data = malloc(n ? (size_t)n : 1);
   assert_non_null(data);
   assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
   fclose(f);
   *size = (size_t)n;
   return data;
}

static void load_run(const char *name, struct run *run)
{
   char path[512];
   snprintf(path, sizeof(path), "%s/%s.bin", PV_TEST_DATA, name);
   run->bin = read_file(path, &run->bin_size);
   snprintf(path, sizeof(path), "%s/%s.tsv", PV_TEST_DATA, name);
   size_t tsv_size;
   char *tsv = (char *)read_file(path, &tsv_size);
   tsv = realloc(tsv, tsv_size + 1);
   tsv[tsv_size] = 0;
   run->count = 0;
   run->records = NULL;
   size_t capacity = 0;
   char *save = NULL;
   for (char *line = strtok_r(tsv, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      if (strncmp(line, "seq", 3) == 0)
         continue;
      struct record rec;
      char stream[32], cmd_name[128];
      unsigned long long ring;
      unsigned seq;
      if (sscanf(line, "%u %31s %u %127s %zu %zu %u %llu", &seq, stream, &rec.command_id, cmd_name,
                 &rec.offset, &rec.length, &rec.reply, &ring) != 8)
         fail_msg("bad index line in %s: %s", name, line);
      if (run->count == capacity) {
         capacity = capacity ? capacity * 2 : 256;
         run->records = realloc(run->records, capacity * sizeof(*run->records));
      }
      run->records[run->count++] = rec;
   }
   free(tsv);
}

static void free_run(struct run *run)
{
   free(run->bin);
   free(run->records);
}

/* Decodes one buffer as exactly one command; returns the bytes consumed (0 on failure). */
static size_t decode_one(const uint8_t *data, size_t size, char *error, size_t error_size)
{
   static struct pv_venus_handlers decode_only; /* all NULL: decode, no execution */
   struct pv_arena arena;
   pv_arena_init(&arena, 256u << 20);
   struct pv_cs_reader reader;
   pv_cs_reader_init(&reader, data, size, &arena, NULL);
   struct pv_venus_dispatch d = {
         .reader = &reader,
         .handlers = &decode_only,
         .reply_begin = reply_begin,
         .reply_end = reply_end,
   };
   bool ok = pv_venus_dispatch_command(&d);
   size_t consumed = ok ? pv_cs_offset(&reader) : 0;
   if (!ok && error)
      snprintf(error, error_size, "%s", reader.error);
   pv_arena_finish(&arena);
   return consumed;
}

static void check_run(const char *name)
{
   struct run run;
   load_run(name, &run);
   size_t total = 0;
   for (size_t i = 0; i < run.count; i++) {
      const struct record *rec = &run.records[i];
      assert_true(rec->offset + rec->length <= run.bin_size);
      /* An exact-size copy, so a read past the record's end is an ASan error. */
      uint8_t *copy = malloc(rec->length);
      memcpy(copy, run.bin + rec->offset, rec->length);
      char error[256] = "";
      reply_used = 0;
      size_t consumed = decode_one(copy, rec->length, error, sizeof(error));
      if (consumed != rec->length)
         fail_msg("%s record %zu (%s, %zu bytes): consumed %zu: %s", name, i,
                  pv_venus_command_name(rec->command_id), rec->length, consumed, error);
      /* A reply starts with the command id. */
      if (rec->reply && rec->command_id != 178) {
         uint32_t id;
         assert_true(reply_used >= 4);
         memcpy(&id, reply_buffer, 4);
         assert_int_equal(id, rec->command_id);
      }
      free(copy);
      total += rec->length;
   }
   assert_int_equal(total, run.bin_size);
   free_run(&run);
}

static void test_vulkaninfo_summary(void **state)
{
   check_run("vulkaninfo-summary");
}

static void test_vulkaninfo_full(void **state)
{
   check_run("vulkaninfo-full");
}

static void test_vulkaninfo_formats(void **state)
{
   check_run("vulkaninfo-formats");
}

static void test_compute(void **state)
{
   check_run("compute");
}

static void test_compute_bigshader(void **state)
{
   check_run("compute-bigshader");
}

static void test_render_clear(void **state)
{
   check_run("render-clear");
}

static void test_glxinfo_zink(void **state)
{
   check_run("glxinfo-zink");
}

static void test_glmark2_zink(void **state)
{
   check_run("glmark2-build-zink");
}

/* Cut a real command short at every 4-byte boundary: each prefix must fail, cleanly. */
static void test_truncation_of_real_commands(void **state)
{
   struct run run;
   load_run("compute", &run);
   for (size_t i = 0; i < run.count; i++) {
      const struct record *rec = &run.records[i];
      for (size_t cut = 0; cut < rec->length; cut += 4) {
         uint8_t *copy = malloc(cut ? cut : 1);
         memcpy(copy, run.bin + rec->offset, cut);
         char error[256] = "";
         assert_int_equal(decode_one(copy, cut, error, sizeof(error)), 0);
         assert_true(error[0] != 0);
         free(copy);
      }
   }
   free_run(&run);
}

static void put_u32(uint8_t *p, uint32_t v)
{
   memcpy(p, &v, 4);
}

static void test_unknown_command(void **state)
{
   uint8_t bytes[8];
   char error[256] = "";
   put_u32(bytes, 195); /* unassigned id */
   put_u32(bytes + 4, 0);
   assert_int_equal(decode_one(bytes, sizeof(bytes), error, sizeof(error)), 0);
   assert_non_null(strstr(error, "not supported"));
   put_u32(bytes, 100000);
   assert_int_equal(decode_one(bytes, sizeof(bytes), error, sizeof(error)), 0);
   put_u32(bytes, 9); /* vkGetInstanceProcAddr: never sent by the guest */
   assert_int_equal(decode_one(bytes, sizeof(bytes), error, sizeof(error)), 0);
   assert_non_null(strstr(error, "never sent"));
}

/* The first vkGetPhysicalDeviceFeatures2 of vulkaninfo with one pNext sType replaced by a
 * value no struct has: fatal, naming the parent. */
static void test_unknown_stype_in_chain(void **state)
{
   struct run run;
   load_run("vulkaninfo-summary", &run);
   for (size_t i = 0; i < run.count; i++) {
      const struct record *rec = &run.records[i];
      if (rec->command_id != 147)
         continue;
      uint8_t *copy = malloc(rec->length);
      memcpy(copy, run.bin + rec->offset, rec->length);
      /* header 8, physicalDevice 8, pFeatures count 8, sType 4, chain marker 8, sType. */
      uint32_t marker;
      memcpy(&marker, copy + 28, 4);
      assert_int_equal(marker, 1);
      put_u32(copy + 36, 0x7fff0001);
      char error[256] = "";
      assert_int_equal(decode_one(copy, rec->length, error, sizeof(error)), 0);
      assert_non_null(strstr(error, "VkPhysicalDeviceFeatures2"));
      free(copy);
      break;
   }
   free_run(&run);
}

int main(void)
{
   const struct CMUnitTest tests[] = {
         cmocka_unit_test(test_vulkaninfo_summary),
         cmocka_unit_test(test_vulkaninfo_full),
         cmocka_unit_test(test_vulkaninfo_formats),
         cmocka_unit_test(test_compute),
         cmocka_unit_test(test_compute_bigshader),
         cmocka_unit_test(test_render_clear),
         cmocka_unit_test(test_glxinfo_zink),
         cmocka_unit_test(test_glmark2_zink),
         cmocka_unit_test(test_truncation_of_real_commands),
         cmocka_unit_test(test_unknown_command),
         cmocka_unit_test(test_unknown_stype_in_chain),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
