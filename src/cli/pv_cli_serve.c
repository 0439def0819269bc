/* `pearvisor serve`: the vtest server. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/pv_cli.h"
#include "util/pv_limits.h"
#include "util/pv_sandbox.h"
#include "vtest/pv_vtest.h"

static const char usage[] =
      "usage: pearvisor serve [--socket PATH] [--icd HOST_ICD_JSON] [--ready N] [--no-fork]\n"
      "                       [--no-sandbox] [--stats] [--limit NAME=VALUE]...\n"
      "\n"
      "Listens for guests (Mesa venus with VN_DEBUG=vtest) on a UNIX socket and replays their\n"
      "Vulkan on the host driver. Runs until SIGINT or SIGTERM.\n"
      "\n"
      "  --socket PATH   socket path (default /tmp/.virgl_test, Mesa's default)\n"
      "  --icd JSON      host Vulkan driver manifest (default: the loader's choice)\n"
      "  --ready N       keep N worker processes (0..16, default 2) that have loaded the host\n"
      "                  driver and created a host instance before any guest comes, so a new\n"
      "                  guest does not wait for that; 0: a worker is started per guest. Each\n"
      "                  holds its memory while it waits: on lavapipe an RSS of about 55 MiB,\n"
      "                  13 MiB of it its own and the rest shared libraries\n"
      "  --no-fork       serve clients in this process (debugging) instead of one worker\n"
      "                  process per guest process; no ready workers then\n"
      "  --no-sandbox    run workers without their seccomp filter (debugging; PV_SANDBOX=learn\n"
      "                  logs what the filter would refuse and lets it fail instead)\n"
      "  --stats         log each context's objects and memory when its client leaves\n"
      "  --limit NAME=VALUE\n"
      "                  what one guest may hold or send (repeatable; sizes take K, M, G). A\n"
      "                  guest at a limit is logged once and gets an error (out of device or\n"
      "                  host memory, a refused sync or wait) or, where Vulkan has none to\n"
      "                  give, a fatal context; other guests never notice. A connection past\n"
      "                  the connections limit is closed at once. The limits:\n";

/* The usage with the limits and their defaults (pv_limits.c holds them) after it. */
static int usage_with_limits(bool asked)
{
   char text[sizeof(usage) + 1024];
   size_t len = strlen(usage);
   memcpy(text, usage, len);
   pv_limits_help(text + len, sizeof(text) - len);
   return pv_cli_usage(text, asked);
}

int pv_cli_serve(int argc, char **argv)
{
   static const struct option options[] = {
         {"socket", required_argument, NULL, 's'},
         {"icd", required_argument, NULL, 'i'},
         {"ready", required_argument, NULL, 'r'},
         {"no-fork", no_argument, NULL, 'n'},
         {"stats", no_argument, NULL, 't'},
         {"no-sandbox", no_argument, NULL, 'u'},
         {"limit", required_argument, NULL, 'l'},
         {"help", no_argument, NULL, 'h'},
         {0},
   };
   struct pv_vtest_options opts = {
         .socket_path = "/tmp/.virgl_test", .sandbox = pv_sandbox_mode_from_env(), .ready = 2};
   int c;
   while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
      switch (c) {
      case 's':
         opts.socket_path = optarg;
         break;
      case 'i':
         pv_cli_use_host_icd(optarg);
         break;
      case 'r': {
         char *end;
         unsigned long n = strtoul(optarg, &end, 10);
         if (!*optarg || *end || n > PV_VTEST_READY_MAX) {
            fprintf(stderr, "pearvisor serve: --ready takes 0..%d, not '%s'\n", PV_VTEST_READY_MAX,
                    optarg);
            return 2;
         }
         opts.ready = (unsigned)n;
         break;
      }
      case 'n':
         opts.no_fork = true;
         break;
      case 't':
         opts.print_stats = true;
         break;
      case 'u':
         opts.sandbox = PV_SANDBOX_OFF;
         break;
      case 'l': {
         char error[256];
         if (!pv_limits_parse(&opts.limits, optarg, error, sizeof(error))) {
            fprintf(stderr, "pearvisor serve: --limit: %s\n", error);
            return 2;
         }
         break;
      }
      case 'h':
         return usage_with_limits(true);
      default:
         return usage_with_limits(false);
      }
   }
   if (optind != argc) {
      fprintf(stderr, "pearvisor serve: unexpected argument '%s'\n", argv[optind]);
      return usage_with_limits(false);
   }
   return pv_vtest_serve(&opts);
}
