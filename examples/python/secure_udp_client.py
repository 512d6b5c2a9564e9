#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""DTLS 1.2 clients with pre-shared keys: a Python port of Qt's
secureudpclient example, behaving as examples/CONTRACT.md says.

Each association has its own UDP socket and QDtls. It connects, gives its
identity and key when pskRequired asks, then sends "ping I from NAME" and
waits for the server's "echo: ..." before sending the next one; after the
last echo it closes the connection with close_notify. All associations
share one selectors loop, whose wait is bounded by the nearest
retransmission timer.

Usage: secure_udp_client.py ADDRESS PORT [--name NAME] [--clients N]
                            [--count K] [--psk HEX] [--identity TEXT]
Exit status: 0 when every association got all its echoes, else 1.
"""

import selectors
import socket
import sys
import time

from dtls_example import endpoint, parse, parser, say, summary

from dtlsgate import QDtls, QDtlsError, QSslConfiguration, QSslSocket

RUN_LIMIT = 15.0  # seconds for the whole run


class Association:
    """One client connection: its socket, its QDtls and how far it got."""

    def __init__(self, name, server, family, count, identity, key):
        self.name = name
        self.count = count
        self.sent = 0  # pings sent; the echo of the last one is awaited
        self.result = None  # True: all echoes back; False: failed
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.dtls = QDtls(QSslSocket.SslClientMode)
        config = QSslConfiguration.defaultDtlsConfiguration()
        config.setPeerVerifyMode(QSslSocket.VerifyNone)  # PSK: no certificates
        self.dtls.setDtlsConfiguration(config)
        self.dtls.setPeer(server[0], server[1])

        def psk_required(authenticator):
            self.say('server\'s identity hint "%s"'
                     % authenticator.identityHint().decode("utf-8", "replace"))
            authenticator.setIdentity(identity)
            authenticator.setPreSharedKey(key)

        def handshake_timeout():
            if not self.dtls.handleTimeout(self.sock):
                self.fail(self.dtls.dtlsErrorString())

        self.dtls.pskRequired.connect(psk_required)
        self.dtls.handshakeTimeout.connect(handshake_timeout)

    def say(self, text):
        say("client %s: %s" % (self.name, text))

    def start(self):
        if not self.dtls.doHandshake(self.sock):
            self.fail(self.dtls.dtlsErrorString())

    def fail(self, why):
        if self.result is None:
            self.result = False
            self.say("failed: " + why)
            self.dtls.abortHandshake(self.sock)

    def datagram(self, data):
        if self.result is not None:
            return
        if self.dtls.handshakeState() == QDtls.HandshakeInProgress:
            if not self.dtls.doHandshake(self.sock, data):
                self.fail(self.dtls.dtlsErrorString())
            elif self.dtls.isConnectionEncrypted():
                self.say("handshake complete (%s)" % summary(self.dtls))
                self.ping()
            return
        reply = self.dtls.decryptDatagram(self.sock, data)
        if reply:
            self.say('got "%s"' % reply.decode("utf-8", "replace"))
            if self.sent < self.count:
                self.ping()
            else:
                self.finish()
        elif self.dtls.dtlsError() != QDtlsError.NoError:
            self.fail(self.dtls.dtlsErrorString())

    def ping(self):
        self.sent += 1
        text = "ping %d from %s" % (self.sent, self.name)
        if self.dtls.writeDatagramEncrypted(self.sock, text.encode()) < 0:
            self.fail(self.dtls.dtlsErrorString())
        else:
            self.say('sent "%s"' % text)

    def finish(self):
        if self.dtls.shutdown(self.sock):
            self.result = True
            self.say("shut down")
        else:
            self.fail(self.dtls.dtlsErrorString())

    def close(self):
        self.dtls.close()
        self.sock.close()


def main():
    ap = parser("DTLS-PSK echo clients (Qt's secureudpclient)")
    ap.add_argument("--name", default="client")
    ap.add_argument("--clients", type=int, default=1, help="connections at once")
    ap.add_argument("--count", type=int, default=3, help="messages per connection")
    ap.add_argument("--identity", default="dtlsgate example client", help="PSK identity")
    args, family, key = parse(ap, lambda a: None if a.clients >= 1 and a.count >= 1 and
                              0 < a.port < 65536 else
                              "--clients and --count must be at least 1, PORT 1..65535")
    where = endpoint(args.address, args.port)
    names = [args.name] if args.clients == 1 else \
        ["%s-%d" % (args.name, i + 1) for i in range(args.clients)]
    sel = selectors.DefaultSelector()
    clients = []
    for name in names:
        a = Association(name, (args.address, args.port), family, args.count,
                        args.identity.encode(), key)
        clients.append(a)
        sel.register(a.sock, selectors.EVENT_READ, a)
        a.say("connecting to %s" % where)
        a.start()

    deadline = time.monotonic() + RUN_LIMIT
    while any(a.result is None for a in clients):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        timers = [ms for ms in (a.dtls.remainingTimeout() for a in clients if a.result is None)
                  if ms >= 0]
        wait = min([left] + [ms / 1000.0 for ms in timers])
        for key_, _ in sel.select(wait):
            a = key_.data
            while a.result is None:
                try:
                    data, _ = a.sock.recvfrom(65536)
                except (BlockingIOError, InterruptedError):
                    break
                except ConnectionRefusedError:
                    continue  # nothing listens there (yet): retransmission helps
                a.datagram(data)
        for a in clients:
            if a.result is None:
                a.dtls.checkTimeout()  # emits handshakeTimeout when due
    for a in clients:
        if a.result is None:
            a.fail("no echo in time" if a.dtls.isConnectionEncrypted()
                   else "the handshake did not complete in time")
        a.close()
    return 0 if all(a.result for a in clients) else 1


if __name__ == "__main__":
    sys.exit(main())
