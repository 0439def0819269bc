/* pv-test-clocks: the device's clock against the CPU's, as VK_EXT_calibrated_timestamps and
 * timestamp queries give them to the guest. */

/* What GL on Vulkan (zink) builds GL_TIMESTAMP from: calibrated (device, CLOCK_MONOTONIC) pairs
 * and timestamp queries scaled by timestampPeriod. Checked here: both domains are offered;
 * over a quarter second the device clock scaled by the period advances as CLOCK_MONOTONIC does
 * (within the deviations the calls report plus 1 ms/s); and timestamps a submission writes
 * fall between calibrated device timestamps read before and after it. The checksum covers what
 * must be the same everywhere (the domains, the period, the valid bits, which checks held),
 * never a clock's value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pv_test.h"

#define NAME        "pv-test-clocks"
#define INTERVAL_NS 250000000ull /* between the two calibrations */
#define DRIFT_LIMIT 1000u        /* ns of drift allowed per ms of interval: 1 ms/s */

struct facts {
   bool ok;
   uint64_t checksum;
};

static void fact(struct facts *f, const char *what, bool held)
{
   const uint8_t value = held;
   f->checksum = pv_fnv1a64(f->checksum, &value, sizeof(value));
   if (!held) {
      fprintf(stderr, "%s: %s: does not hold\n", NAME, what);
      f->ok = false;
   }
}

struct calibration {
   uint64_t device;    /* in ticks */
   uint64_t monotonic; /* in ns */
   uint64_t deviation; /* in ns */
};

static struct calibration calibrate(struct pv_vkapp *app, PFN_vkGetCalibratedTimestampsEXT get)
{
   const VkCalibratedTimestampInfoEXT infos[2] = {
         {VK_STRUCTURE_TYPE_CALIBRATED_TIMESTAMP_INFO_EXT, NULL, VK_TIME_DOMAIN_DEVICE_EXT},
         {VK_STRUCTURE_TYPE_CALIBRATED_TIMESTAMP_INFO_EXT, NULL,
          VK_TIME_DOMAIN_CLOCK_MONOTONIC_EXT},
   };
   uint64_t values[2];
   struct calibration c;
   PV_VK_CHECK(get(app->device, 2, infos, values, &c.deviation));
   c.device = values[0];
   c.monotonic = values[1];
   return c;
}

static void check_domains(struct pv_vkapp *app, struct facts *f)
{
   PFN_vkGetPhysicalDeviceCalibrateableTimeDomainsEXT get_domains =
         (PFN_vkGetPhysicalDeviceCalibrateableTimeDomainsEXT)vkGetInstanceProcAddr(
               app->instance, "vkGetPhysicalDeviceCalibrateableTimeDomainsEXT");
   if (!get_domains)
      pv_fail("vkGetPhysicalDeviceCalibrateableTimeDomainsEXT is missing");
   uint32_t count = 0;
   PV_VK_CHECK(get_domains(app->physical, &count, NULL));
   VkTimeDomainEXT *domains = pv_alloc((count ? count : 1) * sizeof(*domains));
   PV_VK_CHECK(get_domains(app->physical, &count, domains));
   bool device = false, monotonic = false;
   for (uint32_t i = 0; i < count; i++) {
      fprintf(stderr, "%s: time domain %d\n", NAME, domains[i]);
      f->checksum = pv_fnv1a64(f->checksum, &domains[i], sizeof(domains[i]));
      device |= domains[i] == VK_TIME_DOMAIN_DEVICE_EXT;
      monotonic |= domains[i] == VK_TIME_DOMAIN_CLOCK_MONOTONIC_EXT;
   }
   free(domains);
   fact(f, "the device time domain is offered", device);
   fact(f, "the CLOCK_MONOTONIC time domain is offered", monotonic);
}

/* The device clock in ns over the interval against CLOCK_MONOTONIC's. */
static void check_rate(struct pv_vkapp *app, PFN_vkGetCalibratedTimestampsEXT get, struct facts *f)
{
   const struct calibration a = calibrate(app, get);
   const struct timespec pause = {0, (long)INTERVAL_NS};
   nanosleep(&pause, NULL);
   const struct calibration b = calibrate(app, get);
   const double period = app->props.limits.timestampPeriod;
   const double device_ns = (double)(b.device - a.device) * period;
   const double monotonic_ns = (double)(b.monotonic - a.monotonic);
   const double drift_ns = device_ns - monotonic_ns;
   const double allowed = (double)(a.deviation + b.deviation) + monotonic_ns / 1e6 * DRIFT_LIMIT;
   fprintf(stderr,
           "%s: over %.1f ms the device clock moved %.1f ms: drift %.3f ms/s (deviations %llu "
           "and %llu ns)\n",
           NAME, monotonic_ns / 1e6, device_ns / 1e6, drift_ns / monotonic_ns * 1e3,
           (unsigned long long)a.deviation, (unsigned long long)b.deviation);
   fact(f, "CLOCK_MONOTONIC advances over the interval", monotonic_ns >= INTERVAL_NS);
   fact(f, "the device clock keeps CLOCK_MONOTONIC's rate",
        drift_ns <= allowed && drift_ns >= -allowed);
}

/* Timestamps at the top and the bottom of a submission, read back with the query API. */
static void check_queries(struct pv_vkapp *app, PFN_vkGetCalibratedTimestampsEXT get,
                          struct facts *f)
{
   const uint32_t bits = pv_test_timestamp_bits(app);
   f->checksum = pv_fnv1a64(f->checksum, &bits, sizeof(bits));
   fact(f, "the queue writes timestamps", bits > 0);
   if (!bits)
      return;
   const uint64_t mask = bits >= 64 ? ~0ull : (1ull << bits) - 1;
   const VkQueryPoolCreateInfo info = {
         .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
         .queryType = VK_QUERY_TYPE_TIMESTAMP,
         .queryCount = 2,
   };
   VkQueryPool pool;
   PV_VK_CHECK(vkCreateQueryPool(app->device, &info, NULL, &pool));
   VkCommandBuffer cmd = pv_cmd_begin_once(app, &app->graphics);
   vkCmdResetQueryPool(cmd, pool, 0, 2);
   vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, pool, 0);
   vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool, 1);

   const uint64_t before = calibrate(app, get).device & mask;
   pv_cmd_submit_once(app, &app->graphics, cmd);
   const uint64_t after = calibrate(app, get).device & mask;
   uint64_t stamps[2];
   PV_VK_CHECK(vkGetQueryPoolResults(app->device, pool, 0, 2, sizeof(stamps), stamps,
                                     sizeof(stamps[0]),
                                     VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT));
   fprintf(stderr, "%s: calibrated %llu, then timestamps +%lld and +%lld, calibrated +%lld ticks\n",
           NAME, (unsigned long long)before, (long long)(stamps[0] - before),
           (long long)(stamps[1] - before), (long long)(after - before));
   fact(f, "the top timestamp is not before the submission", stamps[0] >= before);
   fact(f, "the bottom timestamp is not before the top one", stamps[1] >= stamps[0]);
   fact(f, "the bottom timestamp is not after the wait", stamps[1] <= after);
   vkDestroyQueryPool(app->device, pool, NULL);
}

int main(void)
{
   struct pv_vkapp app;
   pv_test_begin_instance(&app, NAME);
   if (!pv_test_has_extension(&app, VK_EXT_CALIBRATED_TIMESTAMPS_EXTENSION_NAME))
      pv_fail("the device does not offer " VK_EXT_CALIBRATED_TIMESTAMPS_EXTENSION_NAME);
   const char *extensions[] = {VK_EXT_CALIBRATED_TIMESTAMPS_EXTENSION_NAME};
   pv_test_begin_device(&app, NAME, NULL, extensions, 1);
   PFN_vkGetCalibratedTimestampsEXT get = (PFN_vkGetCalibratedTimestampsEXT)vkGetDeviceProcAddr(
         app.device, "vkGetCalibratedTimestampsEXT");
   if (!get)
      pv_fail("vkGetCalibratedTimestampsEXT is missing");

   struct facts f = {.ok = true};
   const float period = app.props.limits.timestampPeriod;
   f.checksum = pv_fnv1a64(f.checksum, &period, sizeof(period));
   check_queries(&app, get, &f);
   check_domains(&app, &f);
   check_rate(&app, get, &f);
   return pv_test_end(&app, NAME, f.ok, f.checksum);
}
