# SPDX-License-Identifier: MIT
"""dtlsgate side by side with PySide2, the Qt binding Debian ships
(python3-pyside2.qtnetwork, for /usr/bin/python3): the authenticator must
behave as PySide2's QSslPreSharedKeyAuthenticator, and the verifier must
work with PySide2's own QUdpSocket, QByteArray and QHostAddress.

Run by an interpreter without PySide2 (pyenv's, say), SideBySide does not
exist and SystemPython runs it under /usr/bin/python3 instead, so one
`python3 -m unittest` covers both.

Known differences, on purpose: ours also accepts memoryview (PySide2 only
QByteArray, bytes and bytearray) and refuses inputs over 65535 bytes; and
PySide2 5.15's == compares identity instead of the five fields (its != is
right), so == is checked against PySide2's !=.
"""

import os
import subprocess
import sys
import unittest

import support
from support import port_of, recv, udp

import dtlsgate

try:
    from PySide2.QtCore import QByteArray
    from PySide2.QtNetwork import QHostAddress, QUdpSocket
    from PySide2.QtNetwork import QSslPreSharedKeyAuthenticator as QtAuthenticator
except ImportError:
    QtAuthenticator = None

SYSTEM_PYTHON = "/usr/bin/python3"


def qt_fields(a):
    return (bytes(a.identityHint()), bytes(a.identity()), bytes(a.preSharedKey()),
            a.maximumIdentityLength(), a.maximumPreSharedKeyLength())


def our_fields(a):
    return (a.identityHint(), a.identity(), a.preSharedKey(), a.maximumIdentityLength(),
            a.maximumPreSharedKeyLength())


class SideBySideCases:
    """The comparisons; a TestCase (SideBySide, below) only where PySide2 is
    importable, so that elsewhere they are not even listed as skipped."""

    def pair(self):
        return QtAuthenticator(), dtlsgate.QSslPreSharedKeyAuthenticator()

    def assertSame(self, qt, ours):
        self.assertEqual(our_fields(ours), qt_fields(qt))

    def test_defaults(self):
        qt, ours = self.pair()
        self.assertSame(qt, ours)
        self.assertEqual(our_fields(ours), (b"", b"", b"", 0, 0))

    def test_setters(self):
        qt, ours = self.pair()
        values = [b"Client_identity", bytearray(b"\0with\0nuls"), QByteArray(b"qbytearray"),
                  b"x" * 5000, b"", None]
        for value in values:
            with self.subTest(value=repr(value)[:40]):
                qt.setIdentity(value)
                ours.setIdentity(value)
                qt.setPreSharedKey(value)
                ours.set_pre_shared_key(value)
                self.assertSame(qt, ours)

    def test_equality(self):
        def build(identity, key):
            qt, ours = self.pair()
            for a in (qt, ours):
                if identity is not None:
                    a.setIdentity(identity)
                if key is not None:
                    a.setPreSharedKey(key)
            return qt, ours

        specs = [(None, None), (b"id", None), (b"id", b"key"), (None, b"key"), (b"", b""),
                 (b"other", b"key")]
        for s1 in specs:
            for s2 in specs:
                with self.subTest(left=s1, right=s2):
                    qt1, ours1 = build(*s1)
                    qt2, ours2 = build(*s2)
                    self.assertEqual(ours1 != ours2, qt1 != qt2)
                    self.assertEqual(ours1 == ours2, not (qt1 != qt2))

    def test_copy_construction(self):
        qt, ours = self.pair()
        for a in (qt, ours):
            a.setIdentity(b"id")
            a.setPreSharedKey(b"key")
        qt_copy, our_copy = QtAuthenticator(qt), dtlsgate.QSslPreSharedKeyAuthenticator(ours)
        self.assertSame(qt_copy, our_copy)
        self.assertEqual(our_copy != ours, qt_copy != qt)
        qt_copy.setIdentity(b"changed")
        our_copy.setIdentity(b"changed")
        self.assertSame(qt, ours)
        self.assertSame(qt_copy, our_copy)

    def test_swap(self):
        qt1, ours1 = self.pair()
        qt2, ours2 = self.pair()
        for a in (qt1, ours1):
            a.setIdentity(b"one")
        for a in (qt2, ours2):
            a.setPreSharedKey(b"two")
        qt1.swap(qt2)
        ours1.swap(ours2)
        self.assertSame(qt1, ours1)
        self.assertSame(qt2, ours2)
        qt1.swap(qt1)
        ours1.swap(ours1)
        self.assertSame(qt1, ours1)

    def test_bad_input_raises_the_same(self):
        qt, ours = self.pair()
        for bad in ("a str", 5, 1.5):
            for name in ("setIdentity", "setPreSharedKey"):
                with self.subTest(call=name, value=bad):
                    with self.assertRaises(TypeError):
                        getattr(qt, name)(bad)
                    with self.assertRaises(TypeError):
                        getattr(ours, name)(bad)
        for bad in (None, 5, "x"):
            with self.assertRaises(TypeError):
                qt.swap(bad)
            with self.assertRaises(TypeError):
                ours.swap(bad)
        for bad in (5, "x"):
            with self.assertRaises(TypeError):
                QtAuthenticator(bad)
            with self.assertRaises(TypeError):
                dtlsgate.QSslPreSharedKeyAuthenticator(bad)
        self.assertSame(qt, ours)

    def test_verifier_with_a_real_qudpsocket(self):
        """Qt's server loop: receiveDatagram() on a QUdpSocket, then
        verifyClient() with that socket, QByteArray and QHostAddress."""
        server = QUdpSocket()
        self.assertTrue(server.bind(QHostAddress("127.0.0.1"), 0))
        self.addCleanup(server.close)
        cli = udp()
        self.addCleanup(cli.close)
        hello = support.first_hello()

        def receive(data):
            cli.sendto(data, ("127.0.0.1", server.localPort()))
            self.assertTrue(server.waitForReadyRead(int(support.TIMEOUT * 1000)))
            d = server.receiveDatagram()
            return d.data(), d.senderAddress(), d.senderPort()

        with dtlsgate.QDtlsClientVerifier() as v:
            self.assertFalse(v.verifyClient(server, *receive(hello)))
            self.assertEqual(v.dtlsError(), dtlsgate.QDtlsError.NoError)
            hvr, sender = recv(cli)
            self.assertEqual(sender[1], server.localPort())
            self.assertIsNone(support.hello_verify_request(hvr, hello))
            second = support.with_cookie(hello, support.cookie_of(hvr))
            self.assertTrue(v.verifyClient(server, *receive(second)))
            self.assertEqual(v.verifiedHello(), second)
            # Sending fails (an IPv6 peer on an IPv4 socket): Qt's own text.
            self.assertFalse(v.verifyClient(server, QByteArray(hello), QHostAddress("::1"),
                                            port_of(cli)))
            self.assertEqual(v.dtlsError(), dtlsgate.QDtlsError.UnderlyingSocketError)
            self.assertEqual(v.dtlsErrorString(), server.errorString())
            self.assertTrue(v.dtlsErrorString())
            self.assertFalse(v.verifyClient(server, QByteArray(hello), QHostAddress(),
                                            port_of(cli)))
            self.assertEqual(v.dtlsErrorString(), support.MSG_INPUT + " (address is missing)")


if QtAuthenticator is not None:
    class SideBySide(SideBySideCases, unittest.TestCase):
        pass


class SystemPython(unittest.TestCase):
    def test_side_by_side_under_system_python(self):
        if QtAuthenticator is not None:
            self.skipTest("PySide2 is importable here: SideBySide ran in this interpreter")
        probe = [SYSTEM_PYTHON, "-c", "import PySide2.QtNetwork"]
        if not os.access(SYSTEM_PYTHON, os.X_OK) or subprocess.run(
                probe, capture_output=True, timeout=60).returncode != 0:
            self.skipTest("PySide2 is missing: install python3-pyside2.qtnetwork "
                          "(`make deps-pyside`) to compare with Qt")
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        r = subprocess.run([SYSTEM_PYTHON, "-m", "unittest", "-v", "test_pyside2.SideBySide"],
                           cwd=support.HERE, env=env, capture_output=True, text=True, timeout=120)
        sys.stderr.write("\n" + r.stderr if r.returncode else "")
        self.assertEqual(r.returncode, 0, "PySide2 comparison failed (output above)")
        self.assertNotIn("skipped", r.stderr)
        self.assertRegex(r.stderr, r"Ran [1-9][0-9]* tests")


if __name__ == "__main__":
    unittest.main()
