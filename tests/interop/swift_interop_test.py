#!/usr/bin/python3
"""Swift interoperability with Debian's glance_store 4.1 (python3-glance-store +
python3-swiftclient), on Swift all-in-one with tempauth (auth v1, single-tenant store, the
credentials in swift_store_user/key/auth_address as glance-api.conf gives them).

Images of 1 byte and 3 MiB (one object each) and segmented ones (large_object_size = 1 and
large_object_chunk_size = 1 Swift "MB" = 1,024,000 bytes on both sides: 3,500,000 bytes make 4
segments, 1,024,000 bytes exactly the one — glance_store segments from the threshold on) are
added by glance_store and read (md5 of every byte), sized and deleted by `glance-store`, and
added by `glance-store` and read, sized and deleted by glance_store. Both write Dynamic Large
Objects: glance_store its segments `<id>-00001`… (`X-Object-Manifest: <container>/<id>-`),
glance-store `<id>/<token>/00000001`… (`X-Object-Manifest: <container>/<id>/<token>/`, a
random token per add); the test checks the segments each one wrote through the Swift API, and
that after every delete the container holds nothing (no manifest, no segment).

usage: swift_interop_test.py GLANCE_STORE_BINARY   (Swift must run: scripts/servers/swift-aio)
"""
import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import uuid

from glance_store import backend, exceptions

# The same glance_store set-up as the benchmark's reference driver.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'bench'))
from glance_store_reference import swift_store_conf  # noqa: E402

BINARY = sys.argv[1]
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
logging.disable(logging.CRITICAL)
# tempauth's admin user of account AUTH_test (scripts/servers/README.md).
USER, KEY = 'test:tester', 'testing'
# One container per run: a leftover found in it is this run's.
CONTAINER = f'glance-interop-{uuid.uuid4().hex[:12]}'
SWIFT_MB = 1024000
# Swift "MB" thresholds: one object below LARGE, segments of CHUNK from LARGE on.
LAYOUTS = {'single': {'large': 100, 'chunk': 100}, 'segmented': {'large': 1, 'chunk': 1}}
# (bytes, layout, segments each store must write)
CASES = [(1, 'single', 0),
         (3 * 1024 * 1024, 'single', 0),
         (SWIFT_MB, 'segmented', 1),
         (3500000, 'segmented', 4)]
failures = []


def fail(what):
    failures.append(what)
    print('FAIL', what)


def swift_env():
    env = {k: v for k, v in os.environ.items() if k.startswith('GS_SWIFT_')}
    if 'GS_SWIFT_AUTH' not in env:
        out = subprocess.run([os.path.join(ROOT, 'scripts', 'servers', 'swift-aio'), 'env'],
                             capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith('export '):
                key, _, value = line[7:].partition('=')
                env[key] = value.strip('\'"')
    if 'GS_SWIFT_AUTH' not in env:
        sys.exit('the Swift server is not running: start it with scripts/servers/swift-aio start')
    return env


class SwiftApi:
    """The Swift API itself (tempauth token), to see what the stores left in the container."""

    def __init__(self, auth):
        try:
            with urllib.request.urlopen(urllib.request.Request(
                    auth, headers={'X-Auth-User': USER, 'X-Auth-Key': KEY}), timeout=30) as r:
                self.account = r.headers['X-Storage-Url']
                self.token = r.headers['X-Auth-Token']
        except urllib.error.HTTPError as e:
            sys.exit(f'Swift at {auth} refuses {USER}/{KEY} (HTTP {e.code}): start it with '
                     'scripts/servers/swift-aio start again')
        except (urllib.error.URLError, OSError) as e:
            sys.exit(f'the Swift server does not answer at {auth} ({e}): start it with '
                     'scripts/servers/swift-aio start')

    def call(self, method, path='', query=None):
        url = f'{self.account}/{urllib.parse.quote(CONTAINER)}'
        if path:
            url += '/' + urllib.parse.quote(path)
        if query:
            url += '?' + urllib.parse.urlencode(query)
        req = urllib.request.Request(url, method=method, headers={'X-Auth-Token': self.token})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def listing(self, prefix=''):
        """The container's object names (all of them: it is small), [] when it is missing."""
        status, _, body = self.call('GET', query={'format': 'json', 'prefix': prefix})
        if status == 404:
            return []
        if status != 200:
            raise RuntimeError(f'listing {CONTAINER}: HTTP {status}')
        return [o['name'] for o in json.loads(body)]

    def manifest(self, name):
        status, headers, _ = self.call('HEAD', name)
        headers = {k.lower(): v for k, v in headers.items()}
        return status, headers.get('x-object-manifest')


def glance_conf(env, layout):
    """glance_store's Swift store as Glance configures it (legacy single store, auth v1)."""
    return swift_store_conf(env['GS_SWIFT_AUTH'], USER, KEY, CONTAINER,
                            large_object_mb=LAYOUTS[layout]['large'],
                            chunk_mb=LAYOUTS[layout]['chunk'], auth_version='1')


def our_conf(env, directory, layout):
    path = os.path.join(directory, f'glance-api-{layout}.conf')
    with open(path, 'w') as f:
        f.write(f"""[glance_store]
stores = file, swift
default_store = swift
swift_store_auth_address = {env['GS_SWIFT_AUTH']}
swift_store_user = {USER}
swift_store_key = {KEY}
swift_store_auth_version = 1
swift_store_container = {CONTAINER}
swift_store_create_container_on_put = true
swift_store_large_object_size = {LAYOUTS[layout]['large']}
swift_store_large_object_chunk_size = {LAYOUTS[layout]['chunk']}
""")
    return path


def ours(config, *args):
    return subprocess.run([BINARY, '--config', config, *args], capture_output=True)


def check_written(api, who, image_id, size, segments):
    """What `who` left in the container for image_id: the object alone, or a DLO manifest and
    exactly `segments` segments, named in `who`'s layout."""
    names = api.listing(image_id)
    status, manifest = api.manifest(image_id)
    if who == 'glance_store':
        prefix = f'{image_id}-'
        expected = [image_id] + [f'{prefix}{i:05d}' for i in range(1, segments + 1)]
    else:
        token = names[1].split('/')[1] if len(names) > 1 and names[1].count('/') == 2 else '?'
        prefix = f'{image_id}/{token}/'
        expected = [image_id] + [f'{prefix}{i:08d}' for i in range(1, segments + 1)]
        if segments and not (len(token) == 32 and all(c in '0123456789abcdef' for c in token)):
            fail(f'{who}\'s segment token {token!r} is not 32 hex digits')
    if names != expected:
        fail(f'{who} wrote {names} for a {size}-byte image, expected {expected}')
    want = f'{CONTAINER}/{prefix}' if segments else None
    if status != 200 or manifest != want:
        fail(f'{who}\'s {size}-byte image: HEAD {status}, X-Object-Manifest {manifest!r} '
             f'(expected {want!r})')


def check_gone(api, who, image_id, size):
    left = api.listing(image_id)
    if left:
        fail(f'{who}\'s delete of a {size}-byte image left {left}')


def main():
    env = swift_env()
    api = SwiftApi(env['GS_SWIFT_AUTH'])
    with tempfile.TemporaryDirectory() as tmp:
        configs = {layout: our_conf(env, tmp, layout) for layout in LAYOUTS}
        try:
            for size, layout, segments in CASES:
                glance_conf(env, layout)
                config = configs[layout]
                data = os.urandom(size)
                md5 = hashlib.md5(data).hexdigest()
                image = os.path.join(tmp, 'image')
                with open(image, 'wb') as f:
                    f.write(data)

                # glance_store writes, we read.
                image_id = str(uuid.uuid4())
                with open(image, 'rb') as f:
                    location, written, checksum, _, _ = \
                        backend.store_add_to_backend_with_multihash(
                            image_id, f, size, 'sha512', backend.get_store_from_scheme('swift'))
                if checksum != md5 or written != size:
                    fail(f'glance_store add of {size} bytes: {checksum} {written}')
                check_written(api, 'glance_store', image_id, size, segments)
                got = ours(config, 'get', location)
                if got.returncode != 0 or hashlib.md5(got.stdout).hexdigest() != md5:
                    fail(f'our get of glance_store\'s {size}-byte image: rc {got.returncode}, '
                         f'{len(got.stdout)} bytes {got.stderr.decode()[-300:]}')
                sized = ours(config, 'size', location)
                if sized.returncode != 0 or sized.stdout.decode().strip() != str(size):
                    fail(f'our size of glance_store\'s {size}-byte image: {sized.stdout!r} '
                         f'{sized.stderr.decode()[-300:]}')
                deleted = ours(config, 'delete', location)
                if deleted.returncode != 0:
                    fail(f'our delete of glance_store\'s {size}-byte image: rc '
                         f'{deleted.returncode} {deleted.stderr.decode()[-300:]}')
                check_gone(api, 'our', image_id, size)
                again = ours(config, 'size', location)
                if again.returncode != 10:  # NotFound
                    fail(f'our size after our delete: rc {again.returncode}, expected 10')

                # We write, glance_store reads.
                image_id = str(uuid.uuid4())
                added = ours(config, 'add', '--show-credentials', '--image-id', image_id, image)
                if added.returncode != 0:
                    fail(f'our add of {size} bytes: {added.stderr.decode()[-300:]}')
                    continue
                result = json.loads(added.stdout)
                if result['checksum'] != md5 or result['size'] != size:
                    fail(f'our add: checksum {result["checksum"]} size {result["size"]}, '
                         f'expected {md5} {size}')
                check_written(api, 'glance-store', image_id, size, segments)
                chunks, got_size = backend.get_from_backend(result['location'])
                back = b''.join(chunks)
                if got_size != size or hashlib.md5(back).hexdigest() != md5:
                    fail(f'glance_store read of our {size}-byte image: {got_size} / {len(back)} '
                         'bytes, or other bytes')
                if backend.get_size_from_backend(result['location']) != size:
                    fail(f'glance_store size of our {size}-byte image')
                backend.delete_from_backend(result['location'])
                check_gone(api, 'glance_store', image_id, size)
                try:
                    backend.get_from_backend(result['location'])
                    fail('our image still there after glance_store deleted it')
                except exceptions.NotFound:
                    pass
                print(f'ok: {size} bytes ({layout}, {segments} segments) both ways')
        finally:
            left = api.listing()
            if left:
                fail(f'the container still holds {left}')
                for name in left:
                    api.call('DELETE', name)
            api.call('DELETE')
    if failures:
        sys.exit(f'{len(failures)} interoperability failures')
    print('swift interop: all cases agree, nothing left in the container')


if __name__ == '__main__':
    main()
