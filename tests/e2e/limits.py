#!/usr/bin/env python3
"""End-to-end: `pearvisor serve --limit`. A guest past a limit fails on its own; the server and
every other guest carry on.

usage: limits.py connections PEARVISOR HOST_ICD
       limits.py memory PEARVISOR HOST_ICD VENUS_ICD BIG_PROGRAM SMALL_PROGRAM

connections: with --limit connections=4, a guest process gets two (half), another process the
other two, and a fifth connection is closed at once (and logged) while the others still
answer; once one leaves, a new one is served. (`limits.py hold` is the other processes.)
memory: with --limit memory=16M, BIG_PROGRAM (pv-test-transfer: a 64 MiB buffer) fails with a
Vulkan error, its limit logged, while SMALL_PROGRAM, a guest of the same server at the same
time and after, passes.
"""

import os
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import Server  # noqa: E402

CREATE_RENDERER = 8
PING_PROTOCOL_VERSION = 10
NAME = b'limits\0'


def vtest_client(path):
    """A connection that said CREATE_RENDERER; None if the server closed it."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    try:
        # CREATE_RENDERER's length counts bytes (docs/protocol/pitfalls.md #1).
        s.sendall(struct.pack('<II', len(NAME), CREATE_RENDERER) + NAME)
    except OSError:
        s.close()
        return None
    if not answers(s):
        s.close()
        return None
    return s


def answers(s):
    """PING_PROTOCOL_VERSION is answered by an empty reply of the same id."""
    try:
        s.sendall(struct.pack('<II', 0, PING_PROTOCOL_VERSION))
        reply = b''
        while len(reply) < 8:
            chunk = s.recv(8 - len(reply))
            if not chunk:
                return False
            reply += chunk
    except OSError:
        return False
    return struct.unpack('<II', reply) == (0, PING_PROTOCOL_VERSION)


def served_client(path):
    """A connection the server serves: the one made by Server's start-up check, or one that
    just left, counts until its worker is reaped, so a refusal is retried for a while."""
    deadline = time.time() + 10
    while time.time() < deadline:
        s = vtest_client(path)
        if s:
            return s
        time.sleep(0.1)
    return None


def hold(path, count, retry):
    """The other side of holder(): count connections, each retried for a while or tried once;
    prints whether all were served, then holds them until stdin closes."""
    connect = served_client if retry == 'retry' else vtest_client
    socks = [connect(path) for _ in range(int(count))]
    print('held' if all(socks) else 'refused', flush=True)
    sys.stdin.read()
    return 0


def holder(path, count, retry):
    """A guest process of its own holding count connections: (process, all served)."""
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), 'hold', path, str(count),
                             'retry' if retry else 'once'],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip() == 'held'


def release(proc):
    proc.stdin.close()
    proc.wait(10)


def connections(pearvisor, host_icd):
    """--limit connections=4: this process gets its half (2) and no more, another process the
    rest, a third none; all served ones keep answering, and a freed place is taken again."""
    server = Server(pearvisor, host_icd, ['--limit', 'connections=4'])
    holders = []
    try:
        first = served_client(server.socket)
        second = served_client(server.socket)
        if not first or not second:
            print('FAIL: two connections are not served\n' + server.output())
            return 1
        if vtest_client(server.socket):
            print('FAIL: one guest process got more than half the limit\n' + server.output())
            return 1
        if 'half the connections limit' not in server.output():
            print('FAIL: the share refusal is not logged\n' + server.output())
            return 1
        print('a guest process past half the limit refused: ok')
        other, served = holder(server.socket, 2, retry=True)
        holders.append(other)
        if not served:
            print('FAIL: another guest process is not served\n' + server.output())
            return 1
        late, served = holder(server.socket, 1, retry=False)
        holders.append(late)
        if served or 'the connections limit (4 served at once) is reached' not in server.output():
            print('FAIL: a fifth connection was served, or its refusal not logged\n' +
                  server.output())
            return 1
        if not answers(first) or not answers(second):
            print('FAIL: the first two connections stopped answering\n' + server.output())
            return 1
        print('a connection past the limit refused, the others answer: ok')
        first.close()
        third = served_client(server.socket)
        if not third or not answers(second):
            print('FAIL: no room after a guest left\n' + server.output())
            return 1
        print('a guest left, the next one served: ok')
        third.close()
        second.close()
        if not server.alive():
            print('FAIL: the server died\n' + server.output())
            return 1
        print('PASS')
        return 0
    finally:
        for proc in holders:
            release(proc)
        server.stop()


def run_guest(cmd, env):
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)


def finish(guest, timeout=120):
    """(exit status, output); None as status when it hung (killed)."""
    try:
        out, _ = guest.communicate(timeout=timeout)
        return guest.returncode, out
    except subprocess.TimeoutExpired:
        os.killpg(guest.pid, signal.SIGKILL)
        out, _ = guest.communicate()
        return None, out


def memory(pearvisor, host_icd, venus_icd, big, small):
    server = Server(pearvisor, host_icd, ['--limit', 'memory=16M'])
    try:
        env = server.guest_env(venus_icd)
        over = run_guest([big], env)
        beside = run_guest([small], env)
        over_status, over_out = finish(over)
        beside_status, beside_out = finish(beside)
        # The programs exit 2 for a Vulkan error (tests/programs/meson.build).
        if over_status != 2:
            print('FAIL: %s over the limit exited %s, not 2 (a Vulkan error)\n%s\n%s' % (
                big, over_status, over_out[-2000:], server.output()))
            return 1
        if 'reached the memory limit' not in server.output():
            print('FAIL: the limit is not logged\n' + server.output())
            return 1
        print('guest over the memory limit fails with a Vulkan error: ok')
        if beside_status != 0:
            print('FAIL: %s beside it exited %s\n%s\n%s' % (
                small, beside_status, beside_out[-2000:], server.output()))
            return 1
        after_status, after_out = finish(run_guest([small], env))
        if after_status != 0:
            print('FAIL: %s after it exited %s\n%s' % (small, after_status, after_out[-2000:]))
            return 1
        print('guests within the limit, beside and after it, pass: ok')
        if not server.alive():
            print('FAIL: the server died\n' + server.output())
            return 1
        print('PASS')
        return 0
    finally:
        server.stop()


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == 'connections':
        return connections(*args)
    if mode == 'hold':
        return hold(*args)
    return memory(*args)


if __name__ == '__main__':
    sys.exit(main())
