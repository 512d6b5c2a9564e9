# SPDX-License-Identifier: MIT
"""scripts/check-leftovers.py, the check at the end of `make test`: it must
fail on a process left behind (and end it), pass when none is, and not
count the processes it runs under."""

import importlib.util
import os
import subprocess
import sys
import unittest
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "check-leftovers.py")

spec = importlib.util.spec_from_file_location("check_leftovers", SCRIPT)
check_leftovers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_leftovers)


class CheckLeftovers(unittest.TestCase):
    def setUp(self):
        # A run of its own, so the run this test belongs to is not disturbed.
        self.run_id = uuid.uuid4().hex
        self.env = dict(os.environ, DTLSGATE_TEST_RUN=self.run_id)
        mark = ("DTLSGATE_TEST_RUN=%s" % self.run_id).encode()
        self.addCleanup(lambda: check_leftovers.end(check_leftovers.marked(mark)))

    def check(self, *wrapper):
        return subprocess.run(list(wrapper) + [sys.executable, SCRIPT], env=self.env,
                              capture_output=True, text=True, timeout=30)

    def test_a_process_left_behind_fails_the_run_and_is_ended(self):
        # As a test script that backgrounds a command and exits: the
        # command lives on, adopted by init.
        subprocess.run(["bash", "-c", "sleep 300 </dev/null >/dev/null 2>&1 & echo $!"],
                       env=self.env, check=True, capture_output=True, text=True, timeout=10)
        r = self.check()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("1 process(es) of this run still alive", r.stdout)
        self.assertIn("sleep 300", r.stdout)
        r = self.check()  # it was ended: the next check finds nothing
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_nothing_left_passes(self):
        r = self.check()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("no process of this run is left", r.stdout)

    def test_the_commands_it_runs_under_do_not_count(self):
        # make runs it from a shell that carries the mark too.
        r = self.check("bash", "-c", '"$@"; exit $?', "make-recipe")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_without_a_run_id_it_refuses(self):
        env = dict(os.environ)
        env.pop("DTLSGATE_TEST_RUN", None)
        r = subprocess.run([sys.executable, SCRIPT], env=env, capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main()
