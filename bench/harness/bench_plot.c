/* --plot: a PNG with gnuplot: efficiency per workload with 95% CI whiskers, and the latency
 * workload's per-iteration time distributions, native and virtualized. The gnuplot script
 * and its data stay beside the PNG (FILE.png.gp, ...), so the plot can be redrawn or
 * restyled, or drawn elsewhere when this machine has no gnuplot. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_internal.h"

static bool write_cdf(const char *path, const uint64_t *sorted, size_t n)
{
   FILE *f = fopen(path, "w");
   if (!f)
      return false;
   /* At most ~2000 points: the shape, not every sample. */
   size_t step = n > 2000 ? n / 2000 : 1;
   for (size_t i = 0; i < n; i += step)
      fprintf(f, "%.3f %.5f\n", (double)sorted[i] / 1e3, (double)(i + 1) / (double)n);
   return fclose(f) == 0;
}

static FILE *open_beside(const char *png, const char *suffix, char *path, size_t size)
{
   snprintf(path, size, "%s%s", png, suffix);
   return fopen(path, "w");
}

static const char *base_name(const char *path)
{
   const char *slash = strrchr(path, '/');
   return slash ? slash + 1 : path;
}

/* A file's base name as the inside of a gnuplot single-quoted string, where ' is doubled. */
static const char *gp_name(const char *path, char *out, size_t size)
{
   size_t n = 0;
   for (const char *c = base_name(path); *c && n + 2 < size; c++) {
      if (*c == '\'')
         out[n++] = '\'';
      out[n++] = *c;
   }
   out[n] = 0;
   return out;
}

static bool cannot_write(const char *path)
{
   fprintf(stderr, "pearvisor bench: no plot: cannot write %s: %s\n", path, strerror(errno));
   return false;
}

/* True when name is an executable file in one of $PATH's folders. */
static bool in_path(const char *name)
{
   const char *path = getenv("PATH");
   char copy[4096], file[4096 + 64];
   snprintf(copy, sizeof(copy), "%s", path ? path : "/usr/bin:/bin");
   for (char *save, *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
      snprintf(file, sizeof(file), "%s/%s", dir, name);
      if (access(file, X_OK) == 0)
         return true;
   }
   return false;
}

/* Runs gnuplot on script in the PNG's folder, where the script's relative names point.
 * exec, not system(): the folder's name reaches no shell. */
static bool run_gnuplot(const char *png, const char *script)
{
   if (!in_path("gnuplot")) {
      fprintf(stderr,
              "pearvisor bench: no PNG: gnuplot is not installed (Debian: apt-get install "
              "gnuplot-nox). The script is ready: cd to its folder and run gnuplot %s\n",
              base_name(script));
      return false;
   }
   char dir[1024];
   snprintf(dir, sizeof(dir), "%s", png);
   char *slash = strrchr(dir, '/');
   if (slash == dir)
      dir[1] = 0; /* a PNG in / */
   else if (slash)
      *slash = 0;
   pid_t pid = fork();
   if (pid == 0) {
      if (!slash || chdir(dir) == 0)
         execlp("gnuplot", "gnuplot", base_name(script), (char *)NULL);
      fprintf(stderr, "pearvisor bench: cannot run gnuplot in %s: %s\n", dir, strerror(errno));
      _exit(127);
   }
   int status = 0;
   if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
       WEXITSTATUS(status) != 0) {
      fprintf(stderr, "pearvisor bench: gnuplot failed on %s (its messages are above)\n", script);
      return false;
   }
   return true;
}

bool pv_bench_plot(const struct pv_bench_run *run, const char *png)
{
   char eff[1024], native[1024], virt[1024], script[1024], q[2][2048];
   FILE *f = open_beside(png, ".efficiency.dat", eff, sizeof(eff));
   const struct pv_bench_phase *latency = NULL;
   /* Room above 100% (native) and above the highest whisker, which may exceed it. */
   double top = 120;
   for (size_t i = 0; f && i < run->phase_count; i++) {
      const struct pv_bench_phase *ph = &run->phases[i];
      if (strcmp(ph->name, "latency") == 0)
         latency = ph;
      if (isnan(ph->efficiency))
         continue;
      fprintf(f, "%zu %s %.2f %.2f %.2f\n", i, ph->name, 100 * ph->efficiency,
              100 * ph->efficiency_low, 100 * ph->efficiency_high);
      top = fmax(top, 110 * fmax(ph->efficiency, ph->efficiency_high));
   }
   if (!f || fclose(f) != 0)
      return cannot_write(eff);
   snprintf(native, sizeof(native), "%s.latency-native.dat", png);
   snprintf(virt, sizeof(virt), "%s.latency-virtual.dat", png);
   /* Samples were sorted by the statistics step. */
   bool have_latency = latency && latency->sample_count[0] && latency->sample_count[1] &&
                       write_cdf(native, latency->samples[0], latency->sample_count[0]) &&
                       write_cdf(virt, latency->samples[1], latency->sample_count[1]);
   f = open_beside(png, ".gp", script, sizeof(script));
   if (!f)
      return cannot_write(script);
   /* Names relative to the PNG's folder: gnuplot runs there. */
   fprintf(f,
           "set terminal pngcairo size 1400,600 font ',11' noenhanced\n"
           "set output '%s'\n"
           "set multiplot layout 1,%d title 'PearVisor vs native, %s'\n"
           "set title 'Efficiency (virtualized / native throughput), 95%% CI'\n"
           "set ylabel 'percent of native'\nset yrange [0:%.0f]\nset grid ytics\n"
           "set style fill solid 0.6\nset boxwidth 0.6\nset xtics rotate by -30\n"
           "plot '%s' using 1:3:xtic(2) with boxes notitle, '' using 1:3:4:5 with yerrorbars "
           "lc rgb 'black' pt 0 notitle, 100 with lines dt 2 lc rgb 'gray' title 'native'\n",
           gp_name(png, q[0], sizeof(q[0])), have_latency ? 2 : 1, run->date, top,
           gp_name(eff, q[1], sizeof(q[1])));
   if (have_latency)
      fprintf(f,
              "set title 'latency workload: submit + wait, CDF'\nset xlabel 'microseconds'\n"
              "set ylabel 'fraction of iterations'\nset yrange [0:1]\nset logscale x\n"
              "set xtics norotate\n"
              "plot '%s' using 1:2 with lines lw 2 title 'native', '%s' using 1:2 with lines "
              "lw 2 title 'PearVisor'\n",
              gp_name(native, q[0], sizeof(q[0])), gp_name(virt, q[1], sizeof(q[1])));
   fprintf(f, "unset multiplot\n");
   if (fclose(f) != 0)
      return cannot_write(script);
   return run_gnuplot(png, script);
}
