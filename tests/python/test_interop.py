# SPDX-License-Identifier: MIT
"""Real DTLS clients (openssl s_client) against Python servers built on the
binding, on loopback:

- the two example servers (examples/python/) under tests/interop's relay
  and checker, exactly as `make test-interop` runs the C example: the
  relay records every datagram and exchange.py checks the RFC 6347 4.2.1
  exchange (our HelloVerifyRequest, the client back with that cookie,
  verifyClient() True with verifiedHello() equal to that datagram);
- an asyncio DatagramProtocol in this process, whose transport carries the
  HelloVerifyRequest.
"""

import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
import unittest

import support

import dtlsgate
import dtlswire
import exchange

OPENSSL = shutil.which("openssl")
DEADLINE = 15.0  # seconds for one whole exchange


def run_exchange(server, host):
    """tests/interop/common.sh's run_exchange with `server` and a real
    openssl s_client; exchange.py's verdict on what was recorded."""
    work = tempfile.mkdtemp(prefix="dtlsgate-pytest.")
    try:
        connect = "[%s]:{port}" % host if ":" in host else "%s:{port}" % host
        script = '. "$1"; run_exchange "$2" "$3" "$4" openssl s_client -dtls1_2 -connect "$5"'
        # A process group of its own: should the script hang, it is ended
        # with everything it started (it stops those itself otherwise).
        p = subprocess.Popen(["bash", "-c", script, "run_exchange",
                              os.path.join(support.INTEROP, "common.sh"), work, server, host,
                              connect], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        try:
            p.wait(timeout=60)
        finally:
            if p.returncode is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        out = os.path.join(work, "server.out")
        with open(out) as f:
            printed = f.read()
        detail = "server exit %d\n--- server stdout\n%s" % (p.returncode, printed)
        for name in ("problem", "server.err"):
            path = os.path.join(work, name)
            if os.path.exists(path):
                with open(path) as f:
                    detail += "--- %s\n%s" % (name, f.read())
        try:
            summary = exchange.check(exchange.read_relay_log(os.path.join(work, "relay.log")),
                                     exchange.read_server_output(out))
        except exchange.Failed as e:
            return p.returncode, "FAILED: %s\n%s" % (e, detail)
        return p.returncode, summary + "\n" + detail
    finally:
        shutil.rmtree(work, ignore_errors=True)


@unittest.skipIf(OPENSSL is None, "openssl is not installed (make deps-test installs it)")
class Examples(unittest.TestCase):
    def check(self, example, host):
        status, verdict = run_exchange(os.path.join(support.EXAMPLES, example), host)
        self.assertFalse(verdict.startswith("FAILED"), verdict)
        self.assertEqual(status, 0, verdict)
        self.assertIn("verified, verifiedHello == that datagram", verdict)

    def test_plain_socket_server(self):
        self.check("verify_server.py", "127.0.0.1")

    @unittest.skipUnless(support.has_ipv6(), "no IPv6 loopback (::1) on this machine")
    def test_plain_socket_server_ipv6(self):
        self.check("verify_server.py", "::1")

    def test_asyncio_server(self):
        self.check("asyncio_server.py", "127.0.0.1")


class StopSignals(unittest.TestCase):
    """SIGTERM stops an idle example server at once, even though the
    signal may land on one of the Go runtime's threads."""

    def test_sigterm(self):
        for example in ("verify_server.py", "asyncio_server.py"):
            with self.subTest(example=example):
                p = subprocess.Popen([os.path.join(support.EXAMPLES, example), "--timeout", "30"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                try:
                    self.assertTrue(p.stdout.readline().startswith("listening "))
                    p.terminate()
                    out, err = p.communicate(timeout=10)
                finally:
                    p.kill()
                    p.wait()
                self.assertEqual((p.returncode, out, err),
                                 (0, "stopped reason=SIGTERM datagrams=0 verified=0\n", ""))


class Recorder(asyncio.DatagramProtocol):
    """Verifies every datagram with its transport; resolves `done` with the
    verified datagram and its peer."""

    def __init__(self, verifier, done):
        self.verifier = verifier
        self.done = done
        self.results = []  # (datagram, peer, verifyClient's result, dtlsError)

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        ok = self.verifier.verifyClient(self.transport, data, addr[0], addr[1])
        self.results.append((data, addr, ok, self.verifier.dtlsError()))
        if ok and not self.done.done():
            self.done.set_result((self.verifier.verifiedHello(), addr))


@unittest.skipIf(OPENSSL is None, "openssl is not installed (make deps-test installs it)")
class AsyncioProtocol(unittest.TestCase):
    def test_datagram_protocol_verifies_openssl(self):
        with dtlsgate.QDtlsClientVerifier() as verifier:
            hello, peer, results = asyncio.run(asyncio.wait_for(self.serve(verifier), DEADLINE))
            # The first flight got no error (our HelloVerifyRequest went out
            # through the transport) and the client came back with a cookie
            # that is valid for its address and port.
            first, first_peer, ok, error = results[0]
            self.assertEqual((ok, error), (False, dtlsgate.QDtlsError.NoError))
            self.assertEqual(dtlswire.parse(first).cookie, b"")
            self.assertEqual(first_peer, peer)
            self.assertTrue(dtlswire.parse(hello).cookie)
            self.assertEqual(verifier.check(hello, peer[0], peer[1]).verdict,
                             dtlsgate.CheckVerdict.Verified)
            self.assertEqual(results[-1][0], hello)

    async def serve(self, verifier):
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: Recorder(verifier, done), local_addr=("127.0.0.1", 0))
        port = transport.get_extra_info("sockname")[1]
        client = await asyncio.create_subprocess_exec(
            OPENSSL, "s_client", "-dtls1_2", "-connect", "127.0.0.1:%d" % port,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        try:
            hello, peer = await done
        finally:
            client.kill()
            await client.wait()
            transport.close()
        return hello, peer, protocol.results


if __name__ == "__main__":
    unittest.main()
