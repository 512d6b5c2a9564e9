# SPDX-License-Identifier: MIT
"""Just enough DTLS parsing to follow a cookie exchange (RFC 6347, 4.2.1).

Only the first record of a datagram and the first handshake message in it
are looked at, which is all a ClientHello / HelloVerifyRequest exchange
needs. Standard library only.
"""

import struct
from dataclasses import dataclass
from typing import Optional

HANDSHAKE = 22
CLIENT_HELLO = 1
HELLO_VERIFY_REQUEST = 3

RECORD_HEADER = struct.Struct("!BHH6sH")  # type, version, epoch, sequence (48 bits), length
HANDSHAKE_HEADER = struct.Struct("!B3sH3s3s")  # type, length, message_seq, offset, fragment length

VERSION_NAMES = {0xFEFF: "DTLS 1.0", 0xFEFD: "DTLS 1.2", 0xFEFC: "DTLS 1.3"}
MESSAGE_NAMES = {CLIENT_HELLO: "ClientHello", HELLO_VERIFY_REQUEST: "HelloVerifyRequest"}


class ParseError(ValueError):
    pass


def u24(b: bytes) -> int:
    return int.from_bytes(b, "big")


def version_name(v: int) -> str:
    return VERSION_NAMES.get(v, "version 0x%04x" % v)


@dataclass
class Message:
    """The first handshake message of a datagram, with its record."""

    datagram: bytes
    record_type: int
    record_version: int
    epoch: int
    sequence: int
    record_length: int
    msg_type: int
    msg_length: int
    message_seq: int
    fragment_offset: int
    fragment_length: int
    body: bytes  # the fragment's bytes
    version: Optional[int] = None  # client_version or server_version
    cookie: Optional[bytes] = None

    @property
    def name(self) -> str:
        return MESSAGE_NAMES.get(self.msg_type, "handshake type %d" % self.msg_type)

    @property
    def unfragmented(self) -> bool:
        return self.fragment_offset == 0 and self.fragment_length == self.msg_length


def _read_vector(body: bytes, pos: int, length_size: int, what: str):
    if pos + length_size > len(body):
        raise ParseError("%s: length byte(s) missing" % what)
    n = int.from_bytes(body[pos : pos + length_size], "big")
    pos += length_size
    if pos + n > len(body):
        raise ParseError("%s: %d bytes announced, %d left" % (what, n, len(body) - pos))
    return body[pos : pos + n], pos + n


def parse(datagram: bytes) -> Message:
    """Parses the first record's first handshake message; ParseError if it is not one."""
    if len(datagram) < RECORD_HEADER.size:
        raise ParseError("%d bytes: shorter than a record header" % len(datagram))
    rtype, rversion, epoch, seq, rlen = RECORD_HEADER.unpack_from(datagram)
    if rtype != HANDSHAKE:
        raise ParseError("record content type %d, not handshake (22)" % rtype)
    fragment = datagram[RECORD_HEADER.size : RECORD_HEADER.size + rlen]
    if len(fragment) != rlen:
        raise ParseError("record says %d bytes, datagram has %d" % (rlen, len(fragment)))
    if len(fragment) < HANDSHAKE_HEADER.size:
        raise ParseError("record too short for a handshake header")
    htype, hlen, mseq, foff, flen = HANDSHAKE_HEADER.unpack_from(fragment)
    body = fragment[HANDSHAKE_HEADER.size :]
    if len(body) != u24(flen):
        raise ParseError("fragment says %d bytes, record has %d" % (u24(flen), len(body)))
    m = Message(datagram, rtype, rversion, epoch, u24(seq), rlen, htype, u24(hlen), mseq,
                u24(foff), u24(flen), body)

    if htype == CLIENT_HELLO:
        # client_version, random[32], session_id<0..32>, cookie<0..255>, ...
        if m.fragment_offset != 0 or len(body) < 2 + 32:
            raise ParseError("ClientHello fragment without the start of the body")
        m.version = struct.unpack_from("!H", body)[0]
        _, pos = _read_vector(body, 2 + 32, 1, "session_id")
        m.cookie, _ = _read_vector(body, pos, 1, "cookie")
    elif htype == HELLO_VERIFY_REQUEST:
        # server_version, cookie<0..255>, and nothing after it
        if len(body) < 3:
            raise ParseError("HelloVerifyRequest body too short")
        m.version = struct.unpack_from("!H", body)[0]
        m.cookie, end = _read_vector(body, 2, 1, "cookie")
        if end != len(body):
            raise ParseError("%d bytes after the HelloVerifyRequest cookie" % (len(body) - end))
    return m


def spaced_hex(b: bytes, limit: int = 8) -> str:
    """'00 65 4f ...' showing at most `limit` bytes."""
    s = " ".join("%02x" % x for x in b[:limit])
    return s + (" ..." if len(b) > limit else "")


def describe(datagram: bytes) -> str:
    """One line a person can read, e.g.
    'ClientHello (205 bytes, DTLS 1.2, no cookie)'."""
    try:
        m = parse(datagram)
    except ParseError as e:
        return "not a DTLS handshake message (%d bytes: %s)" % (len(datagram), e)
    parts = ["%d bytes" % len(datagram)]
    if m.msg_type == CLIENT_HELLO:
        parts.append(version_name(m.version))
        parts.append("cookie %d bytes" % len(m.cookie) if m.cookie else "no cookie")
    elif m.msg_type == HELLO_VERIFY_REQUEST:
        parts.append("cookie %d bytes: %s" % (len(m.cookie), spaced_hex(m.cookie)))
    return "%s (%s)" % (m.name, ", ".join(parts))
