# SPDX-License-Identifier: MIT
"""QDtlsClientVerifier and its GeneratorParameters."""

import ctypes
import enum
import ipaddress
import itertools
import socket as _socket
import struct
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Tuple

from . import _native
from ._enums import DtlsErrorState, QCryptographicHash, QDtlsError, with_snake_case_aliases
from ._inputs import (Address, BytesLike, multicast_or_broadcast, refused_input, to_address,
                      to_bytes, to_port)
lib = _native.lib

# Qt's messages for refused input (the C library uses the same texts).
MSG_INVALID_INPUT = "A valid UDP socket, non-empty datagram, and valid address/port were expected"
MSG_MULTICAST = "Multicast and broadcast addresses are not supported"


class CheckVerdict(enum.IntEnum):
    """What check() decided about a datagram."""

    Drop = _native.CHECK_DROP  # not a usable ClientHello: ignore it
    SendReply = _native.CHECK_SEND_REPLY  # send `reply` (a HelloVerifyRequest) to the peer
    Verified = _native.CHECK_VERIFIED  # valid cookie: go on with the handshake


_VERDICTS = tuple(CheckVerdict)  # by value; cheaper than CheckVerdict(n) per call


# verifyClient()'s fast path (see there): the C function without ctypes'
# per-argument converters and errcheck, and what it needs at hand.
_verify_client_unchecked = _native.unchecked("dtlsgate_verifier_verify_client")
_SOCKET = _socket.socket
_MAX_INPUT = _native.MAX_INPUT

# Peer addresses converted for the C library, by what the caller passed:
# most datagrams come from a peer seen before (a client comes back with its
# cookie), and converting costs more than the C call. Emptied when full, so
# spoofed sources cannot grow them.
_CACHE_MAX = 4096
_ADDRESSES: Dict[str, Optional[bytes]] = {}  # str address -> to_address()
_PEERS: Dict[Tuple[Any, ...], "_Peer"] = {}  # recvfrom() address -> _Peer


def _address(address: Address) -> Optional[bytes]:
    """to_address(address), remembered for str addresses the library takes
    as a peer (numeric, unicast), so that the fast path meets no refusal."""
    addr = to_address(address)
    if type(address) is str and addr and _unicast(address):
        if len(_ADDRESSES) >= _CACHE_MAX:
            _ADDRESSES.clear()
        _ADDRESSES[address] = addr
    return addr


def _unicast(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return not multicast_or_broadcast(address.encode("ascii"))


class CheckResult(NamedTuple):
    verdict: CheckVerdict
    reply: bytes  # the HelloVerifyRequest for SendReply, else empty


class FleetMode(NamedTuple):
    window_seconds: int
    max_skew_seconds: int


def _algorithm(value: Any) -> Any:
    """An Algorithm member for a known value; other integers are kept as
    they are, so that setCookieGeneratorParameters() refuses them the way
    Qt refuses an out-of-range enum value."""
    n = _native.c_range(value, _native.INT_MIN, _native.INT_MAX,
                        "dtlsgate_verifier_set_cookie_generator_parameters", "hash")
    try:
        return QCryptographicHash.Algorithm(n)
    except ValueError:
        return n


class GeneratorParameters:
    """QDtlsClientVerifier::GeneratorParameters: a hash algorithm and a
    secret. As in Qt, the default is Sha1 with an empty secret, which
    setCookieGeneratorParameters() refuses: it is a placeholder."""

    __slots__ = ("hash", "secret")

    def __init__(self, algorithm: int = QCryptographicHash.Algorithm.Sha1,
                 secret: BytesLike = b"") -> None:
        self.hash = _algorithm(algorithm)
        self.secret = to_bytes(secret, "secret")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GeneratorParameters):
            return NotImplemented
        return int(self.hash) == int(other.hash) and bytes(self.secret) == bytes(other.secret)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        # The secret itself stays out of logs.
        name = getattr(self.hash, "name", self.hash)
        return "GeneratorParameters(hash=%s, secret=<%d bytes>)" % (name, len(self.secret))


@with_snake_case_aliases
class QDtlsClientVerifier(DtlsErrorState, _native.Owner):
    """QDtlsClientVerifier: answers a client's first ClientHello with a
    HelloVerifyRequest cookie and lets it in once it comes back with it.

    verifyClient() takes the server's socket as a socket.socket (the library
    sends the HelloVerifyRequest itself), an asyncio DatagramTransport or any
    object with ``sendto(data, (host, port))``, or a QUdpSocket (an object
    with ``writeDatagram``); for the last two the reply is sent through that
    object.

    Threads: as in Qt, one object is meant for one thread at a time:
    dtlsError(), dtlsErrorString() and verifiedHello() describe the last call,
    whichever thread made it (the library serializes the calls themselves).
    check() keeps no such state and may be called from any number of threads
    at once; it releases the GIL while it runs.

    The object owns a C handle: close() releases it (also done by ``with``
    and, failing that, by the garbage collector). Any other call on a
    closed verifier raises BadHandleError.
    """

    GeneratorParameters = GeneratorParameters
    _free = lib.dtlsgate_verifier_free
    _error_code = lib.dtlsgate_verifier_dtls_error
    _error_text = lib.dtlsgate_verifier_dtls_error_string

    def __init__(self, parent: Any = None) -> None:
        # parent: a QObject in Qt; accepted so that Qt code ports unchanged.
        self._handle: Optional[int] = lib.dtlsgate_verifier_new()
        # The handle as verifyClient()'s fast path passes it: an int while
        # it fits a C int (the cheapest for ctypes), else a c_void_p. It
        # outlives close(), and then the library refuses it as it refuses
        # NULL: handles are never reused.
        handle = self._handle
        self._pointer = handle if handle <= _native.INT_MAX else ctypes.c_void_p(handle)
        # The socket-less path (sendto/writeDatagram objects) keeps the
        # Qt-style state here, as the C library keeps it for the socket
        # path; None means "ask the library".
        self._error: Optional[Tuple[QDtlsError, str]] = None
        self._hello: Optional[bytes] = None

    # -- generator parameters ------------------------------------------

    def setCookieGeneratorParameters(self, params: GeneratorParameters) -> bool:
        """Sets the hash and secret. False (dtlsError() InvalidInputParameters,
        parameters unchanged) for an empty secret or an algorithm that is
        not available. The old secret keeps verifying the cookies it made
        for one lifetime. Leaves fleet mode."""
        ok = set_parameters(lib.dtlsgate_verifier_set_cookie_generator_parameters,
                            self._handle, params)
        self._error = None  # the library now holds the error
        return ok == 1

    def cookieGeneratorParameters(self) -> GeneratorParameters:
        """The hash and secret in use (in fleet mode, the current window's)."""
        return _read_parameters(lib.dtlsgate_verifier_cookie_generator_parameters, self._handle)

    @staticmethod
    def defaultCookieGeneratorParameters() -> GeneratorParameters:
        """The process-wide defaults a new verifier uses: Sha256 and a random
        32-byte secret shared by every verifier not given parameters."""
        return _read_parameters(lib.dtlsgate_default_cookie_generator_parameters)

    # -- extensions: lifetime, rotation, fleet ---------------------------

    def setCookieLifetime(self, seconds: int) -> None:
        """How long a cookie is honoured after it was made: 1..86400 s
        (default 60). Out of range: InvalidArgumentError."""
        name = "dtlsgate_verifier_set_cookie_lifetime"
        lib.dtlsgate_verifier_set_cookie_lifetime(
            self._handle, _native.c_range(seconds, 0, _native.UINT32_MAX, name, "seconds"))

    def cookieLifetime(self) -> int:
        return self._read_u32(lib.dtlsgate_verifier_cookie_lifetime)

    def setSecretRotationInterval(self, seconds: int) -> None:
        """Replace the secret with a random one every `seconds` (1..86400);
        0 (the default) turns rotation off."""
        name = "dtlsgate_verifier_set_secret_rotation_interval"
        lib.dtlsgate_verifier_set_secret_rotation_interval(
            self._handle, _native.c_range(seconds, 0, _native.UINT32_MAX, name, "seconds"))

    def secretRotationInterval(self) -> int:
        return self._read_u32(lib.dtlsgate_verifier_secret_rotation_interval)

    def setFleetKey(self, masterKey: BytesLike, windowSeconds: int,
                    maxSkewSeconds: int) -> None:
        """Fleet mode: servers given the same master key (16 bytes or more)
        and window accept each other's cookies, with clocks up to
        maxSkewSeconds apart. Bad values: InvalidArgumentError, mode kept."""
        name = "dtlsgate_verifier_set_fleet_key"
        key = to_bytes(masterKey, "masterKey")
        lib.dtlsgate_verifier_set_fleet_key(
            self._handle, key, len(key),
            _native.c_range(windowSeconds, 0, _native.UINT32_MAX, name, "windowSeconds"),
            _native.c_range(maxSkewSeconds, 0, _native.UINT32_MAX, name, "maxSkewSeconds"))

    def clearFleetKey(self) -> None:
        """Leaves fleet mode with a fresh random secret; fleet cookies are no
        longer honoured. Does nothing outside fleet mode."""
        lib.dtlsgate_verifier_clear_fleet_key(self._handle)

    def fleetMode(self) -> Optional[FleetMode]:
        """(window_seconds, max_skew_seconds) in fleet mode, else None."""
        window, skew = ctypes.c_uint32(), ctypes.c_uint32()
        if lib.dtlsgate_verifier_fleet_mode(self._handle, ctypes.byref(window),
                                            ctypes.byref(skew)):
            return FleetMode(window.value, skew.value)
        return None

    def _read_u32(self, function: Callable[..., int]) -> int:
        out = ctypes.c_uint32()
        function(self._handle, ctypes.byref(out))
        return out.value

    # -- verification ----------------------------------------------------

    def verifyClient(self, socket: Any, dgram: BytesLike, address: Address, port: int) -> bool:
        """True when `dgram` is a ClientHello carrying a valid cookie for
        (address, port): verifiedHello() is then the datagram. Otherwise
        False, having sent a HelloVerifyRequest to the peer through `socket`
        or ignored a datagram that is no usable ClientHello; dtlsError()
        says whether something went wrong (InvalidInputParameters for a
        missing socket, datagram or address, port 0, a multicast or
        broadcast address; UnderlyingSocketError when sending failed)."""
        # The fast path, for what a server reading a socket.socket passes: one
        # C call, every argument already in the form ctypes passes as it is
        # (the address from _ADDRESSES). Anything else, or an address not
        # seen yet, takes the general path below, with the same outcome.
        # No argument it takes can be refused, so there is nothing to explain.
        if (type(socket) is _SOCKET and type(dgram) is bytes and type(address) is str
                and type(port) is int and 0 < len(dgram) <= _MAX_INPUT and 0 < port <= 0xFFFF):
            addr = _ADDRESSES.get(address)
            fd = socket.fileno()
            if addr is not None and fd >= 0:
                return self._verified(_verify_client_unchecked(
                    self._pointer, fd, dgram, len(dgram), addr, port))
        data = to_bytes(dgram, "dgram")
        addr = _address(address)
        port = to_port(port, "dtlsgate_verifier_verify_client")
        if socket is None or isinstance(socket, _socket.socket):
            # A closed socket.socket has fileno -1, refused like None.
            fd = -1 if socket is None else socket.fileno()
            return self._verified(lib.dtlsgate_verifier_verify_client(
                self._handle, fd, data, len(data), addr, port)) or self._explain(socket, data, addr, port)
        return self._verify_with(_sender(socket, address, addr, port), data, addr, port)

    def _verified(self, result: int) -> bool:
        """verifyClient()'s answer and state after the library's own
        verify_client() returned `result`."""
        if result < 0:
            _native.raise_status(result, "dtlsgate_verifier_verify_client")
        self._error = None
        # The library empties verifiedHello except when it refuses the
        # input; then the hello kept here (if any) is still the latest.
        if self._hello is not None and (result or lib.dtlsgate_verifier_dtls_error(
                self._handle) != QDtlsError.InvalidInputParameters):
            self._hello = None
        return result == 1

    def _verify_with(self, send: Callable[[bytes], Optional[str]], data: bytes,
                     addr: Optional[bytes], port: int) -> bool:
        """verifyClient() for socket-less objects: check(), then send the
        reply through the object, with the state verifyClient() leaves."""
        if self._handle is None:
            raise _native.error(_native.E_BAD_HANDLE, "dtlsgate_verifier_check_address",
                                "the object is closed")
        if not data or not addr:
            return self._refuse(MSG_INVALID_INPUT, refused_input(send, data, addr, port))
        try:
            verdict, reply = self._check(data, addr, port)
        except _native.InvalidArgumentError:
            if len(data) > _native.MAX_INPUT:
                raise  # as the socket path does: an argument error
            return self._refuse(_refusal(addr), refused_input(send, data, addr, port))
        failure = send(reply) if verdict == CheckVerdict.SendReply else None
        verified, self._error, self._hello = _outcome(verdict, failure, data)
        return verified

    def _refuse(self, message: str, why: str) -> bool:
        """Qt's message for refused input, and which argument it was."""
        self._error = (QDtlsError.InvalidInputParameters, "%s (%s)" % (message, why))
        return False

    def _explain(self, socket: Any, data: bytes, addr: Optional[bytes], port: int) -> bool:
        """After the library returned False: names the argument it refused,
        if it refused one."""
        if lib.dtlsgate_verifier_dtls_error(self._handle) == QDtlsError.InvalidInputParameters:
            self._refuse(self.dtlsErrorString(), refused_input(socket, data, addr, port))
        return False

    def check(self, dgram: BytesLike, address: Address, port: int) -> CheckResult:
        """The verification step alone (dtlsgate_verifier_check): no socket,
        no dtlsError()/verifiedHello() state, safe from many threads at once.
        Send ``reply`` to the peer when the verdict is SendReply. An empty
        datagram, a missing, malformed, multicast or broadcast address or
        port 0 raise InvalidArgumentError."""
        data = to_bytes(dgram, "dgram")
        addr = _address(address)
        verdict, reply = self._check(data, addr,
                                     to_port(port, "dtlsgate_verifier_check_address"))
        return CheckResult(_VERDICTS[verdict], reply)

    def _check(self, data: bytes, addr: Optional[bytes], port: int) -> Tuple[int, bytes]:
        reply = ctypes.create_string_buffer(_native.HELLO_VERIFY_REQUEST_MAX)
        n = ctypes.c_size_t(_native.HELLO_VERIFY_REQUEST_MAX)
        verdict = lib.dtlsgate_verifier_check_address(self._handle, data, len(data), addr, port,
                                                      reply, ctypes.byref(n))
        return verdict, reply.raw[: n.value]

    def verifyClients(self, socket: Any,
                      datagrams: Iterable[Tuple[BytesLike, Tuple[Any, ...]]]) -> List[bool]:
        """verifyClient() for many datagrams with one C call
        (dtlsgate_verifier_check_batch), for servers that read several at a
        time. `datagrams` holds (dgram, address) pairs as recvfrom() returns
        them: address is (host, port) or (host, port, flowinfo, scope_id).

        Returns what verifyClient(socket, dgram, host, port) would return for
        each datagram, in order; the HelloVerifyRequests go out through
        `socket` (any kind verifyClient() takes) in that order, and
        afterwards dtlsError() and verifiedHello() are what the last of those
        verifyClient() calls would have left. Every argument is converted
        before any datagram is checked: what verifyClient() raises for
        (TypeError, InvalidArgumentError) is raised with nothing checked or
        sent."""
        pairs = list(datagrams)
        data = [d if type(d) is bytes else to_bytes(d, "dgram") for d, _ in pairs]
        peers = [_peer(address) for _, address in pairs]
        lengths = list(map(len, data))
        if lengths and max(lengths) > _MAX_INPUT:
            # As verifyClient() does: an argument error, not a refused datagram.
            raise _native.error(_native.E_INVALID_ARGUMENT, "dtlsgate_verifier_check_batch",
                                "a datagram is longer than %d bytes" % _MAX_INPUT)
        if socket is None or (isinstance(socket, _SOCKET) and socket.fileno() < 0):
            lib.dtlsgate_verifier_dtls_error(self._handle)  # raises if closed
            if pairs:
                self._refuse(MSG_INVALID_INPUT, refused_input(socket, b"-", b"-", 1))
            return [False] * len(pairs)
        if not isinstance(socket, _SOCKET):
            _sender(socket, None, None, 0)  # a TypeError for a kind it cannot send through
        out: List[bool] = []
        for start in range(0, len(pairs) or 1, _native.MAX_BATCH):
            end = start + _native.MAX_BATCH
            out += self._verify_batch(socket, data[start:end], lengths[start:end],
                                      peers[start:end])
        return out

    def _verify_batch(self, socket: Any, data: List[bytes], lengths: List[int],
                      peers: List["_Peer"]) -> List[bool]:
        """verifyClients() for at most MAX_BATCH converted datagrams."""
        # The items are packed in one go, pointing into one copy of the
        # datagrams: filling ctypes Structures field by field would cost more
        # than the checks themselves.
        joined = ctypes.create_string_buffer(b"".join(data), sum(lengths))
        starts = itertools.accumulate(lengths, initial=ctypes.addressof(joined))
        zeros = itertools.repeat(0)
        items = (_native.CheckItem * len(data)).from_buffer_copy(b"".join(map(
            _ITEM.pack, starts, lengths, [p.sockaddr_at for p in peers],
            [p.sockaddr_len for p in peers], zeros, zeros, zeros)))
        replies = ctypes.create_string_buffer(len(data) * _native.HELLO_VERIFY_REQUEST_MAX)
        size = ctypes.c_size_t(len(replies))
        lib.dtlsgate_verifier_check_batch(self._handle, items, len(data), replies,
                                          ctypes.byref(size))
        out = []
        fd = socket.fileno() if isinstance(socket, _SOCKET) else -1
        for (result, at, n), d, peer in zip(_RESULTS.iter_unpack(items), data, peers):
            if result < 0:  # refused as verifyClient() refuses it
                out.append(self._refuse(MSG_INVALID_INPUT if not d or not peer.addr
                                        else _refusal(peer.addr),
                                        refused_input(socket, d, peer.addr, peer.port)))
            elif result == _native.CHECK_SEND_REPLY and fd >= 0:
                # The library sends it, exactly as verifyClient() has it send.
                out.append(self._verified(lib.dtlsgate_verifier_verify_client(
                    self._handle, fd, d, len(d), peer.addr, peer.port))
                    or self._explain(socket, d, peer.addr, peer.port))
            else:
                failure = (peer.sender(socket)(replies[at:at + n])
                           if result == _native.CHECK_SEND_REPLY else None)
                verified, self._error, self._hello = _outcome(result, failure, d)
                out.append(verified)
        return out

    def verifiedHello(self) -> bytes:
        """The datagram of the last verifyClient() that returned True, or
        b"" if a later call emptied it."""
        if self._hello is not None:
            lib.dtlsgate_verifier_dtls_error(self._handle)  # raises if closed
            return self._hello
        return _native.read_buffer(lib.dtlsgate_verifier_verified_hello, self._handle,
                                   size=2048)

    def __repr__(self) -> str:
        return "<QDtlsClientVerifier%s>" % (" closed" if self._handle is None else "")


def set_parameters(function: Callable[..., int], handle: Optional[int],
                   params: GeneratorParameters) -> int:
    """function(handle, hash, secret, len) with params checked and converted."""
    if not isinstance(params, GeneratorParameters):
        raise TypeError("params must be a QDtlsClientVerifier.GeneratorParameters, not %s"
                        % type(params).__name__)
    hash_ = _native.c_range(params.hash, _native.INT_MIN, _native.INT_MAX, function.__name__,
                            "hash")
    secret = to_bytes(params.secret, "secret")
    return function(handle, hash_, secret, len(secret))


def _read_parameters(function: Callable[..., int], *handle: Any) -> GeneratorParameters:
    algorithm = ctypes.c_int()
    secret = _native.read_buffer(function, *handle, ctypes.byref(algorithm))
    return GeneratorParameters(algorithm.value, secret)


_NO_ERROR = (QDtlsError.NoError, "")


def _outcome(verdict: int, failure: Optional[str],
             data: bytes) -> Tuple[bool, Tuple[QDtlsError, str], bytes]:
    """What verifyClient() returns and leaves as (dtlsError, verifiedHello)
    for a datagram check() did not refuse; failure: why its reply could not
    be sent, if it had one and that failed."""
    if verdict == CheckVerdict.Verified:
        return True, _NO_ERROR, data
    if failure is not None:
        return False, (QDtlsError.UnderlyingSocketError, failure), b""
    return False, _NO_ERROR, b""


def _refusal(addr: bytes) -> str:
    """Qt's message for a peer address the library refused."""
    return MSG_MULTICAST if multicast_or_broadcast(addr) else MSG_INVALID_INPUT


def _sender(socket: Any, address: Any, addr: Optional[bytes],
            port: int) -> Callable[[bytes], Optional[str]]:
    """How verifyClient() sends a reply to (address, port) through a
    socket-less object: writeDatagram() or sendto()."""
    if callable(getattr(socket, "writeDatagram", None)):
        return _write_datagram(socket, address, port)
    if callable(getattr(socket, "sendto", None)):
        return _sendto(socket, addr, port)
    raise TypeError("socket must be a socket.socket, an object with sendto() (an "
                    "asyncio DatagramTransport) or one with writeDatagram() (a "
                    "QUdpSocket), not %s" % type(socket).__name__)


class _Peer(NamedTuple):
    """A recvfrom() address as verifyClients() uses it."""

    host: Any  # as given, for writeDatagram()
    addr: Optional[bytes]  # to_address(host)
    port: int
    # The item's peer for the library, kept alive here: a NULL one (0) for
    # an address it would not parse, which it refuses alike.
    sockaddr: Any  # a ctypes buffer, or None
    sockaddr_at: int
    sockaddr_len: int

    def sender(self, socket: Any) -> Callable[[bytes], Optional[str]]:
        return _sender(socket, self.host, self.addr, self.port)


def _peer(address: Tuple[Any, ...]) -> _Peer:
    """_Peer for a recvfrom() address, remembered for (str, int, ...) ones."""
    # Looked up only for what is remembered, (str, int, ...): tuples compare
    # by value, and ("h", 80.0) equals ("h", 80), which is a TypeError.
    if (type(address) is tuple and len(address) in (2, 4) and type(address[0]) is str
            and type(address[1]) is int):
        peer = _PEERS.get(address)
        if peer is not None:
            return peer
    if not isinstance(address, tuple) or len(address) not in (2, 4):
        raise TypeError("address must be a (host, port) or (host, port, flowinfo, scope_id) "
                        "tuple as recvfrom() returns, not %r" % (address,))
    host = address[0]
    addr = _address(host)
    port = to_port(address[1], "dtlsgate_verifier_check_batch")
    sockaddr = _sockaddr(addr, port)
    peer = _Peer(host, addr, port, sockaddr, sockaddr and ctypes.addressof(sockaddr) or 0,
                 len(sockaddr or b""))
    if type(host) is str and type(address[1]) is int:
        if len(_PEERS) >= _CACHE_MAX:
            _PEERS.clear()
        _PEERS[address] = peer
    return peer


# A dtlsgate_check_item as struct packs it: dgram, dgram_len, peer,
# peer_len, result, reply_offset, reply_len; and its outputs alone.
_ITEM = struct.Struct("@PNPIiNN")
_RESULTS = struct.Struct("@%dxiNN" % _native.CheckItem.result.offset)
assert _ITEM.size == _RESULTS.size == ctypes.sizeof(_native.CheckItem)

_FAMILY = struct.Struct("=H")  # sa_family, in host order; the rest is in network order


def _sockaddr(addr: Optional[bytes], port: int) -> Any:
    """A struct sockaddr_in or sockaddr_in6 (a ctypes buffer) for a numeric
    address, or None for text the library would not parse (it refuses a
    NULL peer alike). The zone stays out: no cookie depends on it, and
    replies go out through Python's own sendto()."""
    try:
        ip = ipaddress.ip_address((addr or b"").decode("ascii"))
    except ValueError:
        return None
    if ip.version == 4:
        sa = _FAMILY.pack(_socket.AF_INET) + struct.pack("!H", port) + ip.packed + bytes(8)
    else:
        sa = _FAMILY.pack(_socket.AF_INET6) + struct.pack("!HI", port, 0) + ip.packed + bytes(4)
    return ctypes.create_string_buffer(sa, len(sa))


def _sendto(sock: Any, addr: Optional[bytes], port: int) -> Callable[[bytes], Optional[str]]:
    """A sender for an object with sendto(data, (host, port)): returns None
    when sent, else the error text."""

    def send(reply: bytes) -> Optional[str]:
        closing = getattr(sock, "is_closing", None)
        if callable(closing) and closing():
            # asyncio drops datagrams for a closing transport without a word.
            return "the transport is closing"
        try:
            sock.sendto(reply, ((addr or b"").decode("ascii"), port))
        except (OSError, ValueError) as e:
            return getattr(e, "strerror", None) or str(e)
        return None

    return send


def _write_datagram(sock: Any, address: Any, port: int) -> Callable[[bytes], Optional[str]]:
    """A sender for a QUdpSocket: writeDatagram(data, address, port)
    returns -1 on failure and says why in errorString(). The address goes
    through as given (a QHostAddress, as Qt's readDatagram() gives it)."""

    def send(reply: bytes) -> Optional[str]:
        if sock.writeDatagram(reply, address, port) == len(reply):
            return None
        why = getattr(sock, "errorString", None)
        return (why() if callable(why) else "") or "writeDatagram() failed"

    return send
