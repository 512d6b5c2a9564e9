// SPDX-License-Identifier: MIT
// bench_qt: Qt 6's QDtlsClientVerifier under the shared benchmark driver
// (bench.c), with a QUdpSocket bound to 127.0.0.1 as the server socket.
//
// Usage: bench_qt DATAGRAM.bin
//
// A Qt server gets the datagram as a QByteArray and the peer as a
// QHostAddress from QUdpSocket::receiveDatagram(), so neither is rebuilt on
// each call: the QByteArray wraps the driver's buffer without copying and
// the QHostAddress is parsed once.

#include "bench.h"

#include <QCoreApplication>
#include <QDtlsClientVerifier>
#include <QHostAddress>
#include <QSslSocket>
#include <QUdpSocket>

#include <cstdio>

namespace {

struct QtSide {
    QUdpSocket socket;
    QDtlsClientVerifier verifier;
    QHostAddress peer{QHostAddress::LocalHost};
};

int verify(void *ctx, const uint8_t *dgram, size_t len, const bench_peer *peer)
{
    auto *q = static_cast<QtSide *>(ctx);
    const QByteArray data =
        QByteArray::fromRawData(reinterpret_cast<const char *>(dgram), qsizetype(len));
    return q->verifier.verifyClient(&q->socket, data, q->peer, peer->port);
}

const bench_op ops[] = {
    {"verify_client_valid_cookie", 1, 1, verify},
    {"verify_client_no_cookie_send_hvr", 0, 0, verify},
};

} // namespace

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DATAGRAM.bin\n", argv[0]);
        return 2;
    }
    QCoreApplication app(argc, argv);
    if (QSslSocket::activeBackend() != QStringLiteral("openssl")) {
        std::fprintf(stderr, "bench_qt: Qt's active TLS backend is '%s', not 'openssl'\n",
                     qPrintable(QSslSocket::activeBackend()));
        return 1;
    }
    std::printf("info qt Qt %s, %s\n", qVersion(),
                qPrintable(QSslSocket::sslLibraryVersionString()));

    QtSide q;
    if (!q.socket.bind(QHostAddress::LocalHost, 0)) {
        std::fprintf(stderr, "bench_qt: bind: %s\n", qPrintable(q.socket.errorString()));
        return 1;
    }
    bench_impl impl{};
    impl.name = "bench_qt";
    impl.ctx = &q;
    impl.mint = verify;
    impl.ops = ops;
    impl.n_ops = sizeof ops / sizeof ops[0];
    return bench_run(&impl, argv[1]);
}
