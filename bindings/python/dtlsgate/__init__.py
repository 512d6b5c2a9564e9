"""dtlsgate: Qt's QDtlsClientVerifier and QSslPreSharedKeyAuthenticator
for Python, with PySide6's names, over the dtlsgate C library (ctypes,
standard library only).

A PySide program ports by changing its import::

    from dtlsgate import QDtlsClientVerifier, QDtlsError, QSslPreSharedKeyAuthenticator

The C library is looked for, in this order: the path in $DTLSGATE_LIBRARY,
the copy bundled with the installed package, the repository's lib/ (after
`make`), then ctypes.util.find_library("dtlsgate").
"""

from . import _native
from ._enums import QCryptographicHash, QDtlsError
from ._native import (
    BadHandleError,
    BufferTooSmallError,
    DtlsgateError,
    InternalError,
    InvalidArgumentError,
    UnsupportedError,
)
from ._psk import QSslPreSharedKeyAuthenticator
from ._verifier import CheckResult, CheckVerdict, FleetMode, GeneratorParameters, QDtlsClientVerifier
from ._version import __version__

MAX_INPUT = _native.MAX_INPUT


def library_version() -> str:
    """The version of the C library loaded, e.g. "0.1.0"."""
    return _native.version()


def library_path() -> str:
    """The file the C library was loaded from."""
    return _native.library_path


__all__ = [
    "BadHandleError",
    "BufferTooSmallError",
    "CheckResult",
    "CheckVerdict",
    "DtlsgateError",
    "FleetMode",
    "GeneratorParameters",
    "InternalError",
    "InvalidArgumentError",
    "MAX_INPUT",
    "QCryptographicHash",
    "QDtlsClientVerifier",
    "QDtlsError",
    "QSslPreSharedKeyAuthenticator",
    "UnsupportedError",
    "__version__",
    "library_path",
    "library_version",
]
