"""The S3 driver (entry point ``cpp_s3``)."""

from glance_store._drivers import s3 as stock

from glance_store_cpp import _driver
from glance_store_cpp import _options

StoreLocation = _driver.StoreLocation


class Store(_driver.Store):
    NATIVE_TYPE = 's3'
    ENTRY_POINT = 'cpp_s3'
    STOCK_SCHEMES = ('s3', 's3+http', 's3+https')
    OPTIONS = _options.merge(stock._S3_OPTS, _options.COMMON + _options.S3)
