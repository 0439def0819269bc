#!/usr/bin/env python3
"""End-to-end: Debian's own virgl_test_server (a consumer of virglrenderer's ABI that nobody
here wrote) runs on our libvirglrenderer.so.1; the stock Mesa venus guest runs vulkaninfo and
the GPU programs through it, each with its native checksum.

usage: virgl_test_server.py LIB_DIR HOST_ICD VENUS_ICD PROGRAM...
"""

import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import run_checked  # noqa: E402
from gpu_program import checksum  # noqa: E402

SERVER = '/usr/bin/virgl_test_server'


def sanitizer_preload(lib_dir):
    """An ASan build of our library must have its runtime loaded before everything else in a
    program that was not built with it."""
    out = subprocess.run(['ldd', os.path.join(lib_dir, 'libvirglrenderer.so.1')],
                         capture_output=True, text=True).stdout
    return [line.split()[2] for line in out.splitlines() if 'libasan' in line and '=>' in line]


def start_server(lib_dir, host_icd, socket_path, log):
    env = dict(os.environ, LD_LIBRARY_PATH=lib_dir, VK_DRIVER_FILES=host_icd,
               VK_ICD_FILENAMES=host_icd)
    preload = sanitizer_preload(lib_dir)
    if preload:
        env['LD_PRELOAD'] = ':'.join(preload)
    # 0.10.4 reads the socket path only in the --opt=value form.
    proc = subprocess.Popen([SERVER, '--venus', '--socket-path=' + socket_path], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 10
    while not os.path.exists(socket_path):
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError('virgl_test_server did not start')
        time.sleep(0.02)
    return proc


def loaded_library(pid, lib_dir):
    """The library file the server mapped, which must be ours."""
    want = os.path.realpath(os.path.join(lib_dir, 'libvirglrenderer.so.1'))
    with open('/proc/%d/maps' % pid) as maps:
        mapped = {line.split()[-1] for line in maps if 'libvirglrenderer' in line}
    if {os.path.realpath(m) for m in mapped} != {want}:
        raise RuntimeError('virgl_test_server mapped %s, not %s' % (sorted(mapped), want))
    return want


def main():
    lib_dir, host_icd, venus_icd = sys.argv[1:4]
    programs = sys.argv[4:]
    if not os.path.exists(SERVER):
        print('FAIL: %s is missing (Debian package virgl-server)' % SERVER)
        return 1
    tmp = tempfile.mkdtemp(prefix='pv-virgl-')
    socket_path = os.path.join(tmp, 'vtest.sock')
    log = open(os.path.join(tmp, 'server.log'), 'w+')
    proc = start_server(lib_dir, host_icd, socket_path, log)
    failed = 0
    try:
        print('virgl_test_server (pid %d) runs on %s' % (proc.pid, loaded_library(proc.pid, lib_dir)))
        native_env = dict(os.environ, VK_DRIVER_FILES=host_icd, VK_ICD_FILENAMES=host_icd)
        guest_env = dict(os.environ, VN_DEBUG='vtest', VTEST_SOCKET_NAME=socket_path,
                         VK_DRIVER_FILES=venus_icd, VK_ICD_FILENAMES=venus_icd)
        summary = run_checked(['vulkaninfo', '--summary'], guest_env, 60)
        if 'DRIVER_ID_MESA_VENUS' not in summary:
            raise RuntimeError('vulkaninfo shows no venus device:\n' + summary)
        print('vulkaninfo --summary: a venus device')
        for program in programs:
            native = checksum(run_checked([program], native_env, 120))
            virtual = checksum(run_checked([program], guest_env, 300))
            ok = native == virtual
            failed += not ok
            print('%-20s native %s, through virgl_test_server %s  %s' % (
                os.path.basename(program), native, virtual, 'ok' if ok else 'DIFFERENT'))
        if proc.poll() is not None:
            raise RuntimeError('virgl_test_server died')
    except RuntimeError as err:
        print('FAIL: %s' % err)
        failed += 1
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.seek(0)
        if failed:
            print('server log:\n' + log.read()[-4000:])
    print('PASS' if not failed else 'FAIL')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
