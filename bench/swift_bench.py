#!/usr/bin/python3
"""Whole-process Swift benchmark: add and get of a file of random bytes with `glance-store` and
with Python glance_store (Debian's python3-glance-store + python3-swiftclient), side by side in
one run, on Swift all-in-one (tempauth, auth v1, single-tenant store), with plain curl's upload
and download of the whole file as one object measured in the same run as the ceiling.

Both stores segment from swift_store_large_object_size = 100 Swift "MB" (102,400,000 bytes) on,
in segments of swift_store_large_object_chunk_size = 100 (a 1 GiB image: 11 Dynamic Large Object
segments); glance_store uploads them one after the other, glance-store
swift_store_upload_concurrency (ours, default 4) at once. Every object the benchmark writes is
deleted right after it is read back; the containers are checked empty and deleted at the end.

usage: bench/swift_bench.py [--binary build/glance-store] [--size-mib 1024] [--reps 3]
                            [--sweep 1 2 4] [--json FILE] [--tmpdir /var/tmp]
(the server: $GS_SWIFT_AUTH, else scripts/servers/swift-aio's, started when it stays down)
"""
import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..'))
# The S3 benchmark's process timing, source file and table cell helpers.
from s3_bench import make_source, ratio_cell, timed, warm  # noqa: E402

MIB = 1 << 20
SWIFT_MB = 1024000                  # glance_store's "MB" in the Swift size options
CONTAINER = 'glance-swift-bench'    # glance-store's and glance_store's container (they share it)
CURL_CONTAINER = 'curl-swift-bench'
USER, KEY = 'test:tester', 'testing'  # tempauth's admin of AUTH_test (scripts/servers/README.md)

LARGE_OBJECT_MB, CHUNK_MB = 100, 100
CONCURRENCY = 4                     # swift_store_upload_concurrency: our default, given explicitly
# The targets.
ADD_VS_THEIRS, ADD_VS_CURL = 1.5, 0.70
GET_VS_THEIRS, GET_VS_CURL = 1.3, 0.90
SEGMENT_MIB = CHUNK_MB * SWIFT_MB / MIB
# 64 MiB + the segments in memory: CONCURRENCY uploading and the one being filled.
RSS_LIMIT_MIB = 64 + (CONCURRENCY + 1) * SEGMENT_MIB


# ---------------------------------------------------------------------------------------------
# glance_store's side: this file re-runs itself as `swift_bench.py _glance_store add|get …` under
# /usr/bin/time, so that its peak RSS is that of one Python process doing one operation.

def glance_store_child(argv):
    """Drives glance_store's Swift store through its own API, as Glance does (legacy single
    store), and prints how long the operation took inside the process, after start-up."""
    import logging
    from glance_store import backend
    from glance_store_reference import swift_store_conf, timed_operation
    logging.disable(logging.CRITICAL)  # its deprecation warnings would drown /usr/bin/time's line

    op, auth = argv[0], argv[1]
    swift_store_conf(auth, USER, KEY, CONTAINER, LARGE_OBJECT_MB, CHUNK_MB, auth_version='1')
    timed_operation(op, argv[2:], 'swift')


# ---------------------------------------------------------------------------------------------
# Helpers

def swift_auth():
    """$GS_SWIFT_AUTH when set (a Swift of one's own: GS_SERVERS_DIR=… GS_SWIFT_PORT=…
    scripts/servers/swift-aio start), else that of scripts/servers/swift-aio. Another session may
    be restarting that one: wait up to two minutes for it to answer before starting it (a start
    wipes its state)."""
    if os.environ.get('GS_SWIFT_AUTH'):
        return os.environ['GS_SWIFT_AUTH']
    script = os.path.join(ROOT, 'scripts', 'servers', 'swift-aio')
    for attempt in range(5):
        if subprocess.run([script, 'status'], capture_output=True).returncode == 0:
            break
        if attempt == 4:
            print('swift-aio is down: starting it', file=sys.stderr)
            subprocess.run([script, 'start'], check=True, capture_output=True)
        else:
            time.sleep(30)
    for line in subprocess.run([script, 'env'], check=True, capture_output=True,
                               text=True).stdout.splitlines():
        if line.startswith('export GS_SWIFT_AUTH='):
            return line.partition('=')[2].strip('\'"')
    sys.exit('swift-aio env gave no GS_SWIFT_AUTH')


def our_config(auth, path, concurrency=CONCURRENCY, container=CONTAINER,
               large_object_mb=LARGE_OBJECT_MB, chunk_mb=CHUNK_MB):
    with open(path, 'w') as f:
        f.write(f"""[glance_store]
stores = file, swift
default_store = swift
swift_store_auth_address = {auth}
swift_store_user = {USER}
swift_store_key = {KEY}
swift_store_auth_version = 1
swift_store_container = {container}
swift_store_create_container_on_put = true
swift_store_large_object_size = {large_object_mb}
swift_store_large_object_chunk_size = {chunk_mb}
swift_store_upload_concurrency = {concurrency}
""")


class Swift:
    """The Swift API with a tempauth token: curl's ceiling (one PUT of the whole file as one
    object, one GET of it to /dev/null) and the containers' housekeeping."""

    def __init__(self, auth):
        req = urllib.request.Request(auth, headers={'X-Auth-User': USER, 'X-Auth-Key': KEY})
        with urllib.request.urlopen(req) as resp:
            self.account = resp.headers['X-Storage-Url']
            self.token = resp.headers['X-Auth-Token']
        self.auth = ['-H', 'X-Auth-Token: ' + self.token]

    def url(self, container, name=''):
        url = f'{self.account}/{urllib.parse.quote(container)}'
        return url + '/' + urllib.parse.quote(name) if name else url

    def request(self, method, url, ok=(200, 201, 202, 204)):
        req = urllib.request.Request(url, method=method, headers={'X-Auth-Token': self.token})
        try:
            with urllib.request.urlopen(req) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            if e.code not in ok:
                raise RuntimeError(f'{method} {url}: HTTP {e.code}') from e
            return e.code, e.headers, b''

    def upload(self, path, name):
        wall, kib, code = timed(['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}']
                                + self.auth + ['-T', path, self.url(CURL_CONTAINER, name)])
        if int(code) != 201:
            raise RuntimeError(f'curl upload: HTTP {code}')
        return wall, kib

    def download(self, name, container=CURL_CONTAINER):
        wall, kib, _ = timed(['curl', '-sS', '-f', '-o', '/dev/null'] + self.auth
                             + [self.url(container, name)])
        return wall, kib

    def objects(self, container):
        """The container's object names; None when it does not exist."""
        status, _, body = self.request('GET', self.url(container) + '?format=json', ok=(404,))
        return None if status == 404 else [o['name'] for o in json.loads(body)]

    def empty_and_delete(self, container):
        """What the container still holds (should be nothing); then it goes, with its objects."""
        left = self.objects(container)
        for name in left or []:
            self.request('DELETE', self.url(container, name), ok=(404,))
        if left is not None:
            self.request('DELETE', self.url(container), ok=(404, 409))
        return left or []


# ---------------------------------------------------------------------------------------------
# The benchmark

def bench(args, auth, source, md5, tmp):
    size_mib = args.size_mib
    conf = os.path.join(tmp, 'glance-api.conf')
    our_config(auth, conf)
    swift = Swift(auth)
    swift.request('PUT', swift.url(CURL_CONTAINER))
    reference = ['/usr/bin/python3', os.path.abspath(__file__), '_glance_store']
    runs = {k: [] for k in ('ours_add', 'theirs_add', 'curl_add', 'ours_get', 'theirs_get',
                            'curl_get', 'curl_get_segmented')}
    rss = {k: [] for k in runs}

    def check_add(who, out):
        if out['size'] != size_mib * MIB or out['checksum'] != md5:
            raise RuntimeError(f"{who} add: {out['size']} bytes, md5 {out['checksum']} "
                               f"(expected {size_mib * MIB}, {md5})")

    for rep in range(args.reps):
        for who in ('ours', 'theirs', 'curl'):
            image_id = str(uuid.uuid4())
            warm(source)
            location = None
            try:
                if who == 'ours':
                    wall, kib, out = timed([args.binary, '--config', conf, 'add',
                                            '--show-credentials', '--image-id', image_id, source])
                    out = json.loads(out)
                    check_add(who, out)
                    location = out['location']
                elif who == 'theirs':
                    _, kib, out = timed(reference + ['add', auth, image_id, source])
                    out = json.loads(out)
                    check_add(who, out)
                    wall, location = out['seconds'], out['location']
                else:
                    wall, kib = swift.upload(source, image_id)
                runs[f'{who}_add'].append(size_mib / wall)
                rss[f'{who}_add'].append(kib)

                if who == 'ours':
                    with open(os.devnull, 'wb') as null:
                        wall, kib, _ = timed([args.binary, '--config', conf, 'get', location],
                                             stdout=null)
                    # Informational: curl's GET of the same segmented image through the proxy,
                    # which joins the segments (glance_store's request; ours reads the segments
                    # itself): more work for Swift than the one object of curl's ceiling.
                    dlo_wall, dlo_kib = swift.download(image_id, CONTAINER)
                    runs['curl_get_segmented'].append(size_mib / dlo_wall)
                    rss['curl_get_segmented'].append(dlo_kib)
                elif who == 'theirs':
                    _, kib, out = timed(reference + ['get', auth, location])
                    out = json.loads(out)
                    if out['size'] != size_mib * MIB:
                        raise RuntimeError(f"glance_store read {out['size']} bytes")
                    wall = out['seconds']
                else:
                    wall, kib = swift.download(image_id)
                runs[f'{who}_get'].append(size_mib / wall)
                rss[f'{who}_get'].append(kib)
            finally:
                # Delete at once, whatever happened: Swift holds one image at a time.
                if who == 'curl':
                    swift.request('DELETE', swift.url(CURL_CONTAINER, image_id), ok=(404,))
                elif location:
                    subprocess.run([args.binary, '--config', conf, 'delete', location],
                                   check=True, capture_output=True)
        print(f'repetition {rep + 1}/{args.reps}: '
              + ', '.join(f'{k} {v[-1]:.0f}' for k, v in runs.items() if v), file=sys.stderr)

    # Ours alone with 1, 2, 4… segments in flight, once each (informational).
    sweep = {}
    for concurrency in args.sweep:
        sweep_conf = os.path.join(tmp, f'glance-api-{concurrency}.conf')
        our_config(auth, sweep_conf, concurrency)
        warm(source)
        wall, kib, out = timed([args.binary, '--config', sweep_conf, 'add', '--show-credentials',
                                '--image-id', str(uuid.uuid4()), source])
        out = json.loads(out)
        try:
            check_add(f'ours (concurrency {concurrency})', out)
        finally:
            subprocess.run([args.binary, '--config', sweep_conf, 'delete', out['location']],
                           check=True, capture_output=True)
        sweep[concurrency] = {'mib_s': size_mib / wall, 'rss_kib': kib}
        print(f'concurrency {concurrency}: add {size_mib / wall:.0f} MiB/s, '
              f'{kib / 1024:.0f} MiB', file=sys.stderr)

    leftovers = {c: swift.empty_and_delete(c) for c in (CONTAINER, CURL_CONTAINER)}
    return {'runs': runs, 'rss_kib': rss, 'sweep': sweep, 'leftovers': leftovers}


def main():
    if len(sys.argv) > 1 and sys.argv[1] == '_glance_store':
        return glance_store_child(sys.argv[2:])
    ap = argparse.ArgumentParser()
    ap.add_argument('--binary', default=os.path.join(ROOT, 'build', 'glance-store'))
    ap.add_argument('--size-mib', type=int, default=1024)
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--sweep', type=int, nargs='*', default=[1, 2, 4],
                    help='swift_store_upload_concurrency values for one extra add of ours each')
    ap.add_argument('--json', help='also write the raw numbers to this file')
    ap.add_argument('--tmpdir', default='/var/tmp', help='where the source file goes (not tmpfs)')
    args = ap.parse_args()
    args.binary = os.path.abspath(args.binary)

    fstype = subprocess.run(['stat', '-f', '-c', '%T', args.tmpdir], check=True,
                            capture_output=True, text=True).stdout.strip()
    if fstype == 'tmpfs':
        sys.exit(f'{args.tmpdir} is on tmpfs: use a disk filesystem')
    auth = swift_auth()
    tmp = tempfile.mkdtemp(prefix='glance-store-swift-bench-', dir=args.tmpdir)
    try:
        source = os.path.join(tmp, 'source.img')
        make_source(source, args.size_mib)
        with open(source, 'rb') as f:
            md5 = hashlib.file_digest(f, 'md5').hexdigest()
        load_before = os.getloadavg()
        res = bench(args, auth, source, md5, tmp)
        load_after = os.getloadavg()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    segments = -(-args.size_mib * MIB // (CHUNK_MB * SWIFT_MB))
    print(f'\n{args.size_mib} MiB of random bytes (warm in the page cache, on {fstype}), '
          f'{args.reps} alternating repetitions (glance-store, glance_store, curl), medians in '
          f'MiB/s; Swift all-in-one, tempauth (auth v1); both stores: segments from '
          f'{LARGE_OBJECT_MB} Swift MB, of {CHUNK_MB} Swift MB ({SEGMENT_MIB:.2f} MiB; '
          f'{segments} segments), glance-store {CONCURRENCY} in flight, glance_store one at a '
          'time.')
    print('glance-store and curl are timed as whole processes; glance_store inside its process '
          'after its start-up (this favours glance_store). Peak RSS is the largest of the '
          'repetitions (/usr/bin/time %M; for glance_store, its python process). Ceilings: curl '
          'PUT of the whole file as one object and GET of it to /dev/null (Swift API, auth v1 '
          'token). Gets write to /dev/null.')
    print(f'load average (1 min) before / after: {load_before[0]:.2f} / {load_after[0]:.2f} on '
          f'{os.cpu_count()} cores.\n')
    print('| operation | glance-store | glance_store (Python) | curl | ours / theirs (target) | '
          'ours / curl (target) | peak RSS MiB: ours / theirs / curl |')
    print('|---|---|---|---|---|---|---|')
    med = {k: statistics.median(v) for k, v in res['runs'].items()}
    peak = {k: max(v) / 1024 for k, v in res['rss_kib'].items()}
    res['medians'], res['peak_rss_mib'] = med, peak
    for op, label, vs_t, vs_c in (('add', 'add (upload)', ADD_VS_THEIRS, ADD_VS_CURL),
                                  ('get', 'get (download)', GET_VS_THEIRS, GET_VS_CURL)):
        ours, theirs, curl = med[f'ours_{op}'], med[f'theirs_{op}'], med[f'curl_{op}']
        t, c = ratio_cell(ours, theirs, curl, vs_t, vs_c)
        print(f'| {label} | {ours:.0f} | {theirs:.0f} | {curl:.0f} | {t} | {c} | '
              f"{peak[f'ours_{op}']:.1f} / {peak[f'theirs_{op}']:.1f} / "
              f"{peak[f'curl_{op}']:.1f} |")

    print(f"\ncurl's GET of glance-store's segmented image, joined by the proxy (glance_store's "
          f"request; ours reads the segments; informational): "
          f"{med['curl_get_segmented']:.0f} MiB/s; ours / that: {100 * med['ours_get'] / med['curl_get_segmented']:.0f} %, glance_store / "
          f"that: {100 * med['theirs_get'] / med['curl_get_segmented']:.0f} %.")
    ours_peak = max(peak['ours_add'], peak['ours_get'])
    print(f'\nour peak RSS target: ≤ 64 + ({CONCURRENCY} segments in flight + 1 being filled) × '
          f'{SEGMENT_MIB:.2f} MiB = {RSS_LIMIT_MIB:.1f} MiB; largest measured {ours_peak:.1f} '
          f"MiB: {'met' if ours_peak <= RSS_LIMIT_MIB else 'MISSED'}")
    if res['sweep']:
        print('\nglance-store add by swift_store_upload_concurrency (one run each, '
              'informational):\n')
        print('| concurrency | add MiB/s | ours / theirs median | ours / curl median | '
              'peak RSS MiB | RSS bound 64 + (n + 1) segments |')
        print('|---|---|---|---|---|---|')
        for n, s in res['sweep'].items():
            print(f"| {n} | {s['mib_s']:.0f} | {s['mib_s'] / med['theirs_add']:.2f}× | "
                  f"{100 * s['mib_s'] / med['curl_add']:.0f} % | {s['rss_kib'] / 1024:.1f} | "
                  f'{64 + (n + 1) * SEGMENT_MIB:.1f} |')
    print('\nall runs (MiB/s):', json.dumps({k: [round(x) for x in v]
                                             for k, v in res['runs'].items()}))
    print('left in the containers after the run:', json.dumps(res['leftovers']))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'size_mib': args.size_mib, 'reps': args.reps, 'results': res}, f,
                      indent=2)


if __name__ == '__main__':
    main()
