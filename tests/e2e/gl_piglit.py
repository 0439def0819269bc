#!/usr/bin/env python3
"""End-to-end: OpenGL through zink on the stock venus guest. Each piglit test must pass
natively on the host driver and through PearVisor. polygon-offset draws polygon-mode points
over offset quads; it failed through PearVisor while the guest was not offered
VK_KHR_maintenance5, whose absence sends zink down a point-size path the host never sees
natively.

usage: gl_piglit.py PEARVISOR HOST_ICD VENUS_ICD PIGLIT_TEST...
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import run_checked  # noqa: E402

# zink over Vulkan, drawing into an FBO of a surfaceless EGL context: no X server needed.
GL_ENV = {'LIBGL_ALWAYS_SOFTWARE': '1', 'GALLIUM_DRIVER': 'zink',
          'PIGLIT_PLATFORM': 'surfaceless_egl'}


def passed(out):
    return '"result": "pass"' in out


def main():
    pearvisor, host_icd, venus_icd = sys.argv[1:4]
    env = dict(os.environ, **GL_ENV)
    native_env = dict(env, VK_DRIVER_FILES=host_icd, VK_ICD_FILENAMES=host_icd)
    failures = 0
    for test in sys.argv[4:]:
        cmd = [test, '-auto', '-fbo']
        native = passed(run_checked(cmd, native_env, 120))
        virtual = passed(run_checked([pearvisor, 'run', '--icd', host_icd, '--venus-icd',
                                      venus_icd, '--'] + cmd, env, 300))
        print('%s: native %s, through PearVisor %s' % (
            os.path.basename(test), 'pass' if native else 'FAIL',
            'pass' if virtual else 'FAIL'))
        failures += not (native and virtual)
    print('FAIL' if failures else 'PASS')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
