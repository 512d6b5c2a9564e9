# SPDX-License-Identifier: MIT
"""Qt's enumerations, with Qt's values, and the snake_case aliases."""

import enum
import inspect
import re
from typing import Any, Callable, Optional, Tuple, Type, TypeVar

from . import _native


class QDtlsError(enum.IntEnum):
    """QDtlsError: what went wrong in the last call of a QDtlsClientVerifier
    (verifyClient(), setCookieGeneratorParameters()) or of a QDtls."""

    NoError = 0
    InvalidInputParameters = 1
    InvalidOperation = 2
    UnderlyingSocketError = 3
    RemoteClosedConnectionError = 4
    PeerVerificationError = 5
    TlsInitializationError = 6
    TlsFatalError = 7
    TlsNonFatalError = 8


class QCryptographicHash:
    """Only what cookie generation needs from QCryptographicHash: the
    Algorithm enumeration and supportsAlgorithm()."""

    class Algorithm(enum.IntEnum):
        Md4 = 0
        Md5 = 1
        Sha1 = 2
        Sha224 = 3
        Sha256 = 4
        Sha384 = 5
        Sha512 = 6
        Keccak_224 = 7
        Keccak_256 = 8
        Keccak_384 = 9
        Keccak_512 = 10
        RealSha3_224 = 11
        RealSha3_256 = 12
        RealSha3_384 = 13
        RealSha3_512 = 14
        # Qt's Sha3_* names mean the real SHA-3 (Qt 5.9.2 and later).
        Sha3_224 = 11
        Sha3_256 = 12
        Sha3_384 = 13
        Sha3_512 = 14
        Blake2b_160 = 15
        Blake2b_256 = 16
        Blake2b_384 = 17
        Blake2b_512 = 18
        Blake2s_128 = 19
        Blake2s_160 = 20
        Blake2s_224 = 21
        Blake2s_256 = 22

    @staticmethod
    def supportsAlgorithm(method: int) -> bool:
        """Whether dtlsgate can make cookies with this algorithm. Keccak_224,
        Keccak_384 and Blake2s_128/160/224 are known but not available;
        a value that is no Algorithm at all gives False, as in Qt."""
        n = _native.c_range(method, _native.INT_MIN, _native.INT_MAX,
                            "dtlsgate_hash_supported", "algorithm")
        try:
            return _native.lib.dtlsgate_hash_supported(n) == 1
        except _native.UnsupportedError:
            return False




class QSsl:
    """Only the SslProtocol enumeration of the QSsl namespace, with Qt 6's
    values (qssl.h). The session speaks DTLS 1.2 alone: sessionProtocol()
    is DtlsV1_2 while encrypted and UnknownProtocol otherwise."""

    class SslProtocol(enum.IntEnum):
        TlsV1_0 = 0  # this and the other 1.0/1.1 values: deprecated in Qt 6.3
        TlsV1_1 = 1
        TlsV1_2 = 2
        AnyProtocol = 3
        SecureProtocols = 4
        TlsV1_0OrLater = 5
        TlsV1_1OrLater = 6
        TlsV1_2OrLater = 7
        DtlsV1_0 = 8
        DtlsV1_0OrLater = 9
        DtlsV1_2 = 10
        DtlsV1_2OrLater = 11
        TlsV1_3 = 12
        TlsV1_3OrLater = 13
        UnknownProtocol = -1


class QSslSocket:
    """Only the two enumerations of QSslSocket a DTLS program needs; there
    is no QSslSocket class (no TLS over TCP here)."""

    class SslMode(enum.IntEnum):
        UnencryptedMode = 0
        SslClientMode = 1
        SslServerMode = 2

    class PeerVerifyMode(enum.IntEnum):
        VerifyNone = 0
        QueryPeer = 1
        VerifyPeer = 2
        AutoVerifyPeer = 3


def _enumerators_on_class(cls: type, *enums: Type[enum.IntEnum]) -> None:
    """PySide also offers the enumerators on the class itself."""
    for e in enums:
        for name, member in e.__members__.items():
            setattr(cls, name, member)


_enumerators_on_class(QSsl, QSsl.SslProtocol)
_enumerators_on_class(QSslSocket, QSslSocket.SslMode, QSslSocket.PeerVerifyMode)

T = TypeVar("T")


def snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def with_snake_case_aliases(cls: Type[T]) -> Type[T]:
    """Adds verify_client for verifyClient and so on: the same function
    under a second name, for code that follows PEP 8."""
    for name, value in list(vars(cls).items()):
        if name.startswith("_") or name == snake_case(name):
            continue
        if inspect.isfunction(value) or isinstance(value, (staticmethod, classmethod)):
            setattr(cls, snake_case(name), value)
    return cls


_enumerators_on_class(QCryptographicHash, QCryptographicHash.Algorithm)
with_snake_case_aliases(QCryptographicHash)


@with_snake_case_aliases
class DtlsErrorState:
    """dtlsError() and dtlsErrorString() for the classes that keep Qt's
    last-error state: the binding's own verdict when it made one (in
    _error, for what it decides before or instead of the library), else
    the library's. Subclasses set _error_code and _error_text to their C
    functions and hold _handle."""

    _handle: Optional[int]
    _error: Optional[Tuple[QDtlsError, str]] = None
    _error_code: Callable[[Any], int]
    _error_text: Callable[..., int]

    def dtlsError(self) -> QDtlsError:
        """What went wrong in the last call that can fail."""
        code = self._error_code(self._handle)  # raises when closed
        return self._error[0] if self._error is not None else QDtlsError(code)

    def dtlsErrorString(self) -> str:
        """The message that goes with dtlsError(); empty for NoError."""
        text = _native.read_buffer(self._error_text, self._handle)
        return self._error[1] if self._error is not None else text.decode("utf-8", "replace")
