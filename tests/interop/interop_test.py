#!/usr/bin/python3
"""Interoperability with Debian's glance_store 4.1 (python3-glance-store), the reference.

1. URI parsing, differentially: random file-ish URIs (control characters, Unicode white space,
   brackets, query and fragment marks, …) parsed by glance_store in this process and by
   `glance-store parse-uri`; fields, written-back URI and error kind must agree.
2. Images written by one are read by the other, on the same datadir: bytes, size, md5 and
   multihash agree.

usage: interop_test.py GLANCE_STORE_BINARY
"""
import hashlib
import json
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile

from glance_store import backend, exceptions, location

# The same glance_store set-up as the benchmark's reference driver.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'bench'))
from glance_store_reference import file_store_conf  # noqa: E402

BINARY = sys.argv[1]
logging.disable(logging.CRITICAL)  # glance_store warns on every rejected URI
failures = []


def fail(what):
    failures.append(what)
    print('FAIL', what)


def ours(config, *args, stdin=None):
    return subprocess.run([BINARY, '--config', config, *args], capture_output=True, input=stdin)


def random_uris(count):
    rng = random.Random(20261121)
    atoms = ['file://', 'filesystem://', 'FILE://', 'file:', '/', '//', 'a', 'x', '%2F', '?',
             '#', ';', ':', '@', '[', ']', '[::1]', '[v1.x]', '[1.2.3.4]', ' ', '\t', '\n',
             '\r', '\x1f', '\x0b', '\u00a0', '\u2003', '\u3000', '\u0085', 'é', '..', '.',
             'host', ':80', '\x7f', '\u1680', '\u200b', '\ufeff']
    for _ in range(count):
        body = ''.join(rng.choice(atoms) for _ in range(rng.randint(1, 7)))
        if rng.random() < 0.7:
            body = rng.choice(['file://', 'filesystem://', ' file://', '\x01file://']) + body
        yield body


def check_uris(conf, config):
    agreed = 0
    cases = list(random_uris(600))
    for uri in cases:
        try:
            loc = location.get_location_from_uri(uri, conf).store_location
            want = {'scheme': loc.scheme, 'path': loc.path, 'uri': loc.get_uri()}
        except exceptions.UnknownScheme:
            want = 'UnknownScheme'
        except (exceptions.BadStoreUri, ValueError):
            want = 'BadStoreUri'
        p = ours(config, 'parse-uri', '--show-credentials', uri)
        if isinstance(want, str):
            ok = p.returncode != 0 and want.encode() in p.stderr
        else:
            got = json.loads(p.stdout) if p.returncode == 0 else None
            ok = got is not None and got['uri'] == want['uri'] and \
                got['fields'] == {'scheme': want['scheme'], 'path': want['path']}
        if ok:
            agreed += 1
        else:
            fail(f'parse {uri!r}: glance_store {want!r}, ours {p.stdout!r} {p.stderr!r}')
    print(f'uri differential: {agreed}/{len(cases)} agree with glance_store')


def check_images(conf, config, datadir):
    data = os.urandom(3 * 1024 * 1024 + 17)
    md5 = hashlib.md5(data).hexdigest()
    sha512 = hashlib.sha512(data).hexdigest()
    # glance_store writes, we read
    store = backend.get_store_from_scheme('file')
    src = os.path.join(datadir, '..', 'source')
    with open(src, 'wb') as f:
        f.write(data)
    with open(src, 'rb') as f:
        loc, size, checksum, multihash, _ = backend.store_add_to_backend_with_multihash(
            'from-python', f, len(data), 'sha512', store)
    got = ours(config, 'get', loc)
    if got.stdout != data or got.returncode != 0:
        fail(f'our get of a glance_store image: rc {got.returncode} {got.stderr!r}')
    if ours(config, 'size', loc).stdout.strip() != str(len(data)).encode():
        fail('our size of a glance_store image')
    if (checksum, multihash) != (md5, sha512):
        fail('glance_store hashes')
    # we write, glance_store reads
    added = ours(config, 'add', '--image-id', 'from-cpp', src)
    if added.returncode != 0:
        fail(f'our add: {added.stderr!r}')
        return
    result = json.loads(added.stdout)
    if (result['checksum'], result['multihash']) != (md5, sha512):
        fail(f'our hashes {result["checksum"]} {result["multihash"]}')
    chunks, size = backend.get_from_backend(result['location'])
    if b''.join(chunks) != data or size != len(data):
        fail('glance_store get of our image')
    if backend.get_size_from_backend(result['location']) != len(data):
        fail('glance_store size of our image')
    # either deletes the other's image
    backend.delete_from_backend(result['location'])
    if ours(config, 'delete', loc).returncode != 0:
        fail('our delete of a glance_store image')
    if os.listdir(datadir):
        fail(f'images left after the deletes: {os.listdir(datadir)}')
    print('images: written by each, read, sized and deleted by the other')


def main():
    work = tempfile.mkdtemp(prefix='glance_store_interop.')
    try:
        datadir = os.path.join(work, 'images')
        os.makedirs(datadir)
        config = os.path.join(work, 'glance-api.conf')
        with open(config, 'w') as f:
            f.write(f'[glance_store]\nstores = file\nfilesystem_store_datadir = {datadir}\n')
        conf = file_store_conf(datadir)
        check_uris(conf, config)
        check_images(conf, config, datadir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        sys.exit(f'{len(failures)} interop failures')


if __name__ == '__main__':
    main()
