#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A DTLS 1.2 echo server with pre-shared keys on dtlsgate.DtlsServer, the
library's server endpoint: a Python port of Qt's secureudpserver example,
behaving as examples/CONTRACT.md says.

The endpoint owns the sockets and its worker threads: it answers strangers
with cookies, runs the handshakes and their timers, handles restarted
clients and enforces the limits. This program takes its events, prints
each and answers every message with "echo: ...". asyncio_echo_server.py is
the same program on asyncio.

Usage: secure_udp_server.py ADDRESS PORT [--psk HEX] [--hint TEXT]
           [--deadline SECONDS] [--max-sessions N] [--idle SECONDS]
SIGINT or SIGTERM: close_notify to every client, then exit 0.
"""

import signal
import sys

from dtls_example import endpoint, parse, parser, say

from dtlsgate import DtlsgateError, DtlsServer, NotFoundError

# The contract's words for the reasons of dtlsgate.CLOSE_REASONS.
ENDED = {"fatal": "fatal", "by_app": "closed by app", "idle": "idle", "evicted": "evicted",
         "replaced": "replaced", "shutdown": "shutdown"}


class EchoServer:
    """A DtlsServer on ADDRESS:PORT, and what it does with each event."""

    def __init__(self, args, key):
        self.key = key
        self.closed_at_shutdown = 0
        # psk_requests: the endpoint asks for every identity's key (event()
        # answers), so any identity gets in. A real server fills the key
        # table instead (keys=, key_file=).
        self.server = DtlsServer(psk_requests=True, identity_hint=args.hint.encode(),
                                 handshake_deadline=args.deadline,
                                 max_sessions=args.max_sessions, idle_timeout=args.idle)
        address = endpoint(args.address, args.port)
        try:
            self.name = endpoint(*self.server.listen(address))
        except DtlsgateError as e:
            sys.exit("%s: cannot listen on %s: %s" % (sys.argv[0], address, e))

    def event(self, e):
        peer = endpoint(*e.peer)
        if e.kind == "psk_request":
            self.server.resolve_psk(e.peer, e.identity, self.key)
        elif e.kind == "connected":
            say('server: %s PSK identity "%s"' % (peer, e.identity.decode(errors="replace")))
            say("server: %s handshake complete (%s, DTLSv1.2)" % (peer, e.cipher))
        elif e.kind == "data":
            # Line-oriented peers such as openssl s_client end with a
            # newline: it is echoed, not printed.
            say('server: %s says "%s"' % (peer, e.data.rstrip(b"\r\n").decode(errors="replace")))
            try:
                self.server.send(e.peer, (b"echo: " + e.data)[:16384])
            except NotFoundError:
                pass  # the peer has gone (closed, evicted) since its message came
        elif e.kind == "moved":
            say("server: %s moved to %s" % (endpoint(*e.old_peer), peer))
        elif e.reason == "by_peer":
            say("server: %s closed the connection" % peer)
        else:
            say("server: %s session ended (%s)" % (peer, ENDED.get(e.reason, e.reason)))
            self.closed_at_shutdown += e.reason == "shutdown"

    def finish(self):
        say("server: shutting down, closed %d connection(s)" % self.closed_at_shutdown)
        self.server.close()


def arguments(description):
    ap = parser(description)
    ap.add_argument("--hint", default="dtlsgate example server", help="PSK identity hint")
    ap.add_argument("--deadline", type=float, default=30.0, help="handshake deadline, seconds")
    ap.add_argument("--max-sessions", type=int, default=0, help="most sessions held (0: 100000)")
    ap.add_argument("--idle", type=float, default=600.0, help="idle timeout, seconds (0: never)")
    return parse(ap, lambda a: "--deadline, --max-sessions and --idle must not be negative"
                 if min(a.deadline, a.max_sessions, a.idle) < 0 else None)


def main():
    args, _, key = arguments("DTLS-PSK echo server; PORT 0 picks a free one")
    echo = EchoServer(args, key)
    # stop() sends close_notify to everyone; the iteration then ends after
    # the Closed events that follow. The handler runs between two Python
    # steps of this thread, never inside a call into the library.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: echo.server.stop())
    say("server: listening on %s" % echo.name)
    for e in echo.server:
        echo.event(e)
    echo.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
