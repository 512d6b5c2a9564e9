// SPDX-License-Identifier: MIT
// bench_qt_inprocess: Qt 6's QDtlsClientVerifier and dtlsgate's Qt adapter
// (dtlsgate::qt::QDtlsClientVerifier) in one real Qt server: a bound
// QUdpSocket, Qt's event loop, and a slot on readyRead that takes each
// datagram with receiveDatagram() and hands it to a verifier. A client
// QUdpSocket in the same loop sends ClientHellos and reads the
// HelloVerifyRequests. The two verifiers take turns datagram by datagram,
// so whatever state Qt leaves the thread in (the upper vector registers
// among it) is the same for both. Only the verifyClient() call is timed.
//
// Usage: bench_qt_inprocess DATAGRAM.bin
// Prints, for each verifier and operation, the median ns per call as
//     result <impl> <operation> <ns> ns/op
// (the format of bench/inmem.h), with impl "qt" or "dtlsgate".
// BENCH_QT_ROUNDS (default 4000) calls of each verifier and operation.

#include "dtls_bytes.h"

#include <dtlsgate_qt.hpp>

#include <QCoreApplication>
#include <QDtlsClientVerifier>
#include <QFile>
#include <QNetworkDatagram>
#include <QSslSocket>
#include <QTimer>
#include <QUdpSocket>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

[[noreturn]] void fail(const char *what)
{
    std::fflush(stdout);
    std::fprintf(stderr, "bench_qt_inprocess: %s\n", what);
    std::exit(1);
}

// One kind of call: which verifier, and whether the datagram carries that
// verifier's cookie (verifyClient() must return true) or is the first
// flight (it must return false and send a HelloVerifyRequest).
struct Kind {
    bool ours;
    bool withCookie;
    const char *impl, *op;
    std::vector<double> ns;
};

class Bench {
public:
    Bench(const QByteArray &first, int rounds) : first_(first), rounds_(rounds)
    {
        if (!server_.bind(QHostAddress::LocalHost, 0) || !client_.bind(QHostAddress::LocalHost, 0))
            fail("bind failed");
        hello_[0] = withCookie(false);
        hello_[1] = withCookie(true);
        QObject::connect(&server_, &QUdpSocket::readyRead, [this] { serve(); });
        QObject::connect(&client_, &QUdpSocket::readyRead, [this] { receiveReplies(); });
        QObject::connect(&watchdog_, &QTimer::timeout, [] { fail("a datagram was lost"); });
        watchdog_.setSingleShot(true);
    }

    void start() { sendNext(); }

    void print() const
    {
        for (const Kind &k : kinds_) {
            std::vector<double> v = k.ns;
            std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
            std::printf("result %s %s %.1f ns/op\n", k.impl, k.op, v[v.size() / 2]);
        }
    }

private:
    bool verify(const Kind &k, const QNetworkDatagram &d)
    {
        return k.ours ? ours_.verifyClient(&server_, d.data(), d.senderAddress(), d.senderPort())
                      : qt_.verifyClient(&server_, d.data(), d.senderAddress(), d.senderPort());
    }

    // The first flight with the cookie one verifier sends back to the client.
    QByteArray withCookie(bool ours)
    {
        QNetworkDatagram d(first_, client_.localAddress(), client_.localPort());
        d.setSender(client_.localAddress(), client_.localPort());
        if (verify(Kind{ours, false, "", "", {}}, d) || !client_.waitForReadyRead(2000))
            fail("no HelloVerifyRequest to mint a cookie with");
        const QByteArray hvr = client_.receiveDatagram().data();
        const auto *r = reinterpret_cast<const uint8_t *>(hvr.constData());
        if (hvr.size() < DTLS_BODY + 3 || hvr.size() < DTLS_BODY + 3 + r[DTLS_BODY + 2])
            fail("a short HelloVerifyRequest");
        QByteArray out(first_.size() + 256, 0);
        const auto n = dtls_hello_with_cookie(
            reinterpret_cast<const uint8_t *>(first_.constData()), size_t(first_.size()),
            r + DTLS_BODY + 3, r[DTLS_BODY + 2], reinterpret_cast<uint8_t *>(out.data()));
        out.resize(qsizetype(n));
        return out;
    }

    Kind &current() { return kinds_[sent_ % 4]; }

    void sendNext()
    {
        if (sent_ == 4 * rounds_) {
            QCoreApplication::quit();
            return;
        }
        const Kind &k = current();
        const QByteArray &d = k.withCookie ? hello_[k.ours] : first_;
        if (client_.writeDatagram(d, server_.localAddress(), server_.localPort()) != d.size())
            fail("the client could not send");
        watchdog_.start(5000);
    }

    void serve()
    {
        while (server_.hasPendingDatagrams()) {
            const QNetworkDatagram d = server_.receiveDatagram();
            Kind &k = current();
            const auto t0 = std::chrono::steady_clock::now();
            const bool verified = verify(k, d);
            const auto t1 = std::chrono::steady_clock::now();
            k.ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
            if (verified != k.withCookie)
                fail(k.withCookie ? "a valid cookie was refused" : "a first flight was accepted");
            sent_++;
            if (k.withCookie)
                sendNext();
            else
                awaitingReply_ = true;
        }
    }

    // Each first flight must bring a HelloVerifyRequest back to the client.
    void receiveReplies()
    {
        while (client_.hasPendingDatagrams()) {
            const QByteArray r = client_.receiveDatagram().data();
            if (!awaitingReply_ || r.size() <= DTLS_HS_TYPE || r[DTLS_REC_TYPE] != 22 ||
                r[DTLS_HS_TYPE] != 3)
                fail("the client got something other than the HelloVerifyRequest it waited for");
            awaitingReply_ = false;
            sendNext();
        }
    }

    QUdpSocket server_, client_;
    QDtlsClientVerifier qt_;
    dtlsgate::qt::QDtlsClientVerifier ours_;
    QByteArray first_, hello_[2];
    QTimer watchdog_;
    int rounds_, sent_ = 0;
    bool awaitingReply_ = false;
    Kind kinds_[4] = {{false, true, "qt", "qt_loop_verify_valid_cookie", {}},
                      {true, true, "dtlsgate", "qt_loop_verify_valid_cookie", {}},
                      {false, false, "qt", "qt_loop_send_hvr", {}},
                      {true, false, "dtlsgate", "qt_loop_send_hvr", {}}};
};

} // namespace

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DATAGRAM.bin\n", argv[0]);
        return 2;
    }
    QCoreApplication app(argc, argv);
    if (QSslSocket::activeBackend() != QStringLiteral("openssl"))
        fail("Qt's active TLS backend is not OpenSSL");
    QFile f(QString::fromLocal8Bit(argv[1]));
    if (!f.open(QIODevice::ReadOnly))
        fail("cannot read the datagram");
    const QByteArray first = f.readAll();
    if (dtls_cookie_offset(reinterpret_cast<const uint8_t *>(first.constData()),
                           size_t(first.size())) == 0)
        fail("not a usable ClientHello");
    const char *env = std::getenv("BENCH_QT_ROUNDS");
    const int rounds = env && std::atoi(env) > 0 ? std::atoi(env) : 4000;

    std::printf("info qt Qt %s, %s\n", qVersion(),
                qPrintable(QSslSocket::sslLibraryVersionString()));
    Bench bench(first, rounds);
    QTimer::singleShot(0, [&bench] { bench.start(); });
    app.exec();
    bench.print();
    return 0;
}
