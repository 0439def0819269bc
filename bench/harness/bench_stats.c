/* Statistics of the bench: summaries of per-iteration times and a bootstrap confidence
 * interval of the efficiency over repetitions. */
#include <math.h>
#include <stdlib.h>

#include "bench_internal.h"

static int compare_u64(const void *a, const void *b)
{
   uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
   return x < y ? -1 : x > y;
}

static int compare_double(const void *a, const void *b)
{
   double x = *(const double *)a, y = *(const double *)b;
   return x < y ? -1 : x > y;
}

/* Linear interpolation between closest ranks, so small samples give stable percentiles. */
static double percentile_sorted(const uint64_t *v, size_t n, double p)
{
   double rank = p * (double)(n - 1);
   size_t lo = (size_t)rank;
   size_t hi = lo + 1 < n ? lo + 1 : lo;
   return (double)v[lo] + (rank - (double)lo) * ((double)v[hi] - (double)v[lo]);
}

void pv_bench_summarize(uint64_t *samples, size_t n, struct pv_bench_summary *s)
{
   *s = (struct pv_bench_summary){.n = n};
   if (!n)
      return;
   qsort(samples, n, sizeof(*samples), compare_u64);
   double sum = 0;
   for (size_t i = 0; i < n; i++)
      sum += (double)samples[i];
   s->mean = sum / (double)n;
   s->median = percentile_sorted(samples, n, 0.5);
   s->p99 = percentile_sorted(samples, n, 0.99);
   s->min = (double)samples[0];
   s->max = (double)samples[n - 1];
}

double pv_bench_median(double *v, size_t n)
{
   if (!n)
      return NAN;
   qsort(v, n, sizeof(*v), compare_double);
   return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* xorshift64*: a fixed seed keeps reports reproducible run to run. */
static uint64_t next_random(uint64_t *state)
{
   *state ^= *state >> 12;
   *state ^= *state << 25;
   *state ^= *state >> 27;
   return *state * 0x2545f4914f6cdd1dull;
}

#define PV_BOOTSTRAP_RESAMPLES 2000

void pv_bench_efficiency_ci(const double *native, size_t native_n, const double *virt,
                            size_t virt_n, double *low, double *high)
{
   *low = *high = NAN;
   if (!native_n || !virt_n)
      return;
   double *ratios = malloc(PV_BOOTSTRAP_RESAMPLES * sizeof(*ratios));
   double *a = malloc(native_n * sizeof(*a)), *b = malloc(virt_n * sizeof(*b));
   if (!ratios || !a || !b)
      goto out;
   uint64_t state = 0x9e3779b97f4a7c15ull;
   for (size_t k = 0; k < PV_BOOTSTRAP_RESAMPLES; k++) {
      for (size_t i = 0; i < native_n; i++)
         a[i] = native[next_random(&state) % native_n];
      for (size_t i = 0; i < virt_n; i++)
         b[i] = virt[next_random(&state) % virt_n];
      /* Throughput is items per time, so the throughput ratio is the time ratio inverted. */
      ratios[k] = pv_bench_median(a, native_n) / pv_bench_median(b, virt_n);
   }
   qsort(ratios, PV_BOOTSTRAP_RESAMPLES, sizeof(*ratios), compare_double);
   *low = ratios[(size_t)(0.025 * PV_BOOTSTRAP_RESAMPLES)];
   *high = ratios[(size_t)(0.975 * PV_BOOTSTRAP_RESAMPLES) - 1];
out:
   free(ratios);
   free(a);
   free(b);
}
