#!/usr/bin/python3
"""Whole-process memory benchmark of adds (issue 14, item 5): peak RSS from the kernel
(/usr/bin/time's maximum resident set) and throughput of one `glance-store add` of an earlier
build, of this build, and of Python glance_store 4.1 doing the same add, side by side in one run.

Cases (each a file of random bytes, every add's md5 checked against the file's):
  s3        1 GiB to S3 on Swift's s3api, the default options: multipart from 100 MiB, 10 MiB
            parts, s3_store_thread_pools 10 (s3api's 1,000-part limit).
  swift200  1 GiB to Swift (tempauth), segmented with 200 Swift-MB segments: glance's default
            segment size, forced by swift_store_large_object_size = 100, below the image.
  swift6g   6 GiB to Swift with the default options (segmented above 5120 Swift-MB, in 200).

usage: bench/memory_bench.py --old-binary OLD [--binary build/glance-store]
                             [--cases s3 swift200 swift6g] [--reps 1] [--json FILE]
                             [--tmpdir /var/tmp]
Each object is deleted right after its add (with this build's tool).
"""
import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..'))
sys.path.insert(0, HERE)
import s3_bench  # noqa: E402
import swift_bench  # noqa: E402
from s3_bench import make_source, timed, warm  # noqa: E402

MIB = 1 << 20
GOAL_RSS_MIB = 160
BUCKET = 'glance-memory-bench'
CONTAINER = 'glance-memory-bench'
USER, KEY = swift_bench.USER, swift_bench.KEY

CASES = {
    's3': {'size_mib': 1024, 'store': 's3'},
    'swift200': {'size_mib': 1024, 'store': 'swift', 'large_object_mb': 100,
                 'chunk_mb': 200},
    'swift6g': {'size_mib': 6144, 'store': 'swift', 'large_object_mb': 5120,
                'chunk_mb': 200},
}


# ---------------------------------------------------------------------------------------------
# glance_store's side: this file re-runs itself as `memory_bench.py _glance_store CASE …`
# under /usr/bin/time, so that its peak RSS is that of one Python process doing one add.

def glance_store_child(argv):
    import logging
    from glance_store_reference import s3_store_conf, swift_store_conf, timed_operation
    logging.disable(logging.CRITICAL)
    case, server = CASES[argv[0]], json.loads(argv[1])
    if case['store'] == 's3':
        s3_store_conf(server['endpoint'], server['access_key'], server['secret_key'], BUCKET,
                      100, 10, 10)
    else:
        swift_store_conf(server['auth'], USER, KEY, CONTAINER, case['large_object_mb'],
                         case['chunk_mb'], auth_version='1')
    timed_operation('add', argv[2:], case['store'])


# ---------------------------------------------------------------------------------------------

def our_config(case, server, path):
    # glance's defaults otherwise: 10 MiB parts and 10 threads on S3, 4 segments at once on Swift.
    if case['store'] == 's3':
        s3_bench.our_config(server, path, bucket=BUCKET)
    else:
        swift_bench.our_config(server['auth'], path, container=CONTAINER,
                               large_object_mb=case['large_object_mb'], chunk_mb=case['chunk_mb'])


def file_md5(path):
    digest = hashlib.md5()
    with open(path, 'rb') as f:
        while block := f.read(8 * MIB):
            digest.update(block)
    return digest.hexdigest()


def run_case(args, name, tmp):
    case = CASES[name]
    if case['store'] == 's3':
        server = s3_bench.server_env('s3api')
    else:
        server = {'auth': swift_bench.swift_auth()}
    conf = os.path.join(tmp, f'{name}.conf')
    our_config(case, server, conf)
    source = os.path.join(tmp, f"source-{case['size_mib']}.bin")
    if not os.path.exists(source) or os.path.getsize(source) != case['size_mib'] * MIB:
        make_source(source, case['size_mib'])
    md5 = file_md5(source)
    reference = ['/usr/bin/python3', os.path.abspath(__file__), '_glance_store', name,
                 json.dumps(server)]
    results = {who: {'mib_s': [], 'rss_mib': []} for who in ('old', 'new', 'glance_store')}
    template = None  # one of our locations: its id is replaced to delete glance_store's object
    order = ('new', 'old', 'glance_store')
    for rep in range(args.reps):
        # Each repetition starts with another of the three: what ran before an add (a server
        # still settling the last one, the page cache) must not always favour the same one.
        for who in order[rep % 3:] + order[:rep % 3]:
            image_id = str(uuid.uuid4())
            warm(source)
            if who == 'glance_store':
                wall, kib, out = timed(reference + [image_id, source])
                got = json.loads(out)
                wall = got['seconds']
                location = template.replace(template_id, image_id)
            else:
                binary = args.binary if who == 'new' else args.old_binary
                wall, kib, out = timed([binary, '--config', conf, 'add', '--show-credentials',
                                        '--image-id', image_id, source])
                got = json.loads(out)
                location = got['location']
                if template is None:
                    template, template_id = location, image_id
            try:
                if got.get('checksum') != md5 or got.get('size', got.get('bytes_written')) \
                        not in (None, case['size_mib'] * MIB):
                    raise RuntimeError(f'{who} stored other bytes: {got}')
            finally:
                subprocess.run([args.binary, '--config', conf, 'delete', location],
                               check=True, capture_output=True)
            results[who]['mib_s'].append(case['size_mib'] / wall)
            results[who]['rss_mib'].append(kib / 1024)
            print(f'{name} {who} rep {rep + 1}: {case["size_mib"] / wall:.0f} MiB/s, '
                  f'peak RSS {kib / 1024:.0f} MiB', file=sys.stderr)
    return results


def main():
    if len(sys.argv) > 1 and sys.argv[1] == '_glance_store':
        glance_store_child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--old-binary', required=True)
    parser.add_argument('--binary', default=os.path.join(ROOT, 'build', 'glance-store'))
    parser.add_argument('--cases', nargs='+', default=list(CASES), choices=list(CASES))
    parser.add_argument('--reps', type=int, default=1)
    parser.add_argument('--json')
    parser.add_argument('--tmpdir', default='/var/tmp')
    args = parser.parse_args()
    all_results = {}
    with tempfile.TemporaryDirectory(dir=args.tmpdir, prefix='memory-bench-') as tmp:
        for name in args.cases:
            all_results[name] = run_case(args, name, tmp)
    print('| case | old MiB/s | new MiB/s | new / old | glance_store MiB/s | peak RSS MiB old / '
          'new / glance_store | new ≤ 160 and < glance_store |')
    print('|---|---|---|---|---|---|---|')
    failed = False
    for name, r in all_results.items():
        med = {who: {k: statistics.median(v) for k, v in m.items()} for who, m in r.items()}
        ok = med['new']['rss_mib'] <= GOAL_RSS_MIB and \
            med['new']['rss_mib'] < med['glance_store']['rss_mib']
        failed |= not ok
        print(f"| {name} | {med['old']['mib_s']:.0f} | {med['new']['mib_s']:.0f} | "
              f"{med['new']['mib_s'] / med['old']['mib_s']:.2f}× | "
              f"{med['glance_store']['mib_s']:.0f} | {med['old']['rss_mib']:.0f} / "
              f"{med['new']['rss_mib']:.0f} / {med['glance_store']['rss_mib']:.0f} | "
              f"{'yes' if ok else 'no'} |")
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(all_results, f, indent=1)
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
