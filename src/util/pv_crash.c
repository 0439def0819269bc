/* A worker's last words (pv_crash.h). */
#include "util/pv_crash.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

_Thread_local struct pv_crash_command pv_crash_current;

static char crash_who[64] = "pearvisor";
static char crash_guest[64];

static const struct {
   int number;
   const char *name;
} crash_signals[] = {
      {SIGSEGV, "SIGSEGV"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
      {SIGILL, "SIGILL"},   {SIGABRT, "SIGABRT"},
};
#define PV_CRASH_SIGNAL_COUNT (sizeof(crash_signals) / sizeof(crash_signals[0]))

static struct sigaction previous[PV_CRASH_SIGNAL_COUNT];

void pv_crash_line_add(struct pv_crash_line *line, const char *text)
{
   size_t room = sizeof(line->text) - 1 - line->len; /* one byte kept for the newline */
   size_t n = strnlen(text, room);
   memcpy(line->text + line->len, text, n);
   line->len += n;
}

void pv_crash_line_add_number(struct pv_crash_line *line, long value)
{
   char digits[24];
   size_t n = sizeof(digits) - 1;
   digits[n] = '\0';
   unsigned long v = value < 0 ? 0ul - (unsigned long)value : (unsigned long)value;
   do {
      digits[--n] = (char)('0' + v % 10);
      v /= 10;
   } while (v);
   if (value < 0)
      digits[--n] = '-';
   pv_crash_line_add(line, digits + n);
}

void pv_crash_line_add_who(struct pv_crash_line *line)
{
   pv_crash_line_add(line, crash_who);
   const char *sep = " (";
   if (crash_guest[0]) {
      pv_crash_line_add(line, " (guest ");
      pv_crash_line_add(line, crash_guest);
      sep = ", ";
   }
   if (pv_crash_current.name) {
      pv_crash_line_add(line, sep);
      pv_crash_line_add(line, "this thread's last command ");
      pv_crash_line_add(line, pv_crash_current.name);
      pv_crash_line_add(line, ", id ");
      pv_crash_line_add_number(line, (long)pv_crash_current.id);
      sep = ", ";
   }
   if (sep[0] == ',')
      pv_crash_line_add(line, ")");
}

void pv_crash_line_write(struct pv_crash_line *line)
{
   line->text[line->len++] = '\n';
   (void)!write(STDERR_FILENO, line->text, line->len);
}

static void on_crash(int sig, siginfo_t *info, void *context)
{
   size_t i = 0;
   while (i < PV_CRASH_SIGNAL_COUNT && crash_signals[i].number != sig)
      i++;
   struct pv_crash_line line = {.len = 0};
   pv_crash_line_add(&line, "pearvisor[");
   pv_crash_line_add_number(&line, (long)getpid());
   pv_crash_line_add(&line, "]: error: ");
   pv_crash_line_add_who(&line);
   pv_crash_line_add(&line, " crashed: ");
   pv_crash_line_add(&line, i < PV_CRASH_SIGNAL_COUNT ? crash_signals[i].name : "signal");
   pv_crash_line_write(&line);
   /* Then what would have happened without us. A fault returns to the instruction, which
    * faults again under the previous handler; a sent signal (abort) is sent again, and
    * arrives once this handler returns. */
   sigaction(sig, i < PV_CRASH_SIGNAL_COUNT ? &previous[i] : NULL, NULL);
   if (info->si_code <= 0)
      raise(sig);
}

void pv_crash_report_install(const char *who)
{
   snprintf(crash_who, sizeof(crash_who), "%s", who);
   struct sigaction sa = {.sa_sigaction = on_crash, .sa_flags = SA_SIGINFO};
   sigemptyset(&sa.sa_mask);
   for (size_t i = 0; i < PV_CRASH_SIGNAL_COUNT; i++)
      sigaction(crash_signals[i].number, &sa, &previous[i]);
}

void pv_crash_set_guest(const char *guest)
{
   /* Written before the guest's first command; a crash reads it later on any thread. */
   snprintf(crash_guest, sizeof(crash_guest), "%s", guest);
}
