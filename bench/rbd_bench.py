#!/usr/bin/python3
"""Whole-process RBD benchmark on the project's single-node Ceph: add and get of a file of
random bytes with `glance-store`, with Python glance_store 4.1's rbd driver (Debian's
python3-glance-store + python3-rbd) and with `rbd import` / `rbd export` (the ceiling: no
hashing), side by side in one run, alternating, each process under /usr/bin/time for its CPU
seconds and peak RSS. Ours and the rbd tool are timed as whole processes, glance_store inside
its process after start-up (which favours it, as in the other benchmarks).

Both stores use rbd_store_chunk_size = 8 (MiB objects of 8 MiB, glance's default). Every image
the benchmark writes is deleted right after it is read back.

usage: bench/rbd_bench.py [--binary build/glance-store] [--size-mib 1024] [--reps 3]
                          [--json FILE] [--tmpdir /var/tmp]
(the cluster: $GS_CEPH_CONF, else scripts/servers/ceph-rgw's)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..'))
from s3_bench import make_source, script_env, warm  # noqa: E402

MIB = 1 << 20
ADD_VS_THEIRS, GET_VS_EXPORT = 2.0, 0.90


def glance_store_child(argv):
    """glance_store's rbd store driven through its own API, as Glance does (legacy single
    store); prints how long the operation took inside the process."""
    import logging
    logging.disable(logging.CRITICAL)
    from glance_store_reference import rbd_store_conf, timed_operation
    op, ceph_conf, pool = argv[0], argv[1], argv[2]
    rbd_store_conf(ceph_conf, pool, user='admin', chunk_mib=8)
    timed_operation(op, argv[3:], 'rbd')


def cpu_seconds(pid):
    """user + system CPU seconds of a process so far (0 when it is gone)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    except (OSError, ValueError, IndexError):
        return 0.0


def timed(cmd, stdout=subprocess.PIPE, osd_pid=None):
    """Runs cmd under /usr/bin/time: (wall s, CPU s of user + system, peak RSS MiB, the OSD's
    CPU s meanwhile, stdout)."""
    osd_before = cpu_seconds(osd_pid) if osd_pid else 0.0
    start = time.perf_counter()
    p = subprocess.run(['/usr/bin/time', '-f', '%M %U %S'] + cmd, stdout=stdout,
                       stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        raise RuntimeError(f'failed ({p.returncode}): {" ".join(cmd)}\n{p.stderr[-2000:]}')
    rss, user, system = p.stderr.strip().splitlines()[-1].split()
    osd = (cpu_seconds(osd_pid) - osd_before) if osd_pid else 0.0
    return wall, float(user) + float(system), int(rss) / 1024, osd, p.stdout


def main():
    if len(sys.argv) > 1 and sys.argv[1] == '_glance_store':
        return glance_store_child(sys.argv[2:])
    parser = argparse.ArgumentParser()
    parser.add_argument('--binary', default=os.path.join(ROOT, 'build', 'glance-store'))
    parser.add_argument('--size-mib', type=int, default=1024)
    parser.add_argument('--reps', type=int, default=3)
    parser.add_argument('--json')
    parser.add_argument('--tmpdir', default='/var/tmp')
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k.startswith(('GS_CEPH_', 'GS_RBD_'))}
    if 'GS_CEPH_CONF' not in env:
        env = script_env('ceph-rgw')
    conf, pool, user = env['GS_CEPH_CONF'], env['GS_RBD_POOL'], env['GS_RBD_USER']
    fsid = subprocess.run(['ceph', '-c', conf, 'fsid'], capture_output=True,
                          text=True).stdout.strip()
    rbd = ['rbd', '-c', conf, '--id', 'admin', '-p', pool]
    # The OSD shares the machine's cores with the client: its CPU is part of every figure.
    try:
        with open(os.path.join(os.path.dirname(conf), 'run', 'osd.pid')) as f:
            osd_pid = int(f.read().strip())
    except (OSError, ValueError):
        osd_pid = None
    with tempfile.TemporaryDirectory(dir=args.tmpdir) as tmp:
        source = os.path.join(tmp, 'source')
        make_source(source, args.size_mib)
        config = os.path.join(tmp, 'glance-api.conf')
        with open(config, 'w') as f:
            f.write(f'[glance_store]\nstores = rbd\ndefault_store = rbd\n'
                    f'rbd_store_ceph_conf = {conf}\nrbd_store_pool = {pool}\n'
                    f'rbd_store_user = {user}\nrbd_store_chunk_size = 8\n')
        ours = [args.binary, '--config', config]
        theirs = ['/usr/bin/python3', os.path.abspath(__file__), '_glance_store']
        runs = {k: [] for k in ('ours', 'theirs', 'rbd')}
        for _ in range(args.reps):
            for who in runs:
                warm(source)
                image = f'bench-{who}-{uuid.uuid4().hex[:8]}'
                uri = f'rbd://{fsid}/{pool}/{image}/snap'
                if who == 'ours':
                    add = ours + ['add', '--image-id', image, source]
                    get = ours + ['get', uri, '-o', '/dev/null']
                elif who == 'theirs':
                    add = theirs + ['add', conf, pool, image, source]
                    get = theirs + ['get', conf, pool, uri]
                else:
                    add = rbd + ['import', '--object-size', '8M', '--no-progress', source, image]
                    get = rbd + ['export', '--no-progress', image, '-']  # to /dev/null
                a = timed(add, osd_pid=osd_pid)
                g = timed(get, subprocess.DEVNULL if who == 'rbd' else subprocess.PIPE, osd_pid)
                if who == 'theirs':  # timed inside its process, after start-up (favours it)
                    a = (json.loads(a[4])['seconds'],) + a[1:]
                    g = (json.loads(g[4])['seconds'],) + g[1:]
                runs[who].append({'add': a[:4], 'get': g[:4]})
                if who == 'rbd':
                    subprocess.run(rbd + ['rm', '--no-progress', image], check=True)
                else:  # glance_store's images too: the two delete each other's alike
                    subprocess.run(ours + ['delete', uri], check=True)
    gib = args.size_mib / 1024
    result = {'size_mib': args.size_mib, 'reps': args.reps}
    for who, rs in runs.items():
        for op in ('add', 'get'):
            walls = [r[op][0] for r in rs]
            result[f'{who}_{op}_mib_s'] = round(args.size_mib / statistics.median(walls), 1)
            result[f'{who}_{op}_cpu_s_per_gib'] = round(
                statistics.median(r[op][1] for r in rs) / gib, 2)
            result[f'{who}_{op}_peak_rss_mib'] = round(max(r[op][2] for r in rs), 1)
            result[f'{who}_{op}_osd_cpu_s_per_gib'] = round(
                statistics.median(r[op][3] for r in rs) / gib, 2)
    add_ratio = result['ours_add_mib_s'] / result['theirs_add_mib_s']
    get_ratio = result['ours_get_mib_s'] / result['rbd_get_mib_s']
    result['add_vs_glance_store'] = round(add_ratio, 2)
    result['get_vs_rbd_export'] = round(get_ratio, 2)
    result['add_vs_rbd_import'] = round(result['ours_add_mib_s'] / result['rbd_add_mib_s'], 2)
    result['get_vs_glance_store'] = round(result['ours_get_mib_s'] / result['theirs_get_mib_s'], 2)
    print('CPU s/GiB: the client process, then the OSD meanwhile (both share the 2 cores)')
    print(f"{'':14}{'add MiB/s':>10}{'CPU':>6}{'OSD':>6}{'RSS MiB':>9}"
          f"{'get MiB/s':>11}{'CPU':>6}{'OSD':>6}{'RSS MiB':>9}")
    for who, name in (('ours', 'glance-store'), ('theirs', 'glance_store'), ('rbd', 'rbd cli')):
        print(f"{name:14}" + ''.join(
            f"{result[f'{who}_{op}_mib_s']:>{10 if op == 'add' else 11}}"
            f"{result[f'{who}_{op}_cpu_s_per_gib']:>6}{result[f'{who}_{op}_osd_cpu_s_per_gib']:>6}"
            f"{result[f'{who}_{op}_peak_rss_mib']:>9}"
            for op in ('add', 'get')))
    print(f'add: {add_ratio:.2f}x glance_store (goal {ADD_VS_THEIRS}x), '
          f'{result["add_vs_rbd_import"]:.2f}x rbd import; get: {get_ratio:.2f}x rbd export '
          f'(goal {GET_VS_EXPORT}), {result["get_vs_glance_store"]:.2f}x glance_store')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=1)


if __name__ == '__main__':
    main()
