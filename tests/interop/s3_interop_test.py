#!/usr/bin/python3
"""S3 interoperability with Debian's glance_store 4.1 (python3-glance-store + python3-boto3),
on Ceph's RADOS Gateway (its keys have no colon: glance_store cannot use tempauth's S3 keys).

An image added by glance_store is read, sized and deleted by `glance-store`, and one added by
`glance-store` (single PUT and multipart) is read, sized and deleted by glance_store; bytes and
md5 agree.

usage: s3_interop_test.py GLANCE_STORE_BINARY   (the RGW server must run: scripts/servers/ceph-rgw)
"""
import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import uuid

from glance_store import backend, exceptions

# The same glance_store set-up as the benchmark's reference driver.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'bench'))
from glance_store_reference import s3_store_conf  # noqa: E402

BINARY = sys.argv[1]
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
logging.disable(logging.CRITICAL)
BUCKET = 'glance-interop'
failures = []


def fail(what):
    failures.append(what)
    print('FAIL', what)


def rgw_env():
    env = {k: v for k, v in os.environ.items() if k.startswith('GS_RGW_')}
    if 'GS_RGW_ENDPOINT' not in env:
        out = subprocess.run([os.path.join(ROOT, 'scripts', 'servers', 'ceph-rgw'), 'env'],
                             capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith('export '):
                key, _, value = line[7:].partition('=')
                env[key] = value.strip('\'"')
    if 'GS_RGW_ENDPOINT' not in env:
        sys.exit('the RGW server is not running: start it with scripts/servers/ceph-rgw start')
    return env


def glance_conf(env):
    """glance_store's S3 store as Glance configures it (legacy single store)."""
    return s3_store_conf(env['GS_RGW_ENDPOINT'], env['GS_RGW_ACCESS_KEY'],
                         env['GS_RGW_SECRET_KEY'], BUCKET, large_object_mib=10, chunk_mib=5)


def our_conf(env, directory):
    path = os.path.join(directory, 'glance-api.conf')
    with open(path, 'w') as f:
        f.write(f"""[glance_store]
stores = s3
default_store = s3
s3_store_host = {env['GS_RGW_ENDPOINT']}
s3_store_access_key = {env['GS_RGW_ACCESS_KEY']}
s3_store_secret_key = {env['GS_RGW_SECRET_KEY']}
s3_store_region_name = {env.get('GS_RGW_REGION', '')}
s3_store_bucket = {BUCKET}
s3_store_create_bucket_on_put = true
s3_store_large_object_size = 10
s3_store_large_object_chunk_size = 5
""")
    return path


def ours(config, *args):
    return subprocess.run([BINARY, '--config', config, *args], capture_output=True)


def main():
    env = rgw_env()
    glance_conf(env)
    with tempfile.TemporaryDirectory() as tmp:
        config = our_conf(env, tmp)
        for size in (1, 3 * 1024 * 1024 + 7, 17 * 1024 * 1024 + 3):
            data = os.urandom(size)
            md5 = hashlib.md5(data).hexdigest()
            image = os.path.join(tmp, 'image')
            with open(image, 'wb') as f:
                f.write(data)

            # glance_store writes, we read.
            with open(image, 'rb') as f:
                location, written, checksum, _, _ = backend.store_add_to_backend_with_multihash(
                    str(uuid.uuid4()), f, size, 'sha512', backend.get_store_from_scheme('s3'))
            if checksum != md5 or written != size:
                fail(f'glance_store add of {size} bytes: {checksum} {written}')
            got = ours(config, 'get', location)
            if got.returncode != 0 or hashlib.md5(got.stdout).hexdigest() != md5:
                fail(f'our get of glance_store\'s {size}-byte image: rc {got.returncode} '
                     f'{got.stderr.decode()[-200:]}')
            sized = ours(config, 'size', location)
            if sized.stdout.decode().strip() != str(size):
                fail(f'our size of glance_store\'s image: {sized.stdout!r}')
            if ours(config, 'delete', location).returncode != 0:
                fail('our delete of glance_store\'s image')

            # We write, glance_store reads.
            added = ours(config, 'add', '--show-credentials', image)
            if added.returncode != 0:
                fail(f'our add of {size} bytes: {added.stderr.decode()[-200:]}')
                continue
            result = json.loads(added.stdout)
            if result['checksum'] != md5:
                fail(f'our add checksum {result["checksum"]} != {md5}')
            chunks, got_size = backend.get_from_backend(result['location'])
            back = b''.join(chunks)
            if got_size != size or hashlib.md5(back).hexdigest() != md5:
                fail(f'glance_store read of our {size}-byte image: {got_size} bytes')
            if backend.get_size_from_backend(result['location']) != size:
                fail('glance_store size of our image')
            backend.delete_from_backend(result['location'])
            try:
                backend.get_from_backend(result['location'])
                fail('our image still there after glance_store deleted it')
            except exceptions.NotFound:
                pass
            print(f'ok: {size} bytes both ways')
    if failures:
        sys.exit(f'{len(failures)} interoperability failures')
    print('s3 interop: all cases agree')


if __name__ == '__main__':
    main()
