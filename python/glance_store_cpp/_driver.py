"""What every glance_store_cpp driver shares: a glance_store Store whose work
is done by a store of the C++ library.

The bytes of an add and of a get move between Python and a C++ thread through
a bounded queue. Python never blocks on it: when the queue cannot take or give
a chunk, Python waits until the queue's eventfd is readable, in eventlet's hub
under glance-api (the process goes on serving other requests) or in select()
elsewhere. The image is read from Glance's reader in the request's own green
thread; no C++ thread ever calls Python. The few other calls that may block
(opening a get, a delete, a size) release the GIL and, under eventlet, run in
its native thread pool.
"""

import json
import logging
import select
import sys

from glance_store import capabilities
from glance_store import driver
from glance_store import exceptions
from glance_store import location as glance_location
from oslo_utils import units

from glance_store_cpp import _errors
from glance_store_cpp import _native
from glance_store_cpp import _options

LOG = logging.getLogger(__name__)

# Bytes per read of the image file in add and per chunk of a get's iterator.
CHUNK_SIZE = units.Mi
# What may wait between Python and the C++ thread: of an add, and read ahead
# of a get.
ADD_QUEUE_BYTES = 2 * units.Mi
GET_AHEAD_BYTES = 4 * units.Mi


def _under_eventlet():
    eventlet = sys.modules.get('eventlet')
    return eventlet is not None and eventlet.patcher.is_monkey_patched('thread')


def _blocking(function, *args):
    """Runs a native call off the event loop when there is one."""
    if _under_eventlet():
        from eventlet import tpool
        return _errors.call(tpool.execute, function, *args)
    return _errors.call(function, *args)


def _wait(queue):
    """Waits until a native queue's eventfd is readable."""
    if _under_eventlet():
        from eventlet import hubs
        hubs.trampoline(queue.fileno(), read=True)
    else:
        select.select([queue.fileno()], [], [])


def _native_context(context):
    """The parts of a request context the C++ stores use (multi-tenant Swift)."""
    if context is None:
        return None
    catalog = getattr(context, 'service_catalog', None) or []
    return {
        'auth_token': getattr(context, 'auth_token', None),
        'user_id': (getattr(context, 'user_id', None) or
                    getattr(context, 'user', None)),
        'project_id': (getattr(context, 'project_id', None) or
                       getattr(context, 'tenant', None)),
        'service_catalog': json.dumps(catalog),
    }


# The configured native stores by (backend id or '' in legacy mode, store
# type): a location is parsed with its store's configuration (a swift+config
# URI names a reference of the store's swift_store_config_file).
_CONFIGURED = {}


class StoreLocation(glance_location.StoreLocation):
    """A location parsed by the C++ library, as glance_store parses it.

    The parsed fields are attributes under glance_store's names (``path``,
    ``bucket``, ``container``, ``obj``, …); get_uri() writes the URI back as
    glance_store does.
    """

    def parse_uri(self, uri):
        key = (self.backend_group or '',
               _native.type_of_scheme(_native.dispatch_scheme(uri)))
        store = _CONFIGURED.get(key)
        parse = store.parse_location if store else _native.parse_location
        scheme, written, fields = _errors.call(parse, uri)
        self.scheme = scheme
        self._uri = written
        for name, value in fields:
            if name not in ('conf', 'specs', 'backend_group'):
                setattr(self, name, value)

    def get_uri(self):
        return self._uri


class Store(driver.Store):
    """The base of the drivers; each sets the class attributes below."""

    NATIVE_TYPE = None  # the C++ store type: 'file', 's3', 'swift', 'http', 'rbd'
    ENTRY_POINT = None  # our entry point's name, also one of our schemes
    STOCK_SCHEMES = ()  # the stock driver's schemes, whose locations we serve
    OPTIONS = None
    MULTI_BACKEND_OPTIONS = _options.merge(driver.Store.MULTI_BACKEND_OPTIONS,
                                           _options.MULTI_BACKEND)
    READ_CHUNKSIZE = CHUNK_SIZE
    WRITE_CHUNKSIZE = CHUNK_SIZE

    def __init__(self, conf, backend=None):
        super().__init__(conf, backend=backend)
        self.store_location_class = StoreLocation
        self._native = None

    def get_schemes(self):
        # glance_store finds a backend's store by the name of its entry point
        # among the schemes, so that name is a scheme too.
        return tuple(self.STOCK_SCHEMES) + (self.ENTRY_POINT,)

    def _option_values(self):
        group = self.backend_group or 'glance_store'
        values = getattr(self.conf, group)
        opts = list(self.OPTIONS)
        if self.backend_group:
            opts += list(self.MULTI_BACKEND_OPTIONS)
        resolved = {}
        for opt in opts:
            try:
                value = getattr(values, opt.dest)
            except Exception:  # not registered in this group
                continue
            text = _options.as_text(opt, value)
            if text:
                resolved[opt.dest] = text
        return resolved

    def configure(self, re_raise_bsc=False):
        # A malformed value fails here, as oslo.config fails on one of its own.
        self._native = _errors.call(_native.Store, self.NATIVE_TYPE,
                                    self.backend_group or '',
                                    self._option_values())
        _CONFIGURED[(self.backend_group or '', self.NATIVE_TYPE)] = self._native
        super().configure(re_raise_bsc=re_raise_bsc)
        self._url_prefix = self._native.url_prefix

    def configure_add(self):
        # Not through eventlet's tpool: Glance configures its stores in the
        # parent process and then forks its workers, and tpool's threads
        # started before a fork do not exist in the child, whose next tpool
        # call would then wait for ever. Configuring reads options and
        # checks directories; a remote store connects on first use.
        _errors.call(self._native.configure, True)

    def update_capabilities(self):
        if self._native is not None:
            self._capabilities = self._native.capabilities

    def _ready(self):
        if self._native is None:
            raise exceptions.BackendException(
                message='the %s store is not configured' % self.ENTRY_POINT)
        return self._native

    @capabilities.check
    def get(self, location, offset=0, chunk_size=None, context=None):
        store = self._ready()
        reader = _blocking(store.get, location.get_store_uri(), offset,
                           chunk_size, _native_context(context), CHUNK_SIZE,
                           GET_AHEAD_BYTES)
        return self._chunks(reader), reader.size

    @staticmethod
    def _chunks(reader):
        try:
            while True:
                chunk = _errors.call(reader.try_read)
                if chunk is None:
                    _wait(reader)
                elif chunk:
                    yield chunk
                else:
                    return
        finally:
            # A reader stopped early may be inside a read of the store.
            if reader.finished:
                reader.close()
            else:
                _blocking(reader.close)

    def get_size(self, location, context=None):
        store = self._ready()
        return _blocking(store.get_size, location.get_store_uri(),
                         _native_context(context))

    @driver.back_compat_add
    @capabilities.check
    def add(self, image_id, image_file, image_size, hashing_algo,
            context=None, verifier=None):
        store = self._ready()
        session = _errors.call(store.begin_add, image_id, image_size or 0,
                               hashing_algo, _native_context(context),
                               ADD_QUEUE_BYTES)
        try:
            while not session.done:
                chunk = image_file.read(self.WRITE_CHUNKSIZE)
                if not chunk:
                    break
                if verifier is not None:
                    verifier.update(chunk)
                while not session.try_write(chunk) and not session.done:
                    _wait(session)
            session.close_input()
            while not session.poll_done():
                _wait(session)
            uri, size, md5, multihash, metadata = _errors.call(session.result)
        except BaseException:
            session.cancel()
            while not session.poll_done():
                _wait(session)
            session.abort()
            raise
        return uri, size, md5, multihash, json.loads(metadata)

    @capabilities.check
    def delete(self, location, context=None):
        store = self._ready()
        _blocking(store.delete, location.get_store_uri(),
                  _native_context(context))

    def set_acls(self, location, public=False, read_tenants=None,
                 write_tenants=None, context=None):
        store = self._ready()
        _blocking(store.set_acls, location.get_store_uri(), bool(public),
                  list(read_tenants or []), list(write_tenants or []),
                  _native_context(context))
