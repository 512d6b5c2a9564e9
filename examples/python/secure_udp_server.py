#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A DTLS 1.2 echo server with pre-shared keys: a Python port of Qt's
secureudpserver example, behaving as examples/CONTRACT.md says.

One UDP socket serves every client. A datagram from an address with no
session goes to the cookie verifier; once a client comes back with a valid
cookie it gets its own QDtls, which finishes the handshake (asking for the
key through pskRequired) and then decrypts what the client sends, answered
with "echo: ...". The loop is a plain selectors loop: its wait is bounded
by the nearest retransmission timer (remainingTimeout) and checkTimeout()
emits handshakeTimeout when one is due.

A verified ClientHello from a peer that has a session starts a second,
pending handshake and leaves the session working: the ClientHello may be a
replay (RFC 6347, 4.2.8). Only when that handshake completes does its
session replace the old one.

Usage: secure_udp_server.py ADDRESS PORT [--psk HEX] [--hint TEXT]
SIGINT or SIGTERM: close_notify to every client, then exit 0.
"""

import selectors
import signal
import socket
import sys

from dtls_example import endpoint, is_client_hello, parse, parser, say, summary

import dtlsgate
from dtlsgate import (CheckVerdict, QDtls, QDtlsClientVerifier, QDtlsError, QSslConfiguration,
                      QSslSocket)


def peer_name(peer):
    return endpoint(peer[0], peer[1])


class Server:
    def __init__(self, sock, key, hint):
        self.sock = sock
        self.key = key
        self.config = QSslConfiguration.defaultDtlsConfiguration()
        self.config.setPreSharedKeyIdentityHint(hint)
        self.config.setPeerVerifyMode(QSslSocket.VerifyNone)  # PSK: no certificates
        self.verifier = QDtlsClientVerifier()
        self.sessions = {}  # (host, port) -> QDtls
        self.pending = {}  # (host, port) -> QDtls of a second handshake, while sessions[peer] is up

    # -- a datagram arrives --------------------------------------------

    def datagram(self, data, peer):
        peer = peer[:2]
        dtls = self.sessions.get(peer)
        if dtls is None:
            self.knock(data, peer)
        elif dtls.handshakeState() == QDtls.HandshakeInProgress:
            self.handshake(dtls, data, peer)
        else:
            self.message(dtls, data, peer)

    def knock(self, data, peer):
        """Only a ClientHello with a valid cookie gets a session (a pending
        one if the peer has a session)."""
        try:
            verdict, reply = self.verifier.check(data, peer[0], peer[1])
        except dtlsgate.InvalidArgumentError:
            return  # an empty datagram or an address no client can have
        if verdict == CheckVerdict.SendReply:
            self.sock.sendto(reply, peer)
            say("server: %s no cookie yet, sent HelloVerifyRequest" % peer_name(peer))
        elif verdict == CheckVerdict.Verified:
            self.start(data, peer)

    def start(self, hello, peer):
        name = peer_name(peer)
        dtls = QDtls(QSslSocket.SslServerMode)
        dtls.setPeer(peer[0], peer[1])
        dtls.setDtlsConfiguration(self.config)
        dtls.setCookieVerifier(self.verifier)  # the same cookies the verifier made

        def psk_required(authenticator):
            say('server: %s PSK identity "%s"'
                % (name, authenticator.identity().decode("utf-8", "replace")))
            authenticator.setPreSharedKey(self.key)

        def handshake_timeout():
            if not dtls.handleTimeout(self.sock):
                self.failed(dtls, peer)

        dtls.pskRequired.connect(psk_required)
        dtls.handshakeTimeout.connect(handshake_timeout)
        if peer in self.sessions:
            self.forget_pending(peer)  # an earlier one: this hello is newer
            self.pending[peer] = dtls
        else:
            self.sessions[peer] = dtls
        say("server: %s cookie verified, starting handshake" % name)
        self.handshake(dtls, hello, peer)

    def handshake(self, dtls, data, peer):
        """Feeds a datagram to a handshake: the peer's first or its pending one."""
        if not dtls.doHandshake(self.sock, data):
            self.failed(dtls, peer)
        elif dtls.isConnectionEncrypted():
            say("server: %s handshake complete (%s)" % (peer_name(peer), summary(dtls)))
            if self.pending.get(peer) is dtls:  # the peer proved it holds the key
                say("server: %s started over" % peer_name(peer))
                self.sessions.pop(peer).close()
                self.sessions[peer] = self.pending.pop(peer)

    def failed(self, dtls, peer):
        """A pending handshake goes alone; the peer's only one takes the peer."""
        why = "handshake failed: " + dtls.dtlsErrorString()
        if self.pending.get(peer) is dtls:
            say("server: %s %s" % (peer_name(peer), why))
            self.forget_pending(peer)
        else:
            self.drop(peer, why)

    def message(self, dtls, data, peer):
        text = dtls.decryptDatagram(self.sock, data)
        if text:
            # Line-oriented peers (openssl s_client) end with a newline:
            # it is echoed, not printed.
            shown = text.rstrip(b"\r\n").decode("utf-8", "replace")
            say('server: %s says "%s"' % (peer_name(peer), shown))
        if dtls.dtlsError() == QDtlsError.RemoteClosedConnectionError:
            self.drop(peer, "closed the connection")  # possibly right after its last message
        elif dtls.dtlsError() != QDtlsError.NoError:
            self.drop(peer, "connection failed: " + dtls.dtlsErrorString())
        elif text:
            if dtls.writeDatagramEncrypted(self.sock, b"echo: " + text) < 0:
                say("server: %s cannot reply: %s" % (peer_name(peer), dtls.dtlsErrorString()))
        elif peer in self.pending and not is_client_hello(data):
            self.handshake(self.pending[peer], data, peer)  # nothing for the session
        else:
            self.knock(data, peer)  # a ClientHello: the verifier decides

    def drop(self, peer, why):
        say("server: %s %s" % (peer_name(peer), why))
        self.sessions.pop(peer).close()
        self.forget_pending(peer)

    def forget_pending(self, peer):
        dtls = self.pending.pop(peer, None)
        if dtls is not None:
            dtls.close()

    # -- retransmission timers -------------------------------------------

    def next_timeout(self):
        """Seconds until the nearest retransmission is due, or None."""
        every = list(self.sessions.values()) + list(self.pending.values())
        due = [ms for ms in (d.remainingTimeout() for d in every) if ms >= 0]
        return min(due) / 1000.0 if due else None

    def serve_timers(self):
        # Pending ones first: a failing first handshake also closes the
        # peer's pending one, which must not be served after that.
        for dtls in list(self.pending.values()) + list(self.sessions.values()):
            dtls.checkTimeout()  # handshake_timeout() above does the rest

    def shut_down(self):
        closed = 0
        for peer, dtls in list(self.sessions.items()):
            if dtls.isConnectionEncrypted() and dtls.shutdown(self.sock):
                closed += 1
            dtls.close()
        self.sessions.clear()
        for peer in list(self.pending):
            self.forget_pending(peer)
        self.verifier.close()
        say("server: shutting down, closed %d connection(s)" % closed)


def main():
    ap = parser("DTLS-PSK echo server (Qt's secureudpserver); PORT 0 picks a free one")
    ap.add_argument("--hint", default="dtlsgate example server", help="PSK identity hint")
    args, family, key = parse(ap)

    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind((args.address, args.port))
    except OSError as e:
        print("secure_udp_server.py: cannot bind %s %d: %s" % (args.address, args.port, e),
              file=sys.stderr)
        return 1
    sock.setblocking(False)

    # A signal may arrive on one of the Go runtime's threads, where it
    # cannot interrupt select(); Python still writes to the wakeup fd.
    wake_r, wake_w = socket.socketpair()
    for s in (wake_r, wake_w):
        s.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno())
    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stop.append(signum))

    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    sel.register(wake_r, selectors.EVENT_READ)
    server = Server(sock, key, args.hint.encode())
    say("server: listening on %s" % peer_name(sock.getsockname()))
    while not stop:
        for key_, _ in sel.select(server.next_timeout()):
            if key_.fileobj is wake_r:
                wake_r.recv(64)
                continue
            while not stop:  # everything that is waiting, then the timers
                try:
                    data, peer = sock.recvfrom(65536)
                except (BlockingIOError, InterruptedError):
                    break
                except ConnectionRefusedError:
                    continue  # an ICMP error for an earlier send
                server.datagram(data, peer)
        server.serve_timers()
    server.shut_down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
