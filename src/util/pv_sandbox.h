/* Confines a worker process before it reads a guest's first byte: no new privileges, and a
 * seccomp filter that lets through the system calls a worker and a host Vulkan driver make
 * (files, memory, threads, its sockets, device ioctls) and traps every other one (new
 * processes, programs, network sockets, ptrace, mounts, namespaces, kernel modules, ...). */
#ifndef PV_SANDBOX_H
#define PV_SANDBOX_H

#include <stdbool.h>

/* PV_SANDBOX in the environment: "off" installs nothing (debugging), "learn" logs each
 * system call the filter would refuse and lets it fail with ENOSYS instead of ending the
 * process (for finding what a new host driver needs). Default: enforce. */
enum pv_sandbox_mode {
   PV_SANDBOX_ENFORCE,
   PV_SANDBOX_LEARN,
   PV_SANDBOX_OFF,
};
enum pv_sandbox_mode pv_sandbox_mode_from_env(void);

/* Confines the calling process: every thread it has (those a host driver started too) and
 * every thread it starts later. First, whatever the mode, installs the crash report
 * (pv_crash.h) naming the process who, which also names it in the line a refused call writes
 * before the process dies of SIGSYS. false (logged) when the kernel refuses the filter. */
bool pv_sandbox_enter(enum pv_sandbox_mode mode, const char *who);

#endif
