#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A UDP server that lets DTLS clients in only once they have returned a
cookie: Qt's secure UDP server loop with a plain socket.socket.

    datagram arrives from peer
      -> verifier.verifyClient(sock, datagram, host, port)
      -> True:  the peer proved it receives datagrams at its address; the
                datagram (verifiedHello()) starts the real DTLS handshake
         False: the library already answered with a HelloVerifyRequest (or
                ignored a datagram that was no ClientHello); dtlsError()
                says whether something went wrong

Like examples/c/verify_server.c, it stops there and prints what happened.

Usage: verify_server.py [--once] [--timeout SECONDS] [ADDRESS [PORT]]
Exit status: 0 when stopped by --once, SIGINT, SIGTERM or the timeout;
3 when --once was given and the timeout came first.
"""

import selectors
import signal
import socket
import sys
import time

from report import Report, parse_args, say

from dtlsgate import QDtlsClientVerifier


def main():
    args = parse_args("DTLS cookie-verifying UDP server (plain socket)")
    family = socket.AF_INET6 if ":" in args.address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((args.address, args.port))
    sock.setblocking(False)

    # Signals may land on one of the Go runtime's threads inside the
    # library, where they cannot interrupt a blocking call here; Python
    # then still writes to the wakeup fd, which the loop watches.
    wake_r, wake_w = socket.socketpair()
    wake_r.setblocking(False)
    wake_w.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno())
    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stop.append(signal.Signals(signum).name))

    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    sel.register(wake_r, selectors.EVENT_READ)
    deadline = time.monotonic() + args.timeout if args.timeout else None

    report = Report()
    report.listening(sock.getsockname())
    status = 0
    reason = None
    with QDtlsClientVerifier() as verifier:
        while reason is None:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            events = sel.select(left)
            if stop:
                reason = stop[0]
                break
            if not events:
                reason = "timeout"
                status = 3 if args.once else 0
                break
            for key, _ in events:
                if key.fileobj is wake_r:
                    wake_r.recv(64)
                    continue
                try:
                    data, peer = sock.recvfrom(65536)
                except (BlockingIOError, ConnectionRefusedError, InterruptedError):
                    continue  # a bounced reply is the client's problem, not ours
                if not data:
                    continue
                # The one call that matters.
                ok = verifier.verifyClient(sock, data, peer[0], peer[1])
                report.result(verifier, ok, data, peer)
                if ok and args.once:
                    reason = "once"
    report.stopped(reason)
    return status


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as e:
        say("stopped reason=failure datagrams=0 verified=0")
        print("verify_server.py: %s" % e, file=sys.stderr)
        sys.exit(1)
