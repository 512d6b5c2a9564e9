#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An on-path attacker's forgery search against a secure UDP example server.

    cbc_forgery.py SERVER_COMMAND...

Starts the server (examples/CONTRACT.md: the command gets "127.0.0.1 0"
appended) and a real `openssl s_client` that offers only
PSK-AES128-CBC-SHA256, through a relay that plays the attacker. Once the
client's first line is echoed, the relay takes the client's record whose
last cipher block is all padding and sends the server 512 forgeries of it
from the client's address: the 256 values of the byte that decides whether
17 bytes of padding look consistent, each whole and cut down to an IV and
three blocks (the shape that made pion's CBC code panic). The server must
keep running, report nothing about them, and still echo the client's next
line. Exit status 0 when all of that holds. Loopback only, standard library
only.
"""

import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

KEY = "1a2b3c4d5e6f"  # the examples' default key
# 15 characters and a newline: with a 32-byte MAC the plaintext fills whole
# blocks, so the record ends in a block of sixteen 15s.
LINE1 = b"forgery-targets\n"
LINE2 = b"after-forgeries\n"
TIMEOUT = 15.0


def fail(why: str, server_out: str = "") -> int:
    print("cbc_forgery: FAIL: " + why)
    if server_out:
        print("----- server output -----\n" + server_out + "-----")
    return 1


def forgeries(record: bytes, seq_base: int):
    """The 512 forged records built from one observed record."""
    body = record[13:]

    def forge(b: bytearray, v: int) -> bytes:
        m = len(b)
        for i in range(m - 32, m - 16):
            b[i] ^= 15 ^ 16
        b[m - 33] ^= v
        return bytes(b)

    def header(seq: int, n: int) -> bytes:
        return record[:3] + b"\x00\x01" + seq.to_bytes(6, "big") + n.to_bytes(2, "big")

    for v in range(256):
        yield header(seq_base + 2 * v, len(body)) + forge(bytearray(body), v)
        yield header(seq_base + 2 * v + 1, 64) + forge(bytearray(body[-64:]), v)


class Relay(threading.Thread):
    """Forwards between the client and the server and keeps the client's
    epoch-1 application data records; forge() sends as the client."""

    def __init__(self, server_port: int):
        super().__init__(daemon=True)
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.bind(("127.0.0.1", 0))
        self.server = ("127.0.0.1", server_port)
        self.client = None
        self.records = []  # the client's application data records
        self.stop = False

    def run(self) -> None:
        while not self.stop:
            ready, _, _ = select.select([self.front, self.back], [], [], 0.1)
            for s in ready:
                d, addr = s.recvfrom(65535)
                if s is self.front:
                    self.client = addr
                    if len(d) >= 13 and d[0] == 23 and d[3:5] == b"\x00\x01":
                        self.records.append(d)
                    self.back.sendto(d, self.server)
                elif self.client:
                    self.front.sendto(d, self.client)

    def forge(self, record: bytes) -> int:
        seq = int.from_bytes(record[5:11], "big") + 1000
        n = 0
        for f in forgeries(record, seq):
            self.back.sendto(f, self.server)
            n += 1
        return n


def read_until(proc, want: bytes, deadline: float) -> bytes:
    """Reads proc's stdout until want shows up or the deadline passes."""
    seen = b""
    fd = proc.stdout.fileno()
    while want not in seen and time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            seen += chunk
    return seen


def main(argv) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    server = subprocess.Popen(argv + ["127.0.0.1", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    client = None
    try:
        first = read_until(server, b"\n", time.time() + TIMEOUT)
        if b"listening on 127.0.0.1:" not in first:
            return fail("the server did not start", first.decode(errors="replace"))
        port = int(first.split(b"listening on 127.0.0.1:")[1].split()[0])
        relay = Relay(port)
        relay.start()
        client = subprocess.Popen(
            ["openssl", "s_client", "-dtls1_2", "-quiet", "-connect", "127.0.0.1:%d" % relay.front.getsockname()[1],
             "-psk", KEY, "-psk_identity", "forger", "-cipher", "PSK-AES128-CBC-SHA256"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        deadline = time.time() + TIMEOUT
        client.stdin.write(LINE1)
        client.stdin.flush()
        got = read_until(client, b"echo: " + LINE1, deadline)
        if b"echo: " + LINE1 not in got:
            return fail("no echo of the first line: %r" % got)
        target = [r for r in relay.records if len(r) == 13 + 80]
        if not target:
            return fail("no record of the expected shape among %s" % [len(r) for r in relay.records])
        sent = relay.forge(target[0])
        time.sleep(0.5)
        if server.poll() is not None:
            out = server.stdout.read().decode(errors="replace")
            return fail("the server exited with %s after %d forgeries" % (server.returncode, sent), out)
        client.stdin.write(LINE2)
        client.stdin.flush()
        got = read_until(client, b"echo: " + LINE2, time.time() + TIMEOUT)
        if b"echo: " + LINE2 not in got:
            return fail("no echo after the forgeries: %r" % got)
        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=TIMEOUT)
        out = (first + out).decode(errors="replace")
        if server.returncode != 0 or "failed" in out or "closed the connection" in out or \
                "session ended (fatal)" in out:
            return fail("the server's exit status %s or output is wrong" % server.returncode, out)
        print("cbc_forgery: ok: %d forged records dropped, the session still echoes" % sent)
        return 0
    finally:
        for p in (client, server):
            if p and p.poll() is None:
                p.kill()
                p.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
