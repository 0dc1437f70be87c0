"""The Swift driver (entry point ``cpp_swift``), single- and multi-tenant."""

from glance_store._drivers.swift import buffered
from glance_store._drivers.swift import store as stock
from glance_store._drivers.swift import utils as stock_utils

from glance_store_cpp import _driver
from glance_store_cpp import _options

StoreLocation = _driver.StoreLocation


class Store(_driver.Store):
    NATIVE_TYPE = 'swift'
    ENTRY_POINT = 'cpp_swift'
    STOCK_SCHEMES = ('swift+https', 'swift', 'swift+http', 'swift+config')
    OPTIONS = _options.merge(
        stock._SWIFT_OPTS + stock_utils.swift_opts + buffered.BUFFERING_OPTS,
        _options.COMMON + _options.SWIFT)
