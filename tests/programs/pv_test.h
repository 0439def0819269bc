/* What every GPU test program shares: its device set-up banner, its CHECKSUM line, its exit. */
#ifndef PV_TEST_H
#define PV_TEST_H

#include "pv_vkapp.h"

/* Creates the device with config, named name (exits 2 on failure), and names it on stderr. */
void pv_test_begin(struct pv_vkapp *app, const char *name, struct pv_vkapp_config config);
/* The banner pv_test_begin prints on stderr: the program, the device, the queues it uses. */
void pv_test_banner(const struct pv_vkapp *app, const char *name);

/* For programs that enable features or extensions (pv_test_device.c): the instance and the
 * first physical device with its properties, to query before pv_test_begin_device. */
void pv_test_begin_instance(struct pv_vkapp *app, const char *name);
/* true when the physical device offers the device extension. */
bool pv_test_has_extension(const struct pv_vkapp *app, const char *extension);
/* Creates the device with features (a VkPhysicalDeviceFeatures2 chain, or NULL) and the
 * extensions enabled, on one queue of the first family with graphics and compute that
 * app->graphics and app->compute share, and prints the banner. Exits 2 on failure. */
void pv_test_begin_device(struct pv_vkapp *app, const char *name,
                          const VkPhysicalDeviceFeatures2 *features, const char *const *extensions,
                          uint32_t extension_count);
/* The graphics queue's timestampValidBits: 0 when it cannot write timestamps. */
uint32_t pv_test_timestamp_bits(const struct pv_vkapp *app);

/* Prints `CHECKSUM <16 hex digits>` on stdout and PASS/FAIL on stderr, tears the device down
 * (the program has destroyed its objects) and returns the exit status: 0 if ok, else 1. */
int pv_test_end(struct pv_vkapp *app, const char *name, bool ok, uint64_t checksum);

#endif
