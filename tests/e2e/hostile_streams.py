#!/usr/bin/env python3
"""End-to-end: recorded hostile vtest client streams neither crash nor strand their worker.

One `pearvisor serve` (with its default pool of ready workers) for all streams. For each
DATA_DIR/*.bin stream: connect, write it all,
hold the connection (draining, never blocking on, what the server sends), close, and check the
worker process that served it: not killed by a signal and no non-zero exit, no sanitizer
report, gone within 5 s of the close, a fatal context for the protocol violations, next to no
CPU while idle-rings.bin idles; the server survives every stream and then still serves a
normal guest (vulkaninfo --summary through Mesa venus).

usage: hostile_streams.py PEARVISOR HOST_ICD DATA_DIR [VENUS_ICD]
"""

import array
import os
import re
import select
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import Server, report, run_checked  # noqa: E402

DEFAULT_VENUS_ICD = '/usr/share/vulkan/icd.d/virtio_icd.json'

# name: (seconds to hold the connection, must log a fatal context, measure idle CPU)
STREAMS = {
    'null-vk': (2.0, True, False),
    'null-dispatchable': (2.0, True, False),
    'null-pool': (2.0, True, False),
    'wait-ring-seqno': (2.0, False, False),
    'wait-fence': (2.0, False, False),
    'runaway-shader': (2.0, False, False),
    'idle-rings': (4.0, False, True),
}
EXIT_LIMIT_S = 5.0       # the worker must be gone this long after the close
TEARDOWN_GAVE_UP = 3     # a worker's exit status when its teardown passed its deadline
WORKER_APPEAR_S = 5.0    # how long the server may take to log which worker serves a client
CPU_WINDOW = (1.0, 3.0)  # seconds after the write: idle-rings' CPU is measured in between
CPU_LIMIT_PCT = 10.0
SANITIZER = re.compile(r'ERROR: AddressSanitizer|runtime error:')
CLK_TCK = os.sysconf('SC_CLK_TCK')
# The server's info line naming a client's worker: one of the pool, or one forked for it.
SERVED = re.compile(r'client served by (?:ready|new) worker (\d+)')


def proc_stat(pid):
    """(state, ppid, utime + stime in ticks) of pid, or None once it is gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            data = f.read()
    except OSError:
        return None
    # comm may hold spaces and parentheses: the fields proper start after the last ')'.
    fields = data[data.rindex(')') + 2:].split()
    return fields[0], int(fields[1]), int(fields[11]) + int(fields[12])


def children(ppid):
    pids = set()
    for name in os.listdir('/proc'):
        if name.isdigit():
            stat = proc_stat(int(name))
            if stat and stat[1] == ppid:
                pids.add(int(name))
    return pids


def running_child(pid, ppid):
    """True while pid is a live (not zombie) child of ppid."""
    stat = proc_stat(pid)
    return stat is not None and stat[1] == ppid and stat[0] != 'Z'


def drain(sock):
    """Reads and drops whatever the server queued, closing any fds it passed; never blocks."""
    fd_size = array.array('i').itemsize
    while True:
        try:
            data, anc, _, _ = sock.recvmsg(65536, socket.CMSG_SPACE(64 * fd_size))
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds = array.array('i')
                fds.frombytes(payload[:len(payload) - len(payload) % fd_size])
                for fd in fds:
                    os.close(fd)
        if not data:
            return False  # the server closed its end


def hold(sock, seconds, on_tick=None):
    """Keeps the connection open for seconds, draining it; on_tick(elapsed) every tick."""
    start = time.monotonic()
    open_ = True
    while True:
        elapsed = time.monotonic() - start
        if on_tick:
            on_tick(elapsed)
        if elapsed >= seconds:
            return
        if open_:
            readable, _, _ = select.select([sock], [], [], min(0.05, seconds - elapsed))
            if readable:
                open_ = drain(sock)
        else:
            time.sleep(min(0.05, seconds - elapsed))


def write_all(sock, data, timeout):
    """Writes data on a non-blocking socket, draining replies meanwhile; False on timeout."""
    deadline = time.monotonic() + timeout
    view = memoryview(data)
    while view:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        readable, writable, _ = select.select([sock], [sock], [], left)
        if readable:
            drain(sock)
        if writable:
            try:
                view = view[sock.send(view):]
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                return False
    return True


def death_line(output, pid):
    """The server's log line for a worker that died by a signal or exited non-zero."""
    match = re.search(r'worker %d (was killed by signal (\d+)|exited with status (\d+))' % pid,
                      output)
    if not match:
        return None, None, None
    return (match.group(0), int(match.group(2)) if match.group(2) else None,
            int(match.group(3)) if match.group(3) else None)


def served_by(server, log_start, wait_s):
    """The worker the server handed its next client after log_start, or None."""
    deadline = time.monotonic() + wait_s
    while True:
        match = SERVED.search(server.output()[log_start:])
        if match or time.monotonic() >= deadline:
            return int(match.group(1)) if match else None
        time.sleep(0.005)


def wait_probe_worker(server, appear_s=1.0):
    """Waits until the worker of the server's start-up probe connection (if it shows) is gone."""
    pid = served_by(server, 0, appear_s)
    deadline = time.monotonic() + EXIT_LIMIT_S
    while pid and time.monotonic() < deadline and running_child(pid, server.proc.pid):
        time.sleep(0.01)


class Result:
    def __init__(self, name):
        self.name = name
        self.pid = None
        self.ended = '?'
        self.exit_s = None
        self.gone_before_close = False
        self.fatal = None
        self.cpu_pct = None
        self.failures = []

    def fail(self, why):
        self.failures.append(why)

    def line(self):
        parts = ['%-18s' % self.name, 'pid %s' % (self.pid or '-'), 'ended: ' + self.ended,
                 'close->exit: ' + ('gone before the close' if self.gone_before_close
                                    else '%.2fs' % self.exit_s if self.exit_s is not None
                                    else '>%.0fs' % EXIT_LIMIT_S),
                 'fatal line: ' + ('-' if self.fatal is None else 'yes' if self.fatal else 'no')]
        if self.cpu_pct is not None:
            parts.append('idle CPU: %.1f%% of one CPU' % self.cpu_pct)
        return '  '.join(parts) + ('  FAIL' if self.failures else '  ok')


def run_stream(server, name, data, hold_s, want_fatal, measure_cpu, killed_by_us):
    res = Result(name)
    spid = server.proc.pid
    log_start = len(server.output())
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5)
    try:
        sock.connect(server.socket)
    except OSError as e:
        sock.close()
        res.fail('cannot connect: %s' % e)
        return res
    sock.setblocking(False)
    try:
        res.pid = served_by(server, log_start, WORKER_APPEAR_S)
        if res.pid is None:
            res.fail('no worker named for the client within %.0f s' % WORKER_APPEAR_S)
        if not write_all(sock, data, 5):
            res.fail('the server did not take the whole stream within 5 s')
        written = time.monotonic()

        samples = {}

        def sample(elapsed):
            if not measure_cpu or res.pid is None:
                return
            since_write = time.monotonic() - written
            for i, at in enumerate(CPU_WINDOW):
                if i not in samples and since_write >= at:
                    stat = proc_stat(res.pid)
                    samples[i] = (time.monotonic(), stat[2] if stat and stat[0] != 'Z'
                                  else None)

        hold(sock, hold_s, sample)
        if measure_cpu and res.pid is not None:
            if len(samples) == 2 and None not in (samples[0][1], samples[1][1]):
                ticks = samples[1][1] - samples[0][1]
                seconds = samples[1][0] - samples[0][0]
                res.cpu_pct = 100.0 * ticks / CLK_TCK / seconds
                if res.cpu_pct > CPU_LIMIT_PCT:
                    res.fail('worker used %.1f%% of one CPU while the guest idled (limit %.0f%%)'
                             % (res.cpu_pct, CPU_LIMIT_PCT))
            else:
                res.fail('could not measure the idle worker\'s CPU time (worker gone?)')
    finally:
        sock.close()
    closed = time.monotonic()

    if res.pid is not None:
        res.gone_before_close = not running_child(res.pid, spid)
        deadline = closed + EXIT_LIMIT_S
        while time.monotonic() < deadline and running_child(res.pid, spid):
            time.sleep(0.01)
        if running_child(res.pid, spid):
            res.fail('worker did not exit within %.0f s of the close' % EXIT_LIMIT_S)
            res.ended = 'still running, killed by the test'
            killed_by_us.add(res.pid)
            try:
                os.kill(res.pid, signal.SIGKILL)
            except OSError:
                pass
            limit = time.monotonic() + 2
            while time.monotonic() < limit and running_child(res.pid, spid):
                time.sleep(0.01)
        else:
            res.exit_s = time.monotonic() - closed
            # The server logs a bad death right after reaping: give the line a moment.
            limit = time.monotonic() + 1
            line = None
            while time.monotonic() < limit:
                line, sig, status = death_line(server.output(), res.pid)
                if line or proc_stat(res.pid) is None:
                    break
                time.sleep(0.02)
            line, sig, status = death_line(server.output(), res.pid)
            if sig is not None:
                res.ended = 'signal %d (%s)' % (sig, signal.Signals(sig).name
                                                if sig in signal.valid_signals() else '?')
                res.fail('server log: "%s"' % line)
            elif status is not None and status == TEARDOWN_GAVE_UP and re.search(
                    r'\[%d\]: .*teardown did not finish' % res.pid, server.output()):
                # The worker gave up on a teardown the GPU could not finish (a shader that
                # never ends) and said so: the bounded exit the server promises.
                res.ended = 'exit status %d after giving up on teardown' % status
            elif status is not None:
                res.ended = 'exit status %d' % status
                res.fail('server log: "%s"' % line)
            else:
                res.ended = 'exit 0'

        out = server.output()[log_start:]
        res.fatal = bool(re.search(r'^\S*\[%d\]: .*fatal' % res.pid, out, re.MULTILINE))
        if want_fatal and not res.fatal:
            res.fail('no "fatal" line from worker %d (a protocol violation must make the '
                     'context fatal)' % res.pid)
    out = server.output()[log_start:]
    for report in SANITIZER.finditer(out):
        res.fail('sanitizer report in the server output: %s'
                 % out[report.start():out.find('\n', report.start())])
        break
    if not server.alive():
        res.fail('the server died (exit %s)' % server.proc.returncode)
    return res


def main():
    if len(sys.argv) not in (4, 5):
        print(__doc__)
        return 2
    pearvisor, host_icd, data_dir = sys.argv[1:4]
    venus_icd = sys.argv[4] if len(sys.argv) > 4 else DEFAULT_VENUS_ICD
    missing = [n for n in STREAMS if not os.path.isfile(os.path.join(data_dir, n + '.bin'))]
    if missing:
        print('FAIL: missing streams in %s: %s' % (data_dir, ', '.join(missing)))
        return 1
    failures = []
    killed_by_us = set()
    seen_workers = set()
    # --stats: per-context stats, and the info lines naming each client's worker.
    server = Server(pearvisor, host_icd, ['--stats'])
    # Server() probes the socket with a connection of its own, and the worker serving it may
    # be forked after the probe returned: let it come and go so it cannot pass for a stream's.
    wait_probe_worker(server)
    started = time.monotonic()
    try:
        for name, (hold_s, want_fatal, measure_cpu) in STREAMS.items():
            with open(os.path.join(data_dir, name + '.bin'), 'rb') as f:
                data = f.read()
            res = run_stream(server, name, data, hold_s, want_fatal, measure_cpu, killed_by_us)
            if res.pid:
                seen_workers.add(res.pid)
            print(res.line(), flush=True)
            failures += ['%s: %s' % (name, why) for why in res.failures]
            if not server.alive():
                break

        if server.alive():
            try:
                out = run_checked(['vulkaninfo', '--summary'], server.guest_env(venus_icd), 60)
                if 'Virtio-GPU Venus' in out:
                    print('normal guest after the streams: vulkaninfo --summary served: ok')
                else:
                    failures.append('normal guest: vulkaninfo --summary shows no '
                                    '"Virtio-GPU Venus" device')
            except RuntimeError as e:
                failures.append('normal guest: %s' % str(e).splitlines()[0])
        else:
            failures.append('the server is not alive for the final normal guest')
        out = server.output()
        if SANITIZER.search(out) and not any('sanitizer' in f for f in failures):
            failures.append('sanitizer report in the server output')
    finally:
        if server.alive():
            spid = server.proc.pid
            for pid in sorted(children(spid) | seen_workers):
                if running_child(pid, spid):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
        server.stop()
    print('total %.1f s' % (time.monotonic() - started))
    return report(failures, server.output())


if __name__ == '__main__':
    sys.exit(main())
