# SPDX-License-Identifier: MIT
"""What the two example servers share: their command line and the lines
they print, which are those of examples/c/verify_server.c, so that people
and the interop scripts (tests/interop/exchange.py) read all three alike:

    listening address=127.0.0.1 port=40123 library=0.1.0
    not-verified peer=127.0.0.1:5555 bytes=205
    verified peer=127.0.0.1:5555 bytes=237 hex=16feff...
    error peer=127.0.0.1:5555 bytes=205 code=3 name=UnderlyingSocketError message=...
    stopped reason=once datagrams=2 verified=1

It also finds the dtlsgate package: installed, or else the repository's
bindings/python.
"""

import argparse
import ipaddress
import os
import sys

try:
    import dtlsgate
except ModuleNotFoundError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    os.pardir, os.pardir, "bindings", "python"))
    import dtlsgate


def parse_args(description):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("address", nargs="?", default="127.0.0.1",
                    help="numeric IPv4 or IPv6 address to bind (default 127.0.0.1)")
    ap.add_argument("port", nargs="?", type=int, default=0,
                    help="UDP port (default 0: the system picks one)")
    ap.add_argument("--once", action="store_true", help="exit after the first verified ClientHello")
    ap.add_argument("--timeout", type=float, default=0,
                    help="stop after this many seconds, whatever happens")
    args = ap.parse_args()
    try:
        ipaddress.ip_address(args.address)
    except ValueError:
        ap.error("%s is not a numeric IPv4 or IPv6 address" % args.address)
    if not 0 <= args.port <= 65535:
        ap.error("bad port %d (0 to 65535; 0 picks one)" % args.port)
    if args.timeout < 0:
        ap.error("--timeout wants a positive number of seconds")
    return args


def say(line):
    print(line, flush=True)


class Report:
    """Counts datagrams and prints one line per event."""

    def __init__(self):
        self.datagrams = 0
        self.verified = 0

    def listening(self, sockname):
        say("listening address=%s port=%d library=%s"
            % (sockname[0], sockname[1], dtlsgate.library_version()))

    def result(self, verifier, ok, data, peer):
        """After verifier.verifyClient(...) returned ok for data from peer."""
        self.datagrams += 1
        host = "[%s]" % peer[0] if ":" in peer[0] else peer[0]
        where = "peer=%s:%d bytes=%d" % (host, peer[1], len(data))
        if ok:
            self.verified += 1
            hello = verifier.verifiedHello()
            say("verified %s hex=%s" % (where, hello.hex()))
            if hello != data:
                say("warning verified hello differs from the datagram received (%d bytes)"
                    % len(data))
        elif verifier.dtlsError() == dtlsgate.QDtlsError.NoError:
            # A HelloVerifyRequest went back, or this was no ClientHello.
            say("not-verified %s" % where)
        else:
            error = verifier.dtlsError()
            say("error %s code=%d name=%s message=%s"
                % (where, error, error.name, verifier.dtlsErrorString()))

    def stopped(self, reason):
        say("stopped reason=%s datagrams=%d verified=%d" % (reason, self.datagrams, self.verified))
