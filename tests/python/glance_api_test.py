#!/usr/bin/python3
"""An unmodified Glance (Debian's glance-api) on our drivers, through its API.

The project's glance-api script runs it with our filesystem driver as the
default backend, glance's stock `file` driver beside it, and our S3 and Swift
drivers. Through the API: uploads sized and chunked, downloads whole and by
Range, checksums against hashlib, deletes, copy-image between our backends and
the stock one, glance-direct; the same files read by the other driver after
an operator switches a backend's entry point (a second glance-api with the
entry points swapped); stock-only configurations (legacy and multi-store)
still start and serve with our package installed; and a 512 MiB chunked
upload leaves the API responsive and glance-api's memory bounded.

usage: glance_api_test.py   (scripts/servers/glance-api running)
"""

import hashlib
import os
import shutil
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import glance_api  # noqa: E402
from glance_api import MIB, Glance, stores_of  # noqa: E402

ENV = glance_api.environment()
API = Glance(ENV['GS_GLANCE_URL'], ENV['GS_GLANCE_PROJECT'])
OURS = [b for b in ENV.get('GS_GLANCE_BACKENDS', '').split()
        if b.startswith('ours_')]
STOCK = ENV['GS_GLANCE_STOCK_FILE']
# The filesystem driver's add holds add_buffer_size × add_buffer_count.
MEMORY_BOUND_MIB = 8


def digests(data):
    return hashlib.md5(data).hexdigest(), hashlib.sha512(data).hexdigest()


def in_pieces(data, piece=MIB):
    for start in range(0, len(data), piece):
        yield data[start:start + piece]


class ApiTests(unittest.TestCase):

    def upload_and_check(self, store, data, chunked):
        image_id = API.create_image()
        API.upload(image_id, in_pieces(data) if chunked else data, store,
                   chunked=chunked)
        image = API.image(image_id)
        md5, sha512 = digests(data)
        self.assertEqual(image['status'], 'active')
        self.assertEqual((image['checksum'], image['os_hash_algo'],
                          image['os_hash_value'], image['size']),
                         (md5, 'sha512', sha512, len(data)))
        self.assertEqual(stores_of(image), {store})
        return image_id

    def test_info_stores_lists_every_backend(self):
        stores = API.json('GET', '/v2/info/stores')['stores']
        ids = {s['id']: s for s in stores}
        for backend in OURS + [STOCK]:
            self.assertIn(backend, ids)
        self.assertTrue(ids[ENV['GS_GLANCE_OURS_FILE']].get('default'))
        self.assertIn('ours_s3', OURS, 'the S3 backend is configured in CI')
        self.assertIn('ours_swift', OURS, 'the Swift backend is configured')

    def test_upload_download_range_delete_on_each_of_our_backends(self):
        for store in OURS:
            for chunked, size in ((False, 3 * MIB + 5), (True, 6 * MIB + 3)):
                with self.subTest(store=store, chunked=chunked):
                    data = os.urandom(size)
                    image_id = self.upload_and_check(store, data, chunked)
                    status, _, body = API.download(image_id)
                    self.assertEqual((status, body), (200, data))
                    status, headers, body = API.download(image_id, (100, 1099))
                    self.assertEqual(status, 206)
                    self.assertEqual(body, data[100:1100])
                    status, _, body = API.download(image_id,
                                                   (size - 10, size - 1))
                    self.assertEqual((status, body), (206, data[-10:]))
                    self.assertEqual(
                        API.request('DELETE', '/v2/images/' + image_id)[0], 204)
                    self.assertEqual(API.download(image_id)[0], 404)

    def test_delete_removes_the_file(self):
        data = os.urandom(1000)
        image_id = self.upload_and_check(ENV['GS_GLANCE_OURS_FILE'], data,
                                         False)
        path = os.path.join(ENV['GS_GLANCE_DATADIR_OURS'], image_id)
        with open(path, 'rb') as f:
            self.assertEqual(f.read(), data)
        API.request('DELETE', '/v2/images/' + image_id)
        self.assertFalse(os.path.exists(path))

    def copy_image(self, image_id, target):
        status, _, body = API.request(
            'POST', '/v2/images/%s/import' % image_id,
            {'method': {'name': 'copy-image'}, 'stores': [target]})
        self.assertEqual(status, 202, body)
        return API.wait_for(image_id, lambda i: target in stores_of(i))

    def test_copy_image_from_each_of_ours_to_stock_and_back(self):
        for store in OURS:
            with self.subTest(store=store):
                data = os.urandom(2 * MIB + 9)
                image_id = self.upload_and_check(store, data, True)
                self.copy_image(image_id, STOCK)
                stock_path = os.path.join(ENV['GS_GLANCE_DATADIR_STOCK'],
                                          image_id)
                with open(stock_path, 'rb') as f:
                    self.assertEqual(f.read(), data)
                # Delete our copy; the image is then served by the stock one.
                status = API.request('DELETE', '/v2/stores/%s/%s' %
                                     (store, image_id))[0]
                self.assertEqual(status, 204)
                image = API.wait_for(image_id,
                                     lambda i: stores_of(i) == {STOCK})
                self.assertEqual(API.download(image_id)[2], data)
                # And back from the stock driver to ours.
                image = self.copy_image(image_id, store)
                self.assertEqual(stores_of(image), {STOCK, store})
                API.request('DELETE', '/v2/stores/%s/%s' % (STOCK, image_id))
                API.wait_for(image_id, lambda i: stores_of(i) == {store})
                self.assertFalse(os.path.exists(stock_path))
                self.assertEqual(API.download(image_id)[2], data)
                API.request('DELETE', '/v2/images/' + image_id)

    def test_glance_direct_import_to_ours(self):
        data = os.urandom(MIB + 77)
        image_id = API.create_image()
        status = API.request('PUT', '/v2/images/%s/stage' % image_id, data,
                             {'Content-Type': 'application/octet-stream'})[0]
        self.assertEqual(status, 204)
        status, _, body = API.request(
            'POST', '/v2/images/%s/import' % image_id,
            {'method': {'name': 'glance-direct'},
             'stores': [ENV['GS_GLANCE_OURS_FILE']]})
        self.assertEqual(status, 202, body)
        image = API.wait_for(image_id, lambda i: i['status'] == 'active')
        md5, sha512 = digests(data)
        self.assertEqual((image['checksum'], image['os_hash_value']),
                         (md5, sha512))
        self.assertEqual(stores_of(image), {ENV['GS_GLANCE_OURS_FILE']})
        self.assertEqual(API.download(image_id)[2], data)
        API.request('DELETE', '/v2/images/' + image_id)


class SwitchingDriversTests(unittest.TestCase):
    """An operator changes a backend's entry point: the images stay readable."""

    def test_each_driver_reads_and_deletes_the_others_images(self):
        ours, stock = ENV['GS_GLANCE_OURS_FILE'], STOCK

        def swap(parser):
            parser['DEFAULT']['enabled_backends'] = '%s:file, %s:cpp_file' % (
                ours, stock)
            for backend in ('ours_s3', 'ours_swift'):
                parser.remove_section(backend)

        swapped = glance_api.ExtraGlance(ENV, 18293, swap, 'swapped')
        other = swapped.start()
        try:
            written = {}
            for store in (ours, stock):
                data = os.urandom(MIB + 3)
                image_id = API.create_image()
                API.upload(image_id, data, store)
                written[store] = (image_id, data)
            for store, (image_id, data) in written.items():
                with self.subTest(store=store):
                    status, _, body = other.download(image_id)
                    self.assertEqual((status, body), (200, data))
                    status, _, body = other.download(image_id, (5, 104))
                    self.assertEqual((status, body), (206, data[5:105]))
                    self.assertEqual(
                        other.request('DELETE', '/v2/images/' + image_id)[0],
                        204)
                    datadir = ENV['GS_GLANCE_DATADIR_OURS' if store == ours
                                  else 'GS_GLANCE_DATADIR_STOCK']
                    self.assertFalse(
                        os.path.exists(os.path.join(datadir, image_id)))
        finally:
            swapped.stop()


class StockConfigurationTests(unittest.TestCase):
    """Installing our package changes nothing for Glance on stock drivers."""

    def run_stock(self, port, name, edit):
        def configure(parser):
            for section in list(parser.sections()):
                if section.startswith(('ours_', 'stock_')):
                    parser.remove_section(section)
            parser['database']['connection'] = 'sqlite:///' + os.path.join(
                os.path.abspath(extra.dir), 'glance.sqlite')
            edit(parser, os.path.abspath(extra.dir))

        extra = glance_api.ExtraGlance(ENV, port, lambda p: None, name)
        shutil.rmtree(extra.dir)
        extra = glance_api.ExtraGlance(ENV, port, configure, name)
        extra.db_sync()
        client = extra.start()
        try:
            data = os.urandom(MIB + 1)
            image_id = client.create_image()
            status, _, body = client.request(
                'PUT', '/v2/images/%s/file' % image_id, data,
                {'Content-Type': 'application/octet-stream'})
            self.assertEqual(status, 204, body)
            image = client.image(image_id)
            self.assertEqual(image['os_hash_value'],
                             hashlib.sha512(data).hexdigest())
            self.assertEqual(client.download(image_id)[2], data)
            self.assertTrue(os.path.exists(
                os.path.join(extra.dir, 'images', image_id)))
        finally:
            extra.stop()

    def test_legacy_mode_stock_file_store(self):
        def legacy(parser, here):
            del parser['DEFAULT']['enabled_backends']
            for section in ('os_glance_staging_store', 'os_glance_tasks_store'):
                parser.remove_section(section)
            parser['glance_store'] = {
                'stores': 'file, http', 'default_store': 'file',
                'filesystem_store_datadir': os.path.join(here, 'images')}
        self.run_stock(18294, 'stock-legacy', legacy)

    def test_multi_store_stock_backends(self):
        def multi(parser, here):
            parser['DEFAULT']['enabled_backends'] = 'fast:file, web:http'
            parser['glance_store'] = {'default_backend': 'fast'}
            parser['fast'] = {'filesystem_store_datadir':
                              os.path.join(here, 'images')}
        self.run_stock(18295, 'stock-multi', multi)


class LoadTests(unittest.TestCase):

    def test_big_chunked_upload_keeps_api_responsive_and_memory_bounded(self):
        pids = glance_api.worker_pids(ENV['GS_GLANCE_CONF'])
        self.assertTrue(pids, 'no glance-api process found')
        before = {pid: glance_api.rss_kib(pid) for pid in pids}
        peak = dict(before)
        blocks = [os.urandom(MIB) for _ in range(7)]
        total = 512 * MIB
        md5, sha512 = hashlib.md5(), hashlib.sha512()
        for i in range(total // MIB):
            md5.update(blocks[i % 7])
            sha512.update(blocks[i % 7])
        image_id = API.create_image('gs-load')
        failure = []

        def body():
            for i in range(total // MIB):
                yield blocks[i % 7]

        def upload():
            try:
                API.upload(image_id, body(), ENV['GS_GLANCE_OURS_FILE'],
                           chunked=True)
            except Exception as error:  # reported by the main thread
                failure.append(error)

        thread = threading.Thread(target=upload)
        started = time.monotonic()
        thread.start()
        latencies = []
        while thread.is_alive():
            t0 = time.monotonic()
            status = API.request('GET', '/v2/images?limit=5', timeout=30)[0]
            latencies.append(time.monotonic() - t0)
            self.assertEqual(status, 200)
            for pid in pids:
                peak[pid] = max(peak[pid], glance_api.rss_kib(pid))
            time.sleep(0.2)
        thread.join()
        elapsed = time.monotonic() - started
        self.assertFalse(failure, failure)
        image = API.image(image_id)
        self.assertEqual((image['size'], image['checksum'],
                          image['os_hash_value']),
                         (total, md5.hexdigest(), sha512.hexdigest()))
        growth_mib = max(peak[p] - before[p] for p in pids) / 1024
        print('\n512 MiB chunked upload: %.1f s, %d polls, slowest %.3f s, '
              'RSS growth %.1f MiB' % (elapsed, len(latencies),
                                       max(latencies), growth_mib))
        self.assertGreater(len(latencies), 3)
        self.assertLess(max(latencies), 1.0)
        self.assertLess(growth_mib, MEMORY_BOUND_MIB + 64)
        API.request('DELETE', '/v2/images/' + image_id)


if __name__ == '__main__':
    unittest.main(verbosity=2)
