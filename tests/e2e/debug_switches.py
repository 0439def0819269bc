#!/usr/bin/env python3
"""End-to-end: the documented PV_DEBUG switches log what they promise, and only when asked.

One GPU program runs as a guest of `pearvisor serve` with PV_DEBUG=protocol,vtest,ring (the
log must name the commands the guest sent, its vtest messages and its rings' life), then of a
server without PV_DEBUG (the log must carry none of those lines). The switches need no PV_LOG,
and a name the server does not know is reported. PV_DEBUG=validate has its
own test (host_validation.py).

usage: debug_switches.py PEARVISOR HOST_ICD VENUS_ICD PROGRAM
"""

import os
import re
import sys

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
    # A name the server does not know must be reported, and must not stop the others.
    log = serve_one(pearvisor, host_icd, venus_icd, program, 'protocol,vtest,no_such,ring')
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
    quiet = serve_one(pearvisor, host_icd, venus_icd, program, None)
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
