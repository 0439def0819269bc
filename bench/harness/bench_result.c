/* Parsing a workload's PV_RESULT line: one JSON object (bench/WORKLOAD-PROTOCOL.md), read
 * strictly, since a half-understood result would be a wrong number in the report. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_internal.h"

/* Unknown keys may hold nested values (a newer workload); deeper than this is not a result. */
#define PV_RESULT_MAX_DEPTH 8

struct reader {
   const char *start, *p;
   char *error;
   size_t error_size;
   bool failed;
};

/* Keeps the first error only: later ones are consequences of it. */
static bool fail(struct reader *rd, const char *what)
{
   if (!rd->failed)
      snprintf(rd->error, rd->error_size, "malformed PV_RESULT: %s at offset %zu", what,
               (size_t)(rd->p - rd->start));
   rd->failed = true;
   return false;
}

static void skip_space(struct reader *rd)
{
   while (*rd->p == ' ' || *rd->p == '\t' || *rd->p == '\n' || *rd->p == '\r')
      rd->p++;
}

static bool expect(struct reader *rd, char c)
{
   skip_space(rd);
   if (*rd->p != c) {
      char what[32];
      snprintf(what, sizeof(what), "expected '%c'", c);
      return fail(rd, what);
   }
   rd->p++;
   return true;
}

/* Consumes c if it comes next. */
static bool accept(struct reader *rd, char c)
{
   skip_space(rd);
   if (*rd->p != c)
      return false;
   rd->p++;
   return true;
}

static int hex_digit(char c)
{
   if (c >= '0' && c <= '9')
      return c - '0';
   if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
   if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
   return -1;
}

/* Appends one byte, refusing a string longer than the field that will hold it; a NULL out
 * discards the string. */
static bool put(struct reader *rd, char *out, size_t size, size_t *n, char c)
{
   if (!out)
      return true;
   if (*n + 1 >= size)
      return fail(rd, "string too long");
   out[(*n)++] = c;
   return true;
}

static bool put_utf8(struct reader *rd, char *out, size_t size, size_t *n, unsigned code)
{
   if (code < 0x80)
      return put(rd, out, size, n, (char)code);
   if (code < 0x800)
      return put(rd, out, size, n, (char)(0xc0 | code >> 6)) &&
             put(rd, out, size, n, (char)(0x80 | (code & 0x3f)));
   return put(rd, out, size, n, (char)(0xe0 | code >> 12)) &&
          put(rd, out, size, n, (char)(0x80 | (code >> 6 & 0x3f))) &&
          put(rd, out, size, n, (char)(0x80 | (code & 0x3f)));
}

/* A JSON string into out (UTF-8); out may be NULL to skip it. */
static bool read_string(struct reader *rd, char *out, size_t size)
{
   if (!expect(rd, '"'))
      return false;
   size_t n = 0;
   while (*rd->p != '"') {
      unsigned char c = (unsigned char)*rd->p++;
      if (c < 0x20)
         return fail(rd, c ? "control character in a string" : "unterminated string");
      if (c != '\\') {
         if (!put(rd, out, size, &n, (char)c))
            return false;
         continue;
      }
      char e = *rd->p++;
      const char *simple = strchr("\"\\/bfnrt", e);
      if (e && simple) {
         static const char decoded[] = "\"\\/\b\f\n\r\t";
         if (!put(rd, out, size, &n, decoded[simple - "\"\\/bfnrt"]))
            return false;
         continue;
      }
      if (e != 'u')
         return fail(rd, "bad escape in a string");
      unsigned code = 0;
      for (int i = 0; i < 4; i++) {
         int d = hex_digit(*rd->p++);
         if (d < 0)
            return fail(rd, "bad \\u escape");
         code = code << 4 | (unsigned)d;
      }
      /* Workloads escape only control characters; a surrogate pair is not worth decoding. */
      if (code >= 0xd800 && code < 0xe000)
         return fail(rd, "surrogate \\u escape");
      if (!put_utf8(rd, out, size, &n, code))
         return false;
   }
   rd->p++;
   if (out)
      out[n] = 0;
   return true;
}

/* A non-negative JSON integer (no sign, no leading zero, no fraction), within uint64_t. */
static bool read_u64(struct reader *rd, uint64_t *out)
{
   skip_space(rd);
   const char *start = rd->p;
   uint64_t v = 0;
   while (*rd->p >= '0' && *rd->p <= '9') {
      unsigned d = (unsigned)(*rd->p - '0');
      if (v > (UINT64_MAX - d) / 10)
         return fail(rd, "integer out of range");
      v = v * 10 + d;
      rd->p++;
   }
   if (rd->p == start)
      return fail(rd, "expected a non-negative integer");
   if (*start == '0' && rd->p - start > 1)
      return fail(rd, "integer with a leading zero");
   if (*rd->p == '.' || *rd->p == 'e' || *rd->p == 'E')
      return fail(rd, "expected an integer, not a fraction");
   *out = v;
   return true;
}

static bool read_bool(struct reader *rd, bool *out)
{
   skip_space(rd);
   if (strncmp(rd->p, "true", 4) == 0) {
      rd->p += 4;
      *out = true;
      return true;
   }
   if (strncmp(rd->p, "false", 5) == 0) {
      rd->p += 5;
      *out = false;
      return true;
   }
   return fail(rd, "expected true or false");
}

/* An array of integers; *out is malloc'ed (NULL for an empty array). */
static bool read_u64_array(struct reader *rd, uint64_t **out, size_t *count)
{
   *out = NULL;
   *count = 0;
   if (!expect(rd, '['))
      return false;
   if (accept(rd, ']'))
      return true;
   size_t cap = 0;
   do {
      if (*count == cap) {
         cap = cap ? cap * 2 : 1024;
         uint64_t *grown = realloc(*out, cap * sizeof(**out));
         if (!grown) {
            fail(rd, "out of memory");
            goto fail;
         }
         *out = grown;
      }
      if (!read_u64(rd, &(*out)[*count]))
         goto fail;
      ++*count;
   } while (accept(rd, ','));
   if (expect(rd, ']'))
      return true;
fail:
   free(*out);
   *out = NULL;
   return false;
}

/* Any JSON value, for keys this harness does not know. */
static bool skip_value(struct reader *rd, int depth)
{
   skip_space(rd);
   if (depth > PV_RESULT_MAX_DEPTH)
      return fail(rd, "nested too deeply");
   char c = *rd->p;
   if (c == '"')
      return read_string(rd, NULL, 0);
   if (c == '[' || c == '{') {
      char close = c == '[' ? ']' : '}';
      rd->p++;
      if (accept(rd, close))
         return true;
      do {
         if (c == '{' && !(read_string(rd, NULL, 0) && expect(rd, ':')))
            return false;
         if (!skip_value(rd, depth + 1))
            return false;
      } while (accept(rd, ','));
      return expect(rd, close);
   }
   for (const char *word = "true\0false\0null\0"; *word; word += strlen(word) + 1) {
      if (strncmp(rd->p, word, strlen(word)) == 0) {
         rd->p += strlen(word);
         return true;
      }
   }
   /* A number: sign, digits, fraction, exponent; strtod checks its shape. */
   char *end;
   strtod(rd->p, &end);
   if (end == rd->p)
      return fail(rd, "expected a value");
   rd->p = end;
   return true;
}

enum field {
   F_WORKLOAD,
   F_DEVICE,
   F_ITERATIONS,
   F_ITEMS,
   F_UNIT,
   F_BYTES,
   F_VALID,
   F_CHECKSUM,
   F_SAMPLES,
   F_START,
   F_SUBMIT,
   F_CPU,
   F_SERVER_CPU,
   F_COUNT,
};

static const char *const field_names[F_COUNT] = {
      "workload",      "device",
      "iterations",    "items_per_iteration",
      "item_unit",     "bytes_per_iteration",
      "valid",         "checksum",
      "samples_ns",    "start_ns",
      "submit_ns",     "cpu_ns",
      "server_cpu_ns",
};

/* Optional fields: the guest timestamps only --explain's traced runs need, and CPU times
 * (none from older workloads; no server's natively). */
#define PV_RESULT_OPTIONAL                                                                         \
   ((1u << F_START) | (1u << F_SUBMIT) | (1u << F_CPU) | (1u << F_SERVER_CPU))

static bool read_u64_as_double(struct reader *rd, double *out)
{
   uint64_t v;
   if (!read_u64(rd, &v))
      return false;
   *out = (double)v;
   return true;
}

static bool read_field(struct reader *rd, enum field f, struct pv_bench_result *r,
                       uint64_t *iterations, size_t counts[F_COUNT])
{
   switch (f) {
   case F_WORKLOAD:
      return read_string(rd, r->workload, sizeof(r->workload));
   case F_DEVICE:
      return read_string(rd, r->device, sizeof(r->device));
   case F_UNIT:
      return read_string(rd, r->item_unit, sizeof(r->item_unit));
   case F_CHECKSUM:
      return read_string(rd, r->checksum, sizeof(r->checksum));
   case F_ITERATIONS:
      return read_u64(rd, iterations);
   case F_ITEMS:
      return read_u64(rd, &r->items_per_iteration);
   case F_BYTES:
      return read_u64(rd, &r->bytes_per_iteration);
   case F_VALID:
      return read_bool(rd, &r->valid);
   case F_SAMPLES:
      return read_u64_array(rd, &r->samples_ns, &counts[f]);
   case F_START:
      return read_u64_array(rd, &r->start_ns, &counts[f]);
   case F_SUBMIT:
      return read_u64_array(rd, &r->submit_ns, &counts[f]);
   case F_CPU:
      return read_u64_as_double(rd, &r->cpu_ns);
   case F_SERVER_CPU:
      return read_u64_as_double(rd, &r->server_cpu_ns);
   case F_COUNT:
      break;
   }
   return skip_value(rd, 1);
}

static bool read_object(struct reader *rd, struct pv_bench_result *r)
{
   uint64_t iterations = 0;
   size_t counts[F_COUNT] = {0};
   unsigned seen = 0;
   if (!expect(rd, '{'))
      return false;
   if (!accept(rd, '}')) {
      do {
         char key[64];
         if (!read_string(rd, key, sizeof(key)) || !expect(rd, ':'))
            return false;
         enum field f = 0;
         while (f < F_COUNT && strcmp(key, field_names[f]) != 0)
            f++;
         if (f < F_COUNT && seen & 1u << f) {
            snprintf(rd->error, rd->error_size, "malformed PV_RESULT: \"%s\" given twice", key);
            rd->failed = true;
            return false;
         }
         if (f < F_COUNT)
            seen |= 1u << f;
         if (!read_field(rd, f, r, &iterations, counts))
            return false;
      } while (accept(rd, ','));
      if (!expect(rd, '}'))
         return false;
   }
   skip_space(rd);
   if (*rd->p)
      return fail(rd, "text after the object");

   for (enum field f = 0; f < F_COUNT; f++) {
      if (!(seen & 1u << f) && !(PV_RESULT_OPTIONAL & 1u << f)) {
         snprintf(rd->error, rd->error_size, "malformed PV_RESULT: no \"%s\"", field_names[f]);
         return false;
      }
   }
   if (iterations == 0 || iterations > UINT32_MAX) {
      snprintf(rd->error, rd->error_size, "malformed PV_RESULT: iterations = %llu",
               (unsigned long long)iterations);
      return false;
   }
   r->iterations = (uint32_t)iterations;
   for (enum field f = F_SAMPLES; f <= F_SUBMIT; f++) {
      if ((seen & 1u << f) && counts[f] != iterations) {
         snprintf(rd->error, rd->error_size, "malformed PV_RESULT: %zu %s for %llu iterations",
                  counts[f], field_names[f], (unsigned long long)iterations);
         return false;
      }
   }
   if (r->workload[0] == 0 || r->checksum[0] == 0) {
      snprintf(rd->error, rd->error_size, "malformed PV_RESULT: empty workload or checksum");
      return false;
   }
   return true;
}

bool pv_bench_result_parse(const char *json, struct pv_bench_result *r, char *error,
                           size_t error_size)
{
   memset(r, 0, sizeof(*r));
   r->cpu_ns = r->server_cpu_ns = NAN;
   struct reader rd = {.start = json, .p = json, .error = error, .error_size = error_size};
   if (read_object(&rd, r))
      return true;
   pv_bench_result_finish(r);
   return false;
}

void pv_bench_result_finish(struct pv_bench_result *r)
{
   free(r->samples_ns);
   free(r->start_ns);
   free(r->submit_ns);
   r->samples_ns = r->start_ns = r->submit_ns = NULL;
}
