#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The DTLS-PSK echo server of secure_udp_server.py on asyncio, with the
same arguments and output (examples/CONTRACT.md).

A DatagramProtocol hands every datagram to the same Server logic, with the
transport as the socket: the verifier sends HelloVerifyRequests through it
and each QDtls its flights and records. Under a running event loop QDtls
schedules its own retransmission timer, so nothing here polls for
timeouts: handshakeTimeout fires by itself and calls handleTimeout.

Usage: asyncio_echo_server.py ADDRESS PORT [--psk HEX] [--hint TEXT]
SIGINT or SIGTERM: close_notify to every client, then exit 0.
"""

import asyncio
import signal
import sys

from dtls_example import parse, parser, say
from secure_udp_server import Server, peer_name


class EchoProtocol(asyncio.DatagramProtocol):
    def __init__(self, key, hint):
        self.key, self.hint = key, hint
        self.server = None

    def connection_made(self, transport):
        self.server = Server(transport, self.key, self.hint)

    def datagram_received(self, data, addr):
        self.server.datagram(data, addr)

    def error_received(self, exc):
        pass  # an ICMP error for an earlier send: that client's problem


async def serve(args, family, key):
    loop = asyncio.get_running_loop()
    try:
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: EchoProtocol(key, args.hint.encode()), local_addr=(args.address, args.port),
            family=family)
    except OSError as e:
        print("asyncio_echo_server.py: cannot bind %s %d: %s" % (args.address, args.port, e),
              file=sys.stderr)
        return 1
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    say("server: listening on %s" % peer_name(transport.get_extra_info("sockname")))
    await stop.wait()
    protocol.server.shut_down()
    transport.close()
    return 0


def main():
    ap = parser("DTLS-PSK echo server on asyncio; PORT 0 picks a free one")
    ap.add_argument("--hint", default="dtlsgate example server", help="PSK identity hint")
    args, family, key = parse(ap)
    return asyncio.run(serve(args, family, key))


if __name__ == "__main__":
    sys.exit(main())
