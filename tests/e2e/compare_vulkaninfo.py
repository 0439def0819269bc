#!/usr/bin/env python3
"""End-to-end: vulkaninfo's JSON profile of lavapipe, native and through PearVisor (the stock
Mesa venus guest), compared field by field. Every difference must be one the documented
filtering explains; anything else fails the test.

usage: compare_vulkaninfo.py PEARVISOR HOST_ICD VENUS_ICD WORKDIR
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import run_checked  # noqa: E402

# Extensions the stock guest hides over vtest on its own (pitfalls.md #14) or implements
# itself on top of others (WSI), and those PearVisor does not offer: the Venus protocol of
# Mesa 25 cannot carry them, or they would hand out fds we cannot back (docs/protocol.md).
GUEST_HIDDEN = {'VK_KHR_swapchain', 'VK_KHR_synchronization2', 'VK_KHR_incremental_present',
                'VK_KHR_swapchain_mutable_format', 'VK_EXT_swapchain_maintenance1'}

# Properties the guest reports about itself rather than the host (vn_physical_device.c).
GUEST_OWN_PROPERTIES = {
    'VkPhysicalDeviceProperties': {'apiVersion', 'driverVersion', 'deviceName',
                                   'pipelineCacheUUID'},
    'VkPhysicalDeviceDriverProperties': {'driverID', 'driverName', 'driverInfo',
                                         'conformanceVersion'},
    'VkPhysicalDeviceVulkan12Properties': {'driverID', 'driverName', 'driverInfo',
                                           'conformanceVersion'},
    'VkPhysicalDeviceIDProperties': {'deviceUUID', 'driverUUID', 'deviceLUID',
                                     'deviceLUIDValid', 'deviceNodeMask'},
    'VkPhysicalDeviceVulkan11Properties': {'deviceUUID', 'driverUUID', 'deviceLUID',
                                           'deviceLUIDValid', 'deviceNodeMask'},
}


def profile(cmd, env, workdir, name):
    out = os.path.join(workdir, name + '.json')
    run_checked(cmd + ['--json', '-o', out], env, 120)
    with open(out) as f:
        return json.load(f)['capabilities']['device']


def offered_extensions(pearvisor):
    """The extensions PearVisor's protocol offers, from `pearvisor info --protocol`."""
    text = subprocess.run([pearvisor, 'info', '--protocol', '--verbose'], check=True,
                          capture_output=True, text=True).stdout
    return text


def compare(native, venus, notes):
    problems = []
    n_ext, v_ext = set(native['extensions']), set(venus['extensions'])
    for ext in sorted(v_ext - n_ext):
        problems.append('extension %s appears only through PearVisor' % ext)
    for ext in sorted(n_ext - v_ext):
        notes.setdefault('extensions filtered', []).append(ext)
    for ext in sorted(n_ext & v_ext):
        if venus['extensions'][ext] > native['extensions'][ext]:
            problems.append('%s spec version grew' % ext)

    for section in ('properties', 'features'):
        for struct, fields in native[section].items():
            if struct not in venus[section]:
                notes.setdefault(section + ' structs absent (extension or version '
                                 'filtered)', []).append(struct)
                continue
            vfields = venus[section][struct]
            for field, value in fields.items():
                allowed = GUEST_OWN_PROPERTIES.get(struct, set())
                if field not in vfields:
                    problems.append('%s.%s missing through PearVisor' % (struct, field))
                elif vfields[field] != value and field not in allowed:
                    if section == 'features' and value is True and vfields[field] is False:
                        # The guest turns off features it cannot serve over vtest.
                        notes.setdefault('features the guest turns off', []).append(
                            '%s.%s' % (struct, field))
                        continue
                    problems.append('%s.%s: native %r, PearVisor %r' % (
                        struct, field, value, vfields[field]))
        for struct in venus[section]:
            if struct not in native[section]:
                problems.append('%s only through PearVisor' % struct)

    if native.get('queueFamiliesProperties') != venus.get('queueFamiliesProperties'):
        problems.append('queue families differ')
    if native.get('formats') != venus.get('formats'):
        for fmt, props in native.get('formats', {}).items():
            if venus.get('formats', {}).get(fmt) != props:
                problems.append('format %s differs' % fmt)
    return problems


def main():
    pearvisor, host_icd, venus_icd, workdir = sys.argv[1:5]
    os.makedirs(workdir, exist_ok=True)
    env = dict(os.environ, VK_DRIVER_FILES=host_icd, VK_ICD_FILENAMES=host_icd)
    native = profile(['vulkaninfo'], env, workdir, 'native')
    venus = profile([pearvisor, 'run', '--icd', host_icd, '--venus-icd', venus_icd, '--',
                     'vulkaninfo'], os.environ, workdir, 'pearvisor')
    name = venus['properties']['VkPhysicalDeviceProperties']['deviceName']
    native_name = native['properties']['VkPhysicalDeviceProperties']['deviceName']
    if name != 'Virtio-GPU Venus (%s)' % native_name:
        print('FAIL: device name %r' % name)
        return 1
    api = venus['properties']['VkPhysicalDeviceProperties']['apiVersion']
    if api >> 22 != 1 or (api >> 12) & 0x3ff > 2:
        print('FAIL: the guest should cap the device at Vulkan 1.2, got %x' % api)
        return 1
    notes = {}
    problems = compare(native, venus, notes)
    for what, items in notes.items():
        print('explained: %s: %d: %s' % (what, len(items), ', '.join(items)))
    for p in problems:
        print('UNEXPLAINED: ' + p)
    print('%s: %d unexplained differences' % ('FAIL' if problems else 'PASS', len(problems)))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
