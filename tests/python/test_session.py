# SPDX-License-Identifier: MIT
"""QDtls, the DTLS 1.2 PSK session, on loopback (127.0.0.1 and ::1):

- Python client <-> Python server with a QDtlsClientVerifier in front, for
  every kind of socket the binding takes (socket.socket, an object with
  sendto, an object with writeDatagram) and for IPv6: cookie exchange,
  pskRequired on both sides, data both ways, replay, shutdown;
- the pskRequired slot: an exception in it, calls back into the same
  QDtls (BusyError), close() from inside it;
- handshakeTimeout: checkTimeout() in a plain loop, and by itself under
  asyncio; handleTimeout() retransmits; the handshake deadline ends a
  handshake with a silent peer, and one with a peer whose key differs;
- bad input and use after close;
- QSslCipher, QSslConfiguration, the enums, Signal, the aliases.

The openssl interop and the example programs are in test_session_interop.py.
"""

import asyncio
import os
import re
import selectors
import socket
import sys
import time
import unittest

import support

import dtlsgate
import dtlswire
from dtlsgate import (BadHandleError, BusyError, InvalidArgumentError, QDtls,
                      QDtlsClientVerifier, QDtlsError, QSsl, QSslCipher, QSslConfiguration,
                      QSslPreSharedKeyAuthenticator, QSslSocket, Signal)

KEY = bytes.fromhex("1a2b3c4d5e6f")
IDENTITY = b"python test client"
HINT = b"python test server"
DEADLINE = 10.0  # seconds for one whole handshake; an upper bound only


# ---------------------------------------------------------------------------
# The kinds of socket QDtls takes, each around a real bound UDP socket.

class BrokenSender:
    """sendto() always fails, as a closed transport's would."""

    def sendto(self, data, addr):
        raise OSError(101, "Network is unreachable")


KINDS = {  # kind -> (socket argument for a socket.socket, address for setPeer)
    "socket": (lambda s: s, str),
    "sendto": (support.SendtoOnly, str),
    "writeDatagram": (support.UdpSocketLike, support.HostAddress),  # a QUdpSocket
}


def client_session(recorded=None):
    """A client QDtls whose pskRequired slot records what it saw and gives
    IDENTITY and KEY."""
    client = QDtls(QSslSocket.SslClientMode)

    def psk(authenticator):
        if recorded is not None:
            recorded.append((authenticator.identityHint(), authenticator.maximumIdentityLength(),
                             authenticator.maximumPreSharedKeyLength()))
        authenticator.setIdentity(IDENTITY)
        authenticator.setPreSharedKey(KEY)

    client.pskRequired.connect(psk)
    return client


class Link:
    """A client QDtls and a server behind a QDtlsClientVerifier, each with
    its own loopback socket, wrapped as `kind`. run() moves datagrams until
    both handshakes are complete (or one fails)."""

    def __init__(self, host="127.0.0.1", kind="socket", server_slot=None, client=None,
                 deadline=None):
        self.deadline = deadline  # both sides' handshake deadline (ms), if set
        self.csock_raw, self.ssock_raw = support.udp(host), support.udp(host)
        wrap, self.address = KINDS[kind]
        self.csock, self.ssock = wrap(self.csock_raw), wrap(self.ssock_raw)
        self.verifier = QDtlsClientVerifier()
        self.client_psk = []
        self.server_psk = []
        self.client = client or client_session(self.client_psk)
        self.server = None
        self.server_slot = server_slot or self.default_server_slot
        self.verify_results = []  # (verifyClient's result, dtlsError)
        self.client_results = []  # doHandshake's results on the client
        self.server_results = []
        self.client_peer = None

    def default_server_slot(self, authenticator):
        self.server_psk.append((authenticator.identity(), authenticator.identityHint()))
        authenticator.setPreSharedKey(KEY)

    def close(self):
        for obj in (self.client, self.server, self.verifier, self.csock_raw, self.ssock_raw):
            if obj is not None:
                obj.close()

    def start(self):
        host, port = self.ssock_raw.getsockname()[:2]
        assert self.client.setPeer(self.address(host), port)
        if self.deadline is not None:
            assert self.client.setHandshakeDeadline(self.deadline)
        self.client_results.append(self.client.doHandshake(self.csock))

    def new_server(self, peer):
        server = QDtls(QSslSocket.SslServerMode)
        config = QSslConfiguration.defaultDtlsConfiguration()
        config.setPreSharedKeyIdentityHint(HINT)
        config.setPeerVerifyMode(QSslSocket.VerifyNone)
        assert server.setDtlsConfiguration(config)
        assert server.setPeer(self.address(peer[0]), peer[1])
        assert server.setCookieVerifier(self.verifier)
        if self.deadline is not None:
            assert server.setHandshakeDeadline(self.deadline)
        server.pskRequired.connect(self.server_slot)
        server.handshakeTimeout.connect(lambda: server.handleTimeout(self.ssock))
        return server

    def on_server(self, data, peer):
        if self.server is None:
            ok = self.verifier.verifyClient(self.ssock, data, self.address(peer[0]), peer[1])
            self.verify_results.append((ok, self.verifier.dtlsError()))
            if ok:
                self.client_peer = peer
                self.server = self.new_server(peer)
                self.server_results.append(
                    self.server.doHandshake(self.ssock, self.verifier.verifiedHello()))
        elif self.server.handshakeState() == QDtls.HandshakeInProgress:
            self.server_results.append(self.server.doHandshake(self.ssock, data))
        elif self.server.isConnectionEncrypted():
            self.server.decryptDatagram(self.ssock, data)
        # else: the handshake failed; what comes late is dropped, so that the
        # failure stays what dtlsError() says

    def on_client(self, data):
        if self.client.handshakeState() == QDtls.HandshakeInProgress:
            self.client_results.append(self.client.doHandshake(self.csock, data))
        elif self.client.isConnectionEncrypted():
            self.client.decryptDatagram(self.csock, data)

    def done(self):
        states = (self.client.handshakeState(),
                  self.server.handshakeState() if self.server else None)
        if states == (QDtls.HandshakeComplete, QDtls.HandshakeComplete):
            return True
        return False in self.client_results or False in self.server_results

    def run(self):
        self.start()
        self.pump(self.done)

    def pump(self, until, deadline=DEADLINE):
        sel = selectors.DefaultSelector()
        sel.register(self.csock_raw, selectors.EVENT_READ)
        sel.register(self.ssock_raw, selectors.EVENT_READ)
        end = time.monotonic() + deadline
        try:
            while not until():
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError("no progress within %.0f s" % deadline)
                for key, _ in sel.select(min(left, 0.2)):
                    data, peer = key.fileobj.recvfrom(65536)
                    if key.fileobj is self.ssock_raw:
                        self.on_server(data, peer)
                    else:
                        self.on_client(data)
                for dtls, sock in ((self.client, self.csock), (self.server, self.ssock)):
                    if dtls is not None and dtls.handshakeState() == QDtls.HandshakeInProgress:
                        dtls.checkTimeout()  # loopback rarely needs it; slow machines may
        finally:
            sel.close()

    def send(self, sender, sock, receiver, rsock, receiver_raw, payload):
        """sender writes payload; returns (the record as it arrived, what the
        receiver decrypted)."""
        assert sender.writeDatagramEncrypted(sock, payload) == len(payload), \
            sender.dtlsErrorString()
        record, _ = support.recv(receiver_raw)
        return record, receiver.decryptDatagram(rsock, record)


def connect_handshake_timeouts(link):
    """Wire the client's handshakeTimeout -> handleTimeout, as Qt programs
    do (Link.new_server does the same for the server)."""
    link.client.handshakeTimeout.connect(lambda: link.client.handleTimeout(link.csock))


class Handshake(unittest.TestCase):
    """The whole conversation, per socket kind and address family."""

    def conversation(self, host, kind):
        link = Link(host, kind)
        connect_handshake_timeouts(link)
        try:
            link.run()
            client, server = link.client, link.server
            self.assertIsNotNone(server, "the verifier never let the client in")
            # Cookie exchange: the first ClientHello got a HelloVerifyRequest
            # (no error), the second came back with the cookie.
            self.assertEqual(link.verify_results[0], (False, QDtlsError.NoError))
            self.assertEqual(link.verify_results[-1], (True, QDtlsError.NoError))
            self.assertEqual(len(link.verify_results), 2)
            self.assertNotIn(False, link.client_results, client.dtlsErrorString())
            self.assertNotIn(False, link.server_results, server.dtlsErrorString())
            for dtls in (client, server):
                self.assertEqual(dtls.handshakeState(), QDtls.HandshakeComplete)
                self.assertTrue(dtls.isConnectionEncrypted())
                self.assertEqual(dtls.sessionProtocol(), QSsl.DtlsV1_2)
                self.assertEqual(dtls.dtlsError(), QDtlsError.NoError)
                self.assertEqual(dtls.remainingTimeout(), -1)
            self.assertEqual(client.sessionCipher(), server.sessionCipher())
            self.assertEqual(client.sessionCipher().name(), "PSK-AES128-GCM-SHA256")
            self.assertEqual(client.sessionCipher().protocolString(), "DTLSv1.2")
            # pskRequired: the client saw the hint and Qt's maximum lengths,
            # the server saw the client's identity.
            self.assertEqual(link.client_psk, [(HINT, 256, 512)])
            self.assertEqual(link.server_psk, [(IDENTITY, HINT)])  # its own hint
            self.assertEqual(server.peerAddress(), link.client_peer[0])
            self.assertEqual(server.peerPort(), link.client_peer[1])

            # Data both ways; the same record again is a replay, dropped.
            record, got = link.send(client, link.csock, server, link.ssock, link.ssock_raw,
                                    b"ping from the client")
            self.assertEqual(got, b"ping from the client")
            self.assertNotIn(b"ping from the client", record)
            self.assertEqual(server.decryptDatagram(link.ssock, record), b"")
            self.assertEqual(server.dtlsError(), QDtlsError.NoError)
            _, got = link.send(server, link.ssock, client, link.csock, link.csock_raw,
                               b"echo from the server")
            self.assertEqual(got, b"echo from the server")

            # shutdown: close_notify, which the peer reports.
            self.assertTrue(client.shutdown(link.csock))
            self.assertFalse(client.isConnectionEncrypted())
            self.assertEqual(client.sessionProtocol(), QSsl.UnknownProtocol)
            self.assertTrue(client.sessionCipher().isNull())
            record, _ = support.recv(link.ssock_raw)
            self.assertEqual(server.decryptDatagram(link.ssock, record), b"")
            self.assertEqual(server.dtlsError(), QDtlsError.RemoteClosedConnectionError)
            self.assertFalse(server.isConnectionEncrypted())
            if kind == "sendto":  # everything went out through the objects
                self.assertGreaterEqual(link.csock.sent, 3)
                self.assertGreaterEqual(link.ssock.sent, 2)
        finally:
            link.close()

    def test_every_socket_kind(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                self.conversation("127.0.0.1", kind)

    @unittest.skipUnless(support.has_ipv6(), "no IPv6 loopback (::1) on this machine")
    def test_ipv6(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                self.conversation("::1", kind)

    def test_generator_parameters_instead_of_verifier(self):
        """A server given the verifier's parameters accepts its cookies; one
        with other parameters refuses the ClientHello."""
        params = QDtlsClientVerifier.GeneratorParameters(dtlsgate.QCryptographicHash.Sha256,
                                                         b"a secret of our own")
        for same in (True, False):
            with self.subTest(same=same):
                link = Link()
                try:
                    self.assertTrue(link.verifier.setCookieGeneratorParameters(params))
                    made = link.new_server

                    def new_server(peer, made=made):
                        server = made(peer)
                        server_params = params if same else \
                            QDtlsClientVerifier.GeneratorParameters(params.hash, b"other")
                        # setCookieVerifier() was called; these take over.
                        self.assertTrue(server.setCookieGeneratorParameters(server_params))
                        self.assertEqual(server.cookieGeneratorParameters(), server_params)
                        return server

                    link.new_server = new_server
                    link.run()
                    if same:
                        self.assertEqual(link.server.handshakeState(), QDtls.HandshakeComplete)
                    else:
                        self.assertEqual(link.server_results, [False])
                        self.assertNotEqual(link.server.dtlsError(), QDtlsError.NoError)
                finally:
                    link.close()

    def test_socket_less_send_failure(self):
        """A sendto object that fails: doHandshake() False with
        UnderlyingSocketError and the object's message."""
        with QDtls(QSslSocket.SslClientMode) as client:
            self.assertTrue(client.setPeer("127.0.0.1", 9))
            self.assertFalse(client.doHandshake(BrokenSender()))
            self.assertEqual(client.dtlsError(), QDtlsError.UnderlyingSocketError)
            self.assertEqual(client.dtlsErrorString(), "Network is unreachable")


    def test_wrong_key_fails_on_both_sides_at_the_deadline(self):
        """Different keys: records that fail authentication are dropped
        silently (RFC 6347 4.1.2.7), so nothing ends the handshake at once;
        both sides give up at the handshake deadline, naming the likely
        cause."""
        link = Link(server_slot=lambda a: a.setPreSharedKey(b"another key"), deadline=1000)
        connect_handshake_timeouts(link)
        try:
            link.start()
            link.pump(lambda: link.server is not None and all(
                d.handshakeState() == QDtls.HandshakeNotStarted for d in (link.client, link.server)))
            self.assertNotIn(False, link.client_results)  # nothing failed on arrival
            self.assertNotIn(False, link.server_results)
            for side, dtls in (("client", link.client), ("server", link.server)):
                with self.subTest(side=side):
                    self.assertEqual(dtls.dtlsError(), QDtlsError.TlsFatalError)
                    self.assertIn("pre-shared keys differ", dtls.dtlsErrorString())
                    self.assertEqual(dtls.remainingTimeout(), -1)
        finally:
            link.close()


class PskSlot(unittest.TestCase):
    def setUp(self):
        self.reported = []
        hook = sys.excepthook
        sys.excepthook = lambda t, v, tb: self.reported.append(v)
        self.addCleanup(setattr, sys, "excepthook", hook)

    def test_exception_in_client_slot(self):
        client = QDtls(QSslSocket.SslClientMode)

        def slot(authenticator):
            authenticator.setPreSharedKey(KEY)  # set, then raise: not used
            raise ValueError("boom")

        client.pskRequired.connect(slot)
        link = Link(client=client)
        try:
            link.run()
            self.assertEqual(link.client_results[-1], False)
            self.assertEqual(client.dtlsError(), QDtlsError.TlsFatalError)
            self.assertEqual(client.dtlsErrorString(), "pskRequired slot raised ValueError: boom")
            self.assertEqual(client.handshakeState(), QDtls.HandshakeNotStarted)
            self.assertEqual([type(e) for e in self.reported], [ValueError])
            # The server got the client's alert and failed its handshake.
            link.pump(lambda: False in link.server_results)
            self.assertEqual(link.server.dtlsError(), QDtlsError.TlsFatalError)
            self.assertFalse(link.server.isConnectionEncrypted())
            # The interpreter and the object are fine: a new handshake works.
            client.pskRequired.disconnect(slot)
            client.pskRequired.connect(lambda a: (a.setIdentity(IDENTITY),
                                                  a.setPreSharedKey(KEY)))
        finally:
            link.close()
        link = Link()
        try:
            link.run()
            self.assertEqual(link.client.handshakeState(), QDtls.HandshakeComplete)
        finally:
            link.close()

    def test_exception_in_server_slot(self):
        def slot(authenticator):
            raise RuntimeError("no key for %r" % authenticator.identity())

        link = Link(server_slot=slot)
        try:
            link.run()
            self.assertEqual(link.server_results[-1], False)
            self.assertEqual(link.server.dtlsError(), QDtlsError.TlsFatalError)
            self.assertEqual(link.server.dtlsErrorString(),
                             "pskRequired slot raised RuntimeError: no key for %r" % IDENTITY)
            self.assertEqual(len(self.reported), 1)
            link.pump(lambda: False in link.client_results)
            self.assertEqual(link.client.dtlsError(), QDtlsError.TlsFatalError)
            self.assertEqual(link.client.handshakeState(), QDtls.HandshakeNotStarted)
        finally:
            link.close()

    def test_calls_from_inside_the_slot(self):
        """Inside pskRequired the session answers its cached getters; other
        calls raise BusyError; a slot that catches it carries on."""
        seen = {}
        link = None

        def slot(authenticator):
            server = link.server_in_slot
            seen["state"] = server.handshakeState()
            seen["peer"] = (server.peerAddress(), server.peerPort())
            seen["mode"] = server.sslMode()
            seen["encrypted"] = server.isConnectionEncrypted()
            for name, call in (("doHandshake", lambda: server.doHandshake(link.ssock, b"x")),
                               ("write", lambda: server.writeDatagramEncrypted(link.ssock, b"x")),
                               ("error", server.dtlsErrorString),
                               ("timeout", server.remainingTimeout),
                               ("none-socket", lambda: server.doHandshake(None))):
                try:
                    call()
                    seen[name] = "no exception"
                except BusyError as e:
                    seen[name] = str(e)
            authenticator.setPreSharedKey(KEY)

        link = Link(server_slot=slot)
        made = link.new_server

        def new_server(peer):
            link.server_in_slot = made(peer)
            return link.server_in_slot

        link.new_server = new_server
        try:
            link.run()
            self.assertEqual(link.server.handshakeState(), QDtls.HandshakeComplete)
            self.assertEqual(seen["state"], QDtls.HandshakeInProgress)
            self.assertEqual(seen["peer"], link.client_peer[:2])
            self.assertEqual(seen["mode"], QSslSocket.SslServerMode)
            self.assertFalse(seen["encrypted"])
            for name in ("doHandshake", "write", "error", "timeout", "none-socket"):
                self.assertIn("pskRequired slot", seen[name], name)
            self.assertEqual(self.reported, [])
        finally:
            link.close()

    def test_busy_error_not_caught_fails_the_handshake(self):
        link = None

        def slot(authenticator):
            link.client.writeDatagramEncrypted(link.csock, b"too early")

        link = Link(client=QDtls(QSslSocket.SslClientMode))
        link.client.pskRequired.connect(slot)
        try:
            link.run()
            self.assertEqual(link.client.dtlsError(), QDtlsError.TlsFatalError)
            self.assertTrue(link.client.dtlsErrorString().startswith(
                "pskRequired slot raised BusyError: dtlsgate_session_write_datagram_encrypted"),
                link.client.dtlsErrorString())
            self.assertIsInstance(self.reported[0], BusyError)
        finally:
            link.close()

    def test_close_inside_the_slot(self):
        """close() from the slot takes effect once doHandshake() returns."""
        client = QDtls(QSslSocket.SslClientMode)
        client.pskRequired.connect(lambda a: (a.setIdentity(IDENTITY), a.setPreSharedKey(KEY),
                                              client.close()))
        link = Link(client=client)
        results = []
        try:
            link.start()
            sel = selectors.DefaultSelector()
            sel.register(link.csock_raw, selectors.EVENT_READ)
            sel.register(link.ssock_raw, selectors.EVENT_READ)
            end = time.monotonic() + DEADLINE
            while client._handle is not None and time.monotonic() < end:
                for key, _ in sel.select(0.2):
                    data, peer = key.fileobj.recvfrom(65536)
                    if key.fileobj is link.ssock_raw:
                        link.on_server(data, peer)
                    elif client._handle is not None:
                        results.append(client.doHandshake(link.csock, data))
            sel.close()
            self.assertIsNone(client._handle)
            self.assertTrue(all(results), results)  # the call itself went well
            with self.assertRaises(BadHandleError):
                client.handshakeState()
            client.close()  # again: nothing
        finally:
            link.client = None
            link.close()


class Timeouts(unittest.TestCase):
    """The retransmission timer against a peer that never answers. The
    first timer is 1 s; waits below are bounded generously."""

    def setUp(self):
        self.silent = support.udp()  # the peer that never answers
        self.sock = support.udp()
        self.addCleanup(self.silent.close)
        self.addCleanup(self.sock.close)

    def silent_client(self, fired):
        """A client QDtls for self.silent, its handshakeTimeout connected to
        handleTimeout(self.sock), whose results go into `fired`."""
        client = QDtls(QSslSocket.SslClientMode)
        client.handshakeTimeout.connect(lambda: fired.append(client.handleTimeout(self.sock)))
        return client

    def test_check_timeout_and_retransmission(self):
        silent, client_sock = self.silent, self.sock
        fired = []
        with self.silent_client(fired) as client:
            self.assertEqual(client.remainingTimeout(), -1)
            self.assertFalse(client.checkTimeout())
            self.assertTrue(client.setPeer("127.0.0.1", support.port_of(silent)))
            self.assertTrue(client.doHandshake(client_sock))
            first, _ = support.recv(silent)
            self.assertEqual(dtlswire.parse(first).msg_type, dtlswire.CLIENT_HELLO)
            ms = client.remainingTimeout()
            self.assertTrue(0 < ms <= 1000, ms)
            self.assertFalse(client.checkTimeout())  # not due yet
            self.assertEqual(fired, [])
            end = time.monotonic() + 5
            while client.remainingTimeout() > 0 and time.monotonic() < end:
                time.sleep(max(client.remainingTimeout(), 1) / 1000.0)
            self.assertTrue(client.checkTimeout())
            self.assertEqual(fired, [True])
            again, _ = support.recv(silent)
            self.assertEqual(dtlswire.parse(again).msg_type, dtlswire.CLIENT_HELLO)
            self.assertEqual(dtlswire.parse(again).body, dtlswire.parse(first).body)
            self.assertGreater(client.remainingTimeout(), 1000)  # doubled
            self.assertTrue(client.abortHandshake(client_sock))
            self.assertEqual(client.remainingTimeout(), -1)

    def test_deadline_comes_before_the_retransmission_limit(self):
        """With a 500 ms deadline the client gives up on a server that never
        answers at the deadline: before its first retransmission (due after
        1 s), far from the 12 it was allowed."""
        silent, client_sock = self.silent, self.sock
        results = []
        with self.silent_client(results) as client:
            self.assertTrue(client.setHandshakeDeadline(500))
            self.assertTrue(client.setMaximumRetransmissions(12))
            self.assertTrue(client.setPeer("127.0.0.1", support.port_of(silent)))
            started = time.monotonic()
            self.assertTrue(client.doHandshake(client_sock))
            self.assertTrue(0 < client.remainingTimeout() <= 500, client.remainingTimeout())
            end = started + 5  # bounds the loop on a slow machine; not what is measured
            while client.handshakeState() == QDtls.HandshakeInProgress and time.monotonic() < end:
                time.sleep(max(client.remainingTimeout(), 0) / 1000.0)
                client.checkTimeout()
            took = time.monotonic() - started
            self.assertEqual(results, [False])
            self.assertEqual(client.handshakeState(), QDtls.HandshakeNotStarted)
            self.assertEqual(client.dtlsError(), QDtlsError.TlsFatalError)
            self.assertGreaterEqual(took, 0.5)
            self.assertEqual(client.remainingTimeout(), -1)
        first, _ = support.recv(silent)
        self.assertEqual(dtlswire.parse(first).msg_type, dtlswire.CLIENT_HELLO)
        self.assertTrue(support.nothing_sent(client_sock, silent))  # never retransmitted

    def test_asyncio_emits_by_itself(self):
        silent = self.silent

        async def main():
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(
                asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
            fired = loop.create_future()
            client = QDtls(QSslSocket.SslClientMode)

            def on_timeout():
                ok = client.handleTimeout(transport)
                if not fired.done():
                    fired.set_result(ok)

            client.handshakeTimeout.connect(on_timeout)
            try:
                self.assertTrue(client.setPeer("127.0.0.1", support.port_of(silent)))
                self.assertTrue(client.doHandshake(transport))
                self.assertIsNotNone(client._timer)
                started = time.monotonic()
                self.assertTrue(await asyncio.wait_for(fired, 5))
                self.assertGreaterEqual(time.monotonic() - started, 0.5)
                self.assertIsNotNone(client._timer)  # re-armed by handleTimeout
                client.close()
                self.assertIsNone(client._timer)  # cancelled with the session
            finally:
                client.close()
                transport.close()

        asyncio.run(main())
        hellos = [support.recv(silent)[0] for _ in range(2)]
        self.assertEqual([dtlswire.parse(h).msg_type for h in hellos],
                         [dtlswire.CLIENT_HELLO] * 2)

    def test_asyncio_timer_cancelled_on_completion(self):
        async def main():
            link = Link(kind="socket")
            try:
                link.start()
                self.assertIsNotNone(link.client._timer)
                link.pump(link.done)
                self.assertEqual(link.client.handshakeState(), QDtls.HandshakeComplete)
                self.assertIsNone(link.client._timer)
            finally:
                link.close()

        asyncio.run(main())


class BadInput(unittest.TestCase):
    def setUp(self):
        self.sock = support.udp()
        self.addCleanup(self.sock.close)

    def failed(self, dtls, error, result=False):
        return (result, dtls.dtlsError()) == (False, error) or \
            (result in (-1, b""), dtls.dtlsError()) == (True, error)

    def test_wrong_mode(self):
        for mode in (QSslSocket.UnencryptedMode, 3, -1, 2 ** 40):
            with self.subTest(mode=mode):
                with self.assertRaises(InvalidArgumentError):
                    QDtls(mode)
        with self.assertRaises(TypeError):
            QDtls("client")
        self.assertEqual(QDtls(QSslSocket.SslServerMode).sslMode(), QSslSocket.SslServerMode)

    def test_bad_addresses(self):
        with QDtls(QSslSocket.SslClientMode) as dtls:
            for address, port in (("not an address", 1), ("", 1), (None, 1), ("0.0.0.0", 1),
                                  ("224.0.0.1", 1), ("255.255.255.255", 1), ("ff02::1", 1),
                                  ("127.0.0.1", 0), ("127.0.0.1\0junk", 1)):
                with self.subTest(address=address, port=port):
                    self.assertFalse(dtls.setPeer(address, port))
                    self.assertEqual(dtls.dtlsError(), QDtlsError.InvalidInputParameters)
                    self.assertTrue(dtls.dtlsErrorString())
            self.assertEqual((dtls.peerAddress(), dtls.peerPort()), ("", 0))
            with self.assertRaises(InvalidArgumentError):
                dtls.setPeer("127.0.0.1", 70000)
            with self.assertRaises(TypeError):
                dtls.setPeer(12345, 1)
            self.assertTrue(dtls.setPeer("::1", 5684, "name.example"))
            self.assertEqual((dtls.peerAddress(), dtls.peerPort(), dtls.peerVerificationName()),
                             ("::1", 5684, "name.example"))
            self.assertEqual(dtls.dtlsError(), QDtlsError.NoError)

    def test_no_socket(self):
        closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        closed.close()
        with QDtls(QSslSocket.SslClientMode) as dtls:
            self.assertTrue(dtls.setPeer("127.0.0.1", support.port_of(self.sock)))
            for sock in (None, closed):
                calls = {
                    "doHandshake": (lambda: dtls.doHandshake(sock), False),
                    "handleTimeout": (lambda: dtls.handleTimeout(sock), False),
                    "resumeHandshake": (lambda: dtls.resumeHandshake(sock), False),
                    "abortHandshake": (lambda: dtls.abortHandshake(sock), False),
                    "shutdown": (lambda: dtls.shutdown(sock), False),
                    "writeDatagramEncrypted": (lambda: dtls.writeDatagramEncrypted(sock, b"x"),
                                               -1),
                    "decryptDatagram": (lambda: dtls.decryptDatagram(sock, b"x"), b""),
                }
                for name, (call, expected) in calls.items():
                    with self.subTest(socket=sock, call=name):
                        self.assertEqual(call(), expected)
                        self.assertEqual(dtls.dtlsError(), QDtlsError.InvalidInputParameters)
                        self.assertIn("socket", dtls.dtlsErrorString())
            self.assertEqual(dtls.handshakeState(), QDtls.HandshakeNotStarted)
            with self.assertRaises(TypeError):
                dtls.doHandshake(42)

    def test_wrong_state_and_input(self):
        with QDtls(QSslSocket.SslClientMode) as client:
            self.assertFalse(client.doHandshake(self.sock))  # no peer
            self.assertEqual(client.dtlsError(), QDtlsError.InvalidOperation)
            self.assertFalse(client.handleTimeout(self.sock))
            self.assertEqual(client.dtlsError(), QDtlsError.InvalidOperation)
            self.assertFalse(client.shutdown(self.sock))
            self.assertEqual(client.dtlsError(), QDtlsError.InvalidOperation)
            self.assertFalse(client.abortHandshake(self.sock))
            self.assertEqual(client.dtlsError(), QDtlsError.InvalidOperation)
            self.assertEqual(client.writeDatagramEncrypted(self.sock, b"early"), -1)
            self.assertEqual(client.dtlsError(), QDtlsError.InvalidOperation)
            self.assertEqual(client.decryptDatagram(self.sock, b"\x17\xfe\xfd" + b"\0" * 20), b"")
            self.assertEqual(client.dtlsError(), QDtlsError.InvalidOperation)
            self.assertFalse(client.resumeHandshake(self.sock))
            self.assertEqual(client.dtlsError(), QDtlsError.InvalidOperation)
            with self.assertRaises(InvalidArgumentError):
                client.decryptDatagram(self.sock, b"x" * 70000)
            self.assertFalse(client.setMtuHint(100))
            self.assertEqual(client.dtlsError(), QDtlsError.InvalidInputParameters)
            self.assertTrue(client.setMtuHint(1200))
            self.assertEqual(client.mtuHint(), 1200)
            with self.assertRaises(InvalidArgumentError):
                client.setMtuHint(70000)
            # Once the handshake runs, the setters refuse.
            self.assertTrue(client.setPeer("127.0.0.1", support.port_of(self.sock)))
            self.assertTrue(client.doHandshake(self.sock))
            self.assertFalse(client.doHandshake(self.sock))  # no datagram now
            self.assertEqual(client.dtlsError(), QDtlsError.InvalidInputParameters)
            self.assertFalse(client.setPeer("127.0.0.1", 1))
            self.assertEqual(client.dtlsError(), QDtlsError.InvalidOperation)
            self.assertFalse(client.setPeerVerificationName("late"))
            self.assertEqual(client.dtlsError(), QDtlsError.InvalidOperation)
            self.assertFalse(client.setMtuHint(1300))
            self.assertFalse(client.setDtlsConfiguration(QSslConfiguration()))
            self.assertEqual(client.dtlsError(), QDtlsError.InvalidOperation)
        with QDtls(QSslSocket.SslServerMode) as server:
            self.assertTrue(server.setPeer("127.0.0.1", 5684))
            self.assertFalse(server.doHandshake(self.sock, b""))
            self.assertEqual(server.dtlsError(), QDtlsError.InvalidInputParameters)
            self.assertFalse(server.doHandshake(self.sock, b"not a ClientHello"))
            self.assertNotEqual(server.dtlsError(), QDtlsError.NoError)

    def test_handshake_deadline_and_retransmissions(self):
        with QDtls(QSslSocket.SslClientMode) as dtls:
            self.assertEqual(dtls.handshakeDeadline(), 30000)
            self.assertEqual(dtls.maximumRetransmissions(), 12)
            self.assertTrue(dtls.setHandshakeDeadline(1))
            self.assertEqual(dtls.handshakeDeadline(), 1)
            self.assertTrue(dtls.setHandshakeDeadline(24 * 3600 * 1000))
            self.assertFalse(dtls.setHandshakeDeadline(24 * 3600 * 1000 + 1))
            self.assertEqual(dtls.dtlsError(), QDtlsError.InvalidInputParameters)
            self.assertIn("24 hours", dtls.dtlsErrorString())
            self.assertEqual(dtls.handshakeDeadline(), 24 * 3600 * 1000)  # unchanged
            for msecs in (-1, 2 ** 32):  # not a uint32_t
                with self.subTest(msecs=msecs), self.assertRaises(InvalidArgumentError):
                    dtls.setHandshakeDeadline(msecs)
            with self.assertRaises(TypeError):
                dtls.setHandshakeDeadline(1.5)
            self.assertTrue(dtls.setHandshakeDeadline(0))
            self.assertEqual(dtls.handshakeDeadline(), 30000)

            self.assertFalse(dtls.setMaximumRetransmissions(-1))
            self.assertEqual(dtls.dtlsError(), QDtlsError.InvalidInputParameters)
            with self.assertRaises(InvalidArgumentError):
                dtls.setMaximumRetransmissions(2 ** 31)
            self.assertTrue(dtls.setMaximumRetransmissions(2 ** 31 - 1))
            self.assertEqual(dtls.maximumRetransmissions(), 2 ** 31 - 1)
            self.assertTrue(dtls.setMaximumRetransmissions(0))
            self.assertEqual(dtls.maximumRetransmissions(), 12)
            self.assertTrue(dtls.setMaximumRetransmissions(3))
            self.assertTrue(dtls.setHandshakeDeadline(2000))
            self.assertEqual(dtls.dtlsError(), QDtlsError.NoError)

            # Once the handshake runs, too late for either.
            self.assertTrue(dtls.setPeer("127.0.0.1", support.port_of(self.sock)))
            self.assertTrue(dtls.doHandshake(self.sock))
            self.assertFalse(dtls.setHandshakeDeadline(1000))
            self.assertEqual(dtls.dtlsError(), QDtlsError.InvalidOperation)
            self.assertFalse(dtls.set_maximum_retransmissions(5))
            self.assertEqual(dtls.dtlsError(), QDtlsError.InvalidOperation)
            self.assertEqual((dtls.handshake_deadline(), dtls.maximum_retransmissions()), (2000, 3))

    def test_sizes_once_encrypted(self):
        link = Link()
        try:
            link.run()
            client = link.client
            for data, expected in ((b"", -1), (b"x" * 16385, -1), (b"x" * 70000, -1),
                                   (b"x" * 16384, 16384)):
                with self.subTest(size=len(data)):
                    self.assertEqual(client.writeDatagramEncrypted(link.csock, data), expected)
                    self.assertEqual(client.dtlsError(),
                                     QDtlsError.NoError if expected > 0
                                     else QDtlsError.InvalidInputParameters)
            record, _ = support.recv(link.ssock_raw)
            self.assertEqual(link.server.decryptDatagram(link.ssock, record), b"x" * 16384)
            self.assertEqual(link.server.decryptDatagram(link.ssock, b""), b"")
            self.assertEqual(link.server.dtlsError(), QDtlsError.InvalidInputParameters)
            # Junk is dropped, not fatal; the connection carries on.
            self.assertEqual(link.server.decryptDatagram(link.ssock, b"junk"), b"")
            self.assertTrue(link.server.isConnectionEncrypted())
            self.assertEqual(bytearray(link.send(client, link.csock, link.server, link.ssock,
                                                 link.ssock_raw, bytearray(b"ba"))[1]), b"ba")
        finally:
            link.close()

    def test_use_after_close(self):
        dtls = QDtls(QSslSocket.SslClientMode)
        dtls.close()
        dtls.close()
        calls = [
            lambda: dtls.setPeer("127.0.0.1", 1), dtls.peerAddress, dtls.peerPort,
            dtls.peerVerificationName, lambda: dtls.setMtuHint(1300), dtls.mtuHint,
            lambda: dtls.setHandshakeDeadline(1000), dtls.handshakeDeadline,
            lambda: dtls.setMaximumRetransmissions(3), dtls.maximumRetransmissions,
            dtls.sslMode, dtls.handshakeState, dtls.isConnectionEncrypted, dtls.sessionCipher,
            dtls.sessionProtocol, dtls.dtlsError, dtls.dtlsErrorString, dtls.remainingTimeout,
            dtls.checkTimeout, dtls.dtlsConfiguration, dtls.cookieGeneratorParameters,
            lambda: dtls.setDtlsConfiguration(QSslConfiguration()),
            lambda: dtls.doHandshake(self.sock), lambda: dtls.doHandshake(None),
            lambda: dtls.handleTimeout(self.sock), lambda: dtls.shutdown(self.sock),
            lambda: dtls.abortHandshake(self.sock), lambda: dtls.resumeHandshake(self.sock),
            lambda: dtls.writeDatagramEncrypted(self.sock, b"x"),
            lambda: dtls.decryptDatagram(self.sock, b"x"),
            lambda: dtls.setCookieVerifier(QDtlsClientVerifier()),
        ]
        for i, call in enumerate(calls):
            with self.subTest(call=i):
                with self.assertRaises(BadHandleError):
                    call()
        self.assertIn("closed", repr(dtls))
        with QDtls(QSslSocket.SslClientMode) as other:
            self.assertIn("HandshakeNotStarted", repr(other))
        with self.assertRaises(BadHandleError):
            other.handshakeState()
        verifier = QDtlsClientVerifier()
        verifier.close()
        with QDtls(QSslSocket.SslServerMode) as server, self.assertRaises(BadHandleError):
            server.setCookieVerifier(verifier)


class Records(unittest.TestCase):
    """encrypt() and decrypt(): one call into the library per record, into
    new bytes or the caller's buffer, in place; what is not data is left
    for decryptDatagram()."""

    def setUp(self):
        self.link = Link()
        self.addCleanup(self.link.close)
        self.link.run()
        self.client, self.server = self.link.client, self.link.server

    def test_round_trip_every_input_kind(self):
        for size in (1, 64, 1400, 16384):
            data = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
            for kind in (bytes, bytearray, memoryview):
                with self.subTest(size=size, kind=kind.__name__):
                    record = self.client.encrypt(kind(data))
                    self.assertIsInstance(record, bytes)
                    self.assertGreater(len(record), size)
                    self.assertEqual(self.server.decrypt(kind(record)), data)
                    self.assertEqual(self.server.decrypt(record), b"")  # a replay: dropped
                    self.assertEqual(self.server.dtlsError(), QDtlsError.NoError)
        # Both ways, and across to the queued calls.
        self.assertEqual(self.client.decrypt(self.server.encrypt(b"back")), b"back")
        self.assertEqual(self.server.decryptDatagram(self.link.ssock,
                                                     self.client.encrypt(b"full")), b"full")

    def test_into_caller_buffers_and_in_place(self):
        data = b"in place " * 100
        buf = bytearray(len(data) + 77)
        buf[: len(data)] = data
        n = self.client.encrypt(memoryview(buf)[: len(data)], buf)
        self.assertGreater(n, len(data))
        self.assertNotEqual(bytes(buf[:16]), data[:16])
        m = self.server.decrypt(memoryview(buf)[:n], buf)
        self.assertEqual(bytes(buf[:m]), data)
        # Into a slice of a larger buffer.
        out = bytearray(4096)
        n = self.client.encrypt(b"sliced", memoryview(out)[100:])
        self.assertEqual(self.server.decrypt(bytes(out[100 : 100 + n])), b"sliced")

    def test_buffer_too_small(self):
        with self.assertRaises(dtlsgate.BufferTooSmallError) as caught:
            self.client.encrypt(b"x" * 100, bytearray(50))
        self.assertIn("needed", str(caught.exception))
        record = self.client.encrypt(b"x" * 100)
        with self.assertRaises(dtlsgate.BufferTooSmallError):
            self.server.decrypt(record, bytearray(10))
        # Nothing changed: the record opens now.
        self.assertEqual(self.server.decrypt(record, bytearray(200)), 100)
        with self.assertRaises(TypeError):
            self.client.encrypt(b"x", b"read-only output")

    def test_errors_and_forgeries(self):
        fresh = QDtls(QSslSocket.SslClientMode)
        self.addCleanup(fresh.close)
        self.assertEqual(fresh.encrypt(b"x"), b"")
        self.assertEqual(fresh.dtlsError(), QDtlsError.InvalidOperation)
        self.assertEqual(fresh.decrypt(b"x" * 40, bytearray(40)), 0)
        self.assertEqual(fresh.dtlsError(), QDtlsError.InvalidOperation)
        for data in (b"", b"x" * 16385):
            self.assertEqual(self.client.encrypt(data), b"")
            self.assertEqual(self.client.dtlsError(), QDtlsError.InvalidInputParameters)
        record = bytearray(self.client.encrypt(b"genuine"))
        record[-1] ^= 1
        self.assertEqual(self.server.decrypt(bytes(record)), b"")
        self.assertEqual(self.server.decrypt(bytes(record[:20])), b"")
        record[-1] ^= 1
        self.assertEqual(self.server.decrypt(record), b"genuine")

    def test_not_data_goes_to_decrypt_datagram(self):
        self.assertTrue(self.client.shutdown(self.link.csock))
        alert, _ = support.recv(self.link.ssock_raw)
        self.assertIsNone(self.server.decrypt(alert))
        self.assertTrue(self.server.isConnectionEncrypted())
        self.assertEqual(self.server.decryptDatagram(self.link.ssock, alert), b"")
        self.assertEqual(self.server.dtlsError(), QDtlsError.RemoteClosedConnectionError)

    def test_closed_object(self):
        self.client.close()
        with self.assertRaises(BadHandleError):
            self.client.encrypt(b"x")


class CidLink(Link):
    """A Link whose client and server sessions ask for connection IDs."""

    def __init__(self, client_cid, server_cid, **kw):
        client = client_session()
        assert client.setConnectionIdLength(client_cid)
        self.server_cid = server_cid
        super().__init__(client=client, **kw)

    def new_server(self, peer):
        server = super().new_server(peer)
        assert server.setConnectionIdLength(self.server_cid)
        return server


class ConnectionIds(unittest.TestCase):
    """Connection IDs (RFC 9146): negotiated both ways on loopback, the
    records they make, the settings, and a server that follows its client
    to a new address only for a new authenticated record."""

    def link(self, client_cid, server_cid):
        link = CidLink(client_cid, server_cid)
        self.addCleanup(link.close)
        link.run()
        self.assertTrue(link.server.isConnectionEncrypted())
        return link

    def test_negotiated_both_roles(self):
        settings = (QDtls.EmptyConnectionId, 8, 16, QDtls.NoConnectionId)
        for c in settings:
            for s in settings:
                with self.subTest(client=c, server=s):
                    link = self.link(c, s)
                    client, server = link.client, link.server
                    if QDtls.NoConnectionId in (c, s):
                        for session in (client, server):
                            self.assertIsNone(session.connectionId())
                            self.assertIsNone(session.peer_connection_id())
                        record = client.encrypt(b"plain")
                        self.assertEqual(record[0], 23)
                        self.assertEqual(len(record), 13 + 8 + 5 + 16)
                        continue
                    self.assertEqual(len(client.connectionId()), max(c, 0))
                    self.assertEqual(len(server.connectionId()), max(s, 0))
                    self.assertEqual(client.connectionId(), server.peerConnectionId())
                    self.assertEqual(server.connectionId(), client.peerConnectionId())
                    # A record grows by the other side's ID and its real type.
                    for sender, receiver in ((client, server), (server, client)):
                        cid = receiver.connectionId()
                        record = sender.encrypt(b"through")
                        if cid:
                            self.assertEqual(record[0], 25)
                            self.assertEqual(record[11:11 + len(cid)], cid)
                            self.assertEqual(len(record), 13 + 8 + 7 + 16 + len(cid) + 1)
                        else:
                            self.assertEqual(record[0], 23)
                            self.assertEqual(len(record), 13 + 8 + 7 + 16)
                        self.assertEqual(receiver.decrypt(record), b"through")
                    # The queued calls carry the IDs too.
                    link.send(client, link.csock, server, link.ssock, link.ssock_raw, b"q")

    def test_settings(self):
        server, client = QDtls(QSslSocket.SslServerMode), QDtls(QSslSocket.SslClientMode)
        self.addCleanup(server.close)
        self.addCleanup(client.close)
        self.assertEqual(server.connectionIdLength(), QDtls.NoConnectionId)
        self.assertTrue(server.setConnectionIdLength(0))
        self.assertEqual(server.connectionIdLength(), 8)
        self.assertTrue(client.set_connection_id_length(0))
        self.assertEqual(client.connection_id_length(), QDtls.NoConnectionId)
        for bad in (17, -3):
            self.assertFalse(server.setConnectionIdLength(bad))
            self.assertEqual(server.dtlsError(), QDtlsError.InvalidInputParameters)
            self.assertEqual(server.connectionIdLength(), 8)
        with self.assertRaises(InvalidArgumentError):
            server.setConnectionIdLength(2 ** 40)
        self.assertTrue(server.setConnectionId(b"\x2a\x01\x02"))
        self.assertEqual(server.connectionIdLength(), 3)
        self.assertTrue(server.setConnectionId(b""))
        self.assertEqual(server.connectionIdLength(), QDtls.EmptyConnectionId)
        self.assertFalse(server.setConnectionId(bytes(17)))
        self.assertEqual(server.dtlsError(), QDtlsError.InvalidInputParameters)
        self.assertIsNone(server.connectionId())
        self.assertIsNone(server.peerConnectionId())
        # After the handshake, settings are refused.
        link = self.link(QDtls.EmptyConnectionId, 8)
        self.assertFalse(link.server.setConnectionIdLength(4))
        self.assertEqual(link.server.dtlsError(), QDtlsError.InvalidOperation)
        self.assertEqual(link.client.connectionId(), b"")
        server.close()
        with self.assertRaises(BadHandleError):
            server.connectionId()

    def test_move_peer(self):
        link = self.link(QDtls.EmptyConnectionId, 8)
        client, server = link.client, link.server
        home = link.client_peer
        elsewhere = support.udp("127.0.0.1")
        self.addCleanup(elsewhere.close)
        new = elsewhere.getsockname()[:2]
        r1, r2, r3 = (client.encrypt(b"one"), client.encrypt(b"two"), client.encrypt(b"three"))
        # Newest record from where the session is: nothing to move.
        self.assertEqual(server.decrypt(r2), b"two")
        self.assertTrue(server.movePeer(*home))
        # Older, replayed and forged records from a new address move nothing.
        self.assertEqual(server.decrypt(r1), b"one")
        self.assertFalse(server.movePeer(*new))
        self.assertEqual(server.dtlsError(), QDtlsError.InvalidOperation)
        self.assertEqual(server.decrypt(r2), b"")
        self.assertFalse(server.movePeer(*new))
        forged = bytearray(r3)
        forged[-1] ^= 1
        self.assertEqual(server.decrypt(bytes(forged)), b"")
        self.assertFalse(server.move_peer(*new))
        self.assertEqual((server.peerAddress(), server.peerPort()), home)
        # The genuine newest one moves it: its records go to the new socket.
        self.assertEqual(server.decryptDatagram(link.ssock, r3), b"three")
        self.assertFalse(server.movePeer("not an address", 1))
        self.assertEqual(server.dtlsError(), QDtlsError.InvalidInputParameters)
        self.assertTrue(server.movePeer(*new))
        self.assertEqual((server.peerAddress(), server.peerPort()), new)
        self.assertEqual(server.writeDatagramEncrypted(link.ssock, b"found you"), 9)
        record, _ = support.recv(elsewhere)
        self.assertEqual(client.decrypt(record), b"found you")
        # Without IDs there is nothing to move.
        self.assertFalse(client.movePeer(*new))
        self.assertEqual(client.dtlsError(), QDtlsError.InvalidOperation)


class Values(unittest.TestCase):
    def test_snake_case_aliases(self):
        # test_verifier's test_snake_case_aliases covers the classes; this
        # one checks that an alias calls the same thing.
        with QDtls(QSslSocket.SslClientMode) as dtls:
            self.assertEqual(dtls.handshake_state(), QDtls.HandshakeNotStarted)
            self.assertIs(QDtls.do_handshake, QDtls.doHandshake)
            self.assertEqual(dtls.dtls_error_string(), "")

    def test_enum_values(self):
        self.assertEqual([int(m) for m in QSslSocket.SslMode], [0, 1, 2])
        self.assertEqual([int(m) for m in QSslSocket.PeerVerifyMode], [0, 1, 2, 3])
        self.assertEqual(QSslSocket.VerifyNone, QSslSocket.PeerVerifyMode.VerifyNone)
        self.assertEqual([(m.name, int(m)) for m in QDtls.HandshakeState],
                         [("HandshakeNotStarted", 0), ("HandshakeInProgress", 1),
                          ("PeerVerificationFailed", 2), ("HandshakeComplete", 3)])
        self.assertIs(QDtls.HandshakeComplete, QDtls.HandshakeState.HandshakeComplete)
        self.assertEqual((QSsl.DtlsV1_2, QSsl.UnknownProtocol), (10, -1))

    QSSL_H = "/usr/include/x86_64-linux-gnu/qt6/QtNetwork/qssl.h"

    @unittest.skipUnless(os.path.exists(QSSL_H), "Qt 6 headers not installed (qt6-base-dev)")
    def test_ssl_protocol_matches_qt6_header(self):
        with open(self.QSSL_H) as f:
            text = f.read()
        body = re.search(r"enum SslProtocol \{(.*?)\};", text, re.S).group(1)
        expected, value = {}, 0
        for item in body.split(","):
            m = re.match(r"\s*(\w+)(?:\s+QT_DEPRECATED\w*\([^)]*\))?(?:\s*=\s*(-?\d+))?\s*$",
                         item)
            if not m:
                continue
            if m.group(2) is not None:
                value = int(m.group(2))
            expected[m.group(1)] = value
            value += 1
        self.assertIn("DtlsV1_2", expected)
        self.assertEqual({m.name: int(m) for m in QSsl.SslProtocol}, expected)

    def test_cipher(self):
        null = QSslCipher()
        self.assertTrue(null.isNull())
        self.assertEqual((null.name(), null.protocol(), null.protocolString()),
                         ("", QSsl.UnknownProtocol, ""))
        c = QSslCipher("PSK-AES128-GCM-SHA256")
        self.assertFalse(c.isNull())
        self.assertEqual((c.protocol(), c.protocolString()), (QSsl.DtlsV1_2, "DTLSv1.2"))
        self.assertEqual(c, QSslCipher("PSK-AES128-GCM-SHA256", QSsl.DtlsV1_2))
        self.assertNotEqual(c, QSslCipher("PSK-AES256-GCM-SHA384"))
        self.assertNotEqual(c, null)
        self.assertEqual(len({c, QSslCipher("PSK-AES128-GCM-SHA256")}), 1)

    def test_configuration(self):
        default = QSslConfiguration.defaultDtlsConfiguration()
        names = [c.name() for c in default.ciphers()]
        self.assertEqual(names[0], "PSK-AES128-GCM-SHA256")
        self.assertEqual(default.peerVerifyMode(), QSslSocket.AutoVerifyPeer)
        self.assertEqual(default.preSharedKeyIdentityHint(), b"")
        copy = QSslConfiguration(default)
        copy.setPreSharedKeyIdentityHint(b"hint")
        copy.setCiphers("PSK-CHACHA20-POLY1305:PSK-AES256-GCM-SHA384")
        copy.setPeerVerifyMode(QSslSocket.VerifyNone)
        self.assertEqual(default.preSharedKeyIdentityHint(), b"")  # a value: not shared
        self.assertNotEqual(copy, default)
        self.assertEqual([c.name() for c in copy.ciphers()],
                         ["PSK-CHACHA20-POLY1305", "PSK-AES256-GCM-SHA384"])
        same = QSslConfiguration(copy)
        self.assertEqual(same, copy)
        same.setCiphers([QSslCipher("PSK-CHACHA20-POLY1305"), "PSK-AES256-GCM-SHA384"])
        self.assertEqual(same, copy)
        with self.assertRaises(TypeError):
            same.setCiphers([42])

        with QDtls(QSslSocket.SslServerMode) as dtls:
            self.assertEqual(dtls.dtlsConfiguration(), default)
            self.assertTrue(dtls.setDtlsConfiguration(copy))
            copy.setPreSharedKeyIdentityHint(b"changed later")  # the session kept a copy
            got = dtls.dtlsConfiguration()
            self.assertEqual(got.preSharedKeyIdentityHint(), b"hint")
            self.assertEqual(got.ciphers(), same.ciphers())
            self.assertEqual(got.peerVerifyMode(), QSslSocket.VerifyNone)
            # An unsupported suite: False, the message names it, nothing changed.
            bad = QSslConfiguration(same)
            bad.setCiphers("PSK-AES128-GCM-SHA256:NO-SUCH-SUITE")
            bad.setPreSharedKeyIdentityHint(b"other")
            self.assertFalse(dtls.setDtlsConfiguration(bad))
            self.assertEqual(dtls.dtlsError(), QDtlsError.InvalidInputParameters)
            self.assertIn("NO-SUCH-SUITE", dtls.dtlsErrorString())
            self.assertEqual(dtls.dtlsConfiguration(), got)
            # IANA names are taken; the session reports OpenSSL names.
            iana = QSslConfiguration()
            iana.setCiphers(["TLS_PSK_WITH_AES_256_GCM_SHA384"])
            self.assertTrue(dtls.setDtlsConfiguration(iana))
            self.assertEqual([c.name() for c in dtls.dtlsConfiguration().ciphers()],
                             ["PSK-AES256-GCM-SHA384"])
            # An empty list is the default list.
            self.assertTrue(dtls.setDtlsConfiguration(QSslConfiguration()))
            self.assertEqual(dtls.dtlsConfiguration().ciphers(), default.ciphers())

    def test_signal(self):
        class Thing:
            fired = Signal(int)

        a, b = Thing(), Thing()
        got = []
        a.fired.connect(got.append)
        a.fired.emit(1)
        b.fired.emit(2)  # another object's signal: not connected
        self.assertEqual(got, [1])
        self.assertEqual(a.fired.receivers(), 1)
        self.assertTrue(a.fired.disconnect(got.append))
        self.assertFalse(a.fired.disconnect(got.append))
        a.fired.emit(3)
        self.assertEqual(got, [1])
        a.fired.connect(got.append)
        a.fired.connect(lambda n: got.append(-n))
        a.fired.emit(4)
        self.assertEqual(got, [1, 4, -4])
        self.assertTrue(a.fired.disconnect())
        self.assertEqual(a.fired.receivers(), 0)
        with self.assertRaises(TypeError):
            a.fired.connect("not callable")
        self.assertIsInstance(Thing.fired, Signal)

    def test_psk_required_signal_type(self):
        self.assertEqual(QDtls.pskRequired.types, (QSslPreSharedKeyAuthenticator,))
        self.assertEqual(QDtls.handshakeTimeout.types, ())

    def test_exports(self):
        for name in ("QDtls", "QSsl", "QSslCipher", "QSslConfiguration", "QSslSocket", "Signal",
                     "BusyError", "MAX_DATAGRAM"):
            self.assertIn(name, dtlsgate.__all__)
        self.assertTrue(issubclass(BusyError, dtlsgate.DtlsgateError))


if __name__ == "__main__":
    unittest.main()
