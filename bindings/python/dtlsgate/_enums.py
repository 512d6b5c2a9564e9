"""Qt's enumerations, with Qt's values, and the snake_case aliases."""

import enum
import inspect
import re
from typing import Type, TypeVar

from . import _native


class QDtlsError(enum.IntEnum):
    """QDtlsError: what went wrong in the last verifyClient() or
    setCookieGeneratorParameters() call."""

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


# PySide also offers the enumerators on the class itself.
for _name, _member in QCryptographicHash.Algorithm.__members__.items():
    setattr(QCryptographicHash, _name, _member)

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


with_snake_case_aliases(QCryptographicHash)
