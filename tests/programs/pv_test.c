/* The common start and end of the GPU test programs: banner, CHECKSUM line, exit status. */
#include <inttypes.h>
#include <stdio.h>

#include "pv_test.h"

void pv_test_begin(struct pv_vkapp *app, const char *name, struct pv_vkapp_config config)
{
   config.name = name;
   pv_vkapp_init(app, &config);
   pv_test_banner(app, name);
}

void pv_test_banner(const struct pv_vkapp *app, const char *name)
{
   fprintf(stderr, "%s: %s (graphics family %u, compute family %u queue %u)\n", name,
           app->props.deviceName, app->graphics.family, app->compute.family, app->compute.index);
}

int pv_test_end(struct pv_vkapp *app, const char *name, bool ok, uint64_t checksum)
{
   printf("CHECKSUM %016" PRIx64 "\n", checksum);
   fflush(stdout);
   fprintf(stderr, "%s: %s\n", name, ok ? "PASS" : "FAIL");
   pv_vkapp_finish(app);
   return ok ? 0 : 1;
}
