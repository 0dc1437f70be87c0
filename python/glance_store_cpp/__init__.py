"""glance_store drivers backed by the C++ glance_store library.

Each module is a driver that glance_store loads through an entry point of the
``glance_store.drivers`` group: ``cpp_file``, ``cpp_s3``, ``cpp_swift``,
``cpp_http`` and ``cpp_rbd``. They read the stock drivers' options, write the
stock drivers' locations, and run the transfers in the C++ library.
"""

__version__ = "@PROJECT_VERSION@"
