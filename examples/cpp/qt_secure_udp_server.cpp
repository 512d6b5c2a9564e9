// SPDX-License-Identifier: MIT
// qt_secure_udp_server.cpp - a DTLS echo server with pre-shared keys in
// Qt's event loop, on dtlsgate::qt::DtlsServer: dtlsgate's port of Qt's
// secure UDP server example.
//
// The endpoint owns the sockets: it answers strangers with cookies, runs
// the handshakes and their timers, handles restarted clients and enforces
// the limits. Its events arrive here as Qt signals, on this thread; this
// program prints them and answers each message with "echo: MESSAGE".
// SIGINT or SIGTERM closes every connection with close_notify and exits 0.
// examples/c/diy_udp_server.c is the same server written by hand on the
// low-level session API, as Qt's example is on QDtls.
//
// Usage: qt_secure_udp_server ADDRESS PORT [--psk HEX] [--hint TEXT]
//            [--deadline SECONDS] [--max-sessions N] [--idle SECONDS]
// The lines it prints are listed in examples/CONTRACT.md.
#include "qt_example.hpp"

#include <QCoreApplication>
#include <QStringList>

using dtlsgate::qt::DtlsServer;
using example::say;

namespace {

const char kUsage[] = "qt_secure_udp_server ADDRESS PORT [--psk HEX] [--hint TEXT] "
                      "[--deadline SECONDS] [--max-sessions N] [--idle SECONDS]";

// What a closed signal prints after the peer's name.
QString closedLine(DtlsServer::CloseReason reason)
{
    switch (reason) {
    case DtlsServer::CloseReason::ByPeer:
        return QStringLiteral("closed the connection");
    case DtlsServer::CloseReason::Fatal:
        return QStringLiteral("session ended (fatal)");
    case DtlsServer::CloseReason::ByApp:
        return QStringLiteral("session ended (closed by app)");
    case DtlsServer::CloseReason::Idle:
        return QStringLiteral("session ended (idle)");
    case DtlsServer::CloseReason::Evicted:
        return QStringLiteral("session ended (evicted)");
    case DtlsServer::CloseReason::Replaced:
        return QStringLiteral("session ended (replaced)");
    case DtlsServer::CloseReason::Shutdown:
        return QStringLiteral("session ended (shutdown)");
    }
    return QStringLiteral("session ended (unknown)");
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QHostAddress address;
    quint16 port = 0;
    QStringList args = example::addressAndPort(kUsage, &address, &port);
    QString keyHex = QString::fromLatin1(example::kDefaultKey);
    QByteArray hint = "dtlsgate example server";
    DtlsServer::Config cfg;
    while (!args.isEmpty()) {
        const QString option = args.takeFirst();
        if (args.isEmpty())
            example::usage(kUsage);
        const QString value = args.takeFirst();
        if (option == QLatin1String("--psk"))
            keyHex = value;
        else if (option == QLatin1String("--hint"))
            hint = value.toUtf8();
        else if (option == QLatin1String("--deadline"))
            cfg.handshake_deadline_ms = example::optionMs(option, value);
        else if (option == QLatin1String("--max-sessions"))
            cfg.max_sessions = example::optionCount(option, value);
        else if (option == QLatin1String("--idle"))
            cfg.idle_timeout_ms = example::optionMs(option, value); // 0: never
        else
            example::usage(kUsage);
    }
    const QByteArray key = example::hexKey(keyHex);
    if (key.isEmpty()) {
        std::fprintf(stderr, "qt_secure_udp_server: --psk wants 1 to %d bytes in hex\n",
                     example::kMaxKey);
        return 2;
    }
    cfg.identity_hint = reinterpret_cast<const uint8_t *>(hint.constData());
    cfg.identity_hint_len = size_t(hint.size());
    cfg.psk_requests = 1; // ask us for every identity's key: see pskRequired below

    std::unique_ptr<DtlsServer> made;
    try {
        made = std::make_unique<DtlsServer>(cfg);
    } catch (const dtlsgate::error &e) {
        std::fprintf(stderr, "qt_secure_udp_server: %s\n", e.what());
        return 2;
    }
    DtlsServer &server = *made;

    // Any identity is welcome; the key is ours.
    QObject::connect(&server, &DtlsServer::pskRequired,
                     [&](const QHostAddress &from, quint16 fromPort, const QByteArray &identity) {
                         server.resolvePsk(from, fromPort, identity, key);
                     });
    QObject::connect(&server, &DtlsServer::connected,
                     [](const QHostAddress &from, quint16 fromPort, const QByteArray &identity,
                        const QString &cipher) {
                         const QString peer = example::peerName(from, fromPort);
                         say(QStringLiteral("server: %1 PSK identity \"%2\"")
                                 .arg(peer, QString::fromUtf8(identity)));
                         say(QStringLiteral("server: %1 handshake complete (%2, DTLSv1.2)").arg(peer, cipher));
                     });
    QObject::connect(&server, &DtlsServer::datagramReceived,
                     [&](const QHostAddress &from, quint16 fromPort, const QByteArray &message) {
                         // Line-oriented peers (openssl s_client) end with a
                         // newline: it is echoed, not printed.
                         QByteArray shown = message;
                         while (shown.endsWith('\n') || shown.endsWith('\r'))
                             shown.chop(1);
                         say(QStringLiteral("server: %1 says \"%2\"")
                                 .arg(example::peerName(from, fromPort), QString::fromUtf8(shown)));
                         // The most a record holds; false if the peer has gone meanwhile.
                         server.send(from, fromPort, ("echo: " + message).left(16384));
                     });
    QObject::connect(&server, &DtlsServer::moved,
                     [](const QHostAddress &oldAddress, quint16 oldPort, const QHostAddress &to, quint16 toPort) {
                         say(QStringLiteral("server: %1 moved to %2")
                                 .arg(example::peerName(oldAddress, oldPort), example::peerName(to, toPort)));
                     });
    QObject::connect(&server, &DtlsServer::closed,
                     [](const QHostAddress &from, quint16 fromPort, DtlsServer::CloseReason reason) {
                         say(QStringLiteral("server: %1 %2")
                                 .arg(example::peerName(from, fromPort), closedLine(reason)));
                     });
    // close_notify to every peer; shutdown() emits their closed signals
    // before it returns how many there were.
    example::StopSignals stop([&] {
        const int closed = server.shutdown();
        say(QStringLiteral("server: shutting down, closed %1 connection(s)").arg(closed));
        QCoreApplication::exit(0);
    });

    if (!server.listen(address, port)) {
        std::fprintf(stderr, "qt_secure_udp_server: cannot listen on %s: %s\n",
                     qPrintable(example::peerName(address, port)), qPrintable(server.errorString()));
        return 1;
    }
    say(QStringLiteral("server: listening on ") +
        example::peerName(server.localAddress(), server.localPort()));
    return app.exec();
}
