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
// QDtls has Q_OBJECT, so a program that uses it compiles the output of moc
// run on this header once: CMake does it when the target links
// dtlsgate::qt (find_package(dtlsgate)) and has AUTOMOC on; a Makefile runs
//     moc $(pkg-config --cflags-only-I Qt6Network) dtlsgate_qt.hpp -o moc_dtlsgate_qt.cpp
// and compiles that file with the rest. The verifier and the authenticator
// need no moc.
//
// Each class also derives from its counterpart in dtlsgate.hpp, so the
// extensions (check(), cookie lifetime, rotation, fleet mode) and the
// file-descriptor overloads are there too. The getters that return bytes,
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
#include <QObject>
#include <QSslCipher>
#include <QSslConfiguration>
#include <QSslError>
#include <QSslKey>
#include <QSslPreSharedKeyAuthenticator>
#include <QSslSocket>
#include <QString>
#include <QTimer>
#include <QUdpSocket>
#include <QtNetwork/qssl.h>

#include <algorithm>
#include <limits>
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
        return base::setCookieGeneratorParameters(params.toStd());
    }
    GeneratorParameters cookieGeneratorParameters() const
    {
        return GeneratorParameters::fromStd(base::cookieGeneratorParameters());
    }

    using base::verifyClient;
    // Qt's verifyClient(). The HelloVerifyRequest goes out through the
    // socket's descriptor with the library's own verify call, rather than
    // through check() and QUdpSocket::writeDatagram(): that way the library
    // keeps dtlsError(), dtlsErrorString() and verifiedHello() exactly as for
    // every other caller (the same code decides them, so they match Qt's in
    // the cases Qt covers), nothing is re-implemented here, and a failed
    // send is UnderlyingSocketError with the system's error text, where
    // writeDatagram() would give only Qt's own wording or nothing at all.
    // A null socket, or one without a descriptor (never bound, so it cannot
    // have received the datagram), is InvalidInputParameters.
    bool verifyClient(QUdpSocket *socket, const QByteArray &dgram, const QHostAddress &address,
                      quint16 port)
    {
        const int fd = socket ? static_cast<int>(socket->socketDescriptor()) : -1;
        return base::verifyClient(fd, detail::view(dgram), detail::address(address), port);
    }

    using base::check;
    // check() for a Qt program that sends the reply itself, e.g. with
    // socket->writeDatagram(QByteArray(r.reply().data(), r.reply().size()), address, port).
    CheckResult check(const QByteArray &dgram, const QHostAddress &address, quint16 port) const
    {
        return base::check(detail::view(dgram), detail::address(address), port);
    }

    QByteArray verifiedHello() const { return detail::bytes(base::verifiedHello()); }
    QString dtlsErrorString() const { return QString::fromStdString(base::dtlsErrorString()); }
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

static_assert(int(::QSslSocket::SslClientMode) == DTLSGATE_SSL_CLIENT_MODE &&
                  int(::QSslSocket::SslServerMode) == DTLSGATE_SSL_SERVER_MODE,
              "Qt's SslMode numbers are the C API's");
static_assert(int(::QSslSocket::AutoVerifyPeer) == int(dtlsgate::QSslSocket::AutoVerifyPeer),
              "Qt's PeerVerifyMode numbers are dtlsgate.hpp's");

} // namespace qt
} // namespace dtlsgate

#endif // DTLSGATE_QT_HPP
