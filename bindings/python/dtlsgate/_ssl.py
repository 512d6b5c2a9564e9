# SPDX-License-Identifier: MIT
"""QSslCipher and QSslConfiguration: as much of them as a DTLS-PSK
session uses (cipher suites, the identity hint, the peer verify mode)."""

from typing import Any, Iterable, List, Optional, Union

from . import _native
from ._enums import QSsl, QSslSocket, with_snake_case_aliases
from ._inputs import BytesLike, to_bytes

lib = _native.lib

_PROTOCOL_STRINGS = {QSsl.SslProtocol.DtlsV1_2: "DTLSv1.2"}


@with_snake_case_aliases
class QSslCipher:
    """QSslCipher as a value: a cipher suite's name and the protocol it is
    used with. Every suite the library knows is a DTLS 1.2 suite, so a
    named cipher defaults to QSsl.DtlsV1_2; QSslCipher() is the null
    cipher (sessionCipher() before the handshake completes)."""

    __slots__ = ("_name", "_protocol")

    def __init__(self, name: str = "", protocol: Optional[int] = None) -> None:
        if not isinstance(name, str):
            raise TypeError("name must be a str, not %s" % type(name).__name__)
        if protocol is None:
            protocol = QSsl.SslProtocol.DtlsV1_2 if name else QSsl.SslProtocol.UnknownProtocol
        self._name = name
        self._protocol = QSsl.SslProtocol(protocol)

    def name(self) -> str:
        """The OpenSSL name, e.g. "PSK-AES128-GCM-SHA256"; "" when null."""
        return self._name

    def protocol(self) -> QSsl.SslProtocol:
        return self._protocol

    def protocolString(self) -> str:
        """ "DTLSv1.2", or "" for an unknown protocol."""
        return _PROTOCOL_STRINGS.get(self._protocol, "")

    def isNull(self) -> bool:
        return not self._name

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QSslCipher):
            return NotImplemented
        return (self._name, self._protocol) == (other._name, other._protocol)

    def __hash__(self) -> int:
        return hash((self._name, int(self._protocol)))

    def __repr__(self) -> str:
        return "QSslCipher(%r, %s)" % (self._name, self._protocol.name)


_default_ciphers: Optional[List[str]] = None


def default_cipher_names() -> List[str]:
    """The suites a new session offers, most preferred first, as the
    library reports them (asked once, from a throwaway session)."""
    global _default_ciphers
    if _default_ciphers is None:
        handle = lib.dtlsgate_session_new(QSslSocket.SslMode.SslClientMode)
        try:
            names = _native.read_buffer(lib.dtlsgate_session_ciphers, handle, size=512)
        finally:
            lib.dtlsgate_session_free(handle)
        _default_ciphers = split_names(names.decode())
    return list(_default_ciphers)


def split_names(text: str) -> List[str]:
    return [n.strip() for n in text.split(":") if n.strip()]


CipherList = Union[str, Iterable[Union[QSslCipher, str]]]


@with_snake_case_aliases
class QSslConfiguration:
    """QSslConfiguration, limited to what a DTLS-PSK session uses, with
    value semantics: QDtls copies it in setDtlsConfiguration() and
    dtlsConfiguration() returns a new object; copy.copy() and
    QSslConfiguration(other) copy.

    - ciphers: the suites to offer (client) or accept (server), most
      preferred first. An empty list means the library's default list.
    - preSharedKeyIdentityHint: the hint a server sends in its
      ServerKeyExchange (a client ignores it).
    - peerVerifyMode: stored and returned, nothing more. A PSK handshake
      involves no certificates, so there is nothing to verify; PSK programs
      set QSslSocket.VerifyNone, as Qt's PSK examples do. The default is
      AutoVerifyPeer, as in Qt.
    """

    def __init__(self, other: Optional["QSslConfiguration"] = None) -> None:
        self._ciphers: List[QSslCipher] = []
        self._hint = b""
        self._verify_mode = QSslSocket.PeerVerifyMode.AutoVerifyPeer
        if other is not None:
            if not isinstance(other, QSslConfiguration):
                raise TypeError("QSslConfiguration() copies another QSslConfiguration, not %s"
                                % type(other).__name__)
            self._ciphers = list(other._ciphers)
            self._hint = other._hint
            self._verify_mode = other._verify_mode

    @staticmethod
    def defaultDtlsConfiguration() -> "QSslConfiguration":
        """A new configuration with the default suites listed, no hint and
        AutoVerifyPeer."""
        config = QSslConfiguration()
        config._ciphers = [QSslCipher(n) for n in default_cipher_names()]
        return config

    def ciphers(self) -> List[QSslCipher]:
        return list(self._ciphers)

    def setCiphers(self, ciphers: CipherList) -> None:
        """A list of QSslCipher objects or names, or one colon-separated
        string ("PSK-AES128-GCM-SHA256:PSK-CHACHA20-POLY1305"). OpenSSL and
        IANA names are accepted; QDtls.setDtlsConfiguration() refuses a
        name the library does not support."""
        if isinstance(ciphers, str):
            items: List[Union[QSslCipher, str]] = list(split_names(ciphers))
        else:
            items = list(ciphers)
        out = []
        for c in items:
            if isinstance(c, QSslCipher):
                out.append(c)
            elif isinstance(c, str):
                out.append(QSslCipher(c.strip()))
            else:
                raise TypeError("ciphers must be QSslCipher objects or names, not %s"
                                % type(c).__name__)
        self._ciphers = out

    def preSharedKeyIdentityHint(self) -> bytes:
        return self._hint

    def setPreSharedKeyIdentityHint(self, hint: BytesLike) -> None:
        self._hint = to_bytes(hint, "hint")

    def peerVerifyMode(self) -> QSslSocket.PeerVerifyMode:
        return self._verify_mode

    def setPeerVerifyMode(self, mode: int) -> None:
        self._verify_mode = QSslSocket.PeerVerifyMode(mode)

    def _cipher_string(self) -> bytes:
        """The ciphers as the C library takes them (b"" for the default)."""
        names = [c.name() for c in self._ciphers if not c.isNull()]
        return ":".join(names).encode("ascii", "replace")

    def __copy__(self) -> "QSslConfiguration":
        return QSslConfiguration(self)

    def __deepcopy__(self, memo: Any) -> "QSslConfiguration":
        return QSslConfiguration(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QSslConfiguration):
            return NotImplemented
        return (self._ciphers, self._hint, self._verify_mode) == \
            (other._ciphers, other._hint, other._verify_mode)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return ("<QSslConfiguration ciphers=%s hint=%r peerVerifyMode=%s>"
                % (":".join(c.name() for c in self._ciphers) or "(default)", self._hint,
                   self._verify_mode.name))

