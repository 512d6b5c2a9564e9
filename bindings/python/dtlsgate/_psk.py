# SPDX-License-Identifier: MIT
"""QSslPreSharedKeyAuthenticator."""

from typing import Any, Optional

from . import _native
from ._enums import with_snake_case_aliases
from ._inputs import BytesLike, to_bytes

lib = _native.lib


@with_snake_case_aliases
class QSslPreSharedKeyAuthenticator(_native.Owner):
    """QSslPreSharedKeyAuthenticator: the PSK credentials of a handshake.

    Five fields, empty or 0 when new: identityHint, identity, preSharedKey,
    maximumIdentityLength and maximumPreSharedKeyLength. The application sets
    the identity and the key; the handshake engine fills in the other three
    (setIdentityHint() and the setMaximum...() setters are for engines and
    tests). Setters keep what they are given in full. == compares all five
    fields. The key is wiped from the library's memory when it is replaced
    or the object is closed (Python's own copies, the bytes you passed and
    got back, are not).

    QSslPreSharedKeyAuthenticator(other) copies other. The object owns a C
    handle: close() releases it (also done by ``with`` and by the garbage
    collector); any other call on a closed object raises BadHandleError.
    """

    _free = lib.dtlsgate_psk_authenticator_free

    def __init__(self, other: Optional["QSslPreSharedKeyAuthenticator"] = None) -> None:
        if other is None:
            self._handle: Optional[int] = lib.dtlsgate_psk_authenticator_new()
        elif isinstance(other, QSslPreSharedKeyAuthenticator):
            if other._handle is None:
                raise _native.error(_native.E_BAD_HANDLE, "dtlsgate_psk_authenticator_copy",
                                    "the object is closed")
            self._handle = lib.dtlsgate_psk_authenticator_copy(other._handle)
        else:
            raise TypeError("QSslPreSharedKeyAuthenticator() takes another "
                            "QSslPreSharedKeyAuthenticator to copy, not %s"
                            % type(other).__name__)

    @classmethod
    def _adopt(cls, handle: int) -> "QSslPreSharedKeyAuthenticator":
        """An object owning `handle`, a C authenticator made for it."""
        obj = cls.__new__(cls)
        obj._handle = handle
        return obj

    def __copy__(self) -> "QSslPreSharedKeyAuthenticator":
        return QSslPreSharedKeyAuthenticator(self)

    def __deepcopy__(self, memo: Any) -> "QSslPreSharedKeyAuthenticator":
        return QSslPreSharedKeyAuthenticator(self)

    # -- getters ---------------------------------------------------------

    def identityHint(self) -> bytes:
        return _native.read_buffer(lib.dtlsgate_psk_authenticator_identity_hint, self._handle)

    def identity(self) -> bytes:
        return _native.read_buffer(lib.dtlsgate_psk_authenticator_identity, self._handle)

    def preSharedKey(self) -> bytes:
        return _native.read_buffer(lib.dtlsgate_psk_authenticator_pre_shared_key, self._handle)

    def maximumIdentityLength(self) -> int:
        return lib.dtlsgate_psk_authenticator_maximum_identity_length(self._handle)

    def maximumPreSharedKeyLength(self) -> int:
        return lib.dtlsgate_psk_authenticator_maximum_pre_shared_key_length(self._handle)

    # -- setters ---------------------------------------------------------

    def setIdentity(self, identity: BytesLike) -> None:
        data = to_bytes(identity, "identity")
        lib.dtlsgate_psk_authenticator_set_identity(self._handle, data, len(data))

    def setPreSharedKey(self, preSharedKey: BytesLike) -> None:
        data = to_bytes(preSharedKey, "preSharedKey")
        lib.dtlsgate_psk_authenticator_set_pre_shared_key(self._handle, data, len(data))

    def setIdentityHint(self, identityHint: BytesLike) -> None:
        """Engine side: the hint the server sent."""
        data = to_bytes(identityHint, "identityHint")
        lib.dtlsgate_psk_authenticator_set_identity_hint(self._handle, data, len(data))

    def setMaximumIdentityLength(self, length: int) -> None:
        """Engine side; a negative length is InvalidArgumentError."""
        name = "dtlsgate_psk_authenticator_set_maximum_identity_length"
        lib.dtlsgate_psk_authenticator_set_maximum_identity_length(
            self._handle, _native.c_range(length, _native.INT_MIN, _native.INT_MAX, name, "length"))

    def setMaximumPreSharedKeyLength(self, length: int) -> None:
        """Engine side; a negative length is InvalidArgumentError."""
        name = "dtlsgate_psk_authenticator_set_maximum_pre_shared_key_length"
        lib.dtlsgate_psk_authenticator_set_maximum_pre_shared_key_length(
            self._handle, _native.c_range(length, _native.INT_MIN, _native.INT_MAX, name, "length"))

    # -- swap and comparison ---------------------------------------------

    def swap(self, other: "QSslPreSharedKeyAuthenticator") -> None:
        """Exchanges the contents of self and other."""
        if not isinstance(other, QSslPreSharedKeyAuthenticator):
            raise TypeError("swap() takes a QSslPreSharedKeyAuthenticator, not %s"
                            % type(other).__name__)
        lib.dtlsgate_psk_authenticator_swap(self._handle, other._handle)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QSslPreSharedKeyAuthenticator):
            return NotImplemented
        return lib.dtlsgate_psk_authenticator_equal(self._handle, other._handle) == 1

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]  # mutable, as in PySide

    def __repr__(self) -> str:
        if self._handle is None:
            return "<QSslPreSharedKeyAuthenticator closed>"
        # The key itself stays out of logs.
        return ("<QSslPreSharedKeyAuthenticator identity=%r identityHint=%r preSharedKey=<%d bytes>"
                " maximumIdentityLength=%d maximumPreSharedKeyLength=%d>"
                % (self.identity(), self.identityHint(), len(self.preSharedKey()),
                   self.maximumIdentityLength(), self.maximumPreSharedKeyLength()))
