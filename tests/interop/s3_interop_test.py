#!/usr/bin/python3
"""S3 interoperability with Debian's glance_store 4.1 (python3-glance-store + python3-boto3), on
two servers whose keys have no colon (glance_store cannot use tempauth's S3 keys `test:tester`):
Ceph's RADOS Gateway, and Swift's s3api behind the Keystone-backed proxy with the EC2 credentials
of gsuser (s3token: Keystone checks every request's signature).

On each, an image added by glance_store is read (md5 of every byte), sized and deleted by
`glance-store`, and one added by `glance-store` is read, sized and deleted by glance_store: a
single PUT and a multipart upload (large_object_size 10 MiB, chunk 5 MiB on both sides). The
object's ETag shows the number of parts each one wrote, and after each delete the key is gone.
Each run uses a bucket of its own (created on put, by glance_store's first add), deleted at the
end.

usage: s3_interop_test.py GLANCE_STORE_BINARY
(the servers must run: scripts/servers/ceph-rgw, scripts/servers/swift-aio then keystone)
"""
import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass

import boto3
import botocore.config
import botocore.exceptions
from glance_store import backend, exceptions

# The same glance_store set-up as the benchmark's reference driver.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'bench'))
from glance_store_reference import s3_store_conf  # noqa: E402

BINARY = sys.argv[1]
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
logging.disable(logging.CRITICAL)
MIB = 1024 * 1024
# Both stores: one PUT below LARGE_MIB, parts of CHUNK_MIB from there on.
LARGE_MIB, CHUNK_MIB = 10, 5
failures = []


@dataclass
class Server:
    name: str
    script: str     # scripts/servers/<script> start|env
    endpoint: str   # the names of its `env` variables
    access: str
    secret: str
    region: str     # the region, or the name of the `env` variable that holds it
    sizes: tuple    # image sizes: below LARGE_MIB one PUT, from it on multipart


SERVERS = [
    Server('RGW', 'ceph-rgw', 'GS_RGW_ENDPOINT', 'GS_RGW_ACCESS_KEY', 'GS_RGW_SECRET_KEY',
           'GS_RGW_REGION', (1, 3 * MIB + 7, 17 * MIB + 3)),
    # Keystone validates every request (s3token): small images, at most 3 parts.
    Server('s3api+Keystone', 'keystone', 'GS_SWIFT_KEYSTONE_URL', 'GS_KS_EC2_ACCESS',
           'GS_KS_EC2_SECRET', 'us-east-1', (1, 3 * MIB, 12 * MIB + 5)),
]


def fail(what):
    failures.append(what)
    print('FAIL', what, flush=True)


def parts(size):
    """The number of parts either store writes for `size` bytes, 0 for a single PUT."""
    return 0 if size < LARGE_MIB * MIB else -(-size // (CHUNK_MIB * MIB))


def server_env(server):
    """The server's endpoint, keys and region: from the environment, else from its script's
    `env`. Fails (exits non-zero) unless the server answers a signed request with them."""
    needed = (server.endpoint, server.access, server.secret)
    env = {k: v for k, v in os.environ.items() if k.startswith('GS_')}
    if not all(k in env for k in needed):
        out = subprocess.run([os.path.join(ROOT, 'scripts', 'servers', server.script), 'env'],
                             capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith('export '):
                key, _, value = line[7:].partition('=')
                env.setdefault(key, value.strip('\'"'))
    start = f'start it with scripts/servers/{server.script} start'
    missing = [k for k in needed if not env.get(k)]
    if missing:
        sys.exit(f'{server.name} is not running (no {", ".join(missing)}): {start}')
    result = {'endpoint': env[server.endpoint], 'access': env[server.access],
              'secret': env[server.secret],
              'region': env.get(server.region, '') if server.region.startswith('GS_')
              else server.region}
    try:
        s3_client(result).list_buckets()
    except botocore.exceptions.EndpointConnectionError as e:
        sys.exit(f'{server.name} is not running ({e}): {start}')
    except botocore.exceptions.ClientError as e:
        sys.exit(f'{server.name} at {result["endpoint"]} refuses its keys {server.access} and '
                 f'{server.secret} ({e}): take them from its env, or {start} again')
    return result


def s3_client(env):
    """boto3 on the server, to see what the stores left, and to remove the bucket."""
    return boto3.client('s3', endpoint_url=env['endpoint'], aws_access_key_id=env['access'],
                        aws_secret_access_key=env['secret'],
                        region_name=env['region'] or 'us-east-1',
                        config=botocore.config.Config(s3={'addressing_style': 'path'},
                                                      retries={'max_attempts': 3}))


def our_conf(env, bucket, directory):
    path = os.path.join(directory, 'glance-api.conf')
    with open(path, 'w') as f:
        f.write(f"""[glance_store]
stores = s3
default_store = s3
s3_store_host = {env['endpoint']}
s3_store_access_key = {env['access']}
s3_store_secret_key = {env['secret']}
s3_store_region_name = {env['region']}
s3_store_bucket = {bucket}
s3_store_create_bucket_on_put = true
s3_store_large_object_size = {LARGE_MIB}
s3_store_large_object_chunk_size = {CHUNK_MIB}
""")
    return path


def ours(config, *args):
    return subprocess.run([BINARY, '--config', config, *args], capture_output=True)


def key_of(location):
    return location.rsplit('/', 1)[1]


def check_written(client, bucket, who, location, size):
    """The object `who` wrote: `size` bytes, in the expected number of parts (its ETag's -N)."""
    try:
        head = client.head_object(Bucket=bucket, Key=key_of(location))
    except botocore.exceptions.ClientError as e:
        fail(f'{who} wrote a {size}-byte image, but HEAD says {e}')
        return
    etag = head['ETag'].strip('"')
    got = int(etag.rsplit('-', 1)[1]) if '-' in etag else 0
    if head['ContentLength'] != size or got != parts(size):
        fail(f'{who} wrote a {size}-byte image as {head["ContentLength"]} bytes, ETag {etag} '
             f'({parts(size)} parts expected)')


def check_gone(client, bucket, who, location, size):
    try:
        client.head_object(Bucket=bucket, Key=key_of(location))
        fail(f'{who} deleted a {size}-byte image, but the object is still there')
    except botocore.exceptions.ClientError as e:
        if e.response['Error']['Code'] not in ('404', 'NoSuchKey'):
            fail(f'{who} deleted a {size}-byte image, then HEAD says {e}')


def remove_bucket(client, bucket):
    """The run's bucket, and whatever a failed case left in it (parts of an aborted upload
    too)."""
    try:
        for upload in client.list_multipart_uploads(Bucket=bucket).get('Uploads', []):
            client.abort_multipart_upload(Bucket=bucket, Key=upload['Key'],
                                          UploadId=upload['UploadId'])
        for obj in client.list_objects_v2(Bucket=bucket).get('Contents', []):
            client.delete_object(Bucket=bucket, Key=obj['Key'])
        client.delete_bucket(Bucket=bucket)
    except botocore.exceptions.ClientError as e:
        if e.response['Error']['Code'] not in ('404', 'NoSuchBucket'):
            fail(f'removing bucket {bucket}: {e}')


def run(server, env, tmp):
    # One bucket per run and server: a leftover found in it is this run's.
    bucket = f'glance-interop-{uuid.uuid4().hex[:12]}'
    client = s3_client(env)
    # glance_store as Glance configures it (legacy single store); re-registers the s3 scheme.
    s3_store_conf(env['endpoint'], env['access'], env['secret'], bucket,
                  large_object_mib=LARGE_MIB, chunk_mib=CHUNK_MIB)
    config = our_conf(env, bucket, tmp)
    try:
        for size in server.sizes:
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
                fail(f'{server.name}: glance_store add of {size} bytes: {checksum} {written}')
            check_written(client, bucket, f'{server.name}: glance_store', location, size)
            got = ours(config, 'get', location)
            if got.returncode != 0 or hashlib.md5(got.stdout).hexdigest() != md5:
                fail(f'{server.name}: our get of glance_store\'s {size}-byte image: rc '
                     f'{got.returncode}, {len(got.stdout)} bytes {got.stderr.decode()[-300:]}')
            sized = ours(config, 'size', location)
            if sized.returncode != 0 or sized.stdout.decode().strip() != str(size):
                fail(f'{server.name}: our size of glance_store\'s {size}-byte image: '
                     f'{sized.stdout!r} {sized.stderr.decode()[-300:]}')
            deleted = ours(config, 'delete', location)
            if deleted.returncode != 0:
                fail(f'{server.name}: our delete of glance_store\'s {size}-byte image: rc '
                     f'{deleted.returncode} {deleted.stderr.decode()[-300:]}')
            check_gone(client, bucket, f'{server.name}: we', location, size)

            # We write, glance_store reads.
            added = ours(config, 'add', '--show-credentials', image)
            if added.returncode != 0:
                fail(f'{server.name}: our add of {size} bytes: {added.stderr.decode()[-300:]}')
                continue
            result = json.loads(added.stdout)
            if result['checksum'] != md5 or result['size'] != size:
                fail(f'{server.name}: our add: checksum {result["checksum"]} size '
                     f'{result["size"]}, expected {md5} {size}')
            check_written(client, bucket, f'{server.name}: we', result['location'], size)
            chunks, got_size = backend.get_from_backend(result['location'])
            back = b''.join(chunks)
            if got_size != size or hashlib.md5(back).hexdigest() != md5:
                fail(f'{server.name}: glance_store read of our {size}-byte image: {got_size} '
                     f'bytes, {len(back)} read')
            if backend.get_size_from_backend(result['location']) != size:
                fail(f'{server.name}: glance_store size of our {size}-byte image')
            backend.delete_from_backend(result['location'])
            try:
                backend.get_from_backend(result['location'])
                fail(f'{server.name}: our {size}-byte image still there after glance_store '
                     'deleted it')
            except exceptions.NotFound:
                pass
            check_gone(client, bucket, f'{server.name}: glance_store', result['location'],
                       size)
            print(f'ok: {server.name}: {size} bytes both ways ({parts(size) or "single"}'
                  f'{" parts" if parts(size) else " PUT"})', flush=True)
    finally:
        remove_bucket(client, bucket)


def main():
    envs = [server_env(server) for server in SERVERS]  # all of them up before any case
    with tempfile.TemporaryDirectory() as tmp:
        for server, env in zip(SERVERS, envs):
            start = time.monotonic()
            run(server, env, tmp)
            print(f'{server.name}: {time.monotonic() - start:.1f} s', flush=True)
    if failures:
        sys.exit(f'{len(failures)} interoperability failures')
    print('s3 interop: all cases agree on ' + ', '.join(s.name for s in SERVERS))


if __name__ == '__main__':
    main()
