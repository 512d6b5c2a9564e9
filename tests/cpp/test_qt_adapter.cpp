// SPDX-License-Identifier: MIT
// Tests of bindings/cpp/dtlsgate_qt.hpp beyond what the parity run covers
// (verifyClient on every case): the Qt-typed parameters and getters,
// check() with Qt types, the PSK authenticator's Qt face, the traits, and
// QDtls: a handshake in the event loop with a lost flight, data, shutdown.
//
// Usage: test_qt_adapter CORPUS_DIR
#include "dtlsgate_qt.hpp"

#include "check.hpp"
#include "dtls_bytes.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QNetworkDatagram>
#include <QSslConfiguration>
#include <QSslPreSharedKeyAuthenticator>
#include <QSslSocket>

#include <cerrno>
#include <chrono>
#include <memory>
#include <system_error>
#include <type_traits>
#include <vector>

using dtlsgate::qt::QDtlsClientVerifier;
using dtlsgate::qt::QDtlsError;
using Psk = dtlsgate::qt::QSslPreSharedKeyAuthenticator;
using Params = QDtlsClientVerifier::GeneratorParameters;
using Decision = QDtlsClientVerifier::CheckResult::Decision;

// QObjects, as Qt's: neither copied nor moved.
static_assert(!std::is_copy_constructible_v<QDtlsClientVerifier>);
static_assert(!std::is_move_constructible_v<QDtlsClientVerifier>);
static_assert(std::is_base_of_v<QObject, QDtlsClientVerifier>);
static_assert(!std::is_move_constructible_v<dtlsgate::qt::QDtls>);
static_assert(std::is_base_of_v<QObject, dtlsgate::qt::QDtls>);
static_assert(std::is_nothrow_destructible_v<QDtlsClientVerifier>);
static_assert(std::is_copy_constructible_v<Psk> && std::is_copy_assignable_v<Psk>);
static_assert(std::is_nothrow_move_constructible_v<Psk> && std::is_nothrow_move_assignable_v<Psk>);
static_assert(std::is_nothrow_swappable_v<Psk>);
// Qt's own types, where Qt has them.
static_assert(std::is_same_v<decltype(Params::hash), QCryptographicHash::Algorithm>);
static_assert(std::is_same_v<decltype(Params::secret), QByteArray>);
static_assert(std::is_same_v<decltype(std::declval<QDtlsClientVerifier>().verifiedHello()), QByteArray>);
static_assert(std::is_same_v<decltype(std::declval<QDtlsClientVerifier>().dtlsErrorString()), QString>);
static_assert(std::is_same_v<decltype(std::declval<Psk>().preSharedKey()), QByteArray>);

namespace {

QString corpus_dir;

QByteArray load(const char *name)
{
    QFile f(corpus_dir + QLatin1Char('/') + QLatin1String(name));
    if (!f.open(QIODevice::ReadOnly))
        throw std::runtime_error(std::string("cannot read corpus file ") + name);
    return f.readAll();
}

std::string str(const QByteArray &b) { return b.toStdString(); }
std::string str(const QString &s) { return s.toStdString(); }

// The first flight `hello` again with the cookie of HelloVerifyRequest `hvr`.
QByteArray withCookie(const QByteArray &hello, const QByteArray &hvr)
{
    // The cookie is what follows server_version in the HelloVerifyRequest.
    const QByteArray cookie = hvr.mid(DTLS_BODY + 3);
    CHECK_EQ(cookie.size(), quint8(hvr.at(DTLS_BODY + 2)));
    QByteArray second(hello.size() + cookie.size(), Qt::Uninitialized);
    second.resize(qsizetype(dtls_hello_with_cookie(
        reinterpret_cast<const uint8_t *>(hello.constData()), size_t(hello.size()),
        reinterpret_cast<const uint8_t *>(cookie.constData()), size_t(cookie.size()),
        reinterpret_cast<uint8_t *>(second.data()))));
    return second;
}

// One datagram waiting on `s`, or empty after two seconds.
QByteArray receive(QUdpSocket &s)
{
    if (!s.hasPendingDatagrams() && !s.waitForReadyRead(2000))
        return {};
    return s.receiveDatagram().data();
}

void test_parameters()
{
    QDtlsClientVerifier v;
    const Params placeholder;
    CHECK_EQ(placeholder.hash, QCryptographicHash::Sha1);
    CHECK(placeholder.secret.isEmpty());

    const Params defaults = v.cookieGeneratorParameters();
    CHECK_EQ(defaults.hash, QCryptographicHash::Sha256);
    CHECK_EQ(defaults.secret.size(), 32);

    const QByteArray secret("binary\0secret", 13);
    CHECK(v.setCookieGeneratorParameters(Params(QCryptographicHash::Blake2b_256, secret)));
    CHECK_EQ(v.cookieGeneratorParameters().hash, QCryptographicHash::Blake2b_256);
    CHECK_EQ(str(v.cookieGeneratorParameters().secret), str(secret));

    CHECK(!v.setCookieGeneratorParameters(placeholder));
    CHECK_EQ(v.dtlsError(), QDtlsError::InvalidInputParameters);
    CHECK_EQ(str(v.dtlsErrorString()), "Invalid (empty) secret");
    CHECK(!v.setCookieGeneratorParameters({QCryptographicHash::Blake2s_128, "x"}));
    CHECK(v.dtlsErrorString().contains(QLatin1String("BLAKE2s"), Qt::CaseInsensitive));
    CHECK_EQ(str(v.cookieGeneratorParameters().secret), str(secret));

    // The extensions come with the base class.
    v.setCookieLifetime(std::chrono::seconds(90));
    CHECK_EQ(v.cookieLifetime(), std::chrono::seconds(90));
}

// The exchange on QUdpSockets, with check() deciding and the test sending
// the reply itself through QUdpSocket, then verifyClient() with the cookie.
void test_check_and_verify()
{
    QUdpSocket server, client;
    CHECK(server.bind(QHostAddress::LocalHost, 0));
    CHECK(client.bind(QHostAddress::LocalHost, 0));
    QDtlsClientVerifier v;
    const QByteArray hello = load("openssl_dtls12.bin");

    const auto first = v.check(hello, QHostAddress::LocalHost, client.localPort());
    CHECK_EQ(first.decision(), Decision::SendReply);
    const QByteArray reply(first.reply().data(), qsizetype(first.reply().size()));
    CHECK(server.writeDatagram(reply, QHostAddress::LocalHost, client.localPort()) == reply.size());
    CHECK(client.waitForReadyRead(2000));
    const QByteArray hvr = client.receiveDatagram().data();
    CHECK_EQ(str(hvr), str(reply));

    const QByteArray second = withCookie(hello, hvr);

    CHECK_EQ(v.check(second, QHostAddress::LocalHost, client.localPort()).decision(),
             Decision::Verified);
    CHECK(v.verifyClient(&server, second, QHostAddress::LocalHost, client.localPort()));
    CHECK_EQ(v.dtlsError(), QDtlsError::NoError);
    CHECK_EQ(str(v.verifiedHello()), str(second));
    CHECK(v.dtlsErrorString().isEmpty());

    // Misuse throws; the network outcomes of verifyClient() do not.
    CHECK_THROWS(v.check(QByteArray(), QHostAddress::LocalHost, 1), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_THROWS(v.check(hello, QHostAddress(), 1), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK(!v.verifyClient(&server, hello, QHostAddress(), client.localPort()));
    CHECK_EQ(v.dtlsError(), QDtlsError::InvalidInputParameters);
    CHECK_EQ(str(v.verifiedHello()), str(second));

    // A socket that was never bound has no descriptor: invalid input.
    QUdpSocket unbound;
    CHECK(!v.verifyClient(&unbound, hello, QHostAddress::LocalHost, client.localPort()));
    CHECK_EQ(v.dtlsError(), QDtlsError::InvalidInputParameters);

    // The plain overloads are still there: the socket's descriptor works.
    CHECK(v.verifyClient(int(server.socketDescriptor()), std::string_view(second.constData(),
                                                                          size_t(second.size())),
                         "127.0.0.1", client.localPort()));
}

// The Qt verifyClient() decides and sends by itself (check(), sendto(2)),
// the descriptor form through the library's verify call. Every outcome must
// be the same: the return value, dtlsError(), dtlsErrorString() and
// verifiedHello(), the last also across calls that keep it (refused input).
// Two verifiers with the same parameters get the same calls, one in each
// form, the peer's address as text for the library as the adapter gave it
// before it built sockaddrs.
void test_fast_path_matches_library()
{
    QUdpSocket server4, client4, server6, client6, unbound;
    CHECK(server4.bind(QHostAddress::LocalHost, 0));
    CHECK(client4.bind(QHostAddress::LocalHost, 0));
    const bool ipv6 = server6.bind(QHostAddress::LocalHostIPv6, 0) &&
                      client6.bind(QHostAddress::LocalHostIPv6, 0);
    if (!ipv6)
        std::cerr << "    (no IPv6 loopback: the IPv6 cases are skipped)\n";
    const Params params(QCryptographicHash::Sha256, "the fast path and the library");
    QDtlsClientVerifier fast, lib;
    CHECK(fast.setCookieGeneratorParameters(params));
    CHECK(lib.setCookieGeneratorParameters(params));
    const QByteArray hello = load("openssl_dtls12.bin");
    const quint16 port4 = client4.localPort();

    auto same = [&](const char *what, QUdpSocket *socket, const QByteArray &dgram,
                    const QHostAddress &address, quint16 port) {
        const bool a = fast.verifyClient(socket, dgram, address, port);
        const int fd = socket ? int(socket->socketDescriptor()) : -1;
        const bool b = lib.verifyClient(fd, std::string_view(dgram.constData(), size_t(dgram.size())),
                                        address.toString().toStdString(), port);
        const bool ok = CHECK_EQ(a, b) & CHECK_EQ(fast.dtlsError(), lib.dtlsError()) &
                        CHECK_EQ(str(fast.dtlsErrorString()), str(lib.dtlsErrorString())) &
                        CHECK_EQ(str(fast.verifiedHello()), str(lib.verifiedHello()));
        if (!ok)
            std::cerr << "    in case: " << what << "\n";
        return a;
    };

    // A first flight: a HelloVerifyRequest from each, the same one.
    CHECK(!same("first flight", &server4, hello, QHostAddress::LocalHost, port4));
    CHECK_EQ(fast.dtlsError(), QDtlsError::NoError);
    const QByteArray hvr = receive(client4);
    CHECK(hvr.size() > DTLS_BODY + 3 && hvr.at(DTLS_HS_TYPE) == 3);
    CHECK_EQ(str(receive(client4)), str(hvr));

    // Its cookie: verified, the datagram kept.
    const QByteArray second = withCookie(hello, hvr);
    CHECK(same("valid cookie", &server4, second, QHostAddress::LocalHost, port4));
    CHECK_EQ(str(fast.verifiedHello()), str(second));

    // Refused input: InvalidInputParameters, verifiedHello() kept.
    same("null address", &server4, hello, QHostAddress(), port4);
    same("port 0", &server4, hello, QHostAddress::LocalHost, 0);
    same("empty datagram", &server4, QByteArray(), QHostAddress::LocalHost, port4);
    same("null socket", nullptr, hello, QHostAddress::LocalHost, port4);
    same("unbound socket", &unbound, hello, QHostAddress::LocalHost, port4);
    CHECK_EQ(fast.dtlsError(), QDtlsError::InvalidInputParameters);
    CHECK_EQ(str(fast.dtlsErrorString()),
             "A valid UDP socket, non-empty datagram, and valid address/port were expected");
    for (const char *group : {"224.0.0.1", "255.255.255.255", "ff02::1", "::ffff:224.0.0.1"})
        same(group, &server4, hello, QHostAddress(QLatin1String(group)), port4);
    CHECK_EQ(fast.dtlsError(), QDtlsError::InvalidInputParameters);
    CHECK_EQ(str(fast.dtlsErrorString()), "Multicast and broadcast addresses are not supported");
    CHECK_EQ(str(fast.verifiedHello()), str(second));

    // An IPv4-mapped peer on an IPv4 socket: sent as to 127.0.0.1.
    CHECK(!same("mapped peer", &server4, hello, QHostAddress(QLatin1String("::ffff:127.0.0.1")),
                port4));
    CHECK_EQ(fast.dtlsError(), QDtlsError::NoError);
    CHECK(fast.verifiedHello().isEmpty());
    CHECK_EQ(str(receive(client4)), str(hvr));
    CHECK_EQ(str(receive(client4)), str(hvr));

    // A send that fails: an IPv6 peer on an IPv4 socket. The system's text.
    same("valid cookie again", &server4, second, QHostAddress::LocalHost, port4);
    CHECK(!same("failed send", &server4, hello, QHostAddress::LocalHostIPv6, port4));
    CHECK_EQ(fast.dtlsError(), QDtlsError::UnderlyingSocketError);
    CHECK_EQ(str(fast.dtlsErrorString()), std::system_category().message(EAFNOSUPPORT));
    CHECK(fast.verifiedHello().isEmpty());

    // Not a ClientHello: ignored, NoError, verifiedHello() emptied.
    same("valid cookie once more", &server4, second, QHostAddress::LocalHost, port4);
    CHECK(!same("not a ClientHello", &server4, QByteArray("\x17\xfe\xfd", 3),
                QHostAddress::LocalHost, port4));
    CHECK_EQ(fast.dtlsError(), QDtlsError::NoError);
    CHECK(fast.dtlsErrorString().isEmpty());
    CHECK(fast.verifiedHello().isEmpty());
    CHECK(!client4.hasPendingDatagrams());

    if (!ipv6)
        return;
    // IPv6 with a scope id, by name and by number: the reply reaches ::1.
    const quint16 port6 = client6.localPort();
    for (const char *scope : {"lo", "1"}) {
        QHostAddress peer = QHostAddress::LocalHostIPv6;
        peer.setScopeId(QLatin1String(scope));
        CHECK(!same(scope, &server6, hello, peer, port6));
        CHECK_EQ(fast.dtlsError(), QDtlsError::NoError);
        const QByteArray hvr6 = receive(client6);
        CHECK_EQ(str(receive(client6)), str(hvr6));
        CHECK(same("valid cookie, scoped", &server6, withCookie(hello, hvr6), peer, port6));
    }
    // Link-local peers on interfaces that may not exist: whatever the
    // system makes of them, both forms agree.
    for (const char *peer : {"fe80::1%lo", "fe80::1%1", "fe80::1%nosuchif0"})
        same(peer, &server6, hello, QHostAddress(QLatin1String(peer)), port6);
    // An IPv4 peer on an IPv6 socket, and QHostAddress::Any.
    same("IPv4 peer on IPv6 socket", &server6, hello, QHostAddress::LocalHost, port4);
    same("Any", &server6, hello, QHostAddress::Any, port6);
    same("Any on IPv4", &server4, hello, QHostAddress::Any, port4);
}

// Where each getter reads from when the Qt form and the descriptor form
// (and setCookieGeneratorParameters()) are mixed on one verifier.
void test_outcome_across_forms()
{
    QUdpSocket server, client;
    CHECK(server.bind(QHostAddress::LocalHost, 0));
    CHECK(client.bind(QHostAddress::LocalHost, 0));
    const int fd = int(server.socketDescriptor());
    const quint16 port = client.localPort();
    QDtlsClientVerifier v;
    const QByteArray hello = load("openssl_dtls12.bin");
    const std::string_view helloView(hello.constData(), size_t(hello.size()));

    CHECK(!v.verifyClient(&server, hello, QHostAddress::LocalHost, port));
    const QByteArray second = withCookie(hello, receive(client));
    const std::string_view secondView(second.constData(), size_t(second.size()));

    // Accepted by the Qt form; refused input in the other form keeps it.
    CHECK(v.verifyClient(&server, second, QHostAddress::LocalHost, port));
    CHECK(!v.verifyClient(fd, helloView, "", port));
    CHECK_EQ(v.dtlsError(), QDtlsError::InvalidInputParameters);
    CHECK_EQ(str(v.verifiedHello()), str(second));
    CHECK(!v.setCookieGeneratorParameters(Params(QCryptographicHash::Sha256, QByteArray())));
    CHECK_EQ(str(v.dtlsErrorString()), "Invalid (empty) secret");
    CHECK_EQ(str(v.verifiedHello()), str(second));

    // Accepted by the descriptor form, emptied by the Qt form; refused
    // input in the descriptor form then keeps the empty one, not the
    // library's older datagram.
    CHECK(v.verifyClient(fd, secondView, "127.0.0.1", port));
    CHECK_EQ(v.dtlsError(), QDtlsError::NoError);
    CHECK_EQ(str(v.verifiedHello()), str(second));
    CHECK(!v.verifyClient(&server, hello, QHostAddress::LocalHost, port));
    CHECK(v.verifiedHello().isEmpty());
    CHECK(!v.verifyClient(fd, helloView, "127.0.0.1", 0));
    CHECK_EQ(v.dtlsError(), QDtlsError::InvalidInputParameters);
    CHECK(v.verifiedHello().isEmpty());
    CHECK(v.verifyClient(fd, secondView, "127.0.0.1", port));
    CHECK_EQ(str(v.verifiedHello()), str(second));
    CHECK_EQ(v.dtlsError(), QDtlsError::NoError);
    CHECK(v.dtlsErrorString().isEmpty());
}

void test_psk()
{
    Psk a;
    CHECK(a.identity().isEmpty());
    a.setIdentity("Qt DTLS example server");
    a.setPreSharedKey(QByteArray::fromHex("1a2b3c4d5e6f"));
    a.setIdentityHint(QByteArrayLiteral("hint"));
    CHECK_EQ(str(a.identity()), "Qt DTLS example server");
    CHECK_EQ(str(a.preSharedKey().toHex()), "1a2b3c4d5e6f");
    CHECK_EQ(str(a.identityHint()), "hint");

    Psk b = a;
    CHECK(a == b);
    b.setPreSharedKey("other");
    CHECK(a != b);
    b.swap(a);
    CHECK_EQ(str(b.preSharedKey().toHex()), "1a2b3c4d5e6f");
    CHECK_EQ(str(a.preSharedKey()), "other");

    // From the std-typed one, field for field.
    dtlsgate::QSslPreSharedKeyAuthenticator plain;
    plain.setIdentity("plain");
    plain.setMaximumIdentityLength(12);
    const Psk fromPlain(plain);
    CHECK_EQ(str(fromPlain.identity()), "plain");
    CHECK_EQ(fromPlain.maximumIdentityLength(), 12);
}

// ---------------------------------------------------------------------------
// QDtls on QUdpSockets in the event loop.

using dtlsgate::qt::QDtls;
using SslMode = dtlsgate::QSslSocket::SslMode;

static_assert(!std::is_copy_constructible_v<QDtls>);
static_assert(std::is_nothrow_destructible_v<QDtls>);
// Qt's own types where Qt's QDtls has them.
static_assert(std::is_same_v<decltype(std::declval<QDtls>().sslMode()), QSslSocket::SslMode>);
static_assert(std::is_same_v<decltype(std::declval<QDtls>().sessionCipher()), QSslCipher>);
static_assert(std::is_same_v<decltype(std::declval<QDtls>().dtlsConfiguration()), QSslConfiguration>);
static_assert(std::is_same_v<decltype(std::declval<QDtls>().setPeerVerificationName(QString())), bool>);
static_assert(std::is_same_v<decltype(std::declval<QDtls>().peerVerificationErrors()), QList<QSslError>>);
static_assert(std::is_same_v<QDtls::QSslPreSharedKeyAuthenticator, ::QSslPreSharedKeyAuthenticator>);
static_assert(std::is_same_v<decltype(std::declval<QDtls>().decryptDatagram(nullptr, QByteArray())),
                             QByteArray>);
static_assert(std::is_same_v<decltype(std::declval<QDtls>().writeDatagramEncrypted(nullptr,
                                                                                     QByteArray())),
                             qint64>);
static_assert(std::is_same_v<decltype(std::declval<QDtls>().peerAddress()), QHostAddress>);
static_assert(std::is_same_v<QDtls::GeneratorParameters, Params>);

const QByteArray kKey = QByteArray::fromHex("1a2b3c4d5e6f");

// A datagram that starts with a ServerHello record.
bool is_server_hello(const QByteArray &d)
{
    return d.size() > DTLS_HS_TYPE && d.at(0) == 22 && d.at(DTLS_HS_TYPE) == 2;
}

// Client and server sessions, each on its own QUdpSocket, with the verifier
// in front of the server. The client drops the server's first flight once,
// so only its QTimer-driven handshakeTimeout -> handleTimeout() recovers
// the handshake. Then a message goes out and its echo comes back, and the
// client shuts down. The client socket starts unbound: its first flight
// goes out through QUdpSocket::writeDatagram() (which binds it), the rest
// through its descriptor.
void test_session_event_loop()
{
    QUdpSocket serverSocket, clientSocket;
    CHECK(serverSocket.bind(QHostAddress::LocalHost, 0));
    QDtlsClientVerifier verifier;
    std::unique_ptr<QDtls> server;
    QDtls client(SslMode::SslClientMode);
    QEventLoop loop;
    bool timedOut = false, dropped = false, serverSawClose = false;
    int clientTimeouts = 0, timeoutsAtCompletion = -1;
    QByteArray clientHint, serverIdentity, echo;
    QString cipher;
    QSsl::SslProtocol protocol = QSsl::UnknownProtocol;

    // A null socket: false with InvalidInputParameters, as in Qt.
    CHECK(!client.doHandshake(nullptr));
    CHECK_EQ(client.dtlsError(), QDtlsError::InvalidInputParameters);
    CHECK_EQ(str(client.dtlsErrorString()), "Invalid (nullptr) socket");
    CHECK_EQ(client.writeDatagramEncrypted(nullptr, "x"), -1);
    CHECK(client.decryptDatagram(nullptr, "x").isEmpty());
    CHECK(!client.shutdown(nullptr));
    CHECK(!client.handleTimeout(nullptr));
    CHECK(!client.abortHandshake(nullptr));

    CHECK(client.peerAddress().isNull());
    CHECK(client.setPeer(QHostAddress::LocalHost, serverSocket.localPort(), "localhost"));
    CHECK_EQ(client.dtlsError(), QDtlsError::NoError); // the next call cleared it
    CHECK(client.peerAddress() == QHostAddress(QHostAddress::LocalHost));
    CHECK_EQ(str(client.peerVerificationName()), "localhost");
    client.onPskRequired([&](Psk *a) {
        clientHint = a->identityHint();
        a->setIdentity("qt client");
        a->setPreSharedKey(kKey);
    });
    client.onHandshakeTimeout([&] {
        clientTimeouts++;
        CHECK(client.handleTimeout(&clientSocket));
    });

    QObject::connect(&serverSocket, &QUdpSocket::readyRead, [&] {
        while (serverSocket.hasPendingDatagrams()) {
            const QNetworkDatagram dg = serverSocket.receiveDatagram();
            const QByteArray data = dg.data();
            const quint16 port = quint16(dg.senderPort());
            if (!server) {
                if (!verifier.verifyClient(&serverSocket, data, dg.senderAddress(), port))
                    continue;
                // Written as for Qt's QDtls: Qt's mode, configuration and signals.
                server = std::make_unique<QDtls>(QSslSocket::SslServerMode);
                CHECK(server->setPeer(dg.senderAddress(), port));
                CHECK(server->setCookieVerifier(verifier));
                QSslConfiguration conf = QSslConfiguration::defaultDtlsConfiguration();
                conf.setPreSharedKeyIdentityHint("qt server");
                conf.setPeerVerifyMode(QSslSocket::VerifyNone);
                CHECK(server->setDtlsConfiguration(conf));
                QObject::connect(server.get(), &QDtls::pskRequired,
                                 [&](QSslPreSharedKeyAuthenticator *a) {
                                     serverIdentity = a->identity();
                                     a->setPreSharedKey(kKey);
                                 });
                QObject::connect(server.get(), &QDtls::handshakeTimeout,
                                 [&] { server->handleTimeout(&serverSocket); });
                CHECK(server->doHandshake(&serverSocket, verifier.verifiedHello()));
            } else if (server->handshakeState() == QDtls::HandshakeInProgress) {
                server->doHandshake(&serverSocket, data);
            } else if (server->isConnectionEncrypted()) {
                const QByteArray plain = server->decryptDatagram(&serverSocket, data);
                if (!plain.isEmpty()) {
                    CHECK(server->writeDatagramEncrypted(&serverSocket, "echo: " + plain) > 0);
                } else if (server->dtlsError() == QDtlsError::RemoteClosedConnectionError) {
                    serverSawClose = true;
                    loop.quit();
                }
            }
        }
    });

    QObject::connect(&clientSocket, &QUdpSocket::readyRead, [&] {
        while (clientSocket.hasPendingDatagrams()) {
            const QByteArray data = clientSocket.receiveDatagram().data();
            if (client.handshakeState() == QDtls::HandshakeInProgress) {
                if (!dropped && is_server_hello(data)) {
                    dropped = true; // lost on the way
                    continue;
                }
                if (!client.doHandshake(&clientSocket, data))
                    std::cerr << "    client: " << str(client.dtlsErrorString()) << "\n";
                if (client.isConnectionEncrypted()) {
                    timeoutsAtCompletion = clientTimeouts;
                    cipher = client.sessionCipher().name();
                    protocol = client.sessionProtocol();
                    CHECK_EQ(client.writeDatagramEncrypted(&clientSocket, "hello over Qt"), 13);
                }
            } else if (client.isConnectionEncrypted()) {
                echo = client.decryptDatagram(&clientSocket, data);
                if (!echo.isEmpty())
                    CHECK(client.shutdown(&clientSocket));
            }
        }
    });

    QTimer::singleShot(10000, &loop, [&] {
        timedOut = true;
        loop.quit();
    });
    CHECK(client.doHandshake(&clientSocket));
    CHECK(clientSocket.state() == QAbstractSocket::BoundState); // writeDatagram() bound it
    CHECK(client.remainingTimeout().has_value());
    loop.exec();

    CHECK(!timedOut);
    CHECK(dropped);
    CHECK(clientTimeouts >= 1);
    CHECK_EQ(timeoutsAtCompletion, clientTimeouts); // the timer stopped with the handshake
    CHECK_EQ(str(clientHint), "qt server");
    CHECK_EQ(str(serverIdentity), "qt client");
    CHECK_EQ(str(cipher), "PSK-AES128-GCM-SHA256");
    CHECK(protocol == QSsl::DtlsV1_2);
    CHECK_EQ(str(echo), "echo: hello over Qt");
    CHECK(serverSawClose);
    CHECK(client.sessionProtocol() == QSsl::UnknownProtocol);
    if (server)
        CHECK(server->peerAddress().isEqual(QHostAddress::LocalHost,
                                            QHostAddress::ConvertV4MappedToIPv4));
}

// Qt's ownership: a verifier and a session made with a parent go with it,
// and the session's timer (its child) with the session.
void test_parents()
{
    auto *parent = new QObject;
    auto *verifier = new QDtlsClientVerifier(parent);
    auto *dtls = new QDtls(QSslSocket::SslClientMode, parent);
    CHECK(verifier->parent() == parent);
    CHECK(dtls->parent() == parent);
    CHECK_EQ(dtls->sslMode(), QSslSocket::SslClientMode);
    int destroyed = 0;
    QObject::connect(verifier, &QObject::destroyed, [&] { destroyed++; });
    QObject::connect(dtls, &QObject::destroyed, [&] { destroyed++; });
    QUdpSocket sink, socket;
    CHECK(sink.bind(QHostAddress::LocalHost, 0));
    CHECK(socket.bind(QHostAddress::LocalHost, 0));
    CHECK(dtls->setPeer(QHostAddress::LocalHost, sink.localPort()));
    CHECK(dtls->doHandshake(&socket)); // arms the timer, a child of dtls
    CHECK_EQ(dtls->findChildren<QTimer *>().size(), 1);
    delete parent;
    CHECK_EQ(destroyed, 2);
}

// The two forms of each signal: the callback runs first, then the slots,
// which see what it set. Slots connect with Qt's member-function pointers
// and with Qt's SIGNAL() strings. Then a handshake whose key nobody set
// fails, as in Qt.
void test_signals()
{
    QUdpSocket sink, socket;
    CHECK(sink.bind(QHostAddress::LocalHost, 0));
    CHECK(socket.bind(QHostAddress::LocalHost, 0));
    QEventLoop loop;
    std::vector<std::string> order;
    QDtls client(QSslSocket::SslClientMode);
    CHECK(client.setPeer(QHostAddress::LocalHost, sink.localPort()));
    client.onHandshakeTimeout([&] { order.push_back("callback"); });
    QObject::connect(&client, &QDtls::handshakeTimeout, [&] {
        order.push_back("slot");
        loop.quit();
    });
    CHECK(QObject::connect(&client, SIGNAL(handshakeTimeout()), &loop, SLOT(quit())));
    CHECK(QObject::connect(&client, SIGNAL(pskRequired(QSslPreSharedKeyAuthenticator*)), &loop,
                           SLOT(quit())));
    CHECK(client.doHandshake(&socket));
    QTimer::singleShot(5000, &loop, [&] { loop.quit(); });
    loop.exec();
    CHECK(order == (std::vector<std::string>{"callback", "slot"}));
    // emitHandshakeTimeout() of the poll loops emits the signal too.
    CHECK(client.emitHandshakeTimeout());
    CHECK_EQ(order.size(), 4u);
    CHECK(client.abortHandshake(&socket));
}

// Two sessions of this process, the client's PSK on both paths.
void test_psk_signal_and_callback()
{
    QUdpSocket a, b;
    CHECK(a.bind(QHostAddress::LocalHost, 0));
    CHECK(b.bind(QHostAddress::LocalHost, 0));
    QDtls client(QSslSocket::SslClientMode), server(QSslSocket::SslServerMode);
    CHECK(client.setPeer(QHostAddress::LocalHost, b.localPort()));
    CHECK(server.setPeer(QHostAddress::LocalHost, a.localPort()));
    QSslConfiguration conf = QSslConfiguration::defaultDtlsConfiguration();
    conf.setPreSharedKeyIdentityHint("hint");
    CHECK(server.setDtlsConfiguration(conf));
    CHECK(server.setCookieGeneratorParameters(QDtlsClientVerifier().cookieGeneratorParameters()));
    QByteArray callbackHint, slotIdentity, slotHint("unset");
    client.onPskRequired([&](Psk *p) {
        callbackHint = p->identityHint();
        p->setIdentity("from the callback");
    });
    QObject::connect(&client, &QDtls::pskRequired, [&](QSslPreSharedKeyAuthenticator *p) {
        slotIdentity = p->identity();
        slotHint = p->identityHint();
        p->setPreSharedKey(kKey);
    });
    QByteArray serverSaw;
    QObject::connect(&server, &QDtls::pskRequired, [&](QSslPreSharedKeyAuthenticator *p) {
        serverSaw = p->identity();
        p->setPreSharedKey(kKey);
    });
    // Datagrams go from socket to socket by hand, until both are done.
    CHECK(client.doHandshake(&a));
    for (int round = 0; round < 20 && !(client.isConnectionEncrypted() && server.isConnectionEncrypted());
         round++) {
        while (b.waitForReadyRead(200) || b.hasPendingDatagrams()) {
            const QByteArray d = b.receiveDatagram().data();
            if (server.handshakeState() == QDtls::HandshakeNotStarted) {
                QDtlsClientVerifier v;
                v.setCookieGeneratorParameters(server.cookieGeneratorParameters());
                if (!v.verifyClient(&b, d, QHostAddress::LocalHost, a.localPort()))
                    continue;
            }
            server.doHandshake(&b, d);
            if (!b.hasPendingDatagrams())
                break;
        }
        while (a.waitForReadyRead(200) || a.hasPendingDatagrams()) {
            client.doHandshake(&a, a.receiveDatagram().data());
            if (!a.hasPendingDatagrams())
                break;
        }
    }
    CHECK(client.isConnectionEncrypted());
    CHECK(server.isConnectionEncrypted());
    CHECK_EQ(str(callbackHint), "hint");
    CHECK_EQ(str(slotIdentity), "from the callback");
    CHECK(slotHint.isEmpty()); // Qt's class: no public way to fill it in
    CHECK_EQ(str(serverSaw), "from the callback");
    CHECK_EQ(str(client.sessionCipher().name()), "PSK-AES128-GCM-SHA256");
    CHECK(!client.sessionCipher().isNull());
}

// Qt's QSslConfiguration: what is taken, skipped and refused.
void test_configuration()
{
    QDtls dtls(QSslSocket::SslServerMode);
    const dtlsgate::QDtls &plain = dtls;
    const QSslConfiguration qtDefault = QSslConfiguration::defaultDtlsConfiguration();
    CHECK(dtls.dtlsConfiguration() == qtDefault);

    QSslConfiguration conf = qtDefault;
    conf.setPreSharedKeyIdentityHint("server hint");
    conf.setPeerVerifyMode(QSslSocket::VerifyNone);
    CHECK(dtls.setDtlsConfiguration(conf)); // Qt's default suites: dtlsgate's default list
    CHECK_EQ(plain.dtlsConfiguration().preSharedKeyIdentityHint(), "server hint");
    CHECK_EQ(plain.dtlsConfiguration().ciphers().front().name(), "PSK-AES128-GCM-SHA256");
    CHECK_EQ(plain.dtlsConfiguration().peerVerifyMode(), dtlsgate::QSslSocket::VerifyNone);
    CHECK(dtls.dtlsConfiguration() == conf);

    // Suites dtlsgate lacks are skipped; the order of the rest is kept.
    conf.setCiphers(QStringLiteral("ECDHE-ECDSA-AES128-GCM-SHA256:PSK-AES256-GCM-SHA384:"
                                   "PSK-AES128-GCM-SHA256"));
    CHECK_EQ(conf.ciphers().size(), 3);
    CHECK(dtls.setDtlsConfiguration(conf));
    CHECK_EQ(plain.dtlsConfiguration().ciphers().size(), 2u);
    CHECK_EQ(plain.dtlsConfiguration().ciphers().front().name(), "PSK-AES256-GCM-SHA384");

    // Refused, with nothing changed: no suite of dtlsgate's, a TLS
    // protocol, a certificate.
    QSslConfiguration bad = conf;
    bad.setCiphers(QStringLiteral("ECDHE-ECDSA-AES128-GCM-SHA256"));
    CHECK(!dtls.setDtlsConfiguration(bad));
    CHECK_EQ(dtls.dtlsError(), QDtlsError::InvalidInputParameters);
    CHECK(dtls.dtlsErrorString().startsWith(
        "QSslConfiguration ciphers(): none of the 1 cipher suites is one dtlsgate has; it has "
        "PSK-AES128-GCM-SHA256 "));
    bad = conf;
    bad.setProtocol(QSsl::TlsV1_2);
    CHECK(!dtls.setDtlsConfiguration(bad));
    CHECK_EQ(dtls.dtlsError(), QDtlsError::InvalidInputParameters);
    CHECK_EQ(str(dtls.dtlsErrorString()),
             "QSslConfiguration protocol() " + std::to_string(int(QSsl::TlsV1_2)) +
                 " is not supported: dtlsgate speaks DTLS 1.2 (QSsl::DtlsV1_2 or "
                 "QSsl::DtlsV1_2OrLater)");
    bad = QSslConfiguration(); // Qt's plain default is a TLS configuration
    CHECK(!dtls.setDtlsConfiguration(bad));
    CHECK(dtls.dtlsConfiguration() == conf);
    CHECK_EQ(plain.dtlsConfiguration().ciphers().size(), 2u);
    conf.setProtocol(QSsl::DtlsV1_2);
    CHECK(dtls.setDtlsConfiguration(conf));
    CHECK_EQ(dtls.dtlsError(), QDtlsError::NoError);
    CHECK(dtls.setPeerVerificationName("name"));
    CHECK_EQ(str(dtls.peerVerificationName()), "name");
    CHECK(dtls.peerVerificationErrors().isEmpty());
    QUdpSocket socket;
    CHECK(!dtls.resumeHandshake(&socket));
    CHECK_EQ(dtls.dtlsError(), QDtlsError::InvalidOperation);
}

// The handshake deadline in the event loop: a server that never answers,
// a 500 ms deadline. The QTimer fires at the deadline, before the first
// retransmission would be due (1 s), and handleTimeout() ends the
// handshake there, however many retransmissions were allowed.
void test_session_deadline()
{
    QUdpSocket sink, socket;
    CHECK(sink.bind(QHostAddress::LocalHost, 0));
    CHECK(socket.bind(QHostAddress::LocalHost, 0));
    QEventLoop loop;
    std::vector<bool> results;
    QDtls client(SslMode::SslClientMode);
    CHECK(client.setHandshakeDeadline(std::chrono::milliseconds(500)));
    CHECK(client.setMaximumRetransmissions(12));
    CHECK(client.setPeer(QHostAddress::LocalHost, sink.localPort()));
    client.onPskRequired([](Psk *) {});
    client.onHandshakeTimeout([&] {
        results.push_back(client.handleTimeout(&socket));
        if (!results.back())
            loop.quit();
    });
    QElapsedTimer clock;
    clock.start();
    CHECK(client.doHandshake(&socket));
    QTimer::singleShot(5000, &loop, [&] { loop.quit(); }); // a bound, not a measurement
    loop.exec();
    CHECK(results == std::vector<bool>{false});
    CHECK(clock.elapsed() >= 500);
    CHECK_EQ(client.handshakeState(), QDtls::HandshakeNotStarted);
    CHECK_EQ(client.dtlsError(), QDtlsError::TlsFatalError);
    CHECK(!client.remainingTimeout());
    // One ClientHello reached the sink: it was never sent again.
    CHECK(sink.waitForReadyRead(2000));
    sink.receiveDatagram();
    CHECK(!sink.hasPendingDatagrams());
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    if (argc != 2) {
        std::cerr << "usage: test_qt_adapter CORPUS_DIR\n";
        return 2;
    }
    corpus_dir = QString::fromLocal8Bit(argv[1]);
    try {
        test_parameters();
        test_check_and_verify();
        test_fast_path_matches_library();
        test_outcome_across_forms();
        test_psk();
        test_session_event_loop();
        test_parents();
        test_signals();
        test_psk_signal_and_callback();
        test_configuration();
        test_session_deadline();
    } catch (const std::exception &e) {
        std::cerr << "test_qt_adapter: unexpected exception: " << e.what() << "\n";
        return 1;
    }
    return check::report();
}
