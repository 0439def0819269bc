/* Parsing a workload's PV_RESULT line: the flat JSON object of WORKLOAD-PROTOCOL.md. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "bench_internal.h"

/* Finds "key": at the top level of the object and returns where its value starts. */
static const char *find_value(const char *json, const char *key)
{
   size_t len = strlen(key);
   for (const char *p = strchr(json, '"'); p; p = strchr(p + 1, '"')) {
      if (strncmp(p + 1, key, len) == 0 && p[len + 1] == '"') {
         const char *v = p + len + 2;
         while (isspace((unsigned char)*v))
            v++;
         if (*v == ':') {
            v++;
            while (isspace((unsigned char)*v))
               v++;
            return v;
         }
      }
   }
   return NULL;
}

static bool get_string(const char *json, const char *key, char *out, size_t size)
{
   const char *v = find_value(json, key);
   if (!v || *v != '"')
      return false;
   size_t n = 0;
   for (v++; *v && *v != '"'; v++) {
      if (*v == '\\' && v[1])
         v++;
      if (n + 1 < size)
         out[n++] = *v;
   }
   out[n] = 0;
   return *v == '"';
}

static bool get_u64(const char *json, const char *key, uint64_t *out)
{
   const char *v = find_value(json, key);
   char *end;
   if (!v || !isdigit((unsigned char)*v))
      return false;
   *out = strtoull(v, &end, 10);
   return end != v;
}

/* An array of exactly count unsigned integers; NULL (and *present false) if absent. */
static uint64_t *get_array(const char *json, const char *key, uint32_t count, bool *present,
                           bool *ok)
{
   const char *v = find_value(json, key);
   *present = v != NULL;
   if (!v)
      return NULL;
   uint64_t *values = calloc(count ? count : 1, sizeof(*values));
   if (!values || *v != '[') {
      free(values);
      *ok = false;
      return NULL;
   }
   v++;
   for (uint32_t i = 0; i < count; i++) {
      char *end;
      while (isspace((unsigned char)*v))
         v++;
      values[i] = strtoull(v, &end, 10);
      if (end == v)
         break;
      v = end;
      while (isspace((unsigned char)*v))
         v++;
      if (*v == ',' && i + 1 < count)
         v++;
      else if (i + 1 < count)
         break;
      if (i + 1 == count && *v == ']')
         return values;
   }
   free(values);
   *ok = false;
   return NULL;
}

bool pv_bench_result_parse(const char *json, struct pv_bench_result *r, char *error,
                           size_t error_size)
{
   memset(r, 0, sizeof(*r));
   uint64_t iterations = 0;
   const char *missing = NULL;
   if (!get_string(json, "workload", r->workload, sizeof(r->workload)))
      missing = "workload";
   else if (!get_string(json, "device", r->device, sizeof(r->device)))
      missing = "device";
   else if (!get_string(json, "item_unit", r->item_unit, sizeof(r->item_unit)))
      missing = "item_unit";
   else if (!get_string(json, "checksum", r->checksum, sizeof(r->checksum)))
      missing = "checksum";
   else if (!get_u64(json, "iterations", &iterations) || iterations == 0 || iterations > 100000000)
      missing = "iterations";
   else if (!get_u64(json, "items_per_iteration", &r->items_per_iteration))
      missing = "items_per_iteration";
   else if (!get_u64(json, "bytes_per_iteration", &r->bytes_per_iteration))
      missing = "bytes_per_iteration";
   const char *valid = find_value(json, "valid");
   if (!missing && (!valid || (strncmp(valid, "true", 4) && strncmp(valid, "false", 5))))
      missing = "valid";
   if (missing) {
      snprintf(error, error_size, "PV_RESULT without a well-formed \"%s\"", missing);
      return false;
   }
   r->valid = strncmp(valid, "true", 4) == 0;
   r->iterations = (uint32_t)iterations;
   bool present, ok = true;
   r->samples_ns = get_array(json, "samples_ns", r->iterations, &present, &ok);
   if (!present || !ok) {
      snprintf(error, error_size, "PV_RESULT samples_ns is not %u numbers", r->iterations);
      pv_bench_result_finish(r);
      return false;
   }
   r->start_ns = get_array(json, "start_ns", r->iterations, &present, &ok);
   r->submit_ns = get_array(json, "submit_ns", r->iterations, &present, &ok);
   if (!ok) {
      snprintf(error, error_size, "PV_RESULT start_ns/submit_ns malformed");
      pv_bench_result_finish(r);
      return false;
   }
   return true;
}

void pv_bench_result_finish(struct pv_bench_result *r)
{
   free(r->samples_ns);
   free(r->start_ns);
   free(r->submit_ns);
   r->samples_ns = r->start_ns = r->submit_ns = NULL;
}
