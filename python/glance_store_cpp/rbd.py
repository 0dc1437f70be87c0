"""The Ceph RBD driver (entry point ``cpp_rbd``)."""

from glance_store._drivers import rbd as stock

from glance_store_cpp import _driver
from glance_store_cpp import _options

StoreLocation = _driver.StoreLocation


class Store(_driver.Store):
    NATIVE_TYPE = 'rbd'
    ENTRY_POINT = 'cpp_rbd'
    STOCK_SCHEMES = ('rbd',)
    OPTIONS = _options.merge(stock._RBD_OPTS, _options.COMMON + _options.RBD)
