#!/usr/bin/env python3
"""End-to-end: a GPU test program run natively on the host driver and through PearVisor
(stock Mesa venus guest); both must pass their own validation and print the same checksum.

usage: gpu_program.py PEARVISOR HOST_ICD VENUS_ICD PROGRAM
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import run_checked  # noqa: E402


def checksum(out):
    sums = [line.split()[1] for line in out.splitlines() if line.startswith('CHECKSUM ')]
    if len(sums) != 1:
        raise RuntimeError('expected one CHECKSUM line, got:\n' + out)
    return sums[0]


def main():
    pearvisor, host_icd, venus_icd, program = sys.argv[1:5]
    native_env = dict(os.environ, VK_DRIVER_FILES=host_icd, VK_ICD_FILENAMES=host_icd)
    native = checksum(run_checked([program], native_env, 120))
    virtual = checksum(run_checked([pearvisor, 'run', '--icd', host_icd, '--venus-icd',
                                    venus_icd, '--', program], os.environ, 300))
    print('native %s, through PearVisor %s' % (native, virtual))
    if native != virtual:
        print('FAIL: results differ')
        return 1
    print('PASS')
    return 0


if __name__ == '__main__':
    sys.exit(main())
