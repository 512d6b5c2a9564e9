// SPDX-License-Identifier: MIT
// qt_secure_udp_client.cpp - DTLS clients with pre-shared keys on Qt's
// event loop: dtlsgate's port of Qt's secure UDP client example.
//
// Runs one or more connections to a server at once, each with its own
// QUdpSocket and dtlsgate::qt::QDtls. Each does the cookie exchange and the
// PSK handshake, sends a few pings one after the other, waiting for the
// echo of each, and closes with close_notify. Lost datagrams are made good
// by the handshake's retransmission timer (handshakeTimeout ->
// handleTimeout); a ping whose echo never comes counts as a failure.
//
// Usage: qt_secure_udp_client ADDRESS PORT [--name NAME] [--clients N]
//                             [--count K] [--psk HEX] [--identity TEXT]
// The lines it prints are listed in examples/CONTRACT.md. Exit status 0
// when every connection got all its echoes, 1 otherwise.
#include "qt_example.hpp"

#include <QCoreApplication>
#include <QNetworkDatagram>
#include <QStringList>
#include <QTimer>
#include <QUdpSocket>

#include <vector>

using dtlsgate::qt::QDtls;
using example::say;

namespace {

const int kMaxClients = 64;
const int kRunLimitMs = 15000;

struct Settings {
    QHostAddress server;
    quint16 port = 0;
    int count = 3;
    QByteArray key;
    QByteArray identity = "dtlsgate example client";
};

// One connection to the server.
class Association {
public:
    enum Outcome { Running, Done, Failed };

    Association(const QString &name, const Settings &settings, std::function<void()> finished)
        : name(name), settings(settings), finished(std::move(finished)),
          dtls(dtlsgate::QSslSocket::SslClientMode)
    {
        QObject::connect(&socket, &QUdpSocket::readyRead, [this] { readPending(); });
        dtls.onPskRequired([this](dtlsgate::qt::QSslPreSharedKeyAuthenticator *auth) {
            say(QStringLiteral("client %1: server's identity hint \"%2\"")
                    .arg(this->name, QString::fromUtf8(auth->identityHint())));
            auth->setIdentity(this->settings.identity);
            auth->setPreSharedKey(this->settings.key);
        });
        dtls.onHandshakeTimeout([this] {
            if (!dtls.handleTimeout(&socket))
                giveUp(dtls.dtlsErrorString());
        });
    }

    void start()
    {
        say(QStringLiteral("client %1: connecting to %2")
                .arg(name, example::peerName(settings.server, settings.port)));
        const bool v6 = settings.server.protocol() == QAbstractSocket::IPv6Protocol;
        if (!socket.bind(v6 ? QHostAddress::AnyIPv6 : QHostAddress::AnyIPv4, 0)) {
            giveUp(socket.errorString());
            return;
        }
        if (!dtls.setPeer(settings.server, settings.port) || !dtls.doHandshake(&socket))
            giveUp(dtls.dtlsErrorString());
    }

    // Ends a connection still running: "interrupted" or "no answer in time".
    void stop(const QString &why)
    {
        if (outcome == Running)
            giveUp(why);
    }

    Outcome outcome = Running;

private:
    void readPending()
    {
        while (socket.hasPendingDatagrams()) {
            const QNetworkDatagram dgram = socket.receiveDatagram();
            // Only the server's datagrams belong to this connection.
            if (outcome != Running || dgram.senderPort() != settings.port ||
                !dgram.senderAddress().isEqual(settings.server))
                continue;
            receive(dgram.data());
        }
    }

    void receive(const QByteArray &data)
    {
        if (dtls.handshakeState() == QDtls::HandshakeInProgress) {
            if (!dtls.doHandshake(&socket, data)) {
                giveUp(dtls.dtlsErrorString());
            } else if (dtls.isConnectionEncrypted()) {
                say(QStringLiteral("client %1: handshake complete (%2)")
                        .arg(name, example::summary(dtls)));
                sendPing();
            }
            return;
        }
        const QByteArray reply = dtls.decryptDatagram(&socket, data);
        if (reply.isEmpty()) {
            if (dtls.dtlsError() != dtlsgate::QDtlsError::NoError)
                giveUp(dtls.dtlsErrorString());
            return; // a replay or a repeated handshake message
        }
        say(QStringLiteral("client %1: got \"%2\"").arg(name, QString::fromUtf8(reply)));
        if (++echoed < settings.count) {
            sendPing();
            return;
        }
        if (dtls.shutdown(&socket))
            say(QStringLiteral("client %1: shut down").arg(name));
        finish(Done);
    }

    void sendPing()
    {
        const QString ping = QStringLiteral("ping %1 from %2").arg(++sent).arg(name);
        if (dtls.writeDatagramEncrypted(&socket, ping.toUtf8()) < 0)
            giveUp(dtls.dtlsErrorString());
        else
            say(QStringLiteral("client %1: sent \"%2\"").arg(name, ping));
    }

    void giveUp(const QString &why)
    {
        say(QStringLiteral("client %1: failed: %2").arg(name, why));
        if (dtls.handshakeState() == QDtls::HandshakeInProgress)
            dtls.abortHandshake(&socket);
        finish(Failed);
    }

    void finish(Outcome how)
    {
        outcome = how;
        finished();
    }

    const QString name;
    const Settings &settings;
    const std::function<void()> finished;
    QUdpSocket socket;
    QDtls dtls;
    int sent = 0, echoed = 0;
};

const char kUsage[] = "qt_secure_udp_client ADDRESS PORT [--name NAME] [--clients N] "
                      "[--count K] [--psk HEX] [--identity TEXT]";

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    Settings settings;
    QStringList args = example::addressAndPort(kUsage, &settings.server, &settings.port);
    QString name = QStringLiteral("client");
    QString keyHex = QString::fromLatin1(example::kDefaultKey);
    int clients = 1;
    bool numbersOk = true;
    while (!args.isEmpty()) {
        const QString option = args.takeFirst();
        if (args.isEmpty())
            example::usage(kUsage);
        const QString value = args.takeFirst();
        bool ok = true;
        if (option == QLatin1String("--name"))
            name = value;
        else if (option == QLatin1String("--clients"))
            clients = value.toInt(&ok);
        else if (option == QLatin1String("--count"))
            settings.count = value.toInt(&ok);
        else if (option == QLatin1String("--psk"))
            keyHex = value;
        else if (option == QLatin1String("--identity"))
            settings.identity = value.toUtf8();
        else
            example::usage(kUsage);
        numbersOk = numbersOk && ok;
    }
    settings.key = example::hexKey(keyHex);
    if (!numbersOk || clients < 1 || clients > kMaxClients || settings.count < 1 ||
        settings.key.isEmpty()) {
        std::fprintf(stderr, "qt_secure_udp_client: --clients 1..%d, --count >= 1, --psk in hex\n",
                     kMaxClients);
        return 2;
    }

    std::vector<std::unique_ptr<Association>> associations;
    // The exit status once no connection is running: 0 if all got their echoes.
    const auto checkAllDone = [&associations] {
        int status = 0;
        for (const auto &a : associations) {
            if (a->outcome == Association::Running)
                return;
            if (a->outcome == Association::Failed)
                status = 1;
        }
        QCoreApplication::exit(status);
    };
    const auto stopAll = [&associations](const QString &why) {
        for (const auto &a : associations)
            a->stop(why);
    };
    for (int i = 0; i < clients; i++)
        associations.push_back(std::make_unique<Association>(
            clients == 1 ? name : QStringLiteral("%1-%2").arg(name).arg(i + 1), settings,
            [&checkAllDone] { QMetaObject::invokeMethod(qApp, checkAllDone, Qt::QueuedConnection); }));

    example::StopSignals stop([&] { stopAll(QStringLiteral("interrupted")); });
    QTimer::singleShot(kRunLimitMs, [&] { stopAll(QStringLiteral("no answer in time")); });
    for (const auto &a : associations)
        a->start();
    return app.exec();
}
