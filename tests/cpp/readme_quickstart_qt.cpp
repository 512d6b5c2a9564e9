// SPDX-License-Identifier: MIT
// The C++ quick start of README.md (between the markers), built by
// `make test-cpp-qt` so the README cannot show code that does not compile.
// Run alone it is a DTLS-PSK echo server on 127.0.0.1:5684.
// README: begin
#include <dtlsgate_qt.hpp>

#include <QCoreApplication>
#include <QNetworkDatagram>
#include <map>

using dtlsgate::qt::QDtls;
using dtlsgate::qt::QDtlsClientVerifier;

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QUdpSocket socket;
    socket.bind(QHostAddress::LocalHost, 5684);
    QDtlsClientVerifier verifier;                    // cookies before any state
    std::map<QString, std::unique_ptr<QDtls>> peers; // one session per client

    QObject::connect(&socket, &QUdpSocket::readyRead, [&] {
        while (socket.hasPendingDatagrams()) {
            const QNetworkDatagram d = socket.receiveDatagram();
            const QHostAddress from = d.senderAddress();
            const quint16 port = quint16(d.senderPort());
            const QString key = from.toString() + ' ' + QString::number(port);
            auto it = peers.find(key);
            if (it == peers.end()) { // a stranger: HelloVerifyRequest until it has a cookie
                if (!verifier.verifyClient(&socket, d.data(), from, port))
                    continue;
                auto dtls = std::make_unique<QDtls>(dtlsgate::QSslSocket::SslServerMode);
                dtls->setPeer(from, port);
                dtls->setCookieVerifier(verifier);
                dtls->onPskRequired([](auto *auth) {
                    auth->setPreSharedKey(QByteArray::fromHex("1a2b3c4d5e6f"));
                });
                dtls->onHandshakeTimeout([s = dtls.get(), &socket] { s->handleTimeout(&socket); });
                it = peers.emplace(key, std::move(dtls)).first;
            }
            QDtls &dtls = *it->second;
            if (dtls.handshakeState() != QDtls::HandshakeComplete) {
                if (!dtls.doHandshake(&socket, d.data()))
                    peers.erase(it); // failed: the client may start over
                continue;
            }
            const QByteArray msg = dtls.decryptDatagram(&socket, d.data());
            if (!msg.isEmpty())
                dtls.writeDatagramEncrypted(&socket, "echo: " + msg);
            else if (!dtls.isConnectionEncrypted())
                peers.erase(it); // close_notify or a fatal alert
        }
    });
    return app.exec();
}
// README: end
