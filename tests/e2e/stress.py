#!/usr/bin/env python3
"""End-to-end stress: eight guests computing through one server while a hostile client hammers
it, round after round; every guest result stays bit for bit native and the server stays flat.

One `pearvisor serve` for the whole run. Each GPU program is first run natively on the host
driver for its checksum. Then, per round, eight guest threads each run one program through the
server (rotating over PROGRAMs) and must print exactly the native checksum and exit 0, while a
ninth, hostile client does one batch of a random mix of: random bytes, before and after a valid
opening; truncated streams; the recorded hostile streams (tests/data/hostile) and the recorded
guest streams (tests/data/venus, wrapped in SUBMIT_CMD2) with a few bytes corrupted; headers
lying about sizes; 64 connections opened at once and closed, some mid-message; and a
disconnect in the middle of a message. After every round the server must be alive and no
worker may have been killed by a signal (no crash, no abort) or left a sanitizer report.

A leak shows as growth of the server main process across rounds: its open fds and RSS are
measured after a warm-up and at the end (each time once the workers of the guests that left are
gone) and must stay flat; and at the end no worker that served a client may be left running.

The random choices come from STRESS_SEED (default below, printed) so a failure reproduces;
STRESS_ROUNDS overrides the number of rounds.

usage: stress.py PEARVISOR HOST_ICD VENUS_ICD HOSTILE_DIR VENUS_STREAM_DIR PROGRAM...
"""

import concurrent.futures
import glob
import os
import random
import re
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import Server, report, run_checked  # noqa: E402
from gpu_program import checksum  # noqa: E402
from hostile_streams import SANITIZER, SERVED, children, drain, running_child  # noqa: E402

DEFAULT_SEED = 20261204
DEFAULT_ROUNDS = 50
WARMUP_ROUNDS = 5
GUESTS = 8
GUEST_TIMEOUT_S = 120
READY = 2                 # the server's pool of ready workers (the default, made explicit)
BURST = 64                # connections opened at once by the burst action
SETTLE_S = 8.0            # how long the workers of clients that left may take to be gone
# Flatness bounds for the server main process between the warm-up and the end. With about a
# thousand hostile connections over the measured rounds (the run prints the count), a leak of
# one fd per connection shows as hundreds of fds, far over the +2 allowed for a transient (a
# ready worker's channel being replaced). The main process allocates next to nothing per
# client (its RSS is about 2.5 MiB in all): 512 KiB is over the run's noise yet under what a
# leak of one small allocation (512 bytes and up: a client record, a path, a log buffer) per
# connection would add.
FD_GROWTH_LIMIT = 2
RSS_GROWTH_LIMIT_KIB = 512
# Recorded guest streams larger than this are left out: replaying them (glmark2's shader
# builds) would cost the two cores more than the whole rest of a round.
VENUS_STREAM_MAX_BYTES = 128 << 10
# Recorded hostile streams left out: runaway-shader legitimately keeps a CPU busy until its
# worker's teardown limit (3 s after the close), which would starve the eight guests;
# e2e-hostile-streams checks that bounded exit on its own.
HOSTILE_SKIPPED = {'runaway-shader'}
# Left out of the recorded guest streams: the replay sends the ring's commands on the context
# stream, so the ring never reaches the seqno the guest waited for, and the first wait would
# stall the rest of the stream until the close.
REPLAY_SKIPPED = {'vkWaitRingSeqnoMESA'}

# vtest framing (docs/protocol/vtest.md): [length in dwords][command id] payload.
CREATE_RENDERER = 8
PING_PROTOCOL_VERSION = 10
CONTEXT_INIT = 17
RESOURCE_CREATE_BLOB = 18
SUBMIT_CMD2 = 24
VENUS_CAPSET = 4
BLOB_MEM_HOST3D = 2
BLOB_FLAG_MAPPABLE = 1
BATCH_FLAG_RING_IDX = 1
MAX_PAYLOAD_GUESS = 64 << 20  # a length this large is refused (or read for) without harm


def message(command, payload=b''):
    """One vtest message; payload is padded to whole dwords."""
    payload += b'\0' * (-len(payload) % 4)
    return struct.pack('<II', len(payload) // 4, command) + payload


def create_renderer(name=b'stress-hostile'):
    """CREATE_RENDERER, the one message whose length counts bytes."""
    data = name + b'\0'
    return struct.pack('<II', len(data), CREATE_RENDERER) + data


OPENING = (create_renderer() + message(PING_PROTOCOL_VERSION) +
           message(CONTEXT_INIT, struct.pack('<I', VENUS_CAPSET)))


def blob(size):
    """RESOURCE_CREATE_BLOB for a mappable shm blob, as the guest asks for rings and pools."""
    return message(RESOURCE_CREATE_BLOB,
                   struct.pack('<6I', BLOB_MEM_HOST3D, BLOB_FLAG_MAPPABLE, size & 0xffffffff,
                               size >> 32, 0, 0))


def submit(commands, ring_idx=0):
    """SUBMIT_CMD2 with one batch of Venus commands on the context stream, no syncs."""
    commands += b'\0' * (-len(commands) % 4)
    record = struct.pack('<7I', 1, BATCH_FLAG_RING_IDX, 7, len(commands) // 4, 0, 0, ring_idx)
    return message(SUBMIT_CMD2, record + commands)


def venus_stream(bin_path):
    """A recorded guest's Venus commands as a vtest client sends them: the opening, the two
    shm blobs the guest creates first (instance ring, reply pool, so the recording's resource
    ids name live resources), then every record in order (ring commands too), a few per
    SUBMIT_CMD2 on the context stream. Returns (bytes, offset where the Venus part starts)."""
    with open(bin_path, 'rb') as f:
        data = f.read()
    records = []
    with open(bin_path[:-len('.bin')] + '.tsv') as f:
        next(f)
        for line in f:
            fields = line.rstrip('\n').split('\t')
            if fields[3] in REPLAY_SKIPPED:
                continue
            offset, length = int(fields[4]), int(fields[5])
            records.append(data[offset:offset + length])
    head = OPENING + blob(131268) + blob(1 << 20)
    body = bytearray()
    chunk = b''
    for record in records:
        if chunk and len(chunk) + len(record) > 16 << 10:
            body += submit(chunk)
            chunk = b''
        chunk += record
    if chunk:
        body += submit(chunk)
    return head + bytes(body), len(head)


def opening_length(data):
    """Bytes of a recorded stream's CREATE_RENDERER (counted in bytes) and CONTEXT_INIT."""
    name_bytes = struct.unpack_from('<I', data, 0)[0]
    init_words = struct.unpack_from('<I', data, 8 + name_bytes)[0]
    return 8 + name_bytes + 8 + 4 * init_words


def load_streams(hostile_dir, venus_dir):
    """name -> (bytes, offset of the part worth corrupting) for every stream replayed."""
    streams = {}
    for path in sorted(glob.glob(os.path.join(hostile_dir, '*.bin'))):
        name = os.path.basename(path)[:-4]
        if name not in HOSTILE_SKIPPED:
            with open(path, 'rb') as f:
                data = f.read()
            streams['hostile/' + name] = (data, opening_length(data))
    for path in sorted(glob.glob(os.path.join(venus_dir, '*.bin'))):
        if os.path.getsize(path) <= VENUS_STREAM_MAX_BYTES:
            streams['venus/' + os.path.basename(path)[:-4]] = venus_stream(path)
    return streams


def corrupt(rng, data, start):
    """data with 1 to 4 random bytes after start replaced by random values."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        out[rng.randrange(min(start, len(out) - 1), len(out))] = rng.randrange(256)
    return bytes(out)


class HostileClient:
    """The ninth client: connections that misbehave in every way vtest framing allows. It never
    waits for a reply it asked for (the server's replies and fds are drained and dropped)."""

    def __init__(self, socket_path, streams, rng):
        self.socket_path = socket_path
        self.streams = streams
        self.rng = rng
        self.connections = 0
        self.actions = {}
        self.refused = 0

    def connect(self, timeout=10.0):
        """A non-blocking connection. The listen backlog is 16, and a UNIX socket's connect
        fails with EAGAIN (it does not wait) while it is full: a burst retries until the
        server has accepted enough."""
        deadline = time.monotonic() + timeout
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.setblocking(False)
            try:
                sock.connect(self.socket_path)
                self.connections += 1
                return sock
            except BlockingIOError:
                sock.close()
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.002)
            except OSError:
                sock.close()
                raise

    def send(self, sock, data, timeout=5.0):
        """Writes data, draining replies meanwhile; stops quietly if the server closes or the
        stream stalls (a huge length the server is still reading for is a stall by design)."""
        deadline = time.monotonic() + timeout
        view = memoryview(data)
        while view and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 0.05)
            if readable and not drain(sock):
                return False
            if writable:
                try:
                    view = view[sock.send(view):]
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    return False
        return not view

    def hold(self, sock, seconds):
        """Keeps the connection open a little, draining, so the server gets to act on it."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            readable, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
            if readable and not drain(sock):
                return

    def one(self, data, hold_s=None):
        """Connect, send data, hold for hold_s (random short by default), close."""
        try:
            sock = self.connect()
        except OSError:
            self.refused += 1
            return
        try:
            if self.send(sock, data):
                self.hold(sock, self.rng.uniform(0.02, 0.3) if hold_s is None else hold_s)
        finally:
            sock.close()

    # The actions; each is one or a few connections.

    def random_bytes(self):
        self.one(self.rng.randbytes(self.rng.randint(1, 8192)))

    def random_after_opening(self):
        self.one(OPENING + self.rng.randbytes(self.rng.randint(1, 8192)))

    def random_venus_commands(self):
        """Well-framed SUBMIT_CMD2s of garbage: the Venus decoder's turn."""
        self.one(OPENING + b''.join(submit(self.rng.randbytes(4 * self.rng.randint(1, 512)))
                                    for _ in range(self.rng.randint(1, 4))))

    def truncated_stream(self):
        data, _ = self.streams[self.rng.choice(sorted(self.streams))]
        self.one(data[:self.rng.randrange(1, len(data))], hold_s=0)

    def corrupted_stream(self):
        """A recorded stream with a few bytes changed, held long enough for the worker to get
        through it (a new worker's first vkCreateInstance loads the driver, slow on two busy
        cores): the corruption should land deep in the stream, not behind the close."""
        data, start = self.streams[self.rng.choice(sorted(self.streams))]
        self.one(corrupt(self.rng, data, start), hold_s=self.rng.uniform(0.5, 2.0))

    def lying_header(self):
        """A length bigger than what follows (the server reads for the rest until the close),
        one over any limit (refused), or a SUBMIT_CMD2 whose batch points past its payload."""
        kind = self.rng.randrange(4)
        if kind == 0:
            length = self.rng.randint(2, 1 << 16)
            lie = struct.pack('<II', length, SUBMIT_CMD2) + self.rng.randbytes(
                4 * self.rng.randint(0, length - 1))
        elif kind == 1:
            lie = struct.pack('<II', self.rng.choice([0xffffffff, 0x40000000, 0x7fffffff,
                                                      MAX_PAYLOAD_GUESS // 4 + 1]),
                              self.rng.choice([SUBMIT_CMD2, RESOURCE_CREATE_BLOB, 3, 99]))
        elif kind == 2:
            record = struct.pack('<7I', self.rng.choice([1, 2, 0xffffffff]), BATCH_FLAG_RING_IDX,
                                 self.rng.choice([7, 0xfffffff0, 0]),
                                 self.rng.choice([0xffffffff, 1 << 20, 8]),
                                 self.rng.choice([0, 0xffffffff]), self.rng.choice([0, 1 << 30]),
                                 self.rng.randrange(70))
            lie = message(SUBMIT_CMD2, record + self.rng.randbytes(32))
        else:
            # CREATE_RENDERER counts bytes: a huge byte count, then a short name.
            lie = struct.pack('<II', self.rng.choice([0xffffffff, 1 << 20]),
                              CREATE_RENDERER) + b'x' * 20
            self.one(lie)
            return
        self.one(OPENING + lie)

    def burst(self):
        """BURST connections open at once, each sending nothing, the opening, or a message cut
        off in the middle; then all closed together."""
        socks = []
        for _ in range(BURST):
            try:
                socks.append(self.connect())
            except OSError:
                self.refused += 1
        for sock in socks:
            kind = self.rng.randrange(4)
            try:
                if kind == 1:
                    sock.send(OPENING)
                elif kind == 2:
                    sock.send(create_renderer()[:self.rng.randint(1, 7)])
                elif kind == 3:
                    msg = submit(self.rng.randbytes(64))
                    sock.send(OPENING + msg[:self.rng.randrange(1, len(msg))])
            except OSError:
                pass
        time.sleep(self.rng.uniform(0, 0.2))
        for sock in socks:
            sock.close()

    def mid_message(self):
        """A valid stream, cut inside a message the server is already reading."""
        data, start = self.streams[self.rng.choice(sorted(self.streams))]
        cut = self.rng.randrange(start, len(data)) if start < len(data) else len(data) - 1
        self.one(data[:cut], hold_s=self.rng.uniform(0, 0.2))

    ACTIONS = ['random_bytes', 'random_after_opening', 'random_venus_commands',
               'truncated_stream', 'corrupted_stream', 'corrupted_stream', 'lying_header',
               'mid_message', 'burst']

    def batch(self):
        """One round's share: a few random actions (a burst in about one round in three), and
        the seconds they took."""
        started = time.monotonic()
        done = []
        for _ in range(self.rng.randint(3, 6)):
            action = self.rng.choice(self.ACTIONS)
            if action == 'burst' and 'burst' in done:
                continue
            getattr(self, action)()
            done.append(action)
            self.actions[action] = self.actions.get(action, 0) + 1
        return done, time.monotonic() - started


def proc_status_kib(pid, field):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise RuntimeError('no %s in /proc/%d/status' % (field, pid))


def fd_count(pid):
    return len(os.listdir('/proc/%d/fd' % pid))


def served_workers(output):
    """Every worker the server handed a client to so far."""
    return {int(pid) for pid in SERVED.findall(output)}


def settle(server):
    """Waits (up to SETTLE_S) until every worker that served a client is gone and the ready
    pool is full again; returns the served workers still running (none when all is well)."""
    spid = server.proc.pid
    deadline = time.monotonic() + SETTLE_S
    while True:
        kids = children(spid)
        left = {pid for pid in kids & served_workers(server.output())
                if running_child(pid, spid)}
        if (not left and len(kids) == READY) or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


def bad_deaths(output):
    """The server's log lines for workers killed by a signal, and sanitizer reports."""
    lines = re.findall(r'^.*worker \d+ was killed by signal \d+.*$', output, re.MULTILINE)
    lines += [output[m.start():output.find('\n', m.start())] for m in SANITIZER.finditer(output)]
    return lines


def main():
    if len(sys.argv) < 7:
        print(__doc__)
        return 2
    pearvisor, host_icd, venus_icd, hostile_dir, venus_dir = sys.argv[1:6]
    programs = sys.argv[6:]
    seed = int(os.environ.get('STRESS_SEED', DEFAULT_SEED))
    rounds = int(os.environ.get('STRESS_ROUNDS', DEFAULT_ROUNDS))
    print('seed %d (STRESS_SEED to change), %d rounds (STRESS_ROUNDS)' % (seed, rounds))
    rng = random.Random(seed)
    started = time.monotonic()

    native_env = dict(os.environ, VK_DRIVER_FILES=host_icd, VK_ICD_FILENAMES=host_icd)
    native = {}
    for program in programs:
        native[program] = checksum(run_checked([program], native_env, GUEST_TIMEOUT_S))
        print('native %s: %s' % (os.path.basename(program), native[program]), flush=True)

    streams = load_streams(hostile_dir, venus_dir)
    print('replayed streams: ' + ', '.join(sorted(streams)))
    failures = []
    server = Server(pearvisor, host_icd, ['--stats', '--ready', str(READY)])
    spid = server.proc.pid
    hostile = HostileClient(server.socket, streams, rng)
    guest_env = server.guest_env(venus_icd)

    def guest(program):
        try:
            got = checksum(run_checked([program], guest_env, GUEST_TIMEOUT_S))
        except RuntimeError as e:
            lines = str(e).splitlines()
            return '\n      '.join(lines[:1] + lines[-8:])
        if got != native[program]:
            return 'checksum %s, native %s' % (got, native[program])
        return None

    baseline = None
    try:
        with concurrent.futures.ThreadPoolExecutor(GUESTS + 1) as pool:
            for n in range(1, rounds + 1):
                round_start = time.monotonic()
                runs = [(g, programs[(g + n) % len(programs)]) for g in range(GUESTS)]
                futures = [pool.submit(guest, program) for _, program in runs]
                hostile_done = pool.submit(hostile.batch)
                actions, hostile_s = hostile_done.result()
                for (g, program), future in zip(runs, futures):
                    why = future.result()
                    if why:
                        failures.append('round %d, guest %d, %s: %s'
                                        % (n, g, os.path.basename(program), why))
                if not server.alive():
                    failures.append('round %d: the server died (exit %s)'
                                    % (n, server.proc.returncode))
                    break
                deaths = bad_deaths(server.output())
                if deaths:
                    failures += ['round %d: %s' % (n, line) for line in deaths]
                    break
                print('round %d/%d  %.1fs  rss %d KiB  fds %d  hostile (%.1fs): %s' % (
                    n, rounds, time.monotonic() - round_start, proc_status_kib(spid, 'VmRSS'),
                    fd_count(spid), hostile_s, ' '.join(actions)), flush=True)
                if n == min(WARMUP_ROUNDS, rounds):
                    left = settle(server)
                    baseline = (proc_status_kib(spid, 'VmRSS'), fd_count(spid))
                    print('warm-up baseline: rss %d KiB, %d fds%s' % (
                        baseline[0], baseline[1],
                        ' (workers still running: %s)' % sorted(left) if left else ''),
                        flush=True)
                if failures:
                    break

        if server.alive() and not failures:
            left = settle(server)
            if left:
                failures.append('workers still running %.0f s after their clients left: %s'
                                % (SETTLE_S, sorted(left)))
            rss, fds = proc_status_kib(spid, 'VmRSS'), fd_count(spid)
            print('end: rss %d KiB, %d fds; %d workers served, %d ready workers' % (
                rss, fds, len(served_workers(server.output())), len(children(spid) - left)))
            if baseline:
                if fds > baseline[1] + FD_GROWTH_LIMIT:
                    failures.append('server fds grew from %d to %d (limit +%d): a leak'
                                    % (baseline[1], fds, FD_GROWTH_LIMIT))
                if rss > baseline[0] + RSS_GROWTH_LIMIT_KIB:
                    failures.append('server RSS grew from %d to %d KiB (limit +%d KiB): a leak'
                                    % (baseline[0], rss, RSS_GROWTH_LIMIT_KIB))
        out = server.output()
        statuses = re.findall(r'worker \d+ exited with status (\d+)', out)
        print('hostile: %d connections (%d refused); actions %s' % (
            hostile.connections, hostile.refused,
            ', '.join('%s %d' % kv for kv in sorted(hostile.actions.items()))))
        print('workers exiting non-zero: %s' % (
            ', '.join('status %s: %d' % (s, statuses.count(s)) for s in sorted(set(statuses)))
            or 'none'))
    finally:
        server.stop()
    print('total %.1f s' % (time.monotonic() - started))
    out = server.output()
    if failures:
        guest_errors = [line for line in out.splitlines()
                        if 'error' in line and 'stress-hostile' not in line
                        and 'repro' not in line and 'vtest client' not in line]
        print('server errors about the guests:\n' + '\n'.join(guest_errors[-20:]))
    return report(failures, out, 'FAIL, seed %d' % seed)


if __name__ == '__main__':
    sys.exit(main())
