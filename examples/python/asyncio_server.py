#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The cookie-verifying UDP server of verify_server.py, on asyncio: a
DatagramProtocol hands each datagram to QDtlsClientVerifier.verifyClient()
with its transport, through which the HelloVerifyRequest goes back.

Usage: asyncio_server.py [--once] [--timeout SECONDS] [ADDRESS [PORT]]
Same output and exit status as verify_server.py.
"""

import asyncio
import signal
import sys

from report import Report, parse_args, say

from dtlsgate import QDtlsClientVerifier


class VerifyingProtocol(asyncio.DatagramProtocol):
    def __init__(self, verifier, report, once, done):
        self.verifier = verifier
        self.report = report
        self.once = once
        self.done = done  # a future, given the reason to stop
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        if not data:
            return
        # The one call that matters: the transport sends the reply.
        ok = self.verifier.verifyClient(self.transport, data, addr[0], addr[1])
        self.report.result(self.verifier, ok, data, addr)
        if ok and self.once and not self.done.done():
            self.done.set_result("once")

    def error_received(self, exc):
        pass  # a bounced reply (ICMP port unreachable) is the client's problem


async def serve(args):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda name=sig.name: done.done() or done.set_result(name))
    report = Report()
    with QDtlsClientVerifier() as verifier:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: VerifyingProtocol(verifier, report, args.once, done),
            local_addr=(args.address, args.port))
        report.listening(transport.get_extra_info("sockname"))
        status = 0
        try:
            reason = await asyncio.wait_for(done, args.timeout or None)
        except asyncio.TimeoutError:
            reason = "timeout"
            status = 3 if args.once else 0
        transport.close()
    report.stopped(reason)
    return status


if __name__ == "__main__":
    args = parse_args("DTLS cookie-verifying UDP server (asyncio)")
    try:
        sys.exit(asyncio.run(serve(args)))
    except OSError as e:
        say("stopped reason=failure datagrams=0 verified=0")
        print("asyncio_server.py: %s" % e, file=sys.stderr)
        sys.exit(1)
