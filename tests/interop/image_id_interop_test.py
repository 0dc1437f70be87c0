#!/usr/bin/python3
"""The image-id rule through `glance-store add --image-id`, checked against Debian's glance_store
4.1 (python3-glance-store) on the filesystem, on Ceph's RADOS Gateway (S3) and on Swift
all-in-one (tempauth).

Ids are generated as bytes (every byte value but NUL, which argv cannot carry, alone and inside
a string; Unicode white space; random UTF-8; malformed UTF-8; the stores' length limits). For
each id, whether `add` must accept it is decided here by Python's own view of the rule (strict
UTF-8 decoding, category Cc, str.strip) and the store's limits:
- accepted (exit 0): the store holds exactly one new object and its name is the id; glance_store's
  parser of the printed location names that object (file: `path`; s3: `bucket`, `key`; swift:
  `container`, `obj`); glance_store's get reads the bytes back; our get, size and delete work, and
  afterwards the store holds nothing;
- refused: exit 12, `Invalid` on stderr, nothing written.

usage: image_id_interop_test.py GLANCE_STORE_BINARY
(the servers must run: scripts/servers/ceph-rgw and scripts/servers/swift-aio)
"""
import concurrent.futures
import json
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
import uuid

import boto3
import botocore.config
import botocore.exceptions
from glance_store import backend, location

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'bench'))
from glance_store_reference import file_store_conf, s3_store_conf, swift_store_conf  # noqa: E402

BINARY = sys.argv[1].encode()
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
logging.disable(logging.CRITICAL)
DATA = b'xyz'
FS_MAX, S3_MAX, SWIFT_MAX = 200, 1024, 982  # bytes
FILE_THREADS = 2
SWIFT_USER, SWIFT_KEY = 'test:tester', 'testing'  # tempauth's admin of AUTH_test
SPACES = [chr(c) for c in range(0x110000) if chr(c).isspace()]
NOT_SPACES = ['\u180e', '\u200b', '\u2060', '\ufeff']
failures = []


def fail(what):
    failures.append(what)
    print('FAIL', what, flush=True)


def follows_rule(image_id):
    """The rule of the issue, as Python sees it."""
    try:
        text = image_id.decode('utf-8')  # strict: no overlongs, surrogates, > U+10FFFF
    except UnicodeDecodeError:
        return False
    return (text not in ('', '.', '..') and text.strip() == text and
            not any(unicodedata.category(c) == 'Cc' for c in text) and
            not set(text) & set('/?#;@%'))


def utf8(rng, safe):
    """A random code point, UTF-8; `safe` leaves out controls, specials and white space."""
    while True:
        kind = rng.randrange(100)
        if kind < 40:
            c = rng.choice('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
                           "-_.~!$&'()*+,=:[]\\ \"<>^`{|}")
        elif kind < 55:
            c = chr(rng.randrange(0xA0, 0x800))
        elif kind < 80:
            c = chr(rng.randrange(0x800, 0x10000))
        elif kind < 92:
            c = chr(rng.randrange(0x10000, 0x110000))
        elif not safe:
            c = chr(rng.randrange(1, 0xA0)) if kind < 96 else rng.choice(SPACES)
        else:
            continue
        if not 0xD800 <= ord(c) <= 0xDFFF:
            return c.encode()


def generated_ids(rng):
    ids = []
    for b in range(1, 256):
        c = bytes([b])
        ids += [c, b'a' + c + b'b']
        if not c.isalnum():  # at the end: truncated sequences, white space, punctuation
            ids.append(b'ab' + c)
    for s in SPACES + NOT_SPACES:
        s = s.encode()
        ids += [s + b'ab', b'a' + s + b'b', b'ab' + s]
    for n in range(120):
        ids.append(b''.join(utf8(rng, n % 2 == 0) for _ in range(rng.randint(1, 60))))
    breakers = [b'\x80', b'\xbf', b'\xc0\xaf', b'\xc1\xbf', b'\xe0\x80\xaf', b'\xed\xa0\x80',
                b'\xed\xbf\xbf', b'\xf0\x8f\xbf\xbf', b'\xf4\x90\x80\x80', b'\xf5\x80\x80\x80',
                b'\xfe', b'\xff', b'\xc3', b'\xe2\x82', b'\xf0\x9f\x98']
    for _ in range(40):
        ids.append(bytes(rng.randrange(1, 256) for _ in range(rng.randint(1, 40))))
    for _ in range(40):
        good = b''.join(utf8(rng, True) for _ in range(rng.randint(1, 20)))
        at = rng.randrange(len(good) + 1)
        ids.append(good[:at] + rng.choice(breakers) + good[at:])
    return ids


# Ids every store is given, whatever the sample: the ordinary and the edge cases.
EXPLICIT = [s.encode() if isinstance(s, str) else s for s in [
    str(uuid.UUID(int=0x3f1c9a520b5e4c7e9d0b8a6f2e4d1c3b)), 'imágé-é', 'a b', 'a:b', 'a+b',
    '[x]', 'a&b=c', 'a\\b', "!$&'()*+,=", '~', 'a..b', '...', '.hidden', '-dash', '--x',
    'a\u2003b', '\U0001f600', 'a\u200b', '\ufeffa', '中文', 'a"b<c>', 'a`{|}^',
    'a?b', 'a#b', 'a;b', 'a@b', 'a%41b', 'a/b', '..', '.', ' a', 'a ', 'a\u00a0', 'a\u3000',
    'a\x7fb', 'a\u0085b', b'\xff', b'\xc0\xaf', b'\xed\xa0\x80', b'a\xe2\x82']]


def length_ids(limit):
    return [b'k' * limit, b'k' * (limit + 1), 'é'.encode() * (limit // 2),
            b'k' + 'é'.encode() * (limit // 2)]


def unique(ids):
    seen, out = set(), []
    for i in ids:
        if i and i not in seen:
            seen.add(i)
            out.append(i)
    return out


def ours(config, *args):
    args = [a if isinstance(a, bytes) else a.encode() for a in args]
    return subprocess.run([BINARY, b'--config', config.encode(), *args], capture_output=True,
                          timeout=120)


def add(config, image_id, image):
    return ours(config, 'add', '--show-credentials', '--image-id', image_id, image)


class Tally:
    def __init__(self):
        self.accepted = self.refused = 0


def check_id(store, image_id, image, should_accept, tally):
    """One id through our add, then both libraries on the location; the store is empty before
    and after. `store` gives: name, listing() (the object names, as bytes), names(loc)
    (glance_store's view of the printed location: the name of the object it reads, as bytes, or
    a text saying what else it names), clean(), final_check()."""
    what = f'{store.name}: id {image_id!r}'
    config = store.config
    p = add(config, image_id, image)
    if p.returncode != 0:
        tally.refused += 1
        if p.returncode != 12 or b'Invalid' not in p.stderr:
            fail(f'{what}: rc {p.returncode}, expected 12 (Invalid): {p.stderr[-300:]!r}')
        elif should_accept:
            fail(f'{what}: refused, though it follows the rule: {p.stderr[-300:]!r}')
        left = store.listing()
        if left:
            fail(f'{what}: a refused add left {left}')
            store.clean()
        return
    tally.accepted += 1
    if not should_accept:
        fail(f'{what}: accepted, though the rule refuses it')
    loc = json.loads(p.stdout)['location']
    written = store.listing()
    if written != [image_id]:
        fail(f'{what}: the add wrote {written}')
    try:
        if store.names(loc) != image_id:
            fail(f'{what}: glance_store reads {loc!r} as {store.names(loc)!r}')
        chunks, size = backend.get_from_backend(loc)
        got = b''.join(chunks)
        if (got, size) != (DATA, len(DATA)):
            fail(f'{what}: glance_store get of {loc!r}: {got!r}, {size}')
    except Exception as e:  # noqa: BLE001 - any failure of glance_store's is the finding
        fail(f'{what}: glance_store on {loc!r}: {type(e).__name__}: {e}')
    got = ours(config, 'get', loc)
    if (got.returncode, got.stdout) != (0, DATA):
        fail(f'{what}: our get: rc {got.returncode} {got.stdout!r} {got.stderr[-300:]!r}')
    sized = ours(config, 'size', loc)
    if (sized.returncode, sized.stdout.strip()) != (0, str(len(DATA)).encode()):
        fail(f'{what}: our size: rc {sized.returncode} {sized.stdout!r}')
    deleted = ours(config, 'delete', loc)
    if deleted.returncode != 0:
        fail(f'{what}: our delete: rc {deleted.returncode} {deleted.stderr[-300:]!r}')
    left = store.listing()
    if left:
        fail(f'{what}: after our delete the store holds {left}')
        store.clean()


class FileStore:
    name = 'file'

    def __init__(self, work, n):
        self.datadir = os.path.join(work, f'images{n}')
        os.makedirs(self.datadir)
        self.config = os.path.join(work, f'file{n}.conf')
        with open(self.config, 'w') as f:
            f.write(f'[glance_store]\nstores = file\nfilesystem_store_datadir = {self.datadir}\n')

    def glance_conf(self):
        return file_store_conf(self.datadir)

    def listing(self):
        return sorted(os.listdir(os.fsencode(self.datadir)))  # hidden temporaries too

    def names(self, loc):
        path = location.get_location_from_uri(loc, self.conf).store_location.path
        head = self.datadir + '/'
        return path[len(head):].encode('utf-8', 'surrogateescape') if path.startswith(head) \
            else f'<outside the datadir: {path!r}>'

    def clean(self):
        for name in self.listing():
            os.unlink(os.path.join(os.fsencode(self.datadir), name))

    def final_check(self):
        pass


def server_env(script, needed):
    """The server's settings: from the environment, else from its script's `env`."""
    env = {k: v for k, v in os.environ.items() if k.startswith('GS_')}
    if not all(k in env for k in needed):
        out = subprocess.run([os.path.join(ROOT, 'scripts', 'servers', script), 'env'],
                             capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith('export '):
                key, _, value = line[7:].partition('=')
                env.setdefault(key, value.strip('\'"'))
    missing = [k for k in needed if not env.get(k)]
    if missing:
        sys.exit(f'{script} is not running (no {", ".join(missing)}): start it with '
                 f'scripts/servers/{script} start')
    return env


class S3Store:
    name = 's3 (RGW)'

    def __init__(self, work):
        env = server_env('ceph-rgw', ['GS_RGW_ENDPOINT', 'GS_RGW_ACCESS_KEY', 'GS_RGW_SECRET_KEY'])
        self.endpoint, self.access = env['GS_RGW_ENDPOINT'], env['GS_RGW_ACCESS_KEY']
        self.secret, region = env['GS_RGW_SECRET_KEY'], env.get('GS_RGW_REGION', '')
        self.bucket = f'glance-ids-{uuid.uuid4().hex[:12]}'  # a leftover in it is this run's
        self.client = boto3.client(
            's3', endpoint_url=self.endpoint, aws_access_key_id=self.access,
            aws_secret_access_key=self.secret, region_name=region or 'us-east-1',
            config=botocore.config.Config(s3={'addressing_style': 'path'}, connect_timeout=10,
                                          read_timeout=30, retries={'max_attempts': 3}))
        try:
            self.client.create_bucket(Bucket=self.bucket)
        except (botocore.exceptions.EndpointConnectionError,
                botocore.exceptions.ClientError) as e:
            sys.exit(f'RGW at {self.endpoint} does not work ({e}): start it with '
                     'scripts/servers/ceph-rgw start')
        self.config = os.path.join(work, 's3.conf')
        with open(self.config, 'w') as f:
            f.write(f"""[glance_store]
stores = s3
default_store = s3
s3_store_host = {self.endpoint}
s3_store_access_key = {self.access}
s3_store_secret_key = {self.secret}
s3_store_region_name = {region}
s3_store_bucket = {self.bucket}
s3_store_create_bucket_on_put = true
""")

    def glance_conf(self):
        return s3_store_conf(self.endpoint, self.access, self.secret, self.bucket)

    def listing(self):
        # Keys come back as text: S3 keys are UTF-8.
        return sorted(o['Key'].encode() for o in
                      self.client.list_objects_v2(Bucket=self.bucket).get('Contents', []))

    def final_check(self):
        # 3-byte adds are single PUTs; an upload started anyway would show here.
        uploads = self.client.list_multipart_uploads(Bucket=self.bucket).get('Uploads', [])
        if uploads:
            fail(f'{self.name}: unfinished uploads left: {[u["Key"] for u in uploads]}')

    def names(self, loc):
        parsed = location.get_location_from_uri(loc, self.conf).store_location
        if parsed.bucket != self.bucket:
            return f'<bucket {parsed.bucket!r}>'
        return parsed.key.encode()

    def clean(self):
        for u in self.client.list_multipart_uploads(Bucket=self.bucket).get('Uploads', []):
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=u['Key'],
                                               UploadId=u['UploadId'])
        for o in self.client.list_objects_v2(Bucket=self.bucket).get('Contents', []):
            self.client.delete_object(Bucket=self.bucket, Key=o['Key'])

    def close(self):
        self.clean()
        self.client.delete_bucket(Bucket=self.bucket)


class SwiftStore:
    name = 'swift (tempauth)'

    def __init__(self, work):
        self.auth = server_env('swift-aio', ['GS_SWIFT_AUTH'])['GS_SWIFT_AUTH']
        self.container = f'glance-ids-{uuid.uuid4().hex[:12]}'
        try:
            with urllib.request.urlopen(urllib.request.Request(
                    self.auth, headers={'X-Auth-User': SWIFT_USER, 'X-Auth-Key': SWIFT_KEY}),
                    timeout=30) as r:
                self.account, self.token = r.headers['X-Storage-Url'], r.headers['X-Auth-Token']
        except (urllib.error.URLError, OSError) as e:
            sys.exit(f'Swift does not answer at {self.auth} ({e}): start it with '
                     'scripts/servers/swift-aio start')
        self.config = os.path.join(work, 'swift.conf')
        with open(self.config, 'w') as f:
            f.write(f"""[glance_store]
stores = swift
default_store = swift
swift_store_auth_address = {self.auth}
swift_store_user = {SWIFT_USER}
swift_store_key = {SWIFT_KEY}
swift_store_auth_version = 1
swift_store_container = {self.container}
swift_store_create_container_on_put = true
""")

    def glance_conf(self):
        return swift_store_conf(self.auth, SWIFT_USER, SWIFT_KEY, self.container,
                                auth_version='1')

    def call(self, method, name=b'', query=''):
        url = f'{self.account}/{urllib.parse.quote(self.container)}'
        if name:
            url += '/' + urllib.parse.quote(name, safe='')
        req = urllib.request.Request(url + query, method=method,
                                     headers={'X-Auth-Token': self.token})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def listing(self):
        status, body = self.call('GET', query='?format=json')
        if status == 404:
            return []
        if status != 200:
            raise RuntimeError(f'listing {self.container}: HTTP {status}')
        return sorted(o['name'].encode() for o in json.loads(body))

    def names(self, loc):
        parsed = location.get_location_from_uri(loc, self.conf).store_location
        if parsed.container != self.container:
            return f'<container {parsed.container!r}>'
        return parsed.obj.encode()

    def clean(self):
        for name in self.listing():
            self.call('DELETE', name)

    def final_check(self):
        pass

    def close(self):
        self.clean()
        self.call('DELETE')


def run(shards, ids, limit, leading_dot_ok, image):
    """`ids` through `shards` (stores of one type, each its own datadir, bucket or container),
    one thread each: most of the time goes to starting glance-store."""
    # glance_store's scheme map now points at this store type; its parser needs no more than
    # one configuration of it.
    conf = shards[0].glance_conf()
    for shard in shards:
        shard.conf = conf
    tallies = [Tally() for _ in shards]

    def work(n):
        for image_id in ids[n::len(shards)]:
            should = follows_rule(image_id) and len(image_id) <= limit and \
                (leading_dot_ok or not image_id.startswith(b'.'))
            check_id(shards[n], image_id, image, should, tallies[n])
        shards[n].final_check()

    start = time.monotonic()
    for s in shards:
        if s.listing():
            fail(f'{s.name}: not empty before the first add: {s.listing()[:5]}')
    with concurrent.futures.ThreadPoolExecutor(len(shards)) as pool:
        list(pool.map(work, range(len(shards))))
    accepted = sum(t.accepted for t in tallies)
    refused = sum(t.refused for t in tallies)
    print(f'{shards[0].name}: {len(ids)} ids, {accepted} accepted, {refused} refused, '
          f'{time.monotonic() - start:.1f} s', flush=True)
    if accepted < len(ids) // 5 or refused < len(ids) // 5:
        fail(f'{shards[0].name}: too few accepted or refused ids for the property to mean much')


def main():
    rng = random.Random(20260402)
    ids = unique(EXPLICIT + generated_ids(rng) + length_ids(FS_MAX))
    # The network stores get a smaller sample: the explicit ids and a few generated ones, most
    # of them ids the rule accepts.
    generated = ids[len(EXPLICIT):]
    sample = rng.sample([i for i in generated if follows_rule(i)], 4) + \
        rng.sample([i for i in generated if not follows_rule(i)], 2)
    work = tempfile.mkdtemp(prefix='glance_store_ids.')
    try:
        image = os.path.join(work, 'image')
        with open(image, 'wb') as f:
            f.write(DATA)
        # Every server up before any case.
        files = [FileStore(work, n) for n in range(FILE_THREADS)]
        s3, swift = S3Store(work), SwiftStore(work)
        try:
            run(files, ids, FS_MAX, False, image)
            run([s3], unique(EXPLICIT + sample + length_ids(S3_MAX)), S3_MAX, True, image)
            run([swift], unique(EXPLICIT + sample + length_ids(SWIFT_MAX)), SWIFT_MAX, True,
                image)
        finally:
            s3.close()
            swift.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        sys.exit(f'{len(failures)} image-id failures')
    print('image ids: every accepted id names its own object for both libraries')


if __name__ == '__main__':
    main()
