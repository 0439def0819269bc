#!/usr/bin/env python3
"""End-to-end: `pearvisor bench --quick` on lavapipe; every workload must produce validated
results on both paths with equal checksums, and the report must hold the statistics.

usage: bench_quick.py PEARVISOR HOST_ICD VENUS_ICD WORKDIR
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import run_checked  # noqa: E402

PHASES = {'create', 'clear', 'batch', 'draw', 'compute', 'transfer_up', 'transfer_down',
          'latency'}


def main():
    pearvisor, host_icd, venus_icd, workdir = sys.argv[1:5]
    os.makedirs(workdir, exist_ok=True)
    report = os.path.join(workdir, 'bench.json')
    out = run_checked([pearvisor, 'bench', '--quick', '--native-icd', host_icd, '--venus-icd',
                       venus_icd, '--json', report], os.environ, 600)
    print(out)
    with open(report) as f:
        data = json.load(f)
    seen = {w['name']: w for w in data['workloads']}
    problems = ['%s missing' % p for p in sorted(PHASES - set(seen))]
    for name, w in seen.items():
        if not w['valid']:
            problems.append('%s failed: %s' % (name, w['failure']))
            continue
        n, v = w['native'], w['virtualized']
        if n['checksum'] != v['checksum']:
            problems.append('%s checksums differ' % name)
        if 'Virtio-GPU Venus' not in v['device'] or 'Venus' in n['device']:
            problems.append('%s ran on the wrong path: %s / %s' % (name, n['device'],
                                                                   v['device']))
        for path in (n, v):
            if not (path['iterations'] > 0 and 0 < path['min_ns'] <= path['median_ns'] <=
                    path['p99_ns'] <= path['max_ns'] and path['throughput'] > 0 and
                    len(path['repetition_medians_ns']) == 2):
                problems.append('%s statistics inconsistent: %r' % (name, path))
        # CPU accounting: both paths report the guest's, only the virtualized path a server's.
        if not (n['cpu_per_iteration_ns'] or 0) > 0 or not (v['cpu_per_iteration_ns'] or 0) > 0:
            problems.append('%s reports no guest CPU time' % name)
        if n['server_cpu_per_iteration_ns'] is not None or \
                not (v['server_cpu_per_iteration_ns'] or 0) > 0:
            problems.append('%s server CPU: native %r, virtualized %r' % (
                name, n['server_cpu_per_iteration_ns'], v['server_cpu_per_iteration_ns']))
        lo, hi = w['efficiency_ci95']
        if not (w['efficiency'] > 0 and lo <= w['efficiency'] <= hi):
            problems.append('%s efficiency %r outside its CI %r' % (name, w['efficiency'],
                                                                   w['efficiency_ci95']))
    for p in problems:
        print('FAIL: ' + p)
    print('PASS' if not problems else 'FAIL')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
