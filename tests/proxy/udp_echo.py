#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A plain UDP echo service, the backend that knows no DTLS: answers every
datagram with "echo: " and the datagram, to the address it came from.

    udp_echo.py HOST      prints "ready port=N" once it listens (port 0: the
                          system picks), then serves until SIGTERM or SIGINT.
"""
import signal
import socket
import sys


def main() -> int:
    host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"ready port={sock.getsockname()[1]}", flush=True)
    try:
        while True:
            data, peer = sock.recvfrom(65535)
            sock.sendto(b"echo: " + data, peer)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
