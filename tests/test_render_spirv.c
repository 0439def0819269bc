/* Unit tests of pv_spirv_used_descriptors (src/render/pv_render_spirv.c): the descriptors an
 * entry point uses, on the compute shader a recorded guest sent (tests/data/venus/) and on
 * changed copies of it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "render/pv_render_spirv.h"

#define SPIRV_MAGIC 0x07230203u

static uint32_t *module;
static size_t module_words;

/* The first shader module of the recorded compute guest: found by the SPIR-V magic, its
 * length from the codeSize two u64 words before (docs/protocol/venus.md §4). */
static int setup(void **state)
{
   FILE *f = fopen(SOURCE_ROOT "/tests/data/venus/compute.bin", "rb");
   static uint8_t data[1 << 16];
   size_t size = f ? fread(data, 1, sizeof(data), f) : 0;
   if (f)
      fclose(f);
   for (size_t at = 16; at + 4 <= size; at += 4) {
      uint32_t word;
      uint64_t code_size;
      memcpy(&word, data + at, 4);
      memcpy(&code_size, data + at - 16, 8);
      if (word == SPIRV_MAGIC && code_size % 4 == 0 && at + code_size <= size) {
         module_words = code_size / 4;
         module = malloc(code_size);
         memcpy(module, data + at, code_size);
         return module ? 0 : -1;
      }
   }
   return -1;
}

static int teardown(void **state)
{
   free(module);
   return 0;
}

/* Finds the word index of the instruction "OpDecorate <id> Binding <n>". */
static size_t binding_literal(void)
{
   for (size_t i = 5; i < module_words; i += module[i] >> 16) {
      if ((module[i] & 0xffff) == 71 && module[i + 2] == 33)
         return i + 3;
   }
   fail();
   return 0;
}

static void test_recorded_compute_shader(void **state)
{
   uint64_t *keys;
   size_t count;
   assert_true(pv_spirv_used_descriptors(module, module_words, "main", &keys, &count));
   assert_int_equal(count, 1);
   assert_int_equal(keys[0], pv_spirv_descriptor_key(0, 0));
   free(keys);
}

/* The finding of fuzz_exec: the storage buffer moved to binding 53760 is what the pipeline
 * layout check must see. */
static void test_changed_binding(void **state)
{
   uint32_t saved = module[binding_literal()];
   module[binding_literal()] = 53760;
   uint64_t *keys;
   size_t count;
   assert_true(pv_spirv_used_descriptors(module, module_words, "main", &keys, &count));
   assert_int_equal(count, 1);
   assert_int_equal(keys[0], pv_spirv_descriptor_key(0, 53760));
   free(keys);
   module[binding_literal()] = saved;
}

static void test_unknown_entry_point(void **state)
{
   uint64_t *keys;
   size_t count;
   assert_false(pv_spirv_used_descriptors(module, module_words, "other", &keys, &count));
   assert_null(keys);
   assert_int_equal(count, 0);
   assert_false(pv_spirv_used_descriptors(module, module_words, NULL, &keys, &count));
}

/* Cut anywhere, the module is refused or read within its words (ASan checks the latter). */
static void test_truncated(void **state)
{
   for (size_t words = 0; words < module_words; words++) {
      uint32_t *copy = malloc((words + 1) * 4);
      memcpy(copy, module, words * 4);
      uint64_t *keys;
      size_t count;
      pv_spirv_used_descriptors(copy, words, "main", &keys, &count);
      free(keys);
      free(copy);
   }
}

int main(void)
{
   const struct CMUnitTest tests[] = {
         cmocka_unit_test(test_recorded_compute_shader),
         cmocka_unit_test(test_changed_binding),
         cmocka_unit_test(test_unknown_entry_point),
         cmocka_unit_test(test_truncated),
   };
   return cmocka_run_group_tests(tests, setup, teardown);
}
