#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fails if a process started by this test run is still alive, and ends it.

`make test` gives every command it runs DTLSGATE_TEST_RUN=<an id of its
own>, which every child inherits; at the end this script looks for that
variable in /proc/*/environ. Whatever still carries it, apart from this
script and the processes it runs under (make and its shell), was left
behind by a test: it is listed, sent SIGTERM and, if it lingers, SIGKILL,
and the exit status is 1. Exit status 0 when nothing was left.

    DTLSGATE_TEST_RUN=ID scripts/check-leftovers.py
"""

import os
import signal
import sys
import time

VARIABLE = "DTLSGATE_TEST_RUN"


def ancestors() -> set:
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            with open("/proc/%d/stat" % pid) as f:
                # The command name, in parentheses, may contain spaces.
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def marked(mark: bytes) -> dict:
    """pid -> command line of every process whose environment has mark."""
    found, skip = {}, ancestors()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in skip:
            continue
        try:
            with open("/proc/%s/environ" % name, "rb") as f:
                if mark not in f.read().split(b"\0"):
                    continue
            with open("/proc/%s/cmdline" % name, "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        found[int(name)] = cmdline or "(zombie)"
    return found


def end(pids) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and any(os.path.exists("/proc/%d" % p) for p in pids):
            time.sleep(0.05)


def main() -> int:
    run = os.environ.get(VARIABLE)
    if not run:
        print("check-leftovers: %s is not set" % VARIABLE, file=sys.stderr)
        return 2
    left = marked(("%s=%s" % (VARIABLE, run)).encode())
    if not left:
        print("check-leftovers: no process of this run is left")
        return 0
    print("check-leftovers: FAIL: %d process(es) of this run still alive:" % len(left))
    for pid, cmdline in sorted(left.items()):
        print("  %d %s" % (pid, cmdline[:200]))
    end(left)
    return 1


if __name__ == "__main__":
    sys.exit(main())
