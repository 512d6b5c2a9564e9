#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Replays a client's verified ClientHello at its established DTLS session.

    replay.py --server HOST PORT [--server-out FILE] [--delay SECONDS] [--psk HEX]
              [--identity TEXT]

Whoever saw the ClientHello that carried a valid cookie, and can send from
the client's address, can send it again for as long as the cookie lives
(60 s). RFC 6347 section 4.2.8 lets a server drop the old session once the
cookie exchange is done, but a replayed cookie proves nothing; the example
servers keep the established session until the new handshake completes,
and here it never does.

The script puts openssl s_client behind a relay of its own, so the relay's
socket towards the server is the client's address as the server sees it.

1. The client does its handshake; "before replay" must come back echoed
   (as "echo: before replay", or unchanged from a plain echo server).
2. --delay seconds later (default 5) the relay sends the cookie-bearing
   ClientHello again, byte for byte, from that same socket. What the server
   answers in epoch 0 from then on (its ServerHello flight) belongs to the
   attacker and never reaches the client.
3. "after replay" must still come back echoed.
4. The relay sends a fatal alert in epoch 0 from the same socket, as the
   client could at any time during a handshake: it ends the replay's
   handshake. "after alert" must still come back echoed.
5. With --server-out, the server's standard output (examples/CONTRACT.md
   lines): no second "handshake complete" for the peer, and its session
   must not have ended ("started over", "session ended"). A server that
   prints each handshake's steps (the DIY server: "cookie verified") must
   also show that the replay started a handshake ("cookie verified" a
   second time) that failed on the alert ("handshake failed" once); the
   endpoint takes the replay for the copy of the hello it is (same client
   random) and starts nothing.

Prints what it saw, then "PASS" or "FAIL: REASON"; exit status 0 on PASS.
Loopback only; standard library only.
"""

import argparse
import ipaddress
import os
import select
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dtlswire  # noqa: E402


# handshake_failure, fatal, in epoch 0; the sequence number is past any the
# client used in epoch 0, so no replay window drops it.
FATAL_ALERT = bytes.fromhex("15" "fefd" "0000" "000000000100" "0002" "0228")


def epoch(datagram):
    """The epoch of the datagram's first record (bytes 3-4 of its header)."""
    return int.from_bytes(datagram[3:5], "big") if len(datagram) >= 13 else None


def carries_cookie(datagram):
    try:
        m = dtlswire.parse(datagram)
    except dtlswire.ParseError:
        return False
    return m.msg_type == dtlswire.CLIENT_HELLO and bool(m.cookie)


class Relay(threading.Thread):
    """Client <-> server on loopback, recording the cookie-bearing ClientHello."""

    def __init__(self, host, port):
        super().__init__(daemon=True)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.front = socket.socket(family, socket.SOCK_DGRAM)
        self.front.bind((host, 0))
        self.back = socket.socket(family, socket.SOCK_DGRAM)
        self.back.connect((host, port))
        self.client = None
        self.hello = None  # the last ClientHello with a cookie the client sent
        self.replayed = False
        self.withheld = 0  # server datagrams kept from the client after the replay
        self.done = False

    def replay(self):
        self.replayed = True
        self.back.send(self.hello)

    def run(self):
        while not self.done:
            readable, _, _ = select.select([self.front, self.back], [], [], 0.1)
            if self.front in readable:
                data, self.client = self.front.recvfrom(65536)
                if carries_cookie(data):
                    self.hello = data
                self.back.send(data)
            if self.back in readable:
                try:
                    data = self.back.recv(65536)
                except ConnectionRefusedError:
                    continue  # the server is gone; the checks will say so
                if self.replayed and epoch(data) == 0:
                    self.withheld += 1
                elif self.client is not None:
                    self.front.sendto(data, self.client)


class Client:
    """openssl s_client, fed lines on stdin; its output lines are collected."""

    def __init__(self, host, port, key, identity):
        target = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
        self.proc = subprocess.Popen(
            ["openssl", "s_client", "-dtls1_2", "-psk", key, "-psk_identity", identity,
             "-quiet", "-connect", target],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            with self.changed:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
                self.changed.notify_all()

    def send(self, text):
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()

    def wait_echo(self, text, seconds):
        """Waits for "echo: TEXT", or TEXT alone from a plain echo server."""
        with self.changed:
            return self.changed.wait_for(
                lambda: "echo: " + text in self.lines or text in self.lines, seconds)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def wait_until(condition, seconds):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def server_lines(path, peer, what):
    with open(path, encoding="utf-8", errors="replace") as f:
        return sum(1 for line in f if line.startswith("server: %s %s" % (peer, what)))


def run(args, relay, client):
    """The steps of the module docstring; returns None or what went wrong."""
    client.send("before replay")
    if not client.wait_echo("before replay", 15):
        return "no echo before the replay"
    if relay.hello is None:
        return "the client sent no ClientHello with a cookie"
    print("handshake done, echo received; replaying the ClientHello in %g s" % args.delay)
    time.sleep(args.delay)
    relay.replay()
    # The server's flight shows the replay was taken in; a server that
    # ignores it sends nothing, so this wait is bounded.
    answered = wait_until(lambda: relay.withheld > 0, 2)
    print("replayed %d bytes; the server %s" % (
        len(relay.hello), "answered (kept from the client)" if answered else "did not answer"))
    client.send("after replay")
    if not client.wait_echo("after replay", 5):
        return "no echo after the replay: the established session is gone"
    print("echo after the replay received")
    relay.back.send(FATAL_ALERT)
    client.send("after alert")
    if not client.wait_echo("after alert", 5):
        return "no echo after the alert: the established session is gone"
    print("alert sent, echo after it received")
    if args.server_out:
        name = relay.back.getsockname()
        peer = "[%s]:%d" % name[:2] if ":" in name[0] else "%s:%d" % name[:2]
        started = server_lines(args.server_out, peer, "cookie verified")
        failed = server_lines(args.server_out, peer, "handshake failed")
        completed = server_lines(args.server_out, peer, "handshake complete")
        replaced = (server_lines(args.server_out, peer, "started over")
                    + server_lines(args.server_out, peer, "session ended"))
        if started and started != 2:
            return "%d handshake(s) started for %s, want 2 (one replayed)" % (started, peer)
        if started and failed != 1:
            return "%d handshake(s) failed for %s, want 1 (the replay's)" % (failed, peer)
        if completed != 1 or replaced:
            return ("the replay's handshake completed or replaced the session"
                    " (%d complete, %d started over or ended)" % (completed, replaced))
    return None


def main():
    ap = argparse.ArgumentParser(description="replay a verified ClientHello (RFC 6347 4.2.8)")
    ap.add_argument("--server", nargs=2, metavar=("HOST", "PORT"), required=True)
    ap.add_argument("--server-out", help="the server's standard output, to check its lines")
    ap.add_argument("--delay", type=float, default=5.0, help="seconds between echo and replay")
    ap.add_argument("--psk", default="1a2b3c4d5e6f")
    ap.add_argument("--identity", default="replay test", help="the client's PSK identity")
    args = ap.parse_args()
    host = args.server[0]
    if not ipaddress.ip_address(host).is_loopback:
        ap.error("%s is not a loopback address" % host)

    relay = Relay(host, int(args.server[1]))
    relay.start()
    client = Client(host, relay.front.getsockname()[1], args.psk, args.identity)
    try:
        problem = run(args, relay, client)
    finally:
        client.stop()
        relay.done = True
    if problem:
        print("client output: %s" % " | ".join(client.lines[-6:]))
        print("FAIL: " + problem)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
