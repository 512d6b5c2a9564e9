// SPDX-License-Identifier: MIT
// The C++/Qt quick start of README.md (between the markers):
// tests/readme/qt.sh builds it as the README says, with the CMakeLists.txt
// next to it, against an installed dtlsgate, and tries it with a wrong key
// and then the right one; `make test-readme` also runs it against the
// example client. A DTLS-PSK echo server on 127.0.0.1:5684.
// README: begin
#include <dtlsgate_qt.hpp> // in place of Qt's <QDtls>
using dtlsgate::qt::QDtls;
using dtlsgate::qt::QDtlsClientVerifier;
using dtlsgate::qt::QDtlsError;

#include <QCoreApplication>
#include <QHash>
#include <QNetworkDatagram>
#include <QSslConfiguration>
#include <QSslPreSharedKeyAuthenticator>
#include <QUdpSocket>
#include <cstdio>

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QUdpSocket socket;
    if (!socket.bind(QHostAddress::LocalHost, 5684)) {
        std::fprintf(stderr, "cannot bind 127.0.0.1:5684: %s\n", qPrintable(socket.errorString()));
        return 1;
    }
    std::printf("listening on 127.0.0.1:5684\n");
    std::fflush(stdout);

    auto *verifier = new QDtlsClientVerifier(&app); // cookies before any state
    QSslConfiguration config = QSslConfiguration::defaultDtlsConfiguration();
    config.setPreSharedKeyIdentityHint("quick start");
    QHash<QString, QDtls *> peers; // one session per client
    auto drop = [&](QDtls *dtls) {
        peers.remove(dtls->objectName());
        dtls->deleteLater(); // not at once: we may be inside one of its calls
    };

    QObject::connect(&socket, &QUdpSocket::readyRead, [&] {
        while (socket.hasPendingDatagrams()) {
            const QNetworkDatagram d = socket.receiveDatagram();
            const QString peer = d.senderAddress().toString() + ' ' + QString::number(d.senderPort());
            QDtls *dtls = peers.value(peer);
            if (!dtls) { // a stranger: a HelloVerifyRequest until it returns the cookie
                if (!verifier->verifyClient(&socket, d.data(), d.senderAddress(), d.senderPort()))
                    continue;
                dtls = new QDtls(QSslSocket::SslServerMode, &app);
                dtls->setObjectName(peer);
                dtls->setPeer(d.senderAddress(), d.senderPort());
                dtls->setDtlsConfiguration(config);
                QObject::connect(dtls, &QDtls::pskRequired, [](QSslPreSharedKeyAuthenticator *auth) {
                    auth->setPreSharedKey(QByteArray::fromHex("1a2b3c4d5e6f"));
                });
                QObject::connect(dtls, &QDtls::handshakeTimeout, [&, dtls] {
                    if (!dtls->handleTimeout(&socket))
                        drop(dtls); // gave up: lost peer, or one with another key
                });
                peers.insert(peer, dtls);
            }
            if (!dtls->isConnectionEncrypted()) {
                if (!dtls->doHandshake(&socket, d.data()))
                    drop(dtls);
            } else if (const QByteArray msg = dtls->decryptDatagram(&socket, d.data()); !msg.isEmpty()) {
                dtls->writeDatagramEncrypted(&socket, "echo: " + msg);
            } else if (dtls->dtlsError() != QDtlsError::NoError) {
                drop(dtls); // close_notify or a fatal alert
            }
        }
    });
    return app.exec();
}
// README: end
