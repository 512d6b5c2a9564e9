# SPDX-License-Identifier: MIT
"""QDtls against real DTLS 1.2 PSK implementations, and the example
programs, on loopback:

- openssl s_client -dtls1_2 -psk against examples/python/secure_udp_server.py:
  the echo comes back, the server's lines follow examples/CONTRACT.md;
- the Python QDtls client, and examples/python/secure_udp_client.py,
  against openssl s_server -dtls1_2 -nocert -psk -psk_hint: the handshake
  completes, the client sees the hint, the data reaches s_server's stdout;
- the same Python client against gnutls-serv with a PSK file, if installed;
- the example client against the example server with --clients 3, a
  client with a wrong key, and SIGTERM ending the server with exit status 0.
"""

import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import support

from dtlsgate import QDtls, QDtlsError, QSsl, QSslSocket

OPENSSL = shutil.which("openssl")
GNUTLS_SERV = shutil.which("gnutls-serv")
SERVER = os.path.join(support.EXAMPLES, "secure_udp_server.py")
CLIENT = os.path.join(support.EXAMPLES, "secure_udp_client.py")
KEY_HEX = "1a2b3c4d5e6f"
WAIT = 15.0  # seconds any one exchange may take; an upper bound only
# The handshake deadline the wrong-key test gives the example server (its
# --deadline): with different keys nothing fails sooner (records that fail
# authentication are dropped silently).
HANDSHAKE_DEADLINE = 2.0


class Lines:
    """Reads a child's stdout line by line with a deadline."""

    def __init__(self, proc):
        self.proc = proc
        self.text = ""
        self.sel = selectors.DefaultSelector()
        self.sel.register(proc.stdout, selectors.EVENT_READ)

    def until(self, pattern, timeout=WAIT):
        """Reads until `pattern` (a regex) matches what was read; returns
        the match or fails with everything read so far."""
        end = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.text, re.M)
            if m:
                return m
            left = end - time.monotonic()
            if left <= 0 or not self.sel.select(left):
                raise AssertionError("%r not seen; got:\n%s" % (pattern, self.text))
            chunk = os.read(self.proc.stdout.fileno(), 65536).decode("utf-8", "replace")
            if not chunk:
                raise AssertionError("%r not seen before EOF; got:\n%s" % (pattern, self.text))
            self.text += chunk

    def rest(self, timeout=WAIT):
        """Everything up to EOF."""
        self.proc.wait(timeout)
        while True:
            chunk = os.read(self.proc.stdout.fileno(), 65536).decode("utf-8", "replace")
            if not chunk:
                return self.text
            self.text += chunk


def start(args, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE):
    return subprocess.Popen(args, stdin=stdin, stdout=subprocess.PIPE, stderr=stderr)


def stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for f in (proc.stdin, proc.stdout, proc.stderr):
        if f is not None:
            f.close()


class ExampleServer:
    """examples/python/secure_udp_server.py on a free port."""

    def __init__(self, test, host="127.0.0.1", *extra):
        self.proc = start([sys.executable, SERVER, host, "0"] + list(extra))
        test.addCleanup(stop, self.proc)
        self.out = Lines(self.proc)
        self.port = int(self.out.until(r"^server: listening on \S+:(\d+)$").group(1))

    def terminate(self):
        """SIGTERM; returns (exit status, everything it printed)."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(WAIT), self.out.rest()


@unittest.skipIf(OPENSSL is None, "openssl is not installed (make deps-test installs it)")
class OpensslClient(unittest.TestCase):
    def run_s_client(self, host):
        server = ExampleServer(self, host)
        connect = "[%s]:%d" % (host, server.port) if ":" in host else "%s:%d" % (host,
                                                                                 server.port)
        # -quiet keeps s_client running after its stdin ends; the pipe
        # stays open until the echo is back anyway.
        client = start([OPENSSL, "s_client", "-dtls1_2", "-psk", KEY_HEX, "-psk_identity",
                        "openssl interop", "-connect", connect, "-quiet"],
                       stdin=subprocess.PIPE)
        self.addCleanup(stop, client)
        client.stdin.write(b"hello from openssl\n")
        client.stdin.flush()
        Lines(client).until(r"echo: hello from openssl")
        peer = r"(\d+\.\d+\.\d+\.\d+|\[[0-9a-f:]+\]):\d+"
        server.out.until(r'^server: %s says "hello from openssl"$' % peer)
        stop(client)
        status, printed = server.terminate()
        self.assertEqual(status, 0, printed)
        for line in (r'PSK identity "openssl interop"',
                     r"handshake complete \(PSK-[A-Z0-9-]+, DTLSv1\.2\)",
                     r"^server: shutting down, closed 1 connection\(s\)$"):
            self.assertRegex(printed, re.compile(line, re.M))

    def test_s_client_against_example_server(self):
        self.run_s_client("127.0.0.1")

    @unittest.skipUnless(support.has_ipv6(), "no IPv6 loopback (::1) on this machine")
    def test_s_client_against_example_server_ipv6(self):
        self.run_s_client("::1")


def drive_client(test, port, host="127.0.0.1", payload=b"hello from QDtls\n"):
    """A Python QDtls client through the handshake to `port`, then one
    record; returns (client, socket, the hints pskRequired saw)."""
    sock = support.udp(host)
    test.addCleanup(sock.close)
    client = QDtls(QSslSocket.SslClientMode)
    test.addCleanup(client.close)
    hints = []

    def psk(authenticator):
        hints.append(authenticator.identityHint())
        authenticator.setIdentity(b"python interop")
        authenticator.setPreSharedKey(bytes.fromhex(KEY_HEX))

    client.pskRequired.connect(psk)
    client.handshakeTimeout.connect(lambda: client.handleTimeout(sock))
    test.assertTrue(client.setPeer(host, port))
    test.assertTrue(client.doHandshake(sock), client.dtlsErrorString())
    end = time.monotonic() + WAIT
    sock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    while client.handshakeState() == QDtls.HandshakeInProgress and time.monotonic() < end:
        ms = client.remainingTimeout()
        if sel.select(0.2 if ms < 0 else min(ms / 1000.0, 0.2)):
            try:
                data, _ = sock.recvfrom(65536)
            except ConnectionRefusedError:
                continue  # the server's port was not open yet: retransmission helps
            test.assertTrue(client.doHandshake(sock, data), client.dtlsErrorString())
        client.checkTimeout()
    sel.close()
    sock.setblocking(True)
    test.assertEqual(client.handshakeState(), QDtls.HandshakeComplete, client.dtlsErrorString())
    test.assertEqual(client.sessionProtocol(), QSsl.DtlsV1_2)
    test.assertEqual(client.writeDatagramEncrypted(sock, payload), len(payload))
    return client, sock, hints


def free_udp_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@unittest.skipIf(OPENSSL is None, "openssl is not installed (make deps-test installs it)")
class OpensslServer(unittest.TestCase):
    def s_server(self, *extra):
        # stdin stays open: s_server stops at its end.
        proc = start([OPENSSL, "s_server", "-dtls1_2", "-nocert", "-psk", KEY_HEX, "-psk_hint",
                      "openssl hint", "-accept", "127.0.0.1:0"] + list(extra),
                     stdin=subprocess.PIPE)
        self.addCleanup(stop, proc)
        out = Lines(proc)
        return proc, out, int(out.until(r"^ACCEPT 127\.0\.0\.1:(\d+)").group(1))

    def test_qdtls_client_against_s_server(self):
        proc, out, port = self.s_server()
        client, sock, hints = drive_client(self, port)
        self.assertEqual(hints, [b"openssl hint"])
        out.until(r"^hello from QDtls$")
        # s_server's own input goes back to the client, encrypted.
        proc.stdin.write(b"hello from openssl\n")
        proc.stdin.flush()
        sock.settimeout(WAIT)
        self.assertEqual(client.decryptDatagram(sock, sock.recvfrom(65536)[0]),
                         b"hello from openssl\n")
        self.assertTrue(client.shutdown(sock))
        out.until(r"DONE|shutting down|CONNECTION CLOSED")

    def test_example_client_against_s_server(self):
        proc, out, port = self.s_server()
        client = start([sys.executable, CLIENT, "127.0.0.1", str(port), "--name", "ex",
                        "--count", "1"])
        self.addCleanup(stop, client)
        lines = Lines(client)
        lines.until(r'^client ex: server\'s identity hint "openssl hint"$')
        lines.until(r"^client ex: handshake complete \(PSK-[A-Z0-9-]+, DTLSv1\.2\)$")
        out.until(r"^ping 1 from ex$")
        proc.stdin.write(b"echo: ping 1 from ex\n")  # s_server plays the echo server
        proc.stdin.flush()
        printed = lines.rest()
        self.assertEqual(client.returncode, 0, printed)
        self.assertIn('client ex: got "echo: ping 1 from ex\n"', printed)
        self.assertIn("client ex: shut down", printed)


@unittest.skipIf(GNUTLS_SERV is None, "gnutls-serv is not installed (gnutls-bin)")
class GnutlsServer(unittest.TestCase):
    def test_qdtls_client_against_gnutls_serv(self):
        work = tempfile.mkdtemp(prefix="dtlsgate-gnutls.")
        self.addCleanup(shutil.rmtree, work, True)
        pskfile = os.path.join(work, "psk.txt")
        with open(pskfile, "w") as f:
            f.write("python interop:%s\n" % KEY_HEX)
        port = free_udp_port()
        proc = start([GNUTLS_SERV, "--udp", "--echo", "--pskpasswd", pskfile, "--pskhint",
                      "gnutls hint", "--priority", "NORMAL:+PSK:-VERS-ALL:+VERS-DTLS1.2",
                      "--port", str(port)], stderr=subprocess.STDOUT)
        self.addCleanup(stop, proc)
        Lines(proc).until(r"listening on IPv4 .*done")
        client, sock, hints = drive_client(self, port, payload=b"hello from QDtls")
        self.assertEqual(hints, [b"gnutls hint"])
        sock.settimeout(WAIT)
        self.assertEqual(client.decryptDatagram(sock, sock.recvfrom(65536)[0]),
                         b"hello from QDtls")  # --echo
        self.assertTrue(client.shutdown(sock))


class Examples(unittest.TestCase):
    def pair(self, host):
        server = ExampleServer(self, host, "--hint", "example hint")
        client = start([sys.executable, CLIENT, host, str(server.port), "--name", "t",
                        "--clients", "3", "--count", "3"])
        self.addCleanup(stop, client)
        printed = Lines(client).rest()
        self.assertEqual(client.returncode, 0, printed)
        where = "[%s]:%d" % (host, server.port) if ":" in host else "%s:%d" % (host,
                                                                             server.port)
        for n in (1, 2, 3):
            name = "t-%d" % n
            expected = ["client %s: connecting to %s" % (name, where),
                        'client %s: server\'s identity hint "example hint"' % name]
            for k in (1, 2, 3):
                expected += ['client %s: sent "ping %d from %s"' % (name, k, name),
                             'client %s: got "echo: ping %d from %s"' % (name, k, name)]
            expected.append("client %s: shut down" % name)
            mine = [line for line in printed.splitlines()
                    if line.startswith("client %s: " % name) and "handshake complete" not in line]
            self.assertEqual(mine, expected, printed)
            self.assertRegex(printed, r"client %s: handshake complete \(PSK-[A-Z0-9-]+, "
                                      r"DTLSv1\.2\)" % name)
        server.out.until(r"(?s)(closed the connection.*){3}")
        status, out = server.terminate()
        self.assertEqual(status, 0, out)
        self.assertEqual(out.count('PSK identity "dtlsgate example client"'), 3, out)
        self.assertEqual(out.count("handshake complete (PSK-"), 3, out)
        self.assertEqual(out.count(" says \"ping "), 9, out)
        self.assertEqual(out.count("closed the connection"), 3, out)
        self.assertTrue(out.endswith("server: shutting down, closed 0 connection(s)\n"), out)

    def test_client_against_server(self):
        self.pair("127.0.0.1")

    @unittest.skipUnless(support.has_ipv6(), "no IPv6 loopback (::1) on this machine")
    def test_client_against_server_ipv6(self):
        self.pair("::1")

    def test_wrong_key_fails(self):
        """A client with another key never gets in, and is given up on at
        the deadline, while a client with the right key is served."""
        server = ExampleServer(self, "127.0.0.1", "--deadline", str(HANDSHAKE_DEADLINE))
        client = start([sys.executable, CLIENT, "127.0.0.1", str(server.port), "--psk", "00ff"])
        self.addCleanup(stop, client)
        _, sock, _ = drive_client(self, server.port, payload=b"meanwhile")
        sock.settimeout(WAIT)
        server.out.until(r'says "meanwhile"')
        printed = Lines(client).rest(WAIT + 5)
        self.assertEqual(client.returncode, 1, printed)
        self.assertRegex(printed, r"(?m)^client client: failed: .+$")
        status, out = server.terminate()
        self.assertEqual(status, 0)
        # Only the right client's handshake completed, and only its session
        # was open at the end: the wrong one was dropped without a word.
        self.assertEqual(out.count("handshake complete"), 1, out)
        self.assertIn("server: shutting down, closed 1 connection(s)", out)

    def test_sigint_shuts_down_established_sessions(self):
        """An s_client-free check of the shutdown path: a Python client
        connects and stays; SIGINT makes the server send close_notify."""
        server = ExampleServer(self)
        client, sock, _ = drive_client(self, server.port, payload=b"stay")
        server.out.until(r'says "stay"')
        sock.settimeout(WAIT)
        self.assertEqual(client.decryptDatagram(sock, sock.recvfrom(65536)[0]), b"echo: stay")
        server.proc.send_signal(signal.SIGINT)
        self.assertEqual(client.decryptDatagram(sock, sock.recvfrom(65536)[0]), b"")
        self.assertEqual(client.dtlsError(), QDtlsError.RemoteClosedConnectionError)
        self.assertEqual(server.proc.wait(WAIT), 0)
        self.assertIn("server: shutting down, closed 1 connection(s)", server.out.rest())


if __name__ == "__main__":
    unittest.main()
