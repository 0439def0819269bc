#!/usr/bin/env python3
"""End-to-end: `pearvisor info --protocol` lists every extension of the guest's protocol once,
each classed as the renderer classes it: offered exactly when the decoder carries it and the
host (lavapipe) has it, at the lower of the two spec versions; not carried with a reason.

usage: info_protocol.py PEARVISOR HOST_ICD EXTENSIONS_TSV
"""

import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import run_checked  # noqa: E402

LINE = re.compile(r'^  (offered|host lacks|not carried)\s+(instance|device)\s+(\S+)(?:\s+(.*))?$')
SUMMARY = re.compile(r'^  (\d+) extensions: (\d+) offered, (\d+) host lacks, (\d+) not carried$')

# On lavapipe: what an older registry kept from the guest, and what hands out fds.
MUST_BE_OFFERED = {'VK_KHR_maintenance5', 'VK_EXT_dynamic_rendering_unused_attachments',
                   'VK_EXT_queue_family_foreign'}
MUST_NOT_BE_CARRIED = {'VK_KHR_external_memory_fd', 'VK_EXT_external_memory_dma_buf',
                       'VK_KHR_external_semaphore_fd', 'VK_KHR_external_fence_fd'}


def protocol_extensions(tsv):
    """name -> spec version, from the guest protocol's extension table."""
    exts = {}
    with open(tsv) as f:
        for line in f:
            if line.startswith('#') or not line.strip():
                continue
            _, name, spec = line.rstrip('\n').split('\t')[:3]
            exts[name] = int(spec)
    return exts


def native_device_extensions(host_icd):
    env = dict(os.environ, VK_DRIVER_FILES=host_icd, VK_ICD_FILENAMES=host_icd)
    with tempfile.TemporaryDirectory(prefix='pv-info-') as d:
        out = os.path.join(d, 'native.json')
        run_checked(['vulkaninfo', '--json', '-o', out], env, 120)
        with open(out) as f:
            return json.load(f)['capabilities']['device']['extensions']


def check_listing(out, protocol, native, problems):
    rows = {}
    summary = None
    for line in out.splitlines():
        m = LINE.match(line)
        if m:
            status, kind, name, detail = m.groups()
            if name in rows:
                problems.append('%s listed twice' % name)
            rows[name] = (status, kind, detail)
        elif SUMMARY.match(line):
            summary = [int(x) for x in SUMMARY.match(line).groups()]
    for name in sorted(set(protocol) - set(rows)):
        problems.append('%s of the protocol is not listed' % name)
    for name in sorted(set(rows) - set(protocol)):
        problems.append('%s is listed but not in the protocol' % name)
    counts = [len(rows)] + [sum(1 for r in rows.values() if r[0] == s)
                            for s in ('offered', 'host lacks', 'not carried')]
    if summary != counts:
        problems.append('summary %s, lines count %s' % (summary, counts))
    for name, (status, kind, detail) in sorted(rows.items()):
        if status == 'not carried' and not detail:
            problems.append('%s: not carried, no reason given' % name)
        if kind != 'device' or status == 'not carried':
            continue
        if status == 'host lacks' and name in native:
            problems.append('%s: "host lacks", but the host has it' % name)
        if status == 'offered':
            want = 'spec %d' % min(native.get(name, 0), protocol[name])
            if name not in native:
                problems.append('%s: offered, but the host lacks it' % name)
            elif detail != want:
                problems.append('%s: offered with %r, expected %r' % (name, detail, want))
    for name in sorted(MUST_BE_OFFERED):
        if rows.get(name, ('?',))[0] != 'offered':
            problems.append('%s: %s, should be offered on lavapipe' % (
                name, rows.get(name, ('missing',))[0]))
    for name in sorted(MUST_NOT_BE_CARRIED):
        if rows.get(name, ('?',))[0] != 'not carried':
            problems.append('%s: should not be carried' % name)
    return counts


def main():
    pearvisor, host_icd, tsv = sys.argv[1:4]
    problems = []
    help_text = run_checked([pearvisor, 'info', '--help'], os.environ, 30)
    for word in ('--protocol', '--device', 'offered', 'host lacks', 'not carried'):
        if word not in help_text:
            problems.append('info --help does not explain %s' % word)
    out = run_checked([pearvisor, 'info', '--protocol', '--icd', host_icd], os.environ, 60)
    counts = check_listing(out, protocol_extensions(tsv), native_device_extensions(host_icd),
                           problems)
    for args in (['--protocol', '--device', '99'], ['--protocol', '--device', 'x'],
                 ['--device', '0']):
        proc = subprocess.run([pearvisor, 'info', '--icd', host_icd] + args, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        if proc.returncode == 0 or '--device' not in proc.stderr:
            problems.append('info %s: exit %d, stderr %r' % (' '.join(args), proc.returncode,
                                                             proc.stderr[-300:]))
    for p in problems:
        print('FAIL: ' + p)
    print('%s: %d extensions listed (%d offered, %d host lacks, %d not carried), %d problems' % (
        'FAIL' if problems else 'PASS', *counts, len(problems)))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
