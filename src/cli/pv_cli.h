/* The `pearvisor` subcommands. Each takes argv with argv[0] = the subcommand name and
 * returns the process exit status. */
#ifndef PV_CLI_H
#define PV_CLI_H

#include <stdbool.h>

int pv_cli_serve(int argc, char **argv);
int pv_cli_run(int argc, char **argv);
int pv_cli_info(int argc, char **argv);
/* Prints a command's usage: on stdout when asked for with --help (returns exit status 0),
 * on stderr after a usage error (returns 2). */
int pv_cli_usage(const char *usage, bool asked);
/* Points this process's Vulkan loader at a host driver manifest. Call while the process
 * has one thread, before anything loads Vulkan (the renderer never touches the
 * environment itself). */
void pv_cli_use_host_icd(const char *icd);

#endif
