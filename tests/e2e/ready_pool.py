#!/usr/bin/env python3
"""End-to-end: `serve --ready 2` keeps two ready workers (host driver loaded, host instance
prepared) and hands each new guest to one. Guests in a row, more of them than the pool holds,
are each served by a ready worker, the pool refilling in between: vulkaninfo --summary, a GPU
program with its native checksum, and INSTANCE_GUEST, which names no application (so it takes
the prepared host instance) or names one (so it does not): both must report the same device
and the native checksum. An idle ready worker that is killed is replaced; the server process
never loads the host driver; SIGTERM ends the idle workers; `--ready 0` serves as before.

usage: ready_pool.py PEARVISOR HOST_ICD VENUS_ICD PROGRAM INSTANCE_GUEST
"""

import json
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import Server, alive, run_checked  # noqa: E402
from gpu_program import checksum  # noqa: E402

READY = re.compile(r'ready worker (\d+) is ready')
HANDED = re.compile(r'client served by ready worker (\d+)')
NEW = re.compile(r'client served by new worker (\d+)')
KILLED = re.compile(r'ready worker (\d+) was killed by signal 9 while waiting for a client')
TOOK = re.compile(r'host instance: the prepared one')
POOL = 2
# The row of guests: more than the pool holds; the unnamed instance guest twice.
ROW = ['vulkaninfo', 'program', 'unnamed', 'named', 'unnamed', 'vulkaninfo']


def queries(out):
    found = [line.split()[1] for line in out.splitlines() if line.startswith('QUERIES ')]
    if len(found) != 1:
        raise RuntimeError('expected one QUERIES line, got:\n' + out)
    return found[0]


def pids(pattern, text):
    return [int(p) for p in pattern.findall(text)]


def wait_for(server, pattern, count, what):
    deadline = time.time() + 30
    while time.time() < deadline:
        found = pids(pattern, server.output())
        if len(found) >= count:
            return found
        if not server.alive():
            break
        time.sleep(0.05)
    raise RuntimeError('%s: fewer than %d log lines; server log:\n%s'
                       % (what, count, server.output()[-4000:]))


def probed(server):
    """Server() connects once to see the socket listen; that client is served as any (by a
    worker of its own: the pool is not ready yet). Returns how many new workers that took."""
    deadline = time.time() + 10
    while time.time() < deadline:
        text = server.output()
        if pids(NEW, text) or pids(HANDED, text):
            return len(pids(NEW, text))
        time.sleep(0.02)
    raise RuntimeError('the start-up probe was never served:\n' + server.output())


def idle_workers(server):
    text = server.output()
    gone = set(pids(HANDED, text)) | set(pids(KILLED, text))
    return [p for p in pids(READY, text) if p not in gone]


def maps_library(pid, library):
    with open('/proc/%d/maps' % pid) as maps:
        return any(os.path.basename(line.split()[-1]) == library
                   for line in maps if len(line.split()) >= 6)


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as status:
        for line in status:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


class Guests:
    """The guest programs and their native results."""

    def __init__(self, venus_icd, host_icd, program, instance_guest):
        self.venus_icd = venus_icd
        self.program = program
        self.instance_guest = instance_guest
        native_env = dict(os.environ, VK_DRIVER_FILES=host_icd, VK_ICD_FILENAMES=host_icd)
        self.native = checksum(run_checked([program], native_env, 120))
        self.native_fill = checksum(run_checked([instance_guest, 'unnamed'], native_env, 120))
        self.queries = {}  # kind -> digest through PearVisor

    def run(self, server, kind, n, pooled=True):
        """Guest n, of a kind of ROW; with a pool, only the unnamed instance guest takes the
        prepared host instance, and the pool must be full again afterwards, every client handed
        over."""
        env = server.guest_env(self.venus_icd)
        if kind == 'vulkaninfo':
            out = run_checked(['vulkaninfo', '--summary'], env, 60)
            if 'Virtio-GPU Venus' not in out:
                raise RuntimeError('guest %d: vulkaninfo shows no venus device:\n%s' % (n, out))
            what = 'vulkaninfo --summary'
        elif kind == 'program':
            got = checksum(run_checked([self.program], env, 120))
            if got != self.native:
                raise RuntimeError('guest %d: checksum %s, native %s' % (n, got, self.native))
            what = '%s, checksum %s as native' % (os.path.basename(self.program), got)
        else:
            took = len(TOOK.findall(server.output()))
            out = run_checked([self.instance_guest, kind], env, 120)
            got, digest = checksum(out), queries(out)
            if got != self.native_fill:
                raise RuntimeError('guest %d (%s): checksum %s, native %s'
                                   % (n, kind, got, self.native_fill))
            if self.queries.setdefault(kind, digest) != digest or \
                    len(set(self.queries.values())) != 1:
                raise RuntimeError('guest %d (%s): the device reports %s, other guests %s'
                                   % (n, kind, digest, self.queries))
            # The hand-over is logged by the worker once it saw vkCreateInstance.
            took_now = len(TOOK.findall(server.output())) - took
            if took_now != (1 if kind == 'unnamed' and pooled else 0):
                raise RuntimeError('guest %d (%s): took the prepared host instance %d times:\n%s'
                                   % (n, kind, took_now, server.output()[-3000:]))
            what = 'instance guest, %s%s, same device, checksum %s as native' % (
                kind, ' (took the prepared host instance)' if took_now else '', got)
        if not pooled:
            print('guest %d (%s): served' % (n, what))
            return
        handed = len(pids(HANDED, server.output()))
        wait_for(server, READY, handed + POOL, 'pool refilled after guest %d' % n)
        print('guest %d (%s): served by a ready worker; pool refilled' % (n, what))


def check_pool(pearvisor, host_icd, guests, library):
    server = Server(pearvisor, host_icd, ['--ready', str(POOL)])
    try:
        probes = probed(server)
        ready = wait_for(server, READY, POOL, 'ready workers at start')
        if maps_library(server.proc.pid, library):
            raise RuntimeError('the server process itself loaded %s' % library)
        if not maps_library(ready[0], library):
            raise RuntimeError('ready worker %d has not loaded %s' % (ready[0], library))
        print('server never loaded %s; ready workers have it, idle RSS %d KiB each'
              % (library, rss_kib(ready[0])))
        for n, kind in enumerate(ROW):
            guests.run(server, kind, n)

        victim = idle_workers(server)[0]
        os.kill(victim, signal.SIGKILL)
        wait_for(server, KILLED, 1, 'the killed ready worker logged')
        handed = len(pids(HANDED, server.output()))
        wait_for(server, READY, handed + POOL + 1, 'the killed ready worker replaced')
        print('idle ready worker %d killed: reaped and replaced' % victim)
        guests.run(server, 'program', len(ROW))

        text = server.output()
        if len(pids(NEW, text)) != probes:
            raise RuntimeError('guests served by new workers, not ready ones:\n' + text[-4000:])
        print('%d guests, %d clients, all served by ready workers'
              % (len(ROW) + 1, len(pids(HANDED, text))))
        idle = idle_workers(server)
        server.stop()
        left = [p for p in idle if alive(p)]
        if left:
            raise RuntimeError('idle ready workers %s outlived the server' % left)
        print('SIGTERM: idle ready workers %s gone' % idle)
    finally:
        server.stop()


def check_no_pool(pearvisor, host_icd, guests):
    server = Server(pearvisor, host_icd, ['--ready', '0'])
    try:
        probes = probed(server)
        guests.run(server, 'vulkaninfo', 0, pooled=False)
        guests.run(server, 'unnamed', 1, pooled=False)
        text = server.output()
        if len(pids(NEW, text)) != probes + 2 or pids(READY, text) or pids(HANDED, text):
            raise RuntimeError('--ready 0: guests not served by workers of their own:\n'
                               + text[-4000:])
        print('--ready 0: vulkaninfo and the unnamed instance guest served by new workers')
    finally:
        server.stop()


def main():
    pearvisor, host_icd, venus_icd, program, instance_guest = sys.argv[1:6]
    os.environ['PV_LOG'] = 'info'  # the servers' hand-offs are info lines
    with open(host_icd) as f:
        library = os.path.basename(json.load(f)['ICD']['library_path'])
    try:
        guests = Guests(venus_icd, host_icd, program, instance_guest)
        check_pool(pearvisor, host_icd, guests, library)
        check_no_pool(pearvisor, host_icd, guests)
    except RuntimeError as err:
        print('FAIL: %s' % err)
        return 1
    print('PASS')
    return 0


if __name__ == '__main__':
    sys.exit(main())
