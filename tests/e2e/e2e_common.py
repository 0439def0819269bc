"""Shared helpers of the end-to-end tests: bounded child processes and a private server."""

import os
import signal
import socket
import subprocess
import tempfile
import time


def report(failures, server_output, heading='FAIL'):
    """Prints PASS, or the server's last output and each failure under heading; returns the
    test's exit status."""
    if not failures:
        print('PASS')
        return 0
    print('server output (tail):\n' + server_output[-6000:])
    print('%s (%d):' % (heading, len(failures)))
    for why in failures[:20]:
        print('  ' + why)
    return 1


def alive(pid):
    """Whether a process of that pid exists (a zombie counts until it is reaped)."""
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def run_checked(cmd, env, timeout):
    """Runs cmd and returns its stdout (see run_checked_output)."""
    return run_checked_output(cmd, env, timeout)[0]


def run_checked_output(cmd, env, timeout):
    """Runs cmd and returns (stdout, stderr); the guest ignores SIGTERM when stuck on a dead
    context (docs/protocol/pitfalls.md #3), so a timeout kills the whole process group."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise RuntimeError('%s timed out after %ds\n%s' % (' '.join(cmd), timeout, err))
    if proc.returncode != 0:
        raise RuntimeError('%s exited %d\nstdout:\n%s\nstderr:\n%s' % (
            ' '.join(cmd), proc.returncode, out[-4000:], err[-4000:]))
    return out, err


class Server:
    """`pearvisor serve` on a private socket, for tests that need several guests."""

    def __init__(self, pearvisor, host_icd, extra=()):
        self.dir = tempfile.mkdtemp(prefix='pv-e2e-')
        self.socket = os.path.join(self.dir, 'vtest.sock')
        self.log = open(os.path.join(self.dir, 'server.log'), 'w+')
        self.proc = subprocess.Popen([pearvisor, 'serve', '--socket', self.socket, '--icd',
                                      host_icd] + list(extra),
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(self.socket)
                s.close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.02)
        raise RuntimeError('server did not start:\n' + self.output())

    def guest_env(self, venus_icd):
        return dict(os.environ, VN_DEBUG='vtest', VTEST_SOCKET_NAME=self.socket,
                    VK_DRIVER_FILES=venus_icd, VK_ICD_FILENAMES=venus_icd)

    def alive(self):
        return self.proc.poll() is None

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                # A server with guests still connected gives them up to 10 s to leave.
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
