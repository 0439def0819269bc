#!/usr/bin/env python3
"""End-to-end shutdown: SIGTERM to a server with stock venus guests connected, in every phase
of their lives (creating instances and devices back to back, waiting on fences, submitting
compute), over several rounds with the stop at a different moment each time. Every round:
each guest ends (with an error or an abort, never a hang), each worker ends before the
server does (none is killed at the deadline), the server exits 0 and removes its socket.

usage: server_stop.py PEARVISOR HOST_ICD VENUS_ICD WORKLOAD_EXE [ROUNDS]
"""

import os
import random
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import Server  # noqa: E402

GUESTS = [['create', '--iterations', '90000'],
          ['latency', '--iterations', '90000'],
          ['compute', '--iterations', '90000', '--size-mib', '4']]
# The server waits up to 10 s for its workers (PV_VTEST_STOP_LIMIT_S); a guest must be gone
# by then, or it hangs.
LIMIT_S = 15


def one_round(pearvisor, host_icd, venus_icd, workload, delay):
    server = Server(pearvisor, host_icd, ['--ready', '1'])
    env = server.guest_env(venus_icd)
    guests = [subprocess.Popen([workload] + args, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, start_new_session=True)
              for args in GUESTS]
    try:
        time.sleep(delay)
        early = [g.args[1] for g in guests if g.poll() is not None]
        if early:
            print('FAIL: guests %s ended before the stop' % early)
            return False
        stopped_at = time.time()
        server.proc.send_signal(signal.SIGTERM)
        ok = True
        for g in guests:
            try:
                g.wait(max(0.1, stopped_at + LIMIT_S - time.time()))
            except subprocess.TimeoutExpired:
                print('FAIL: guest %s still running %d s after the stop (hung)' %
                      (g.args[1], LIMIT_S))
                ok = False
        try:
            status = server.proc.wait(max(0.1, stopped_at + LIMIT_S - time.time()))
        except subprocess.TimeoutExpired:
            print('FAIL: the server is still running %d s after SIGTERM' % LIMIT_S)
            return False
        took = time.time() - stopped_at
        log = server.output()
        if status != 0:
            print('FAIL: the server exited with %d' % status)
            ok = False
        if re.search(r'still serving .*; killing it', log):
            print('FAIL: a worker had to be killed at the deadline')
            ok = False
        if 'the server is stopping' not in log:
            print('FAIL: no worker logged that it told its guest')
            ok = False
        if os.path.exists(server.socket):
            print('FAIL: the socket is left behind')
            ok = False
        print('stop after %.1f s: server gone in %.1f s; guests %s' %
              (delay, took, ', '.join('%s=%d' % (g.args[1], g.returncode) for g in guests
                                      if g.returncode is not None)))
        if not ok:
            print(log)
        return ok
    finally:
        for g in guests:
            if g.poll() is None:
                os.killpg(g.pid, signal.SIGKILL)
                g.wait()
        server.stop()


def main():
    pearvisor, host_icd, venus_icd, workload = sys.argv[1:5]
    rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 6
    rng = random.Random(12)
    failed = 0
    for _ in range(rounds):
        if not one_round(pearvisor, host_icd, venus_icd, workload, rng.uniform(0.3, 2.5)):
            failed += 1
    print('%d of %d rounds passed' % (rounds - failed, rounds))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
