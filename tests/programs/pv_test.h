/* What every GPU test program shares: its device set-up banner, its CHECKSUM line, its exit. */
#ifndef PV_TEST_H
#define PV_TEST_H

#include "pv_vkapp.h"

/* Creates the device with config, named name (exits 2 on failure), and names it on stderr. */
void pv_test_begin(struct pv_vkapp *app, const char *name, struct pv_vkapp_config config);
/* Prints `CHECKSUM <16 hex digits>` on stdout and PASS/FAIL on stderr, tears the device down
 * (the program has destroyed its objects) and returns the exit status: 0 if ok, else 1. */
int pv_test_end(struct pv_vkapp *app, const char *name, bool ok, uint64_t checksum);

#endif
