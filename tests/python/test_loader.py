# SPDX-License-Identifier: MIT
"""The loader and the C declarations: where the library is looked for and
what is said when it is not found; every function of include/dtlsgate.h
declared with the header's number of parameters; errors converted into
exceptions; objects left open at interpreter exit."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

import support

import dtlsgate
from dtlsgate import _native

REPO_LIB = os.path.join(support.REPO, "lib", _native.SONAME)


def python(code, env=None, cwd=None):
    """Runs code in a fresh interpreter; (returncode, stdout, stderr)."""
    full = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    full.pop("DTLSGATE_LIBRARY", None)
    full.update(env or {})
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full, cwd=cwd,
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


# find_library() is stubbed inside the child, so that the machine's own
# libraries cannot decide the outcome.
NO_FIND = "import ctypes.util; ctypes.util.find_library = lambda name: None\n"


class Declarations(unittest.TestCase):
    def test_every_header_function_is_declared(self):
        with open(support.HEADER) as f:
            header = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
        protos = dict(re.findall(r"\b(dtlsgate_\w+)\s*\(([^)]*)\)\s*;", header))
        self.assertGreater(len(protos), 30)
        declared = {name: argtypes for name, _, argtypes, _ in _native.DECLARATIONS}
        self.assertEqual(sorted(declared), sorted(protos))
        for name, params in protos.items():
            count = 0 if params.strip() == "void" else params.count(",") + 1
            self.assertEqual(len(declared[name]), count, name)
            self.assertEqual(getattr(_native.lib, name).argtypes, declared[name], name)

    def test_versions_agree(self):
        with open(support.HEADER) as f:
            header_version = re.search(r'#define DTLSGATE_VERSION "([^"]+)"', f.read()).group(1)
        self.assertEqual(dtlsgate.library_version(), header_version)
        self.assertEqual(dtlsgate.__version__, header_version)

    def test_errors_are_converted_in_one_place(self):
        cases = [(-1, dtlsgate.InvalidArgumentError, ValueError),
                 (-2, dtlsgate.BadHandleError, ValueError),
                 (-3, dtlsgate.BufferTooSmallError, dtlsgate.DtlsgateError),
                 (-4, dtlsgate.UnsupportedError, ValueError),
                 (-5, dtlsgate.InternalError, RuntimeError),
                 (-99, dtlsgate.DtlsgateError, Exception)]
        for code, cls, base in cases:
            e = _native.error(code, "dtlsgate_x")
            self.assertIs(type(e), cls)
            self.assertIsInstance(e, base)
            self.assertEqual((e.code, e.function), (code, "dtlsgate_x"))
            self.assertEqual(e.message, _native.strerror(code))
            self.assertIn(e.message, str(e))
        # Through a real call: the library's own status, raised.
        with dtlsgate.QDtlsClientVerifier() as v:
            with self.assertRaises(dtlsgate.InvalidArgumentError) as cm:
                _native.lib.dtlsgate_verifier_set_cookie_lifetime(v._handle, 0)
        self.assertEqual(cm.exception.function, "dtlsgate_verifier_set_cookie_lifetime")
        with self.assertRaises(dtlsgate.BadHandleError):
            _native.lib.dtlsgate_verifier_set_cookie_lifetime(None, 5)


class Loader(unittest.TestCase):
    def copy_package(self, with_library):
        """The package alone in a scratch directory: no repository lib/ near it."""
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        shutil.copytree(os.path.join(support.BINDING, "dtlsgate"), os.path.join(tmp, "dtlsgate"),
                        ignore=shutil.ignore_patterns("__pycache__", "*.so*"))
        if with_library:
            shutil.copy(REPO_LIB, os.path.join(tmp, "dtlsgate", _native.SONAME))
        return tmp

    def test_nothing_found_names_every_place(self):
        tmp = self.copy_package(False)
        rc, out, err = python(NO_FIND + "import dtlsgate", cwd=tmp)
        self.assertNotEqual(rc, 0)
        self.assertIn("ImportError: dtlsgate: cannot load the C library", err)
        for place in ("bundled with the package", os.path.join(tmp, "dtlsgate", _native.SONAME),
                      "repository build output", "ctypes.util.find_library('dtlsgate')",
                      "DTLSGATE_LIBRARY"):
            self.assertIn(place, err)

    def test_order(self):
        show = "import dtlsgate; print(dtlsgate.library_path())"
        # The repository's build output, from the source tree.
        rc, out, err = python(NO_FIND + show, cwd=support.BINDING)
        self.assertEqual((rc, out.strip()), (0, os.path.normpath(REPO_LIB)), err)
        # The bundled copy comes first.
        tmp = self.copy_package(True)
        rc, out, err = python(NO_FIND + show, cwd=tmp)
        self.assertEqual((rc, out.strip()), (0, os.path.join(tmp, "dtlsgate", _native.SONAME)),
                         err)
        # DTLSGATE_LIBRARY comes before both.
        rc, out, err = python(NO_FIND + show, cwd=tmp, env={"DTLSGATE_LIBRARY": REPO_LIB})
        self.assertEqual((rc, out.strip()), (0, REPO_LIB), err)
        # find_library last.
        tmp2 = self.copy_package(False)
        find = "import ctypes.util; ctypes.util.find_library = lambda name: %r\n" % REPO_LIB
        rc, out, err = python(find + show, cwd=tmp2)
        self.assertEqual((rc, out.strip()), (0, REPO_LIB), err)

    def test_a_wrong_dtlsgate_library_is_not_ignored(self):
        tmp = self.copy_package(True)
        for bad in ("/nonexistent/libdtlsgate.so.0", support.HEADER):
            rc, out, err = python("import dtlsgate", cwd=tmp, env={"DTLSGATE_LIBRARY": bad})
            self.assertNotEqual(rc, 0)
            self.assertIn("DTLSGATE_LIBRARY: %s" % bad, err)

    def test_open_objects_at_exit(self):
        """Objects never closed, some in a reference cycle, some closed
        twice: the interpreter exits cleanly, without 'Exception ignored'."""
        code = """
            import dtlsgate
            v = dtlsgate.QDtlsClientVerifier()
            a = dtlsgate.QSslPreSharedKeyAuthenticator()
            a.setPreSharedKey(b"key")
            class Holder: pass
            h = Holder(); h.me = h; h.v = dtlsgate.QDtlsClientVerifier()
            h.a = dtlsgate.QSslPreSharedKeyAuthenticator(a)
            done = dtlsgate.QDtlsClientVerifier(); done.close(); done.close()
            print("end")
        """
        rc, out, err = python(code, cwd=support.BINDING)
        self.assertEqual((rc, out, err), (0, "end\n", ""))


if __name__ == "__main__":
    unittest.main()
