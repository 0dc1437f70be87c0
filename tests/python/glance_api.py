"""A small client of the Glance API the project's glance-api script runs, and
a way to run more glance-api processes from its configuration."""

import configparser
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import server_env  # noqa: E402

MIB = 1 << 20


def environment():
    return server_env.load('glance-api', 'GS_GLANCE_URL')


class Glance:
    """Requests with the header identity of the project's pipeline."""

    def __init__(self, url, project, user='gs-test-user'):
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname, parsed.port
        self.headers = {'X-Identity-Status': 'Confirmed',
                        'X-Project-Id': project, 'X-User-Id': user,
                        'X-Roles': 'admin,member,reader'}

    def request(self, method, path, body=None, headers=None, timeout=600,
                chunked=False):
        connection = http.client.HTTPConnection(self.host, self.port,
                                                timeout=timeout)
        all_headers = dict(self.headers, **(headers or {}))
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            all_headers.setdefault('Content-Type', 'application/json')
        connection.request(method, path, body=body, headers=all_headers,
                           encode_chunked=chunked)
        response = connection.getresponse()
        data = response.read()
        connection.close()
        return response.status, dict(response.getheaders()), data

    def json(self, method, path, body=None, expect=(200,), **kwargs):
        status, _, data = self.request(method, path, body, **kwargs)
        if status not in expect:
            raise AssertionError('%s %s: %d %s' % (method, path, status,
                                                   data[:500]))
        return json.loads(data) if data else None

    def create_image(self, name='gs-test'):
        return self.json('POST', '/v2/images',
                         {'name': name, 'disk_format': 'raw',
                          'container_format': 'bare'}, expect=(201,))['id']

    def upload(self, image_id, body, store, chunked=False):
        headers = {'Content-Type': 'application/octet-stream',
                   'X-Image-Meta-Store': store}
        status, _, data = self.request('PUT', '/v2/images/%s/file' % image_id,
                                       body, headers, chunked=chunked)
        if status != 204:
            raise AssertionError('upload to %s: %d %s' % (store, status,
                                                         data[:500]))

    def image(self, image_id):
        return self.json('GET', '/v2/images/%s' % image_id)

    def download(self, image_id, byte_range=None):
        headers = {'Range': 'bytes=%d-%d' % byte_range} if byte_range else {}
        return self.request('GET', '/v2/images/%s/file' % image_id,
                            headers=headers)

    def wait_for(self, image_id, predicate, seconds=120):
        deadline = time.monotonic() + seconds
        while True:
            image = self.image(image_id)
            if predicate(image):
                return image
            if time.monotonic() > deadline:
                raise AssertionError('image %s never got there: %s' %
                                     (image_id, image))
            time.sleep(0.5)


def stores_of(image):
    return set(filter(None, image.get('stores', '').split(',')))


class ExtraGlance:
    """Another glance-api process on `port`, with the script's configuration
    edited by `edit(parser)`; it shares the script's database and datadirs
    unless `edit` changes them."""

    def __init__(self, env, port, edit, name):
        self.env = env
        self.dir = os.path.join(os.path.dirname(env['GS_GLANCE_CONF']),
                                '..', 'extra-' + name)
        os.makedirs(self.dir, exist_ok=True)
        parser = configparser.RawConfigParser(strict=False)
        parser.optionxform = str
        parser.read(env['GS_GLANCE_CONF'])
        parser['DEFAULT']['bind_port'] = str(port)
        parser['DEFAULT']['log_file'] = os.path.join(self.dir, 'glance-api.log')
        edit(parser)
        self.conf = os.path.join(self.dir, 'glance-api.conf')
        with open(self.conf, 'w') as f:
            parser.write(f)
        self.url = 'http://127.0.0.1:%d' % port
        self.process = None

    def db_sync(self):
        subprocess.run(['glance-manage', '--config-file', self.conf, 'db_sync'],
                       check=True, capture_output=True, env=self.child_env())

    def child_env(self):
        env = dict(os.environ)
        env['PYTHONPATH'] = self.env['GS_GLANCE_PYTHONPATH']
        return env

    def start(self):
        self.process = subprocess.Popen(
            ['/usr/bin/python3', '/usr/bin/glance-api', '--config-file',
             self.conf], env=self.child_env(), stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        client = Glance(self.url, self.env['GS_GLANCE_PROJECT'])
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError('glance-api exited: %s' % self.log_tail())
            try:
                if client.request('GET', '/versions', timeout=2)[0] in (200,
                                                                         300):
                    return client
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError('glance-api never answered: %s' % self.log_tail())

    def log_tail(self):
        try:
            with open(os.path.join(self.dir, 'glance-api.log')) as f:
                return f.read()[-3000:]
        except OSError:
            return '(no log)'

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()


def worker_pids(conf_path):
    """The glance-api processes running with this configuration file."""
    pids = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                argv = f.read().split(b'\0')
        except OSError:
            continue
        if b'/usr/bin/glance-api' in argv and conf_path.encode() in argv:
            pids.append(int(entry))
    return pids


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0
