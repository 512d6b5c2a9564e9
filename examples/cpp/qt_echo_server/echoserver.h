/* SPDX-License-Identifier: MIT */
// echoserver.h - a DTLS echo server with pre-shared keys, written as a Qt
// program is: a QObject with slots, children owned through parent
// pointers, QUdpSocket::readyRead, QDtls's signals.
#ifndef ECHOSERVER_H
#define ECHOSERVER_H

// The one difference between the build on Qt's QDtls and the build on
// dtlsgate (tests/cpp/qt_echo.sh checks that nothing else differs).
#ifdef USE_QT_DTLS
#include <QDtls>
#include <QDtlsClientVerifier>
#else
#include <dtlsgate_qt.hpp>
using dtlsgate::qt::QDtls;
using dtlsgate::qt::QDtlsClientVerifier;
using dtlsgate::qt::QDtlsError;
#endif

#include <QByteArray>
#include <QHash>
#include <QHostAddress>
#include <QNetworkDatagram>
#include <QObject>
#include <QSslCipher>
#include <QSslConfiguration>
#include <QSslPreSharedKeyAuthenticator>
#include <QUdpSocket>

class EchoServer : public QObject
{
    Q_OBJECT

public:
    explicit EchoServer(const QByteArray &key, QObject *parent = nullptr);
    bool listen(const QHostAddress &address, quint16 port);

private slots:
    void readDatagrams();
    void pskRequired(QSslPreSharedKeyAuthenticator *authenticator);
    void handshakeTimeout();

private:
    void startHandshake(const QNetworkDatagram &datagram, const QString &peer);
    void continueHandshake(QDtls *connection, const QByteArray &datagram);
    void echo(QDtls *connection, const QByteArray &datagram);
    void drop(QDtls *connection, const QString &why);

    QUdpSocket *socket;
    QDtlsClientVerifier *verifier;
    QSslConfiguration configuration;
    QHash<QString, QDtls *> connections; // by "address:port"; children of this object
    QByteArray key;
};

#endif // ECHOSERVER_H
