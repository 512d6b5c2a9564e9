# SPDX-License-Identifier: MIT
"""Shared by the Python binding's tests: paths, the corpus, loopback
sockets with timeouts, stand-ins for an asyncio transport, a QUdpSocket
and a QHostAddress, and the DTLS byte helpers of tests/interop.

Importing it puts bindings/python (the package under test) and
tests/interop (dtlswire, the second-flight builder) on sys.path, so the
tests run from the source tree with plain `python3 -m unittest` or pytest.
"""

import os
import socket
import sys
from typing import Dict, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir))
BINDING = os.path.join(REPO, "bindings", "python")
INTEROP = os.path.join(REPO, "tests", "interop")
CORPUS = os.path.join(REPO, "tests", "corpus")
EXAMPLES = os.path.join(REPO, "examples", "python")
HEADER = os.path.join(REPO, "include", "dtlsgate.h")

for _path in (BINDING, INTEROP):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import dtlswire  # noqa: E402  (tests/interop)
from test_exchange import client_hello  # noqa: E402  (tests/interop: the second flight)

TIMEOUT = 3.0  # seconds any single socket wait may take

MSG_INPUT = "A valid UDP socket, non-empty datagram, and valid address/port were expected"
MSG_MCAST = "Multicast and broadcast addresses are not supported"
MSG_EMPTY_SECRET = "Invalid (empty) secret"


def corpus() -> Dict[str, bytes]:
    """Every real first ClientHello of tests/corpus, by file name."""
    out = {}
    for name in sorted(os.listdir(CORPUS)):
        if name.endswith(".bin"):
            with open(os.path.join(CORPUS, name), "rb") as f:
                out[name] = f.read()
    assert len(out) >= 6, "tests/corpus is incomplete"
    return out


def first_hello() -> bytes:
    return corpus()["openssl_dtls12.bin"]


def with_cookie(hello: bytes, cookie: bytes) -> bytes:
    """The client's second flight: `hello` again with the cookie, the record
    sequence number one up (as real clients send it)."""
    return client_hello(hello, cookie, dtlswire.parse(hello).sequence + 1)


def has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def udp(host: str = "127.0.0.1") -> socket.socket:
    """A UDP socket bound to host on a port the system picks, with a timeout."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((host, 0))
    s.settimeout(TIMEOUT)
    return s


def port_of(s: socket.socket) -> int:
    return s.getsockname()[1]


def recv(s: socket.socket) -> Tuple[bytes, Tuple]:
    """The next datagram on s (socket.timeout after TIMEOUT seconds)."""
    return s.recvfrom(65536)


def nothing_sent(server: socket.socket, client: socket.socket) -> bool:
    """Whether nothing came from server to client since the last receive:
    the server sends a marker, which must be the next datagram the client
    gets. Whatever came first is drained."""
    marker = b"dtlsgate-test-marker"
    server.sendto(marker, client.getsockname()[:2])
    first = True
    for _ in range(16):
        data, _ = recv(client)
        if data == marker:
            return first
        first = False
    return False


def hello_verify_request(data: bytes, answering: bytes) -> Optional[str]:
    """What is wrong with `data` as the HelloVerifyRequest answering the
    ClientHello `answering`, or None (RFC 6347 4.2.1 and DESIGN.md)."""
    try:
        m = dtlswire.parse(data)
    except dtlswire.ParseError as e:
        return "not a handshake message: %s" % e
    hello = dtlswire.parse(answering)
    checks = [
        (m.msg_type == dtlswire.HELLO_VERIFY_REQUEST, "not a HelloVerifyRequest"),
        (m.record_version == 0xFEFF and m.version == 0xFEFF, "version is not FE FF"),
        ((m.epoch, m.sequence) == (hello.epoch, hello.sequence), "epoch/sequence not echoed"),
        (m.message_seq == 0 and m.unfragmented, "message_seq not 0, or fragmented"),
        (1 <= len(m.cookie or b"") <= 32, "cookie not 1..32 bytes"),
        (len(data) == 28 + len(m.cookie or b""), "length is not 28 + cookie"),
        (len(data) <= len(answering), "larger than the datagram it answers"),
    ]
    for ok, problem in checks:
        if not ok:
            return problem
    return None


def cookie_of(hvr: bytes) -> bytes:
    cookie = dtlswire.parse(hvr).cookie
    assert cookie
    return cookie


# Objects that stand in for the sockets of other frameworks.

class SendtoOnly:
    """Something with sendto() and nothing else, like an asyncio transport."""

    def __init__(self, sock):
        self.sock = sock
        self.sent = 0

    def sendto(self, data, addr):
        self.sent += 1
        return self.sock.sendto(data, addr)


class HostAddress:
    """QHostAddress-like: toString() only."""

    def __init__(self, text):
        self.text = text

    def toString(self):
        return self.text


class UdpSocketLike:
    """QUdpSocket-like: writeDatagram(data, QHostAddress, port) returns the
    bytes written or -1, and errorString() says why."""

    def __init__(self, sock):
        self.sock = sock
        self.error = ""

    def writeDatagram(self, data, host, port):
        assert isinstance(host, HostAddress), "the QHostAddress is passed through"
        try:
            return self.sock.sendto(bytes(data), (host.toString(), port))
        except OSError as e:
            self.error = e.strerror
            return -1

    def errorString(self):
        return self.error
