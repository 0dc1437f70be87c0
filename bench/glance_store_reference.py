#!/usr/bin/python3
"""Drives Debian's Python glance_store (filesystem store) through its own API, as Glance does,
and prints how long the operation took inside the process, after start-up.

usage: glance_store_reference.py add DATADIR IMAGE_ID FILE | get DATADIR URI
"""
import json
import sys
import time

from oslo_config import cfg
from glance_store import backend


def file_store_conf(datadir):
    """glance_store configured as Glance configures a single filesystem store (legacy mode)."""
    conf = cfg.ConfigOpts()
    backend.register_opts(conf)
    conf([], project='glance-store-bench')
    conf.set_override('stores', ['file'], group='glance_store')
    conf.set_override('default_store', 'file', group='glance_store')
    conf.set_override('filesystem_store_datadir', datadir, group='glance_store')
    backend.create_stores(conf)
    return conf


def s3_store_conf(endpoint, access_key, secret_key, bucket, large_object_mib=100, chunk_mib=10,
                  threads=10):
    """glance_store configured as Glance configures a single S3 store (legacy mode). glance_store
    4.1 has no s3_store_region_name: boto3 picks the region itself."""
    conf = cfg.ConfigOpts()
    backend.register_opts(conf)
    conf([], project='glance-store-bench')
    for key, value in {'stores': ['s3'], 'default_store': 's3',
                       's3_store_host': endpoint,
                       's3_store_access_key': access_key,
                       's3_store_secret_key': secret_key,
                       's3_store_bucket': bucket, 's3_store_create_bucket_on_put': True,
                       's3_store_large_object_size': large_object_mib,
                       's3_store_large_object_chunk_size': chunk_mib,
                       's3_store_thread_pools': threads}.items():
        conf.set_override(key, value, group='glance_store')
    backend.create_stores(conf)
    return conf


def swift_store_conf(auth_address, user, key, container, large_object_mb=5120, chunk_mb=200,
                     auth_version='1'):
    """glance_store configured as Glance configures a single-tenant Swift store (legacy mode),
    with the credentials in glance-api.conf's deprecated swift_store_user/key/auth_address
    options rather than a swift_store_config_file. glance_store's auth version defaults to '2'
    (Keystone); tempauth needs '1'. Sizes are Swift "MB" (1,024,000 bytes), as glance_store
    counts them."""
    conf = cfg.ConfigOpts()
    backend.register_opts(conf)
    conf([], project='glance-store-bench')
    for key_, value in {'stores': ['swift'], 'default_store': 'swift',
                        'swift_store_auth_address': auth_address,
                        'swift_store_user': user, 'swift_store_key': key,
                        'swift_store_auth_version': auth_version,
                        'swift_store_container': container,
                        'swift_store_create_container_on_put': True,
                        'swift_store_large_object_size': large_object_mb,
                        'swift_store_large_object_chunk_size': chunk_mb}.items():
        conf.set_override(key_, value, group='glance_store')
    backend.create_stores(conf)
    return conf


def rbd_store_conf(ceph_conf, pool, user='admin', chunk_mib=8):
    """glance_store configured as Glance configures a single RBD store (legacy mode). Its
    rbd_store_user must be set: glance_store 4.1 turns an unset user into the id 'None'."""
    conf = cfg.ConfigOpts()
    backend.register_opts(conf)
    conf([], project='glance-store-bench')
    for key, value in {'stores': ['rbd'], 'default_store': 'rbd',
                       'rbd_store_ceph_conf': ceph_conf, 'rbd_store_pool': pool,
                       'rbd_store_user': user, 'rbd_store_chunk_size': chunk_mib}.items():
        conf.set_override(key, value, group='glance_store')
    backend.create_stores(conf)
    return conf


def timed_operation(op, args, scheme):
    """Runs `add IMAGE_ID FILE` or `get URI` on the configured store of `scheme`, timed inside
    this process (after start-up), and prints the result as JSON."""
    if op == 'add':
        image_id, path = args
        store = backend.get_store_from_scheme(scheme)
        with open(path, 'rb') as data:
            size = data.seek(0, 2)
            data.seek(0)
            start = time.perf_counter()
            location, written, checksum, multihash, _ = \
                backend.store_add_to_backend_with_multihash(image_id, data, size, 'sha512', store)
            elapsed = time.perf_counter() - start
        print(json.dumps({'seconds': elapsed, 'location': location, 'size': written,
                          'checksum': checksum, 'multihash': multihash}))
    else:
        start = time.perf_counter()
        chunks, _ = backend.get_from_backend(args[0])
        read = 0
        with open('/dev/null', 'wb') as sink:
            for chunk in chunks:
                sink.write(chunk)
                read += len(chunk)
        elapsed = time.perf_counter() - start
        print(json.dumps({'seconds': elapsed, 'size': read}))


def main():
    op, datadir = sys.argv[1], sys.argv[2]
    file_store_conf(datadir)
    timed_operation(op, sys.argv[3:], 'file')


if __name__ == '__main__':
    main()
