#!/usr/bin/python3
"""Whole-process S3 benchmark: add and get of a file of random bytes with `glance-store` and with
Python glance_store (Debian's python3-glance-store + python3-boto3), side by side in one run, on
the two loopback S3 servers (Swift's s3api and Ceph's RGW), with plain curl's upload and download
measured in the same run as the ceiling.

Both stores use glance_store's defaults: objects of 100 MiB and more go multipart, in 10 MiB
parts, 10 at a time. Every object the benchmark writes is deleted right after it is read back.

usage: bench/s3_bench.py [--binary build/glance-store] [--size-mib 1024] [--reps 3]
                         [--servers s3api rgw] [--json FILE] [--tmpdir /var/tmp]
(the servers: scripts/servers/swift-aio and scripts/servers/ceph-rgw; started when down)
"""
import argparse
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
MIB = 1 << 20
BUCKET = 'glance-s3-bench'        # glance-store's and glance_store's bucket (they share it)
CURL_BUCKET = 'curl-s3-bench'     # curl's bucket (RGW) or Swift container (s3api)

# glance_store's defaults, given explicitly to both stores.
LARGE_OBJECT_MIB, CHUNK_MIB, THREADS = 100, 10, 10
# The targets.
ADD_VS_THEIRS, ADD_VS_CURL = 2.0, 0.70
GET_VS_THEIRS, GET_VS_CURL = 1.5, 0.90
RSS_LIMIT_MIB = 64 + (THREADS + 1) * CHUNK_MIB

SERVERS = {
    's3api': {'script': 'swift-aio', 'prefix': 'GS_S3API_'},
    'rgw': {'script': 'ceph-rgw', 'prefix': 'GS_RGW_'},
}
CEPH_CONF = '/tmp/glance-store-servers/ceph/ceph.conf'
OSD_ASOK = '/tmp/glance-store-servers/ceph/run/osd.0.asok'

KS_BUCKET = 'glance-s3-bench-get'  # the Keystone account's container of the object all three read
S3API_GETS = ("s3api gets: glance_store cannot read back what it wrote with tempauth's S3 key "
              "(it splits its location s3://test:tester:testing@… at the colons and signs as "
              "'test'), so on s3api all three read one object placed once in the Keystone "
              "account by a single Swift PUT: glance-store and glance_store through the Keystone "
              "proxy's S3 API with EC2 credentials (s3token), curl through its Swift API with a "
              "Keystone token. The adds go through the tempauth proxy.")


# ---------------------------------------------------------------------------------------------
# glance_store's side: this file re-runs itself as `s3_bench.py _glance_store add|get …` under
# /usr/bin/time, so that its peak RSS is that of one Python process doing one operation.

def glance_store_child(argv):
    """Drives glance_store's S3 store through its own API, as Glance does (legacy single store),
    and prints how long the operation took inside the process, after start-up."""
    import logging
    from glance_store import backend
    from glance_store_reference import s3_store_conf, timed_operation
    logging.disable(logging.CRITICAL)  # its deprecation warnings would drown /usr/bin/time's line

    op, server = argv[0], json.loads(argv[1])
    s3_store_conf(server['endpoint'], server['access_key'], server['secret_key'], BUCKET,
                  LARGE_OBJECT_MIB, CHUNK_MIB, THREADS)

    timed_operation(op, argv[2:], 's3')


# ---------------------------------------------------------------------------------------------
# Helpers

def timed(cmd, stdout=subprocess.PIPE):
    """Runs cmd under /usr/bin/time; returns (wall seconds, peak RSS KiB, stdout)."""
    start = time.perf_counter()
    p = subprocess.run(['/usr/bin/time', '-f', '%M'] + cmd, stdout=stdout,
                       stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        raise RuntimeError(f'failed ({p.returncode}): {" ".join(cmd)}\n{p.stderr[-2000:]}')
    rss = int(p.stderr.strip().splitlines()[-1])
    return wall, rss, p.stdout


def make_source(path, size_mib):
    with open(path, 'wb') as dst:
        for _ in range(size_mib):
            dst.write(os.urandom(MIB))


def warm(path):
    subprocess.run(['cat', path], stdout=subprocess.DEVNULL, check=True)


def script_env(script_name):
    """The export lines of a server script's `env`, as a dict (started when down)."""
    script = os.path.join(ROOT, 'scripts', 'servers', script_name)
    if subprocess.run([script, 'status'], capture_output=True).returncode != 0:
        print(f'{script_name} is down: starting it', file=sys.stderr)
        subprocess.run([script, 'start'], check=True, capture_output=True)
    env = {}
    for line in subprocess.run([script, 'env'], check=True, capture_output=True,
                               text=True).stdout.splitlines():
        if line.startswith('export '):
            key, _, value = line[len('export '):].partition('=')
            env[key] = value.strip('\'"')
    return env


def server_env(name):
    """The server's GS_* variables, after starting it if `status` says it is down."""
    env = script_env(SERVERS[name]['script'])
    if name == 's3api':
        env.update(script_env('keystone'))
    p = SERVERS[name]['prefix']
    keystone = {k: env.get(k) for k in ('GS_KEYSTONE_URL', 'GS_KS_USER', 'GS_KS_PASSWORD',
                                        'GS_KS_PROJECT', 'GS_SWIFT_KEYSTONE_URL',
                                        'GS_KS_EC2_ACCESS', 'GS_KS_EC2_SECRET')}
    return {'name': name, 'keystone': keystone if name == 's3api' else None,
            'endpoint': env[p + 'ENDPOINT'], 'access_key': env[p + 'ACCESS_KEY'],
            'secret_key': env[p + 'SECRET_KEY'], 'region': env.get(p + 'REGION', ''),
            'max_parts': env.get(p + 'MAX_PARTS', ''), 'swift_auth': env.get('GS_SWIFT_AUTH')}


def our_config(server, path, bucket=BUCKET):
    # s3api needs its region (it rejects others) and its 1,000-part limit; RGW's region stays
    # empty (it rejects us-east-1 as a LocationConstraint).
    region = 'us-east-1' if server['name'] == 's3api' else ''
    extra = 's3_store_max_upload_parts = 1000\n' if server['name'] == 's3api' else ''
    with open(path, 'w') as f:
        f.write(f"""[glance_store]
stores = s3
default_store = s3
s3_store_host = {server['endpoint']}
s3_store_access_key = {server['access_key']}
s3_store_secret_key = {server['secret_key']}
s3_store_region_name = {region}
s3_store_bucket = {bucket}
s3_store_create_bucket_on_put = true
s3_store_large_object_size = {LARGE_OBJECT_MIB}
s3_store_large_object_chunk_size = {CHUNK_MIB}
s3_store_thread_pools = {THREADS}
{extra}""")


def our_location(server, image_id):
    """The location of an object of BUCKET in our encoded form: the key's colon as %3A."""
    host = server['endpoint'].split('://', 1)[1].rstrip('/')
    key = server['access_key'].replace(':', '%3A')
    return f"s3://{key}:{server['secret_key']}@{host}/{BUCKET}/{image_id}"


class Curl:
    """The ceiling: one plain PUT of the whole file, one GET to /dev/null. On RGW through its S3
    API (SigV4, payload unsigned as our multipart parts are not hashed into the signature
    either); on s3api through the Swift API, as s3api's S3 keys have a colon curl cannot take."""

    def __init__(self, server):
        self.server = server
        if server['name'] == 's3api':
            req = urllib.request.Request(server['swift_auth'], headers={
                'X-Auth-User': server['access_key'], 'X-Auth-Key': server['secret_key']})
            with urllib.request.urlopen(req) as resp:
                self.base = resp.headers['X-Storage-Url'] + '/' + CURL_BUCKET
                self.auth = ['-H', 'X-Auth-Token: ' + resp.headers['X-Auth-Token']]
        else:
            self.base = server['endpoint'].rstrip('/') + '/' + CURL_BUCKET
            self.auth = ['--aws-sigv4', f"aws:amz:{server['region'] or 'default'}:s3",
                         '--user', f"{server['access_key']}:{server['secret_key']}",
                         '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD']

    def request(self, *args, ok=(200, 201, 204)):
        out = subprocess.run(['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}'] + self.auth
                             + list(args), check=True, capture_output=True, text=True).stdout
        if int(out) not in ok:
            raise RuntimeError(f'curl {" ".join(args)}: HTTP {out}')
        return int(out)

    def create_bucket(self):
        self.request('-X', 'PUT', self.base, ok=(200, 201, 202, 204, 409))

    def upload(self, path, name):
        return timed(['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}'] + self.auth
                     + ['-T', path, f'{self.base}/{name}'])

    def download(self, name):
        return timed(['curl', '-sS', '-f', '-o', '/dev/null'] + self.auth
                     + [f'{self.base}/{name}'])

    def delete(self, name):
        self.request('-X', 'DELETE', f'{self.base}/{name}', ok=(200, 204, 404))

    def delete_bucket(self):
        self.request('-X', 'DELETE', self.base, ok=(200, 204, 404, 409))


class KeystoneObject:
    """s3api's get source: one object in the Keystone account (gsproject), put once by a single
    Swift PUT with the user's Keystone token, read by glance-store and glance_store through the
    Keystone proxy's S3 API with the user's EC2 credentials and by curl through its Swift API."""

    def __init__(self, server, source):
        ks = server['keystone']
        body = json.dumps({'auth': {
            'identity': {'methods': ['password'], 'password': {'user': {
                'name': ks['GS_KS_USER'], 'domain': {'id': 'default'},
                'password': ks['GS_KS_PASSWORD']}}},
            'scope': {'project': {'name': ks['GS_KS_PROJECT'], 'domain': {'id': 'default'}}}}})
        req = urllib.request.Request(ks['GS_KEYSTONE_URL'] + '/auth/tokens', data=body.encode(),
                                     headers={'Content-Type': 'application/json'})
        with urllib.request.urlopen(req) as resp:
            token = resp.headers['X-Subject-Token']
            project_id = json.loads(resp.read())['token']['project']['id']
        self.auth = ['-H', 'X-Auth-Token: ' + token]
        proxy = ks['GS_SWIFT_KEYSTONE_URL'].rstrip('/')
        self.container = f'{proxy}/v1/AUTH_{project_id}/{KS_BUCKET}'
        self.name = str(uuid.uuid4())
        self.location = (f"s3://{ks['GS_KS_EC2_ACCESS']}:{ks['GS_KS_EC2_SECRET']}@"
                         f"{proxy.split('://', 1)[1]}/{KS_BUCKET}/{self.name}")
        self._curl('-X', 'PUT', self.container, ok=(201, 202))
        self._curl('-T', source, f'{self.container}/{self.name}', ok=(201,))

    def _curl(self, *args, ok):
        code = subprocess.run(['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}']
                              + self.auth + list(args), check=True, capture_output=True,
                              text=True).stdout
        if int(code) not in ok:
            raise RuntimeError(f'curl {args[-1]}: HTTP {code}')

    def download(self):
        return timed(['curl', '-sS', '-f', '-o', '/dev/null'] + self.auth
                     + [f'{self.container}/{self.name}'])

    def remove(self):
        """The container and whatever it holds (an interrupted earlier run's object too)."""
        listing = subprocess.run(['curl', '-sS'] + self.auth + [self.container], check=True,
                                 capture_output=True, text=True).stdout
        for name in filter(None, listing.splitlines()):
            self._curl('-X', 'DELETE', f'{self.container}/{urllib.parse.quote(name)}',
                       ok=(204, 404))
        for _ in range(20):  # the container's listing follows its objects' deletes
            try:
                return self._curl('-X', 'DELETE', self.container, ok=(204, 404))
            except RuntimeError:
                time.sleep(0.5)
        raise RuntimeError(f'{self.container} could not be deleted')


def rgw_collect_garbage(settle_mib=64, timeout=60):
    """RGW frees a deleted object's data only when its garbage collector runs (2 h later by
    default): run it now, and wait until the OSD has freed it, so that the 4 GiB OSD never holds
    more than the one live object and no freeing goes on during the next measurement."""
    subprocess.run(['radosgw-admin', '-c', CEPH_CONF, 'gc', 'process', '--include-all'],
                   check=True, capture_output=True, timeout=300)
    deadline = time.monotonic() + timeout
    while rgw_osd_allocated() > settle_mib * MIB and time.monotonic() < deadline:
        time.sleep(0.5)


def rgw_osd_allocated():
    out = subprocess.run(['ceph', '--admin-daemon', OSD_ASOK, 'perf', 'dump', 'bluestore'],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)['bluestore']['bluestore_allocated']


# ---------------------------------------------------------------------------------------------
# The benchmark

def bench_server(args, server, source, tmp):
    conf = os.path.join(tmp, f"{server['name']}.conf")
    our_config(server, conf)
    curl = Curl(server)
    curl.create_bucket()
    if server['name'] == 'rgw':
        rgw_collect_garbage()  # what earlier runs (tests) deleted still fills the OSD
    server_json = json.dumps(server)
    runs = {k: [] for k in ('ours_add', 'theirs_add', 'curl_add', 'ours_get', 'theirs_get',
                            'curl_get')}
    rss = {k: [] for k in runs}
    osd_peak = 0
    keystone_object = KeystoneObject(server, source) if server['name'] == 's3api' else None
    # glance_store reads with its configured s3_store_host (and the location's keys), so its get
    # on s3api is configured for the Keystone proxy.
    get_json = server_json
    if keystone_object:
        ks = server['keystone']
        get_json = json.dumps(dict(server, endpoint=ks['GS_SWIFT_KEYSTONE_URL'],
                                   access_key=ks['GS_KS_EC2_ACCESS'],
                                   secret_key=ks['GS_KS_EC2_SECRET']))

    def after_delete():
        nonlocal osd_peak
        if server['name'] == 'rgw':
            osd_peak = max(osd_peak, rgw_osd_allocated())
            rgw_collect_garbage()

    try:
        measure(args, server, source, conf, curl, keystone_object, get_json, runs, rss,
                after_delete)
    finally:
        if keystone_object:
            keystone_object.remove()
    curl.delete_bucket()
    leftovers = check_empty(server, curl)
    return {'runs': runs, 'rss_kib': rss, 'osd_peak_bytes': osd_peak or None,
            'leftovers': leftovers}


def measure(args, server, source, conf, curl, keystone_object, get_json, runs, rss,
            after_delete):
    """The alternating repetitions of one server; each object is deleted right after it is
    read."""
    size_mib = args.size_mib
    reference = ['/usr/bin/python3', os.path.abspath(__file__), '_glance_store']
    server_json = json.dumps(server)
    for rep in range(args.reps):
        for who in ('ours', 'theirs', 'curl'):
            image_id = str(uuid.uuid4())
            warm(source)
            if who == 'ours':
                wall, kib, out = timed([args.binary, '--config', conf, 'add',
                                        '--show-credentials', '--image-id', image_id, source])
                location = json.loads(out)['location']
            elif who == 'theirs':
                wall, kib, out = timed(reference + ['add', server_json, image_id, source])
                got = json.loads(out)
                wall, location = got['seconds'], got['location']
                # s3api: its location has the key's colon bare, which it (and we) cannot read
                # back; ours names the same object with the colon encoded.
                if server['name'] == 's3api':
                    location = our_location(server, image_id)
            else:
                wall, kib, code = curl.upload(source, image_id)
                if int(code) not in (200, 201):
                    raise RuntimeError(f'curl upload: HTTP {code}')
            runs[f'{who}_add'].append(size_mib / wall)
            rss[f'{who}_add'].append(kib)
            # On s3api every get reads the Keystone account's object (see S3API_GETS).
            read_from = keystone_object.location if keystone_object else location
            try:
                if who == 'ours':
                    with open(os.devnull, 'wb') as null:
                        wall, kib, _ = timed([args.binary, '--config', conf, 'get', read_from],
                                             stdout=null)
                elif who == 'theirs':
                    wall, kib, out = timed(reference + ['get', get_json, read_from])
                    got = json.loads(out)
                    if got['size'] != size_mib * MIB:
                        raise RuntimeError(f"glance_store read {got['size']} bytes")
                    wall = got['seconds']
                elif keystone_object:
                    wall, kib, _ = keystone_object.download()
                else:
                    wall, kib, _ = curl.download(image_id)
                runs[f'{who}_get'].append(size_mib / wall)
                rss[f'{who}_get'].append(kib)
            finally:
                # Delete at once, whatever happened: the servers hold one object at a time.
                if who == 'curl':
                    curl.delete(image_id)
                else:
                    subprocess.run([args.binary, '--config', conf, 'delete', location],
                                   check=True, capture_output=True)
                after_delete()
        print(f"{server['name']} repetition {rep + 1}/{args.reps}: "
              + ', '.join(f'{k} {v[-1]:.0f}' for k, v in runs.items() if v), file=sys.stderr)


def check_empty(server, curl):
    """What the servers still hold after the run (should be nothing), then the buckets go too."""
    if server['name'] == 'rgw':
        def get(query):
            return subprocess.run(['curl', '-sS'] + curl.auth
                                  + [f"{server['endpoint']}/{BUCKET}{query}"],
                                  capture_output=True, text=True).stdout
        left = {'objects': get('').count('<Key>'),
                'multipart_uploads': get('?uploads=').count('<UploadId>')}
        subprocess.run(['curl', '-sS', '-X', 'DELETE'] + curl.auth
                       + [f"{server['endpoint']}/{BUCKET}"], capture_output=True)
        rgw_collect_garbage()
        left['osd_allocated_MiB'] = round(rgw_osd_allocated() / MIB, 1)
        return left
    # s3api: object counts of the bucket and of its multipart segments container, via Swift.
    token, account = curl.auth[1].split(': ')[1], curl.base.rsplit('/', 1)[0]
    left = {}
    for container in (BUCKET, BUCKET + '+segments'):
        url = f'{account}/{urllib.parse.quote(container)}'
        try:
            with urllib.request.urlopen(urllib.request.Request(
                    url, method='HEAD', headers={'X-Auth-Token': token})) as resp:
                left[container] = int(resp.headers['X-Container-Object-Count'])
            urllib.request.urlopen(urllib.request.Request(
                url, method='DELETE', headers={'X-Auth-Token': token})).close()
        except urllib.error.HTTPError as e:
            left.setdefault(container, 0 if e.code == 404 else f'HTTP {e.code}')
    return left


def ratio_cell(ours, theirs, curl, vs_theirs, vs_curl):
    """'ours / theirs' and 'ours / curl' with their targets. Where curl's ceiling makes the
    multiple impossible (theirs × multiple > curl), the curl target is the one that counts."""
    c_ok = ours >= vs_curl * curl
    c = f"{100 * ours / curl:.0f} % (≥ {100 * vs_curl:.0f} %) {'met' if c_ok else 'MISSED'}"
    if theirs is None:
        return '—', c
    if vs_theirs * theirs > curl:
        t = (f"{ours / theirs:.2f}× (≥ {vs_theirs:g}×: impossible, {vs_theirs:g}× theirs "
             f"> curl; curl's target counts)")
    else:
        t = f"{ours / theirs:.2f}× (≥ {vs_theirs:g}×) {'met' if ours >= vs_theirs * theirs else 'MISSED'}"
    return t, c


def main():
    if len(sys.argv) > 1 and sys.argv[1] == '_glance_store':
        return glance_store_child(sys.argv[2:])
    ap = argparse.ArgumentParser()
    ap.add_argument('--binary', default=os.path.join(ROOT, 'build', 'glance-store'))
    ap.add_argument('--size-mib', type=int, default=1024)
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--servers', nargs='+', choices=list(SERVERS), default=['s3api', 'rgw'])
    ap.add_argument('--json', help='also write the raw numbers to this file')
    ap.add_argument('--tmpdir', default='/var/tmp', help='where the source file goes (not tmpfs)')
    args = ap.parse_args()
    args.binary = os.path.abspath(args.binary)

    fstype = subprocess.run(['stat', '-f', '-c', '%T', args.tmpdir], check=True,
                            capture_output=True, text=True).stdout.strip()
    if fstype == 'tmpfs':
        sys.exit(f'{args.tmpdir} is on tmpfs: use a disk filesystem')
    servers = [server_env(name) for name in args.servers]
    tmp = tempfile.mkdtemp(prefix='glance-store-s3-bench-', dir=args.tmpdir)
    results = {}
    try:
        source = os.path.join(tmp, 'source.img')
        make_source(source, args.size_mib)
        for server in servers:
            results[server['name']] = bench_server(args, server, source, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f'\n{args.size_mib} MiB of random bytes (warm in the page cache, on {fstype}), '
          f'{args.reps} alternating repetitions (glance-store, glance_store, curl), medians in '
          f'MiB/s; both stores: multipart from {LARGE_OBJECT_MIB} MiB, {CHUNK_MIB} MiB parts, '
          f'{THREADS} threads.')
    print('glance-store and curl are timed as whole processes; glance_store inside its process '
          'after its start-up (this favours glance_store). Peak RSS is the largest of the '
          'repetitions (/usr/bin/time %M; for glance_store, its python process). Ceilings: curl '
          'PUT of the whole file and GET to /dev/null (RGW: S3 API, SigV4; s3api: Swift API, '
          'tempauth token for the PUT, Keystone token for the GET).\n')
    print('| server | operation | glance-store | glance_store (Python) | curl | ours / theirs '
          '(target) | ours / curl (target) | peak RSS MiB: ours / theirs / curl |')
    print('|---|---|---|---|---|---|---|---|')
    for name, res in results.items():
        med = {k: statistics.median(v) if v else None for k, v in res['runs'].items()}
        peak = {k: max(v) / 1024 if v else None for k, v in res['rss_kib'].items()}
        res['medians'] = med
        res['peak_rss_mib'] = peak
        for op, label, vs_t, vs_c in (('add', 'add (upload)', ADD_VS_THEIRS, ADD_VS_CURL),
                                      ('get', 'get (download)', GET_VS_THEIRS, GET_VS_CURL)):
            ours, theirs, curl = med[f'ours_{op}'], med[f'theirs_{op}'], med[f'curl_{op}']
            t, c = ratio_cell(ours, theirs, curl, vs_t, vs_c)
            theirs_cell = f'{theirs:.0f}' if theirs is not None else '— (see below)'
            rss_theirs = f"{peak[f'theirs_{op}']:.1f}" if peak[f'theirs_{op}'] else '—'
            print(f"| {name} | {label} | {ours:.0f} | {theirs_cell} | {curl:.0f} | {t} | {c} | "
                  f"{peak[f'ours_{op}']:.1f} / {rss_theirs} / {peak[f'curl_{op}']:.1f} |")

    ours_peak = max(p for res in results.values()
                    for k, p in res['peak_rss_mib'].items() if k.startswith('ours_'))
    print(f'\nour peak RSS target: ≤ 64 + ({THREADS} threads + 1) × {CHUNK_MIB} MiB = '
          f'{RSS_LIMIT_MIB} MiB; largest measured {ours_peak:.1f} MiB: '
          f"{'met' if ours_peak <= RSS_LIMIT_MIB else 'MISSED'}")
    if 's3api' in results:
        print(f'\n{S3API_GETS}')
    print('\nall runs (MiB/s):')
    for name, res in results.items():
        print(f'  {name}:', json.dumps({k: [round(x) for x in v] for k, v in res['runs'].items()}))
    print('left on the servers after the run:',
          json.dumps({name: res['leftovers'] for name, res in results.items()}))
    if 'rgw' in results and results['rgw']['osd_peak_bytes']:
        print(f"RGW OSD peak allocated (before each garbage collection): "
              f"{results['rgw']['osd_peak_bytes'] / MIB:.0f} MiB of 4096")
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'size_mib': args.size_mib, 'reps': args.reps, 'results': results}, f,
                      indent=2)


if __name__ == '__main__':
    main()
