#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The Python binding's cost next to the C ABI's and next to Qt's C++
QDtlsClientVerifier, for the verification of a ClientHello that carries a
valid cookie (the call every admitted client costs a server).

    bench/bench_python.py BENCH_DTLSGATE [BENCH_QT] [DATAGRAM.bin]

BENCH_DTLSGATE is build/bench_dtlsgate (bench/bench_dtlsgate.c), which
times the C calls, and BENCH_QT build/bench_qt (bench/bench_qt.cpp), the
same calls of Qt; this script times the same calls through the dtlsgate
package, on the same datagram (default tests/corpus/openssl_dtls12.bin)
and the same kind of loopback sockets, plus verifyClients() on batches of
BATCH datagrams (ns per datagram). Like bench/run.sh, the programs take
turns, 3 rounds of about BENCH_SECONDS (default 1) seconds per operation,
and the best round counts. Prints a table of ns per call and the ratios.
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
BATCH = 32


def timed(call, expect, seconds, per_call=1):
    """ns per call of call() (per datagram: per_call datagrams a call), in
    batches until `seconds` have passed."""
    batch, calls, start = max(1, 1000 // per_call), 0, time.perf_counter_ns()
    deadline = start + int(seconds * 1e9)
    while True:
        for _ in range(batch):
            if call() != expect:
                raise SystemExit("bench_python: a call did not return %r" % (expect,))
        calls += batch
        now = time.perf_counter_ns()
        if now >= deadline:
            return (now - start) / (calls * per_call)


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
            batch = [(second, ("127.0.0.1", port))] * BATCH
            ops = {
                "verify_client_valid_cookie":
                    (lambda: v.verifyClient(server, second, "127.0.0.1", port), True, 1),
                "verify_clients_valid_cookie":
                    (lambda: v.verifyClients(server, batch), [True] * BATCH, BATCH),
                "check_valid_cookie":
                    (lambda: v.check(second, "127.0.0.1", port).verdict, verified, 1),
            }
            out = {}
            for name, (call, expect, per_call) in ops.items():
                timed(call, expect, 0.1, per_call)  # warm-up
                out[name] = timed(call, expect, seconds, per_call)
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
    args = argv[1:]
    datagram = os.path.join(support.CORPUS, "openssl_dtls12.bin")
    if args and args[-1].endswith(".bin"):
        datagram = args.pop()
    if len(args) not in (1, 2):
        print("usage: bench_python.py BENCH_DTLSGATE [BENCH_QT] [DATAGRAM.bin]", file=sys.stderr)
        return 2
    with open(datagram, "rb") as f:
        hello = f.read()
    print("Python binding vs the C ABI%s on %s, taking turns (3 rounds of %g s per "
          "operation)..." % (" and Qt's C++" if len(args) == 2 else "", datagram, SECONDS),
          flush=True)
    best = {"C": {}, "Qt": {}, "Python": {}}
    for _ in range(ROUNDS):
        rounds = [("C", lambda: c_round(args[0], datagram))]
        if len(args) == 2:
            rounds.append(("Qt", lambda: c_round(args[1], datagram)))
        rounds.append(("Python", lambda: python_round(hello, SECONDS)))
        for who, run in rounds:
            for name, ns in run().items():
                best[who][name] = min(ns, best[who].get(name, ns))
    print("Python %s (%s), dtlsgate %s from %s"
          % (sys.version.split()[0], sys.executable, dtlsgate.library_version(),
             dtlsgate.library_path()))
    # (label, the Python operation, the C and Qt one it is set against)
    rows = [("verifyClient, valid cookie (socket.socket)", "verify_client_valid_cookie",
             "verify_client_valid_cookie"),
            ("verifyClients x%d, per datagram" % BATCH, "verify_clients_valid_cookie",
             "verify_client_valid_cookie"),
            ("check(), valid cookie (no socket)", "check_valid_cookie", "check_valid_cookie")]
    print("%-44s %10s %10s %10s %9s %9s" % ("operation (best of 3), ns/op", "C", "Qt C++",
                                            "Python", "Python/C", "Qt/Python"))
    for label, name, against in rows:
        py, c, qt = best["Python"][name], best["C"][against], best["Qt"].get(against)
        print("%-44s %10.1f %10s %10.1f %8.2fx %9s"
              % (label, c, "-" if qt is None else "%.1f" % qt, py, py / c,
                 "-" if qt is None else "%.2fx" % (qt / py)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
