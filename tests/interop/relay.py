#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A UDP relay on loopback that records every datagram it passes on.

    relay.py --listen HOST --server HOST PORT --log FILE [--timeout SECONDS]

Clients send to the relay's port (printed as "relay-ready port=P" once it is
bound); the relay forwards each datagram to the server from one fixed
socket and sends the server's answers back to the client that spoke last.
Every datagram is appended to the log as one JSON object per line:

    {"dir": "c2s", "t": 0.0123, "len": 205, "hex": "16feff..."}

dir is "c2s" (client to server) or "s2c"; t is seconds since the relay
started. Anything that is not a datagram (the server's port closing, for
instance) is logged as {"dir": "note", "t": ..., "text": ...}.

Only loopback addresses are accepted. The relay stops after --timeout
seconds (default 30) or on SIGTERM/SIGINT. Standard library only.
"""

import argparse
import ipaddress
import json
import select
import signal
import socket
import sys
import time


def loopback(host: str) -> str:
    if not ipaddress.ip_address(host).is_loopback:
        raise argparse.ArgumentTypeError("%s is not a loopback address" % host)
    return host


def family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def main() -> int:
    ap = argparse.ArgumentParser(description="record-and-forward UDP relay (loopback only)")
    ap.add_argument("--listen", type=loopback, required=True, help="address clients send to")
    ap.add_argument("--server", nargs=2, metavar=("HOST", "PORT"), required=True)
    ap.add_argument("--log", required=True, help="JSON-lines file to append datagrams to")
    ap.add_argument("--timeout", type=float, default=30.0)
    args = ap.parse_args()
    server_host = loopback(args.server[0])
    server_port = int(args.server[1])

    # Stop cleanly on a polite signal: the log is flushed line by line anyway.
    def stop(signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    front = socket.socket(family(args.listen), socket.SOCK_DGRAM)
    front.bind((args.listen, 0))
    back = socket.socket(family(server_host), socket.SOCK_DGRAM)
    back.connect((server_host, server_port))

    start = time.monotonic()
    deadline = start + args.timeout
    client = None
    log = open(args.log, "a", encoding="ascii")

    def record(direction, **fields):
        entry = {"dir": direction, "t": round(time.monotonic() - start, 6), **fields}
        log.write(json.dumps(entry) + "\n")
        log.flush()

    print("relay-ready port=%d" % front.getsockname()[1], flush=True)

    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            record("note", text="relay timeout")
            return 0
        readable, _, _ = select.select([front, back], [], [], left)
        if front in readable:
            data, client = front.recvfrom(65536)
            record("c2s", len=len(data), hex=data.hex())
            try:
                back.send(data)
            except OSError as e:
                record("note", text="forwarding to the server failed: %s" % e)
        if back in readable:
            try:
                data = back.recv(65536)
            except ConnectionRefusedError:
                # An earlier datagram hit a closed port (the server has exited).
                record("note", text="server port closed")
                continue
            record("s2c", len=len(data), hex=data.hex())
            if client is not None:
                try:
                    front.sendto(data, client)
                except OSError as e:
                    record("note", text="forwarding to the client failed: %s" % e)


if __name__ == "__main__":
    sys.exit(main())
