"""The C++ library's error kinds as glance_store's exception classes."""

from glance_store import exceptions

from glance_store_cpp import _native


def translate(error):
    """The glance_store exception for a _native.StoreError.

    Kinds glance_store has no class for (ours: ChecksumMismatch; TimeoutError)
    become BackendException.
    """
    kind, message = error.args
    cls = getattr(exceptions, kind, None)
    if isinstance(cls, type) and issubclass(cls,
                                            exceptions.GlanceStoreException):
        return cls(message=message)
    if isinstance(cls, type) and issubclass(cls, exceptions.BackendException):
        return cls(message)  # a plain Exception: no keyword arguments
    return exceptions.BackendException(message)


def call(function, *args, **kwargs):
    """Calls a native function, raising glance_store's exceptions."""
    try:
        return function(*args, **kwargs)
    except _native.StoreError as error:
        raise translate(error) from None
