#!/usr/bin/env python3
"""End-to-end: the guest layer VK_LAYER_PEARVISOR_fast_wait (guest/, docs/guest-layer.md).

usage: guest_layer.py MODE PEARVISOR HOST_ICD VENUS_ICD LAYER_DIR PROGRAM...

LAYER_DIR is the data folder holding vulkan/implicit_layer.d/VkLayer_pearvisor_fast_wait.json.
MODE:
  semantics   PROGRAM (pv-wait-semantics) natively with the layer enabled (it must pass
              through), through PearVisor with the layer (active) and without: all must pass.
  programs    each GPU program through PearVisor with the layer (active): its checksum must
              equal the native one.
  validation  the same with the Khronos validation layer stacked under ours: no validation
              error may be reported. Programs that print no CHECKSUM line only have to pass.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import run_checked_output as run  # noqa: E402

ACTIVE = 'fast_wait: active on '
PASS_THROUGH = 'fast_wait: pass-through on '
VALIDATION = 'VK_LAYER_KHRONOS_validation'



def checksum(out):
    sums = [line.split()[1] for line in out.splitlines() if line.startswith('CHECKSUM ')]
    return sums[0] if len(sums) == 1 else None


def layer_lines(err):
    return [line for line in err.splitlines() if line.startswith('fast_wait: ')]


def expect_layer(what, err, want):
    """want: ACTIVE, PASS_THROUGH or None (no layer at all)."""
    lines = layer_lines(err)
    if want is None:
        ok = not lines
    else:
        ok = bool(lines) and all(line.startswith(want) for line in lines)
        if want == ACTIVE:
            ok = ok and all(line.endswith('(venus)') for line in lines)
    print('%s: layer says %s' % (what, lines or 'nothing'))
    if not ok:
        raise RuntimeError('%s: expected %s, stderr:\n%s' % (what, want or 'no layer line',
                                                             err[-4000:]))


class Env:
    def __init__(self, pearvisor, host_icd, venus_icd, layer_dir):
        self.pearvisor, self.host_icd, self.venus_icd = pearvisor, host_icd, venus_icd
        base = dict(os.environ, PEARVISOR_FAST_WAIT_DEBUG='1')
        for name in ('PEARVISOR_FAST_WAIT', 'PEARVISOR_NO_FAST_WAIT', 'VK_INSTANCE_LAYERS'):
            base.pop(name, None)
        self.base = base
        data_dirs = os.environ.get('XDG_DATA_DIRS') or '/usr/local/share:/usr/share'
        # Natively: the layer enabled exactly as in a guest, on the host driver.
        self.native_layer = dict(base, VK_DRIVER_FILES=host_icd, VK_ICD_FILENAMES=host_icd,
                                 PEARVISOR_FAST_WAIT='1',
                                 XDG_DATA_DIRS=layer_dir + ':' + data_dirs)
        self.native = dict(base, VK_DRIVER_FILES=host_icd, VK_ICD_FILENAMES=host_icd)

    def guest(self, program, layer=True, guest_env=()):
        """guest_env: NAME=VALUE settings for the guest alone (through env(1)), not the
        server, which would otherwise stack them on the host driver too."""
        cmd = [self.pearvisor, 'run', '--icd', self.host_icd, '--venus-icd', self.venus_icd]
        if not layer:
            cmd.append('--no-guest-layer')
        cmd.append('--')
        if guest_env:
            cmd += ['env'] + list(guest_env)
        return run(cmd + [program], self.base, 300)


def semantics(e, programs):
    program = programs[0]
    name = os.path.basename(program)
    _, err = run([program], e.native_layer, 120)
    expect_layer(name + ' natively', err, PASS_THROUGH)
    _, err = e.guest(program)
    expect_layer(name + ' through PearVisor', err, ACTIVE)
    _, err = e.guest(program, layer=False)
    expect_layer(name + ' through PearVisor, --no-guest-layer', err, None)


def validation_errors(out, err):
    return [line for line in (out + err).splitlines()
            if 'Validation Error' in line or 'VUID-' in line]


def programs_run(e, programs, validate):
    failed = []
    for program in programs:
        name = os.path.basename(program)
        native = checksum(run([program], e.native, 120)[0])
        guest_env = []
        if validate:
            # Loader messages name the layers it inserts: proof that validation is in the chain.
            guest_env = ['VK_INSTANCE_LAYERS=' + VALIDATION, 'VK_LOADER_DEBUG=layer']
        out, err = e.guest(program, guest_env=guest_env)
        expect_layer(name, err, ACTIVE)
        if validate:
            if not any('Insert instance layer' in line and VALIDATION in line
                       for line in err.splitlines()):
                raise RuntimeError('%s: the validation layer was not loaded:\n%s' % (
                    name, err[-4000:]))
            errors = validation_errors(out, err)
            if errors:
                print('%s: %d validation messages, the first:\n  %s' % (
                    name, len(errors), '\n  '.join(errors[:5])))
                failed.append(name)
        layered = checksum(out)
        print('%s: native %s, through PearVisor with the layer %s' % (name, native, layered))
        if native != layered:
            failed.append(name)
    return failed


def main():
    mode = sys.argv[1]
    e = Env(*sys.argv[2:6])
    programs = sys.argv[6:]
    if mode == 'semantics':
        semantics(e, programs)
        failed = []
    elif mode in ('programs', 'validation'):
        failed = programs_run(e, programs, mode == 'validation')
    else:
        print('unknown mode ' + mode)
        return 2
    if failed:
        print('FAIL: ' + ', '.join(failed))
        return 1
    print('PASS')
    return 0


if __name__ == '__main__':
    sys.exit(main())
