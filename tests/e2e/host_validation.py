#!/usr/bin/env python3
"""End-to-end: the host side is valid Vulkan. `pearvisor serve` with PV_DEBUG=validate (the
Khronos validation layer on every host instance, its messages in the server's log) serves
every GPU program and `vulkaninfo --summary` as guests; any "validation:" error fails the
test, and so does a program whose checksum differs from its native run.

usage: host_validation.py PEARVISOR HOST_ICD VENUS_ICD PROGRAM...
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import Server, run_checked  # noqa: E402
from gpu_program import checksum  # noqa: E402

VALIDATION_ERROR = 'error: validation:'


def run_guests(server, host_icd, venus_icd, programs):
    """Each program natively and as a guest; returns the names whose checksums differ."""
    native_env = dict(os.environ, VK_DRIVER_FILES=host_icd, VK_ICD_FILENAMES=host_icd)
    guest_env = server.guest_env(venus_icd)
    differ = []
    for program in programs:
        name = os.path.basename(program)
        native = checksum(run_checked([program], native_env, 120))
        # The validation layer makes the host several times slower.
        virtual = checksum(run_checked([program], guest_env, 500))
        print('%s: native %s, through PearVisor %s' % (name, native, virtual))
        if native != virtual:
            differ.append(name)
    out = run_checked(['vulkaninfo', '--summary'], guest_env, 120)
    if 'Virtio-GPU Venus' not in out:
        raise RuntimeError('vulkaninfo --summary shows no venus device:\n' + out)
    print('vulkaninfo --summary: ok')
    return differ


def main():
    pearvisor, host_icd, venus_icd = sys.argv[1:4]
    programs = sys.argv[4:]
    # The server and its workers read PV_DEBUG and PV_LOG from the environment they inherit;
    # the guests ignore both.
    os.environ['PV_DEBUG'] = 'validate'
    os.environ['PV_LOG'] = 'info'
    server = Server(pearvisor, host_icd)
    try:
        differ = run_guests(server, host_icd, venus_icd, programs)
    finally:
        server.stop()
    log = server.output().splitlines()
    errors = [line for line in log if VALIDATION_ERROR in line]
    layered = [line for line in log if 'PV_DEBUG=validate: host instance under' in line]
    print('%d guests ran under the validation layer, %d validation errors, %d warnings' % (
        len(layered), len(errors), sum('warning: validation:' in line for line in log)))
    if len(layered) < len(programs) + 1:
        print('FAIL: the validation layer was not on for every guest:\n' + '\n'.join(log[-40:]))
        return 1
    if errors:
        print('FAIL: validation errors:\n' + '\n'.join(errors[:20]))
        return 1
    if differ:
        print('FAIL: results differ from native: ' + ', '.join(differ))
        return 1
    print('PASS')
    return 0


if __name__ == '__main__':
    sys.exit(main())
