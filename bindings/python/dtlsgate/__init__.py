# SPDX-License-Identifier: MIT
"""dtlsgate: Qt's QDtlsClientVerifier, QDtls (DTLS 1.2 with pre-shared
keys) and QSslPreSharedKeyAuthenticator for Python, with PySide6's names,
over the dtlsgate C library (ctypes, standard library only).

A PySide program ports by changing its import::

    from dtlsgate import (QDtls, QDtlsClientVerifier, QDtlsError, QSsl,
                          QSslConfiguration, QSslPreSharedKeyAuthenticator, QSslSocket)

Alongside: QSslCipher and QSslConfiguration as far as a PSK session uses
them, QSslSocket's SslMode and PeerVerifyMode, QSsl.SslProtocol, and a
small Signal class with PySide's connect/disconnect/emit. QDtls takes a
socket.socket, an asyncio DatagramTransport or a QUdpSocket-like object;
its handshakeTimeout is emitted by itself under asyncio, and by
checkTimeout() in other loops (remainingTimeout() sizes the wait).

The C library is looked for, in this order: the path in $DTLSGATE_LIBRARY,
the copy bundled with the installed package, the repository's lib/ (after
`make`), then ctypes.util.find_library("dtlsgate").
"""

from . import _native
from ._enums import QCryptographicHash, QDtlsError, QSsl, QSslSocket
from ._native import (
    BadHandleError,
    BufferTooSmallError,
    BusyError,
    DtlsgateError,
    InternalError,
    InvalidArgumentError,
    InvalidStateError,
    IOFailedError,
    NotFoundError,
    UnsupportedError,
)
from ._psk import QSslPreSharedKeyAuthenticator
from ._server import MOVED, DtlsServer, ServerEvent
from ._session import QDtls
from ._signal import BoundSignal, Signal
from ._ssl import QSslCipher, QSslConfiguration
from ._verifier import CheckResult, CheckVerdict, FleetMode, GeneratorParameters, QDtlsClientVerifier
from ._version import __version__

MAX_INPUT = _native.MAX_INPUT
MAX_DATAGRAM = _native.MAX_DATAGRAM
NO_CONNECTION_ID = _native.NO_CONNECTION_ID
EMPTY_CONNECTION_ID = _native.EMPTY_CONNECTION_ID


def library_version() -> str:
    """The version of the C library loaded, e.g. "0.1.0"."""
    return _native.version()


def library_path() -> str:
    """The file the C library was loaded from."""
    return _native.library_path


__all__ = [
    "BadHandleError",
    "BoundSignal",
    "BufferTooSmallError",
    "BusyError",
    "CheckResult",
    "CheckVerdict",
    "DtlsServer",
    "DtlsgateError",
    "EMPTY_CONNECTION_ID",
    "FleetMode",
    "GeneratorParameters",
    "InternalError",
    "IOFailedError",
    "InvalidArgumentError",
    "InvalidStateError",
    "MAX_DATAGRAM",
    "MAX_INPUT",
    "MOVED",
    "NO_CONNECTION_ID",
    "NotFoundError",
    "QCryptographicHash",
    "QDtls",
    "QDtlsClientVerifier",
    "QDtlsError",
    "QSsl",
    "QSslCipher",
    "QSslConfiguration",
    "QSslPreSharedKeyAuthenticator",
    "QSslSocket",
    "ServerEvent",
    "Signal",
    "UnsupportedError",
    "__version__",
    "library_path",
    "library_version",
]
