#!/usr/bin/python3
"""Whole-process benchmark: add and get of a file of random bytes with `glance-store` and with
Python glance_store (Debian's python3-glance-store), side by side in one run, with the machine's
ceilings (one core's md5 and sha512, `cat` of the warm file) measured in the same run.

usage: bench/e2e_bench.py [--binary build-release/glance-store] [--size-mib 1024] [--reps 3]
                          [--rss-size-mib 4096] [--workdir /var/tmp/glance-store-bench]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, 'glance_store_reference.py')
MIB = 1 << 20


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def timed(cmd):
    """Runs cmd under /usr/bin/time; returns (wall seconds, peak RSS KiB, stdout)."""
    start = time.perf_counter()
    p = subprocess.run(['/usr/bin/time', '-f', '%M'] + cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f'failed: {" ".join(cmd)}\n{p.stderr}')
    rss = int(p.stderr.strip().splitlines()[-1])
    return wall, rss, p.stdout


def make_source(path, size_mib):
    if os.path.exists(path) and os.path.getsize(path) == size_mib * MIB:
        return
    with open('/dev/urandom', 'rb') as src, open(path, 'wb') as dst:
        for _ in range(size_mib):
            dst.write(src.read(MIB))


def warm(path):
    subprocess.run(['cat', path], stdout=subprocess.DEVNULL, check=True)


def openssl_speed(algo):
    out = run(['openssl', 'speed', '-evp', algo, '-bytes', '65536', '-seconds', '2']).stdout
    line = [l for l in out.splitlines() if l.startswith(algo)][-1]
    return float(line.split()[-1].rstrip('k')) * 1000 / MIB  # MiB/s


def cat_speed(path, size):
    start = time.perf_counter()
    subprocess.run(['cat', path], stdout=subprocess.DEVNULL, check=True)
    return size / MIB / (time.perf_counter() - start)


def clean(datadir):
    shutil.rmtree(datadir, ignore_errors=True)
    os.makedirs(datadir)
    subprocess.run(['sync'], check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--binary', default=os.path.join(HERE, '..', 'build-release', 'glance-store'))
    ap.add_argument('--size-mib', type=int, default=1024)
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--rss-size-mib', type=int, default=4096)
    ap.add_argument('--workdir', default='/var/tmp/glance-store-bench')
    args = ap.parse_args()

    os.makedirs(args.workdir, exist_ok=True)
    fstype = run(['stat', '-f', '-c', '%T', args.workdir]).stdout.strip()
    if fstype == 'tmpfs':
        sys.exit(f'{args.workdir} is on tmpfs: use a disk filesystem')
    source = os.path.join(args.workdir, 'source.img')
    make_source(source, args.size_mib)
    size = args.size_mib * MIB
    ours_dir = os.path.join(args.workdir, 'ours')
    theirs_dir = os.path.join(args.workdir, 'theirs')
    conf = os.path.join(args.workdir, 'glance-api.conf')
    with open(conf, 'w') as f:
        f.write(f'[glance_store]\nstores = file\nfilesystem_store_datadir = {ours_dir}\n')

    results = {k: [] for k in ('ours_add', 'theirs_add', 'ours_get', 'theirs_get')}
    rss = {k: [] for k in results}
    for rep in range(args.reps):
        for who in ('ours', 'theirs'):
            datadir = ours_dir if who == 'ours' else theirs_dir
            clean(datadir)
            warm(source)
            image_id = f'bench-{rep}'
            if who == 'ours':
                wall, kib, out = timed([args.binary, '--config', conf, 'add', '--image-id',
                                        image_id, source])
                add_seconds = wall
                uri = json.loads(out)['location']
            else:
                wall, kib, out = timed([REFERENCE, 'add', datadir, image_id, source])
                got = json.loads(out)
                add_seconds, uri = got['seconds'], got['location']
            results[f'{who}_add'].append(size / MIB / add_seconds)
            rss[f'{who}_add'].append(kib)
            # Both gets read a warm image, as cat reads the warm source: our add writes around
            # the page cache (filesystem_store_direct_io), glance_store's through it.
            warm(uri[len('file://'):])
            if who == 'ours':
                wall, kib, _ = timed([args.binary, '--config', conf, 'get', uri, '-o', '/dev/null'])
                get_seconds = wall
            else:
                wall, kib, out = timed([REFERENCE, 'get', datadir, uri])
                get_seconds = json.loads(out)['seconds']
            results[f'{who}_get'].append(size / MIB / get_seconds)
            rss[f'{who}_get'].append(kib)

    md5 = openssl_speed('md5')
    sha512 = openssl_speed('sha512')
    warm(source)
    cat = statistics.median(cat_speed(source, size) for _ in range(3))

    big_rss = None
    if args.rss_size_mib:
        big = os.path.join(args.workdir, 'source-big.img')
        make_source(big, args.rss_size_mib)
        clean(ours_dir)
        _, big_rss, _ = timed([args.binary, '--config', conf, 'add', '--image-id', 'big', big])
        clean(ours_dir)

    med = {k: statistics.median(v) for k, v in results.items()}
    print(f'\n{args.size_mib} MiB of random bytes, {args.reps} alternating repetitions, medians '
          f'(MiB/s); datadirs on {fstype}')
    print('glance-store is timed as a whole process; glance_store inside its process after its '
          'start-up (this favours glance_store). Our add is durable (fsync); theirs is not. '
          'Each get reads a warm image.\n')
    print('| operation | glance-store | glance_store (Python) | ratio | ceiling | ours / ceiling |')
    print('|---|---|---|---|---|---|')
    print(f"| add (md5 + sha512) | {med['ours_add']:.0f} | {med['theirs_add']:.0f} | "
          f"{med['ours_add'] / med['theirs_add']:.2f}× | md5 {md5:.0f} (sha512 {sha512:.0f}) | "
          f"{100 * med['ours_add'] / md5:.0f} % |")
    print(f"| get (to /dev/null) | {med['ours_get']:.0f} | {med['theirs_get']:.0f} | "
          f"{med['ours_get'] / med['theirs_get']:.2f}× | cat {cat:.0f} | "
          f"{100 * med['ours_get'] / cat:.0f} % |")
    print('\n| peak RSS (MiB) | glance-store | glance_store (Python) |')
    print('|---|---|---|')
    print(f"| add {args.size_mib} MiB | {max(rss['ours_add']) / 1024:.1f} | "
          f"{max(rss['theirs_add']) / 1024:.1f} |")
    print(f"| get {args.size_mib} MiB | {max(rss['ours_get']) / 1024:.1f} | "
          f"{max(rss['theirs_get']) / 1024:.1f} |")
    if big_rss is not None:
        print(f'| add {args.rss_size_mib} MiB (ours) | {big_rss / 1024:.1f} | |')
    print('\nall runs (MiB/s):', json.dumps({k: [round(x) for x in v] for k, v in results.items()}))


if __name__ == '__main__':
    main()
