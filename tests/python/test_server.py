# SPDX-License-Identifier: MIT
"""DtlsServer, the server endpoint, from Python:

- socket-less: the test moves datagrams between the server and QDtls
  clients; connected, data and closed events, send, disconnect, shutdown,
  the key table and key file, psk_request events answered and refused,
  timers, stats;
- managed on loopback: the library owns the socket; the blocking iterator
  (in a thread) and the asyncio iterator (loop.add_reader on the eventfd)
  each echo a real client's datagram, then stop;
- bad input: peers, lengths, modes, closed servers.
"""

import asyncio
import os
import re
import socket
import tempfile
import threading
import time
import unittest

import support  # noqa: F401  (puts the package on sys.path)

import dtlsgate
from dtlsgate import (BadHandleError, DtlsServer, InvalidArgumentError, InvalidStateError,
                      IOFailedError, NotFoundError, QDtls, QSslSocket)

KEY = bytes.fromhex("00112233445566778899")
DEADLINE = 10.0  # seconds; an upper bound only


class Collect:
    """A socket-like object for a socket-less client: keeps what it sends."""

    def __init__(self):
        self.out = []

    def sendto(self, data, addr):
        self.out.append(bytes(data))
        return len(data)


def client(identity, key=KEY):
    c = QDtls(QSslSocket.SslClientMode)

    def psk(authenticator):
        authenticator.setIdentity(identity)
        authenticator.setPreSharedKey(key)

    c.pskRequired.connect(psk)
    return c


class Peer:
    """A socket-less QDtls client the server sees at ("192.0.2.7", port)."""

    def __init__(self, identity, port, key=KEY, cid=None):
        self.addr = ("192.0.2.7", port)
        self.sock = Collect()
        self.dtls = client(identity, key)
        self.got = []
        self.failed = False
        self.dtls.setPeer("192.0.2.1", 5684)
        if cid is not None:
            assert self.dtls.setConnectionIdLength(cid)
        self.dtls.doHandshake(self.sock)

    def take(self, data):
        if self.dtls.handshakeState() == QDtls.HandshakeInProgress:
            if not self.dtls.doHandshake(self.sock, data):
                self.failed = True
        elif self.dtls.isConnectionEncrypted():
            plain = self.dtls.decryptDatagram(self.sock, data)
            if plain:
                self.got.append(plain)

    @property
    def closed(self):
        return self.dtls.dtlsError() == dtlsgate.QDtlsError.RemoteClosedConnectionError


def shuttle(server, *peers):
    """Moves datagrams both ways until none is left."""
    for _ in range(30):
        moved = 0
        for p in peers:
            out, p.sock.out = p.sock.out, []
            for d in out:
                server.input(p.addr, d)
                moved += 1
        for d, to in server.outgoing():
            moved += 1
            matching = [p for p in peers if p.addr == to]
            assert len(matching) == 1, to
            matching[0].take(d)
        if not moved:
            return


class ConnectionIds(unittest.TestCase):
    """The server's connection IDs: the ID a client gets (node byte first),
    a client that comes back from a new port (moved, then its data), and
    forged or replayed records from elsewhere that move nothing."""

    def test_moves(self):
        with DtlsServer(keys={b"alice": KEY}, connection_id_length=12, node_id=0x42) as server:
            a = Peer(b"alice", 41000, cid=QDtls.EmptyConnectionId)
            shuttle(server, a)
            [ev] = server.poll()
            self.assertEqual(ev.kind, "connected")
            self.assertEqual(len(ev.connection_id), 12)
            self.assertEqual(ev.connection_id[0], 0x42)
            self.assertEqual(ev.connection_id, a.dtls.peerConnectionId())
            self.assertIsNone(ev.old_peer)

            home, a.addr = a.addr, ("192.0.2.7", 41001)
            a.dtls.writeDatagramEncrypted(a.sock, b"after the nap")
            shuttle(server, a)
            moved, data = server.poll()
            self.assertEqual((moved.kind, moved.peer, moved.old_peer),
                             (dtlsgate.MOVED, a.addr, home))
            self.assertEqual((data.kind, data.peer, data.data), ("data", a.addr, b"after the nap"))
            server.send(a.addr, b"found you")
            shuttle(server, a)  # asserts that it goes to the new address
            self.assertEqual(a.got, [b"found you"])
            with self.assertRaises(NotFoundError):
                server.send(home, b"x")

            thief = ("192.0.2.66", 5000)
            record = a.dtls.encrypt(b"genuine")
            forged = record[:-1] + bytes([record[-1] ^ 1])
            server.input(thief, forged)
            server.input(a.addr, record)
            server.input(thief, record)
            [ev] = server.poll()
            self.assertEqual((ev.kind, ev.peer, ev.data), ("data", a.addr, b"genuine"))
            unknown = bytearray(record)
            unknown[11] ^= 0xff
            server.input(thief, bytes(unknown))
            self.assertEqual(server.poll(), [])
            stats = server.stats()
            self.assertEqual((stats["moves"], stats["refused_moves"], stats["dropped_unknown_cid"],
                              stats["routed_cid"]), (1, 2, 1, 0))

    def test_settings(self):
        with DtlsServer(keys={b"alice": KEY}, connection_id_length=dtlsgate.NO_CONNECTION_ID) as server:
            a = Peer(b"alice", 41010, cid=8)
            shuttle(server, a)
            [ev] = server.poll()
            self.assertEqual((ev.kind, ev.connection_id), ("connected", b""))
            self.assertIsNone(a.dtls.connectionId())
        for bad, field in (({"connection_id_length": 17}, "connection_id_length"),
                           ({"node_id": 256}, "node_id"),
                           ({"node_id": 1, "connection_id_length": 1}, "node_id"),
                           ({"node_id": 1, "connection_id_length": dtlsgate.NO_CONNECTION_ID},
                            "node_id")):
            with self.subTest(**bad), self.assertRaises(InvalidArgumentError) as caught:
                DtlsServer(**bad)
            self.assertIn(field, str(caught.exception))


class SocketLess(unittest.TestCase):
    def test_conversation(self):
        with DtlsServer(keys={b"alice": KEY}, identity_hint=b"hint") as server:
            self.assertEqual(server.poll(), [])
            a = Peer(b"alice", 40001)
            shuttle(server, a)
            self.assertTrue(a.dtls.isConnectionEncrypted())
            [ev] = server.poll()
            self.assertEqual((ev.kind, ev.peer, ev.identity), ("connected", a.addr, b"alice"))
            self.assertEqual(ev.cipher, a.dtls.sessionCipher().name())

            a.dtls.writeDatagramEncrypted(a.sock, b"ping")
            shuttle(server, a)
            [ev] = server.poll()
            self.assertEqual((ev.kind, ev.data), ("data", b"ping"))
            server.send(a.addr, b"pong")
            shuttle(server, a)
            self.assertEqual(a.got, [b"pong"])

            stats = server.stats()
            self.assertEqual(stats["handshakes_completed"], 1)
            self.assertEqual(stats["hello_verifies"], 1)
            self.assertEqual(stats["sessions"], 1)

            server.disconnect(a.addr)
            shuttle(server, a)
            self.assertTrue(a.closed)
            [ev] = server.poll()
            self.assertEqual((ev.kind, ev.reason), ("closed", "by_app"))
            with self.assertRaises(NotFoundError):
                server.send(a.addr, b"gone")

            b, c = Peer(b"alice", 40002), Peer(b"alice", 40003)
            shuttle(server, b, c)
            self.assertEqual([e.kind for e in server.poll()], ["connected", "connected"])
            server.shutdown()
            shuttle(server, b, c)
            self.assertTrue(b.closed and c.closed)
            self.assertEqual([(e.kind, e.reason) for e in server.poll()],
                             [("closed", "shutdown"), ("closed", "shutdown")])

    def test_unknown_identity_is_refused(self):
        with DtlsServer(keys={b"alice": KEY}) as server:
            self.assertTrue(server.remove_psk(b"alice"))
            self.assertFalse(server.remove_psk(b"alice"))
            p = Peer(b"alice", 40010)
            shuttle(server, p)
            self.assertTrue(p.failed)
            self.assertEqual(server.poll(), [])
            self.assertEqual(server.stats()["handshakes_failed"], 1)

    def test_psk_requests(self):
        with DtlsServer(psk_requests=True) as server:
            p, q = Peer(b"erin", 40020), Peer(b"frank", 40021)
            shuttle(server, p, q)
            requests = server.poll()
            self.assertEqual(sorted((e.kind, e.identity) for e in requests),
                             [("psk_request", b"erin"), ("psk_request", b"frank")])
            for e in requests:
                if e.identity == b"erin":
                    server.resolve_psk(e.peer, e.identity, KEY)
                else:
                    server.refuse_psk(e.peer, e.identity)
            with self.assertRaises(NotFoundError):
                server.refuse_psk(p.addr, b"erin")
            shuttle(server, p, q)
            self.assertTrue(p.dtls.isConnectionEncrypted())
            self.assertTrue(q.failed)
            [ev] = server.poll()
            self.assertEqual((ev.kind, ev.identity), ("connected", b"erin"))

    def test_key_file(self):
        with DtlsServer() as server, tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "keys")
            with open(path, "w") as f:
                f.write("grace:%s\n" % KEY.hex())
            server.load_psk_file(path)
            p = Peer(b"grace", 40030)
            shuttle(server, p)
            self.assertTrue(p.dtls.isConnectionEncrypted())
            with open(path, "w") as f:
                f.write("heidi:zz\n")
            # The library's detail names the file and the line.
            with self.assertRaisesRegex(InvalidArgumentError, re.escape(path) + ":1"):
                server.load_psk_file(path)
            self.assertTrue(server.remove_psk(b"grace"))  # the table stayed
            with self.assertRaises(IOFailedError):
                server.load_psk_file(os.path.join(d, "missing"))

    def test_shared_verifier(self):
        verifier = dtlsgate.QDtlsClientVerifier()
        verifier.setCookieGeneratorParameters(
            dtlsgate.GeneratorParameters(dtlsgate.QCryptographicHash.Sha256, b"fleet secret"))
        with DtlsServer(keys={b"a": KEY}, verifier=verifier) as server:
            verifier.close()  # the server keeps what it needs
            p = Peer(b"a", 40050)
            server.input(p.addr, p.sock.out.pop())
            [(hvr, _)] = list(server.outgoing())
            # The cookie is the shared verifier's: the same parameters accept it.
            check = dtlsgate.QDtlsClientVerifier()
            check.setCookieGeneratorParameters(
                dtlsgate.GeneratorParameters(dtlsgate.QCryptographicHash.Sha256, b"fleet secret"))
            p.take(hvr)
            hello = p.sock.out[-1]
            self.assertEqual(check.check(hello, p.addr[0], p.addr[1]).verdict,
                             dtlsgate.CheckVerdict.Verified)
            shuttle(server, p)
            self.assertTrue(p.dtls.isConnectionEncrypted())

    def test_handshake_deadline(self):
        with DtlsServer(keys={b"a": KEY}, handshake_deadline=0.05) as server:
            self.assertIsNone(server.next_timeout())
            p = Peer(b"a", 40040)
            # Hello, cookie, hello with cookie; the server's flight is lost.
            server.input(p.addr, p.sock.out.pop())
            for d, _ in server.outgoing():
                p.take(d)
            server.input(p.addr, p.sock.out.pop())
            list(server.outgoing())
            self.assertEqual(server.stats()["half_open"], 1)
            wait = server.next_timeout()
            self.assertIsNotNone(wait)
            self.assertLessEqual(wait, 0.05)
            time.sleep(0.06)
            server.handle_timers()
            stats = server.stats()
            self.assertEqual((stats["half_open"], stats["handshake_timeouts"]), (0, 1))

    def test_bad_input(self):
        server = DtlsServer()
        for peer in [("not an address", 1), ("127.0.0.1",), None, ("127.0.0.1", "x")]:
            with self.assertRaises(InvalidArgumentError):
                server.input(peer, b"\x16")
        with self.assertRaises(InvalidArgumentError):
            server.set_psk(b"", KEY)
        with self.assertRaises(InvalidArgumentError):
            server.send(("127.0.0.1", 9), b"")
        with self.assertRaises(InvalidArgumentError):
            server.send(("127.0.0.1", 9), bytes(16385))
        with self.assertRaises(NotFoundError):
            server.send(("127.0.0.1", 9), b"x")
        with self.assertRaises(InvalidArgumentError):
            DtlsServer(ciphers="NO-SUCH-SUITE")
        with self.assertRaises(InvalidArgumentError):
            DtlsServer(max_sessions=-1)
        with self.assertRaises(InvalidArgumentError):
            server.listen("nonsense")
        with self.assertRaises(IOFailedError):
            server.listen("192.0.2.200:1")
        verifier = dtlsgate.QDtlsClientVerifier()
        verifier.close()
        with self.assertRaises(BadHandleError):
            DtlsServer(verifier=verifier)
        server.input(("127.0.0.1", 9), b"garbage")  # dropped, counted
        self.assertEqual(server.stats()["datagrams"], 1)
        server.close()
        with self.assertRaises(BadHandleError):
            server.poll()
        with self.assertRaises(BadHandleError):
            server.fileno()
        server.close()


def run_client(addr, identity, message, results):
    """A QDtls client over a real UDP socket: connects, sends message,
    records the echo, then waits for close_notify."""
    family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.1)
        c = client(identity)
        c.setPeer(addr[0], addr[1])
        c.doHandshake(sock)
        sent = False
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end and "closed" not in results:
            try:
                data = sock.recv(65535)
            except socket.timeout:
                c.handleTimeout(sock)
                continue
            if c.handshakeState() == QDtls.HandshakeInProgress:
                c.doHandshake(sock, data)
            else:
                plain = c.decryptDatagram(sock, data)
                if plain:
                    results.append(plain)
                if c.dtlsError() == dtlsgate.QDtlsError.RemoteClosedConnectionError:
                    results.append("closed")
            if not sent and c.isConnectionEncrypted():
                c.writeDatagramEncrypted(sock, message)
                sent = True


class Managed(unittest.TestCase):
    def echo(self, ev, server, seen):
        seen.append(ev)
        if ev.kind == "data":
            server.send(ev.peer, ev.data)

    def test_blocking_iterator(self):
        with DtlsServer(keys={b"ivan": KEY}, workers=2) as server:
            addr = server.listen("127.0.0.1:0")
            self.assertEqual(addr[0], "127.0.0.1")
            self.assertNotEqual(addr[1], 0)
            with self.assertRaises(InvalidStateError):
                server.input(("127.0.0.1", 9), b"x")
            seen = []
            loop = threading.Thread(target=lambda: [self.echo(ev, server, seen) for ev in server])
            loop.start()
            results = []
            client_thread = threading.Thread(target=run_client,
                                             args=(addr, b"ivan", b"echo me", results))
            client_thread.start()
            end = time.monotonic() + DEADLINE
            while b"echo me" not in results and time.monotonic() < end:
                time.sleep(0.01)
            server.stop()
            client_thread.join()
            loop.join(DEADLINE)
            self.assertFalse(loop.is_alive())  # the iterator ended with the server
            self.assertEqual(results, [b"echo me", "closed"])
            self.assertEqual([e.kind for e in seen], ["connected", "data", "closed"])
            self.assertEqual(seen[-1].reason, "shutdown")
            self.assertEqual(server.stats()["handshakes_completed"], 1)

    def test_stop_between_an_empty_poll_and_the_next(self):
        """A stop() that lands right after a poll came back empty, as a
        SIGTERM handler's does (examples/python/secure_udp_server.py): the
        iteration must still yield the Closed events of the shutdown."""
        with DtlsServer(keys={b"ivan": KEY}) as server:
            addr = server.listen("127.0.0.1:0")
            results, seen = [], []
            client_thread = threading.Thread(target=run_client,
                                             args=(addr, b"ivan", b"stay", results))
            client_thread.start()
            poll = server.poll

            def poll_then_stop(*args, **kwargs):
                events = poll(*args, **kwargs)
                if not events and b"stay" in results:
                    server.stop()
                return events
            server.poll = poll_then_stop
            for ev in server:
                self.echo(ev, server, seen)
            client_thread.join()
            self.assertEqual([e.kind for e in seen], ["connected", "data", "closed"])
            self.assertEqual(seen[-1].reason, "shutdown")
            self.assertEqual(results, [b"stay", "closed"])

    def test_asyncio(self):
        async def main(server):
            addr = server.listen("[::1]:0")
            results, seen = [], []

            async def serve():
                async for ev in server:
                    self.echo(ev, server, seen)
                    if ev.kind == "psk_request":
                        server.resolve_psk(ev.peer, ev.identity, KEY)

            task = asyncio.ensure_future(serve())
            loop = asyncio.get_running_loop()
            client_done = loop.run_in_executor(None, run_client, addr, b"judy", b"async", results)
            end = time.monotonic() + DEADLINE
            while b"async" not in results and time.monotonic() < end:
                await asyncio.sleep(0.01)
            await loop.run_in_executor(None, server.stop)
            await client_done
            await asyncio.wait_for(task, DEADLINE)
            return results, seen

        with DtlsServer(psk_requests=True) as server:
            results, seen = asyncio.run(main(server))
        self.assertEqual(results, [b"async", "closed"])
        self.assertEqual([e.kind for e in seen], ["psk_request", "connected", "data", "closed"])
        self.assertEqual(seen[0].identity, b"judy")


if __name__ == "__main__":
    unittest.main()
