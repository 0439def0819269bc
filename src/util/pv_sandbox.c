/* The worker's seccomp filter (pv_sandbox.h). A classic BPF allow-list: the architecture is
 * checked first (a call through another ABI is refused), then the call number; a few calls
 * are allowed only with safe arguments. */
#include "util/pv_sandbox.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "util/pv_crash.h"
#include "util/pv_log.h"

#if defined(__x86_64__)
#define PV_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define PV_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "pv_sandbox: no seccomp policy for this architecture"
#endif

/* Everything a worker, glibc, the Vulkan loader and a host driver (lavapipe with LLVM's JIT;
 * NVIDIA's, which also symlinks files in its shader cache) were seen to need: files
 * (manifests, libraries, shader caches, device nodes), memory (executable JIT pages too),
 * threads and their synchronization, the worker's own sockets and fds, time, scheduling and
 * identity queries. */
/* clang-format off */
static const int allowed[] = {
   SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_pread64, SYS_pwrite64, SYS_lseek, SYS_close,
   SYS_close_range, SYS_openat, SYS_newfstatat, SYS_fstat, SYS_statx, SYS_statfs, SYS_fstatfs,
   SYS_faccessat, SYS_faccessat2, SYS_readlinkat, SYS_getdents64, SYS_getcwd, SYS_mkdirat,
   SYS_renameat, SYS_renameat2, SYS_unlinkat, SYS_symlinkat, SYS_fsync, SYS_fdatasync,
   SYS_fallocate, SYS_ftruncate, SYS_flock, SYS_utimensat, SYS_fchmod, SYS_umask, SYS_fadvise64,
   SYS_mmap, SYS_munmap, SYS_mprotect, SYS_mremap, SYS_madvise, SYS_mincore, SYS_msync, SYS_brk,
   SYS_membarrier, SYS_mbind, SYS_get_mempolicy, SYS_set_mempolicy, SYS_memfd_create, SYS_fcntl,
   SYS_dup, SYS_dup3, SYS_pipe2, SYS_eventfd2, SYS_ioctl, SYS_ppoll, SYS_pselect6,
   SYS_epoll_create1, SYS_epoll_ctl, SYS_epoll_pwait, SYS_recvmsg, SYS_sendmsg, SYS_recvfrom,
   SYS_sendto, SYS_shutdown, SYS_getsockopt, SYS_getsockname, SYS_futex, SYS_set_robust_list,
   SYS_get_robust_list, SYS_rseq, SYS_set_tid_address, SYS_exit, SYS_exit_group, SYS_rt_sigaction,
   SYS_rt_sigprocmask, SYS_rt_sigreturn, SYS_sigaltstack, SYS_getpid, SYS_gettid, SYS_getppid,
   SYS_getuid, SYS_geteuid, SYS_getgid, SYS_getegid, SYS_getresuid, SYS_getresgid, SYS_getgroups,
   SYS_clock_gettime, SYS_clock_getres, SYS_clock_nanosleep, SYS_nanosleep, SYS_gettimeofday,
   SYS_sched_yield, SYS_sched_getaffinity, SYS_sched_setaffinity, SYS_sched_getparam,
   SYS_sched_getscheduler, SYS_sched_get_priority_max, SYS_sched_get_priority_min,
   SYS_sched_setscheduler, SYS_getpriority, SYS_setpriority, SYS_prlimit64, SYS_getrlimit,
   SYS_getrusage, SYS_sysinfo, SYS_uname, SYS_getcpu, SYS_prctl, SYS_getrandom, SYS_times,
#ifdef SYS_futex_waitv
   SYS_futex_waitv,
#endif
#if defined(__x86_64__)
   SYS_open, SYS_stat, SYS_lstat, SYS_access, SYS_readlink, SYS_mkdir, SYS_rename,
   SYS_unlink, SYS_symlink, SYS_dup2, SYS_pipe, SYS_poll, SYS_select, SYS_epoll_wait,
   SYS_arch_prctl, SYS_time,
#endif
};
/* clang-format on */

static enum pv_sandbox_mode sandbox_mode;

enum pv_sandbox_mode pv_sandbox_mode_from_env(void)
{
   const char *v = getenv("PV_SANDBOX");
   if (v && strcmp(v, "off") == 0)
      return PV_SANDBOX_OFF;
   if (v && strcmp(v, "learn") == 0)
      return PV_SANDBOX_LEARN;
   return PV_SANDBOX_ENFORCE;
}

/* Async-signal-safe (pv_crash_line). */
static void on_sigsys(int sig, siginfo_t *info, void *context)
{
   struct pv_crash_line line = {.len = 0};
   pv_crash_line_add(&line, "pearvisor: ");
   pv_crash_line_add_who(&line);
   pv_crash_line_add(&line, ": system call ");
   pv_crash_line_add_number(&line, info->si_syscall);
   pv_crash_line_add(&line, sandbox_mode == PV_SANDBOX_LEARN
                                  ? " is outside the worker sandbox (learn mode: it fails with "
                                    "ENOSYS)"
                                  : " is outside the worker sandbox; the worker ends (see "
                                    "`ausyscall NUMBER`, or PV_SANDBOX=learn)");
   pv_crash_line_write(&line);
   if (sandbox_mode == PV_SANDBOX_LEARN) {
      ucontext_t *uc = context;
#if defined(__x86_64__)
      uc->uc_mcontext.gregs[REG_RAX] = -ENOSYS;
#else
      uc->uc_mcontext.regs[0] = (unsigned long long)-ENOSYS;
#endif
      return;
   }
   /* Die of SIGSYS, so the parent reports which signal ended the worker. */
   signal(SIGSYS, SIG_DFL);
   syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGSYS);
   _exit(128 + SIGSYS);
}

#define STMT(code, k) ((struct sock_filter)BPF_STMT((code), (k)))
#define LOAD(field)   STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
#define RET(value)    STMT(BPF_RET | BPF_K, (value))
/* The low 32 bits of argument i (seccomp_data is little-endian on every architecture here). */
#define LOAD_ARG(i) STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[(i)]))
/* If the loaded value equals k, go on; else skip the next `skip` instructions. */
#define IF_EQ(k, skip) ((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), 0, (skip)))

enum { PV_SANDBOX_MAX_FILTER = 512 };

bool pv_sandbox_enter(enum pv_sandbox_mode mode, const char *who)
{
   pv_crash_report_install(who);
   if (mode == PV_SANDBOX_OFF)
      return true;
   sandbox_mode = mode;
   struct sock_filter f[PV_SANDBOX_MAX_FILTER];
   size_t n = 0;
   f[n++] = LOAD(arch);
   f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PV_AUDIT_ARCH, 1, 0);
   f[n++] = RET(SECCOMP_RET_KILL_PROCESS);
   f[n++] = LOAD(nr);
#if defined(__x86_64__)
   /* x32 calls carry this bit in the number: none is allowed. */
   f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);
   f[n++] = RET(SECCOMP_RET_TRAP);
#endif
   /* clone3 passes its flags in memory, out of the filter's reach: answer ENOSYS, and glibc
    * falls back to clone, whose flags can be checked (threads only). */
   f[n++] = IF_EQ(SYS_clone3, 1);
   f[n++] = RET(SECCOMP_RET_ERRNO | ENOSYS);
   f[n++] = IF_EQ(SYS_clone, 4);
   f[n++] = LOAD_ARG(0);
   f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 0, 1);
   f[n++] = RET(SECCOMP_RET_ALLOW);
   f[n++] = RET(SECCOMP_RET_TRAP);
   /* Signals only to ourselves (abort, raise): tgkill with our own pid. */
   f[n++] = IF_EQ(SYS_tgkill, 4);
   f[n++] = LOAD_ARG(0);
   f[n++] = IF_EQ((uint32_t)getpid(), 1);
   f[n++] = RET(SECCOMP_RET_ALLOW);
   f[n++] = RET(SECCOMP_RET_TRAP);
   /* No faking keyboard input into the terminal the worker's stderr may be on. */
   f[n++] = IF_EQ(SYS_ioctl, 4);
   f[n++] = LOAD_ARG(1);
   f[n++] = IF_EQ(TIOCSTI, 1);
   f[n++] = RET(SECCOMP_RET_TRAP);
   f[n++] = RET(SECCOMP_RET_ALLOW);
   const size_t count = sizeof(allowed) / sizeof(allowed[0]);
   if (n + 2 * count + 1 > PV_SANDBOX_MAX_FILTER)
      abort(); /* the table outgrew the filter: a bug of this file */
   for (size_t i = 0; i < count; i++) {
      f[n++] = IF_EQ((uint32_t)allowed[i], 1);
      f[n++] = RET(SECCOMP_RET_ALLOW);
   }
   f[n++] = RET(SECCOMP_RET_TRAP);

   struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO | SA_NODEFER};
   sigemptyset(&sa.sa_mask);
   struct sock_fprog prog = {.len = (unsigned short)n, .filter = f};
   /* TSYNC: threads the host driver started before (a ready worker loads it first) are
    * confined too, not only this one and those started later. */
   if (sigaction(SIGSYS, &sa, NULL) != 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
       syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0) {
      pv_error("%s: cannot install the worker sandbox: %s (PV_SANDBOX=off runs without it)", who,
               strerror(errno));
      return false;
   }
   return true;
}
