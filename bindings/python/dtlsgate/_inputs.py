# SPDX-License-Identifier: MIT
"""The Python values the API accepts, turned into what the C functions take.

Byte strings: bytes, bytearray, memoryview (anything with the buffer
protocol) and QByteArray-like objects (a ``data()`` method returning bytes);
None is the empty byte string, as a null QByteArray is in PySide.
Addresses: str, ipaddress objects and QHostAddress-like objects (a
``toString()`` method); None means "no address".
"""

import ipaddress
from typing import Any, Optional, Tuple, Union

try:  # Python 3.8+
    from typing import Protocol
except ImportError:  # pragma: no cover
    Protocol = object  # type: ignore

from . import _native


class ByteArrayLike(Protocol):
    def data(self) -> bytes: ...


class HostAddressLike(Protocol):
    def toString(self) -> str: ...


class DatagramSender(Protocol):
    """asyncio.DatagramTransport, or a socket-like object."""

    def sendto(self, data: bytes, addr: Tuple[str, int]) -> Any: ...


class DatagramWriter(Protocol):
    """QUdpSocket."""

    def writeDatagram(self, data: bytes, host: Any, port: int) -> int: ...


BytesLike = Union[bytes, bytearray, memoryview, ByteArrayLike, None]
Address = Union[str, ipaddress.IPv4Address, ipaddress.IPv6Address, HostAddressLike, None]


def to_bytes(value: Any, what: str) -> bytes:
    if type(value) is bytes:  # the common case, without a copy
        return value
    if value is None:
        return b""
    if isinstance(value, str):
        raise TypeError("%s must be bytes-like, not str: %s" % (what, str_advice(value)))
    try:
        return memoryview(value).tobytes()
    except TypeError:
        pass
    data = getattr(value, "data", None)
    if callable(data):
        raw = data()
        if isinstance(raw, (bytes, bytearray, memoryview)):
            return bytes(raw)
    raise TypeError("%s must be bytes, bytearray, memoryview or a QByteArray, not %s"
                    % (what, type(value).__name__))


_HEX = frozenset("0123456789abcdefABCDEF")


def str_advice(text: str) -> str:
    """How to turn a str into the bytes meant: hex digits are most likely a
    key written in hex, where .encode() would give the wrong bytes."""
    shown = text if len(text) <= 40 else text[:37] + "..."
    if text and len(text) % 2 == 0 and set(text) <= _HEX:
        return "for the bytes the hex digits stand for, pass bytes.fromhex(%r)" % shown
    return "for the text's UTF-8 bytes, pass %r.encode()" % shown


def refused_input(socket: Any, data: bytes, address: Optional[bytes], port: int) -> str:
    """Which argument the library refused as InvalidInputParameters in
    verifyClient() (only the message is decided here)."""
    if socket is None:
        return "socket is None"
    if getattr(socket, "fileno", None) is not None and socket.fileno() < 0:
        return "socket is closed"
    if not data:
        return "dgram is empty"
    if not address:
        return "address is missing"
    if port == 0:
        return "port 0 is out of range 1..65535"
    if multicast_or_broadcast(address):
        return "address %s is multicast or broadcast" % address.decode("ascii", "replace")
    return ("address %r is not a numeric IPv4 or IPv6 address; resolve a host name first "
            "(socket.getaddrinfo)" % address.decode("ascii", "replace"))


def to_address(value: Any) -> Optional[bytes]:
    """The numeric address as the C string, None for no address."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value
    elif isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        text = str(value)
    elif callable(getattr(value, "toString", None)):
        text = value.toString()
        if not isinstance(text, str):
            raise TypeError("%s.toString() returned %s, not str"
                            % (type(value).__name__, type(text).__name__))
    else:
        raise TypeError("address must be a str, an ipaddress address or a QHostAddress, not %s"
                        % type(value).__name__)
    if "\0" in text:
        # C would stop reading at the NUL and see a different address; an
        # empty one is refused exactly as an unparsable one is.
        return b""
    # A non-ASCII character becomes "?", which no numeric address contains.
    return text.encode("ascii", "replace")


def to_port(value: Any, function: str) -> int:
    return _native.c_range(value, 0, 65535, function, "port")


_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


def multicast_or_broadcast(address: bytes) -> bool:
    """Whether a peer address the library refused is refused for being
    multicast or broadcast (rather than malformed): only the message
    differs, the library has already made the decision."""
    try:
        ip = ipaddress.ip_address(address.decode("ascii"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_multicast or ip == _BROADCAST
