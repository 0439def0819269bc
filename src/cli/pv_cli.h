/* The `pearvisor` subcommands. Each takes argv with argv[0] = the subcommand name and
 * returns the process exit status. */
#ifndef PV_CLI_H
#define PV_CLI_H

int pv_cli_serve(int argc, char **argv);
int pv_cli_run(int argc, char **argv);
int pv_cli_info(int argc, char **argv);

#endif
