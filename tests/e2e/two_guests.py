#!/usr/bin/env python3
"""End-to-end: two guests at once on one server, each running full vulkaninfo; then a guest
killed with SIGKILL mid-run, and the server still serves the next one.

usage: two_guests.py PEARVISOR HOST_ICD VENUS_ICD
"""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import Server, run_checked  # noqa: E402


def main():
    pearvisor, host_icd, venus_icd = sys.argv[1:4]
    server = Server(pearvisor, host_icd)
    try:
        env = server.guest_env(venus_icd)
        guests = [subprocess.Popen(['vulkaninfo'], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True,
                                   start_new_session=True) for _ in range(2)]
        for g in guests:
            try:
                out, _ = g.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(g.pid, signal.SIGKILL)
                print('FAIL: a guest hung\n' + server.output())
                return 1
            if g.returncode != 0 or 'Virtio-GPU Venus' not in out:
                print('FAIL: guest exited %d\n%s' % (g.returncode, server.output()))
                return 1
        print('two concurrent guests: ok')

        victim = subprocess.Popen(['vulkaninfo'], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(0.3)
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        if not server.alive():
            print('FAIL: the server died with its guest\n' + server.output())
            return 1
        out = run_checked(['vulkaninfo', '--summary'], env, 60)
        if 'Virtio-GPU Venus' not in out:
            print('FAIL: no device after a killed guest')
            return 1
        print('guest killed mid-run, next guest served: ok')
        print('PASS')
        return 0
    finally:
        server.stop()


if __name__ == '__main__':
    sys.exit(main())
