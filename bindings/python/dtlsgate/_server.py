# SPDX-License-Identifier: MIT
"""DtlsServer: the library's DTLS server endpoint (dtlsgate_server_* of
include/dtlsgate.h) for Python.

Many PSK sessions behind one cookie verifier, with their timers and
limits, in one object. Either the library owns the UDP sockets and its
own worker threads (``listen()``), or the program feeds datagrams itself
(``input()``, ``outgoing()``, ``handle_timers()``). Either way the program
takes events: ``poll()``, iterating the server (blocking), or
``async for`` under asyncio, which waits on the server's eventfd with
``loop.add_reader``. No Python code runs on a library thread: keys the
table lacks are asked for with ``psk_request`` events.

Peers are ``(host, port)`` tuples, as the socket module gives them.
"""

import asyncio
import ctypes
import socket
import struct
from ctypes import byref, c_char_p, c_int, c_size_t, c_uint32, c_uint64, c_void_p
from typing import Any, AsyncIterator, Dict, Iterator, List, NamedTuple, Optional, Tuple

from . import _native
from ._native import lib

Peer = Tuple[str, int]

CONNECTED = "connected"
DATA = "data"
CLOSED = "closed"
PSK_REQUEST = "psk_request"
MOVED = "moved"
_KINDS = {1: CONNECTED, 2: DATA, 3: CLOSED, 4: PSK_REQUEST, 5: MOVED}
# dtlsgate_server_event.reason, by name.
CLOSE_REASONS = {1: "by_peer", 2: "fatal", 3: "by_app", 4: "idle", 5: "evicted",
                 6: "replaced", 7: "shutdown"}

MAX_RECORD = 16384  # the most one record, so one send, carries


class ServerEvent(NamedTuple):
    """One event: ``kind`` is "connected", "data", "closed",
    "psk_request" or "moved"; ``identity`` (connected, psk_request),
    ``cipher`` (connected), ``data`` (data), ``reason`` and ``message``
    (closed), ``connection_id`` (connected: the ID the client's records
    carry, b"" without one) and ``old_peer`` (moved: where the peer was;
    ``peer`` is where it is now) are set where they apply, empty (None)
    elsewhere."""

    kind: str
    peer: Peer
    identity: bytes = b""
    cipher: str = ""
    data: bytes = b""
    reason: str = ""
    message: str = ""
    connection_id: bytes = b""
    old_peer: Optional[Peer] = None


class _Storage(ctypes.Structure):
    # struct sockaddr_storage: 128 bytes, 8-byte aligned.
    _fields_ = [("raw", c_uint64 * 16)]


class _Event(ctypes.Structure):
    _fields_ = [("type", c_int), ("reason", c_int), ("peer", _Storage), ("peer_len", c_uint32),
                ("identity", c_void_p), ("identity_len", c_size_t), ("cipher", c_char_p),
                ("data", c_void_p), ("data_len", c_size_t), ("message", c_char_p),
                ("old_peer", _Storage), ("old_peer_len", c_uint32),
                ("connection_id", c_void_p), ("connection_id_len", c_size_t)]


class _Config(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("max_sessions", c_uint32), ("max_half_open", c_uint32),
                ("max_half_open_per_ip", c_uint32), ("handshake_deadline_ms", c_uint32),
                ("idle_timeout_ms", c_uint32), ("max_buffered_bytes", c_uint32),
                ("receive_buffer_bytes", c_uint32), ("workers", c_uint32), ("verifier", c_void_p),
                ("cookie_hash", c_int), ("cookie_secret", c_char_p), ("cookie_secret_len", c_size_t),
                ("ciphers", c_char_p), ("identity_hint", c_char_p), ("identity_hint_len", c_size_t),
                ("mtu", c_uint32), ("max_retransmits", c_uint32), ("psk_callback", c_void_p),
                ("psk_user_data", c_void_p), ("psk_requests", c_int),
                ("connection_id_length", c_int), ("node_id", c_int)]


_STATS = ["datagrams", "hello_verifies", "dropped_stranger", "dropped_bad_peer",
          "dropped_too_large", "handshakes_started", "handshakes_completed", "handshakes_failed",
          "handshake_timeouts", "restarts", "duplicate_hellos", "evicted_half_open",
          "evicted_half_open_per_ip", "evicted_idle", "evicted_for_session", "refused_full",
          "idle_timeouts", "dropped_buffered", "sessions", "half_open",
          "dropped_unknown_cid", "moves", "refused_moves", "routed_cid"]


class _Stats(ctypes.Structure):
    _fields_ = [("size", c_size_t)] + [(name, c_uint64) for name in _STATS]


def _sockaddr(peer: Peer, function: str) -> Tuple[bytes, int]:
    """peer as a struct sockaddr_in or sockaddr_in6, and its length."""
    try:
        host, port = peer
        port = int(port)
        if ":" in host:
            host, _, zone = host.partition("%")
            scope = 0
            if zone:
                scope = int(zone) if zone.isdigit() else socket.if_nametoindex(zone)
            raw = struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", port, 0) + \
                socket.inet_pton(socket.AF_INET6, host) + struct.pack("=I", scope)
        else:
            raw = struct.pack("=H", socket.AF_INET) + struct.pack("!H", port) + \
                socket.inet_pton(socket.AF_INET, host) + bytes(8)
    except (TypeError, ValueError, OSError, struct.error) as e:
        raise _native.error(_native.E_INVALID_ARGUMENT, function,
                            "peer must be a (numeric host, port) tuple: %s" % e) from None
    return raw, len(raw)


def _peer(storage: _Storage, length: int) -> Peer:
    raw = bytes(storage)[:length]
    family, port = struct.unpack_from("=H", raw)[0], struct.unpack_from("!H", raw, 2)[0]
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, raw[4:8]), port
    host = socket.inet_ntop(socket.AF_INET6, raw[8:24])
    scope = struct.unpack_from("=I", raw, 24)[0]
    return (host + "%%%d" % scope if scope else host), port


def _ms(seconds: Optional[float], what: str, function: str) -> int:
    if seconds is None:
        return 0
    if seconds < 0:
        raise _native.error(_native.E_INVALID_ARGUMENT, function, "%s must not be negative" % what)
    return _native.c_range(int(round(seconds * 1000)), 0, _native.UINT32_MAX, function, what)


class DtlsServer(_native.Owner):
    """A DTLS 1.2 PSK server endpoint.

    Keyword settings (0 or None: the library's default): ``keys`` (a dict
    identity -> key for the table), ``key_file`` (identity:hexkey lines),
    ``psk_requests`` (ask for keys the table lacks with psk_request events
    instead of refusing), ``max_sessions`` (100000), ``max_half_open``
    (1000), ``max_half_open_per_ip`` (8), ``handshake_deadline`` (seconds,
    30), ``idle_timeout`` (seconds, 600; 0 or None: never),
    ``max_buffered_bytes`` (16384), ``receive_buffer`` (bytes per socket,
    4 MB), ``workers`` (one per core), ``ciphers`` (OpenSSL names joined by
    colons), ``identity_hint`` and ``verifier`` (a QDtlsClientVerifier whose
    cookies, fleet key included, the server shares); connection IDs (RFC
    9146) for clients that offer them: ``connection_id_length`` (1..16
    bytes, 8; NO_CONNECTION_ID: none) and ``node_id`` (1..255, their first
    byte; 0: all random). A client that comes back from a new address with
    its ID gets a "moved" event.
    """

    _free = lib.dtlsgate_server_free

    def __init__(self, *, keys: Optional[Dict[bytes, bytes]] = None, key_file: Optional[str] = None,
                 psk_requests: bool = False, max_sessions: int = 0, max_half_open: int = 0,
                 max_half_open_per_ip: int = 0, handshake_deadline: Optional[float] = None,
                 idle_timeout: Optional[float] = 600.0, max_buffered_bytes: int = 0,
                 receive_buffer: int = 0, workers: int = 0, ciphers: Optional[str] = None,
                 identity_hint: bytes = b"", verifier: Any = None, connection_id_length: int = 0,
                 node_id: int = 0) -> None:
        name = "DtlsServer"
        cfg = _Config(size=ctypes.sizeof(_Config))
        lib.dtlsgate_server_config_init(byref(cfg))
        for field, value in (("max_sessions", max_sessions), ("max_half_open", max_half_open),
                             ("max_half_open_per_ip", max_half_open_per_ip),
                             ("max_buffered_bytes", max_buffered_bytes),
                             ("receive_buffer_bytes", receive_buffer), ("workers", workers)):
            setattr(cfg, field, _native.c_range(value, 0, _native.UINT32_MAX, name, field))
        cfg.handshake_deadline_ms = _ms(handshake_deadline, "handshake_deadline", name)
        cfg.idle_timeout_ms = _ms(idle_timeout, "idle_timeout", name)
        cfg.psk_requests = 1 if psk_requests else 0
        cfg.connection_id_length = _native.c_range(connection_id_length, _native.INT_MIN,
                                                   _native.INT_MAX, name, "connection_id_length")
        cfg.node_id = _native.c_range(node_id, _native.INT_MIN, _native.INT_MAX, name, "node_id")
        if ciphers is not None:
            cfg.ciphers = ciphers.encode()
        hint = bytes(identity_hint)
        cfg.identity_hint, cfg.identity_hint_len = hint, len(hint)
        if verifier is not None:
            if not verifier._handle:  # NULL would mean "a verifier of its own"
                raise _native.error(_native.E_BAD_HANDLE, name, "the verifier is closed")
            cfg.verifier = verifier._handle
        handle = c_void_p()
        lib.dtlsgate_server_new(byref(cfg), byref(handle))
        self._handle = handle.value
        self._listening = False
        self._stopped = False
        self._events = (_Event * 64)()
        self._fd = lib.dtlsgate_server_fd(self._handle)
        for identity, key in (keys or {}).items():
            self.set_psk(identity, key)
        if key_file is not None:
            self.load_psk_file(key_file)

    # -- keys ------------------------------------------------------------

    def set_psk(self, identity: bytes, key: bytes) -> None:
        """Adds or changes identity's key in the table."""
        identity, key = bytes(identity), bytes(key)
        lib.dtlsgate_server_set_psk(self._handle, identity, len(identity), key, len(key))

    def remove_psk(self, identity: bytes) -> bool:
        """Forgets identity; True if it was there."""
        identity = bytes(identity)
        return lib.dtlsgate_server_remove_psk(self._handle, identity, len(identity)) == 1

    def load_psk_file(self, path: str) -> None:
        """Replaces the table with a file of identity:hexkey lines (GnuTLS
        psktool's format); on a bad line the table stays as it was."""
        lib.dtlsgate_server_load_psk_file(self._handle, str(path).encode())

    def resolve_psk(self, peer: Peer, identity: bytes, key: bytes) -> None:
        """Answers a psk_request event: the handshake goes on with key."""
        sa, n = _sockaddr(peer, "resolve_psk")
        identity, key = bytes(identity), bytes(key)
        lib.dtlsgate_server_resolve_psk(self._handle, sa, n, identity, len(identity), key, len(key))

    def refuse_psk(self, peer: Peer, identity: bytes) -> None:
        """Answers a psk_request event with a refusal: the handshake fails."""
        sa, n = _sockaddr(peer, "refuse_psk")
        identity = bytes(identity)
        lib.dtlsgate_server_refuse_psk(self._handle, sa, n, identity, len(identity))

    # -- managed mode ----------------------------------------------------

    def listen(self, address: str = "[::]:0") -> Peer:
        """Opens the sockets on "host:port" and starts the workers; returns
        the address bound (port 0 picks one)."""
        lib.dtlsgate_server_listen(self._handle, address.encode())
        self._listening = True
        storage, n = _Storage(), c_uint32(ctypes.sizeof(_Storage))
        lib.dtlsgate_server_local_address(self._handle, byref(storage), byref(n))
        return _peer(storage, n.value)

    def stop(self) -> None:
        """Sends close_notify to every peer, closes the sockets and waits
        for the workers; closed events follow for the peers."""
        lib.dtlsgate_server_stop(self._handle)
        self._stopped = True

    # -- socket-less mode ------------------------------------------------

    def input(self, peer: Peer, datagram: bytes) -> None:
        """One datagram that arrived from peer."""
        sa, n = _sockaddr(peer, "input")
        datagram = bytes(datagram)
        lib.dtlsgate_server_input(self._handle, sa, n, datagram, len(datagram))

    def outgoing(self) -> Iterator[Tuple[bytes, Peer]]:
        """Takes the datagrams to send, as (datagram, peer), oldest first."""
        buf = ctypes.create_string_buffer(_native.MAX_DATAGRAM)
        storage = _Storage()
        while True:
            n, sl = c_size_t(len(buf)), c_uint32(ctypes.sizeof(_Storage))
            if lib.dtlsgate_server_next_outgoing(self._handle, buf, byref(n), byref(storage),
                                                 byref(sl)) == 0:
                return
            yield buf.raw[: n.value], _peer(storage, sl.value)

    def next_timeout(self) -> Optional[float]:
        """Seconds until handle_timers() is due, or None when no timer runs."""
        ms = c_uint32()
        if lib.dtlsgate_server_next_timeout(self._handle, byref(ms)) == 0:
            return None
        return ms.value / 1000.0

    def handle_timers(self) -> None:
        """Serves every timer that is due."""
        lib.dtlsgate_server_handle_timers(self._handle)

    # -- both modes ------------------------------------------------------

    def send(self, peer: Peer, data: bytes) -> None:
        """Encrypts data (1 to 16384 bytes) as one record to a connected peer."""
        sa, n = _sockaddr(peer, "send")
        data = bytes(data)
        lib.dtlsgate_server_send(self._handle, sa, n, data, len(data))

    def disconnect(self, peer: Peer) -> None:
        """Ends the connection with peer (close_notify); a closed event follows."""
        sa, n = _sockaddr(peer, "disconnect")
        lib.dtlsgate_server_close(self._handle, sa, n)

    def shutdown(self) -> None:
        """close_notify to every connected peer; a listening server stops."""
        lib.dtlsgate_server_shutdown(self._handle)
        if self._listening:
            self._stopped = True

    def fileno(self) -> int:
        """The eventfd that is readable while events wait (for selectors)."""
        if not self._handle:
            raise _native.error(_native.E_BAD_HANDLE, "fileno", "the object is closed")
        return self._fd

    def poll(self, timeout: Optional[float] = 0.0, max_events: int = 64) -> List[ServerEvent]:
        """The events waiting, oldest first, at most max_events, waiting up
        to timeout seconds for one (None: for ever). The wait releases the
        GIL (ctypes), so other threads run meanwhile."""
        if len(self._events) < max_events:
            self._events = (_Event * max_events)()
        wait = -1 if timeout is None else _native.c_range(int(timeout * 1000), 0, _native.INT_MAX,
                                                          "poll", "timeout")
        n = lib.dtlsgate_server_poll(self._handle, self._events, max_events, wait)
        return [self._event(e) for e in self._events[:n]]

    @staticmethod
    def _event(e: _Event) -> ServerEvent:
        return ServerEvent(
            kind=_KINDS.get(e.type, str(e.type)), peer=_peer(e.peer, e.peer_len),
            identity=ctypes.string_at(e.identity, e.identity_len) if e.identity_len else b"",
            cipher=(e.cipher or b"").decode(),
            data=ctypes.string_at(e.data, e.data_len) if e.data_len else b"",
            reason=CLOSE_REASONS.get(e.reason, "") if e.type == 3 else "",
            message=(e.message or b"").decode(errors="replace"),
            connection_id=ctypes.string_at(e.connection_id, e.connection_id_len)
            if e.connection_id_len else b"",
            old_peer=_peer(e.old_peer, e.old_peer_len) if e.old_peer_len else None)

    def __iter__(self) -> Iterator[ServerEvent]:
        """Events as they come, blocking; ends once a listening server has
        stopped and its last events were taken."""
        while self._handle:
            # Read before the poll: a stop() between an empty poll and the
            # check (a signal handler, another thread) queued Closed events
            # that one more poll must take.
            stopped = self._stopped
            events = self.poll(timeout=0.25)
            yield from events
            if not events and stopped:
                return

    async def __aiter__(self) -> AsyncIterator[ServerEvent]:
        """Events under asyncio: waits on the eventfd with loop.add_reader,
        so the loop never blocks; ends as the blocking iterator does."""
        loop = asyncio.get_running_loop()
        while self._handle:
            stopped = self._stopped  # before the poll, as in __iter__
            events = self.poll(timeout=0)
            for event in events:
                yield event
            if events:
                continue
            if stopped:
                return
            ready = loop.create_future()
            fd = self.fileno()
            loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
            try:
                # The timeout notices a stop() with no event left to announce it.
                await asyncio.wait_for(ready, 0.25)
            except asyncio.TimeoutError:
                pass
            finally:
                loop.remove_reader(fd)

    def stats(self) -> Dict[str, int]:
        """The counters: what the server did and each limit as it bit."""
        st = _Stats(size=ctypes.sizeof(_Stats))
        lib.dtlsgate_server_get_stats(self._handle, byref(st))
        return {name: getattr(st, name) for name in _STATS}


__all__ = ["DtlsServer", "ServerEvent", "CONNECTED", "DATA", "CLOSED", "PSK_REQUEST", "MOVED"]
