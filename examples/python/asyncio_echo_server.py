#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The DTLS-PSK echo server of secure_udp_server.py on asyncio, with the
same arguments and output (examples/CONTRACT.md).

`async for` over the DtlsServer waits on the endpoint's event descriptor
with loop.add_reader, so the loop never blocks and other coroutines run
meanwhile; the endpoint's own threads do the network work.

Usage: asyncio_echo_server.py ADDRESS PORT [--psk HEX] [--hint TEXT]
           [--deadline SECONDS] [--max-sessions N] [--idle SECONDS]
SIGINT or SIGTERM: close_notify to every client, then exit 0.
"""

import asyncio
import signal
import sys

from dtls_example import say
from secure_udp_server import EchoServer, arguments


async def serve(echo):
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, echo.server.stop)
    say("server: listening on %s" % echo.name)
    async for e in echo.server:
        echo.event(e)
    echo.finish()


def main():
    args, _, key = arguments("DTLS-PSK echo server on asyncio; PORT 0 picks a free one")
    asyncio.run(serve(EchoServer(args, key)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
