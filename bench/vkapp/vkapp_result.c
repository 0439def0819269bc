/* The PV_RESULT line of bench/WORKLOAD-PROTOCOL.md, JSON written by hand. */
#include <inttypes.h>
#include <stdio.h>

#include "pv_vkapp.h"

/* Device names come from the driver: escape what JSON requires. */
static void print_json_string(const char *s)
{
   putchar('"');
   for (; *s; s++) {
      unsigned char c = (unsigned char)*s;
      if (c == '"' || c == '\\')
         printf("\\%c", c);
      else if (c < 0x20)
         printf("\\u%04x", c);
      else
         putchar(c);
   }
   putchar('"');
}

static void print_array(const uint64_t *values, uint32_t count)
{
   for (uint32_t i = 0; i < count; i++)
      printf("%s%" PRIu64, i ? "," : "", values[i]);
}

void pv_result_print(const struct pv_result *r)
{
   printf("PV_RESULT {\"workload\":");
   print_json_string(r->workload);
   printf(",\"device\":");
   print_json_string(r->device);
   printf(",\"iterations\":%" PRIu32 ",\"items_per_iteration\":%" PRIu64 ",\"item_unit\":",
          r->iterations, r->items_per_iteration);
   print_json_string(r->item_unit);
   printf(",\"bytes_per_iteration\":%" PRIu64 ",\"valid\":%s,\"checksum\":\"%016" PRIx64
          "\",\"samples_ns\":[",
          r->bytes_per_iteration, r->valid ? "true" : "false", r->checksum);
   print_array(r->samples_ns, r->iterations);
   if (r->start_ns) {
      printf("],\"start_ns\":[");
      print_array(r->start_ns, r->iterations);
   }
   if (r->submit_ns) {
      printf("],\"submit_ns\":[");
      print_array(r->submit_ns, r->iterations);
   }
   printf("]");
   if (r->cpu.known)
      printf(",\"cpu_ns\":%" PRIu64, r->cpu.guest_ns);
   if (r->cpu.server_known)
      printf(",\"server_cpu_ns\":%" PRIu64, r->cpu.server_ns);
   printf("}\n");
   fflush(stdout);
}
