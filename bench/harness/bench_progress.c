/* The bench's progress on stderr: a redrawn bar on a terminal, one plain line per step
 * otherwise (CI logs, where carriage returns would pile up into one unreadable line). */
#include <stdio.h>
#include <unistd.h>

#include "bench_internal.h"

#define PV_PROGRESS_WIDTH 30

void pv_bench_progress_init(struct pv_bench_progress *p, size_t total)
{
   *p = (struct pv_bench_progress){.total = total, .tty = isatty(STDERR_FILENO) == 1};
}

static void draw(const struct pv_bench_progress *p, const char *what)
{
   size_t total = p->total ? p->total : 1;
   int filled = (int)(PV_PROGRESS_WIDTH * p->done / total);
   /* Padding erases the end of a longer label drawn before. */
   fprintf(stderr, "\r[%.*s%*s] %3zu%% %-40s", filled, "##############################",
           PV_PROGRESS_WIDTH - filled, "", 100 * p->done / total, what);
}

void pv_bench_progress_step(struct pv_bench_progress *p, const char *what)
{
   if (p->tty)
      draw(p, what);
   else
      fprintf(stderr, "pearvisor bench: [%zu/%zu] %s\n", p->done + 1, p->total, what);
   p->done++;
}

void pv_bench_progress_skip(struct pv_bench_progress *p)
{
   p->done++;
}

void pv_bench_progress_finish(struct pv_bench_progress *p)
{
   p->done = p->total;
   if (p->tty) {
      draw(p, "done");
      fputc('\n', stderr);
   }
}
