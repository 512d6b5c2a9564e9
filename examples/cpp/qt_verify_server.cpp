// SPDX-License-Identifier: MIT
// qt_verify_server.cpp - a Qt 6 UDP server whose front door is dtlsgate,
// written the way Qt's own DTLS server example is: a QUdpSocket, its
// readyRead signal, readDatagram(), then QDtlsClientVerifier::verifyClient().
//
// The code below is Qt code. Only the block under "The port" differs from
// a program written against Qt's QDtlsClientVerifier; build with
// -DUSE_QT_VERIFIER to get exactly that program (make test-cpp-qt builds and
// runs both).
//
// Usage: qt_verify_server [--once] [--timeout SECONDS] [ADDRESS [PORT]]
// with the options and the output lines of examples/c/verify_server.c, so
// tests/interop/run.sh can drive it with real DTLS clients.
// Exit status: 0 when stopped by --once or the timeout; 3 when --once was
// given and the timeout came first; 1 when it cannot bind; 2 on bad usage.
#include <QCoreApplication>
#include <QHostAddress>
#include <QStringList>
#include <QTimer>
#include <QUdpSocket>

// The port: an include and the namespace of two names.
#ifdef USE_QT_VERIFIER
#include <QDtlsClientVerifier>
#else
#include <dtlsgate_qt.hpp>
using dtlsgate::qt::QDtlsClientVerifier;
using dtlsgate::qt::QDtlsError;
#endif

#include <cstdio>

namespace {

// QDtlsError's enumerator names, in its order.
const char *errorName(QDtlsError e)
{
    static const char *const names[] = {
        "NoError",          "InvalidInputParameters", "InvalidOperation",
        "UnderlyingSocketError", "RemoteClosedConnectionError", "PeerVerificationError",
        "TlsInitializationError", "TlsFatalError", "TlsNonFatalError"};
    const int i = int(e);
    return i >= 0 && i < int(sizeof names / sizeof names[0]) ? names[i] : "?";
}

void say(const QString &line)
{
    std::printf("%s\n", line.toUtf8().constData());
    std::fflush(stdout);
}

class Server {
public:
    explicit Server(bool once) : once(once)
    {
        QObject::connect(&socket, &QUdpSocket::readyRead, [this] { readyRead(); });
    }

    bool listen(const QHostAddress &address, quint16 port)
    {
        if (!socket.bind(address, port))
            return false;
        say(QStringLiteral("listening address=%1 port=%2 library=%3")
                .arg(socket.localAddress().toString())
                .arg(socket.localPort())
                .arg(QString::fromLatin1(libraryVersion())));
        return true;
    }

    void stop(const char *reason, int status)
    {
        say(QStringLiteral("stopped reason=%1 datagrams=%2 verified=%3")
                .arg(QLatin1String(reason))
                .arg(datagrams)
                .arg(verified));
        QCoreApplication::exit(status);
    }

private:
    static const char *libraryVersion()
    {
#ifdef USE_QT_VERIFIER
        return qVersion();
#else
        return dtlsgate_version();
#endif
    }

    void readyRead()
    {
        while (socket.hasPendingDatagrams()) {
            QByteArray dgram(socket.pendingDatagramSize(), Qt::Uninitialized);
            QHostAddress peerAddress;
            quint16 peerPort = 0;
            const qint64 bytesRead =
                socket.readDatagram(dgram.data(), dgram.size(), &peerAddress, &peerPort);
            if (bytesRead <= 0)
                continue; // an empty datagram is nothing to verify
            dgram.resize(bytesRead);
            handleDatagram(dgram, peerAddress, peerPort);
        }
    }

    void handleDatagram(const QByteArray &dgram, const QHostAddress &peerAddress, quint16 peerPort)
    {
        datagrams++;
        const QString peer = peerAddress.protocol() == QAbstractSocket::IPv6Protocol
                                 ? QStringLiteral("[%1]:%2").arg(peerAddress.toString()).arg(peerPort)
                                 : QStringLiteral("%1:%2").arg(peerAddress.toString()).arg(peerPort);
        if (verifier.verifyClient(&socket, dgram, peerAddress, peerPort)) {
            // A real client: a DTLS server would start its handshake with
            // verifier.verifiedHello() here.
            verified++;
            const QByteArray hello = verifier.verifiedHello();
            say(QStringLiteral("verified peer=%1 bytes=%2 hex=%3")
                    .arg(peer)
                    .arg(hello.size())
                    .arg(QString::fromLatin1(hello.toHex())));
            if (once)
                stop("once", 0);
        } else if (verifier.dtlsError() != QDtlsError::NoError) {
            say(QStringLiteral("error peer=%1 bytes=%2 code=%3 name=%4 message=")
                    .arg(peer)
                    .arg(dgram.size())
                    .arg(int(verifier.dtlsError()))
                    .arg(QLatin1String(errorName(verifier.dtlsError()))) +
                verifier.dtlsErrorString());
        } else {
            say(QStringLiteral("not-verified peer=%1 bytes=%2").arg(peer).arg(dgram.size()));
        }
    }

    QUdpSocket socket;
    QDtlsClientVerifier verifier;
    const bool once;
    unsigned long datagrams = 0;
    unsigned long verified = 0;
};

[[noreturn]] void usage(int status)
{
    std::fprintf(status ? stderr : stdout,
                 "usage: qt_verify_server [--once] [--timeout SECONDS] [ADDRESS [PORT]]\n");
    std::exit(status);
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);

    QStringList args = app.arguments().mid(1);
    bool once = false;
    double timeout = 0;
    QStringList positional;
    while (!args.isEmpty()) {
        const QString arg = args.takeFirst();
        bool ok = true;
        if (arg == QLatin1String("--once"))
            once = true;
        else if (arg == QLatin1String("--timeout") && !args.isEmpty())
            ok = (timeout = args.takeFirst().toDouble(&ok)) > 0 && ok;
        else if (arg == QLatin1String("--help") || arg == QLatin1String("-h"))
            usage(0);
        else if (arg.startsWith(QLatin1Char('-')))
            ok = false;
        else
            positional << arg;
        if (!ok)
            usage(2);
    }
    if (positional.size() > 2)
        usage(2);
    const QHostAddress address(positional.value(0, QStringLiteral("127.0.0.1")));
    bool portOk = false;
    const uint port = positional.value(1, QStringLiteral("0")).toUInt(&portOk);
    if (address.isNull() || !portOk || port > 65535) {
        std::fprintf(stderr, "qt_verify_server: bad address or port\n");
        return 2;
    }

    Server server(once);
    if (!server.listen(address, quint16(port))) {
        std::fprintf(stderr, "qt_verify_server: cannot bind %s port %u\n",
                     qPrintable(address.toString()), port);
        return 1;
    }
    if (timeout > 0)
        QTimer::singleShot(int(timeout * 1000), [&] { server.stop("timeout", once ? 3 : 0); });
    return app.exec();
}
