#!/usr/bin/env python3
"""Runs GPU test programs in a real Linux VM (QEMU + virtio-gpu venus, stock Mesa venus in the
guest) and compares each one's checksum with a native run on the host's lavapipe.

usage: run_vm.py [--renderer-lib DIR] [--timeout S] [--keep LOGDIR] [PROGRAM...]

One VM boot runs `vulkaninfo --summary` and then every PROGRAM (default: the five
build/tests/programs/pv-test-*). QEMU, Xvfb and the render server run in the Debian 13 chroot
that scripts/vm-setup.sh builds, inside a private mount and PID namespace, so nothing it mounts
or starts outlives the run. With --renderer-lib DIR, QEMU runs with LD_LIBRARY_PATH pointing at
DIR's libvirglrenderer.so.1 and the run fails unless QEMU's memory map shows that very file.

Exit status 0 only if the VM booted, the guest saw the venus device, every program exited 0 in
the guest with the native checksum, and QEMU mapped the expected renderer library.
Python 3 standard library only.
"""

import argparse
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_CACHE = os.environ.get('PV_VM_CACHE', '/var/cache/pearvisor-vm')
DEFAULT_PROGRAMS = ['build/tests/programs/pv-test-' + n
                    for n in ('compute', 'transfer', 'clear', 'graphics', 'sync', 'clocks')]
RENDERER_SONAME = 'libvirglrenderer.so.1'
# PearVisor's library serves each guest context from this program, installed next to it.
PV_WORKER = 'pearvisor-virgl-worker'
STOCK_RENDERER = '/usr/lib/x86_64-linux-gnu/' + RENDERER_SONAME  # inside the chroot
# Where the per-run directory, the kernel and a replacement renderer appear inside the chroot
# (vm-setup.sh creates these mount points).
MNT_RUN, MNT_KERNEL, MNT_RENDERER = '/mnt/pv-run', '/mnt/pv-kernel', '/mnt/pv-renderer'
MARKER = re.compile(r'PV-VM: (\S+) ?(.*)')
PR_SET_PDEATHSIG = 1

# Runs as PID 1 of fresh mount + PID namespaces: binds what the chroot needs, then runs the
# command as its child (not exec: xvfb-run as PID 1 never sees Xvfb's "ready" SIGUSR1, since
# the kernel drops such signals to a namespace's init). When it ends, the namespace and every
# mount and process in it go too.
NAMESPACE_SCRIPT = r'''
set -eu
root=$1 run=$2 kernel=$3 renderer=$4
shift 4
mount --rbind /dev "$root/dev"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mount --bind "$run" "$root''' + MNT_RUN + r'''"
mount --bind -o ro "$kernel" "$root''' + MNT_KERNEL + r'''"
if [ -n "$renderer" ]; then mount --bind -o ro "$renderer" "$root''' + MNT_RENDERER + r'''"; fi
chroot "$root" "$@"
'''


def log(msg):
    print('run_vm: ' + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Process control: everything runs in its own process group and is killed as a group.

children = []  # Popen objects still to kill if we are interrupted


def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def on_signal(signum, _frame):
    for proc in children:
        kill_group(proc)
    log('interrupted by signal %d; killed the VM and its helpers' % signum)
    sys.exit(128 + signum)


def die_with_parent():
    """preexec_fn: the child gets SIGKILL if this script dies without cleaning up; unshare's
    --kill-child then takes the whole PID namespace (QEMU, Xvfb, render server) with it."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def run_bounded(cmd, env, timeout):
    """Runs cmd with a deadline; returns (exit status or None on timeout, output, seconds)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors='replace',
                            start_new_session=True)
    children.append(proc)
    try:
        out, _ = proc.communicate(timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, _ = proc.communicate()
        rc = None
    children.remove(proc)
    return rc, out, time.monotonic() - t0


# ---------------------------------------------------------------------------------------------
# Programs and their results

class Program:
    def __init__(self, path, name, args=()):
        self.path, self.name, self.args = path, name, list(args)
        self.native_rc = self.native_sum = self.native_s = None
        self.native_out = ''
        self.guest_rc = self.guest_sum = self.guest_ms = None
        self.guest_out = []
        self.begun = False
        self.problems = []

    def guest_command(self):
        return ' '.join(['/pv/bin/' + os.path.basename(self.path)] + self.args)


def checksums(text_lines):
    return [line.split()[1] for line in text_lines
            if line.startswith('CHECKSUM ') and len(line.split()) == 2]


def run_native(prog, icd, timeout):
    env = dict(os.environ, VK_DRIVER_FILES=icd, VK_ICD_FILENAMES=icd)
    rc, out, secs = run_bounded([prog.path] + prog.args, env, timeout)
    prog.native_rc, prog.native_out, prog.native_s = rc, out, secs
    sums = checksums(out.splitlines())
    if rc != 0:
        prog.problems.append('native run %s' % ('timed out' if rc is None else 'exit %d' % rc))
    elif len(sums) != 1:
        prog.problems.append('native run printed %d CHECKSUM lines' % len(sums))
    else:
        prog.native_sum = sums[0]


# ---------------------------------------------------------------------------------------------
# The VM

def kvm_unusable_reason():
    """Why KVM cannot boot a stock guest kernel here, or None if it looks usable."""
    try:
        os.close(os.open('/dev/kvm', os.O_RDWR))
    except OSError as e:
        return '/dev/kvm: %s' % e.strerror
    # PVM (kvm_pvm: KVM without hardware virtualization, for nested clouds) runs only guest
    # kernels built for it; a stock kernel dies in its decompressor with "emulation failure".
    if os.path.isdir('/sys/module/kvm_pvm') and not any(
            os.path.isdir('/sys/module/' + m) for m in ('kvm_intel', 'kvm_amd')):
        return 'KVM here is PVM (kvm_pvm), which cannot run a stock guest kernel'
    return None


def pick_accel(choice):
    """'kvm' or 'tcg', and why."""
    if choice != 'auto':
        return choice, 'asked for'
    reason = kvm_unusable_reason()
    return ('tcg', reason) if reason else ('kvm', '/dev/kvm usable')


def accel_args(accel, cpu):
    if accel == 'kvm':
        return ['-accel', 'kvm', '-cpu', cpu or 'host']
    # No KVM (many CI runners): multi-threaded TCG; -cpu host would not start there.
    if not cpu or cpu.startswith('host'):
        cpu = 'max'
    return ['-accel', 'tcg,thread=multi', '-cpu', cpu]


def pearvisor_renderer(args):
    return bool(args.renderer_lib) and os.path.exists(os.path.join(args.renderer_lib, PV_WORKER))


def check_workers(vm, guest_programs):
    """PearVisor's library must have served the guest's contexts from worker processes (one
    per context: at least one per program), and lost none of them."""
    log_text = tail(vm.stderr_log, 100000)
    served = re.findall(r'ctx \d+ .*: served by worker \d+', log_text)
    lost = [l for l in log_text.splitlines() if 'the context is lost' in l]
    if len(served) < len(guest_programs):
        vm.problems.append('QEMU\'s log shows %d context worker(s) for %d guest program(s)'
                           % (len(served), len(guest_programs)))
    if lost:
        vm.problems.append('context worker(s) lost: ' + '; '.join(lost[:3]))
    return len(served)


def qemu_command(args, accel):
    cmd = ['qemu-system-x86_64', '-machine', 'q35'] + accel + [
        '-smp', str(args.smp), '-m', args.memory,
        '-device', 'virtio-gpu-gl-pci,venus=on,blob=on,hostmem=1G',
        # virtio-gpu-gl needs a GL display; egl-headless would need a DRM node, so SDL on Xvfb.
        '-display', 'sdl,gl=on',
        '-serial', 'stdio', '-monitor', 'none', '-no-reboot', '-nodefaults', '-vga', 'none',
        '-kernel', MNT_KERNEL + '/vmlinuz', '-initrd', MNT_RUN + '/initrd.img',
        '-append', 'console=ttyS0 quiet panic=-1 rdinit=/init ' + args.kernel_append,
    ] + args.qemu_arg
    qemu_env = ['LD_LIBRARY_PATH=' + MNT_RENDERER] if args.renderer_lib else []
    if pearvisor_renderer(args):
        qemu_env.append('PV_LOG=info')  # each context's worker is logged: checked after the run
    qemu_env += args.qemu_env
    # env -i: the chroot gets a clean environment, not the host's paths. HOME on the per-run
    # tmpfs: the host-side Mesa shader cache must not carry over from one run to the next.
    return (['/usr/bin/env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/tmp',
             'TMPDIR=/tmp', 'xvfb-run', '-a', '-e', MNT_RUN + '/xvfb.log',
             '-s', '-screen 0 1024x768x24', 'env'] + qemu_env + cmd)


class Serial:
    """Reads QEMU's serial console (its stdout) on a thread: every line goes to serial.log and,
    with its arrival time, to a list the main thread inspects."""

    def __init__(self, stream, log_path, t0):
        self.lines = []  # (seconds since QEMU started, line)
        self.lock = threading.Lock()
        self.stream, self.log_path, self.t0 = stream, log_path, t0
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        with open(self.log_path, 'w') as logf:
            for raw in self.stream:
                line = raw.rstrip('\r\n').replace('\r', '')
                logf.write(line + '\n')
                logf.flush()
                with self.lock:
                    self.lines.append((time.monotonic() - self.t0, line))

    def snapshot(self):
        with self.lock:
            return list(self.lines)


def find_qemu_pid(root_pid):
    """QEMU's host PID: a descendant of root_pid whose command is qemu-system-*."""
    parents, comms = {}, {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index('(') + 1:stat.rindex(')')]
        ppid = int(stat[stat.rindex(')') + 2:].split()[1])
        parents[int(entry)], comms[int(entry)] = ppid, comm
    for pid, comm in comms.items():
        if not comm.startswith('qemu-system'):
            continue
        p = pid
        while p > 1 and p != root_pid:
            p = parents.get(p, 0)
        if p == root_pid:
            return pid
    return None


def mapped_renderers(pid):
    """The libvirglrenderer files QEMU has mapped: {(dev, inode): path as maps shows it}.
    Identity comes from stat() on /proc/PID/map_files (the file itself, whatever namespace or
    chroot it was opened in), so it can be compared with os.stat() of the file on the host."""
    found = {}
    with open('/proc/%d/maps' % pid) as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) < 6 or 'libvirglrenderer' not in os.path.basename(parts[5].strip()):
                continue
            try:
                st = os.stat('/proc/%d/map_files/%s' % (pid, parts[0]))
                key = (st.st_dev, st.st_ino)
            except OSError:
                major, minor = (int(x, 16) for x in parts[3].split(':'))
                key = (os.makedev(major, minor), int(parts[4]))
            found[key] = parts[5].strip()
    return found


def file_id(path):
    st = os.stat(path)
    return (st.st_dev, st.st_ino)


# QEMU 10's multi-threaded TCG can abort on a softmmu lookup that races a memory-map change
# (a blob mapped into the hostmem window while a vCPU runs); seen under heavy host load (twice
# in a row once, with the guest layer's polling vCPUs), never in an unloaded run. It is
# QEMU's assertion, not a guest or renderer error, so the boot is repeated, at most
# QEMU_TCG_RETRIES times, each logged; then the test fails.
QEMU_TCG_RETRIES = 3
QEMU_TCG_ABORT = re.compile(r"iotlb_to_section: Assertion `section_index < d->map.sections_nb' "
                            r"failed")

# Lines in QEMU's stderr that mean KVM cannot run this guest (a stock kernel on a nested or
# paravirtual KVM): under --accel auto the run is then retried on TCG.
KVM_FAILURE = re.compile(r'KVM internal error|failed to set MSR|kvm_buf_set_msrs|'
                         r'failed to initialize kvm|emulation failure')


class Vm:
    def __init__(self, args, workdir, accel):
        self.args, self.workdir, self.accel_name = args, workdir, accel
        self.serial_log = os.path.join(workdir, 'serial.log')
        self.stderr_log = os.path.join(workdir, 'qemu-stderr.log')
        self.xvfb_log = os.path.join(workdir, 'xvfb.log')
        self.cmd = qemu_command(args, accel_args(accel, args.cpu))
        self.rc = None
        self.timed_out = False
        self.wall_s = None
        self.renderer_maps = None  # {(dev, ino): path} once seen
        self.workers = None  # PearVisor's library: context workers QEMU's log shows
        self.kvm_failed = False  # KVM could not run the guest (see KVM_FAILURE)
        self.problems = []

    def kvm_broke(self):
        try:
            with open(self.stderr_log, errors='replace') as f:
                return bool(KVM_FAILURE.search(f.read()))
        except OSError:
            return False

    def run(self, on_init_check, init_limit=None):
        """Boots the VM and waits for it to power off (or the deadline). on_init_check is
        called once the guest's /init has started, with QEMU's PID (None if not found).
        init_limit: seconds the guest has to reach /init; past that, or when QEMU reports a
        KVM failure first, the run is stopped and kvm_failed set (so auto can retry on TCG)."""
        chroot = os.path.join(self.args.cache, 'chroot')
        ns_cmd = ['unshare', '--mount', '--propagation', 'private', '--pid', '--fork',
                  '--kill-child', '--', '/bin/sh', '-c', NAMESPACE_SCRIPT, 'pv-vm', chroot,
                  self.workdir, os.path.join(self.args.cache, 'kernel'),
                  self.args.renderer_lib or ''] + self.cmd
        with open(os.path.join(self.workdir, 'qemu-command.txt'), 'w') as f:
            f.write(' '.join(self.cmd) + '\n')
        t0 = time.monotonic()
        with open(self.stderr_log, 'w') as errf:
            proc = subprocess.Popen(ns_cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=errf, text=True, errors='replace',
                                    start_new_session=True, preexec_fn=die_with_parent)
        children.append(proc)
        serial = Serial(proc.stdout, self.serial_log, t0)
        checked = False
        deadline = t0 + self.args.timeout
        polls = 0
        while proc.poll() is None:
            now = time.monotonic()
            if now > deadline:
                self.timed_out = True
                kill_group(proc)
                break
            if not checked and any('PV-VM: INIT' in l for _, l in serial.snapshot()):
                checked = True
                on_init_check(find_qemu_pid(proc.pid))
            if init_limit is not None and not checked and (
                    now > t0 + init_limit or (polls % 10 == 0 and self.kvm_broke())):
                self.kvm_failed = True
                kill_group(proc)
                break
            polls += 1
            time.sleep(0.05)
        proc.wait()
        children.remove(proc)
        serial.thread.join(timeout=5)
        self.wall_s = time.monotonic() - t0
        self.rc = proc.returncode
        if init_limit is not None and not checked and self.kvm_broke():
            self.kvm_failed = True  # QEMU exited on its own because of KVM
        return serial.snapshot()


# ---------------------------------------------------------------------------------------------
# Parsing the serial log

class GuestLog:
    def __init__(self, lines, programs):
        self.init_ms = self.gpu_ms = self.done_ms = None
        self.init_host_s = None
        self.render_node = None
        self.kmsg = []
        self.module_failures = []
        by_name = {p.name: p for p in programs}
        for host_s, line in lines:
            m = MARKER.search(line)
            if not m:
                continue
            kind, rest = m.group(1), m.group(2)
            if kind == 'INIT':
                self.init_ms, self.init_host_s = int(rest), host_s
            elif kind == 'GPU':
                ms, node = rest.split()
                self.gpu_ms, self.render_node = int(ms), node
            elif kind == 'KMSG':
                self.kmsg.append(rest)
            elif kind == 'MODULE-FAIL':
                self.module_failures.append(rest)
            elif kind == 'BEGIN':
                name = rest.split()[0]
                if name in by_name:
                    by_name[name].begun = True
            elif kind == 'OUT':
                name, _, text = rest.partition(' | ')
                if name in by_name:
                    by_name[name].guest_out.append(text)
            elif kind == 'END':
                em = re.match(r'(\S+) rc=(\d+) ms=(\d+)', rest)
                if em and em.group(1) in by_name:
                    prog = by_name[em.group(1)]
                    prog.guest_rc, prog.guest_ms = int(em.group(2)), int(em.group(3))
            elif kind == 'DONE':
                self.done_ms = int(rest)


def judge_guest(prog, is_vulkaninfo):
    if not prog.begun:
        prog.problems.append('never started in the guest')
        return
    if prog.guest_rc is None:
        prog.problems.append('no END marker (guest died or timed out while it ran)')
        return
    if prog.guest_rc != 0:
        prog.problems.append('guest exit %d%s' % (
            prog.guest_rc, ' (killed by the guest timeout)' if prog.guest_rc in (137, 143) else ''))
    if is_vulkaninfo:
        text = '\n'.join(prog.guest_out)
        if 'DRIVER_ID_MESA_VENUS' not in text:
            prog.problems.append('vulkaninfo shows no device with driverID DRIVER_ID_MESA_VENUS')
        return
    sums = checksums(prog.guest_out)
    if len(sums) != 1:
        prog.problems.append('guest printed %d CHECKSUM lines' % len(sums))
        return
    prog.guest_sum = sums[0]
    if prog.native_sum is not None and prog.guest_sum != prog.native_sum:
        prog.problems.append('checksum differs from native')


# What the layer prints under PEARVISOR_FAST_WAIT_DEBUG=1 when it takes a venus device's waits.
LAYER_ACTIVE = re.compile(r'^fast_wait: active on ')


def check_guest_layer(prog):
    """With --guest-layer the layer must have acted on the program's venus device."""
    if not any(LAYER_ACTIVE.search(line) for line in prog.guest_out):
        prog.problems.append('the guest layer did not act (no "fast_wait: active on" line)')


def venus_device_name(prog):
    for line in prog.guest_out:
        m = re.search(r'deviceName\s*=\s*(.*)', line)
        if m:
            return m.group(1).strip()
    return None


# ---------------------------------------------------------------------------------------------
# The run

def parse_args():
    ap = argparse.ArgumentParser(
        description='Boots a QEMU VM with a virtio-gpu venus device (stock Mesa venus in the '
                    'guest), runs vulkaninfo --summary and each PROGRAM in it, and compares '
                    'each checksum with a native lavapipe run. Needs root and the cache of '
                    'scripts/vm-setup.sh.')
    ap.add_argument('programs', nargs='*', metavar='PROGRAM',
                    help='GPU test programs (print one "CHECKSUM <hex>" line, exit 0); '
                         'default: the five build/tests/programs/pv-test-*')
    ap.add_argument('--renderer-lib', metavar='DIR',
                    help='directory holding a replacement %s for QEMU; the run fails unless '
                         'QEMU maps it' % RENDERER_SONAME)
    ap.add_argument('--timeout', type=float, default=300, metavar='S',
                    help='limit for the whole VM run, boot included (default %(default)s)')
    ap.add_argument('--program-timeout', type=int, default=120, metavar='S',
                    help='limit for each program, native and in the guest (default %(default)s)')
    ap.add_argument('--keep', metavar='LOGDIR',
                    help='keep the initramfs, serial log, QEMU stderr and results in LOGDIR')
    ap.add_argument('--cache', default=DEFAULT_CACHE,
                    help='the scripts/vm-setup.sh cache (default %(default)s)')
    ap.add_argument('--accel', choices=('auto', 'kvm', 'tcg'), default='auto',
                    help='auto: KVM when /dev/kvm opens and is not PVM, else TCG; a KVM boot '
                         'that fails before /init is retried on TCG (default %(default)s)')
    ap.add_argument('--kvm-init-limit', type=float, default=30, metavar='S',
                    help='with --accel auto: seconds a KVM guest has to reach /init before '
                         'the run falls back to TCG (default %(default)s)')
    ap.add_argument('--cpu', metavar='MODEL',
                    help='QEMU -cpu (default: host with KVM, max with TCG; host* becomes max '
                         'on TCG)')
    ap.add_argument('--smp', type=int, default=2, help='guest CPUs (default %(default)s)')
    ap.add_argument('--memory', default='2G', help='guest memory (default %(default)s)')
    ap.add_argument('--native-icd', default='/usr/share/vulkan/icd.d/lvp_icd.json',
                    help='host driver for the native reference runs (default %(default)s)')
    ap.add_argument('--vulkaninfo', default='/usr/bin/vulkaninfo',
                    help='vulkaninfo to run in the guest (default %(default)s)')
    ap.add_argument('--no-vulkaninfo', action='store_true',
                    help='do not run vulkaninfo --summary in the guest')
    ap.add_argument('--guest-layer', metavar='DIR',
                    help='run the programs with the guest wait layer VK_LAYER_PEARVISOR_fast_wait '
                         'from DIR (the build tree\'s guest/ folder); each must show it acted')
    ap.add_argument('--guest-env', action='append', default=[], metavar='K=V',
                    help='environment for the guest programs (e.g. VN_DEBUG=all); repeatable')
    ap.add_argument('--qemu-env', action='append', default=[], metavar='K=V',
                    help='environment for QEMU (e.g. PV_LOG=debug); repeatable')
    ap.add_argument('--qemu-arg', action='append', default=[], metavar='ARG',
                    help='extra QEMU argument; repeatable')
    ap.add_argument('--kernel-append', default='', metavar='ARGS',
                    help='extra guest kernel command-line arguments')
    ap.add_argument('--compress', choices=('gzip', 'none'), default='gzip',
                    help='initramfs compression (default %(default)s)')
    args = ap.parse_args()
    args.programs = [os.path.abspath(p) for p in args.programs or
                     [os.path.join(ROOT, p) for p in DEFAULT_PROGRAMS]]
    if args.renderer_lib:
        args.renderer_lib = os.path.abspath(args.renderer_lib)
    if args.guest_layer:
        args.guest_layer = os.path.abspath(args.guest_layer)
    for kv in args.guest_env + args.qemu_env:
        if '=' not in kv or not re.match(r'[A-Za-z_][A-Za-z0-9_]*=', kv):
            ap.error('not K=V: %r' % kv)
    return args


def check_prerequisites(args):
    """Everything that can be checked before booting; returns a list of problems."""
    problems = []
    if not os.path.isfile(os.path.join(args.cache, 'stamp')):
        problems.append('no complete VM cache in %s: run scripts/vm-setup.sh first' % args.cache)
    for p in args.programs + ([] if args.no_vulkaninfo else [args.vulkaninfo]):
        if not os.access(p, os.X_OK):
            problems.append('not an executable: %s (did `make build` run?)' % p)
    if not os.path.isfile(args.native_icd):
        problems.append('no native ICD file %s' % args.native_icd)
    names = [os.path.basename(p) for p in args.programs]
    if len(set(names)) != len(names):
        problems.append('two programs with the same file name')
    if args.renderer_lib:
        problems += check_renderer_dir(args.renderer_lib)
    return problems


def check_renderer_dir(d):
    lib = os.path.join(d, RENDERER_SONAME)
    if not os.path.exists(lib):
        return ['--renderer-lib %s holds no %s' % (d, RENDERER_SONAME)]
    # Only DIR is visible inside the chroot: a symlink leading out of it would not resolve there
    # and QEMU would quietly load the stock library instead.
    real = os.path.realpath(lib)
    if os.path.dirname(real) != os.path.realpath(d) and \
            not real.startswith(os.path.realpath(d) + os.sep):
        return ['%s resolves to %s, outside %s (only that directory is visible to QEMU)'
                % (lib, real, d)]
    return []


def write_run_files(args, programs, workdir):
    run_list = os.path.join(workdir, 'run.list')
    with open(run_list, 'w') as f:
        for p in programs:
            f.write('%s\t%d\t%s\n' % (p.name, args.program_timeout, p.guest_command()))
    env_file = None
    if args.guest_layer:
        # The layer is implicit: found through XDG_DATA_DIRS, enabled by its variable, and
        # asked to say on stderr whether it acts on the device (check_guest_layer reads it).
        args.guest_env = ['XDG_DATA_DIRS=/pv/layer', 'PEARVISOR_FAST_WAIT=1',
                          'PEARVISOR_FAST_WAIT_DEBUG=1'] + args.guest_env
    if args.guest_env:
        env_file = os.path.join(workdir, 'guest.env')
        with open(env_file, 'w') as f:
            for kv in args.guest_env:
                k, v = kv.split('=', 1)
                f.write("export %s='%s'\n" % (k, v.replace("'", "'\\''")))
    return run_list, env_file


def build_initramfs(args, programs, workdir):
    run_list, env_file = write_run_files(args, programs, workdir)
    cmd = [sys.executable, os.path.join(ROOT, 'scripts', 'vm-initramfs.py'),
           '--cache', args.cache, '--out', os.path.join(workdir, 'initrd.img'),
           '--run-list', run_list, '--compress', args.compress]
    if env_file:
        cmd += ['--env-file', env_file]
    if args.guest_layer:
        cmd += ['--guest-layer', args.guest_layer]
    rc, out, secs = run_bounded(cmd + [p.path for p in programs], None, 120)
    if rc != 0:
        raise SystemExit('run_vm: building the initramfs failed:\n' + out)
    return secs


def renderer_checker(args, vm):
    """Returns the callback Vm.run calls once the guest is up: it records which
    libvirglrenderer QEMU mapped and whether that is the expected one."""
    chroot = os.path.join(args.cache, 'chroot')
    stock = file_id(os.path.join(chroot, STOCK_RENDERER.lstrip('/')))
    expected = file_id(os.path.join(args.renderer_lib, RENDERER_SONAME)) \
        if args.renderer_lib else stock
    label = ('%s/%s' % (args.renderer_lib, RENDERER_SONAME)) if args.renderer_lib \
        else 'the chroot\'s stock ' + STOCK_RENDERER

    def check(pid):
        if pid is None:
            vm.problems.append('could not check QEMU\'s renderer library (no QEMU process, or the guest never started)')
            return
        try:
            vm.renderer_maps = mapped_renderers(pid)
        except OSError as e:
            vm.problems.append('reading /proc/%d/maps: %s' % (pid, e))
            return
        if expected not in vm.renderer_maps:
            vm.problems.append('QEMU (pid %d) did not map %s; it mapped: %s' % (
                pid, label, ', '.join(vm.renderer_maps.values()) or 'no libvirglrenderer'))
        elif len(vm.renderer_maps) > 1:
            vm.problems.append('QEMU mapped more than one libvirglrenderer: %s'
                               % ', '.join(vm.renderer_maps.values()))
        elif args.renderer_lib and expected == stock:
            vm.problems.append('--renderer-lib names the stock library itself')
    return check, label


def tail(path, n):
    try:
        with open(path, errors='replace') as f:
            lines = f.readlines()
    except OSError:
        return '(none)\n'
    return ''.join(lines[-n:]) or '(empty)\n'


def fmt_ms(ms):
    return '-' if ms is None else '%d' % ms


def print_report(args, vm, guest, programs, vulkaninfo, init_build_s, renderer_label):
    print('== VM run: accel %s, %d CPU(s), %s; renderer %s' % (
        vm.accel_name, args.smp, args.memory, renderer_label))
    if vm.renderer_maps:
        print('   QEMU mapped: %s' % ', '.join(sorted(vm.renderer_maps.values())))
    if vm.workers is not None:
        print('   guest contexts served by %d worker process(es)' % vm.workers)
    print('   initramfs build %.1f s; QEMU start to guest /init %s s (guest kernel %s ms); '
          'virtio-gpu ready at %s ms (%s); all done at %s ms; QEMU wall %.1f s' % (
              init_build_s, '-' if guest.init_host_s is None else '%.1f' % guest.init_host_s,
              fmt_ms(guest.init_ms), fmt_ms(guest.gpu_ms), guest.render_node or '-',
              fmt_ms(guest.done_ms), vm.wall_s or 0))
    for line in guest.kmsg:
        if 'features' in line or 'number of cap sets' in line:
            print('   guest kernel: ' + line.strip())
    if vulkaninfo:
        print('   guest device: %s' % (venus_device_name(vulkaninfo) or '?'))
    print('%-18s %9s %18s %18s %9s  %s' % ('program', 'native s', 'native checksum',
                                          'guest checksum', 'guest ms', 'result'))
    for p in ([vulkaninfo] if vulkaninfo else []) + programs:
        native_s = '-' if p.native_s is None else '%.2f' % p.native_s
        guest_sum = p.guest_sum or ('rc=%s' % p.guest_rc if p is vulkaninfo else '-')
        print('%-18s %9s %18s %18s %9s  %s' % (
            p.name, native_s, p.native_sum or '-', guest_sum, fmt_ms(p.guest_ms),
            'ok' if not p.problems else 'FAIL: ' + '; '.join(p.problems)))


def write_results(path, args, vm, guest, programs, ok):
    data = {
        'ok': ok, 'accel': vm.accel_name, 'renderer_lib': args.renderer_lib,
        'renderer_mapped': sorted((vm.renderer_maps or {}).values()),
        'qemu_wall_s': vm.wall_s, 'guest_init_ms': guest.init_ms, 'guest_gpu_ms': guest.gpu_ms,
        'guest_done_ms': guest.done_ms, 'host_s_to_init': guest.init_host_s,
        'problems': vm.problems,
        'programs': [{'name': p.name, 'native_checksum': p.native_sum, 'native_s': p.native_s,
                      'guest_checksum': p.guest_sum, 'guest_rc': p.guest_rc,
                      'guest_ms': p.guest_ms, 'problems': p.problems} for p in programs],
    }
    with open(path, 'w') as f:
        json.dump(data, f, indent=2)


def ensure_root():
    """Mount namespaces and chroot need root: re-run under sudo (as vm-setup.sh does)."""
    if os.geteuid() == 0:
        return
    if not shutil.which('sudo'):
        sys.exit('run_vm: error: needs root (mount namespaces, chroot) and sudo is missing')
    log('not root: re-running under sudo')
    os.execvp('sudo', ['sudo', 'PV_VM_CACHE=' + DEFAULT_CACHE, sys.executable,
                       os.path.abspath(__file__)] + sys.argv[1:])


def main():
    sys.stdout.reconfigure(line_buffering=True)  # keep the report in order with the log lines
    args = parse_args()
    ensure_root()
    problems = check_prerequisites(args)
    if problems:
        for p in problems:
            log('error: ' + p)
        return 2
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        workdir = os.path.abspath(args.keep)
    else:
        workdir = tempfile.mkdtemp(prefix='pv-vm-')
    try:
        return run(args, workdir)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def set_logs_aside(workdir, suffix):
    for name in ('serial.log', 'qemu-stderr.log', 'xvfb.log'):
        path = os.path.join(workdir, name)
        if os.path.exists(path):
            os.replace(path, path + suffix)


def boot(args, workdir):
    """Boots the VM once; again on TCG if an automatic KVM choice fails before /init, and once
    up to QEMU_TCG_RETRIES more times if QEMU aborts in its own TCG memory-map code
    (QEMU_TCG_ABORT)."""
    accel, why = pick_accel(args.accel)
    tcg_aborts = 0
    while True:
        vm = Vm(args, workdir, accel)
        check, renderer_label = renderer_checker(args, vm)
        log('booting the VM on %s (%s; limit %d s); logs in %s'
            % (accel, why, args.timeout, workdir))
        probing = args.accel == 'auto' and accel == 'kvm'
        lines = vm.run(check, args.kvm_init_limit if probing else None)
        if vm.kvm_failed:
            said = [l for l in tail(vm.stderr_log, 400).splitlines() if KVM_FAILURE.search(l)]
            log('KVM could not run the guest (QEMU: %s); retrying on TCG'
                % ('; '.join(said[:3]) or 'no /init within %g s' % args.kvm_init_limit))
            set_logs_aside(workdir, '.kvm-failed')
            accel, why = 'tcg', 'KVM failed before /init'
            continue
        if tcg_aborts < QEMU_TCG_RETRIES and QEMU_TCG_ABORT.search(tail(vm.stderr_log, 100000)):
            tcg_aborts += 1
            log('QEMU aborted in its own TCG code (%s); booting again (%d of %d), logs of the '
                'aborted boot kept as *.qemu-abort-%d'
                % (QEMU_TCG_ABORT.pattern, tcg_aborts, QEMU_TCG_RETRIES, tcg_aborts))
            set_logs_aside(workdir, '.qemu-abort-%d' % tcg_aborts)
            continue
        return vm, lines, renderer_label


def run(args, workdir):
    programs = [Program(p, os.path.basename(p)) for p in args.programs]
    vulkaninfo = None if args.no_vulkaninfo else \
        Program(args.vulkaninfo, 'vulkaninfo', ['--summary'])

    log('native runs on %s' % args.native_icd)
    for prog in programs:
        run_native(prog, args.native_icd, args.program_timeout)
        with open(os.path.join(workdir, 'native-%s.log' % prog.name), 'w') as f:
            f.write(prog.native_out)

    guest_programs = ([vulkaninfo] if vulkaninfo else []) + programs
    init_build_s = build_initramfs(args, guest_programs, workdir)
    vm, lines, renderer_label = boot(args, workdir)

    guest = GuestLog(lines, guest_programs)
    if vm.timed_out:
        vm.problems.append('the VM run passed the %d s limit and was killed' % args.timeout)
    if guest.init_ms is None:
        vm.problems.append('the guest never reached /init (no "PV-VM: INIT" on the serial console)')
    elif guest.done_ms is None:
        vm.problems.append('no "PV-VM: DONE" marker: the guest stopped before finishing')
    if guest.module_failures:
        vm.problems.append('guest module(s) failed to load: ' + ', '.join(guest.module_failures))
    if guest.render_node == 'none':
        vm.problems.append('the guest has no /dev/dri/renderD128 (virtio-gpu did not probe)')
    if pearvisor_renderer(args):
        vm.workers = check_workers(vm, guest_programs)
    if vulkaninfo:
        judge_guest(vulkaninfo, True)
    for prog in programs:
        judge_guest(prog, False)
        if args.guest_layer:
            check_guest_layer(prog)

    ok = not vm.problems and not any(p.problems for p in guest_programs)
    print_report(args, vm, guest, programs, vulkaninfo, init_build_s, renderer_label)
    write_results(os.path.join(workdir, 'results.json'), args, vm, guest, guest_programs, ok)
    if ok:
        print('PASS: %d program(s) match native in the VM' % len(programs))
        return 0
    for p in vm.problems:
        print('FAIL: ' + p)
    print('--- serial console (last 60 lines of %s)' % vm.serial_log)
    print(tail(vm.serial_log, 60), end='')
    print('--- QEMU stderr (last 40 lines of %s)' % vm.stderr_log)
    print(tail(vm.stderr_log, 40), end='')
    print('--- Xvfb (last 10 lines)')
    print(tail(vm.xvfb_log, 10), end='')
    print('FAIL (%s)' % ('logs kept in ' + workdir if args.keep else 'use --keep LOGDIR to keep the logs'))
    return 1


if __name__ == '__main__':
    sys.exit(main())
