#!/usr/bin/python3
"""HTTP store interoperability with Debian's glance_store 4.1 (python3-glance-store): both read
the same images from the test origin (nginx on 127.0.0.1, scripts/servers/http-origin), and
every case must give the same outcome on both sides — the same bytes and size, or the same
error class.

Images of 0 B, 1 B and 3 MiB (random), written into the origin's document root under a unique
prefix and removed at the end, are read whole (get) and sized (size) over http, over https with
the origin's CA as https_ca_certificates_file, through the tinyproxy forward proxy
(http_proxy_information = http:127.0.0.1:PORT; the proxy's log must show both sides' requests),
behind basic auth with the credentials percent-encoded in the URI, and after 4 absolute
redirects. Errors: 5 redirects and a redirect loop (MaxRedirectsExceeded), 303/307/308
(BadStoreUri), a missing image (NotFound), 500/403/401 (BadStoreUri), a refused connection
(get: RemoteServiceUnavailable; size: BadStoreUri, as glance_store 4.1 does).

Known differences (decisions.md Q-12) are printed, not counted: glance_store rejects a relative
Location that ours follows, and crashes (KeyError) on a 302 without Location where ours gives
BadStoreUri. Only our side's result is asserted for them.

usage: http_interop_test.py [GLANCE_STORE_BINARY]   (default: build/glance-store)
"""
import hashlib
import logging
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

from oslo_config import cfg
from glance_store import backend

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
BINARY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'build', 'glance-store')
ORIGIN = os.path.join(ROOT, 'scripts', 'servers', 'http-origin')
logging.disable(logging.CRITICAL)  # glance_store logs every failed request
# Only the configured proxy and CA may be used, by either side. requests lets REQUESTS_CA_BUNDLE
# and CURL_CA_BUNDLE override the session's verify (requests issue 3829), so glance_store would
# ignore https_ca_certificates_file while they are set.
for var in ('http_proxy', 'https_proxy', 'all_proxy', 'no_proxy'):
    os.environ.pop(var, None)
    os.environ.pop(var.upper(), None)
for var in ('REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'):
    os.environ.pop(var, None)
PREFIX = f'gs-http-interop-{uuid.uuid4().hex[:10]}-'
failures = []


def fail(what):
    failures.append(what)
    print('FAIL', what)


def http_env():
    """GS_HTTP_* and GS_HTTPS_* from the environment, else from `http-origin env` (started if it is down)."""
    env = {k: v for k, v in os.environ.items() if k.startswith(('GS_HTTP_', 'GS_HTTPS_'))}
    if 'GS_HTTP_URL' not in env:
        if subprocess.run([ORIGIN, 'status'], capture_output=True).returncode != 0:
            subprocess.run([ORIGIN, 'start'], check=True, capture_output=True)
        out = subprocess.run([ORIGIN, 'env'], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith('export '):
                key, _, value = line[7:].partition('=')
                env[key] = ' '.join(shlex.split(value))  # undo printf %q
    if 'GS_HTTP_URL' not in env:
        sys.exit('the HTTP origin is not running: start it with scripts/servers/http-origin start')
    return env


def glance_conf(datadir, ca=None, proxy=None):
    """glance_store as Glance configures it (legacy mode): file and http stores."""
    conf = cfg.ConfigOpts()
    backend.register_opts(conf)
    conf([], project='glance-store-http-interop')
    settings = {'stores': ['file', 'http'], 'default_store': 'file',
                'filesystem_store_datadir': datadir}
    if ca:
        settings['https_ca_certificates_file'] = ca
    if proxy:
        settings['http_proxy_information'] = {'http': proxy}
    for key, value in settings.items():
        conf.set_override(key, value, group='glance_store')
    backend.create_stores(conf)
    return conf


def our_conf(tmp, datadir, ca=None, proxy=None):
    path = os.path.join(tmp, f'glance-api-{"ca" if ca else ""}{"proxy" if proxy else ""}.conf')
    with open(path, 'w') as f:
        f.write(f'[glance_store]\nstores = file, http\ndefault_store = file\n'
                f'filesystem_store_datadir = {datadir}\n')
        if ca:
            f.write(f'https_ca_certificates_file = {ca}\n')
        if proxy:
            f.write(f'http_proxy_information = http:{proxy}\n')
    return path


def describe(data, size=None):
    """An outcome as a comparable string: byte count and digest (and a differing size)."""
    text = f'{len(data)} B md5 {hashlib.md5(data).hexdigest()[:12]}'
    return text if size is None or size == len(data) else f'{text} but size {size}'


def glance_outcome(op, uri):
    try:
        if op == 'get':
            chunks, size = backend.get_from_backend(uri)
            return describe(b''.join(chunks), size)
        return f'size {backend.get_size_from_backend(uri)}'
    except Exception as e:  # the class name is the outcome, whatever it is
        return type(e).__name__


def our_outcome(config, op, uri):
    p = subprocess.run([BINARY, '--config', config, op, uri], capture_output=True, timeout=60)
    if p.returncode == 0:
        return describe(p.stdout) if op == 'get' else f'size {p.stdout.decode().strip()}'
    m = re.search(rb'^glance-store: (\w+): ', p.stderr, re.M)
    return m.group(1).decode() if m and p.returncode >= 10 else \
        f'exit {p.returncode}: {p.stderr.decode(errors="replace").strip()[-200:]}'


def expected_ok(data, op):
    return describe(data) if op == 'get' else f'size {len(data)}'


class Run:
    def __init__(self, tmp, datadir):
        self.tmp, self.datadir = tmp, datadir
        self.agreed = self.total = 0
        self.known = []

    def case(self, label, uri, want, ca=None, proxy=None, ops=('get', 'size')):
        """want: the outcome both must give — one for every op, or a dict by op."""
        glance_conf(self.datadir, ca, proxy)
        config = our_conf(self.tmp, self.datadir, ca, proxy)
        for op in ops:
            expected = want[op] if isinstance(want, dict) else want
            theirs, ours = glance_outcome(op, uri), our_outcome(config, op, uri)
            self.total += 1
            if theirs == ours == expected:
                self.agreed += 1
            elif theirs == ours:
                fail(f'{label} {op} {uri}: both give {ours}, expected {expected}')
            else:
                fail(f'{label} {op} {uri}: glance_store {theirs}, ours {ours}')

    def known_difference(self, label, uri, ours_want, ops=('get', 'size')):
        glance_conf(self.datadir)
        config = our_conf(self.tmp, self.datadir)
        for op in ops:
            theirs, ours = glance_outcome(op, uri), our_outcome(config, op, uri)
            want = ours_want[op] if isinstance(ours_want, dict) else ours_want
            print(f'known difference (Q-12): {label} {op} {uri}: glance_store {theirs}, '
                  f'ours {ours}')
            self.known.append(label)
            if ours != want:
                fail(f'{label} {op} {uri}: ours {ours}, expected {want} (decisions.md Q-12)')


def proxy_requests(env, path):
    """How many requests for `path` the forward proxy has logged."""
    try:
        with open(env['GS_HTTP_PROXY_LOG'], errors='replace') as f:
            return sum(1 for line in f if 'Request' in line and path in line)
    except OSError:
        return None


def main():
    env = http_env()
    http, https, root = env['GS_HTTP_URL'], env['GS_HTTPS_URL'], env['GS_HTTP_ROOT']
    proxy = urllib.parse.urlsplit(env['GS_HTTP_PROXY']).netloc
    user = urllib.parse.quote(env['GS_HTTP_USER'], safe='')
    password = urllib.parse.quote(env['GS_HTTP_PASSWORD'], safe='')
    images = {f'{PREFIX}0b': b'', f'{PREFIX}1b': os.urandom(1),
              f'{PREFIX}3mib': os.urandom(3 * 1024 * 1024)}
    with tempfile.TemporaryDirectory(prefix='glance_store_http_interop.') as tmp:
        datadir = os.path.join(tmp, 'images')
        os.makedirs(datadir)
        run = Run(tmp, datadir)
        try:
            for name, data in images.items():
                with open(os.path.join(root, name), 'wb') as f:
                    f.write(data)
            for name, data in images.items():
                ok = {op: expected_ok(data, op) for op in ('get', 'size')}
                run.case('plain', f'{http}/images/{name}', ok)
                run.case('https', f'{https}/images/{name}', ok, ca=env['GS_HTTP_CA'])
                before = proxy_requests(env, f'/images/{name}')
                run.case('proxy', f'{http}/images/{name}', ok, proxy=proxy)
                after = proxy_requests(env, f'/images/{name}')
                # tinyproxy may log a request a moment after answering it (a loaded machine)
                for _ in range(30):
                    if after is None or after - before >= 4:
                        break
                    time.sleep(0.1)
                    after = proxy_requests(env, f'/images/{name}')
                if before is not None and after - before != 4:  # GET and HEAD, by each side
                    fail(f'proxy: {after - before} requests for {name} in the proxy log, '
                         'expected 4')
                run.case('auth', f'http://{user}:{password}@{http.split("://", 1)[1]}'
                         f'/auth/{name}', ok)
                run.case('4 absolute redirects', f'{http}/abs-redirect/4/{name}', ok)
            name = f'{PREFIX}1b'
            run.case('5 absolute redirects', f'{http}/abs-redirect/5/{name}',
                     'MaxRedirectsExceeded')
            run.case('redirect loop', f'{http}/loop/{name}', 'MaxRedirectsExceeded')
            for route in ('see-other', 'temp', 'permanent'):
                run.case(route, f'{http}/{route}/{name}', 'BadStoreUri')
            run.case('missing', f'{http}/images/{PREFIX}missing', 'NotFound')
            run.case('500', f'{http}/status/500', 'BadStoreUri')
            run.case('403', f'{http}/status/403', 'BadStoreUri')
            run.case('auth without credentials', f'{http}/auth/{name}', 'BadStoreUri')
            run.case('connection refused', 'http://127.0.0.1:1/images/x',
                     {'get': 'RemoteServiceUnavailable', 'size': 'BadStoreUri'})
            run.known_difference('relative Location', f'{http}/redirect/2/{name}',
                                 {op: expected_ok(images[name], op) for op in ('get', 'size')})
            run.known_difference('302 without Location', f'{http}/noloc/{name}', 'BadStoreUri')
        finally:
            for name in images:
                try:
                    os.remove(os.path.join(root, name))
                except OSError as e:
                    fail(f'removing {name} from the document root: {e}')
    print(f'{len(run.known)} known differences recorded (decisions.md Q-12)')
    print(f'{run.agreed}/{run.total} HTTP cases agree with glance_store')
    if failures or run.agreed != run.total:
        sys.exit(1)


if __name__ == '__main__':
    main()
