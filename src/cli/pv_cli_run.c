/* `pearvisor run -- CMD`: one program as a guest, through a private server. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/pv_cli.h"
#include "util/pv_launch.h"

static const char usage[] =
      "usage: pearvisor run [--icd HOST_ICD_JSON] [--venus-icd VENUS_ICD_JSON] [--no-guest-layer]\n"
      "                     -- CMD [ARGS...]\n"
      "\n"
      "Starts a private server on a private socket, runs CMD with the environment that points\n"
      "Mesa venus at it (VN_DEBUG=vtest, VTEST_SOCKET_NAME, VK_DRIVER_FILES), stops the server\n"
      "and exits with CMD's exit status.\n"
      "\n"
      "CMD also gets the guest-side layer VK_LAYER_PEARVISOR_fast_wait (quicker waits on venus,\n"
      "docs/guest-layer.md): PEARVISOR_FAST_WAIT=1, and XDG_DATA_DIRS led by the folder holding\n"
      "its manifest (" PV_GUEST_LAYER_MANIFEST "):\n"
      "<pearvisor's folder>/guest in a build tree, <pearvisor's folder>/../share when installed;\n"
      "with neither, the loader's own folders (/usr/share, ...). PEARVISOR_FAST_WAIT_DEBUG=1\n"
      "makes the layer say on stderr whether it acts on each device.\n"
      "\n"
      "  --icd JSON        host Vulkan driver manifest for the server (default: loader's choice)\n"
      "  --venus-icd JSON  the guest driver manifest (default " PV_DEFAULT_VENUS_ICD ")\n"
      "  --no-guest-layer  keep the guest layer off (sets PEARVISOR_NO_FAST_WAIT=1 for CMD)\n";

int pv_cli_run(int argc, char **argv)
{
   static const struct option options[] = {
         {"icd", required_argument, NULL, 'i'},
         {"venus-icd", required_argument, NULL, 'v'},
         {"no-guest-layer", no_argument, NULL, 'n'},
         {"help", no_argument, NULL, 'h'},
         {0},
   };
   const char *host_icd = NULL, *venus_icd = PV_DEFAULT_VENUS_ICD;
   bool guest_layer = true;
   int c;
   while ((c = getopt_long(argc, argv, "+", options, NULL)) != -1) {
      switch (c) {
      case 'i':
         host_icd = optarg;
         break;
      case 'v':
         venus_icd = optarg;
         break;
      case 'n':
         guest_layer = false;
         break;
      case 'h':
         return pv_cli_usage(usage, true);
      default:
         return pv_cli_usage(usage, false);
      }
   }
   if (optind >= argc) {
      fprintf(stderr, "pearvisor run: no command given\n%s", usage);
      return 2;
   }
   char layer_dir[PATH_MAX];
   bool layer_found = guest_layer && pv_launch_find_guest_layer(layer_dir, sizeof(layer_dir));
   struct pv_launch server;
   if (!pv_launch_start(&server, NULL, host_icd))
      return 1;
   int status = 1;
   pid_t child = fork();
   if (child == 0) {
      pv_launch_guest_env(&server, venus_icd);
      pv_launch_guest_layer_env(guest_layer, layer_found ? layer_dir : NULL);
      execvp(argv[optind], &argv[optind]);
      fprintf(stderr, "pearvisor run: cannot run %s: %m\n", argv[optind]);
      _exit(127);
   }
   int wstatus = 0;
   if (child > 0 && waitpid(child, &wstatus, 0) == child)
      status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
   pv_launch_stop(&server);
   return status;
}
