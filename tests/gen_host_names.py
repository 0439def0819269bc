#!/usr/bin/env python3
"""The generated host entry-point loader asks for the guest protocol's name of a command first.

pv_vk_table_load keeps the first name the Vulkan loader answers. A loader older than our
registry answers a name it does not know (vkGetCalibratedTimestampsKHR, vkCmdSetLineStipple, ...)
with a trampoline to the device's entry of that very name, and a driver fills that entry only
for extensions the guest enabled, which are those of the guest's protocol. So whenever one of a
command's names is a protocol name, a protocol name must be asked for first; otherwise the call
lands in the loader's "Bad destination" stub and fails.

usage: gen_host_names.py VENUS_COMMAND_TYPES_TSV PV_RENDER_FORWARD_GEN_C
"""

import re
import sys


def protocol_names(tsv):
    with open(tsv) as f:
        return {line.split('\t')[1].strip() for line in f
                if line.strip() and not line.startswith('#')}


def loader_groups(source):
    """[(table field, [names asked for, in order])] from pv_vk_table_load."""
    with open(source) as f:
        text = f.read()
    body = text[text.index('void pv_vk_table_load('):]
    body = body[:body.index('\n}\n')]
    groups, names = [], []
    for line in body.splitlines():
        m = re.search(r'gipa\(instance, "(\w+)"\)', line)
        if m:
            names.append(m.group(1))
        m = re.match(r'\s*t->(\w+) = ', line)
        if m:
            groups.append((m.group(1), names))
            names = []
    return groups


def main():
    protocol = protocol_names(sys.argv[1])
    groups = loader_groups(sys.argv[2])
    wrong = [(field, names) for field, names in groups
             if any(n in protocol for n in names) and names[0] not in protocol]
    aliased = sum(len(names) > 1 for _, names in groups)
    print('%d entry points, %d with aliases, %d asked for by a name the guest does not use first'
          % (len(groups), aliased, len(wrong)))
    for field, names in wrong:
        print('  %s: asks for %s' % (field, ' then '.join(names)))
    if not groups or wrong:
        print('FAIL')
        return 1
    print('PASS')
    return 0


if __name__ == '__main__':
    sys.exit(main())
