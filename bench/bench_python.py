#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The Python binding's cost next to the C ABI's, for the verification of a
ClientHello that carries a valid cookie (the call every admitted client
costs a server).

    bench/bench_python.py BENCH_DTLSGATE [DATAGRAM.bin]

BENCH_DTLSGATE is build/bench_dtlsgate (bench/bench_dtlsgate.c), which
times the C calls; this script times the same calls through the dtlsgate
package, on the same datagram (default tests/corpus/openssl_dtls12.bin)
and the same kind of loopback sockets. Like bench/run.sh, the two take
turns, 3 rounds of about BENCH_SECONDS (default 1) seconds per operation,
and the best round counts. Prints a table of ns per call and the ratio.
"""

import os
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "tests", "python"))

import support  # noqa: E402  (puts the binding and the DTLS helpers on sys.path)

import dtlsgate  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS") or 1)
ROUNDS = 3


def timed(call, expect, seconds):
    """ns per call of call(), in batches until `seconds` have passed."""
    batch, calls, start = 1000, 0, time.perf_counter_ns()
    deadline = start + int(seconds * 1e9)
    while True:
        for _ in range(batch):
            if call() != expect:
                raise SystemExit("bench_python: a call did not return %r" % (expect,))
        calls += batch
        now = time.perf_counter_ns()
        if now >= deadline:
            return (now - start) / calls


def python_round(hello, seconds):
    """One round of each operation: {name: ns per call}."""
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    client = support.udp()
    port = support.port_of(client)
    verified = dtlsgate.CheckVerdict.Verified
    try:
        with dtlsgate.QDtlsClientVerifier() as v:
            # A fresh cookie, as the C driver mints one before each run.
            second = support.with_cookie(hello, support.cookie_of(
                v.check(hello, "127.0.0.1", port).reply))
            ops = {
                "verify_client_valid_cookie":
                    lambda: v.verifyClient(server, second, "127.0.0.1", port),
                "check_valid_cookie": lambda: v.check(second, "127.0.0.1", port).verdict,
            }
            expect = {"verify_client_valid_cookie": True, "check_valid_cookie": verified}
            out = {}
            for name, call in ops.items():
                timed(call, expect[name], 0.1)  # warm-up
                out[name] = timed(call, expect[name], seconds)
            return out
    finally:
        server.close()
        client.close()


def c_round(binary, datagram):
    env = dict(os.environ, BENCH_RUNS="1", BENCH_SECONDS=str(SECONDS))
    r = subprocess.run([binary, datagram], env=env, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise SystemExit("bench_python: %s failed:\n%s" % (binary, r.stderr))
    return {f[1]: float(f[2]) for f in (line.split() for line in r.stdout.splitlines())
            if f and f[0] == "bench"}


def main(argv):
    if len(argv) not in (2, 3):
        print("usage: bench_python.py BENCH_DTLSGATE [DATAGRAM.bin]", file=sys.stderr)
        return 2
    datagram = argv[2] if len(argv) == 3 else os.path.join(support.CORPUS, "openssl_dtls12.bin")
    with open(datagram, "rb") as f:
        hello = f.read()
    print("Python binding vs the C ABI on %s, taking turns (3 rounds of %g s per operation)..."
          % (datagram, SECONDS), flush=True)
    best_c, best_py = {}, {}
    for _ in range(ROUNDS):
        for best, got in ((best_c, c_round(argv[1], datagram)),
                          (best_py, python_round(hello, SECONDS))):
            for name, ns in got.items():
                best[name] = min(ns, best.get(name, ns))
    print("Python %s (%s), dtlsgate %s from %s"
          % (sys.version.split()[0], sys.executable, dtlsgate.library_version(),
             dtlsgate.library_path()))
    rows = [("verifyClient, valid cookie (socket.socket)", "verify_client_valid_cookie"),
            ("check(), valid cookie (no socket)", "check_valid_cookie")]
    print("%-44s %12s %12s %9s" % ("operation (best of 3)", "C ns/op", "Python", "Python/C"))
    for label, name in rows:
        c, py = best_c[name], best_py[name]
        print("%-44s %12.1f %12.1f %8.2fx" % (label, c, py, py / c))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
