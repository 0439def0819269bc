#!/usr/bin/env python3
"""End-to-end teardown: a guest killed with SIGKILL in the middle of its submits leaves zero
objects, bytes, resources and rings accounted to its context, and the server serves the
next guest.

usage: killed_guest.py PEARVISOR HOST_ICD VENUS_ICD WORKLOAD_EXE NEXT_PROGRAM
"""

import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import Server, run_checked  # noqa: E402

STATS = re.compile(r'stats: (\S+): (\d+) commands; at disconnect (\d+) objects, (\d+) bytes '
                   r'of device memory, (\d+) resources, (\d+) rings; after teardown (\d+) '
                   r'objects, (\d+) bytes, (\d+) resources, (\d+) rings')


def main():
    pearvisor, host_icd, venus_icd, workload, next_program = sys.argv[1:6]
    server = Server(pearvisor, host_icd, ['--stats'])
    try:
        env = server.guest_env(venus_icd)
        victim = subprocess.Popen([workload, 'latency', '--iterations', '1000000'], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        time.sleep(1.5)
        if victim.poll() is not None:
            print('FAIL: the workload ended before it could be killed')
            return 1
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        deadline = time.time() + 30
        match = None
        while time.time() < deadline and not match:
            match = STATS.search(server.output())
            time.sleep(0.1)
        if not match:
            print('FAIL: no stats from the killed guest\'s worker\n' + server.output())
            return 1
        fields = [int(x) for x in match.groups()[1:]]
        commands, objects = fields[0], fields[1]
        after = fields[5:]
        print('killed guest: %d commands executed, %d objects live at disconnect; after '
              'teardown objects/bytes/resources/rings = %s' % (commands, objects, after))
        if objects == 0:
            print('FAIL: the guest was not killed mid-work (no live objects)')
            return 1
        if any(after):
            print('FAIL: teardown left something behind')
            return 1
        out = run_checked([next_program], env, 120)
        if 'CHECKSUM' not in out or not server.alive():
            print('FAIL: the next guest was not served')
            return 1
        print('next guest served: ok\nPASS')
        return 0
    finally:
        server.stop()


if __name__ == '__main__':
    sys.exit(main())
