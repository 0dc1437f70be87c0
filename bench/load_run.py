#!/usr/bin/python3
"""Runs bench/load_bench (issue 18, item 3) against every store on the project's servers: the
filesystem, S3 on Swift's s3api and on RGW, Swift on tempauth and on Keystone, and RBD; clients
as threads of one process (through the library) and as separate `glance-store` processes.
Prints a table (and --json the reports); exits 1 when any run saw an error or a mismatch.

  load_run.py --short            CI: 16 threads x 2 images of 1 MiB, 8 processes x 1 image
  load_run.py                    the README's run: 32 clients, 64 MiB images
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'python'))
import server_env  # noqa: E402

MIB = 1 << 20


def store_configs(tmp):
    """glance-api.conf text per store, from the servers' settings."""
    swift = server_env.load('swift-aio', 'GS_SWIFT_AUTH')
    keystone = server_env.load('keystone', 'GS_KEYSTONE_URL')
    ceph = server_env.load('ceph-rgw', 'GS_RGW_ENDPOINT')
    # Small parts and segments, so that the multipart and segmented paths carry the load.
    s3 = ('[glance_store]\nstores = s3\ndefault_store = s3\n'
          's3_store_host = {endpoint}\ns3_store_access_key = {access}\n'
          's3_store_secret_key = {secret}\ns3_store_region_name = {region}\n'
          's3_store_bucket = glance-load\ns3_store_create_bucket_on_put = true\n'
          's3_store_large_object_size = 5\ns3_store_large_object_chunk_size = 5\n'
          's3_store_max_upload_parts = {max_parts}\n')
    swift_common = ('swift_store_container = glance-load\n'
                    'swift_store_create_container_on_put = true\n'
                    'swift_store_large_object_size = 5\nswift_store_large_object_chunk_size = 5\n')
    return {
        'fs': f'[glance_store]\nstores = file\ndefault_store = file\n'
              f'filesystem_store_datadir = {tmp}/images\n',
        's3api': s3.format(endpoint=swift['GS_S3API_ENDPOINT'], access=swift['GS_S3API_ACCESS_KEY'],
                           secret=swift['GS_S3API_SECRET_KEY'], region=swift['GS_S3API_REGION'],
                           max_parts=swift['GS_S3API_MAX_PARTS']),
        'rgw': s3.format(endpoint=ceph['GS_RGW_ENDPOINT'], access=ceph['GS_RGW_ACCESS_KEY'],
                         secret=ceph['GS_RGW_SECRET_KEY'], region=ceph.get('GS_RGW_REGION', ''),
                         max_parts=ceph['GS_RGW_MAX_PARTS']),
        'swift_tempauth': '[glance_store]\nstores = swift\ndefault_store = swift\n'
                          f"swift_store_auth_address = {swift['GS_SWIFT_AUTH']}\n"
                          'swift_store_user = test:tester\nswift_store_key = testing\n'
                          'swift_store_auth_version = 1\n' + swift_common,
        'swift_keystone': '[glance_store]\nstores = swift\ndefault_store = swift\n'
                          f"swift_store_auth_address = {keystone['GS_KEYSTONE_URL']}\n"
                          f"swift_store_user = {keystone['GS_KS_PROJECT']}:{keystone['GS_KS_USER']}\n"
                          f"swift_store_key = {keystone['GS_KS_PASSWORD']}\n"
                          'swift_store_auth_version = 3\n'
                          f"swift_store_region = {keystone['GS_KS_REGION']}\n" + swift_common,
        'rbd': '[glance_store]\nstores = rbd\ndefault_store = rbd\n'
               f"rbd_store_ceph_conf = {ceph['GS_CEPH_CONF']}\n"
               f"rbd_store_pool = {ceph['GS_RBD_POOL']}\nrbd_store_user = {ceph['GS_RBD_USER']}\n"
               'rbd_store_chunk_size = 4\n',
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--short', action='store_true')
    parser.add_argument('--build', default=os.path.join(ROOT, 'build'))
    parser.add_argument('--stores', nargs='+')
    parser.add_argument('--modes', nargs='+', default=['threads', 'processes'])
    parser.add_argument('--json')
    parser.add_argument('--tmpdir', default='/var/tmp')
    args = parser.parse_args()
    load_bench = os.path.join(args.build, 'load_bench')
    tool = os.path.join(args.build, 'glance-store')
    if args.short:
        shapes = {'threads': (16, 2, MIB), 'processes': (8, 1, MIB)}
    else:
        shapes = {'threads': (32, 2, 64 * MIB), 'processes': (32, 1, 64 * MIB)}
    reports, failed = [], False
    with tempfile.TemporaryDirectory(dir=args.tmpdir, prefix='load-') as tmp:
        configs = store_configs(tmp)
        for store in args.stores or list(configs):
            conf = os.path.join(tmp, f'{store}.conf')
            with open(conf, 'w') as f:
                f.write(configs[store])
            for mode in args.modes:
                clients, images, size = shapes[mode]
                run = subprocess.run(
                    [load_bench, '--config', conf, '--mode', mode, '--clients', str(clients),
                     '--images', str(images), '--size', str(size), '--binary', tool,
                     '--tmpdir', tmp], capture_output=True, text=True, check=False)
                try:
                    report = json.loads(run.stdout)
                except ValueError:
                    report = {'errors': -1, 'first_errors': [run.stderr[-2000:]]}
                report.update(store=store, mode=mode)
                reports.append(report)
                if run.returncode != 0:
                    failed = True
                    print(f'load: {store} {mode} FAILED: {report}', file=sys.stderr)
    print('| store | clients | image MiB | MiB/s | add p50 / p99 ms | get p50 / p99 ms | errors | '
          'mismatches | peak RSS MiB |')
    print('|---|---|---|---|---|---|---|---|---|')
    for r in reports:
        if r.get('errors', -1) < 0:
            print(f"| {r['store']} | {r['mode']}: no report | | | | | | | |")
            continue
        print(f"| {r['store']} | {r['clients']} {r['mode']} | {r['size'] / MIB:.0f} | "
              f"{r['mib_per_s']:.0f} | {r['add_ms_p50']:.0f} / {r['add_ms_p99']:.0f} | "
              f"{r['get_ms_p50']:.0f} / {r['get_ms_p99']:.0f} | {r['errors']} | "
              f"{r['mismatches']} | {r['peak_rss_mib']:.0f} |")
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(reports, f, indent=1)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
