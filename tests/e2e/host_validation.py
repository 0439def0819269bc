#!/usr/bin/env python3
"""End-to-end: the host side is valid Vulkan. `pearvisor serve` with PV_DEBUG=validate (the
Khronos validation layer on every host instance, its messages in the server's log) serves
every GPU program and `vulkaninfo --summary` as guests; any "validation:" error fails the
test, and so does a program whose checksum differs from its native run.

The one error let through: a layer older than our registry calls a struct of a newer
extension an "unknown VkStructureType" in a pNext chain (Debian 12's layer is 1.3.239, our
vk.xml 1.4.309). Only sTypes that vk.xml defines pass; any other unknown value still fails.

usage: host_validation.py PEARVISOR HOST_ICD VENUS_ICD VK_XML PROGRAM...
"""

import os
import re
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import Server, run_checked  # noqa: E402
from gpu_program import checksum  # noqa: E402

VALIDATION_ERROR = 'error: validation:'
UNKNOWN_STYPE = re.compile(r'\[ VUID-\w+-pNext-pNext \].*unknown VkStructureType \((\d+)\)')


def registry_stypes(vk_xml):
    """Every VkStructureType value vk.xml defines, core and extension ones."""
    root = ET.parse(vk_xml).getroot()
    values = {int(e.get('value')) for enums in root.findall('enums')
              if enums.get('name') == 'VkStructureType' for e in enums.findall('enum')
              if e.get('value')}
    for part in root.findall('feature') + list(root.find('extensions')):
        for e in part.iter('enum'):
            if e.get('extends') != 'VkStructureType':
                continue
            if e.get('offset') is not None:
                number = int(e.get('extnumber') or part.get('number'))
                values.add(1000000000 + (number - 1) * 1000 + int(e.get('offset')))
            elif e.get('value') is not None:
                values.add(int(e.get('value')))
    return values


def too_old_layer(line, stypes):
    """Whether the error is only the layer not knowing a struct vk.xml has."""
    m = UNKNOWN_STYPE.search(line)
    return bool(m) and int(m.group(1)) in stypes


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
    pearvisor, host_icd, venus_icd, vk_xml = sys.argv[1:5]
    programs = sys.argv[5:]
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
    stypes = registry_stypes(vk_xml)
    newer = sorted({UNKNOWN_STYPE.search(line).group(1) for line in errors
                    if too_old_layer(line, stypes)})
    if newer:
        print('explained: the layer does not know these sTypes of vk.xml: ' + ', '.join(newer))
    errors = [line for line in errors if not too_old_layer(line, stypes)]
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
