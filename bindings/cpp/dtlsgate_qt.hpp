// SPDX-License-Identifier: MIT
// dtlsgate_qt.hpp - dtlsgate for Qt 6 programs.
//
// Namespace dtlsgate::qt has QDtlsClientVerifier, QDtls and
// QSslPreSharedKeyAuthenticator with Qt's signatures: QObjects with a
// parent, QUdpSocket*, QByteArray and QHostAddress in, QByteArray and
// QString out, Qt's own QSslConfiguration, QSslCipher and
// QCryptographicHash::Algorithm, and QDtls's pskRequired and
// handshakeTimeout as real Qt signals. A Qt program ports by replacing
//
//     #include <QDtls>                 (or <QDtlsClientVerifier>)
// with
//     #include <dtlsgate_qt.hpp>
//     using dtlsgate::qt::QDtls;
//     using dtlsgate::qt::QDtlsClientVerifier;
//     using dtlsgate::qt::QDtlsError;
//
// (using-declarations, not `using namespace dtlsgate::qt`: Qt's headers
// declare their own QSslPreSharedKeyAuthenticator, and the two names would
// clash. The pskRequired signal carries Qt's own class.) README.md has the
// table of what differs from Qt class by class.
//
// It also has DtlsServer, which Qt has not: the whole server endpoint
// (sockets, cookies, sessions, timers, limits) run by the library, its
// events delivered as Qt signals. For a new server, start there.
//
// QDtls and DtlsServer have Q_OBJECT, so a program that uses either
// compiles the output of moc run on this header once: CMake does it when
// the target links dtlsgate::qt (find_package(dtlsgate)) and has AUTOMOC
// on; a Makefile runs
//     moc $(pkg-config --cflags-only-I Qt6Network) dtlsgate_qt.hpp -o moc_dtlsgate_qt.cpp
// and compiles that file with the rest. The verifier and the authenticator
// need no moc.
//
// The three Qt classes also derive from their counterparts in dtlsgate.hpp
// (DtlsServer wraps dtlsgate::DtlsServer), so the extensions (check(),
// cookie lifetime, rotation, fleet mode) and the file-descriptor overloads
// are there too. The getters that return bytes,
// text or configuration are redeclared with Qt types; the std::string
// versions stay reachable through the base class. Errors work as in
// dtlsgate.hpp.
//
// Qt built in a namespace (-qtnamespace) is not supported.
#ifndef DTLSGATE_QT_HPP
#define DTLSGATE_QT_HPP

#include "dtlsgate.hpp"

#include <QByteArray>
#include <QCryptographicHash>
#include <QHostAddress>
#include <QList>
#include <QNetworkInterface>
#include <QObject>
#include <QSslCipher>
#include <QSslConfiguration>
#include <QSslError>
#include <QSslKey>
#include <QSslPreSharedKeyAuthenticator>
#include <QSslSocket>
#include <QSocketNotifier>
#include <QString>
#include <QTimer>
#include <QUdpSocket>
#include <QtNetwork/qssl.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <cstring>
#include <limits>
#include <system_error>
#include <type_traits>

namespace dtlsgate {
namespace qt {

using dtlsgate::error;
using dtlsgate::QDtlsError;

namespace detail {

inline std::string_view view(const QByteArray &b) noexcept
{
    return {b.constData(), static_cast<std::size_t>(b.size())};
}

inline QByteArray bytes(std::string_view s)
{
    return QByteArray(s.data(), static_cast<qsizetype>(s.size()));
}

// The numeric form the C API parses ("192.0.2.1", "::1", "fe80::1%eth0");
// a null QHostAddress gives "", which it reports as InvalidInputParameters,
// as Qt does.
inline std::string address(const QHostAddress &a) { return a.toString().toStdString(); }

// The peer as the sockaddr recvfrom(2) would have given, built from the
// address's bytes: no text, no allocation, so the verifier's hot path costs
// what the C call costs. A null address gives len 0 (passed as no peer,
// which the C API reports as InvalidInputParameters, as Qt does). An
// IPv4-mapped IPv6 address becomes IPv4, as the library unmaps it before
// checking and sending; QHostAddress::Any is 0.0.0.0, as its text. A scope id
// naming an interface becomes its index, as the text form's would.
struct Peer {
    sockaddr_storage ss{};
    socklen_t len = 0;

    Peer(const QHostAddress &a, quint16 port)
    {
        const auto protocol = a.protocol();
        if (protocol != QAbstractSocket::IPv4Protocol && protocol != QAbstractSocket::IPv6Protocol &&
            protocol != QAbstractSocket::AnyIPProtocol)
            return;
        // An IPv4 address (one call into Qt on a verifier's hot path), or
        // an IPv6 one, which may be IPv4-mapped.
        auto *sin = reinterpret_cast<sockaddr_in *>(&ss);
        if (protocol != QAbstractSocket::IPv6Protocol) {
            sin->sin_family = AF_INET;
            sin->sin_port = htons(port);
            sin->sin_addr.s_addr = htonl(a.toIPv4Address());
            len = sizeof *sin;
            return;
        }
        const Q_IPV6ADDR b = a.toIPv6Address();
        static const std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::memcmp(b.c, mapped, 12) == 0) {
            sin->sin_family = AF_INET;
            sin->sin_port = htons(port);
            std::memcpy(&sin->sin_addr, b.c + 12, 4);
            len = sizeof *sin;
            return;
        }
        auto *sin6 = reinterpret_cast<sockaddr_in6 *>(&ss);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        std::memcpy(&sin6->sin6_addr, b.c, sizeof b.c);
        if (const QString scope = a.scopeId(); !scope.isEmpty()) {
            bool numeric = false;
            sin6->sin6_scope_id = scope.toUInt(&numeric);
            if (!numeric)
                sin6->sin6_scope_id = std::uint32_t(QNetworkInterface::interfaceIndexFromName(scope));
        }
        len = sizeof *sin6;
    }
    const sockaddr *addr() const { return len ? reinterpret_cast<const sockaddr *>(&ss) : nullptr; }
};

} // namespace detail

// A QObject as Qt's, owned by its parent if it has one; not movable.
class QDtlsClientVerifier : public QObject, public dtlsgate::QDtlsClientVerifier {
    using base = dtlsgate::QDtlsClientVerifier;

public:
    // Qt's: the default is SHA-1 with an empty secret (refused by
    // setCookieGeneratorParameters()).
    struct GeneratorParameters {
        GeneratorParameters() = default;
        GeneratorParameters(::QCryptographicHash::Algorithm a, const QByteArray &s)
            : hash(a), secret(s)
        {
        }

        ::QCryptographicHash::Algorithm hash = ::QCryptographicHash::Sha1;
        QByteArray secret;

        // The same parameters in dtlsgate.hpp's types, and back (the two
        // enums have the same numbers: QCryptographicHash::Algorithm's).
        dtlsgate::QDtlsClientVerifier::GeneratorParameters toStd() const
        {
            return {static_cast<dtlsgate::QCryptographicHash::Algorithm>(hash),
                    detail::view(secret)};
        }
        static GeneratorParameters fromStd(const dtlsgate::QDtlsClientVerifier::GeneratorParameters &p)
        {
            return {static_cast<::QCryptographicHash::Algorithm>(p.hash), detail::bytes(p.secret)};
        }
    };

    explicit QDtlsClientVerifier(QObject *parent = nullptr) : QObject(parent) {}

    bool setCookieGeneratorParameters(const GeneratorParameters &params)
    {
        errorFromLibrary_ = true; // the library sets dtlsError() for this call
        return base::setCookieGeneratorParameters(params.toStd());
    }
    GeneratorParameters cookieGeneratorParameters() const
    {
        return GeneratorParameters::fromStd(base::cookieGeneratorParameters());
    }

    // Qt's verifyClient(), at the cost of the cookie check alone: the peer
    // goes in as a sockaddr built from the address's bytes,
    // dtlsgate_verifier_check() decides with the reply in a stack buffer, and
    // a HelloVerifyRequest goes out here with sendto(2) on the socket's
    // descriptor (cheaper from C++ than from inside the library, and cheaper
    // than QUdpSocket::writeDatagram()). No allocation, no copy of the
    // datagram: verifiedHello() shares it, as in Qt.
    //
    // The outcome is the library's verify call's, which this object then
    // keeps itself (dtlsError(), dtlsErrorString(), verifiedHello()): NoError
    // and verifiedHello() emptied, then the datagram for a valid cookie, or
    // UnderlyingSocketError with the system's error text when the send fails
    // (writeDatagram() would give only Qt's wording or nothing at all).
    // Input the check refuses (a null socket or one without a descriptor,
    // never bound, so it cannot have received the datagram; an empty
    // datagram; a null address, port 0; multicast or broadcast) goes to the
    // library's verify call instead, so its InvalidInputParameters and texts
    // are Qt's, as they are for every other caller, and verifiedHello()
    // keeps its value. The calls of the base class that change these
    // (verifyClient() on a descriptor, setCookieGeneratorParameters()) are
    // wrapped here; read them through this class, not through a reference
    // to the base. One thread at a time per object, as Qt's class.
    bool verifyClient(QUdpSocket *socket, const QByteArray &dgram, const QHostAddress &address,
                      quint16 port)
    {
        const int fd = socket ? static_cast<int>(socket->socketDescriptor()) : -1;
        const detail::Peer peer(address, port);
        std::uint8_t reply[DTLSGATE_HELLO_VERIFY_REQUEST_MAX];
        std::size_t replyLen = sizeof reply;
        const auto *data = reinterpret_cast<const std::uint8_t *>(dgram.constData());
        const int rc = fd < 0 ? DTLSGATE_E_INVALID_ARGUMENT
                              : dtlsgate_verifier_check(handle(), data, std::size_t(dgram.size()),
                                                        peer.addr(), peer.len, reply, &replyLen);
        if (rc < 0) {
            // Refused input keeps verifiedHello(); a dead handle throws here.
            base::verifyClient(fd, detail::view(dgram), peer.addr(), peer.len);
            errorFromLibrary_ = true;
            return false;
        }
        errorFromLibrary_ = helloFromLibrary_ = false;
        error_ = QDtlsError::NoError;
        errorString_.clear();
        hello_.clear();
        switch (rc) {
        case DTLSGATE_CHECK_VERIFIED:
            hello_ = dgram;
            return true;
        case DTLSGATE_CHECK_SEND_REPLY:
            if (const ssize_t n = ::sendto(fd, reply, replyLen, 0, peer.addr(), peer.len);
                n != ssize_t(replyLen)) {
                // As the library's own send: a short send is EMSGSIZE.
                error_ = QDtlsError::UnderlyingSocketError;
                errorString_ = QString::fromStdString(
                    std::system_category().message(n < 0 ? errno : EMSGSIZE));
            }
            break;
        }
        return false;
    }
    // dtlsgate.hpp's forms (a descriptor and a numeric address or a
    // sockaddr), which leave their outcome in the library.
    template <typename... Args>
    bool verifyClient(int socket_fd, Args &&...args)
    {
        const bool verified = base::verifyClient(socket_fd, std::forward<Args>(args)...);
        errorFromLibrary_ = true;
        if (verified || base::dtlsError() != QDtlsError::InvalidInputParameters)
            helloFromLibrary_ = true;
        return verified;
    }

    using base::check;
    // check() for a Qt program that sends the reply itself, e.g. with
    // socket->writeDatagram(QByteArray(r.reply().data(), r.reply().size()), address, port).
    CheckResult check(const QByteArray &dgram, const QHostAddress &address, quint16 port) const
    {
        const detail::Peer peer(address, port);
        return base::check(detail::view(dgram), peer.addr(), peer.len);
    }

    QByteArray verifiedHello() const
    {
        return helloFromLibrary_ ? detail::bytes(base::verifiedHello()) : hello_;
    }
    QDtlsError dtlsError() const { return errorFromLibrary_ ? base::dtlsError() : error_; }
    QString dtlsErrorString() const
    {
        return errorFromLibrary_ ? QString::fromStdString(base::dtlsErrorString()) : errorString_;
    }

private:
    // Where the outcome of the last call lives: in the library (its verify
    // call or setCookieGeneratorParameters() made it), or in the members
    // below (the Qt verifyClient() made it).
    bool errorFromLibrary_ = true;
    bool helloFromLibrary_ = true;
    QDtlsError error_ = QDtlsError::NoError;
    QString errorString_;
    QByteArray hello_;
};

class QSslPreSharedKeyAuthenticator : public dtlsgate::QSslPreSharedKeyAuthenticator {
    using base = dtlsgate::QSslPreSharedKeyAuthenticator;

public:
    QSslPreSharedKeyAuthenticator() = default;
    // The same fields, from one made with dtlsgate.hpp's interface.
    explicit QSslPreSharedKeyAuthenticator(const base &other) : base(other) {}

    QByteArray identityHint() const { return detail::bytes(base::identityHint()); }
    QByteArray identity() const { return detail::bytes(base::identity()); }
    QByteArray preSharedKey() const { return detail::bytes(base::preSharedKey()); }

    void setIdentity(const QByteArray &identity) { base::setIdentity(detail::view(identity)); }
    void setPreSharedKey(const QByteArray &key) { base::setPreSharedKey(detail::view(key)); }
    void setIdentityHint(const QByteArray &hint) { base::setIdentityHint(detail::view(hint)); }
};

// Qt's QDtls: a QObject, owned by its parent if it has one (not movable),
// on QUdpSocket, QByteArray and QHostAddress. The sending calls take the
// QUdpSocket the application reads the peer's datagrams from. When it has
// a descriptor (it is bound), the library sends through it directly;
// otherwise what is to be sent is queued and goes out here with
// QUdpSocket::writeDatagram() to the peer (which binds the socket, as Qt
// does). A null socket gives false (-1, empty) with InvalidInputParameters,
// as in Qt; a failed writeDatagram() is UnderlyingSocketError with the
// socket's errorString().
//
// Signals, as Qt's:
// - pskRequired(QSslPreSharedKeyAuthenticator *), Qt's own class, emitted
//   inside doHandshake() when the handshake needs the key. Qt's class can
//   be filled only through its public setters, so a slot finds the
//   client's identity() (on a server) and sets the identity and the key as
//   in Qt, but identityHint() is empty and the maximum lengths are 0: Qt
//   offers no public way to set them. onPskRequired() below has them.
// - handshakeTimeout(), emitted from the event loop when the library's
//   retransmission timer is due: doHandshake() and handleTimeout() arm a
//   single-shot QTimer (a child of this object), which stops when no
//   retransmission is pending and on abortHandshake() and shutdown(). The
//   slot is expected to call handleTimeout(socket).
// Connect them directly (the default for objects of one thread): the
// authenticator lives only while the signal is emitted. A slot must not
// delete the QDtls (deleteLater() it, as in Qt) and must not throw (Qt's
// event loop cannot carry exceptions). dtlsgate::QDtls::emitHandshakeTimeout()
// emits handshakeTimeout too, for programs that poll.
//
// onPskRequired() and onHandshakeTimeout() (std::function callbacks, the
// adapter's authenticator with the hint and the maxima) stay as a second
// way; each runs before the slots of its signal, which see what it set.
//
// setDtlsConfiguration() takes Qt's QSslConfiguration and uses
// - preSharedKeyIdentityHint(): the hint a server sends;
// - ciphers(): the suites dtlsgate has, in the order given; the others are
//   skipped, as OpenSSL skips suites it cannot use. Qt's default list
//   (defaultDtlsConfiguration()'s) or an empty one selects dtlsgate's
//   default list; a list with none of dtlsgate's suites is refused;
// - protocol(): QSsl::DtlsV1_2 or QSsl::DtlsV1_2OrLater; others are refused;
// - peerVerifyMode(): kept, not acted on (a PSK handshake has no
//   certificate to verify).
// A local certificate or private key is refused (PSK only); every other
// setting is ignored, and dtlsConfiguration() gives back what was set.
// Refused means false, InvalidInputParameters, a dtlsErrorString() naming
// the setting, and nothing changed. Qt would fail later, in doHandshake().
//
// The file-descriptor calls of dtlsgate::QDtls stay available; they do not
// touch the timer.
class QDtls : public QObject, public dtlsgate::QDtls {
    Q_OBJECT
    using base = dtlsgate::QDtls;
    using Authenticator = dtlsgate::qt::QSslPreSharedKeyAuthenticator;

public:
    using GeneratorParameters = QDtlsClientVerifier::GeneratorParameters;
    // In this class the name is Qt's class, as in Qt's QDtls, so that moc
    // records the signal as Qt does: pskRequired(QSslPreSharedKeyAuthenticator*).
    using QSslPreSharedKeyAuthenticator = ::QSslPreSharedKeyAuthenticator;

    explicit QDtls(::QSslSocket::SslMode mode, QObject *parent = nullptr)
        : QDtls(static_cast<dtlsgate::QSslSocket::SslMode>(mode), parent)
    {
    }
    explicit QDtls(dtlsgate::QSslSocket::SslMode mode, QObject *parent = nullptr)
        : QObject(parent), base(mode)
    {
        base::onPskRequired(
            [this](dtlsgate::QSslPreSharedKeyAuthenticator *request) { askForKey(request); });
        base::onHandshakeTimeout([this] { timedOut(); });
    }

    ::QSslSocket::SslMode sslMode() const { return ::QSslSocket::SslMode(base::sslMode()); }

    using base::setPeer;
    bool setPeer(const QHostAddress &address, quint16 port, const QString &verificationName = {})
    {
        return base::setPeer(detail::address(address), port, verificationName.toStdString());
    }
    // Null before setPeer().
    QHostAddress peerAddress() const
    {
        const std::string a = base::peerAddress();
        return a.empty() ? QHostAddress() : QHostAddress(QString::fromStdString(a));
    }
    QString peerVerificationName() const
    {
        return QString::fromStdString(base::peerVerificationName());
    }
    // As Qt: only before the handshake, else false with InvalidOperation.
    bool setPeerVerificationName(const QString &name)
    {
        if (handshakeState() != HandshakeNotStarted) {
            setLocalError(QDtlsError::InvalidOperation,
                          "Cannot set verification name after the handshake started");
            return false;
        }
        base::setPeerVerificationName(name.toStdString());
        return true;
    }

    using base::setCookieGeneratorParameters;
    bool setCookieGeneratorParameters(const GeneratorParameters &params)
    {
        return base::setCookieGeneratorParameters(params.toStd());
    }
    GeneratorParameters cookieGeneratorParameters() const
    {
        return GeneratorParameters::fromStd(base::cookieGeneratorParameters());
    }

    using base::setDtlsConfiguration;
    bool setDtlsConfiguration(const ::QSslConfiguration &config)
    {
        std::string refused;
        const QSsl::SslProtocol p = config.protocol();
        if (p != QSsl::DtlsV1_2 && p != QSsl::DtlsV1_2OrLater)
            refused = "QSslConfiguration protocol() " + std::to_string(int(p)) +
                      " is not supported: dtlsgate speaks DTLS 1.2 (QSsl::DtlsV1_2 or "
                      "QSsl::DtlsV1_2OrLater)";
        else if (!config.localCertificate().isNull() || !config.privateKey().isNull())
            refused = "QSslConfiguration localCertificate()/privateKey(): certificates are not "
                      "supported (dtlsgate does pre-shared keys only)";
        dtlsgate::QSslConfiguration mine;
        if (refused.empty() && !pickCiphers(config.ciphers(), &mine)) {
            refused = "QSslConfiguration ciphers(): none of the " +
                      std::to_string(config.ciphers().size()) +
                      " cipher suites is one dtlsgate has; it has";
            const auto ours = dtlsgate::QSslConfiguration::defaultDtlsConfiguration();
            for (const dtlsgate::QSslCipher &c : ours.ciphers())
                refused += " " + c.name();
        }
        if (!refused.empty()) {
            setLocalError(QDtlsError::InvalidInputParameters, refused);
            return false;
        }
        mine.setPreSharedKeyIdentityHint(detail::view(config.preSharedKeyIdentityHint()));
        mine.setPeerVerifyMode(dtlsgate::QSslSocket::PeerVerifyMode(config.peerVerifyMode()));
        if (!base::setDtlsConfiguration(mine))
            return false;
        config_ = config;
        configured_ = true;
        return true;
    }
    // What setDtlsConfiguration() was given, or Qt's default before.
    ::QSslConfiguration dtlsConfiguration() const
    {
        return configured_ ? config_ : ::QSslConfiguration::defaultDtlsConfiguration();
    }

    // The callback form of pskRequired, with the adapter's authenticator.
    void onPskRequired(std::function<void(Authenticator *)> f)
    {
        pskCallback_ = std::move(f);
    }
    // The callback form of handshakeTimeout.
    void onHandshakeTimeout(std::function<void()> f) { timeoutCallback_ = std::move(f); }

    using base::doHandshake;
    bool doHandshake(QUdpSocket *socket, const QByteArray &dgram = {})
    {
        return sending(socket, Timer::Arm,
                       [&](int fd) { return base::doHandshake(fd, detail::view(dgram)); });
    }

    using base::handleTimeout;
    bool handleTimeout(QUdpSocket *socket)
    {
        return sending(socket, Timer::Arm, [&](int fd) { return base::handleTimeout(fd); });
    }

    // Qt's: only after PeerVerificationFailed, which a PSK handshake never
    // reaches, so always false with InvalidOperation.
    bool resumeHandshake(QUdpSocket *socket)
    {
        return sending(socket, Timer::Keep, [&](int) {
            setLocalError(QDtlsError::InvalidOperation,
                          "Cannot resume: no certificate verification failed (PSK)");
            return false;
        });
    }

    using base::abortHandshake;
    // Qt's signature; the socket is not needed to abort.
    bool abortHandshake(QUdpSocket *socket)
    {
        return sending(socket, Timer::Stop, [&](int) { return base::abortHandshake(); });
    }

    using base::shutdown;
    bool shutdown(QUdpSocket *socket)
    {
        return sending(socket, Timer::Stop, [&](int fd) { return base::shutdown(fd); });
    }

    using base::writeDatagramEncrypted;
    qint64 writeDatagramEncrypted(QUdpSocket *socket, const QByteArray &dgram)
    {
        qint64 written = -1;
        const bool ok = sending(socket, Timer::Keep, [&](int fd) {
            written = base::writeDatagramEncrypted(fd, detail::view(dgram));
            return written >= 0;
        });
        return ok ? written : -1;
    }

    using base::decryptDatagram;
    // Empty for no data or an error, as Qt; what the session answers (a
    // repeated Finished) goes out through the socket.
    QByteArray decryptDatagram(QUdpSocket *socket, const QByteArray &dgram)
    {
        QByteArray plain;
        sending(socket, Timer::Keep, [&](int fd) {
            plain = detail::bytes(base::decryptDatagram(fd, detail::view(dgram)));
            return true;
        });
        return plain;
    }

    // Qt's class, looked up by name in Qt's TLS backend (null if the backend
    // does not know the suite); dtlsgate::QDtls::sessionCipher() has the name.
    ::QSslCipher sessionCipher() const
    {
        const std::string name = base::sessionCipher().name();
        return name.empty() ? ::QSslCipher() : ::QSslCipher(QString::fromStdString(name));
    }
    // Qt's type: QSsl::DtlsV1_2 while encrypted, QSsl::UnknownProtocol otherwise.
    QSsl::SslProtocol sessionProtocol() const
    {
        return base::sessionProtocol() == "DTLSv1.2" ? QSsl::DtlsV1_2 : QSsl::UnknownProtocol;
    }
    QString dtlsErrorString() const { return QString::fromStdString(base::dtlsErrorString()); }

    // No certificates, so never any errors to report or ignore.
    QList<QSslError> peerVerificationErrors() const { return {}; }
    void ignoreVerificationErrors(const QList<QSslError> &) {}

Q_SIGNALS:
    void pskRequired(QSslPreSharedKeyAuthenticator *authenticator);
    void handshakeTimeout();

private:
    // The library's PSK request: the callback, then the slots with Qt's
    // authenticator; the identity and key they leave go back to the handshake.
    void askForKey(dtlsgate::QSslPreSharedKeyAuthenticator *request)
    {
        Authenticator mine(*request);
        if (const auto f = pskCallback_) // a copy: the function may replace itself
            f(&mine);
        QSslPreSharedKeyAuthenticator theirs;
        theirs.setIdentity(mine.identity());
        theirs.setPreSharedKey(mine.preSharedKey());
        Q_EMIT pskRequired(&theirs);
        mine.setIdentity(theirs.identity());
        mine.setPreSharedKey(theirs.preSharedKey());
        *request = mine;
    }

    void timedOut()
    {
        if (const auto f = timeoutCallback_)
            f();
        Q_EMIT handshakeTimeout();
    }

    // The suites of `wanted` that dtlsgate has, in order, into `out`; false
    // if there were some and none is dtlsgate's. Qt's default list and an
    // empty one leave `out` with dtlsgate's default list.
    static bool pickCiphers(const QList<::QSslCipher> &wanted, dtlsgate::QSslConfiguration *out)
    {
        if (wanted.isEmpty() || wanted == ::QSslConfiguration::defaultDtlsConfiguration().ciphers())
            return true;
        // Every suite dtlsgate has, accepted alone by a scratch session.
        base probe(dtlsgate::QSslSocket::SslClientMode);
        std::vector<dtlsgate::QSslCipher> kept;
        for (const ::QSslCipher &c : wanted) {
            dtlsgate::QSslConfiguration one;
            one.setCiphers({dtlsgate::QSslCipher(c.name().toStdString())});
            if (!c.isNull() && probe.setDtlsConfiguration(one))
                kept.push_back(one.ciphers().front());
        }
        if (kept.empty())
            return false;
        out->setCiphers(std::move(kept));
        return true;
    }

    static int descriptor(QUdpSocket *socket)
    {
        const qintptr fd = socket->socketDescriptor();
        return fd >= 0 && fd <= std::numeric_limits<int>::max() ? int(fd) : DTLSGATE_NO_SOCKET;
    }

    enum class Timer { Arm, Stop, Keep };

    // One sending call of the base class on the socket's descriptor (or
    // DTLSGATE_NO_SOCKET), then what it queued goes out through the socket
    // and the handshake timer is armed, stopped or left alone. A null
    // socket is Qt's InvalidInputParameters. When the call throws (an
    // exception from the PSK function), what it queued, such as the alert
    // of the failed handshake, still goes out first.
    template <class Call>
    bool sending(QUdpSocket *socket, Timer timer, Call call)
    {
        if (!socket) {
            setLocalError(QDtlsError::InvalidInputParameters, "Invalid (nullptr) socket");
            return false;
        }
        const int fd = descriptor(socket);
        bool ok = false;
        try {
            ok = call(fd);
        } catch (...) {
            try {
                finishSending(socket, fd, timer);
            } catch (...) {
            }
            throw;
        }
        return finishSending(socket, fd, timer) && ok;
    }

    bool finishSending(QUdpSocket *socket, int fd, Timer timer)
    {
        const bool sent = flush(socket, fd);
        if (timer == Timer::Arm)
            armTimer();
        else if (timer == Timer::Stop)
            stopTimer();
        return sent;
    }

    // Sends what a DTLSGATE_NO_SOCKET call queued; nothing to do with a
    // descriptor (the library sent it).
    bool flush(QUdpSocket *socket, int fd)
    {
        if (fd != DTLSGATE_NO_SOCKET)
            return true;
        const std::vector<std::string> queued = takeOutgoing();
        if (queued.empty())
            return true;
        const QHostAddress to = peerAddress();
        const quint16 port = peerPort();
        for (const std::string &d : queued) {
            if (socket->writeDatagram(d.data(), qint64(d.size()), to, port) < 0) {
                setLocalError(QDtlsError::UnderlyingSocketError,
                              socket->errorString().toStdString());
                return false;
            }
        }
        return true;
    }

    void armTimer()
    {
        const auto left = remainingTimeout();
        if (!left) {
            stopTimer();
            return;
        }
        if (!timer_) {
            timer_ = new QTimer(this);
            timer_->setSingleShot(true);
            timer_->setTimerType(Qt::PreciseTimer); // never early: the library rounds up
            connect(timer_, &QTimer::timeout, this, [this] { emitHandshakeTimeout(); });
        }
        const auto ms = std::min<std::chrono::milliseconds::rep>(
            left->count(), std::numeric_limits<int>::max());
        timer_->start(int(ms));
    }

    void stopTimer()
    {
        if (timer_)
            timer_->stop();
    }

    QTimer *timer_ = nullptr; // a child: deleted with this object
    std::function<void(Authenticator *)> pskCallback_;
    std::function<void()> timeoutCallback_;
    ::QSslConfiguration config_;
    bool configured_ = false;
};

// The server endpoint (dtlsgate::DtlsServer, dtlsgate_server_* in
// dtlsgate.h) for a Qt program: listen() lets the library own the UDP
// sockets and run the cookie exchange, the handshakes, retransmissions and
// timeouts on its own threads, within the limits of the Config; what the
// application needs to see arrives as Qt signals:
// - connected(address, port, identity, cipher): a handshake completed; the
//   client's PSK identity and the suite's OpenSSL name.
// - datagramReceived(address, port, data): application data from a
//   connected peer; answer with send().
// - closed(address, port, reason, message): a connected peer's session
//   ended (only a peer that got connected gets closed); message is what
//   the session said ("" for most reasons).
// - pskRequired(address, port, identity): the key table has no key for a
//   client's identity and Config::psk_requests is set; answer with
//   resolvePsk() or refusePsk(), now or later (within the handshake
//   deadline), e.g. once a database answered. Without psk_requests such a
//   client is refused.
// - moved(oldAddress, oldPort, address, port): with connection IDs, a
//   connected peer's records now come from a new address (its NAT mapping
//   changed) and the server sends there; the peer keeps its session. The
//   move follows only a new authenticated record (see dtlsgate.h); data
//   from the new address comes after this signal.
//
// Threads. The signals are emitted on the thread this object lives in,
// from its event loop: a QSocketNotifier (a child of this object) watches
// dtlsgate_server_fd(), which is readable while events wait, and its slot
// takes them with dtlsgate_server_poll() and emits them in order. There is
// no timer: the library's threads serve the timers, and never touch a Qt
// object or run application code. shutdown() also emits, before it
// returns, the events that the stop produced (called from inside a slot of
// this object, those follow when that slot returns), so it belongs on the
// object's thread too. moveToThread() moves the notifier along. The other
// calls (send(), close(), the keys, stats()) may come from any thread.
//
// Errors work as in dtlsgate.hpp: listen() returns false with
// errorString() for an address it cannot use or bind (a usual outcome, as
// QUdpSocket::bind()), and for a Config with a psk_callback (it would run
// on a library thread: use psk_requests); send() and close() return false
// for a peer that is not (or no longer) connected (resolvePsk() cannot
// tell on a listening server, and returns true); misuse (data empty
// or over 16384 bytes, a null address to send(), an empty identity or key
// to setPsk(), a key file that cannot be read) throws dtlsgate::error.
// A slot must not delete this object (deleteLater() it) and must not throw.
class DtlsServer : public QObject {
    Q_OBJECT
    using base = dtlsgate::DtlsServer;

public:
    using Config = base::Config;

    enum class CloseReason {
        ByPeer = DTLSGATE_SERVER_CLOSED_BY_PEER,     // the peer sent close_notify
        Fatal = DTLSGATE_SERVER_CLOSED_FATAL,        // a fatal alert or error (message says)
        ByApp = DTLSGATE_SERVER_CLOSED_BY_APP,       // close()
        Idle = DTLSGATE_SERVER_CLOSED_IDLE,          // Config::idle_timeout_ms
        Evicted = DTLSGATE_SERVER_CLOSED_EVICTED,    // made room for a newcomer
        Replaced = DTLSGATE_SERVER_CLOSED_REPLACED,  // the client restarted and connected again
        Shutdown = DTLSGATE_SERVER_CLOSED_SHUTDOWN,  // shutdown()
    };
    Q_ENUM(CloseReason)

    explicit DtlsServer(QObject *parent = nullptr) : DtlsServer(Config(), parent) {}
    // Limits, cookies, suites and the identity hint come from config (read
    // here only). Throws dtlsgate::error for a config the library refuses.
    explicit DtlsServer(const Config &config, QObject *parent = nullptr)
        : QObject(parent), server_(config), notifier_(server_.fd(), QSocketNotifier::Read, this)
    {
        connect(&notifier_, &QSocketNotifier::activated, this, [this] { deliver(); });
    }

    // Opens the sockets on address and port (0 picks a free one; then see
    // localPort()) and starts the library's workers. QHostAddress::Any is
    // dual stack, "[::]", as for QUdpSocket. False, with errorString(), for
    // a null address, an address that cannot be bound, or a second call.
    bool listen(const QHostAddress &address, quint16 port = 0)
    {
        QString host = address.toString();
        if (address.protocol() == QAbstractSocket::AnyIPProtocol)
            host = QStringLiteral("::");
        if (address.protocol() != QAbstractSocket::IPv4Protocol)
            host = QLatin1Char('[') + host + QLatin1Char(']');
        errorString_.clear();
        if (address.isNull()) {
            errorString_ = QStringLiteral("listen: address: null QHostAddress");
            return false;
        }
        try {
            server_.listen((host + QLatin1Char(':') + QString::number(port)).toStdString());
        } catch (const dtlsgate::error &e) { // the library's words, e.g. the system's
            errorString_ = QString::fromStdString(e.detail().empty() ? e.what() : e.detail());
            return false;
        }
        return true;
    }
    // Why the last listen() failed.
    QString errorString() const { return errorString_; }

    // Where listen() bound the sockets: null and 0 before.
    QHostAddress localAddress() const
    {
        base::Peer p;
        return local(&p) ? QHostAddress(p.sa()) : QHostAddress();
    }
    quint16 localPort() const
    {
        base::Peer p;
        return local(&p) ? portOf(p) : 0;
    }

    // Encrypts data as one record to a connected peer.
    bool send(const QHostAddress &address, quint16 port, const QByteArray &data)
    {
        return server_.send(peer(address, port), detail::view(data));
    }
    // close_notify to a connected peer; closed(..., CloseReason::ByApp) follows.
    bool close(const QHostAddress &address, quint16 port) { return server_.close(peer(address, port)); }
    // close_notify to every connected peer, then the sockets close and the
    // workers end; the server cannot listen again. Emits closed(...,
    // CloseReason::Shutdown) for each of those peers (and whatever else
    // was waiting) before it returns, and returns how many they were.
    int shutdown()
    {
        server_.shutdown();
        while (take()) {
        }
        const int closedNow = int(std::count_if(queue_.begin(), queue_.end(), [](const base::Event &e) {
            return e.type == base::EventType::Closed && e.reason == DTLSGATE_SERVER_CLOSED_SHUTDOWN;
        }));
        dispatch();
        return closedNow;
    }

    // The key table (dtlsgate_server_set_psk and the rest).
    void setPsk(const QByteArray &identity, const QByteArray &key)
    {
        server_.setPsk(detail::view(identity), detail::view(key));
    }
    bool removePsk(const QByteArray &identity) { return server_.removePsk(detail::view(identity)); }
    // Replaces the whole table with a file of identity:hexkey lines.
    void loadPskFile(const QString &path) { server_.loadPskFile(path.toStdString()); }

    // Answers pskRequired: the handshake goes on with key (an empty key
    // refuses, as refusePsk()). A request that is gone (timed out, evicted)
    // is ignored: false before listen(), true once listening, where the
    // library cannot tell.
    bool resolvePsk(const QHostAddress &address, quint16 port, const QByteArray &identity,
                    const QByteArray &key)
    {
        const base::Event request = pskRequest(address, port, identity);
        return server_.resolvePsk(request, detail::view(key));
    }
    bool refusePsk(const QHostAddress &address, quint16 port, const QByteArray &identity)
    {
        return resolvePsk(address, port, identity, {});
    }

    // What the server did, and each limit every time it bit.
    dtlsgate_server_stats stats() const { return server_.stats(); }
    // The C handle, for calls this class does not wrap. Still owned here.
    dtlsgate_server *handle() const noexcept { return server_.handle(); }

Q_SIGNALS:
    void connected(const QHostAddress &address, quint16 port, const QByteArray &identity,
                   const QString &cipher);
    void datagramReceived(const QHostAddress &address, quint16 port, const QByteArray &data);
    void closed(const QHostAddress &address, quint16 port, dtlsgate::qt::DtlsServer::CloseReason reason,
                const QString &message);
    void pskRequired(const QHostAddress &address, quint16 port, const QByteArray &identity);
    void moved(const QHostAddress &oldAddress, quint16 oldPort, const QHostAddress &address, quint16 port);

private:
    // The request resolvePsk() and refusePsk() answer.
    static base::Event pskRequest(const QHostAddress &address, quint16 port, const QByteArray &identity)
    {
        base::Event e{};
        e.type = base::EventType::PskRequest;
        e.peer = peer(address, port);
        e.identity = identity.toStdString();
        return e;
    }
    static base::Peer peer(const QHostAddress &address, quint16 port)
    {
        const detail::Peer p(address, port);
        base::Peer out;
        out.addr = p.ss;
        out.len = p.len;
        return out;
    }
    static quint16 portOf(const base::Peer &p)
    {
        return ntohs(p.addr.ss_family == AF_INET6
                         ? reinterpret_cast<const sockaddr_in6 *>(&p.addr)->sin6_port
                         : reinterpret_cast<const sockaddr_in *>(&p.addr)->sin_port);
    }
    bool local(base::Peer *p) const
    {
        p->len = sizeof p->addr;
        return dtlsgate_server_local_address(handle(), &p->addr, &p->len) == DTLSGATE_OK;
    }

    // Moves one batch of waiting events into queue_; false if none waited.
    bool take()
    {
        std::vector<base::Event> batch = server_.poll(64, 0);
        for (base::Event &e : batch)
            queue_.push_back(std::move(e));
        return !batch.empty();
    }

    // The notifier's slot: one batch per wake-up, so that a flood of events
    // leaves the event loop its turns (the descriptor stays readable while
    // more wait).
    void deliver()
    {
        take();
        dispatch();
    }

    // Emits the queued events in order. A slot that calls shutdown() comes
    // back here: the outer call goes on emitting, in order.
    void dispatch()
    {
        if (dispatching_)
            return;
        dispatching_ = true;
        struct Done { // also if a slot throws, against the rules
            bool &flag;
            ~Done() { flag = false; }
        } done{dispatching_};
        while (!queue_.empty()) {
            const base::Event e = std::move(queue_.front());
            queue_.pop_front();
            const QHostAddress address(e.peer.sa());
            const quint16 port = portOf(e.peer);
            switch (e.type) {
            case base::EventType::Connected:
                Q_EMIT connected(address, port, detail::bytes(e.identity), QString::fromStdString(e.cipher));
                break;
            case base::EventType::Data:
                Q_EMIT datagramReceived(address, port, detail::bytes(e.data));
                break;
            case base::EventType::Closed:
                Q_EMIT closed(address, port, CloseReason(e.reason), QString::fromStdString(e.message));
                break;
            case base::EventType::PskRequest:
                Q_EMIT pskRequired(address, port, detail::bytes(e.identity));
                break;
            case base::EventType::Moved:
                Q_EMIT moved(QHostAddress(e.oldPeer.sa()), portOf(e.oldPeer), address, port);
                break;
            }
        }
    }

    base server_;
    QSocketNotifier notifier_; // after server_: gone before the descriptor closes
    std::deque<base::Event> queue_;
    bool dispatching_ = false;
    QString errorString_;
};

static_assert(int(::QSslSocket::SslClientMode) == DTLSGATE_SSL_CLIENT_MODE &&
                  int(::QSslSocket::SslServerMode) == DTLSGATE_SSL_SERVER_MODE,
              "Qt's SslMode numbers are the C API's");
static_assert(int(::QSslSocket::AutoVerifyPeer) == int(dtlsgate::QSslSocket::AutoVerifyPeer),
              "Qt's PeerVerifyMode numbers are dtlsgate.hpp's");

} // namespace qt
} // namespace dtlsgate

#endif // DTLSGATE_QT_HPP
