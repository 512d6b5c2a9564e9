# SPDX-License-Identifier: MIT
"""`python3 -m pip install ./bindings/python`, the documented command, into
a scratch virtual environment of each interpreter at hand (this one and
Debian's /usr/bin/python3): offline, with the library bundled, py.typed
installed, the package working from elsewhere, and a clean uninstall."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import support

SCRIPT = """
import os, sys, dtlsgate
path = dtlsgate.library_path()
assert path.startswith(sys.prefix), path
assert os.path.basename(path) == "libdtlsgate.so.0", path
assert os.path.exists(os.path.join(os.path.dirname(dtlsgate.__file__), "py.typed"))
hello = open(sys.argv[1], "rb").read()
with dtlsgate.QDtlsClientVerifier() as v:
    assert v.check(hello, "127.0.0.1", 5684).verdict == dtlsgate.CheckVerdict.SendReply
print(dtlsgate.__version__, path)
"""


def interpreters():
    seen, out = set(), []
    for exe in (sys.executable, "/usr/bin/python3"):
        if os.access(exe, os.X_OK) and os.path.realpath(exe) not in seen:
            seen.add(os.path.realpath(exe))
            out.append(exe)
    return out


class PipInstall(unittest.TestCase):
    def run_ok(self, args, **kw):
        env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONDONTWRITEBYTECODE="1")
        env.pop("DTLSGATE_LIBRARY", None)  # the bundled copy must be the one found
        env.pop("PYTHONPATH", None)
        r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=180, **kw)
        self.assertEqual(r.returncode, 0, "%s\n%s%s" % (" ".join(args), r.stdout, r.stderr))
        return r.stdout

    def test_install_into_a_venv(self):
        for exe in interpreters():
            with self.subTest(python=exe):
                tmp = tempfile.mkdtemp(prefix="dtlsgate-venv.")
                self.addCleanup(shutil.rmtree, tmp, True)
                venv = os.path.join(tmp, "venv")
                self.run_ok([exe, "-m", "venv", venv])
                py = os.path.join(venv, "bin", "python")
                self.run_ok([py, "-m", "pip", "install", "./bindings/python"], cwd=support.REPO)
                out = self.run_ok([py, "-c", SCRIPT, os.path.join(support.CORPUS,
                                                                  "openssl_dtls12.bin")], cwd=tmp)
                self.assertIn("/site-packages/dtlsgate/libdtlsgate.so.0", out)
                self.run_ok([py, "-m", "pip", "uninstall", "-y", "dtlsgate"], cwd=tmp)
                r = subprocess.run([py, "-c", "import dtlsgate"], cwd=tmp, capture_output=True)
                self.assertNotEqual(r.returncode, 0)
                left = [f for _, _, files in os.walk(venv) for f in files if "dtlsgate" in f]
                self.assertEqual(left, [])
        # pip built in place: no build output was left in the source tree.
        left = [f for f in os.listdir(support.BINDING)
                if f in ("build", "dist") or f.endswith((".egg-info", ".whl"))]
        self.assertEqual(left, [])


if __name__ == "__main__":
    unittest.main()
