#!/usr/bin/env python3
"""Builds the initramfs of the PearVisor test VM (see tests/vm/README.md).

The image holds a static busybox, the guest /init (tests/vm/guest-init.sh), the guest kernel's
virtio-gpu modules from the vm-setup cache, Mesa's venus driver with an ICD file that names it
by absolute path, and the given programs under /pv/bin/, each with its whole `ldd` closure
copied at the host's paths (symlinks kept, so /lib -> usr/lib style layouts stay intact).
With --guest-layer, PearVisor's guest wait layer and its manifest go under /pv/layer.
With --run-list, a second cpio archive carrying /pv/run.list is appended: the kernel unpacks
concatenated archives in order, so the per-run command list stays apart from the programs.

Python 3 standard library only; writes the newc cpio format itself (no cpio tool needed) with
fixed timestamps and owners, so the same inputs give the same image.
"""

import argparse
import gzip
import io
import json
import os
import re
import stat
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CACHE = os.environ.get('PV_VM_CACHE', '/var/cache/pearvisor-vm')
DEFAULT_VENUS_LIB = '/usr/lib/x86_64-linux-gnu/libvulkan_virtio.so'
GUEST_ICD = '/pv/virtio_icd.json'
# The guest wait layer (guest/), as the build tree lays it out; in the guest under
# GUEST_LAYER_DIR, which /init's environment puts in XDG_DATA_DIRS when the layer is there.
GUEST_LAYER_DIR = '/pv/layer'
LAYER_LIB = 'libVkLayer_pearvisor_fast_wait.so'
LAYER_MANIFEST = 'vulkan/implicit_layer.d/VkLayer_pearvisor_fast_wait.json'


class Image:
    """The files of one cpio archive, in the order they must be created (parents first)."""

    def __init__(self):
        self.entries = {}  # guest path -> (kind, payload, mode); kind: dir, file, link, chr

    def add_dir(self, path, mode=0o755):
        path = os.path.normpath(path)
        if path == '/' or path in self.entries:
            return
        self.add_dir(os.path.dirname(path))
        self.entries[path] = ('dir', None, mode)

    def add_data(self, path, data, mode=0o644):
        self.add_dir(os.path.dirname(path))
        self.entries[path] = ('file', data, mode)

    def add_symlink(self, path, target):
        self.add_dir(os.path.dirname(path))
        self.entries[path] = ('link', target.encode(), 0o777)

    def add_char_device(self, path, major, minor, mode=0o600):
        self.add_dir(os.path.dirname(path))
        self.entries[path] = ('chr', (major, minor), mode)

    def add_file_as(self, guest_path, host_path, mode=None):
        with open(host_path, 'rb') as f:
            data = f.read()
        if mode is None:
            mode = stat.S_IMODE(os.stat(host_path).st_mode)
        self.add_data(guest_path, data, mode)

    def add_host_path(self, path, depth=0):
        """Copies a host file to the same path in the image. Every symlink met on the way
        (in the directories or the file itself) is recreated, and its target added too."""
        if depth > 40:
            raise RuntimeError('symlink loop at ' + path)
        path = os.path.normpath(path)
        if path == '/':
            return '/'
        parent = self.add_host_path(os.path.dirname(path), depth + 1)
        here = os.path.join(parent, os.path.basename(path))
        if os.path.islink(here):
            target = os.readlink(here)
            if here not in self.entries:
                self.add_symlink(here, target)
            return self.add_host_path(os.path.join(parent, target), depth + 1)
        if os.path.isdir(here):
            self.add_dir(here)
        elif here not in self.entries:
            self.add_file_as(here, here)
        return here

    def cpio(self):
        """The archive in the newc format the kernel's initramfs unpacker reads."""
        out = io.BytesIO()
        for ino, (path, (kind, payload, mode)) in enumerate(self.entries.items(), start=1):
            data, rdev = b'', (0, 0)
            if kind == 'dir':
                mode |= stat.S_IFDIR
            elif kind == 'file':
                mode |= stat.S_IFREG
                data = payload
            elif kind == 'link':
                mode |= stat.S_IFLNK
                data = payload
            else:
                mode |= stat.S_IFCHR
                rdev = payload
            nlink = 2 if kind == 'dir' else 1
            write_cpio_entry(out, path.lstrip('/'), ino, mode, nlink, data, rdev)
        write_cpio_entry(out, 'TRAILER!!!', 0, 0, 1, b'', (0, 0))
        return out.getvalue()


def write_cpio_entry(out, name, ino, mode, nlink, data, rdev):
    name_bytes = name.encode() + b'\0'
    fields = [ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_bytes), 0]
    out.write(b'070701' + b''.join(b'%08X' % v for v in fields))
    out.write(name_bytes)
    out.write(b'\0' * (-(110 + len(name_bytes)) % 4))
    out.write(data)
    out.write(b'\0' * (-len(data) % 4))


def ldd_closure(binary):
    """Every shared object `ldd` says binary loads, interpreter included (ldd's list is
    already transitive). A static binary has none."""
    res = subprocess.run(['ldd', binary], capture_output=True, text=True)
    if res.returncode != 0:
        if 'not a dynamic executable' in res.stdout + res.stderr:
            return []
        raise RuntimeError('ldd %s failed: %s' % (binary, res.stderr.strip()))
    libs = []
    for line in res.stdout.splitlines():
        if 'not found' in line:
            raise RuntimeError('%s: a library is missing on this host: %s' % (binary, line.strip()))
        m = re.search(r'(?:=>\s*)?(/\S+)\s+\(0x', line)
        if m:
            libs.append(m.group(1))
    return libs


def guest_icd(venus_lib, host_icd):
    """The venus ICD file for the guest: the host's, with the library named by absolute path so
    the guest (no ld.so.cache) finds it without any LD_LIBRARY_PATH."""
    with open(host_icd) as f:
        icd = json.load(f)
    icd['ICD']['library_path'] = venus_lib
    return (json.dumps(icd, indent=4) + '\n').encode()


def guest_layer_manifest(host_manifest):
    """The layer's manifest with its library at the guest's path (a build tree's names the
    library by its absolute host path)."""
    with open(host_manifest) as f:
        manifest = json.load(f)
    manifest['layer']['library_path'] = os.path.join(GUEST_LAYER_DIR, LAYER_LIB)
    return (json.dumps(manifest, indent=4) + '\n').encode()


def build_base(args):
    img = Image()
    for d in ('/dev', '/proc', '/sys', '/tmp', '/bin', '/pv/bin', '/pv/modules'):
        img.add_dir(d)
    # The kernel opens /dev/console for /init's stdio before /init can mount devtmpfs.
    img.add_char_device('/dev/console', 5, 1)
    img.add_file_as('/bin/busybox', args.busybox, 0o755)
    img.add_file_as('/init', args.init, 0o755)

    kernel_dir = os.path.join(args.cache, 'kernel')
    with open(os.path.join(kernel_dir, 'load-order')) as f:
        modules = f.read().split()
    for name in modules:
        img.add_file_as('/pv/modules/%s.ko' % name, os.path.join(kernel_dir, 'modules', name + '.ko'),
                        0o644)
    img.add_data('/pv/modules/load-order', ('\n'.join(modules) + '\n').encode())

    img.add_host_path(args.venus_lib)
    img.add_data(GUEST_ICD, guest_icd(os.path.realpath(args.venus_lib), args.venus_icd))
    objects = [args.venus_lib]
    for program in args.programs:
        name = os.path.basename(program)
        if ('/pv/bin/' + name) in img.entries:
            raise RuntimeError('two programs named %s' % name)
        img.add_file_as('/pv/bin/' + name, program, 0o755)
        objects.append(program)
    if args.guest_layer:
        layer_lib = os.path.join(args.guest_layer, LAYER_LIB)
        img.add_file_as(os.path.join(GUEST_LAYER_DIR, LAYER_LIB), layer_lib, 0o755)
        img.add_data(os.path.join(GUEST_LAYER_DIR, LAYER_MANIFEST),
                     guest_layer_manifest(os.path.join(args.guest_layer, LAYER_MANIFEST)))
        objects.append(layer_lib)
    for obj in objects:
        for lib in ldd_closure(obj):
            img.add_host_path(lib)
    return img


def build_run_archive(run_list, env_file):
    img = Image()
    img.add_file_as('/pv/run.list', run_list, 0o644)
    if env_file:
        img.add_file_as('/pv/env', env_file, 0o644)
    return img


def compress(data, how):
    return gzip.compress(data, compresslevel=6, mtime=0) if how == 'gzip' else data


def main():
    ap = argparse.ArgumentParser(
        description='Builds the initramfs of the PearVisor test VM: busybox, the guest /init, '
                    'the virtio-gpu modules, Mesa venus and PROGRAMs (under /pv/bin) with their '
                    'ldd closure.')
    ap.add_argument('programs', nargs='+', metavar='PROGRAM', help='executables to put in /pv/bin')
    ap.add_argument('--out', required=True, help='the initramfs file to write')
    ap.add_argument('--cache', default=DEFAULT_CACHE,
                    help='the scripts/vm-setup.sh cache (default %(default)s)')
    ap.add_argument('--run-list', metavar='FILE',
                    help='append a second archive with FILE as /pv/run.list (one line per '
                         'program: NAME<TAB>TIMEOUT_S<TAB>COMMAND, see tests/vm/guest-init.sh)')
    ap.add_argument('--env-file', metavar='FILE',
                    help='with --run-list: also FILE as /pv/env, sourced by /init before the '
                         'programs run (e.g. "export VN_DEBUG=all" lines)')
    ap.add_argument('--init', default=os.path.join(ROOT, 'tests', 'vm', 'guest-init.sh'),
                    help='the guest /init script (default %(default)s)')
    ap.add_argument('--busybox', help='static busybox (default: the one in the cache\'s chroot)')
    ap.add_argument('--venus-lib', default=DEFAULT_VENUS_LIB,
                    help='Mesa venus driver for the guest (default %(default)s)')
    ap.add_argument('--venus-icd', default='/usr/share/vulkan/icd.d/virtio_icd.json',
                    help='its ICD file (default %(default)s); the guest gets a copy at ' + GUEST_ICD)
    ap.add_argument('--compress', choices=('gzip', 'none'), default='gzip',
                    help='archive compression (default %(default)s)')
    ap.add_argument('--guest-layer', metavar='DIR',
                    help='also put the guest wait layer under %s: DIR holds %s and %s '
                         '(the build tree\'s guest/ folder)' % (GUEST_LAYER_DIR, LAYER_LIB,
                                                               LAYER_MANIFEST))
    args = ap.parse_args()
    args.busybox = args.busybox or os.path.join(args.cache, 'chroot', 'usr', 'bin', 'busybox')

    if args.env_file and not args.run_list:
        sys.exit('vm-initramfs: --env-file goes in the --run-list archive; give both')
    for path in [args.busybox, args.init, args.venus_lib, args.venus_icd,
                 os.path.join(args.cache, 'kernel', 'load-order')] + args.programs + (
                     [os.path.join(args.guest_layer, rel) for rel in (LAYER_LIB, LAYER_MANIFEST)]
                     if args.guest_layer else []):
        if not os.path.exists(path):
            sys.exit('vm-initramfs: missing %s (run scripts/vm-setup.sh? make build?)' % path)
    try:
        image = compress(build_base(args).cpio(), args.compress)
        if args.run_list:
            image += compress(build_run_archive(args.run_list, args.env_file).cpio(),
                              args.compress)
    except (OSError, RuntimeError) as e:
        sys.exit('vm-initramfs: %s' % e)
    tmp = args.out + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(image)
    os.replace(tmp, args.out)
    print('vm-initramfs: wrote %s (%.1f MB)' % (args.out, len(image) / 1e6), file=sys.stderr)


if __name__ == '__main__':
    main()
