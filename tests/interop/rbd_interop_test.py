#!/usr/bin/python3
"""RBD interoperability with Debian's glance_store 4.1 (python3-glance-store + python3-rbd) on
the project's single-node Ceph, in one pool.

1. Locations: `glance-store parse-uri` and glance_store's rbd StoreLocation agree on the fields
   and the written-back URI of every URI of a list (quoting, the one-component form, bad
   shapes: both refuse with BadStoreUri).
2. Images of 0 bytes, 1 byte, 1 MiB and 3.5 MiB (1 MiB objects on both sides) are added by
   glance_store and read (md5 of every byte), sized, ranged and deleted by `glance-store`, and
   added by `glance-store` and read, sized and deleted by glance_store. Each writes
   `rbd://<fsid>/<pool>/<id>/snap` with `snap` protected; after every delete the pool holds
   nothing of the image (checked with python3-rbd).
3. `glance-store copy` from the filesystem to RBD and back keeps the image id and the bytes,
   `verify` checks the RBD copy, and a copy with a wrong expected md5 leaves nothing in RBD.

usage: rbd_interop_test.py GLANCE_STORE_BINARY   (Ceph must run: scripts/servers/ceph-rgw)
"""
import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import uuid

import rados
import rbd
from glance_store import backend, exceptions, location

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'bench'))
from glance_store_reference import rbd_store_conf  # noqa: E402

BINARY = sys.argv[1]
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
logging.disable(logging.CRITICAL)
MIB = 1 << 20
SIZES = [0, 1, MIB, 3 * MIB + MIB // 2]
URIS = ['rbd://fsid/pool/image/snap', 'rbd://f%2Fs/p%20o/i%3Am/s%40n', 'rbd://image',
        'rbd://im%20age', 'rbd://f/p/%C3%A9/snap', 'rbd://f/p/i/s?q#f', 'rbd://i?x',
        'rbd://', 'rbd://a/b', 'rbd://a/b/c', 'rbd://a/b/c/d/e', 'rbd://a//c/d', 'rbd:///b/c/d',
        'rbd://a/b/c/', 'RBD://a', 'rbd:/a', 'rbd://f/p/i/~._-']
failures = []


def fail(what):
    failures.append(what)
    print('FAIL', what)


def ceph_env():
    env = {k: v for k, v in os.environ.items() if k.startswith(('GS_CEPH_', 'GS_RBD_'))}
    if 'GS_CEPH_CONF' not in env:
        out = subprocess.run([os.path.join(ROOT, 'scripts', 'servers', 'ceph-rgw'), 'env'],
                             capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith('export '):
                key, _, value = line[7:].partition('=')
                env[key] = value.strip('\'"')
    if not env.get('GS_CEPH_CONF') or not os.path.exists(env['GS_CEPH_CONF']):
        sys.exit('Ceph is not running: start it with scripts/servers/ceph-rgw start')
    return env


def tool(config, *args, stdin=None):
    return subprocess.run([BINARY, '--config', config, *args], input=stdin, capture_output=True)


def check_locations(config):
    for uri in URIS:
        ours = tool(config, 'parse-uri', uri)
        try:
            theirs = location.get_location_from_uri(uri).store_location
        except exceptions.BadStoreUri:
            if ours.returncode != 13:  # BadStoreUri
                fail(f'{uri}: glance_store refuses it, glance-store exits {ours.returncode}')
            continue
        if ours.returncode != 0:
            fail(f'{uri}: glance_store parses it, glance-store: {ours.stderr.decode().strip()}')
            continue
        parsed = json.loads(ours.stdout)
        expected = {'fsid': theirs.fsid, 'pool': theirs.pool, 'image': theirs.image,
                    'snapshot': theirs.snapshot}
        got = {k: parsed['fields'][k] for k in expected}
        if got != expected:
            fail(f'{uri}: fields {got}, glance_store {expected}')
        if parsed['uri'] != theirs.get_uri():
            fail(f'{uri}: written back as {parsed["uri"]}, glance_store {theirs.get_uri()}')


def data_of(size, seed):
    out = bytearray()
    block = hashlib.sha512(str(seed).encode()).digest()
    while len(out) < size:
        out += block
        block = hashlib.sha512(block).digest()
    return bytes(out[:size])


def leftovers(ioctx, image_id):
    return [n for n in rbd.RBD().list(ioctx) if n.startswith(image_id)]


def check_snapshot(ioctx, image_id, who):
    with rbd.Image(ioctx, image_id, read_only=True) as image:
        snaps = [s['name'] for s in image.list_snaps()]
        if snaps != ['snap'] or not image.is_protected_snap('snap'):
            fail(f'{who}: image {image_id} has snapshots {snaps}, protected snap expected')


def check_copies(config, ioctx):
    """`copy` from the filesystem to RBD and back keeps the id and the bytes; `verify` of the RBD
    copy checks its md5, and a wrong one exits 3."""
    data = data_of(2 * MIB + 5, 77)
    md5 = hashlib.md5(data).hexdigest()
    image_id = str(uuid.uuid4())
    added = tool(config, '--backend', 'file', 'add', '--image-id', image_id, '-', stdin=data)
    if added.returncode != 0:
        return fail(f'add to file: {added.stderr.decode()}')
    copied = tool(config, 'copy', json.loads(added.stdout)['location'], '--to', 'rbd',
                  '--checksum', md5)
    if copied.returncode != 0:
        return fail(f'copy file -> rbd: {copied.stderr.decode()}')
    rbd_location = json.loads(copied.stdout)['location']
    if f'/{image_id}/snap' not in rbd_location:
        fail(f'copy to rbd did not keep the id: {rbd_location}')
    verified = tool(config, 'verify', rbd_location, '--checksum', md5)
    if verified.returncode != 0 or not json.loads(verified.stdout)['matches']:
        fail(f'verify of the rbd copy: {verified.stdout!r} {verified.stderr!r}')
    if tool(config, 'verify', rbd_location, '--checksum', '0' * 32).returncode != 3:
        fail('verify of the rbd copy with a wrong md5 did not exit 3')
    tool(config, 'delete', json.loads(added.stdout)['location'])
    back = tool(config, 'copy', rbd_location, '--to', 'file')
    if back.returncode != 0:
        return fail(f'copy rbd -> file: {back.stderr.decode()}')
    file_location = json.loads(back.stdout)['location']
    if not file_location.endswith('/' + image_id):
        fail(f'copy to file did not keep the id: {file_location}')
    got = tool(config, 'get', file_location)
    if hashlib.md5(got.stdout).hexdigest() != md5:
        fail('the copy back to the filesystem differs')
    # A wrong expected md5 leaves nothing in RBD.
    other = str(uuid.uuid4())
    refused = tool(config, 'copy', file_location, '--to', 'rbd', '--image-id', other,
                   '--checksum', '0' * 32)
    if refused.returncode != 3 or leftovers(ioctx, other):
        fail(f'copy with a wrong md5: exit {refused.returncode}, left {leftovers(ioctx, other)}')
    tool(config, 'delete', rbd_location)
    if leftovers(ioctx, image_id):
        fail(f'delete of the rbd copy left {leftovers(ioctx, image_id)}')


def main():
    env = ceph_env()
    conf_file, pool = env['GS_CEPH_CONF'], env['GS_RBD_POOL']
    rbd_store_conf(conf_file, pool, user='admin', chunk_mib=1)
    cluster = rados.Rados(conffile=conf_file, rados_id='admin')
    cluster.connect()
    ioctx = cluster.open_ioctx(pool)
    fsid = cluster.get_fsid()
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, 'glance-api.conf')
        with open(config, 'w') as f:
            f.write(f'[glance_store]\nstores = rbd, file\ndefault_store = rbd\n'
                    f'rbd_store_ceph_conf = {conf_file}\nrbd_store_pool = {pool}\n'
                    f'rbd_store_user = {env["GS_RBD_USER"]}\nrbd_store_chunk_size = 1\n'
                    f'filesystem_store_datadir = {tmp}/images\n')
        check_locations(config)
        check_copies(config, ioctx)
        for size in SIZES:
            data = data_of(size, size)
            md5 = hashlib.md5(data).hexdigest()
            # glance_store writes, glance-store reads, sizes, ranges and deletes.
            image_id = str(uuid.uuid4())
            store = backend.get_store_from_scheme('rbd')
            loc, written, checksum, _, _ = backend.store_add_to_backend_with_multihash(
                image_id, __import__('io').BytesIO(data), size, 'sha512', store)
            if loc != f'rbd://{fsid}/{pool}/{image_id}/snap' or checksum != md5:
                fail(f'glance_store add of {size} bytes: {loc} {checksum}')
            got = tool(config, 'get', loc)
            if got.returncode != 0 or hashlib.md5(got.stdout).hexdigest() != md5:
                fail(f'glance-store get of glance_store\'s {size} bytes: {got.stderr.decode()}')
            sized = tool(config, 'size', loc)
            if sized.stdout.decode().strip() != str(size):
                fail(f'glance-store size of {size} bytes: {sized.stdout!r} {sized.stderr!r}')
            if size > 10:
                part = tool(config, 'get', loc, '--offset', '3', '--length', '7')
                if part.stdout != data[3:10]:
                    fail(f'glance-store ranged get of {size} bytes: {part.stdout!r}')
            deleted = tool(config, 'delete', loc)
            if deleted.returncode != 0 or leftovers(ioctx, image_id):
                fail(f'glance-store delete of glance_store\'s image: {deleted.stderr.decode()} '
                     f'{leftovers(ioctx, image_id)}')
            # glance-store writes, glance_store reads, sizes and deletes.
            image_id = str(uuid.uuid4())
            added = tool(config, 'add', '--image-id', image_id, '-', stdin=data)
            if added.returncode != 0:
                fail(f'glance-store add of {size} bytes: {added.stderr.decode()}')
                continue
            result = json.loads(added.stdout)
            loc = result['location']
            if loc != f'rbd://{fsid}/{pool}/{image_id}/snap' or result['checksum'] != md5:
                fail(f'glance-store add of {size} bytes: {result}')
            check_snapshot(ioctx, image_id, 'glance-store')
            chunks, reported = backend.get_from_backend(loc)
            read = b''.join(chunks)
            if hashlib.md5(read).hexdigest() != md5 or reported != size:
                fail(f'glance_store get of glance-store\'s {size} bytes: {len(read)} {reported}')
            if backend.get_size_from_backend(loc) != size:
                fail(f'glance_store size of glance-store\'s {size} bytes')
            backend.delete_from_backend(loc)
            if leftovers(ioctx, image_id):
                fail(f'glance_store delete of glance-store\'s image left {leftovers(ioctx, image_id)}')
    ioctx.close()
    cluster.shutdown()
    if failures:
        sys.exit(f'{len(failures)} failure(s)')
    print(f'rbd interop: {len(URIS)} URIs parsed alike; {len(SIZES)} sizes each way read, sized '
          f'and deleted by the other store; copies file -> rbd -> file verified')


if __name__ == '__main__':
    main()
