// SPDX-License-Identifier: MIT
// qt_secure_udp_server.cpp - a DTLS echo server with pre-shared keys on
// Qt's event loop: dtlsgate's port of Qt's secure UDP server example.
//
// One QUdpSocket takes every datagram. A peer without a session meets the
// verifier first (cookie exchange, RFC 6347 4.2.1); once its ClientHello
// carries a valid cookie the peer gets a dtlsgate::qt::QDtls of its own,
// which checks the cookie again with the verifier's generator and runs the
// PSK handshake. After the handshake every message is answered with
// "echo: " and the message. SIGINT or SIGTERM sends close_notify to every
// peer with an open connection and ends the program with status 0.
//
// A verified ClientHello from a peer that has a session starts a second,
// pending handshake and leaves the session working: the ClientHello may be
// a replay (RFC 6347, 4.2.8). Only when that handshake completes does its
// connection replace the old one.
//
// Usage: qt_secure_udp_server ADDRESS PORT [--psk HEX] [--hint TEXT]
// The lines it prints are listed in examples/CONTRACT.md.
#include "qt_example.hpp"

#include <QCoreApplication>
#include <QNetworkDatagram>
#include <QStringList>
#include <QUdpSocket>

#include <map>
#include <vector>

using dtlsgate::qt::QDtls;
using dtlsgate::qt::QDtlsClientVerifier;
using dtlsgate::qt::QDtlsError;
using example::say;

namespace {

class Server {
public:
    Server(const QByteArray &key, const QByteArray &hint) : key(key), hint(hint)
    {
        QObject::connect(&socket, &QUdpSocket::readyRead, [this] { readPending(); });
    }

    bool listen(const QHostAddress &address, quint16 port)
    {
        if (!socket.bind(address, port))
            return false;
        say(QStringLiteral("server: listening on ") +
            example::peerName(socket.localAddress(), socket.localPort()));
        return true;
    }

    // close_notify to every open connection.
    void shutDown()
    {
        int closed = 0;
        for (auto &entry : connections) {
            QDtls &dtls = entry.second->dtls;
            if (dtls.isConnectionEncrypted() && dtls.shutdown(&socket))
                closed++;
        }
        connections.clear();
        pending.clear();
        say(QStringLiteral("server: shutting down, closed %1 connection(s)").arg(closed));
    }

private:
    struct Connection {
        explicit Connection(const QString &name)
            : name(name), dtls(dtlsgate::QSslSocket::SslServerMode)
        {
        }
        QString name; // "127.0.0.1:5555", also its key in `connections` or `pending`
        QDtls dtls;
    };
    using Table = std::map<QString, std::unique_ptr<Connection>>;

    void readPending()
    {
        while (socket.hasPendingDatagrams()) {
            const QNetworkDatagram dgram = socket.receiveDatagram();
            if (dgram.data().isEmpty() || dgram.senderPort() <= 0)
                continue;
            const QHostAddress from = dgram.senderAddress();
            const quint16 port = quint16(dgram.senderPort());
            const QString name = example::peerName(from, port);
            const auto found = connections.find(name);
            if (found == connections.end())
                screen(dgram.data(), from, port, name);
            else
                serve(*found->second, dgram.data());
        }
    }

    // A datagram from a peer without a session, or one that gave its session
    // no data: only the verifier answers.
    void screen(const QByteArray &dgram, const QHostAddress &from, quint16 port, const QString &name)
    {
        QDtlsClientVerifier::CheckResult verdict;
        try {
            verdict = verifier.check(dgram, from, port);
        } catch (const dtlsgate::error &) {
            return; // a source address no reply may go to (broadcast, ...)
        }
        switch (verdict.decision()) {
        case QDtlsClientVerifier::CheckResult::SendReply: {
            const QByteArray reply(verdict.reply().data(), qsizetype(verdict.reply().size()));
            if (socket.writeDatagram(reply, from, port) < 0)
                say(QStringLiteral("server: %1 cannot send HelloVerifyRequest: %2")
                        .arg(name, socket.errorString()));
            else
                say(QStringLiteral("server: %1 no cookie yet, sent HelloVerifyRequest").arg(name));
            break;
        }
        case QDtlsClientVerifier::CheckResult::Verified:
            accept(dgram, from, port, name);
            break;
        case QDtlsClientVerifier::CheckResult::Drop:
            break;
        }
    }

    void accept(const QByteArray &hello, const QHostAddress &from, quint16 port, const QString &name)
    {
        auto owned = std::make_unique<Connection>(name);
        Connection *c = owned.get();
        QDtls &dtls = c->dtls;
        dtlsgate::QSslConfiguration conf;
        conf.setPreSharedKeyIdentityHint(std::string_view(hint.constData(), size_t(hint.size())));
        if (!dtls.setPeer(from, port) || !dtls.setCookieVerifier(verifier) ||
            !dtls.setDtlsConfiguration(conf)) {
            say(QStringLiteral("server: %1 cannot set up a session: %2")
                    .arg(name, dtls.dtlsErrorString()));
            return;
        }
        dtls.onPskRequired([this, c](dtlsgate::qt::QSslPreSharedKeyAuthenticator *auth) {
            say(QStringLiteral("server: %1 PSK identity \"%2\"")
                    .arg(c->name, QString::fromUtf8(auth->identity())));
            auth->setPreSharedKey(key);
        });
        dtls.onHandshakeTimeout([this, c] {
            if (!c->dtls.handleTimeout(&socket))
                failed(c);
        });
        // A peer with a session gets a pending handshake, replacing an
        // earlier pending one.
        Table &table = connections.count(name) ? pending : connections;
        retire(table, name);
        table[name] = std::move(owned);
        say(QStringLiteral("server: %1 cookie verified, starting handshake").arg(name));
        handshake(*c, hello);
    }

    // Feeds a datagram to a handshake: the peer's first one or its pending one.
    void handshake(Connection &c, const QByteArray &dgram)
    {
        if (!c.dtls.doHandshake(&socket, dgram)) {
            failed(&c);
        } else if (c.dtls.isConnectionEncrypted()) {
            say(QStringLiteral("server: %1 handshake complete (%2)")
                    .arg(c.name, example::summary(c.dtls)));
            const auto it = pending.find(c.name);
            if (it != pending.end() && it->second.get() == &c) { // the peer proved it holds the key
                say(QStringLiteral("server: %1 started over").arg(c.name));
                retire(connections, c.name);
                connections[c.name] = std::move(it->second);
                pending.erase(it);
            }
        }
    }

    // Says why c's handshake failed, and drops c.
    void failed(Connection *c)
    {
        say(QStringLiteral("server: %1 handshake failed: %2")
                .arg(c->name, c->dtls.dtlsErrorString()));
        drop(c);
    }

    // A datagram from a peer with a session.
    void serve(Connection &c, const QByteArray &dgram)
    {
        QDtls &dtls = c.dtls;
        if (dtls.handshakeState() == QDtls::HandshakeInProgress) {
            handshake(c, dgram);
            return;
        }
        const QByteArray message = dtls.decryptDatagram(&socket, dgram);
        if (!message.isEmpty()) {
            // Line-oriented peers (openssl s_client) end with a newline: it
            // is echoed, not printed.
            QByteArray shown = message;
            while (shown.endsWith('\n') || shown.endsWith('\r'))
                shown.chop(1);
            say(QStringLiteral("server: %1 says \"%2\"").arg(c.name, QString::fromUtf8(shown)));
        }
        if (dtls.dtlsError() == QDtlsError::RemoteClosedConnectionError) {
            say(QStringLiteral("server: %1 closed the connection").arg(c.name));
            drop(&c); // possibly right after its last message
            return;
        }
        if (dtls.dtlsError() != QDtlsError::NoError) {
            say(QStringLiteral("server: %1 connection failed: %2").arg(c.name, dtls.dtlsErrorString()));
            drop(&c);
            return;
        }
        if (message.isEmpty()) {
            // Nothing for the session. A ClientHello goes to the verifier (it
            // may start a pending handshake); the rest, if a handshake is
            // pending, is for that handshake.
            const auto next = pending.find(c.name);
            if (next != pending.end() && !example::isClientHello(dgram))
                handshake(*next->second, dgram);
            else
                screen(dgram, c.dtls.peerAddress(), c.dtls.peerPort(), c.name);
            return;
        }
        const QByteArray reply = ("echo: " + message).left(16384); // the most a record holds
        if (dtls.writeDatagramEncrypted(&socket, reply) < 0)
            say(QStringLiteral("server: %1 cannot reply: %2").arg(c.name, dtls.dtlsErrorString()));
    }

    // Forgets c: a pending handshake alone, a connection together with its
    // peer's pending handshake. Nothing if c has already been taken out.
    void drop(Connection *c)
    {
        const QString name = c->name; // copied: c moves out of its table
        if (!retire(pending, name, c) && retire(connections, name, c))
            retire(pending, name);
    }

    // Takes table[name] out (only if it is c, when c is given) at once, but
    // destroys it once control is back in the event loop: this may run
    // inside that session's own timer callback. True if it took it out.
    bool retire(Table &table, const QString &name, const Connection *c = nullptr)
    {
        const auto it = table.find(name);
        if (it == table.end() || (c && it->second.get() != c))
            return false;
        retired.push_back(std::move(it->second));
        table.erase(it);
        QMetaObject::invokeMethod(&socket, [this] { retired.clear(); }, Qt::QueuedConnection);
        return true;
    }

    QUdpSocket socket;
    QDtlsClientVerifier verifier;
    Table connections;
    Table pending; // a second handshake per peer, while its connection is up
    std::vector<std::unique_ptr<Connection>> retired;
    const QByteArray key;
    const QByteArray hint;
};

const char kUsage[] = "qt_secure_udp_server ADDRESS PORT [--psk HEX] [--hint TEXT]";

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QHostAddress address;
    quint16 port = 0;
    QStringList args = example::addressAndPort(kUsage, &address, &port);
    QString keyHex = QString::fromLatin1(example::kDefaultKey);
    QString hint = QStringLiteral("dtlsgate example server");
    while (!args.isEmpty()) {
        const QString option = args.takeFirst();
        if (args.isEmpty())
            example::usage(kUsage);
        if (option == QLatin1String("--psk"))
            keyHex = args.takeFirst();
        else if (option == QLatin1String("--hint"))
            hint = args.takeFirst();
        else
            example::usage(kUsage);
    }
    const QByteArray key = example::hexKey(keyHex);
    if (key.isEmpty()) {
        std::fprintf(stderr, "qt_secure_udp_server: --psk wants 1 to %d bytes in hex\n",
                     example::kMaxKey);
        return 2;
    }

    Server server(key, hint.toUtf8());
    example::StopSignals stop([&] {
        server.shutDown();
        QCoreApplication::exit(0);
    });
    if (!server.listen(address, port)) {
        std::fprintf(stderr, "qt_secure_udp_server: cannot bind %s %u\n",
                     qPrintable(address.toString()), unsigned(port));
        return 1;
    }
    return app.exec();
}
