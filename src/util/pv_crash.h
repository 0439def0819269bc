/* A worker's last words. When a worker process crashes (SIGSEGV, SIGBUS, SIGFPE, SIGILL,
 * SIGABRT) or breaks its sandbox, one line on stderr says which worker, which guest, which
 * signal, and the last Venus command the crashing thread ran (or was running); then the signal
 * takes its course (a sanitizer's handler, a core dump, the server's "killed by signal" log). The
 * lines are built in signal handlers, so everything here that they use is async-signal-safe. */
#ifndef PV_CRASH_H
#define PV_CRASH_H

#include <stddef.h>
#include <stdint.h>

/* The last command the calling thread started: its id and name (NULL: none yet). */
struct pv_crash_command {
   uint32_t id;
   const char *name;
};
extern _Thread_local struct pv_crash_command pv_crash_current;

/* Called by the dispatcher before each command's handler: two stores, no call. */
static inline void pv_crash_note_command(uint32_t id, const char *name)
{
   pv_crash_current.id = id;
   pv_crash_current.name = name;
}

/* Installs the handlers. who names the process in the report ("vtest worker 123"). */
void pv_crash_report_install(const char *who);
/* The guest's own name, once it says it (vtest CREATE_RENDERER, the VMM's context name). */
void pv_crash_set_guest(const char *guest);

/* A line built without malloc or stdio. */
struct pv_crash_line {
   char text[384];
   size_t len;
};
void pv_crash_line_add(struct pv_crash_line *line, const char *text);
void pv_crash_line_add_number(struct pv_crash_line *line, long value);
/* "WHO (guest G, this thread's last command vkX, id N)", leaving out what is not known. */
void pv_crash_line_add_who(struct pv_crash_line *line);
/* Ends the line and writes it to stderr. */
void pv_crash_line_write(struct pv_crash_line *line);

#endif
