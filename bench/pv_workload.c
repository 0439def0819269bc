/* pv-workload: the command line that runs one benchmark workload (bench/WORKLOAD-PROTOCOL.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_workload.h"

static const struct pv_workload *const workloads[] = {
      &pv_wl_create,  &pv_wl_clear,    &pv_wl_batch,   &pv_wl_draw,
      &pv_wl_compute, &pv_wl_transfer, &pv_wl_latency,
};
#define WORKLOAD_COUNT (sizeof(workloads) / sizeof(workloads[0]))

static void usage(FILE *out)
{
   fprintf(out, "usage: pv-workload NAME [--iterations N] [--warmup N] [--quick] [--size-mib N]\n"
                "       pv-workload --help\n"
                "Prints one PV_RESULT line per measured phase; exits 0 only if the output was\n"
                "valid (1: invalid, 2: usage or Vulkan error).\n\n"
                "workloads (default iterations/warm-ups; --quick ones):\n");
   for (size_t i = 0; i < WORKLOAD_COUNT; i++) {
      const struct pv_workload *w = workloads[i];
      fprintf(out, "  %-9s %s (%u/%u; %u/%u", w->name, w->summary, w->iterations, w->warmup,
              w->quick_iterations, w->quick_warmup);
      if (w->size_mib)
         fprintf(out, "; --size-mib %u, %u quick", w->size_mib, w->quick_size_mib);
      fprintf(out, ")\n");
   }
}

static _Noreturn void usage_error(const char *format, const char *arg)
{
   fprintf(stderr, "pv-workload: ");
   fprintf(stderr, format, arg);
   fprintf(stderr, "\n");
   usage(stderr);
   exit(2);
}

/* A decimal number in [min, max]; anything else is a usage error. */
static uint32_t parse_number(const char *option, const char *text, uint32_t min, uint32_t max)
{
   if (!text)
      usage_error("%s needs a number", option);
   char *end;
   errno = 0;
   unsigned long long value = strtoull(text, &end, 10);
   if (errno || end == text || *end || text[0] == '-' || value < min || value > max)
      usage_error("bad number for %s", option);
   return (uint32_t)value;
}

int main(int argc, char **argv)
{
   const struct pv_workload *workload = NULL;
   uint32_t iterations = 0, warmup = 0, size_mib = 0;
   bool iterations_set = false, warmup_set = false, quick = false;

   /* argv[argc] is NULL, so an option missing its number reads NULL, which parse_number rejects. */
   for (int i = 1; i < argc; i++) {
      const char *arg = argv[i];
      if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
         usage(stdout);
         return 0;
      } else if (!strcmp(arg, "--iterations")) {
         iterations = parse_number(arg, argv[++i], 1, UINT32_MAX);
         iterations_set = true;
      } else if (!strcmp(arg, "--warmup")) {
         warmup = parse_number(arg, argv[++i], 0, UINT32_MAX);
         warmup_set = true;
      } else if (!strcmp(arg, "--size-mib")) {
         /* 4095 MiB keeps every byte count of every workload inside 32 bits of elements. */
         size_mib = parse_number(arg, argv[++i], 1, 4095);
      } else if (!strcmp(arg, "--quick")) {
         quick = true;
      } else if (arg[0] == '-') {
         usage_error("unknown option %s", arg);
      } else if (workload) {
         usage_error("one workload at a time (also got %s)", arg);
      } else {
         for (size_t w = 0; w < WORKLOAD_COUNT; w++) {
            if (!strcmp(arg, workloads[w]->name))
               workload = workloads[w];
         }
         if (!workload)
            usage_error("unknown workload %s", arg);
      }
   }
   if (!workload)
      usage_error("%s", "no workload named");
   if (size_mib && !workload->size_mib)
      usage_error("workload %s has no data size", workload->name);

   struct pv_workload_args args = {
         .iterations = iterations_set ? iterations
                       : quick        ? workload->quick_iterations
                                      : workload->iterations,
         .warmup = warmup_set ? warmup
                   : quick    ? workload->quick_warmup
                              : workload->warmup,
         .quick = quick,
   };
   if (!size_mib)
      size_mib = quick ? workload->quick_size_mib : workload->size_mib;
   args.size_bytes = (uint64_t)size_mib << 20;
   return workload->run(&args);
}
