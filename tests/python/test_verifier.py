# SPDX-License-Identifier: MIT
"""QDtlsClientVerifier through the Python binding: every Qt-parity rule of
DESIGN.md, on real loopback sockets with the real ClientHellos of
tests/corpus, for each kind of socket verifyClient() accepts."""

import errno
import ipaddress
import os
import re
import threading
import time
import unittest

import support
from support import (MSG_EMPTY_SECRET, MSG_INPUT, MSG_MCAST, HostAddress, SendtoOnly, UdpSocketLike,
                     nothing_sent, port_of, recv, udp)

import dtlsgate
from dtlsgate import QCryptographicHash, QDtlsClientVerifier, QDtlsError

Algorithm = QCryptographicHash.Algorithm
GeneratorParameters = QDtlsClientVerifier.GeneratorParameters


class ByteArray:
    """QByteArray-like without the buffer protocol: data() only."""

    def __init__(self, raw):
        self.raw = raw

    def data(self):
        return self.raw


def kinds(sock):
    """(name, socket argument, address wrapper) for each kind of socket."""
    return [("socket.socket", sock, str),
            ("sendto object", SendtoOnly(sock), str),
            ("writeDatagram object", UdpSocketLike(sock), HostAddress)]


class Fresh(unittest.TestCase):
    def test_defaults(self):
        with QDtlsClientVerifier() as v:
            self.assertIs(v.dtlsError(), QDtlsError.NoError)
            self.assertEqual(v.dtlsErrorString(), "")
            self.assertEqual(v.verifiedHello(), b"")
            p = v.cookieGeneratorParameters()
            self.assertIs(p.hash, Algorithm.Sha256)
            self.assertEqual(len(p.secret), 32)
            self.assertEqual(p, QDtlsClientVerifier.defaultCookieGeneratorParameters())
            self.assertEqual(v.cookieLifetime(), 60)
            self.assertEqual(v.secretRotationInterval(), 0)
            self.assertIsNone(v.fleetMode())

    def test_generator_parameters_default_is_qt_placeholder(self):
        p = GeneratorParameters()
        self.assertIs(p.hash, Algorithm.Sha1)
        self.assertEqual(p.secret, b"")
        self.assertEqual(GeneratorParameters(Algorithm.Sha512, bytearray(b"k")),
                         GeneratorParameters(6, b"k"))
        self.assertNotIn("k", repr(GeneratorParameters(Algorithm.Sha512, b"kkkk")))

    def test_qt_numbers(self):
        names = ["NoError", "InvalidInputParameters", "InvalidOperation",
                 "UnderlyingSocketError", "RemoteClosedConnectionError", "PeerVerificationError",
                 "TlsInitializationError", "TlsFatalError", "TlsNonFatalError"]
        self.assertEqual([e.name for e in QDtlsError], names)
        self.assertEqual([int(e) for e in QDtlsError], list(range(9)))
        self.assertEqual(Algorithm.Md4, 0)
        self.assertEqual(Algorithm.Sha256, 4)
        self.assertEqual(Algorithm.RealSha3_224, 11)
        self.assertIs(Algorithm.Sha3_256, Algorithm.RealSha3_256)
        self.assertEqual(Algorithm.Blake2s_256, 22)
        self.assertIs(QCryptographicHash.Sha256, Algorithm.Sha256)
        unavailable = {Algorithm.Keccak_224, Algorithm.Keccak_384, Algorithm.Blake2s_128,
                       Algorithm.Blake2s_160, Algorithm.Blake2s_224}
        for a in Algorithm:
            self.assertEqual(QCryptographicHash.supportsAlgorithm(a), a not in unavailable, a)
        self.assertFalse(QCryptographicHash.supportsAlgorithm(99))

    def test_snake_case_aliases(self):
        for cls in (QDtlsClientVerifier, dtlsgate.QSslPreSharedKeyAuthenticator,
                    QCryptographicHash, dtlsgate.QDtls, dtlsgate.QSslConfiguration,
                    dtlsgate.QSslCipher, dtlsgate._enums.DtlsErrorState):
            camel = [n for n, f in vars(cls).items()
                     if not n.startswith("_") and callable(getattr(cls, n))
                     and any(c.isupper() for c in n) and not isinstance(f, type)]
            self.assertTrue(camel)
            for name in camel:
                snake = "".join("_" + c.lower() if c.isupper() else c for c in name)
                self.assertIs(vars(cls)[snake], vars(cls)[name], "%s.%s" % (cls.__name__, snake))
        with QDtlsClientVerifier() as v:
            self.assertEqual(v.dtls_error_string(), "")


class Exchange(unittest.TestCase):
    """The cookie exchange, per corpus file and kind of socket."""

    def exchange(self, host):
        srv, cli, cli2 = udp(host), udp(host), udp(host)
        self.addCleanup(srv.close)
        self.addCleanup(cli.close)
        self.addCleanup(cli2.close)
        for kind, sock, addr in kinds(srv):
            v = QDtlsClientVerifier()
            self.addCleanup(v.close)
            for name, hello in support.corpus().items():
                with self.subTest(kind=kind, hello=name, host=host):
                    self.one_exchange(v, srv, sock, addr(host), cli, cli2, hello)

    def one_exchange(self, v, srv, sock, address, cli, cli2, hello):
        # First flight: a HelloVerifyRequest from the server's port.
        self.assertFalse(v.verifyClient(sock, hello, address, port_of(cli)))
        self.assertIs(v.dtlsError(), QDtlsError.NoError)
        self.assertEqual(v.dtlsErrorString(), "")
        self.assertEqual(v.verifiedHello(), b"")
        hvr, sender = recv(cli)
        self.assertIsNone(support.hello_verify_request(hvr, hello))
        self.assertEqual(sender[1], port_of(srv))
        cookie = support.cookie_of(hvr)

        # Second flight: verified, verifiedHello is that datagram, nothing sent.
        second = support.with_cookie(hello, cookie)
        self.assertTrue(v.verifyClient(sock, second, address, port_of(cli)))
        self.assertIs(v.dtlsError(), QDtlsError.NoError)
        self.assertEqual(v.verifiedHello(), second)
        self.assertTrue(nothing_sent(srv, cli))
        # Stateless: it verifies again.
        self.assertTrue(v.verifyClient(sock, second, address, port_of(cli)))

        # The same cookie from another port: a new cookie, sent there.
        self.assertFalse(v.verifyClient(sock, second, address, port_of(cli2)))
        self.assertEqual(v.verifiedHello(), b"")
        hvr2, _ = recv(cli2)
        self.assertIsNone(support.hello_verify_request(hvr2, second))
        self.assertNotEqual(support.cookie_of(hvr2), cookie)

        # A flipped cookie byte: refused with a new HelloVerifyRequest.
        bad = support.with_cookie(hello, bytes([cookie[0] ^ 1]) + cookie[1:])
        self.assertFalse(v.verifyClient(sock, bad, address, port_of(cli)))
        self.assertIs(v.dtlsError(), QDtlsError.NoError)
        self.assertIsNone(support.hello_verify_request(recv(cli)[0], bad))

    def test_ipv4(self):
        self.exchange("127.0.0.1")

    @unittest.skipUnless(support.has_ipv6(), "no IPv6 loopback (::1) on this machine")
    def test_ipv6(self):
        self.exchange("::1")

    def test_two_default_verifiers_share_cookies(self):
        hello = support.first_hello()
        with QDtlsClientVerifier() as a, QDtlsClientVerifier() as b:
            cookie = support.cookie_of(a.check(hello, "192.0.2.1", 7000).reply)
            second = support.with_cookie(hello, cookie)
            self.assertEqual(b.check(second, "192.0.2.1", 7000).verdict,
                             dtlsgate.CheckVerdict.Verified)
            # Given parameters of its own, b no longer does.
            self.assertTrue(b.setCookieGeneratorParameters(GeneratorParameters(4, b"other")))
            self.assertTrue(b.setCookieGeneratorParameters(GeneratorParameters(4, b"again")))
            self.assertEqual(b.check(second, "192.0.2.1", 7000).verdict,
                             dtlsgate.CheckVerdict.SendReply)

    def test_any_client_version(self):
        # As Qt (OpenSSL's DTLSv1_listen), client_version is left to the handshake.
        srv, cli = udp(), udp()
        self.addCleanup(srv.close)
        self.addCleanup(cli.close)
        with QDtlsClientVerifier() as v:
            for version in (0xFEFC, 0xFE00, 0x0303, 0xFFFF):
                hello = bytearray(support.first_hello())
                hello[25:27] = version.to_bytes(2, "big")
                self.assertFalse(v.verifyClient(srv, hello, "127.0.0.1", port_of(cli)))
                cookie = support.cookie_of(recv(cli)[0])
                self.assertTrue(v.verifyClient(srv, support.with_cookie(bytes(hello), cookie),
                                               "127.0.0.1", port_of(cli)))


def garbage(hello, hvr):
    """Datagrams DESIGN.md says are dropped silently, by description."""
    def edit(offset, value):
        d = bytearray(hello)
        d[offset:offset + len(value)] = value
        return bytes(d)
    n = len(hello)
    return {
        "12 bytes": hello[:12],
        "record header only": hello[:13],
        "content type 23": edit(0, b"\x17"),
        "record version 03 03": edit(1, b"\x03\x03"),
        "epoch 1": edit(3, b"\x00\x01"),
        "record length past the datagram": edit(11, (n - 13 + 1).to_bytes(2, "big")),
        "handshake type 2": edit(13, b"\x02"),
        "message_seq 2": edit(17, b"\x00\x02"),
        "fragment offset 1": edit(19, b"\x00\x00\x01"),
        "100 zero bytes": bytes(100),
        "a HelloVerifyRequest": hvr,
    }


class Dropped(unittest.TestCase):
    def test_garbage_is_ignored(self):
        srv, cli = udp(), udp()
        self.addCleanup(srv.close)
        self.addCleanup(cli.close)
        hello = support.first_hello()
        for kind, sock, addr in kinds(srv):
            with QDtlsClientVerifier() as v:
                hvr = v.check(hello, "127.0.0.1", port_of(cli)).reply
                second = support.with_cookie(hello, support.cookie_of(hvr))
                for what, dgram in garbage(hello, hvr).items():
                    with self.subTest(kind=kind, datagram=what):
                        # Fill verifiedHello and leave an error behind first.
                        self.assertTrue(v.verifyClient(sock, second, addr("127.0.0.1"),
                                                       port_of(cli)))
                        self.assertFalse(v.verifyClient(sock, second, addr("127.0.0.1"), 0))
                        self.assertIs(v.dtlsError(), QDtlsError.InvalidInputParameters)
                        self.assertFalse(v.verifyClient(sock, dgram, addr("127.0.0.1"),
                                                        port_of(cli)))
                        self.assertIs(v.dtlsError(), QDtlsError.NoError)
                        self.assertEqual(v.dtlsErrorString(), "")
                        self.assertEqual(v.verifiedHello(), b"")
                        self.assertTrue(nothing_sent(srv, cli))


class InvalidInput(unittest.TestCase):
    """Refused input: False, InvalidInputParameters, Qt's message, and
    verifiedHello() kept; the same whatever the kind of socket."""

    BAD = ["999.1.1.1", "::g", "localhost", "127.0.0.1:80", "[::1]", "not an address",
           "127.0.0.1\0junk", "127.0.0.\u0661"]
    MULTICAST = ["255.255.255.255", "224.0.0.1", "239.255.255.250", "ff02::1", "ff05::1:3",
                 "::ffff:224.0.0.1"]

    def setUp(self):
        self.srv, self.cli = udp(), udp()
        self.addCleanup(self.srv.close)
        self.addCleanup(self.cli.close)
        self.hello = support.first_hello()

    def refused(self, v, sock, dgram, address, port, message, second, why):
        """Qt's message, then the argument at fault in parentheses."""
        self.assertFalse(v.verifyClient(sock, dgram, address, port))
        self.assertIs(v.dtlsError(), QDtlsError.InvalidInputParameters)
        self.assertRegex(v.dtlsErrorString(), r"^%s \(%s\)$" % (re.escape(message), why))
        self.assertEqual(v.verifiedHello(), second)

    def test_refused(self):
        port = port_of(self.cli)
        for kind, sock, addr in kinds(self.srv):
            with QDtlsClientVerifier() as v:
                hvr = v.check(self.hello, "127.0.0.1", port).reply
                second = support.with_cookie(self.hello, support.cookie_of(hvr))
                self.assertTrue(v.verifyClient(sock, second, addr("127.0.0.1"), port))
                numeric = r"address '.*' is not a numeric IPv4 or IPv6 address; resolve a host " \
                    r"name first \(socket.getaddrinfo\)"
                cases = [("no socket", None, self.hello, addr("127.0.0.1"), port, MSG_INPUT,
                          "socket is None"),
                         ("empty datagram", sock, b"", addr("127.0.0.1"), port, MSG_INPUT,
                          "dgram is empty"),
                         ("None datagram", sock, None, addr("127.0.0.1"), port, MSG_INPUT,
                          "dgram is empty"),
                         ("no address", sock, self.hello, None, port, MSG_INPUT,
                          "address is missing"),
                         ("empty address", sock, self.hello, addr(""), port, MSG_INPUT,
                          "address is missing"),
                         ("NUL in the address", sock, self.hello, addr("127.0.0.1\0junk"), port,
                          MSG_INPUT, "address is missing"),
                         ("port 0", sock, self.hello, addr("127.0.0.1"), 0, MSG_INPUT,
                          r"port 0 is out of range 1\.\.65535")]
                cases += [(a, sock, self.hello, addr(a), port, MSG_INPUT, numeric)
                          for a in self.BAD if "\0" not in a]
                cases += [(a, sock, self.hello, addr(a), port, MSG_MCAST,
                           r"address \S+ is multicast or broadcast") for a in self.MULTICAST]
                for what, s, dgram, address, p, message, why in cases:
                    with self.subTest(kind=kind, case=what):
                        self.refused(v, s, dgram, address, p, message, second, why)
                self.assertTrue(nothing_sent(self.srv, self.cli))
                # A good call clears the error.
                self.assertFalse(v.verifyClient(sock, self.hello[:3], addr("127.0.0.1"), port))
                self.assertIs(v.dtlsError(), QDtlsError.NoError)

    def test_range_errors_name_the_range(self):
        with QDtlsClientVerifier() as v:
            for call, text in [
                    (lambda: v.setCookieLifetime(0),
                     "cookie lifetime: 0 is out of range 1..86400 seconds"),
                    (lambda: v.setSecretRotationInterval(90000),
                     "secret rotation interval: 90000 is out of range 0..86400 seconds"),
                    (lambda: v.setFleetKey(bytes(16), 0, 0),
                     "fleet window: 0 is out of range 1..86400 seconds"),
                    (lambda: v.check(self.hello, "127.0.0.1", 0),
                     "port: 0 is out of range 1..65535"),
                    (lambda: v.check(self.hello, "localhost", 5684),
                     "address: missing or not a numeric IPv4 or IPv6 address")]:
                with self.subTest(text=text):
                    with self.assertRaises(dtlsgate.InvalidArgumentError) as cm:
                        call()
                    self.assertIn(text, str(cm.exception))

    def test_closed_socket_is_no_socket(self):
        with QDtlsClientVerifier() as v:
            s = udp()
            s.close()
            self.refused(v, s, self.hello, "127.0.0.1", port_of(self.cli), MSG_INPUT, b"",
                         "socket is closed")

    def test_misuse_raises(self):
        port = port_of(self.cli)
        with QDtlsClientVerifier() as v:
            for kind, sock, addr in kinds(self.srv):
                with self.subTest(kind=kind):
                    with self.assertRaises(TypeError):
                        v.verifyClient(sock, "a str", addr("127.0.0.1"), port)
                    with self.assertRaises(TypeError):
                        v.verifyClient(sock, self.hello, 2130706433, port)
                    with self.assertRaises(TypeError):
                        v.verifyClient(sock, self.hello, addr("127.0.0.1"), "80")
                    for p in (-1, 65536):
                        with self.assertRaises(dtlsgate.InvalidArgumentError) as cm:
                            v.verifyClient(sock, self.hello, addr("127.0.0.1"), p)
                        self.assertIsInstance(cm.exception, ValueError)
                    with self.assertRaises(dtlsgate.InvalidArgumentError):
                        v.verifyClient(sock, bytes(dtlsgate.MAX_INPUT + 1), addr("127.0.0.1"),
                                       port)
            with self.assertRaises(TypeError):
                v.verifyClient(12, self.hello, "127.0.0.1", port)
            # The largest datagram accepted is ignored, not refused.
            self.assertFalse(v.verifyClient(self.srv, bytes(dtlsgate.MAX_INPUT), "127.0.0.1",
                                            port))
            self.assertIs(v.dtlsError(), QDtlsError.NoError)

    def test_input_types(self):
        """bytes, bytearray, memoryview, QByteArray-like; str, ipaddress and
        QHostAddress-like addresses all reach the same verdict."""
        port = port_of(self.cli)
        with QDtlsClientVerifier() as v:
            cookie = support.cookie_of(v.check(self.hello, "127.0.0.1", port).reply)
            second = support.with_cookie(self.hello, cookie)
            datagrams = [second, bytearray(second), memoryview(second),
                         memoryview(b"xx" + second)[2:], ByteArray(second)]
            addresses = ["127.0.0.1", ipaddress.IPv4Address("127.0.0.1"),
                         HostAddress("127.0.0.1"), ipaddress.ip_address("::ffff:127.0.0.1")]
            for dgram in datagrams:
                for address in addresses:
                    with self.subTest(dgram=type(dgram).__name__, address=repr(address)):
                        self.assertTrue(v.verifyClient(self.srv, dgram, address, port))
                        self.assertEqual(v.verifiedHello(), second)


class SocketErrors(unittest.TestCase):
    """A failed HelloVerifyRequest is UnderlyingSocketError with the system's
    text (Qt says nothing), whatever the kind of socket."""

    def test_send_failure(self):
        srv, cli = udp(), udp()
        self.addCleanup(srv.close)
        self.addCleanup(cli.close)
        hello = support.first_hello()
        # Python's sendto() resolves the address first and fails there, with
        # getaddrinfo's text; the library's sendto(2) gets the kernel's.
        try:
            srv.sendto(b"x", ("::1", port_of(cli)))
        except OSError as e:
            python_text = e.strerror
        for kind, sock, addr in kinds(srv):
            expected = os.strerror(errno.EAFNOSUPPORT) if kind == "socket.socket" else python_text
            with self.subTest(kind=kind), QDtlsClientVerifier() as v:
                second = support.with_cookie(
                    hello, support.cookie_of(v.check(hello, "127.0.0.1", port_of(cli)).reply))
                self.assertTrue(v.verifyClient(sock, second, addr("127.0.0.1"), port_of(cli)))
                # An IPv6 peer on an IPv4 socket: the kernel refuses the send.
                self.assertFalse(v.verifyClient(sock, hello, addr("::1"), port_of(cli)))
                self.assertIs(v.dtlsError(), QDtlsError.UnderlyingSocketError)
                self.assertEqual(v.dtlsErrorString(), expected)
                self.assertEqual(v.verifiedHello(), b"")
                # The next call clears it.
                self.assertFalse(v.verifyClient(sock, hello[:3], addr("127.0.0.1"), port_of(cli)))
                self.assertIs(v.dtlsError(), QDtlsError.NoError)

    def test_failing_senders(self):
        hello = support.first_hello()

        class Raising:
            def sendto(self, data, addr):
                raise OSError(errno.ENOBUFS, os.strerror(errno.ENOBUFS))

        class Closing:
            sent = 0

            def is_closing(self):
                return True

            def sendto(self, data, addr):
                self.sent += 1

        class Refusing:
            def writeDatagram(self, data, host, port):
                return -1

            def errorString(self):
                return "Unable to send a message"

        closing = Closing()
        with QDtlsClientVerifier() as v:
            for sock, message in [(Raising(), os.strerror(errno.ENOBUFS)),
                                  (closing, "the transport is closing"),
                                  (Refusing(), "Unable to send a message")]:
                with self.subTest(sock=type(sock).__name__):
                    self.assertFalse(v.verifyClient(sock, hello, "127.0.0.1", 9))
                    self.assertIs(v.dtlsError(), QDtlsError.UnderlyingSocketError)
                    self.assertEqual(v.dtlsErrorString(), message)
        self.assertEqual(closing.sent, 0)

    def test_state_follows_the_latest_call_across_paths(self):
        """verifiedHello() and dtlsError() describe the last call, whether it
        went through the library's socket path or the binding's."""
        srv, cli = udp(), udp()
        self.addCleanup(srv.close)
        self.addCleanup(cli.close)
        port = port_of(cli)
        hello = support.first_hello()
        with QDtlsClientVerifier() as v:
            second = support.with_cookie(hello, support.cookie_of(
                v.check(hello, "127.0.0.1", port).reply))
            other = support.with_cookie(support.corpus()["openssl_dtls10.bin"], support.cookie_of(
                v.check(support.corpus()["openssl_dtls10.bin"], "127.0.0.1", port).reply))
            self.assertTrue(v.verifyClient(srv, second, "127.0.0.1", port))
            self.assertTrue(v.verifyClient(SendtoOnly(srv), other, "127.0.0.1", port))
            self.assertEqual(v.verifiedHello(), other)
            # Refused on the socket path: the hello of the other path stays.
            self.assertFalse(v.verifyClient(srv, hello, "127.0.0.1", 0))
            self.assertEqual(v.verifiedHello(), other)
            self.assertIs(v.dtlsError(), QDtlsError.InvalidInputParameters)
            # setCookieGeneratorParameters() sets the error, keeps the hello.
            self.assertFalse(v.setCookieGeneratorParameters(GeneratorParameters(4, b"")))
            self.assertEqual(v.dtlsErrorString(), MSG_EMPTY_SECRET)
            self.assertEqual(v.verifiedHello(), other)
            self.assertTrue(v.verifyClient(srv, second, "127.0.0.1", port))
            self.assertEqual(v.verifiedHello(), second)
            self.assertTrue(nothing_sent(srv, cli))


class Parameters(unittest.TestCase):
    def test_set_and_refuse(self):
        with QDtlsClientVerifier() as v:
            self.assertTrue(v.setCookieGeneratorParameters(GeneratorParameters(Algorithm.Sha512,
                                                                               b"first")))
            self.assertIs(v.dtlsError(), QDtlsError.NoError)
            self.assertEqual(v.cookieGeneratorParameters(), GeneratorParameters(6, b"first"))
            for p in (GeneratorParameters(), GeneratorParameters(Algorithm.Sha256, b"")):
                self.assertFalse(v.setCookieGeneratorParameters(p))
                self.assertIs(v.dtlsError(), QDtlsError.InvalidInputParameters)
                self.assertEqual(v.dtlsErrorString(), MSG_EMPTY_SECRET)
            self.assertTrue(v.setCookieGeneratorParameters(GeneratorParameters(1, b"\0\1\0")))
            self.assertIs(v.dtlsError(), QDtlsError.NoError)
            self.assertEqual(v.dtlsErrorString(), "")
            for a in (Algorithm.Keccak_224, Algorithm.Blake2s_160):
                self.assertFalse(v.setCookieGeneratorParameters(GeneratorParameters(a, b"s")))
                self.assertIs(v.dtlsError(), QDtlsError.InvalidInputParameters)
                self.assertIn(a.name, v.dtlsErrorString())
            self.assertFalse(v.setCookieGeneratorParameters(GeneratorParameters(99, b"s")))
            self.assertIs(v.dtlsError(), QDtlsError.InvalidInputParameters)
            self.assertEqual(v.cookieGeneratorParameters(), GeneratorParameters(1, b"\0\1\0"))
            with self.assertRaises(TypeError):
                v.setCookieGeneratorParameters((4, b"secret"))
            with self.assertRaises(TypeError):
                GeneratorParameters(4, "a str secret")
            with self.assertRaises(dtlsgate.InvalidArgumentError):
                v.setCookieGeneratorParameters(GeneratorParameters(4, bytes(dtlsgate.MAX_INPUT + 1)))

    def test_every_available_algorithm_makes_cookies(self):
        hello = support.first_hello()
        with QDtlsClientVerifier() as v:
            for a in Algorithm:
                if not QCryptographicHash.supportsAlgorithm(a):
                    continue
                with self.subTest(algorithm=a.name):
                    self.assertTrue(v.setCookieGeneratorParameters(GeneratorParameters(a, b"s")))
                    self.assertEqual(v.cookieGeneratorParameters().hash, a)
                    cookie = support.cookie_of(v.check(hello, "192.0.2.7", 5684).reply)
                    self.assertEqual(v.check(support.with_cookie(hello, cookie), "192.0.2.7",
                                             5684).verdict, dtlsgate.CheckVerdict.Verified)

    def test_previous_secret_survives_one_change(self):
        hello = support.first_hello()

        def cookie(v):
            return support.with_cookie(hello, support.cookie_of(
                v.check(hello, "192.0.2.1", 7000).reply))

        def accepts(v, second):
            return v.check(second, "192.0.2.1", 7000).verdict == dtlsgate.CheckVerdict.Verified

        with QDtlsClientVerifier() as v:
            v.setCookieGeneratorParameters(GeneratorParameters(4, b"A"))
            a = cookie(v)
            v.setCookieGeneratorParameters(GeneratorParameters(4, b"B"))
            self.assertTrue(accepts(v, a))
            b = cookie(v)
            v.setCookieGeneratorParameters(GeneratorParameters(4, b"C"))
            self.assertFalse(accepts(v, a))
            self.assertTrue(accepts(v, b))


class Extensions(unittest.TestCase):
    """Cookie lifetime, secret rotation, fleet mode and check()."""

    def test_lifetime_expires_cookies(self):
        srv, cli = udp(), udp()
        self.addCleanup(srv.close)
        self.addCleanup(cli.close)
        hello = support.first_hello()
        with QDtlsClientVerifier() as v:
            v.setCookieLifetime(1)
            self.assertEqual(v.cookieLifetime(), 1)
            v.verifyClient(srv, hello, "127.0.0.1", port_of(cli))
            second = support.with_cookie(hello, support.cookie_of(recv(cli)[0]))
            self.assertTrue(v.verifyClient(srv, second, "127.0.0.1", port_of(cli)))
            time.sleep(2.1)
            self.assertFalse(v.verifyClient(srv, second, "127.0.0.1", port_of(cli)))
            self.assertIs(v.dtlsError(), QDtlsError.NoError)
            self.assertIsNone(support.hello_verify_request(recv(cli)[0], second))
            for bad in (0, 86401, -1, 2 ** 32 + 60):
                with self.assertRaises(dtlsgate.InvalidArgumentError):
                    v.setCookieLifetime(bad)
            self.assertEqual(v.cookieLifetime(), 1)
            v.set_cookie_lifetime(86400)
            self.assertEqual(v.cookie_lifetime(), 86400)

    def test_rotation_interval(self):
        hello = support.first_hello()
        with QDtlsClientVerifier() as v:
            v.setSecretRotationInterval(3600)
            self.assertEqual(v.secretRotationInterval(), 3600)
            for bad in (-1, 86401, 2 ** 32):
                with self.assertRaises(dtlsgate.InvalidArgumentError):
                    v.setSecretRotationInterval(bad)
            self.assertEqual(v.secretRotationInterval(), 3600)
            v.setSecretRotationInterval(1)
            before = v.cookieGeneratorParameters()
            cookie = support.cookie_of(v.check(hello, "192.0.2.1", 7000).reply)
            time.sleep(1.2)
            v.check(hello, "192.0.2.1", 7000)  # the first verification after the interval
            after = v.cookieGeneratorParameters()
            self.assertEqual(after.hash, before.hash)
            self.assertNotEqual(after.secret, before.secret)
            self.assertEqual(v.check(support.with_cookie(hello, cookie), "192.0.2.1", 7000).verdict,
                             dtlsgate.CheckVerdict.Verified)

    def test_fleet(self):
        hello = support.first_hello()
        key = b"fleet master key number one...."
        with QDtlsClientVerifier() as f1, QDtlsClientVerifier() as f2, \
                QDtlsClientVerifier() as f3:
            f1.setFleetKey(key, 3600, 30)
            f2.setFleetKey(bytearray(key), 3600, 30)
            f3.setFleetKey(b"another master key, 32 bytes...", 3600, 30)
            self.assertEqual(f1.fleetMode(), (3600, 30))
            self.assertEqual(f1.fleetMode().window_seconds, 3600)
            self.assertEqual(f1.cookieGeneratorParameters(), f2.cookieGeneratorParameters())
            second = support.with_cookie(hello, support.cookie_of(
                f1.check(hello, "192.0.2.1", 7000).reply))
            self.assertEqual(f2.check(second, "192.0.2.1", 7000).verdict,
                             dtlsgate.CheckVerdict.Verified)
            self.assertEqual(f3.check(second, "192.0.2.1", 7000).verdict,
                             dtlsgate.CheckVerdict.SendReply)
            for args in ((key[:15], 3600, 30), (key, 0, 30), (key, 86401, 30), (key, -5, 30)):
                with self.assertRaises(dtlsgate.InvalidArgumentError):
                    f1.setFleetKey(*args)
            self.assertEqual(f1.fleetMode(), (3600, 30))
            f1.clearFleetKey()
            self.assertIsNone(f1.fleetMode())
            self.assertEqual(f1.check(second, "192.0.2.1", 7000).verdict,
                             dtlsgate.CheckVerdict.SendReply)

    def test_check(self):
        hello = support.first_hello()
        with QDtlsClientVerifier() as v:
            verdict, reply = v.check(hello, "127.0.0.1", 40001)
            self.assertIs(verdict, dtlsgate.CheckVerdict.SendReply)
            self.assertIsNone(support.hello_verify_request(reply, hello))
            second = support.with_cookie(hello, support.cookie_of(reply))
            self.assertEqual(v.check(second, "127.0.0.1", 40001), (2, b""))
            self.assertEqual(v.check(hello[:12], "127.0.0.1", 40001), (0, b""))
            # No state: verifyClient()'s accessors are untouched.
            self.assertEqual(v.verifiedHello(), b"")
            for args in ((b"", "127.0.0.1", 1), (hello, None, 1), (hello, "224.0.0.1", 1),
                         (hello, "127.0.0.1", 0), (hello, "nonsense", 1)):
                with self.assertRaises(dtlsgate.InvalidArgumentError):
                    v.check(*args)

    def test_check_from_many_threads(self):
        hello = support.first_hello()
        with QDtlsClientVerifier() as v:
            second = support.with_cookie(hello, support.cookie_of(
                v.check(hello, "192.0.2.1", 7000).reply))
            results = []

            def work():
                results.append({tuple(v.check(d, "192.0.2.1", 7000))[0]
                                for d in (hello, second) * 200})

            threads = [threading.Thread(target=work) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            self.assertEqual(results, [{1, 2}] * 8)


class FastPath(unittest.TestCase):
    """verifyClient() on a socket.socket with bytes, a str address seen
    before and an int port is one ctypes call with nothing converted in
    Python, and decides exactly as the general path does."""

    def setUp(self):
        self.srv, self.cli = udp(), udp()
        self.addCleanup(self.srv.close)
        self.addCleanup(self.cli.close)
        self.hello = support.first_hello()

    def test_one_ctypes_call(self):
        from dtlsgate import _verifier

        calls = []
        unchecked = _verifier._verify_client_unchecked

        def counted(*args):
            calls.append(args)
            return unchecked(*args)

        class NoLibrary:
            def __getattr__(self, name):
                raise AssertionError("the fast path used lib.%s" % name)

        port = port_of(self.cli)
        with QDtlsClientVerifier() as v:
            second = support.with_cookie(self.hello, support.cookie_of(
                v.check(self.hello, "127.0.0.1", port).reply))
            self.assertTrue(v.verifyClient(self.srv, second, "127.0.0.1", port))  # seen now
            lib = _verifier.lib
            _verifier._verify_client_unchecked, _verifier.lib = counted, NoLibrary()
            try:
                self.assertTrue(v.verifyClient(self.srv, second, "127.0.0.1", port))
                self.assertFalse(v.verifyClient(self.srv, self.hello, "127.0.0.1", port))
            finally:
                _verifier._verify_client_unchecked, _verifier.lib = unchecked, lib
            self.assertEqual(len(calls), 2)
            self.assertIsNone(support.hello_verify_request(recv(self.cli)[0], self.hello))

    def test_same_outcome_as_the_general_path(self):
        """Each case twice on one verifier, once as the fast path takes it
        (bytes, str) and once through the general path (bytearray,
        QHostAddress-like): same answer, state, reply and exception."""
        port = port_of(self.cli)
        with QDtlsClientVerifier() as v:
            second = support.with_cookie(self.hello, support.cookie_of(
                v.check(self.hello, "127.0.0.1", port).reply))
            closed = udp()
            closed.close()
            cases = [("valid cookie", self.srv, second, "127.0.0.1", port),
                     ("first flight", self.srv, self.hello, "127.0.0.1", port),
                     ("garbage", self.srv, self.hello[:20], "127.0.0.1", port),
                     ("empty datagram", self.srv, b"", "127.0.0.1", port),
                     ("port 0", self.srv, second, "127.0.0.1", 0),
                     ("multicast", self.srv, self.hello, "224.0.0.1", port),
                     ("bad address", self.srv, self.hello, "999.1.1.1", port),
                     ("NUL in address", self.srv, self.hello, "127.0.0.1\0x", port),
                     ("closed socket", closed, second, "127.0.0.1", port),
                     ("IPv6 peer, IPv4 socket", self.srv, self.hello, "::1", port),
                     ("port too large", self.srv, second, "127.0.0.1", 65536),
                     ("too long", self.srv, bytes(dtlsgate.MAX_INPUT + 1), "127.0.0.1", port)]
            for what, sock, dgram, address, p in cases:
                with self.subTest(case=what):
                    v.verifyClient(self.srv, second, "127.0.0.1", port)  # a known state first
                    fast = self.outcome(v, sock, dgram, address, p)
                    v.verifyClient(self.srv, second, "127.0.0.1", port)
                    general = self.outcome(v, sock, bytearray(dgram), HostAddress(address), p)
                    self.assertEqual(fast, general)
            self.assertTrue(nothing_sent(self.srv, self.cli))

    def outcome(self, v, sock, dgram, address, port):
        v.verifyClient(sock, b"x", "127.0.0.1", 9)  # the address is seen
        try:
            answer = v.verifyClient(sock, dgram, address, port)
        except dtlsgate.DtlsgateError as e:
            answer = (type(e), str(e))
        sent = not nothing_sent(self.srv, self.cli)
        return answer, v.dtlsError(), v.dtlsErrorString(), v.verifiedHello(), sent

    def test_both_handle_forms(self):
        """The handle goes as an int while it fits a C int, else as a
        c_void_p (after some 134 million objects): both reach the library."""
        import ctypes
        port = port_of(self.cli)
        with QDtlsClientVerifier() as v:
            self.assertEqual(v._pointer, v._handle)
            second = support.with_cookie(self.hello, support.cookie_of(
                v.check(self.hello, "127.0.0.1", port).reply))
            for pointer in (v._handle, ctypes.c_void_p(v._handle)):
                v._pointer = pointer
                self.assertTrue(v.verifyClient(self.srv, second, "127.0.0.1", port))
                self.assertTrue(v.verifyClient(self.srv, second, "127.0.0.1", port))

    def test_closed_verifier(self):
        v = QDtlsClientVerifier()
        v.verifyClient(self.srv, self.hello, "127.0.0.1", port_of(self.cli))
        v.close()
        with self.assertRaises(dtlsgate.BadHandleError) as cm:
            v.verifyClient(self.srv, self.hello, "127.0.0.1", port_of(self.cli))
        self.assertEqual(str(cm.exception), "dtlsgate_verifier_verify_client: NULL, freed or "
                         "unknown handle (the object is closed)")

    def test_address_memory_is_bounded(self):
        from dtlsgate import _verifier
        with QDtlsClientVerifier() as v:
            for i in range(_verifier._CACHE_MAX + 10):
                v.check(b"x", "10.%d.%d.1" % (i // 256, i % 256), 9)
            self.assertLessEqual(len(_verifier._ADDRESSES), _verifier._CACHE_MAX)
            self.assertEqual(v.check(b"x", "10.0.0.1", 9).verdict, dtlsgate.CheckVerdict.Drop)


class Batch(unittest.TestCase):
    """verifyClients(): verifyClient() for many datagrams in one C call."""

    PARAMS = GeneratorParameters(Algorithm.Sha256, b"the batch tests' secret")

    def setUp(self):
        self.srv, self.cli, self.cli2 = udp(), udp(), udp()
        for s in (self.srv, self.cli, self.cli2):
            self.addCleanup(s.close)
        self.hello = support.first_hello()
        self.port, self.port2 = port_of(self.cli), port_of(self.cli2)

    def verifier(self):
        v = QDtlsClientVerifier()
        self.addCleanup(v.close)
        self.assertTrue(v.setCookieGeneratorParameters(self.PARAMS))
        return v

    def mixed(self, v):
        """(dgram, address) pairs of every kind, bad ones in the middle."""
        second = support.with_cookie(self.hello, support.cookie_of(
            v.check(self.hello, "127.0.0.1", self.port).reply))
        here = ("127.0.0.1", self.port)
        return [(second, here), (self.hello, ("127.0.0.1", self.port2)), (second, here),
                (self.hello[:20], here), (b"", here), (second, ("127.0.0.1", 0)),
                (bytearray(second), ("::ffff:127.0.0.1", self.port)),
                (self.hello, ("224.0.0.1", self.port)), (self.hello, ("999.1.1.1", self.port)),
                (second, ("127.0.0.1", self.port2)), (memoryview(second), here),
                (self.hello, ("::1", self.port)), (second, here)]

    def state(self, v):
        return v.dtlsError(), v.dtlsErrorString(), v.verifiedHello()

    def replies(self, cli):
        """How many datagrams reached cli before the marker."""
        marker = b"dtlsgate-batch-marker"
        self.srv.sendto(marker, cli.getsockname()[:2])
        n = 0
        while recv(cli)[0] != marker:
            n += 1
        return n

    def test_same_as_a_loop_of_verify_client(self):
        """For each prefix of a mixed batch (so that every kind of datagram
        comes last once): the answers, the replies each client gets and the
        state left are those of verifyClient() called on each in turn."""
        for kind, sock, _ in kinds(self.srv)[:2]:
            a, b = self.verifier(), self.verifier()
            pairs = self.mixed(a)
            for k in range(len(pairs) + 1):
                with self.subTest(kind=kind, first=k):
                    a.verifyClient(sock, self.hello[:20], "127.0.0.1", 0)  # same state before
                    b.verifyClient(sock, self.hello[:20], "127.0.0.1", 0)
                    loop = [a.verifyClient(sock, d, host, port) for d, (host, port) in pairs[:k]]
                    loop_state = self.state(a)
                    loop_sent = (self.replies(self.cli), self.replies(self.cli2))
                    self.assertEqual(b.verifyClients(sock, pairs[:k]), loop)
                    self.assertEqual(self.state(b), loop_state)
                    self.assertEqual((self.replies(self.cli), self.replies(self.cli2)), loop_sent)
            self.assertIn(True, loop)
            self.assertGreater(sum(loop_sent), 0)

    def test_boundaries(self):
        v = self.verifier()
        second = support.with_cookie(self.hello, support.cookie_of(
            v.check(self.hello, "127.0.0.1", self.port).reply))
        here = ("127.0.0.1", self.port)
        v.verifyClient(self.srv, second, "127.0.0.1", 0)
        before = self.state(v)
        self.assertEqual(v.verifyClients(self.srv, []), [])
        self.assertEqual(self.state(v), before)
        self.assertEqual(v.verifyClients(self.srv, [(second, here)]), [True])
        self.assertEqual(v.verifiedHello(), second)
        many = dtlsgate._native.MAX_BATCH + 5  # more than one C call takes
        self.assertEqual(v.verifyClients(self.srv, iter([(second, here)] * many)), [True] * many)
        self.assertEqual(v.verify_clients(self.srv, [(self.hello, here)]), [False])
        self.assertIsNone(support.hello_verify_request(recv(self.cli)[0], self.hello))
        self.assertTrue(nothing_sent(self.srv, self.cli))

    def test_limits_are_the_headers(self):
        with open(support.HEADER) as f:
            header = f.read()
        for name, value in [("DTLSGATE_MAX_BATCH", dtlsgate._native.MAX_BATCH),
                            ("DTLSGATE_HELLO_VERIFY_REQUEST_MAX",
                             dtlsgate._native.HELLO_VERIFY_REQUEST_MAX)]:
            self.assertIn("#define %s %d\n" % (name, value), header)

    @unittest.skipUnless(support.has_ipv6(), "no IPv6 loopback (::1) on this machine")
    def test_ipv6(self):
        srv, cli = udp("::1"), udp("::1")
        self.addCleanup(srv.close)
        self.addCleanup(cli.close)
        v = self.verifier()
        peer = cli.getsockname()  # (host, port, flowinfo, scope_id)
        self.assertEqual(v.verifyClients(srv, [(self.hello, peer)]), [False])
        hvr, _ = recv(cli)
        second = support.with_cookie(self.hello, support.cookie_of(hvr))
        self.assertEqual(v.verifyClients(srv, [(second, peer), (second, peer[:2])]), [True, True])

    def test_no_socket(self):
        v = self.verifier()
        closed = udp()
        closed.close()
        pairs = self.mixed(v)
        for sock, why in ((None, "socket is None"), (closed, "socket is closed")):
            with self.subTest(sock=sock):
                self.assertEqual(v.verifyClients(sock, pairs), [False] * len(pairs))
                self.assertIs(v.dtlsError(), QDtlsError.InvalidInputParameters)
                # What verifyClient(sock, ...) leaves, argument named.
                self.assertEqual(v.dtlsErrorString(), "%s (%s)" % (MSG_INPUT, why))
                v.verifyClient(sock, pairs[0][0], *pairs[0][1][:2])
                self.assertEqual(v.dtlsErrorString(), "%s (%s)" % (MSG_INPUT, why))
        self.assertTrue(nothing_sent(self.srv, self.cli))

    def test_bad_arguments_raise_before_anything_is_done(self):
        v = self.verifier()
        pairs = self.mixed(v)
        v.verifyClient(self.srv, self.hello[:20], "127.0.0.1", 0)
        before = self.state(v)
        for bad, error in [((b"x", "127.0.0.1"), TypeError),
                           ((b"x", ("127.0.0.1",)), TypeError),
                           (("a str", ("127.0.0.1", self.port)), TypeError),
                           ((self.hello, (2130706433, self.port)), TypeError),
                           ((self.hello, ("127.0.0.1", "80")), TypeError),
                           # Equal to a remembered peer's address (the pairs
                           # hold it), yet refused as a new one would be.
                           ((self.hello, ("127.0.0.1", float(self.port))), TypeError),
                           ((self.hello, ("127.0.0.1", 65536)), dtlsgate.InvalidArgumentError),
                           ((bytes(dtlsgate.MAX_INPUT + 1), ("127.0.0.1", self.port)),
                            dtlsgate.InvalidArgumentError)]:
            with self.subTest(bad=repr(bad)[:60]):
                with self.assertRaises(error):
                    v.verifyClients(self.srv, pairs[:3] + [bad] + pairs[3:])
                self.assertEqual(self.state(v), before)
        with self.assertRaises(TypeError):
            v.verifyClients(12, pairs)
        self.assertTrue(nothing_sent(self.srv, self.cli))
        self.assertTrue(nothing_sent(self.srv, self.cli2))

    def test_closed_verifier(self):
        v = QDtlsClientVerifier()
        v.close()
        for sock in (self.srv, SendtoOnly(self.srv), None):
            with self.subTest(sock=type(sock).__name__):
                with self.assertRaises(dtlsgate.BadHandleError):
                    v.verifyClients(sock, [(self.hello, ("127.0.0.1", self.port))])
        with self.assertRaises(dtlsgate.BadHandleError):
            v.verifyClients(self.srv, [])


class Closing(unittest.TestCase):
    def test_close_is_idempotent_and_later_calls_raise(self):
        v = QDtlsClientVerifier()
        v.close()
        v.close()
        srv = udp()
        self.addCleanup(srv.close)
        calls = [lambda: v.dtlsError(), lambda: v.dtlsErrorString(), lambda: v.verifiedHello(),
                 lambda: v.cookieGeneratorParameters(), lambda: v.cookieLifetime(),
                 lambda: v.fleetMode(), lambda: v.check(b"x", "127.0.0.1", 1),
                 lambda: v.setCookieGeneratorParameters(GeneratorParameters(4, b"s")),
                 lambda: v.verifyClient(srv, b"x", "127.0.0.1", 1),
                 lambda: v.verifyClient(SendtoOnly(srv), b"x", "127.0.0.1", 1),
                 lambda: v.verifyClient(SendtoOnly(srv), b"", "127.0.0.1", 1)]
        for call in calls:
            with self.assertRaises(dtlsgate.BadHandleError) as cm:
                call()
            self.assertIsInstance(cm.exception, ValueError)
            self.assertEqual(cm.exception.code, -2)
            self.assertIn("closed", str(cm.exception))
        self.assertIn("closed", repr(v))

    def test_context_manager_closes(self):
        with QDtlsClientVerifier() as v:
            pass
        with self.assertRaises(dtlsgate.BadHandleError):
            v.dtlsError()


if __name__ == "__main__":
    unittest.main()
