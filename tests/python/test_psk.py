# SPDX-License-Identifier: MIT
"""QSslPreSharedKeyAuthenticator through the Python binding: defaults,
setters, copies, swap, equality, bad input and closing.
(test_pyside2.py puts it side by side with PySide2's.)"""

import copy
import unittest

import support  # noqa: F401  (puts the binding on sys.path)

import dtlsgate
from dtlsgate import QSslPreSharedKeyAuthenticator as Authenticator


def fields(a):
    return (a.identityHint(), a.identity(), a.preSharedKey(), a.maximumIdentityLength(),
            a.maximumPreSharedKeyLength())


def filled():
    a = Authenticator()
    a.setIdentityHint(b"hint")
    a.setIdentity(b"Client_identity")
    a.setPreSharedKey(bytes.fromhex("1a2b3c4d5e6f"))
    a.setMaximumIdentityLength(128)
    a.setMaximumPreSharedKeyLength(64)
    return a


class Authenticators(unittest.TestCase):
    def test_defaults(self):
        with Authenticator() as a:
            self.assertEqual(fields(a), (b"", b"", b"", 0, 0))
            self.assertEqual(a, Authenticator())

    def test_setters_keep_everything(self):
        a = filled()
        self.assertEqual(fields(a), (b"hint", b"Client_identity", bytes.fromhex("1a2b3c4d5e6f"),
                                     128, 64))
        # Longer than the maximum, with NULs: stored in full.
        key = bytes(range(256)) * 4
        a.setPreSharedKey(bytearray(key))
        self.assertEqual(a.preSharedKey(), key)
        a.setIdentity(memoryview(b"\0id\0"))
        self.assertEqual(a.identity(), b"\0id\0")
        a.setIdentity(None)  # a null QByteArray in PySide
        self.assertEqual(a.identity(), b"")
        a.set_identity(b"x" * dtlsgate.MAX_INPUT)
        self.assertEqual(len(a.identity()), dtlsgate.MAX_INPUT)

    def test_every_field_counts_for_equality(self):
        base = filled()
        changes = [lambda a: a.setIdentityHint(b"other"), lambda a: a.setIdentity(b"other"),
                   lambda a: a.setPreSharedKey(b"other"), lambda a: a.setMaximumIdentityLength(1),
                   lambda a: a.setMaximumPreSharedKeyLength(1)]
        for change in changes:
            other = Authenticator(base)
            self.assertTrue(other == base and not other != base)
            change(other)
            self.assertTrue(other != base and not other == base)
        self.assertFalse(base == "Client_identity")
        self.assertTrue(base != 5)
        with self.assertRaises(TypeError):
            hash(base)

    def test_copies_are_independent(self):
        a = filled()
        for b in (Authenticator(a), copy.copy(a), copy.deepcopy(a)):
            self.assertEqual(fields(b), fields(a))
            b.setIdentity(b"changed")
            self.assertEqual(a.identity(), b"Client_identity")
            a.close()
            self.assertEqual(b.identity(), b"changed")  # the copy outlives the original
            a = filled()

    def test_swap(self):
        a, b = filled(), Authenticator()
        b.setIdentity(b"b")
        before_a, before_b = fields(a), fields(b)
        a.swap(b)
        self.assertEqual((fields(a), fields(b)), (before_b, before_a))
        a.swap(a)
        self.assertEqual(fields(a), before_b)

    def test_bad_input(self):
        a = Authenticator()
        for bad in ("a str", 5, 1.5, object()):
            with self.assertRaises(TypeError):
                a.setIdentity(bad)
            with self.assertRaises(TypeError):
                a.setPreSharedKey(bad)
        for bad in (None, 5, "x"):
            with self.assertRaises(TypeError):
                a.swap(bad)
        for bad in (5, "x"):
            with self.assertRaises(TypeError):
                Authenticator(bad)
        with self.assertRaises(dtlsgate.InvalidArgumentError) as cm:
            a.setIdentity(bytes(dtlsgate.MAX_INPUT + 1))
        self.assertIsInstance(cm.exception, ValueError)
        self.assertEqual(cm.exception.code, -1)
        for bad in (-1, 2 ** 31):
            with self.assertRaises(dtlsgate.InvalidArgumentError):
                a.setMaximumIdentityLength(bad)
        with self.assertRaises(TypeError):
            a.setMaximumPreSharedKeyLength("64")
        self.assertEqual(fields(a), (b"", b"", b"", 0, 0))

    def test_messages_name_the_argument_and_the_way_out(self):
        a = Authenticator()
        with self.assertRaisesRegex(TypeError, r"^preSharedKey must be bytes-like, not str: for "
                                    r"the bytes the hex digits stand for, pass "
                                    r"bytes\.fromhex\('1a2b3c4d5e6f'\)$"):
            a.setPreSharedKey("1a2b3c4d5e6f")
        with self.assertRaisesRegex(TypeError, r"^identity must be bytes-like, not str: for the "
                                    r"text's UTF-8 bytes, pass 'client 7'\.encode\(\)$"):
            a.setIdentity("client 7")
        with self.assertRaisesRegex(TypeError, r"pass 'abc'\.encode\(\)$"):
            a.setPreSharedKey("abc")  # odd length: not hex
        with self.assertRaises(dtlsgate.InvalidArgumentError) as cm:
            a.setIdentity(bytes(dtlsgate.MAX_INPUT + 1))
        self.assertIn("(identity: 65536 bytes, more than the 65535 accepted)", str(cm.exception))

    def test_key_not_in_repr(self):
        a = filled()
        a.setPreSharedKey(b"very secret key")
        self.assertNotIn("very secret", repr(a))
        self.assertIn("Client_identity", repr(a))

    def test_closed(self):
        a, b = filled(), filled()
        a.close()
        a.close()
        for call in (a.identity, a.identityHint, a.preSharedKey, a.maximumIdentityLength,
                     lambda: a.setIdentity(b"x"), lambda: a.swap(b), lambda: a == b,
                     lambda: b.swap(a), lambda: Authenticator(a)):
            with self.assertRaises(dtlsgate.BadHandleError):
                call()
        self.assertEqual(repr(a), "<QSslPreSharedKeyAuthenticator closed>")
        with Authenticator() as c:
            pass
        with self.assertRaises(dtlsgate.BadHandleError):
            c.identity()


if __name__ == "__main__":
    unittest.main()
