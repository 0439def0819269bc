/* `pearvisor bench`: native-versus-virtualized benchmarks in one run. */
#ifndef PV_BENCH_H
#define PV_BENCH_H

/* argv[0] = "bench". Returns the process exit status. */
int pv_bench_main(int argc, char **argv);

#endif
