// SPDX-License-Identifier: MIT
// echoserver.cpp - see echoserver.h. Every client first gets a cookie
// from the verifier (no state is kept for it until it returns the cookie),
// then a QDtls of its own for the PSK handshake; after that each message
// is answered with "echo: " and the message. A client with the wrong key
// never completes its handshake: its QDtls is dropped when
// handleTimeout() gives up, and other clients are served meanwhile.
#include "echoserver.h"

#include <cstdio>

namespace {

// One line on standard output, at once, for scripts that read a pipe.
void say(const QString &line)
{
    std::printf("server: %s\n", qPrintable(line));
    std::fflush(stdout);
}

} // namespace

EchoServer::EchoServer(const QByteArray &key, QObject *parent)
    : QObject(parent),
      socket(new QUdpSocket(this)),
      verifier(new QDtlsClientVerifier(this)),
      configuration(QSslConfiguration::defaultDtlsConfiguration()),
      key(key)
{
    configuration.setPreSharedKeyIdentityHint("Qt echo server");
    configuration.setPeerVerifyMode(QSslSocket::VerifyNone); // PSK: no certificates
    connect(socket, &QUdpSocket::readyRead, this, &EchoServer::readDatagrams);
}

bool EchoServer::listen(const QHostAddress &address, quint16 port)
{
    if (!socket->bind(address, port)) {
        std::fprintf(stderr, "qt_echo_server: cannot bind %s port %u: %s\n",
                     qPrintable(address.toString()), unsigned(port),
                     qPrintable(socket->errorString()));
        return false;
    }
    say(QStringLiteral("listening on %1:%2").arg(socket->localAddress().toString()).arg(socket->localPort()));
    return true;
}

void EchoServer::readDatagrams()
{
    while (socket->hasPendingDatagrams()) {
        const QNetworkDatagram datagram = socket->receiveDatagram();
        if (datagram.data().isEmpty() || datagram.senderPort() <= 0)
            continue;
        const QString peer = QStringLiteral("%1:%2").arg(datagram.senderAddress().toString())
                                 .arg(datagram.senderPort());
        QDtls *connection = connections.value(peer);
        if (!connection)
            startHandshake(datagram, peer);
        else if (connection->isConnectionEncrypted())
            echo(connection, datagram.data());
        else
            continueHandshake(connection, datagram.data());
    }
}

void EchoServer::startHandshake(const QNetworkDatagram &datagram, const QString &peer)
{
    const quint16 port = quint16(datagram.senderPort());
    if (!verifier->verifyClient(socket, datagram.data(), datagram.senderAddress(), port)) {
        if (verifier->dtlsError() != QDtlsError::NoError)
            say(QStringLiteral("%1 not verified: %2").arg(peer, verifier->dtlsErrorString()));
        return; // a HelloVerifyRequest went out, or it was no ClientHello
    }
    auto *connection = new QDtls(QSslSocket::SslServerMode, this);
    connection->setObjectName(peer);
    connections.insert(peer, connection);
    if (!connection->setPeer(datagram.senderAddress(), port) ||
        !connection->setDtlsConfiguration(configuration)) {
        drop(connection, connection->dtlsErrorString());
        return;
    }
    connect(connection, &QDtls::pskRequired, this, &EchoServer::pskRequired);
    connect(connection, &QDtls::handshakeTimeout, this, &EchoServer::handshakeTimeout);
    say(QStringLiteral("%1 cookie verified, starting handshake").arg(peer));
    continueHandshake(connection, verifier->verifiedHello());
}

void EchoServer::continueHandshake(QDtls *connection, const QByteArray &datagram)
{
    if (!connection->doHandshake(socket, datagram))
        drop(connection, QStringLiteral("handshake failed: ") + connection->dtlsErrorString());
    else if (connection->isConnectionEncrypted())
        say(QStringLiteral("%1 handshake complete (%2)")
                .arg(connection->objectName(), connection->sessionCipher().name()));
}

void EchoServer::echo(QDtls *connection, const QByteArray &datagram)
{
    const QByteArray message = connection->decryptDatagram(socket, datagram);
    if (!message.isEmpty()) {
        say(QStringLiteral("%1 says \"%2\"").arg(connection->objectName(),
                                                 QString::fromUtf8(message.trimmed())));
        connection->writeDatagramEncrypted(socket, "echo: " + message);
    } else if (connection->dtlsError() == QDtlsError::RemoteClosedConnectionError) {
        drop(connection, QStringLiteral("closed the connection"));
    } else if (connection->dtlsError() != QDtlsError::NoError) {
        drop(connection, QStringLiteral("connection failed: ") + connection->dtlsErrorString());
    }
}

void EchoServer::pskRequired(QSslPreSharedKeyAuthenticator *authenticator)
{
    const auto *connection = qobject_cast<QDtls *>(sender());
    say(QStringLiteral("%1 PSK identity \"%2\"")
            .arg(connection->objectName(), QString::fromUtf8(authenticator->identity())));
    authenticator->setPreSharedKey(key);
}

void EchoServer::handshakeTimeout()
{
    auto *connection = qobject_cast<QDtls *>(sender());
    if (!connection->handleTimeout(socket))
        drop(connection, QStringLiteral("handshake failed: ") + connection->dtlsErrorString());
}

// Later, not now: this may run inside one of the connection's own calls.
void EchoServer::drop(QDtls *connection, const QString &why)
{
    say(QStringLiteral("%1 %2").arg(connection->objectName(), why));
    connections.remove(connection->objectName());
    connection->deleteLater();
}
