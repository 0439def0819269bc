/* `pearvisor`: the command-line entry point; picks the subcommand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef PV_HAVE_BENCH
#include "pv_bench.h"
#endif
#include "cli/pv_cli.h"
#include "util/pv_log.h"

static const char usage[] =
      "usage: pearvisor COMMAND [OPTIONS]\n"
      "\n"
      "Serve the host GPU to guests running Mesa's venus Vulkan driver.\n"
      "\n"
      "commands:\n"
      "  serve   listen for vtest clients (guests) on a UNIX socket\n"
      "  run     run one program as a guest through a private server: run -- CMD ARGS...\n"
      "  info    the host devices, the memory path chosen for each; with --protocol, the\n"
      "          protocol coverage and which extensions reach the guest\n"
      "  bench   native-versus-virtualized benchmarks\n"
      "\n"
      "`pearvisor COMMAND --help` describes each command's options.\n"
      "Environment: PV_LOG=error|warn|info|debug,\n"
      "PV_DEBUG=protocol,vtest,ring,validate,record (validate: the Khronos validation layer on\n"
      "the host side, errors logged as \"validation: ...\"; record: every context stream and\n"
      "ring batch written to PV_RECORD_DIR, default the current directory, as\n"
      "record-PID-CONTEXT-N.pvrec, docs/fuzzing.md), "
      "PV_PERF=no_lazy_wake,no_fence_pool,no_timeline_waiters\n"
      "(turn a fast path off to measure it).\n";

int pv_cli_usage(const char *text, bool asked)
{
   fputs(text, asked ? stdout : stderr);
   return asked ? 0 : 2;
}

void pv_cli_use_host_icd(const char *icd)
{
   /* Both names: loaders before 1.3.207 know only the older one. */
   setenv("VK_DRIVER_FILES", icd, 1);
   setenv("VK_ICD_FILENAMES", icd, 1);
}

int main(int argc, char **argv)
{
   pv_log_init("pearvisor");
   if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
      fputs(usage, argc < 2 ? stderr : stdout);
      return argc < 2 ? 2 : 0;
   }
   const char *cmd = argv[1];
   if (strcmp(cmd, "serve") == 0)
      return pv_cli_serve(argc - 1, argv + 1);
   if (strcmp(cmd, "run") == 0)
      return pv_cli_run(argc - 1, argv + 1);
   if (strcmp(cmd, "info") == 0)
      return pv_cli_info(argc - 1, argv + 1);
#ifdef PV_HAVE_BENCH
   if (strcmp(cmd, "bench") == 0)
      return pv_bench_main(argc - 1, argv + 1);
#endif
   fprintf(stderr, "pearvisor: unknown command '%s'\n\n%s", cmd, usage);
   return 2;
}
