# SPDX-License-Identifier: MIT
"""QDtls: one DTLS 1.2 connection authenticated with a pre-shared key."""

import ctypes
import enum
import socket as _socket
import sys
import weakref
from typing import Any, Callable, Optional, Tuple, Union

from . import _native
from ._enums import (DtlsErrorState, QDtlsError, QSsl, QSslSocket, _enumerators_on_class,
                     with_snake_case_aliases)
from ._inputs import Address, BytesLike, to_address, to_bytes, to_port
from ._psk import QSslPreSharedKeyAuthenticator
from ._server import _sockaddr
from ._signal import Signal
from ._ssl import QSslCipher, QSslConfiguration, split_names
from ._verifier import (GeneratorParameters, QDtlsClientVerifier, _read_parameters, _sendto,
                        _write_datagram, set_parameters)

lib = _native.lib

# The binding's own messages, for what it decides before the library sees
# the call.
MSG_NO_SOCKET = "No usable UDP socket was given (None, or a closed socket)"
MSG_NOT_STOPPED = ("The handshake is not stopped for peer verification (a PSK handshake "
                   "never is), so there is nothing to resume")
MSG_NAME_TOO_LATE = "The verification name cannot change once the handshake has started"

Sender = Callable[[bytes], Optional[str]]  # None when sent, else why not


class HandshakeState(enum.IntEnum):
    HandshakeNotStarted = 0
    HandshakeInProgress = 1
    PeerVerificationFailed = 2  # never, with PSK (no certificates)
    HandshakeComplete = 3


_STATES = tuple(HandshakeState)


def _report_slot_exception(exc: BaseException) -> None:
    """Shows an exception a slot raised the way PySide shows one: through
    sys.excepthook (by default, a traceback on stderr). A failing hook
    must not take the caller down with it."""
    try:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    except Exception:
        pass


@with_snake_case_aliases
class QDtls(DtlsErrorState, _native.Owner):
    """QDtls: a DTLS 1.2 client or server connection over a UDP socket the
    application owns and reads, authenticated with a pre-shared key.

    Sockets: every method that sends takes the socket to send through: a
    socket.socket (the library sends with sendto(2) on its descriptor, the
    fast path), an object with ``sendto(data, (host, port))`` (asyncio
    DatagramTransport) or one with ``writeDatagram(data, address, port)``
    (QUdpSocket). For the last two the library queues what is to be sent
    and the binding hands each datagram to the object, addressed to
    (peerAddress(), peerPort()). None, or a closed socket.socket, makes the
    call fail with InvalidInputParameters, as Qt's null socket does.

    Results follow Qt: bool methods return False and leave dtlsError() /
    dtlsErrorString() set; writeDatagramEncrypted() returns -1 and
    decryptDatagram() b"" on errors. Exceptions are kept for programming
    errors: a wrong type (TypeError), a value C cannot hold or a datagram
    over 65535 bytes (InvalidArgumentError), use after close()
    (BadHandleError), and a call on this object from inside its own
    pskRequired slot (BusyError, see below).

    Signals (PySide's connect/disconnect/emit):

    - pskRequired(QSslPreSharedKeyAuthenticator) is emitted from inside
      doHandshake(). A client's slot sees the server's identity hint and
      sets identity and key; a server's slot sees the client's identity and
      sets the key. The authenticator is valid only during the emission.
      While it runs, this QDtls answers sslMode(), peerAddress(),
      peerPort(), peerVerificationName(), handshakeState() and
      isConnectionEncrypted(); every other method raises BusyError (the
      library refuses re-entry), and close() is put off until doHandshake()
      returns. If a slot raises, the exception is shown through
      sys.excepthook (as PySide shows a slot's exception), no key is
      given, the handshake fails (the peer gets an alert) and doHandshake()
      returns False with TlsFatalError and "pskRequired slot raised
      ValueError: ..." as dtlsErrorString(). KeyboardInterrupt and
      SystemExit are raised again from doHandshake() once the library has
      returned.
    - handshakeTimeout() is due when the retransmission timer expires; its
      slot calls handleTimeout(socket). Qt emits it from a timer. Here,
      when doHandshake()/handleTimeout() run inside a running asyncio event
      loop, the emission is scheduled on that loop by itself; other loops
      use remainingTimeout() to size their wait and checkTimeout() to emit
      when due.

    One object is meant for one thread at a time, as in Qt. It owns a C
    handle: close() releases it without telling the peer (shutdown() does
    that), as do ``with`` and the garbage collector.
    """

    HandshakeState = HandshakeState
    pskRequired = Signal(QSslPreSharedKeyAuthenticator)
    handshakeTimeout = Signal()
    _free = lib.dtlsgate_session_free
    _error_code = lib.dtlsgate_session_dtls_error
    _error_text = lib.dtlsgate_session_dtls_error_string

    def __init__(self, mode: int, parent: Any = None) -> None:
        # parent: a QObject in Qt; accepted so that Qt code ports unchanged.
        name = "dtlsgate_session_new"
        n = _native.c_range(mode, _native.INT_MIN, _native.INT_MAX, name, "mode")
        if n not in (QSslSocket.SslMode.SslClientMode, QSslSocket.SslMode.SslServerMode):
            raise _native.error(_native.E_INVALID_ARGUMENT, name,
                                "mode must be SslClientMode or SslServerMode, not %d" % n)
        self._handle: Optional[int] = lib.dtlsgate_session_new(n)
        self._mode = QSslSocket.SslMode(n)
        # (error, message) decided by the binding (no socket, a slot's
        # exception, a socket-less send that failed); None: ask the library.
        self._error: Optional[Tuple[QDtlsError, str]] = None
        self._peer: Tuple[str, int, Any] = ("", 0, None)  # address, port, as given
        self._verification_name = ""
        self._verify_mode = QSslSocket.PeerVerifyMode.AutoVerifyPeer
        self._in_slot = False
        self._close_pending = False
        self._slot_exception: Optional[BaseException] = None
        self._timer: Any = None  # asyncio.TimerHandle
        self._not_data = False  # the last decrypt() left the datagram for decryptDatagram()
        me = weakref.ref(self)  # the callback must not keep the object alive

        def on_psk(_user: Any, authenticator: int) -> None:
            obj = me()
            if obj is not None:
                obj._on_psk(authenticator)

        # Referenced for as long as the C session may call it.
        self._callback = _native.PSK_CALLBACK(on_psk)
        lib.dtlsgate_session_set_psk_callback(self._handle, self._callback, None)

    # -- lifetime ---------------------------------------------------------

    def close(self) -> None:
        """Releases the session without telling the peer (shutdown() first
        for that). Inside a pskRequired slot it takes effect when
        doHandshake() returns. Calling it again does nothing."""
        if self._in_slot:
            self._close_pending = True
            return
        self._cancel_timer()
        super().close()

    def _busy(self, function: str) -> None:
        if self._in_slot:
            raise _native.error(_native.E_BUSY, function,
                                "called from inside this session's own pskRequired slot")

    def _open(self, function: str) -> int:
        self._busy(function)
        if self._handle is None:
            raise _native.error(_native.E_BAD_HANDLE, function, "the object is closed")
        return self._handle

    # -- peer ---------------------------------------------------------------

    def setPeer(self, address: Address, port: int, verificationName: str = "") -> bool:
        """The peer to talk to, only before the handshake. False with
        InvalidInputParameters for a missing, malformed, unspecified,
        broadcast or multicast address or port 0; InvalidOperation once the
        handshake started. verificationName is kept for peerVerificationName()
        (PSK verifies no certificate, so nothing else uses it)."""
        name = "dtlsgate_session_set_peer"
        addr = to_address(address)
        port = to_port(port, name)
        self._error = None
        if not lib.dtlsgate_session_set_peer(self._handle, addr, port):
            return False
        self._peer = (self._read_peer()[0], port, address)
        self._verification_name = str(verificationName)
        return True

    def _read_peer(self) -> Tuple[str, int]:
        port = ctypes.c_uint16()
        buf = ctypes.create_string_buffer(64)
        n = ctypes.c_size_t(64)
        lib.dtlsgate_session_peer(self._handle, buf, ctypes.byref(n), ctypes.byref(port))
        return buf.raw[: n.value].decode("ascii", "replace"), port.value

    def peerAddress(self) -> str:
        """The peer's address as a string ("" before setPeer()); Qt gives
        a QHostAddress."""
        return self._peer[0] if self._in_slot else self._read_peer()[0]

    def peerPort(self) -> int:
        return self._peer[1] if self._in_slot else self._read_peer()[1]

    def peerVerificationName(self) -> str:
        if not self._in_slot:
            lib.dtlsgate_session_ssl_mode(self._handle)  # raises when closed
        return self._verification_name

    def setPeerVerificationName(self, name: str) -> bool:
        """Only before the handshake (InvalidOperation after)."""
        if self.handshakeState() != HandshakeState.HandshakeNotStarted:
            self._error = (QDtlsError.InvalidOperation, MSG_NAME_TOO_LATE)
            return False
        self._error = None
        self._verification_name = str(name)
        return True

    # -- configuration ----------------------------------------------------

    def setMtuHint(self, mtuHint: int) -> bool:
        """The largest datagram the handshake builds: 256..65507 bytes, or 0
        for the default (1400). Only before the handshake. Qt's returns
        nothing; this one says whether it worked (False: dtlsError())."""
        name = "dtlsgate_session_set_mtu_hint"
        mtu = _native.c_range(mtuHint, 0, 65535, name, "mtuHint")
        self._error = None
        return lib.dtlsgate_session_set_mtu_hint(self._handle, mtu) == 1

    def mtuHint(self) -> int:
        """The hint in effect: 1400 unless set (Qt says 0 then)."""
        return lib.dtlsgate_session_mtu_hint(self._handle)

    def setHandshakeDeadline(self, msecs: int) -> bool:
        """Extension: the longest a handshake may take from its start, in
        milliseconds: 1..86400000 (24 hours), or 0 for the default (30000).
        When it has passed the handshake fails (TlsFatalError, from the
        handleTimeout() that remainingTimeout() times to it) however many
        retransmissions are left. Only before the handshake. False:
        InvalidInputParameters (over 24 hours), InvalidOperation."""
        name = "dtlsgate_session_set_handshake_deadline"
        ms = _native.c_range(msecs, 0, _native.UINT32_MAX, name, "msecs")
        self._error = None
        return lib.dtlsgate_session_set_handshake_deadline(self._handle, ms) == 1

    def handshakeDeadline(self) -> int:
        """The deadline in effect, in milliseconds: 30000 unless set."""
        return lib.dtlsgate_session_handshake_deadline(self._handle)

    def setMaximumRetransmissions(self, count: int) -> bool:
        """Extension: how many times a flight is sent again for want of an
        answer before the handshake fails: any count > 0, or 0 for the
        default (12). Only before the handshake. False:
        InvalidInputParameters (negative), InvalidOperation."""
        name = "dtlsgate_session_set_max_retransmits"
        n = _native.c_range(count, _native.INT_MIN, _native.INT_MAX, name, "count")
        self._error = None
        return lib.dtlsgate_session_set_max_retransmits(self._handle, n) == 1

    def maximumRetransmissions(self) -> int:
        """The limit in effect: 12 unless set."""
        return lib.dtlsgate_session_max_retransmits(self._handle)

    # -- connection IDs (RFC 9146; not in Qt) ---------------------------------

    NoConnectionId = _native.NO_CONNECTION_ID
    EmptyConnectionId = _native.EMPTY_CONNECTION_ID

    def setConnectionIdLength(self, length: int) -> bool:
        """Whether the session negotiates connection IDs, and the length of
        the ID it asks the peer to put in its records: 1..16 bytes,
        EmptyConnectionId (negotiate, but receive plain records: the usual
        device choice), NoConnectionId (the default), or 0 for the role's
        default (a server asks for 8 bytes, a client does not negotiate).
        Only before the handshake. False with InvalidInputParameters or
        InvalidOperation."""
        name = "dtlsgate_session_set_connection_id_length"
        n = _native.c_range(length, _native.INT_MIN, _native.INT_MAX, name, "length")
        self._error = None
        return lib.dtlsgate_session_set_connection_id_length(self._open(name), n) == 1

    def connectionIdLength(self) -> int:
        """The setting in effect, the role's default resolved: 1..16,
        EmptyConnectionId or NoConnectionId."""
        n = ctypes.c_int()
        lib.dtlsgate_session_connection_id_length(self._open("connectionIdLength"), ctypes.byref(n))
        return n.value

    def setConnectionId(self, cid: BytesLike) -> bool:
        """Negotiates connection IDs asking for this ID (0..16 bytes) rather
        than a random one, for servers that choose their IDs to route by.
        Only before the handshake."""
        data = to_bytes(cid, "cid")
        self._error = None
        return lib.dtlsgate_session_set_connection_id(self._open("setConnectionId"), data,
                                                      len(data)) == 1

    def _cid(self, name: str, function: Callable[..., int]) -> Optional[bytes]:
        buf = ctypes.create_string_buffer(_native.PEER_CONNECTION_ID_MAX)
        n = ctypes.c_size_t(len(buf))
        return buf.raw[: n.value] if function(self._open(name), buf, ctypes.byref(n)) == 1 else None

    def connectionId(self) -> Optional[bytes]:
        """The ID this side asked for, which the peer's records carry (b""
        when empty), or None when connection IDs were not negotiated."""
        return self._cid("connectionId", lib.dtlsgate_session_connection_id)

    def peerConnectionId(self) -> Optional[bytes]:
        """The ID the peer asked for, which this side's records carry."""
        return self._cid("peerConnectionId", lib.dtlsgate_session_peer_connection_id)

    def movePeer(self, address: Address, port: int) -> bool:
        """Sends to (address, port) from now on, where the datagram last
        passed to decryptDatagram() or decrypt() came from: True when the
        session moved there or already was there. It moves only if that
        datagram held a record with this side's ID that authenticated and
        was newer than any before (RFC 9146 section 6); False, the peer
        unchanged, with InvalidOperation for a forged, replayed or delayed
        record or without connection IDs, InvalidInputParameters for a bad
        address. A move does not prove that the peer receives there: check
        with the peer before sending much to a new address."""
        name = "dtlsgate_session_move_peer"
        handle = self._open(name)
        host = to_address(address)
        port = to_port(port, name)
        try:
            sa, n = _sockaddr(((host or b"").decode("ascii", "replace"), port), name)
        except _native.InvalidArgumentError:
            self._error = (QDtlsError.InvalidInputParameters, "Invalid address")
            return False
        self._error = None
        if lib.dtlsgate_session_move_peer(handle, sa, n) == 0:
            return False
        self._peer = (self._read_peer()[0], port, address)
        return True

    def setCookieGeneratorParameters(self, params: GeneratorParameters) -> bool:
        """The cookie parameters a server re-checks the ClientHello with;
        they must be its verifier's. setCookieVerifier() is simpler and
        follows the verifier's later changes (rotation, fleet mode)."""
        self._error = None
        return set_parameters(lib.dtlsgate_session_set_cookie_generator_parameters,
                              self._handle, params) == 1

    def cookieGeneratorParameters(self) -> GeneratorParameters:
        return _read_parameters(lib.dtlsgate_session_cookie_generator_parameters, self._handle)

    def setCookieVerifier(self, verifier: QDtlsClientVerifier) -> bool:
        """Extension, the recommended way for a server session: re-check
        the ClientHello's cookie with `verifier`'s own generator (its
        parameters, lifetime, rotation and fleet mode, later changes
        included). The verifier may be closed afterwards. Only before the
        handshake (False with InvalidOperation after)."""
        if not isinstance(verifier, QDtlsClientVerifier):
            raise TypeError("verifier must be a QDtlsClientVerifier, not %s"
                            % type(verifier).__name__)
        self._error = None
        return lib.dtlsgate_session_set_cookie_verifier(self._handle, verifier._handle) == 1

    def setDtlsConfiguration(self, configuration: QSslConfiguration) -> bool:
        """Takes the cipher suites, the identity hint and the peer verify
        mode of `configuration` (a copy: later changes to it do not count).
        Only before the handshake. False with InvalidInputParameters for a
        suite the library does not support (the message names it), with
        InvalidOperation once the handshake started; nothing is changed
        then."""
        if not isinstance(configuration, QSslConfiguration):
            raise TypeError("configuration must be a QSslConfiguration, not %s"
                            % type(configuration).__name__)
        handle = self._handle
        self._error = None
        old = _native.read_buffer(lib.dtlsgate_session_ciphers, handle, size=512)
        if not lib.dtlsgate_session_set_ciphers(handle, configuration._cipher_string()):
            return False
        hint = configuration.preSharedKeyIdentityHint()
        if not lib.dtlsgate_session_set_identity_hint(handle, hint, len(hint)):
            lib.dtlsgate_session_set_ciphers(handle, old)  # all or nothing
            return False
        self._verify_mode = configuration.peerVerifyMode()
        return True

    def dtlsConfiguration(self) -> QSslConfiguration:
        """A new QSslConfiguration with the session's suites (OpenSSL
        names), identity hint and peer verify mode."""
        config = QSslConfiguration()
        names = _native.read_buffer(lib.dtlsgate_session_ciphers, self._handle, size=512)
        config.setCiphers(split_names(names.decode("ascii", "replace")))
        config.setPreSharedKeyIdentityHint(
            _native.read_buffer(lib.dtlsgate_session_identity_hint, self._handle))
        config.setPeerVerifyMode(self._verify_mode)
        return config

    # -- state ------------------------------------------------------------

    def sslMode(self) -> QSslSocket.SslMode:
        if not self._in_slot:
            lib.dtlsgate_session_ssl_mode(self._handle)  # raises when closed
        return self._mode

    def handshakeState(self) -> HandshakeState:
        if self._in_slot:
            return HandshakeState.HandshakeInProgress
        return _STATES[lib.dtlsgate_session_handshake_state(self._handle)]

    def isConnectionEncrypted(self) -> bool:
        if self._in_slot:
            return False
        return lib.dtlsgate_session_is_connection_encrypted(self._handle) == 1

    def sessionCipher(self) -> QSslCipher:
        """The negotiated suite; the null QSslCipher() while not encrypted."""
        name = _native.read_buffer(lib.dtlsgate_session_session_cipher, self._handle).decode()
        return QSslCipher(name) if name else QSslCipher()

    def sessionProtocol(self) -> QSsl.SslProtocol:
        """DtlsV1_2 while encrypted, UnknownProtocol otherwise."""
        text = _native.read_buffer(lib.dtlsgate_session_session_protocol, self._handle)
        return QSsl.SslProtocol.DtlsV1_2 if text == b"DTLSv1.2" else \
            QSsl.SslProtocol.UnknownProtocol

    # -- the handshake ----------------------------------------------------

    def doHandshake(self, socket: Any, dgram: BytesLike = b"") -> bool:
        """Starts (a client with no datagram, a server with the ClientHello
        its verifier accepted) or continues (each datagram from the peer
        while the state is HandshakeInProgress) the handshake. True while
        all is well: handshakeState() says when it is complete. False:
        InvalidInputParameters (no socket, no datagram), InvalidOperation
        (no peer, wrong state), TlsFatalError (the handshake failed, the
        state is back to HandshakeNotStarted), UnderlyingSocketError."""
        data = to_bytes(dgram, "dgram")
        self._slot_exception = None
        try:
            ok, _ = self._send_through(socket, "dtlsgate_session_do_handshake",
                                       lib.dtlsgate_session_do_handshake, data, len(data))
        finally:
            exc, self._slot_exception = self._slot_exception, None
            if self._close_pending:
                self._close_pending = False
                self.close()
        if exc is not None:
            self._error = (QDtlsError.TlsFatalError, "pskRequired slot raised %s: %s"
                           % (type(exc).__name__, exc))
            if not isinstance(exc, Exception):
                raise exc  # KeyboardInterrupt, SystemExit: the program's wish
            _report_slot_exception(exc)
            ok = 0
        self._arm_timer()
        return ok == 1

    def remainingTimeout(self) -> int:
        """Extension: milliseconds until handleTimeout() is due (0: due
        now), or -1 when no retransmission timer runs."""
        ms = ctypes.c_uint32()
        running = lib.dtlsgate_session_remaining_timeout(self._handle, ctypes.byref(ms))
        return ms.value if running else -1

    def checkTimeout(self) -> bool:
        """Extension for select()/selectors loops: emits handshakeTimeout
        and returns True when the retransmission timer is due, else returns
        False. Call it whenever the wait sized by remainingTimeout() ends."""
        if self.remainingTimeout() != 0:
            return False
        self.handshakeTimeout.emit()
        return True

    def handleTimeout(self, socket: Any) -> bool:
        """Retransmits the last flight when its timer is due (before that it
        does nothing and returns True). False with TlsFatalError after
        maximumRetransmissions() retransmissions without an answer or once
        handshakeDeadline() has passed, InvalidOperation when no handshake
        is in progress."""
        ok, _ = self._send_through(socket, "dtlsgate_session_handle_timeout",
                                   lib.dtlsgate_session_handle_timeout)
        self._arm_timer()
        return ok == 1

    def resumeHandshake(self, socket: Any) -> bool:
        """Qt resumes a handshake stopped by certificate verification
        errors; a PSK handshake never stops, so this returns False with
        InvalidOperation (InvalidInputParameters without a socket)."""
        self._open("dtlsgate_session_handshake_state")
        if self._socket_kind(socket) is None:
            self._error = (QDtlsError.InvalidInputParameters, MSG_NO_SOCKET)
        else:
            self._error = (QDtlsError.InvalidOperation, MSG_NOT_STOPPED)
        return False

    def abortHandshake(self, socket: Any) -> bool:
        """Drops a handshake in progress without telling the peer. False
        with InvalidOperation when none is in progress."""
        handle = self._open("dtlsgate_session_abort_handshake")
        if self._socket_kind(socket) is None:
            self._error = (QDtlsError.InvalidInputParameters, MSG_NO_SOCKET)
            return False
        self._error = None
        ok = lib.dtlsgate_session_abort_handshake(handle)
        self._arm_timer()
        return ok == 1

    def shutdown(self, socket: Any) -> bool:
        """Sends close_notify and closes the connection. False with
        InvalidOperation when not encrypted; with UnderlyingSocketError the
        connection is closed all the same."""
        ok, _ = self._send_through(socket, "dtlsgate_session_shutdown",
                                   lib.dtlsgate_session_shutdown)
        self._arm_timer()
        return ok == 1

    # -- data ---------------------------------------------------------------

    def writeDatagramEncrypted(self, socket: Any, dgram: BytesLike) -> int:
        """Encrypts `dgram` as one record and sends it to the peer. The
        number of bytes written, or -1: InvalidOperation (not encrypted),
        InvalidInputParameters (no socket, empty, or more than 16384 bytes,
        the most a record holds), UnderlyingSocketError."""
        data = to_bytes(dgram, "dgram")
        if len(data) > _native.MAX_INPUT:
            data = data[: _native.MAX_INPUT]  # still too long for a record: same verdict
        n, _ = self._send_through(socket, "dtlsgate_session_write_datagram_encrypted",
                                  lib.dtlsgate_session_write_datagram_encrypted,
                                  data, len(data))
        return n if n > 0 else -1

    def decryptDatagram(self, socket: Any, dgram: BytesLike) -> bytes:
        """The application data in a datagram from the peer: b"" when it
        carried none (a replayed or forged record is dropped silently) or on
        an error: InvalidOperation (not encrypted), InvalidInputParameters
        (no socket, empty datagram), RemoteClosedConnectionError (the peer
        sent close_notify: the connection is closed), TlsFatalError (a
        fatal alert). The socket answers a peer that repeats its Finished.
        Data that shares a datagram with a later close_notify or alert is
        returned, and dtlsError() then tells of the close."""
        data = to_bytes(dgram, "dgram")
        out = ctypes.create_string_buffer(max(len(data), 1))
        n = ctypes.c_size_t(len(out))
        ok, _ = self._send_through(socket, "dtlsgate_session_decrypt_datagram",
                                   lib.dtlsgate_session_decrypt_datagram,
                                   data, len(data), out, ctypes.byref(n))
        return out.raw[: n.value] if ok == 1 else b""

    # -- records in the caller's buffers -------------------------------------

    def encrypt(self, data: BytesLike, out: Any = None) -> Union[bytes, int]:
        """Encrypts `data` as one application-data record for the caller to
        send, nothing queued: one call into the library. Without `out`
        the record is returned as bytes; with `out` (a writable buffer:
        bytearray, memoryview, ctypes array) it is written at its start and
        its length returned. `out` may be the buffer `data` is in, the
        plaintext at its start and DTLSGATE_RECORD_OVERHEAD_MAX (77) bytes
        to spare, and with connection IDs the peer's ID and one byte more:
        in place. On an error b"" (or 0) with dtlsError() set:
        InvalidOperation (not encrypted), InvalidInputParameters (empty, or
        more than 16384 bytes). BufferTooSmallError when `out` is too
        small, nothing done."""
        src, n = _in_buffer(data, "data")
        if n > _native.MAX_INPUT:
            src, n = src[: _native.MAX_INPUT], _native.MAX_INPUT  # too long for a record all the same
        return self._record("dtlsgate_session_encrypt", lib.dtlsgate_session_encrypt, src, n,
                            out, n + _native.RECORD_OVERHEAD_MAX + _native.PEER_CONNECTION_ID_MAX + 1)

    def decrypt(self, dgram: BytesLike, out: Any = None) -> Union[bytes, int, None]:
        """Decrypts a datagram holding one application-data record: one call
        into the library, nothing queued. Returns the data (bytes, or its
        length once written at the start of `out`, which may be `dgram`'s
        own buffer: in place); b"" (0) when the datagram was dropped
        (forged, replayed, too old) or on an error, which dtlsError() tells
        (InvalidOperation: not encrypted). None when the datagram is not
        one application-data record (an alert such as close_notify, a
        repeated handshake message, several records): it was left as it
        is, pass it to decryptDatagram(), which handles it.
        BufferTooSmallError when `out` is too small, nothing done."""
        src, n = _in_buffer(dgram, "dgram")
        result = self._record("dtlsgate_session_decrypt", lib.dtlsgate_session_decrypt, src, n,
                              out, n)
        return None if self._not_data else result

    def _record(self, name: str, function: Callable[..., int], src: Any, n: int, out: Any,
                room: int) -> Union[bytes, int]:
        handle = self._open(name)
        self._error = None
        into = ctypes.create_string_buffer(max(room, 1)) if out is None else _out_buffer(out)
        size = ctypes.c_size_t(len(into))
        try:
            r = function(handle, src, n, into, ctypes.byref(size))
        except _native.BufferTooSmallError:
            raise _native.error(_native.E_BUFFER_TOO_SMALL, name,
                                "out holds %d bytes, %d needed" % (len(into), size.value)) from None
        self._not_data = r == _native.RECORD_NOT_DATA
        if out is not None:
            return size.value if r == 1 else 0
        return into.raw[: size.value] if r == 1 else b""

    # -- sockets ----------------------------------------------------------

    def _socket_kind(self, socket: Any) -> Optional[Tuple[int, Optional[Sender]]]:
        """(descriptor, None) for a socket.socket; (NO_SOCKET, sender) for
        an object that sends datagrams itself; None when there is no usable
        socket. TypeError for anything else."""
        if socket is None:
            return None
        if isinstance(socket, _socket.socket):
            fd = socket.fileno()
            return None if fd < 0 else (fd, None)  # a closed socket has fileno -1
        address, port, given = self._peer
        if callable(getattr(socket, "writeDatagram", None)):
            # A QUdpSocket gets the address as setPeer() was given it.
            return _native.NO_SOCKET, _write_datagram(socket, given, port)
        if callable(getattr(socket, "sendto", None)):
            return _native.NO_SOCKET, _sendto(socket, address.encode("ascii"), port)
        raise TypeError("socket must be a socket.socket, an object with sendto() (an asyncio "
                        "DatagramTransport) or one with writeDatagram() (a QUdpSocket), not %s"
                        % type(socket).__name__)

    def _send_through(self, socket: Any, name: str, function: Callable[..., int],
                      *args: Any) -> Tuple[int, bool]:
        """Calls function(handle, fd, *args) for `socket` and, for objects
        that send themselves, hands them what the library queued. Returns
        (the library's result, or 0 when the call could not be made or a
        send failed; whether it was made)."""
        handle = self._open(name)
        kind = self._socket_kind(socket)
        if kind is None:
            self._error = (QDtlsError.InvalidInputParameters, MSG_NO_SOCKET)
            return 0, False
        fd, send = kind
        self._error = None
        result = function(handle, fd, *args)
        if send is not None:
            failure = self._flush(handle, send)
            if failure is not None:
                self._error = (QDtlsError.UnderlyingSocketError, failure)
                result = 0
        return result, True

    @staticmethod
    def _flush(handle: int, send: Sender) -> Optional[str]:
        """Sends every queued datagram; after a failure the rest is dropped
        (as the library does on a socket: retransmission makes good).
        Returns the first failure's text, or None."""
        failure = None
        while True:
            datagram = _native.read_buffer(lib.dtlsgate_session_next_outgoing, handle,
                                           size=2048)
            if not datagram:
                return failure
            if failure is None:
                failure = send(datagram)

    # -- the PSK callback ---------------------------------------------------

    def _on_psk(self, handle: int) -> None:
        """Runs inside doHandshake(), called by the library: emits
        pskRequired with a Python copy of the borrowed authenticator, then
        writes identity and key back. Nothing may escape into ctypes."""
        authenticator = None
        self._in_slot = True
        try:
            authenticator = QSslPreSharedKeyAuthenticator._adopt(
                lib.dtlsgate_psk_authenticator_copy(handle))
            self.pskRequired.emit(authenticator)
            # The answer goes back by exchanging contents inside the library
            # (which takes only the identity and the key from it), so the
            # key never becomes a Python bytes object here, which nothing
            # could wipe.
            lib.dtlsgate_psk_authenticator_swap(handle, authenticator._handle)
        except BaseException as e:  # noqa: B902  reported by doHandshake()
            self._slot_exception = e
            try:
                # A key the slot set before raising is not used.
                lib.dtlsgate_psk_authenticator_set_pre_shared_key(handle, b"", 0)
            except BaseException:
                pass
        finally:
            self._in_slot = False
            if authenticator is not None:
                authenticator.close()

    # -- the retransmission timer under asyncio -----------------------------

    def _cancel_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()

    def _arm_timer(self) -> None:
        """Under a running asyncio loop, schedules handshakeTimeout for when
        the library's retransmission timer is due."""
        self._cancel_timer()
        asyncio = sys.modules.get("asyncio")  # not imported: no loop runs
        if asyncio is None or self._handle is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        ms = self.remainingTimeout()
        if ms >= 0:
            self._timer = loop.call_later(ms / 1000.0, _timer_due, weakref.ref(self))

    def __repr__(self) -> str:
        if self._handle is None:
            return "<QDtls %s closed>" % self._mode.name
        return "<QDtls %s peer=%s:%d %s>" % (self._mode.name, self._peer[0], self._peer[1],
                                             self.handshakeState().name)


def _in_buffer(value: Any, what: str) -> Tuple[Any, int]:
    """What the library reads for a bytes-like input, without a copy for
    bytes and writable buffers, and its length."""
    if type(value) is bytes:
        return value, len(value)
    if isinstance(value, (bytearray, memoryview)):
        view = memoryview(value)
        if not view.readonly and view.contiguous and view.nbytes:
            return (ctypes.c_char * view.nbytes).from_buffer(view), view.nbytes
    data = to_bytes(value, what)
    return data, len(data)


def _out_buffer(out: Any) -> Any:
    """A ctypes view of a writable buffer the library writes into."""
    view = memoryview(out)
    if view.readonly or not view.contiguous:
        raise TypeError("out must be a writable, contiguous buffer (bytearray, memoryview of "
                        "one, ctypes array), not %s" % type(out).__name__)
    return (ctypes.c_char * view.nbytes).from_buffer(view)


def _timer_due(ref: "weakref.ReferenceType[QDtls]") -> None:
    dtls = ref()
    if dtls is None or dtls._handle is None:
        return
    dtls._timer = None
    ms = dtls.remainingTimeout()
    if ms > 0:  # re-armed meanwhile: wait for the new deadline
        dtls._arm_timer()
    elif ms == 0:
        dtls.handshakeTimeout.emit()


_enumerators_on_class(QDtls, HandshakeState)
