#!/usr/bin/python3
"""The glance_store_cpp drivers through glance_store's own multi-store API, as
Glance calls them, each beside the stock driver of its type on the same real
server (filesystem, S3 on Swift's s3api and on Ceph's RGW, Swift on tempauth,
RBD, HTTP from nginx; multi-tenant Swift on Keystone for set_acls).

Every backend pair shares its bucket, container, pool or directory, so each
side reads, sizes and deletes the other's images: an operator can switch
drivers either way without moving data.

usage: PYTHONPATH=<build>/python/site drivers_test.py   (servers running)
"""

import functools
import hashlib
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import unittest
import urllib.request
import uuid

from glance_store import exceptions
from glance_store import location as glance_location
from glance_store import multi_backend
from oslo_config import cfg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import server_env  # noqa: E402

logging.disable(logging.CRITICAL)
MIB = 1 << 20
RUN = uuid.uuid4().hex[:8]
TMP = tempfile.mkdtemp(prefix='gs-python-drivers-')


def _s3_group(endpoint, access_key, secret_key, bucket):
    return {'s3_store_host': endpoint, 's3_store_access_key': access_key,
            's3_store_secret_key': secret_key, 's3_store_bucket': bucket,
            's3_store_create_bucket_on_put': True,
            's3_store_bucket_url_format': 'path',
            # 5 MiB parts, so that a 12 MiB image is a multipart upload.
            's3_store_large_object_size': 8,
            's3_store_large_object_chunk_size': 5}


def backend_pairs():
    """backend id → (entry point, options) for every pair under test."""
    swift = server_env.load('swift-aio', 'GS_SWIFT_AUTH')
    rgw = server_env.load('ceph-rgw', 'GS_RGW_ENDPOINT')
    # s3api behind the Keystone proxy: glance_store's S3 URIs cannot carry
    # tempauth's access key test:tester (a colon).
    keystone = server_env.load('keystone', 'GS_KS_EC2_ACCESS')
    http = server_env.load('http-origin', 'GS_HTTP_URL')
    reference = os.path.join(TMP, 'swift-refs.conf')
    with open(reference, 'w') as f:
        f.write('[tempauth]\nauth_address = %s\nuser = test:tester\n'
                'key = testing\nauth_version = 1\n' % swift['GS_SWIFT_AUTH'])
    swift_group = {'swift_store_config_file': reference,
                   'default_swift_reference': 'tempauth',
                   'swift_store_container': 'gs-py-' + RUN,
                   'swift_store_create_container_on_put': True,
                   # 5 MB segments, so that a 12 MiB image is a DLO.
                   'swift_store_large_object_size': 8,
                   'swift_store_large_object_chunk_size': 5}
    groups = {
        'file': {'filesystem_store_datadir': os.path.join(TMP, 'images')},
        's3api': _s3_group(keystone['GS_SWIFT_KEYSTONE_URL'],
                           keystone['GS_KS_EC2_ACCESS'],
                           keystone['GS_KS_EC2_SECRET'], 'gs-py-' + RUN),
        'rgw': _s3_group(rgw['GS_RGW_ENDPOINT'], rgw['GS_RGW_ACCESS_KEY'],
                         rgw['GS_RGW_SECRET_KEY'], 'gs-py-' + RUN),
        'swift': swift_group,
        'rbd': {'rbd_store_ceph_conf': rgw['GS_CEPH_CONF'],
                'rbd_store_pool': rgw['GS_RBD_POOL'],
                'rbd_store_user': rgw['GS_RBD_USER'],
                'rbd_store_chunk_size': 1},
        'http': {},
    }
    entry = {'file': 'file', 's3api': 's3', 'rgw': 's3', 'swift': 'swift',
             'rbd': 'rbd', 'http': 'http'}
    pairs = {}
    for name, options in groups.items():
        pairs['ours_' + name] = ('cpp_' + entry[name], options)
        pairs['stock_' + name] = (entry[name], options)
    return pairs, http


def setUpModule():
    global HTTP
    pairs, HTTP = backend_pairs()
    conf = cfg.CONF
    conf.register_opt(cfg.DictOpt('enabled_backends'))
    conf([], project='glance-store-cpp-test', default_config_files=[])
    conf.set_override('enabled_backends',
                      {k: v[0] for k, v in pairs.items()})
    multi_backend.register_store_opts(conf)
    for backend, (_, options) in pairs.items():
        for key, value in options.items():
            conf.set_override(key, value, group=backend)
    conf.set_override('default_backend', 'ours_file', group='glance_store')
    multi_backend.create_multi_stores(conf)
    multi_backend.verify_store()


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


def add(backend, data, size=None, image_id=None, reader=None):
    image_id = image_id or str(uuid.uuid4())
    result = multi_backend.add_with_multihash(
        cfg.CONF, image_id, reader or io.BytesIO(data),
        len(data) if size is None else size, backend, 'sha512')
    return image_id, result


def read(uri, backend, offset=0, chunk_size=None):
    chunks, size = multi_backend.get(uri, backend, offset=offset,
                                     chunk_size=chunk_size)
    return b''.join(chunks), size


class FailingReader:
    """Gives `good` bytes, then fails as a client hanging up would."""

    def __init__(self, good):
        self.data = io.BytesIO(good)

    def read(self, n):
        chunk = self.data.read(n)
        if not chunk:
            raise IOError('client went away')
        return chunk


class PairTests:
    """The checks every store pair gets; NAME is the pair's suffix."""
    NAME = None
    SIZES = (0, 1, 3 * MIB + 5, 12 * MIB + 1)

    @property
    def ours(self):
        return 'ours_' + self.NAME

    @property
    def stock(self):
        return 'stock_' + self.NAME

    def check_gone(self, uri):
        with self.assertRaises(exceptions.NotFound):
            multi_backend.get_size_from_uri_and_backend(uri, self.ours)
        # (The stock Swift driver sizes a missing image as 0; its get fails.)
        for backend in (self.ours, self.stock):
            with self.assertRaises(exceptions.NotFound, msg=backend):
                read(uri, backend)

    def test_add_read_delete_every_size_known_and_unknown(self):
        for size in self.SIZES:
            for declared in (size, 0):
                with self.subTest(size=size, declared=declared):
                    data = os.urandom(size)
                    _, (uri, written, md5, multihash, meta) = add(
                        self.ours, data, declared)
                    self.assertEqual(written, size)
                    self.assertEqual(md5, hashlib.md5(data).hexdigest())
                    self.assertEqual(multihash,
                                     hashlib.sha512(data).hexdigest())
                    self.assertEqual(meta.get('store'), self.ours)
                    for backend in (self.ours, self.stock):
                        got, got_size = read(uri, backend)
                        self.assertEqual(got, data, backend)
                        self.assertEqual(
                            multi_backend.get_size_from_uri_and_backend(
                                uri, backend), size)
                    multi_backend.delete(uri, self.ours)
                    self.check_gone(uri)

    def test_ranges(self):
        data = os.urandom(3 * MIB + 7)
        _, (uri, *_) = add(self.ours, data)
        try:
            for offset, length in ((0, 1), (1000, 1000), (MIB - 1, 2),
                                   (len(data) - 1, 1), (5, len(data) - 5)):
                got, size = read(uri, self.ours, offset, length)
                self.assertEqual(got, data[offset:offset + length])
                self.assertEqual(size, length)
        finally:
            multi_backend.delete(uri, self.ours)

    def test_stock_image_read_sized_deleted_by_ours(self):
        data = os.urandom(2 * MIB + 3)
        _, (uri, *_) = add(self.stock, data)
        got, size = read(uri, self.ours)
        self.assertEqual((got, size), (data, len(data)))
        self.assertEqual(
            multi_backend.get_size_from_uri_and_backend(uri, self.ours),
            len(data))
        multi_backend.delete(uri, self.ours)
        self.check_gone(uri)

    def test_duplicate_keeps_the_first_image(self):
        first = os.urandom(1000)
        image_id, (uri, *_) = add(self.ours, first)
        try:
            with self.assertRaises(exceptions.Duplicate):
                add(self.ours, b'other', image_id=image_id)
            self.assertEqual(read(uri, self.ours)[0], first)
        finally:
            multi_backend.delete(uri, self.ours)

    def test_too_few_bytes_leave_nothing(self):
        image_id = str(uuid.uuid4())
        with self.assertRaises(exceptions.GlanceStoreException):
            add(self.ours, os.urandom(1000), size=2000, image_id=image_id)
        # Nothing under the id: the same id is added again at once.
        data = os.urandom(10)
        _, (uri, *_) = add(self.ours, data, image_id=image_id)
        self.assertEqual(read(uri, self.ours)[0], data)
        multi_backend.delete(uri, self.ours)

    def test_reader_failure_propagates_and_leaves_nothing(self):
        image_id = str(uuid.uuid4())
        with self.assertRaisesRegex(IOError, 'client went away'):
            add(self.ours, b'', size=0, image_id=image_id,
                reader=FailingReader(os.urandom(6 * MIB)))
        data = os.urandom(10)
        _, (uri, *_) = add(self.ours, data, image_id=image_id)
        self.assertEqual(read(uri, self.ours)[0], data)
        multi_backend.delete(uri, self.ours)

    def test_missing_image_is_not_found(self):
        _, (uri, *_) = add(self.ours, b'x')
        multi_backend.delete(uri, self.ours)
        with self.assertRaises(exceptions.NotFound):
            read(uri, self.ours)
        with self.assertRaises(exceptions.NotFound):
            multi_backend.delete(uri, self.ours)


class FilesystemTests(PairTests, unittest.TestCase):
    NAME = 'file'

    def test_verifier_sees_every_byte_and_four_results_without_algo(self):
        class Verifier:
            def __init__(self):
                self.md5 = hashlib.md5()

            def update(self, chunk):
                self.md5.update(chunk)

        data = os.urandom(5 * MIB + 1)
        verifier = Verifier()
        store = multi_backend.get_store_from_store_identifier(self.ours)
        result = store.add(str(uuid.uuid4()), io.BytesIO(data), len(data),
                           verifier=verifier)
        self.assertEqual(len(result), 4)  # glance_store's pre-0.26 form
        self.assertEqual(result[2], hashlib.md5(data).hexdigest())
        self.assertEqual(verifier.md5.hexdigest(), result[2])
        multi_backend.delete(result[0], self.ours)

    def test_location_fields_and_bad_uris(self):
        loc = glance_location.get_location_from_uri_and_backend(
            'file:///var/lib/glance/images/abc', self.ours)
        self.assertEqual(loc.store_location.path, '/var/lib/glance/images/abc')
        self.assertEqual(loc.get_store_uri(),
                         'file:///var/lib/glance/images/abc')
        for bad in ('file://', 'file:/x', 'filesystem:'):
            with self.assertRaises(exceptions.BadStoreUri, msg=bad):
                glance_location.get_location_from_uri_and_backend(
                    bad, self.ours)

    def test_store_info(self):
        store = multi_backend.get_store_from_store_identifier(self.ours)
        self.assertIn('cpp_file', store.get_schemes())
        self.assertIn('file', store.get_schemes())
        self.assertEqual(store.url_prefix,
                         'file://' + os.path.join(TMP, 'images'))


class S3apiTests(PairTests, unittest.TestCase):
    NAME = 's3api'


class RgwTests(PairTests, unittest.TestCase):
    NAME = 'rgw'


class SwiftTests(PairTests, unittest.TestCase):
    NAME = 'swift'


class RbdTests(PairTests, unittest.TestCase):
    NAME = 'rbd'

    def test_in_use_and_snapshot_kinds_are_glance_store_classes(self):
        import rados
        import rbd
        ceph = server_env.load('ceph-rgw', 'GS_CEPH_CONF')
        image_id, (uri, *_) = add(self.ours, os.urandom(MIB))
        cluster = rados.Rados(conffile=ceph['GS_CEPH_CONF'], rados_id='admin')
        cluster.connect()
        try:
            with cluster.open_ioctx(ceph['GS_RBD_POOL']) as ioctx:
                with rbd.Image(ioctx, image_id) as image:
                    image.create_snap('operator-backup')
                with self.assertRaises(exceptions.HasSnapshot):
                    multi_backend.delete(uri, self.ours)
                with rbd.Image(ioctx, image_id) as image:
                    image.remove_snap('operator-backup')
                    # An open read-write handle: another client uses it.
                    with self.assertRaises(exceptions.InUseByStore):
                        multi_backend.delete(uri, self.ours)
            self.assertEqual(len(read(uri, self.ours)[0]), MIB)
            multi_backend.delete(uri, self.ours)
            self.check_gone(uri)
        finally:
            cluster.shutdown()


class HttpTests(unittest.TestCase):
    """Read-only: objects placed in nginx's document root."""

    def test_read_size_range_and_refusals(self):
        data = os.urandom(3 * MIB + 11)
        name = 'gs-py-%s.img' % RUN
        path = os.path.join(HTTP['GS_HTTP_ROOT'], name)
        with open(path, 'wb') as f:
            f.write(data)
        uri = '%s/images/%s' % (HTTP['GS_HTTP_URL'], name)
        try:
            for backend in ('ours_http', 'stock_http'):
                self.assertEqual(read(uri, backend), (data, len(data)))
            self.assertEqual(
                multi_backend.get_size_from_uri_and_backend(uri, 'ours_http'),
                len(data))
            self.assertEqual(read(uri, 'ours_http', 100, 50)[0],
                             data[100:150])
            with self.assertRaises(exceptions.StoreAddDisabled):
                add('ours_http', b'x')
            with self.assertRaises(exceptions.StoreDeleteNotSupported):
                multi_backend.delete(uri, 'ours_http')
            with self.assertRaises(exceptions.NotFound):
                read(uri + '.missing', 'ours_http')
        finally:
            os.unlink(path)


class ConfigurationTests(unittest.TestCase):
    """Options: stock configurations are unchanged by the package."""

    def fresh_conf(self):
        conf = cfg.ConfigOpts()
        conf([], project='glance-store-cpp-conf', default_config_files=[])
        return conf

    def test_legacy_registration_with_every_driver_installed(self):
        from glance_store import backend
        conf = self.fresh_conf()
        backend.register_opts(conf)  # every entry point's OPTIONS, ours too
        datadir = os.path.join(TMP, 'legacy')
        conf.set_override('stores', ['file'], group='glance_store')
        conf.set_override('default_store', 'file', group='glance_store')
        conf.set_override('filesystem_store_datadir', datadir,
                          group='glance_store')
        backend.create_stores(conf)
        uri, size, md5, _ = backend.store_add_to_backend(
            str(uuid.uuid4()), io.BytesIO(b'legacy'), 6,
            backend.get_store_from_scheme('file'))
        self.assertTrue(uri.startswith('file://' + datadir), uri)
        self.assertEqual(conf.glance_store.add_buffer_count, 8)

    def test_stock_backend_groups_get_the_stock_options(self):
        conf = self.fresh_conf()
        conf.register_opt(cfg.DictOpt('enabled_backends'))
        conf.set_override('enabled_backends', {'a': 'file', 'b': 's3',
                                               'c': 'swift', 'd': 'rbd',
                                               'e': 'http'})
        multi_backend.register_store_opts(conf)  # no DuplicateOptError
        self.assertEqual(conf.a.filesystem_store_datadir,
                         '/var/lib/glance/images')
        self.assertEqual(conf.b.s3_store_large_object_chunk_size, 10)

    def make_store(self, options):
        from glance_store_cpp import filesystem
        conf = self.fresh_conf()
        store = filesystem.Store(conf, backend='x')
        for key, value in options.items():
            conf.set_override(key, value, group='x')
        return store

    def test_add_configuration_failure_disables_add_only(self):
        blocker = os.path.join(TMP, 'not-a-dir')
        with open(blocker, 'w') as f:
            f.write('file')
        store = self.make_store({'filesystem_store_datadir':
                                 os.path.join(blocker, 'images')})
        store.configure()
        with self.assertRaises(exceptions.StoreAddDisabled):
            store.add(str(uuid.uuid4()), io.BytesIO(b'x'), 1, 'sha512')
        with self.assertRaises(exceptions.BadStoreConfiguration):
            store.configure(re_raise_bsc=True)

    def test_own_option_values_reach_the_store(self):
        datadir = os.path.join(TMP, 'own-options')
        store = self.make_store({'filesystem_store_datadir': datadir,
                                 'add_buffer_size': 4096,
                                 'add_buffer_count': 2,
                                 'filesystem_store_direct_io': False})
        store.configure()
        data = os.urandom(100000)
        uri, size, md5, multihash, _ = store.add(
            str(uuid.uuid4()), io.BytesIO(data), len(data), 'sha256')
        self.assertEqual(multihash, hashlib.sha256(data).hexdigest())
        with self.assertRaises(exceptions.UnknownHashingAlgo):
            store.add(str(uuid.uuid4()), io.BytesIO(data), len(data), 'nope')


    def test_a_memory_limit_below_the_pipeline_disables_add(self):
        for limit, enabled in ((4 << 20, False), (8 << 20, True)):
            store = self.make_store({
                'filesystem_store_datadir': os.path.join(TMP, 'memory-limit'),
                'add_buffer_size': 1 << 20, 'add_buffer_count': 8,
                'add_memory_limit': limit})
            store.configure()
            add = functools.partial(store.add, str(uuid.uuid4()),
                                    io.BytesIO(b'x'), 1, 'sha512')
            if enabled:
                self.assertEqual(add()[1], 1)
            else:
                self.assertRaises(exceptions.StoreAddDisabled, add)


class MultiTenantSwiftTests(unittest.TestCase):
    """set_acls through glance_store's API with contexts from Keystone."""

    @staticmethod
    def token(ks, user, password, project):
        body = {'auth': {'identity': {'methods': ['password'], 'password': {
            'user': {'name': user, 'domain': {'id': ks['GS_KS_DOMAIN']},
                     'password': password}}},
            'scope': {'project': {'name': project,
                                  'domain': {'id': ks['GS_KS_DOMAIN']}}}}}
        request = urllib.request.Request(
            ks['GS_KEYSTONE_URL'].rstrip('/') + '/auth/tokens',
            data=json.dumps(body).encode(),
            headers={'Content-Type': 'application/json'})
        with urllib.request.urlopen(request, timeout=30) as response:
            token = response.headers['X-Subject-Token']
            answer = json.load(response)['token']

        class Context:
            auth_token = token
            user_id = answer['user']['id']
            project_id = answer['project']['id']
            service_catalog = answer['catalog']
        return Context()

    def test_set_acls_grants_another_project_read(self):
        from glance_store_cpp import swift
        ks = server_env.load('keystone', 'GS_KEYSTONE_URL')
        if 'GS_KS_USER' not in ks or not ks.get('GS_KS_PROJECT'):
            raise RuntimeError('keystone has no seed: restart it')
        owner = self.token(ks, ks['GS_KS_USER'], ks['GS_KS_PASSWORD'],
                           ks['GS_KS_PROJECT'])
        other = self.token(ks, ks['GS_KS_USER2'], ks['GS_KS_PASSWORD2'],
                           ks['GS_KS_PROJECT2'])
        conf = cfg.ConfigOpts()
        conf([], project='glance-store-cpp-mt', default_config_files=[])
        store = swift.Store(conf, backend='mt')
        for key, value in {'swift_store_multi_tenant': True,
                           'swift_store_container': 'gs-py-mt-' + RUN,
                           'swift_store_create_container_on_put': True,
                           'swift_store_region': ks['GS_KS_REGION']}.items():
            conf.set_override(key, value, group='mt')
        store.configure(re_raise_bsc=True)
        data = os.urandom(1000)
        uri, *_ = store.add(str(uuid.uuid4()), io.BytesIO(data), len(data),
                            'sha512', context=owner)
        loc = glance_location.Location('mt', swift.StoreLocation, conf,
                                       uri=uri, backend='mt')
        try:
            with self.assertRaises((exceptions.Forbidden,
                                    exceptions.NotFound)):
                b''.join(store.get(loc, context=other)[0])
            store.set_acls(loc, public=False, read_tenants=[other.project_id],
                           context=owner)
            self.assertEqual(b''.join(store.get(loc, context=other)[0]), data)
        finally:
            store.delete(loc, context=owner)


if __name__ == '__main__':
    unittest.main(verbosity=2)
