#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tests of the interop checker itself: it must pass a correct exchange and
catch each kind of wrong one. Run: python3 tests/interop/test_exchange.py

The exchanges are built here from a real first ClientHello in
tests/corpus, so no server or client is needed."""

import os
import struct
import unittest

import exchange
from exchange import Datagram, Failed

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")


def client_hello(first: bytes, cookie: bytes, sequence: int) -> bytes:
    """The ClientHello `first` again, with a cookie and a new record sequence."""
    body = first[25:]
    sid_len = body[34]
    cookie_at = 35 + sid_len
    assert body[cookie_at] == 0
    body = body[:cookie_at] + bytes([len(cookie)]) + cookie + body[cookie_at + 1:]
    hs = first[13:14] + len(body).to_bytes(3, "big") + b"\x00\x00" + b"\x00\x00\x00" \
        + len(body).to_bytes(3, "big") + body
    return first[:3] + b"\x00\x00" + sequence.to_bytes(6, "big") \
        + struct.pack("!H", len(hs)) + hs


def hello_verify_request(cookie: bytes, sequence: int = 0) -> bytes:
    body = b"\xfe\xff" + bytes([len(cookie)]) + cookie
    hs = b"\x03" + len(body).to_bytes(3, "big") + b"\x00\x00" + b"\x00\x00\x00" \
        + len(body).to_bytes(3, "big") + body
    return b"\x16\xfe\xff\x00\x00" + sequence.to_bytes(6, "big") + struct.pack("!H", len(hs)) + hs


class CheckTest(unittest.TestCase):
    def setUp(self):
        with open(os.path.join(CORPUS, "openssl_dtls12.bin"), "rb") as f:
            self.first = f.read()
        self.cookie = bytes(range(1, 33))
        self.hvr = hello_verify_request(self.cookie)
        self.second = client_hello(self.first, self.cookie, 1)

    def run_check(self, wire, events=None):
        datagrams = [Datagram(i, d, 0.0, data) for i, (d, data) in enumerate(wire)]
        if events is None:
            events = ["listening port=1",
                      "not-verified peer=127.0.0.1:9 bytes=%d" % len(self.first),
                      "verified peer=127.0.0.1:9 bytes=%d hex=%s"
                      % (len(self.second), self.second.hex()),
                      "stopped reason=once datagrams=2 verified=1"]
        return exchange.check(datagrams, [exchange.parse_server_line(e) for e in events])

    def good_wire(self):
        return [("c2s", self.first), ("s2c", self.hvr), ("c2s", self.second)]

    def assertFails(self, wire, events=None, text=""):
        with self.assertRaises(Failed) as cm:
            self.run_check(wire, events)
        self.assertIn(text, str(cm.exception))

    def test_good_exchange_passes(self):
        self.assertIn("verified", self.run_check(self.good_wire()))

    def test_resent_first_hello_is_allowed(self):
        resent = self.first[:10] + b"\x01" + self.first[11:]  # record sequence 1
        second = client_hello(self.first, self.cookie, 2)
        wire = [("c2s", self.first), ("c2s", resent), ("s2c", self.hvr), ("c2s", second)]
        events = ["not-verified bytes=%d" % len(self.first),
                  "not-verified bytes=%d" % len(resent),
                  "verified bytes=%d hex=%s" % (len(second), second.hex()),
                  "stopped reason=once"]
        self.assertIn("resent its first ClientHello 1 time", self.run_check(wire, events))

    def test_no_answer(self):
        self.assertFails([("c2s", self.first)], text="never came back")
        self.assertFails([("c2s", self.first), ("c2s", self.first)], text="never came back")

    def test_wrong_cookie(self):
        other = client_hello(self.first, b"x" * 32, 1)
        self.assertFails([("c2s", self.first), ("s2c", self.hvr), ("c2s", other)],
                         text="carries cookie")

    def test_sequence_not_echoed(self):
        wire = self.good_wire()
        wire[1] = ("s2c", hello_verify_request(self.cookie, sequence=7))
        self.assertFails(wire, text="do not echo")

    def test_cookie_too_long(self):
        cookie = bytes(33)
        wire = [("c2s", self.first), ("s2c", hello_verify_request(cookie)),
                ("c2s", client_hello(self.first, cookie, 1))]
        self.assertFails(wire, text="not 1..32")

    def test_record_version(self):
        wire = self.good_wire()
        wire[1] = ("s2c", self.hvr[:2] + b"\xfd" + self.hvr[3:])
        self.assertFails(wire, text="record version")

    def test_verified_hello_differs(self):
        events = ["not-verified bytes=%d" % len(self.first),
                  "verified bytes=%d hex=%s" % (len(self.first), self.first.hex()),
                  "stopped reason=once"]
        self.assertFails(self.good_wire(), events, text="verifiedHello")

    def test_server_did_not_verify(self):
        events = ["not-verified bytes=%d" % len(self.first),
                  "not-verified bytes=%d" % len(self.second), "stopped reason=timeout"]
        self.assertFails(self.good_wire(), events, text="for client datagram #2")

    def test_error_reported(self):
        events = ["error bytes=%d code=3 name=UnderlyingSocketError message=it broke"
                  % len(self.first),
                  "verified bytes=%d hex=%s" % (len(self.second), self.second.hex()),
                  "stopped reason=once"]
        self.assertFails(self.good_wire(), events, text="datagram #1")

    def test_message_field_keeps_spaces(self):
        word, fields = exchange.parse_server_line("error code=3 message=a b=c d")
        self.assertEqual((word, fields["code"], fields["message"]), ("error", "3", "a b=c d"))


if __name__ == "__main__":
    unittest.main()
