"""The read-only HTTP driver (entry point ``cpp_http``)."""

from glance_store._drivers import http as stock

from glance_store_cpp import _driver
from glance_store_cpp import _options

StoreLocation = _driver.StoreLocation


class Store(_driver.Store):
    NATIVE_TYPE = 'http'
    ENTRY_POINT = 'cpp_http'
    STOCK_SCHEMES = ('http', 'https')
    OPTIONS = _options.merge(stock._HTTP_OPTS, _options.COMMON + _options.HTTP)
