#!/usr/bin/env python3
"""End-to-end: the documented PV_DEBUG switches log what they promise, and only when asked.

One GPU program runs as a guest of `pearvisor serve` with PV_DEBUG=protocol,vtest,ring,record
(the log must name the commands the guest sent, its vtest messages and its rings' life, and
PV_RECORD_DIR must get a record file that parses, docs/fuzzing.md, with context-stream and ring
records), then of a server without PV_DEBUG (no such lines, no record file). The switches need no PV_LOG,
and a name the server does not know is reported. PV_DEBUG=validate has its
own test (host_validation.py).

usage: debug_switches.py PEARVISOR HOST_ICD VENUS_ICD PROGRAM
"""

import os
import re
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import Server, run_checked  # noqa: E402

# What each switch must make the server say: (switch, line pattern, what it means).
EXPECTED = [
    ('protocol', r'protocol: vkCreateInstance \(id \d+, flags 0x[0-9a-f]+\) at stream offset \d+: '
     r'[0-9.]+ ms',
     'the first command of every guest'),
    ('protocol', r'protocol: vkQueueSubmit2? \(id \d+', 'a submission'),
    ('protocol', r'protocol: vkCreateRingMESA \(id \d+', 'the ring the guest asked for'),
    ('vtest', r'vtest command \d+, length \d+', 'a vtest message'),
    ('ring', r'ring [0-9a-f]+: started, \d+-byte buffer, idle after \d+ us', 'a ring starting'),
    ('ring', r'ring [0-9a-f]+: stopped', 'a ring stopping'),
]
VALIDATE_ON = 'PV_DEBUG=validate: host instance under'
RECORD_CONTEXT, RECORD_RING = 1, 2


def parse_record(path):
    """The (kind, ring id, commands) records of a PV_DEBUG=record file; raises if malformed."""
    data = open(path, 'rb').read()
    if data[:8] != b'PVRECORD' or struct.unpack_from('<I', data, 8)[0] != 1:
        raise ValueError('%s: no PVRECORD version 1 header' % path)
    records, at = [], 12
    while at < len(data):
        kind, size, ring_id = struct.unpack_from('<IIQ', data, at)
        if kind not in (RECORD_CONTEXT, RECORD_RING) or at + 16 + size > len(data):
            raise ValueError('%s: bad record at byte %d' % (path, at))
        if (kind == RECORD_RING) != (ring_id != 0) or size % 4:
            raise ValueError('%s: record at byte %d: kind %d, ring %x, %d bytes' %
                             (path, at, kind, ring_id, size))
        records.append((kind, ring_id, data[at + 16:at + 16 + size]))
        at += 16 + size
    return records


def check_records(record_dir, failures):
    """PV_DEBUG=record wrote one parseable file with both kinds of records."""
    files = [os.path.join(record_dir, f) for f in os.listdir(record_dir) if f.endswith('.pvrec')]
    if not files:
        failures.append('PV_DEBUG=record wrote no file in PV_RECORD_DIR')
        return
    kinds = set()
    for path in files:
        try:
            records = parse_record(path)
        except ValueError as e:
            failures.append(str(e))
            continue
        kinds.update(kind for kind, _, _ in records)
        print('PV_DEBUG=record: %s: %d records, %d context, %d ring' %
              (os.path.basename(path), len(records),
               sum(k == RECORD_CONTEXT for k, _, _ in records),
               sum(k == RECORD_RING for k, _, _ in records)))
    if kinds != {RECORD_CONTEXT, RECORD_RING}:
        failures.append('PV_DEBUG=record: records of kinds %s, not both' % sorted(kinds))


def serve_one(pearvisor, host_icd, venus_icd, program, debug):
    """The server's log after program ran as its only guest."""
    # A switch alone must raise the log level to what it logs at.
    os.environ.pop('PV_LOG', None)
    if debug:
        os.environ['PV_DEBUG'] = debug
    else:
        os.environ.pop('PV_DEBUG', None)
    server = Server(pearvisor, host_icd)
    try:
        run_checked([program], server.guest_env(venus_icd), 120)
    finally:
        server.stop()
    return server.output()


def main():
    pearvisor, host_icd, venus_icd, program = sys.argv[1:5]
    failures = []
    record_dir = tempfile.mkdtemp(prefix='pv-record-')
    os.environ['PV_RECORD_DIR'] = record_dir
    # A name the server does not know must be reported, and must not stop the others.
    log = serve_one(pearvisor, host_icd, venus_icd, program, 'protocol,vtest,no_such,ring,record')
    if "PV_DEBUG: unknown switch 'no_such' ignored" not in log:
        failures.append('an unknown PV_DEBUG name went unreported')
    # Each name turns on its own switch and no other.
    if VALIDATE_ON in log:
        failures.append('PV_DEBUG without validate turned the validation layer on')
    for switch, pattern, meaning in EXPECTED:
        count = len(re.findall(pattern, log))
        print('PV_DEBUG=%s: %d lines for %s' % (switch, count, meaning))
        if not count:
            failures.append('PV_DEBUG=%s logged no line for %s (/%s/)' % (switch, meaning,
                                                                          pattern))
    check_records(record_dir, failures)
    for f in os.listdir(record_dir):
        os.unlink(os.path.join(record_dir, f))
    quiet = serve_one(pearvisor, host_icd, venus_icd, program, None)
    if os.listdir(record_dir):
        failures.append('without PV_DEBUG=record the server still wrote %s' %
                        os.listdir(record_dir))
    os.rmdir(record_dir)
    for switch, pattern, meaning in EXPECTED:
        if re.search(pattern, quiet):
            failures.append('without PV_DEBUG the server still logged %s' % meaning)
    if failures:
        print('FAIL:\n' + '\n'.join(failures) + '\nlast lines of the debug log:\n' +
              '\n'.join(log.splitlines()[-30:]))
        return 1
    print('PASS')
    return 0


if __name__ == '__main__':
    sys.exit(main())
