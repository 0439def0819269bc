#!/usr/bin/env python3
"""End-to-end: vulkaninfo's JSON profile of lavapipe, native and through PearVisor (the stock
Mesa venus guest), compared field by field. Every difference must be one the documented
filtering explains; anything else fails the test. Every device extension `pearvisor info
--protocol` says is offered must reach the guest, unless the guest hides it itself.

usage: compare_vulkaninfo.py PEARVISOR HOST_ICD VENUS_ICD VK_XML WORKDIR
"""

import json
import os
import re
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import run_checked  # noqa: E402

# Extensions the stock guest hides over vtest on its own (docs/protocol/pitfalls.md #14) or
# implements itself on top of others (WSI), and those PearVisor does not offer: the Venus
# protocol of Mesa 25 cannot carry them, or they would hand out fds we cannot back
# (docs/protocol/venus.md §10).
GUEST_HIDDEN = {'VK_KHR_swapchain', 'VK_KHR_synchronization2', 'VK_KHR_incremental_present',
                'VK_KHR_swapchain_mutable_format', 'VK_EXT_swapchain_maintenance1',
                # shown only under VN_DEBUG=mem_budget (vn_physical_device.c)
                'VK_EXT_memory_budget'}

# Extensions lavapipe has, the guest's protocol knows and our decoder carries, which the
# 1.3.239 registry we once generated from did not let through (virglrenderer offers them).
MUST_REACH_GUEST = {'VK_KHR_maintenance5', 'VK_EXT_dynamic_rendering_unused_attachments',
                    'VK_EXT_queue_family_foreign'}

# Extensions the guest implements itself, whatever the host has (vn_physical_device.c).
GUEST_IMPLEMENTED = {'VK_EXT_device_memory_report', 'VK_EXT_physical_device_drm',
                     'VK_EXT_tooling_info'}

# The guest disables sparse binding on lavapipe ("TODO: Fix sparse binding on lavapipe",
# vn_physical_device.c), zeroing these with it.
GUEST_SPARSE_OFF = {'sparseAddressSpaceSize', 'sparseProperties', 'sparseBinding',
                    'sparseResidencyBuffer', 'sparseResidencyImage2D', 'sparseResidencyImage3D',
                    'sparseResidencyAliased'}

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


def struct_origins(vk_xml):
    """Struct name -> the extension or core version that introduced it."""
    root = ET.parse(vk_xml).getroot()
    origin = {}
    for f in root.findall('feature'):
        for t in f.iter('type'):
            origin.setdefault(t.get('name'), f.get('name'))
    for x in root.find('extensions'):
        for t in x.iter('type'):
            origin.setdefault(t.get('name'), x.get('name'))
    return origin


def canonical(name):
    """vulkaninfo names a struct by the alias of the API version it sees: at 1.2 (the
    guest) a 1.3-core struct shows up under its KHR/EXT name."""
    return re.sub(r'(KHR|EXT)$', '', name)


def canonical_map(structs):
    return {canonical(k): v for k, v in structs.items()}


def compare_fields(path, native, venus, allowed, notes, problems):
    for field, value in native.items():
        where = '%s.%s' % (path, field)
        if field not in venus:
            problems.append('%s missing through PearVisor' % where)
        elif isinstance(value, dict) and isinstance(venus[field], dict) and \
                field not in allowed:
            compare_fields(where, value, venus[field], allowed, notes, problems)
        elif venus[field] != value:
            if field in allowed:
                notes.setdefault('reported by the guest itself', []).append(where)
            else:
                problems.append('%s: native %r, PearVisor %r' % (where, value, venus[field]))


def compare_structs(kind, what, native, venus, origin, venus_exts, notes, problems):
    n, v = canonical_map(native), canonical_map(venus)
    names = {canonical(k): k for k in list(native) + list(venus)}
    for key in sorted(set(n) | set(v)):
        name = names[key]
        ext = origin.get(name) or origin.get(key)
        if key not in v:
            if ext and (ext.startswith('VK_VERSION_1_3') or ext not in venus_exts):
                notes.setdefault('%s absent: extension or version not offered' % kind,
                                 []).append(name)
            else:
                problems.append('%s %s missing through PearVisor (from %s)' % (what, name, ext))
        elif key not in n:
            if ext in GUEST_IMPLEMENTED:
                notes.setdefault('%s of extensions the guest implements' % kind,
                                 []).append(name)
            else:
                problems.append('%s %s only through PearVisor' % (what, name))
        else:
            allowed = GUEST_OWN_PROPERTIES.get(canonical(name), set()) | GUEST_SPARSE_OFF
            compare_fields('%s %s' % (what, name), n[key], v[key], allowed, notes, problems)


def offered_extensions(pearvisor, host_icd):
    """The device extensions `pearvisor info --protocol` says the guest is offered."""
    out = run_checked([pearvisor, 'info', '--protocol', '--icd', host_icd], os.environ, 60)
    return {f[2] for f in (line.split() for line in out.splitlines())
            if f[:2] == ['offered', 'device']}


def compare(native, venus, origin, offered, notes):
    problems = []
    n_ext, v_ext = set(native['extensions']), set(venus['extensions'])
    for ext in sorted(v_ext - n_ext):
        if ext in GUEST_IMPLEMENTED:
            notes.setdefault('extensions the guest implements itself', []).append(ext)
        else:
            problems.append('extension %s appears only through PearVisor' % ext)
    for ext in sorted(n_ext - v_ext):
        if ext in GUEST_HIDDEN:
            notes.setdefault('extensions hidden by the guest over vtest', []).append(ext)
        elif ext in offered or ext in MUST_REACH_GUEST:
            problems.append('extension %s is offered but does not reach the guest' % ext)
        else:
            notes.setdefault('extensions not offered by PearVisor (see pearvisor info '
                             '--protocol)', []).append(ext)
    for ext in sorted(MUST_REACH_GUEST - n_ext):
        notes.setdefault('extensions that must reach the guest, which the host lacks',
                         []).append(ext)
    for ext in sorted(n_ext & v_ext):
        if venus['extensions'][ext] > native['extensions'][ext]:
            problems.append('%s spec version grew' % ext)

    for section in ('properties', 'features'):
        compare_structs(section, section, native[section], venus[section], origin, v_ext,
                        notes, problems)
    nq, vq = native['queueFamiliesProperties'], venus['queueFamiliesProperties']
    if len(nq) != len(vq):
        problems.append('%d queue families natively, %d through PearVisor' % (len(nq), len(vq)))
    for i, (a, b) in enumerate(zip(nq, vq)):
        compare_structs('queue family', 'queue family %d' % i, a, b, origin, v_ext, notes,
                        problems)
    for fmt, props in native['formats'].items():
        if fmt not in venus['formats']:
            problems.append('format %s missing through PearVisor' % fmt)
        else:
            compare_structs('format', 'format %s' % fmt, props, venus['formats'][fmt], origin,
                            v_ext, notes, problems)
    return problems


def main():
    pearvisor, host_icd, venus_icd, vk_xml, workdir = sys.argv[1:6]
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
    offered = offered_extensions(pearvisor, host_icd)
    problems = compare(native, venus, struct_origins(vk_xml), offered, notes)
    for what, items in notes.items():
        items = sorted(set(items))
        print('explained: %s: %d: %s' % (what, len(items), ', '.join(items)))
    for p in problems:
        print('UNEXPLAINED: ' + p)
    print('%s: %d unexplained differences' % ('FAIL' if problems else 'PASS', len(problems)))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
