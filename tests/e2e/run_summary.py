#!/usr/bin/env python3
"""End-to-end: `pearvisor run -- vulkaninfo --summary` shows lavapipe through Mesa venus.

usage: run_summary.py PEARVISOR HOST_ICD VENUS_ICD
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import run_checked  # noqa: E402


def main():
    pearvisor, host_icd, venus_icd = sys.argv[1:4]
    out = run_checked([pearvisor, 'run', '--icd', host_icd, '--venus-icd', venus_icd, '--',
                       'vulkaninfo', '--summary'], os.environ, 60)
    names = [line.split('=', 1)[1].strip() for line in out.splitlines()
             if line.strip().startswith('deviceName')]
    print('devices:', names)
    if not names or not all(n.startswith('Virtio-GPU Venus (llvmpipe') for n in names):
        print('FAIL: expected a "Virtio-GPU Venus (llvmpipe ...)" device\n' + out)
        return 1
    print('PASS')
    return 0


if __name__ == '__main__':
    sys.exit(main())
