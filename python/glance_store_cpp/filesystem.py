"""The filesystem driver (entry point ``cpp_file``)."""

from glance_store._drivers import filesystem as stock

from glance_store_cpp import _driver
from glance_store_cpp import _options

StoreLocation = _driver.StoreLocation


class Store(_driver.Store):
    NATIVE_TYPE = 'file'
    ENTRY_POINT = 'cpp_file'
    STOCK_SCHEMES = ('file', 'filesystem')
    OPTIONS = _options.merge(stock._FILESYSTEM_CONFIGS,
                             _options.COMMON + _options.FILESYSTEM)
