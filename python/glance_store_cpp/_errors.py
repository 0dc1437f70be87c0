"""The C++ library's error kinds as glance_store's exception classes."""

from glance_store import exceptions

from glance_store_cpp import _native

# Kinds whose names are not glance_store classes, and what glance_store raises
# in their place.
_SUBSTITUTES = {
    # hashlib.new() of an unknown name, in glance_store's drivers.
    'UnknownHashingAlgo': ValueError,
    # Ours: the bytes did not hash to what was expected.
    'ChecksumMismatch': exceptions.BackendException,
}


def translate(error):
    """The glance_store exception for a _native.StoreError."""
    kind, message = error.args
    substitute = _SUBSTITUTES.get(kind)
    if substitute is not None:
        return substitute(message)
    cls = getattr(exceptions, kind, None)
    if not (isinstance(cls, type) and
            issubclass(cls, exceptions.GlanceStoreException)):
        cls = exceptions.BackendException
    return cls(message=message)


def call(function, *args, **kwargs):
    """Calls a native function, raising glance_store's exceptions."""
    try:
        return function(*args, **kwargs)
    except _native.StoreError as error:
        raise translate(error) from None
