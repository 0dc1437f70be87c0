#!/usr/bin/python3
"""Uploads and downloads through a real glance-api: our drivers against the
stock ones, and against a driver that discards what it gets (the ceiling of
Glance's own request handling on this machine).

A glance-api of its own (port 18296, its own database, derived from the
configuration `scripts/servers/glance-api` wrote) serves five backends:
ours_file (cpp_file) and stock_file (file), ours_s3 (cpp_s3) and stock_s3
(s3) on one bucket of Swift's s3api behind Keystone (EC2 credentials: the
stock driver cannot use tempauth's `test:tester` key), and null: reads the
body in 1 MiB pieces and drops them (no hashing), and serves zeros for
downloads. Each operation is curl moving SIZE bytes (`-T FILE` for uploads,
`-o /dev/null` for downloads); repetitions alternate between the backends.
The page cache is dropped before each operation (our filesystem driver writes
around it with O_DIRECT, the stock one through it: without the drop, the
stock driver's downloads would come from memory and ours from the disk).
RSS growth is glance-api's worker's VmHWM, reset before each operation, less
its RSS before it.

usage: glance_api_bench.py [--size-mib 1024] [--repeat 3]
(servers: swift-aio, keystone, glance-api)
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'python'))
import glance_api  # noqa: E402
import server_env  # noqa: E402

PORT = 18296
NULL_DRIVER = '''
import hashlib
from glance_store import capabilities, driver, location

CHUNK = 1 << 20
ZEROS = bytes(CHUNK)


class StoreLocation(location.StoreLocation):
    def parse_uri(self, uri):
        self.uri = uri
        self.size = int(uri.rsplit('/', 1)[1])

    def get_uri(self):
        return self.uri


class Store(driver.Store):
    _CAPABILITIES = (capabilities.BitMasks.READ_RANDOM |
                     capabilities.BitMasks.WRITE_ACCESS |
                     capabilities.BitMasks.DRIVER_REUSABLE)
    OPTIONS = []

    def get_schemes(self):
        return ('gsnull', 'gs_null')

    @driver.back_compat_add
    @capabilities.check
    def add(self, image_id, image_file, image_size, hashing_algo,
            context=None, verifier=None):
        size = 0
        while True:
            chunk = image_file.read(CHUNK)
            if not chunk:
                break
            size += len(chunk)
        # Not hashed: this measures Glance, not the hashing.
        return ('gsnull://%s/%d' % (image_id, size), size, '0' * 32,
                '0' * 128, {'store': self.backend_group})

    @capabilities.check
    def get(self, location, offset=0, chunk_size=None, context=None):
        size = location.store_location.size

        def zeros():
            left = size
            while left > 0:
                yield ZEROS[:min(CHUNK, left)]
                left -= CHUNK
        return zeros(), size

    def get_size(self, location, context=None):
        return location.store_location.size

    @capabilities.check
    def delete(self, location, context=None):
        pass
'''


def null_driver_site(directory):
    os.makedirs(os.path.join(directory, 'gs_null_driver-0.dist-info'))
    with open(os.path.join(directory, 'gs_null_driver.py'), 'w') as f:
        f.write(NULL_DRIVER)
    info = os.path.join(directory, 'gs_null_driver-0.dist-info')
    with open(os.path.join(info, 'METADATA'), 'w') as f:
        f.write('Metadata-Version: 2.1\nName: gs_null_driver\nVersion: 0\n')
    with open(os.path.join(info, 'entry_points.txt'), 'w') as f:
        f.write('[glance_store.drivers]\ngs_null = gs_null_driver:Store\n')


def configure(keystone, bucket, here):
    def edit(parser):
        s3 = {'s3_store_host': keystone['GS_SWIFT_KEYSTONE_URL'],
              's3_store_access_key': keystone['GS_KS_EC2_ACCESS'],
              's3_store_secret_key': keystone['GS_KS_EC2_SECRET'],
              's3_store_bucket': bucket,
              's3_store_create_bucket_on_put': 'true',
              's3_store_bucket_url_format': 'path'}
        for section in list(parser.sections()):
            if section.startswith(('ours_', 'stock_')):
                parser.remove_section(section)
        parser['DEFAULT']['enabled_backends'] = (
            'ours_file:cpp_file, stock_file:file, ours_s3:cpp_s3, '
            'stock_s3:s3, null:gs_null')
        parser['database']['connection'] = 'sqlite:///' + os.path.join(
            here, 'glance.sqlite')
        parser['glance_store'] = {'default_backend': 'ours_file'}
        parser['ours_file'] = {'filesystem_store_datadir':
                               os.path.join(here, 'images-ours')}
        parser['stock_file'] = {'filesystem_store_datadir':
                                os.path.join(here, 'images-stock')}
        parser['ours_s3'] = dict(s3)
        parser['stock_s3'] = dict(s3)
        parser['null'] = {}
    return edit


def memory(pid, field):
    with open('/proc/%d/status' % pid) as f:
        return [int(line.split()[1]) for line in f
                if line.startswith(field + ':')][0]


def curl(args):
    out = subprocess.run(['curl', '-sS', '-f', '-w', '%{time_total}'] + args,
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--size-mib', type=int, default=1024)
    parser.add_argument('--repeat', type=int, default=3)
    args = parser.parse_args()
    size = args.size_mib << 20

    env = glance_api.environment()
    keystone = server_env.load('keystone', 'GS_KS_EC2_ACCESS')
    work = tempfile.mkdtemp(prefix='gs-glance-bench-')
    site = os.path.join(work, 'null-site')
    null_driver_site(site)
    env = dict(env, GS_GLANCE_PYTHONPATH=env['GS_GLANCE_PYTHONPATH'] + ':' +
               site)
    bench = glance_api.ExtraGlance(env, PORT, lambda p: None, 'bench')
    shutil.rmtree(bench.dir, ignore_errors=True)
    bench = glance_api.ExtraGlance(
        env, PORT, configure(keystone, 'gs-glance-bench-%d' % os.getpid(),
                             os.path.abspath(os.path.join(work))), 'bench')
    bench.db_sync()
    client = bench.start()
    image_file = os.path.join(work, 'image')
    with open(image_file, 'wb') as f:
        for _ in range(args.size_mib):
            f.write(os.urandom(1 << 20))
    headers = [h for pair in (['-H', '%s: %s' % (k, v)]
                              for k, v in client.headers.items()) for h in pair]
    worker = max(glance_api.worker_pids(bench.conf))  # the forked worker
    backends = ['ours_file', 'stock_file', 'ours_s3', 'stock_s3', 'null']
    results = {(b, op): [] for b in backends for op in ('upload', 'download')}
    peaks = {(b, op): [] for b in backends for op in ('upload', 'download')}
    try:
        for _ in range(args.repeat):
            for backend in backends:
                image_id = client.create_image('bench')
                url = '%s/v2/images/%s/file' % (bench.url, image_id)
                for op, curl_args in (
                        ('upload', ['-X', 'PUT', '-T', image_file, '-H',
                                    'Content-Type: application/octet-stream',
                                    '-H', 'X-Image-Meta-Store: ' + backend,
                                    url]),
                        ('download', ['-o', '/dev/null', url])):
                    subprocess.run(['sh', '-c', 'sync; echo 3 > '
                                    '/proc/sys/vm/drop_caches'], check=True)
                    with open('/proc/%d/clear_refs' % worker, 'w') as f:
                        f.write('5')  # resets VmHWM
                    before = memory(worker, 'VmRSS')
                    results[(backend, op)].append(curl(headers + curl_args))
                    peaks[(backend, op)].append(
                        (memory(worker, 'VmHWM') - before) / 1024)
                client.request('DELETE', '/v2/images/' + image_id)
    finally:
        bench.stop()
        shutil.rmtree(work, ignore_errors=True)

    mib = size / (1 << 20)

    def rate(backend, op):
        return mib / statistics.median(results[(backend, op)])

    print('| backend | upload MiB/s | download MiB/s | RSS growth MiB '
          'upload / download |')
    print('|---|---|---|---|')
    for backend in backends:
        print('| %s | %.0f | %.0f | %.0f / %.0f |' % (
            backend, rate(backend, 'upload'), rate(backend, 'download'),
            max(peaks[(backend, 'upload')]),
            max(peaks[(backend, 'download')])))
    for op in ('upload', 'download'):
        print('%s: ours/stock file %.2f, s3 %.2f; ours file / null %.2f' % (
            op, rate('ours_file', op) / rate('stock_file', op),
            rate('ours_s3', op) / rate('stock_s3', op),
            rate('ours_file', op) / rate('null', op)))
    print('(%d MiB, median of %d, times: %s)' % (
        args.size_mib, args.repeat,
        {'%s %s' % k: ['%.2f' % t for t in v] for k, v in results.items()}))


if __name__ == '__main__':
    main()
