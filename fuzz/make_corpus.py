#!/usr/bin/env python3
"""Writes the committed seeds of the executing harnesses (fuzz/corpus/{exec,ring,vtest}/) from
recorded guests: tests/data/venus/ (one record per command, README.md there) or files of
PV_DEBUG=record (docs/fuzzing.md). Run again after changing a harness's input format.

usage: make_corpus.py [PVREC_FILE...]   (from the repository root)
"""

import hashlib
import pathlib
import struct
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
RECORDINGS = ['compute', 'render-clear', 'vulkaninfo-summary']
# Ring-only commands a context stream refuses (vkWaitVirtqueueSeqnoMESA) and the context-only
# ring set-up, which the harnesses do themselves.
SKIP = {252, 188, 189, 190}


def recorded_commands(name):
    """The (command id, bytes) a recorded guest sent on its rings, in order."""
    tsv = ROOT / 'tests/data/venus' / (name + '.tsv')
    data = tsv.with_suffix('.bin').read_bytes()
    for row in (line.split('\t') for line in tsv.read_text().splitlines()[1:]):
        if row[1] == 'ring':
            yield int(row[2]), data[int(row[4]):int(row[4]) + int(row[5])]


def pvrec_commands(path):
    """The same from a PV_DEBUG=record file: each ring batch is one entry, named by the id of
    its first command (a batch is replayed whole, so it need not be split)."""
    data = pathlib.Path(path).read_bytes()
    assert data[:8] == b'PVRECORD', path
    at = 12
    while at < len(data):
        kind, size, _ = struct.unpack_from('<IIQ', data, at)
        if kind == 2:
            batch = data[at + 16:at + 16 + size]
            yield struct.unpack_from('<I', batch)[0], batch
        at += 16 + size


def ring_seed(commands, log2):
    """fuzz_ring's input: the stream in two batches, split at a command boundary near the
    middle, in a buffer of 2**log2 bytes that the second batch wraps around."""
    stream, split = b''.join(commands), 0
    for c in commands:
        if split + len(c) > min(len(stream) // 2, 1 << log2):
            break
        split += len(c)
    return struct.pack('<BxxxII', log2 - 4, split, len(stream)) + stream


def vtest_message(cmd, payload, length=None):
    return struct.pack('<II', len(payload) // 4 if length is None else length, cmd) + payload


def words(*values):
    return struct.pack('<%dI' % len(values), *values)


def vtest_opening():
    """What the stock guest sends first (docs/protocol/vtest.md §4), with its two blobs."""
    name = b'fuzz\0'
    blob = words(2, 1, 131268, 0, 0, 0)
    return (vtest_message(8, name, len(name)) + vtest_message(10, b'') +
            vtest_message(7, words(0, 0)) + vtest_message(11, words(3)) +
            vtest_message(15, words(1)) + vtest_message(16, words(4, 0)) +
            vtest_message(17, words(4)) + vtest_message(18, blob) +
            vtest_message(18, words(2, 1, 1 << 20, 0, 0, 0)))


def submit_cmd2(stream, syncs=()):
    """One batch on ring_idx 0 with its Venus commands, then its syncs."""
    header = 1 + 6
    cmd_words = len(stream) // 4
    record = words(1, header, cmd_words, header + cmd_words, len(syncs), 0)
    sync_words = b''.join(words(s, v & 0xffffffff, v >> 32) for s, v in syncs)
    return vtest_message(24, words(1) + record + stream + sync_words)


def vtest_seeds(streams):
    opening = vtest_opening()
    yield opening
    # The syncs: create two, signal one from a submit, read, write, wait on both, unref.
    yield (opening + vtest_message(19, words(0, 0)) + vtest_message(19, words(5, 0)) +
           submit_cmd2(b'', [(1, 7)]) + vtest_message(21, words(1)) +
           vtest_message(22, words(2, 9, 0)) + vtest_message(23, words(0, 10, 1, 7, 0, 2, 9, 0)) +
           vtest_message(20, words(1)) + vtest_message(3, words(1)))
    for stream in streams:
        yield opening + submit_cmd2(stream)


def without_replies(commands):
    """The commands with no reply asked for and no reply stream set: vtest resource ids come
    from a counter of the process, so a seed cannot know which resource a reply stream is."""
    for c in commands:
        cmd_id = struct.unpack_from('<I', c)[0]
        if cmd_id not in (178, 179):  # vkSetReplyCommandStreamMESA, vkSeekReplyCommandStreamMESA
            yield c[:4] + struct.pack('<I', 0) + c[8:]


def write(dir_name, seeds):
    out = ROOT / 'fuzz/corpus' / dir_name
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    for seed in seeds:
        (out / hashlib.sha1(seed).hexdigest()).write_bytes(seed)


def main():
    runs = [list(recorded_commands(name)) for name in RECORDINGS]
    runs += [list(pvrec_commands(path)) for path in sys.argv[1:]]
    streams = [[c for cmd_id, c in run if cmd_id not in SKIP] for run in runs]
    write('exec', [b''.join(s) for s in streams])
    write("ring", [ring_seed(s, 13) for s in streams] + [ring_seed(streams[0], 16)])
    write('vtest', list(vtest_seeds([b''.join(without_replies(s[:60])) for s in streams])))


if __name__ == '__main__':
    main()
