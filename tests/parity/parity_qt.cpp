// SPDX-License-Identifier: MIT
// parity_qt: the parity cases (harness.c) run against Qt 6's own
// QDtlsClientVerifier, on a QUdpSocket bound to 127.0.0.1.
//
// Usage: parity_qt CORPUS_DIR
// Prints one line per case; run.sh compares them with parity_dtlsgate's.

#include "harness.h"

#include <QCoreApplication>
#include <QDtlsClientVerifier>
#include <QHostAddress>
#include <QNetworkDatagram>
#include <QSslSocket>
#include <QUdpSocket>

#include <cstdio>
#include <cstring>

namespace {

struct QtSide {
    QUdpSocket socket[2]; // on 127.0.0.1 and on ::1
    QDtlsClientVerifier verifier;
};

QtSide *side(void *ctx) { return static_cast<QtSide *>(ctx); }

long receive(void *ctx, int server, int timeout_ms, uint8_t *buf, size_t cap, char *addr,
             size_t addr_cap, uint16_t *port)
{
    QUdpSocket &s = side(ctx)->socket[server];
    if (!s.hasPendingDatagrams() && !s.waitForReadyRead(timeout_ms))
        return -1;
    const QNetworkDatagram d = s.receiveDatagram();
    if (!d.isValid() || size_t(d.data().size()) > cap)
        return -1;
    std::memcpy(buf, d.data().constData(), size_t(d.data().size()));
    std::snprintf(addr, addr_cap, "%s", d.senderAddress().toString().toLatin1().constData());
    *port = quint16(d.senderPort());
    return long(d.data().size());
}

int verify(void *ctx, int server, const uint8_t *dgram, size_t len, const char *addr,
           uint16_t port)
{
    QtSide *q = side(ctx);
    const QByteArray data(reinterpret_cast<const char *>(dgram), qsizetype(len));
    const QHostAddress address = addr ? QHostAddress(QString::fromLatin1(addr)) : QHostAddress();
    QUdpSocket *socket = server == PARITY_NULL_SOCKET ? nullptr : &q->socket[server];
    return q->verifier.verifyClient(socket, data, address, port);
}

int dtls_error(void *ctx) { return int(side(ctx)->verifier.dtlsError()); }

void dtls_error_string(void *ctx, char *buf, size_t cap)
{
    std::snprintf(buf, cap, "%s", side(ctx)->verifier.dtlsErrorString().toUtf8().constData());
}

size_t verified_hello(void *ctx, uint8_t *buf, size_t cap)
{
    const QByteArray hello = side(ctx)->verifier.verifiedHello();
    const size_t len = size_t(hello.size());
    std::memcpy(buf, hello.constData(), len < cap ? len : cap);
    return len;
}

int set_empty_secret(void *ctx)
{
    QDtlsClientVerifier::GeneratorParameters params(QCryptographicHash::Sha256, QByteArray());
    return side(ctx)->verifier.setCookieGeneratorParameters(params);
}

} // namespace

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    QCoreApplication app(argc, argv);

    // QDtlsClientVerifier needs the OpenSSL TLS backend; with any other
    // backend every verifyClient() would just return false.
    if (QSslSocket::activeBackend() != QStringLiteral("openssl")) {
        std::fprintf(stderr, "parity_qt: Qt's active TLS backend is '%s', not 'openssl'\n",
                     qPrintable(QSslSocket::activeBackend()));
        return 1;
    }
    std::fprintf(stderr, "parity_qt: Qt %s, %s\n", qVersion(),
                 qPrintable(QSslSocket::sslLibraryVersionString()));

    QtSide q;
    const QHostAddress loopback[2] = {QHostAddress::LocalHost, QHostAddress::LocalHostIPv6};
    for (int i = 0; i < 2; i++) {
        if (!q.socket[i].bind(loopback[i], 0)) {
            std::fprintf(stderr, "parity_qt: bind: %s\n", qPrintable(q.socket[i].errorString()));
            return 1;
        }
    }

    parity_impl impl{};
    impl.name = "parity_qt";
    impl.ctx = &q;
    impl.server_fd[0] = int(q.socket[0].socketDescriptor());
    impl.server_fd[1] = int(q.socket[1].socketDescriptor());
    impl.receive = receive;
    impl.verify = verify;
    impl.dtls_error = dtls_error;
    impl.dtls_error_string = dtls_error_string;
    impl.verified_hello = verified_hello;
    impl.set_empty_secret = set_empty_secret;
    return parity_run(&impl, argv[1]);
}
