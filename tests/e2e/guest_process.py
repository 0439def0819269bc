#!/usr/bin/env python3
"""End-to-end: every connection of one guest process is served by one worker. Mesa's venus
guest opens a vtest connection per VkInstance; `pv-workload create` makes an instance it keeps
and then one per iteration, so one process makes many connections. They must all go to the
worker that took the first (no second worker, no second driver load), the results must be
valid, and that worker must exit once the process has gone. Two such processes at once get a
worker each.

usage: guest_process.py PEARVISOR HOST_ICD VENUS_ICD PV_WORKLOAD
"""

import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import Server, alive, report  # noqa: E402

FIRST = re.compile(r'client served by (?:ready|new) worker (\d+)')
MORE = re.compile(r'client served by worker (\d+), with the other connections of guest '
                  r'process (\d+)')
# pv-workload create --quick: the instance it keeps, 1 warm-up and 3 timed iterations.
CONNECTIONS = 5


def run_guests(server, workload, venus_icd, count):
    """Runs count `pv-workload create --quick` at once; returns their pids, failures."""
    env = server.guest_env(venus_icd)
    procs = [subprocess.Popen([workload, 'create', '--quick'], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(count)]
    failures = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results = [json.loads(line.split(' ', 1)[1]) for line in out.splitlines()
                   if line.startswith('PV_RESULT ')]
        if proc.returncode != 0 or len(results) != 1 or not results[0]['valid']:
            failures.append('guest %d exited %d: %s' % (proc.pid, proc.returncode, err[-800:]))
    return [p.pid for p in procs], failures


def check(server, guests, failures):
    """Each guest's connections after its first went to one worker, which has exited."""
    text = server.output()
    by_guest = {}
    for worker, guest in MORE.findall(text):
        by_guest.setdefault(int(guest), set()).add(int(worker))
    workers = set()
    for guest in guests:
        served = by_guest.get(guest, set())
        more = [w for w, g in MORE.findall(text) if int(g) == guest]
        if len(served) != 1 or len(more) != CONNECTIONS - 1:
            failures.append('guest %d: %d more connections over workers %s, expected %d over '
                            'one' % (guest, len(more), sorted(served), CONNECTIONS - 1))
            continue
        worker = served.pop()
        if worker not in [int(w) for w in FIRST.findall(text)]:
            failures.append('guest %d: worker %d never took a first connection' % (guest, worker))
        workers.add(worker)
        deadline = time.time() + 5
        while alive(worker) and time.time() < deadline:
            time.sleep(0.05)
        if alive(worker):
            failures.append('worker %d outlived guest %d by 5 s' % (worker, guest))
    if len(workers) != len(guests):
        failures.append('%d guests shared %d workers' % (len(guests), len(workers)))


def main():
    pearvisor, host_icd, venus_icd, workload = sys.argv[1:5]
    os.environ['PV_LOG'] = 'info'  # the server's hand-offs are info lines
    server = Server(pearvisor, host_icd)
    failures = []
    try:
        for count in (1, 2):
            guests, failed = run_guests(server, workload, venus_icd, count)
            failures += failed
            check(server, guests, failures)
        if not server.alive():
            failures.append('the server died')
    finally:
        server.stop()
    return report(failures, server.output())


if __name__ == '__main__':
    sys.exit(main())
