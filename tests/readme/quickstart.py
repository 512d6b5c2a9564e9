# SPDX-License-Identifier: MIT
# quickstart.py - the Python quick start of README.md, kept here so that
# `make test` checks it: scripts/check-readme.py compares the README's block
# with the text between the markers, and test-readme compiles this file.
# It is the whole program; run it from the repository after `make`:
#     PYTHONPATH=bindings/python python3 tests/readme/quickstart.py
# README: begin
import socket
from dtlsgate import QDtls, QDtlsClientVerifier, QDtlsError, QSslConfiguration, QSslSocket

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", 5684))
verifier = QDtlsClientVerifier()
config = QSslConfiguration.defaultDtlsConfiguration()
config.setPreSharedKeyIdentityHint(b"my server")
config.setPeerVerifyMode(QSslSocket.VerifyNone)          # PSK: no certificates
sessions = {}                                            # (host, port) -> QDtls

def give_key(authenticator):                             # pskRequired
    authenticator.setPreSharedKey(bytes.fromhex("1a2b3c4d5e6f"))

while True:
    ms = min([d.remainingTimeout() for d in sessions.values() if d.remainingTimeout() >= 0],
             default=-1)
    sock.settimeout(None if ms < 0 else max(ms, 1) / 1000)
    try:
        data, peer = sock.recvfrom(65536)
    except socket.timeout:
        for d in sessions.values():
            d.checkTimeout()                             # -> handshakeTimeout -> handleTimeout
        continue
    dtls = sessions.get(peer)
    if dtls is None:                                     # no session yet: cookie first
        if verifier.verifyClient(sock, data, *peer):
            dtls = sessions[peer] = QDtls(QSslSocket.SslServerMode)
            dtls.setPeer(*peer)
            dtls.setDtlsConfiguration(config)
            dtls.setCookieVerifier(verifier)             # re-checks the verifier's cookie
            dtls.pskRequired.connect(give_key)
            dtls.handshakeTimeout.connect(lambda d=dtls: d.handleTimeout(sock))
            dtls.doHandshake(sock, verifier.verifiedHello())
    elif dtls.handshakeState() == QDtls.HandshakeInProgress:
        if not dtls.doHandshake(sock, data):
            sessions.pop(peer).close()
    elif text := dtls.decryptDatagram(sock, data):
        dtls.writeDatagramEncrypted(sock, b"echo: " + text)
    elif dtls.dtlsError() != QDtlsError.NoError:         # close_notify or a fatal alert
        sessions.pop(peer).close()
# README: end
