/* Unit tests of the worker sandbox (util/pv_sandbox): in a child process, what a worker and
 * a driver need still works, and what they never need ends the process with a log line
 * naming the call (or, in learn mode, fails with ENOSYS). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/pv_crash.h"
#include "util/pv_sandbox.h"

struct child_result {
   int status;
   char log[512];
};

static void *thread_main(void *arg)
{
   return arg;
}

/* A thread the process had before the filter (as a host driver loaded first has): it waits
 * for the go-ahead, then tries a network socket. */
static int early_thread_pipe[2];

static void *early_thread_main(void *arg)
{
   char go;
   if (read(early_thread_pipe[0], &go, 1) != 1)
      return NULL;
   int fd = socket(AF_INET, SOCK_STREAM, 0);
   return (void *)(intptr_t)(fd >= 0);
}

static pthread_t early_thread;

static void start_early_thread(void)
{
   if (pipe(early_thread_pipe) != 0 ||
       pthread_create(&early_thread, NULL, early_thread_main, NULL) != 0)
      _exit(101);
}

static int early_thread_opens_a_socket(void)
{
   void *opened = NULL;
   if (write(early_thread_pipe[1], "g", 1) != 1 || pthread_join(early_thread, &opened) != 0)
      return 1;
   return opened ? 7 : 0;
}

/* Runs body in a sandboxed child with stderr captured; before_filter runs in the child
 * first, unconfined. */
static struct child_result run_child_after(enum pv_sandbox_mode mode, void (*before_filter)(void),
                                           int (*body)(void))
{
   int pipe_fds[2];
   assert_int_equal(pipe(pipe_fds), 0);
   pid_t pid = fork();
   assert_true(pid >= 0);
   if (pid == 0) {
      dup2(pipe_fds[1], STDERR_FILENO);
      close(pipe_fds[0]);
      if (before_filter)
         before_filter();
      if (!pv_sandbox_enter(mode, "test guest"))
         _exit(100);
      _exit(body());
   }
   close(pipe_fds[1]);
   struct child_result r = {0};
   size_t used = 0;
   ssize_t n;
   while ((n = read(pipe_fds[0], r.log + used, sizeof(r.log) - 1 - used)) > 0)
      used += (size_t)n;
   close(pipe_fds[0]);
   assert_int_equal(waitpid(pid, &r.status, 0), pid);
   return r;
}

static struct child_result run_child(enum pv_sandbox_mode mode, int (*body)(void))
{
   return run_child_after(mode, NULL, body);
}

/* Files, memory (also executable, as a JIT needs), threads, sockets the worker already has. */
static int allowed_calls(void)
{
   void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
   if (p == MAP_FAILED || mprotect(p, 4096, PROT_READ | PROT_EXEC) != 0)
      return 1;
   FILE *f = fopen("/proc/self/stat", "r");
   if (!f)
      return 2;
   fclose(f);
   pthread_t t;
   if (pthread_create(&t, NULL, thread_main, NULL) != 0 || pthread_join(t, NULL) != 0)
      return 3;
   int pair[2];
   if (pipe(pair) != 0 || write(pair[1], "x", 1) != 1)
      return 4;
   return 0;
}

static int opens_a_network_socket(void)
{
   int fd = socket(AF_INET, SOCK_STREAM, 0);
   /* Only reached in learn mode. */
   return fd < 0 && errno == ENOSYS ? 0 : 1;
}

static int forks(void)
{
   pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
   if (pid == 0)
      _exit(0);
   return 7;
}

static int signals_another_process(void)
{
   syscall(SYS_tgkill, 1, 1, 0);
   return 7;
}

static void test_allowed_calls_work(void **state)
{
   struct child_result r = run_child(PV_SANDBOX_ENFORCE, allowed_calls);
   assert_true(WIFEXITED(r.status));
   assert_int_equal(WEXITSTATUS(r.status), 0);
   assert_string_equal(r.log, "");
}

static void assert_refused(struct child_result r, long nr)
{
   char want[64];
   snprintf(want, sizeof(want), "test guest: system call %ld is outside", nr);
   assert_true(WIFSIGNALED(r.status));
   assert_int_equal(WTERMSIG(r.status), SIGSYS);
   if (!strstr(r.log, want))
      fail_msg("log \"%s\" lacks \"%s\"", r.log, want);
}

static void test_refused_calls_end_the_worker(void **state)
{
   assert_refused(run_child(PV_SANDBOX_ENFORCE, opens_a_network_socket), SYS_socket);
   assert_refused(run_child(PV_SANDBOX_ENFORCE, forks), SYS_clone);
   assert_refused(run_child(PV_SANDBOX_ENFORCE, signals_another_process), SYS_tgkill);
}

/* A ready worker loads the host driver, whose threads then exist, before it confines itself:
 * those threads are confined as well. */
static void test_threads_from_before_are_confined(void **state)
{
   assert_refused(
         run_child_after(PV_SANDBOX_ENFORCE, start_early_thread, early_thread_opens_a_socket),
         SYS_socket);
}

static void test_learn_mode_logs_and_continues(void **state)
{
   struct child_result r = run_child(PV_SANDBOX_LEARN, opens_a_network_socket);
   assert_true(WIFEXITED(r.status));
   assert_int_equal(WEXITSTATUS(r.status), 0);
   assert_non_null(strstr(r.log, "learn mode"));
}

/* A guest whose command crashes its worker: the report names the guest and the command. */
static int crashes_in_a_command(void)
{
   pv_crash_set_guest("crashy app");
   pv_crash_note_command(137, "vkCmdDraw");
   abort();
}

/* A sandbox refusal names them too. */
static int refused_in_a_command(void)
{
   pv_crash_set_guest("crashy app");
   pv_crash_note_command(45, "vkDestroyQueryPool");
   return socket(AF_INET, SOCK_STREAM, 0) >= 0;
}

static void assert_log_has(const struct child_result *r, const char *want)
{
   if (!strstr(r->log, want))
      fail_msg("log \"%s\" lacks \"%s\"", r->log, want);
}

static void test_crash_report_names_guest_and_command(void **state)
{
   /* The signal still takes its course: the server sees the worker die of it. */
   struct child_result r = run_child(PV_SANDBOX_OFF, crashes_in_a_command);
   assert_true(WIFSIGNALED(r.status));
   assert_int_equal(WTERMSIG(r.status), SIGABRT);
   assert_log_has(&r, "error: test guest (guest crashy app, this thread's last command "
                      "vkCmdDraw, id 137) crashed: SIGABRT\n");
   r = run_child(PV_SANDBOX_ENFORCE, refused_in_a_command);
   assert_int_equal(WTERMSIG(r.status), SIGSYS);
   assert_log_has(&r, "test guest (guest crashy app, this thread's last command "
                      "vkDestroyQueryPool, id 45): system call");
}

static void test_off_installs_nothing(void **state)
{
   struct child_result r = run_child(PV_SANDBOX_OFF, forks);
   assert_true(WIFEXITED(r.status));
   assert_int_equal(WEXITSTATUS(r.status), 7);
}

int main(void)
{
   const struct CMUnitTest tests[] = {
         cmocka_unit_test(test_allowed_calls_work),
         cmocka_unit_test(test_refused_calls_end_the_worker),
         cmocka_unit_test(test_threads_from_before_are_confined),
         cmocka_unit_test(test_learn_mode_logs_and_continues),
         cmocka_unit_test(test_off_installs_nothing),
         cmocka_unit_test(test_crash_report_names_guest_and_command),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
