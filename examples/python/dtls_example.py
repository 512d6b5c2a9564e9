# SPDX-License-Identifier: MIT
"""What the secure UDP examples in Python share: finding the
dtlsgate package (installed, or else the repository's bindings/python),
their common arguments and the way they print (examples/CONTRACT.md)."""

import argparse
import ipaddress
import os
import socket
import sys

try:
    import dtlsgate  # noqa: F401
except ModuleNotFoundError:  # run from the repository without installing
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    os.pardir, os.pardir, "bindings", "python"))
    import dtlsgate  # noqa: F401

DEFAULT_KEY = "1a2b3c4d5e6f"


def say(line):
    """One line of the contract, on stdout at once."""
    print(line, flush=True)


def endpoint(host, port):
    """127.0.0.1:40000, or [::1]:40000 for IPv6."""
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def summary(dtls):
    """ "CIPHER, DTLSv1.2" for a QDtls whose handshake is complete."""
    cipher = dtls.sessionCipher()
    return "%s, %s" % (cipher.name(), cipher.protocolString())


def parse(ap, check=None):
    """ADDRESS PORT [--psk HEX] plus what the caller added to `ap`.
    Returns (args, address family, key); check(args) may name a problem."""
    ap.add_argument("address", help="numeric IPv4 or IPv6 address")
    ap.add_argument("port", type=int, help="UDP port")
    ap.add_argument("--psk", default=DEFAULT_KEY, help="pre-shared key in hex")
    args = ap.parse_args()
    try:
        version = ipaddress.ip_address(args.address).version
        key = bytes.fromhex(args.psk)
    except ValueError as e:
        ap.error(str(e))
    problem = "--psk must not be empty" if not key else (check(args) if check else None)
    if problem:
        ap.error(problem)
    return args, socket.AF_INET6 if version == 6 else socket.AF_INET, key


def parser(description):
    return argparse.ArgumentParser(description=description)
