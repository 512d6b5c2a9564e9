// SPDX-License-Identifier: MIT
// dtlsgate_qt.hpp - dtlsgate for Qt 6 programs.
//
// Namespace dtlsgate::qt has QDtlsClientVerifier, QDtls and
// QSslPreSharedKeyAuthenticator with Qt's exact signatures: QUdpSocket*,
// QByteArray and QHostAddress in, QByteArray and QString out,
// GeneratorParameters holding Qt's own QCryptographicHash::Algorithm and a
// QByteArray. A Qt program ports by replacing
//
//     #include <QDtlsClientVerifier>
// with
//     #include <dtlsgate_qt.hpp>
//     using dtlsgate::qt::QDtlsClientVerifier;
//     using dtlsgate::qt::QDtlsError;
//
// and, for the session, `using dtlsgate::qt::QDtls;` with Qt's signals
// as std::function callbacks (onPskRequired, onHandshakeTimeout).
//
// (using-declarations, not `using namespace dtlsgate::qt`: QSslSocket's
// header declares Qt's own QSslPreSharedKeyAuthenticator, and the two names
// would clash.)
//
// Each class derives from its counterpart in dtlsgate.hpp, so the
// extensions (check(), cookie lifetime, rotation, fleet mode) and the
// file-descriptor overloads are there too. Only the getters that return
// bytes or text are redeclared with Qt types; the std::string versions stay
// reachable through the base class. Errors work as in dtlsgate.hpp.
//
// Qt built in a namespace (-qtnamespace) is not supported.
#ifndef DTLSGATE_QT_HPP
#define DTLSGATE_QT_HPP

#include "dtlsgate.hpp"

#include <QByteArray>
#include <QCryptographicHash>
#include <QHostAddress>
#include <QString>
#include <QTimer>
#include <QUdpSocket>
#include <QtNetwork/qssl.h>

#include <algorithm>
#include <limits>
#include <memory>
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

class QDtlsClientVerifier : public dtlsgate::QDtlsClientVerifier {
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

    QDtlsClientVerifier() = default;

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

// Qt's QDtls on QUdpSocket, QByteArray and QHostAddress. The sending calls
// take the QUdpSocket the application reads the peer's datagrams from.
// When it has a descriptor (it is bound), the library sends through it
// directly; otherwise what is to be sent is queued and goes out here with
// QUdpSocket::writeDatagram() to the peer (which binds the socket, as Qt
// does). A null socket gives false (-1, empty) with InvalidInputParameters,
// as in Qt; a failed writeDatagram() is UnderlyingSocketError with the
// socket's errorString().
//
// handshakeTimeout works as Qt's signal does: doHandshake() and
// handleTimeout() on a QUdpSocket arm a single-shot QTimer (created on first
// use, owned by this object, on the calling thread) for the library's
// retransmission timer, and when it fires the event loop calls the
// onHandshakeTimeout function, which is expected to call
// handleTimeout(socket). The timer stops when no retransmission is pending,
// and on abortHandshake() and shutdown(). The function must not throw (Qt's
// event loop cannot carry exceptions); to drop the session from inside it,
// destroy it later (e.g. QTimer::singleShot(0, ...)).
//
// The file-descriptor calls of dtlsgate::QDtls stay available; they do not
// touch the timer. sessionCipher() and the configuration keep dtlsgate's
// own small QSslCipher and QSslConfiguration (std::string names), since
// Qt's classes need a TLS backend.
class QDtls : public dtlsgate::QDtls {
    using base = dtlsgate::QDtls;

public:
    using GeneratorParameters = QDtlsClientVerifier::GeneratorParameters;

    explicit QDtls(dtlsgate::QSslSocket::SslMode mode) : base(mode) {}
    // Qt's own QSslSocket::SslMode (same numbers), so ported code compiles as is.
    template <class Mode, std::enable_if_t<std::is_enum_v<Mode> &&
                                               !std::is_same_v<Mode, dtlsgate::QSslSocket::SslMode>,
                                           int> = 0>
    explicit QDtls(Mode mode) : base(static_cast<dtlsgate::QSslSocket::SslMode>(mode))
    {
    }

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
    void setPeerVerificationName(const QString &name)
    {
        base::setPeerVerificationName(name.toStdString());
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

    // Qt's pskRequired, with the Qt-typed authenticator.
    void onPskRequired(std::function<void(QSslPreSharedKeyAuthenticator *)> f)
    {
        if (!f) {
            base::onPskRequired(nullptr);
            return;
        }
        base::onPskRequired([f = std::move(f)](dtlsgate::QSslPreSharedKeyAuthenticator *request) {
            QSslPreSharedKeyAuthenticator q(*request);
            f(&q);
            *request = q; // the identity and key go back to the handshake
        });
    }

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

    // Qt's type: QSsl::DtlsV1_2 while encrypted, QSsl::UnknownProtocol otherwise.
    QSsl::SslProtocol sessionProtocol() const
    {
        return base::sessionProtocol() == "DTLSv1.2" ? QSsl::DtlsV1_2 : QSsl::UnknownProtocol;
    }
    QString dtlsErrorString() const { return QString::fromStdString(base::dtlsErrorString()); }

private:
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
            timer_ = std::make_unique<QTimer>();
            timer_->setSingleShot(true);
            timer_->setTimerType(Qt::PreciseTimer); // never early: the library rounds up
            // The state block moves with the session, so the pointer stays good.
            dtlsgate::detail::session_state *state = &st();
            QObject::connect(timer_.get(), &QTimer::timeout, [state] {
                const auto f = state->timeout;
                if (f)
                    f();
            });
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

    std::unique_ptr<QTimer> timer_;
};

} // namespace qt
} // namespace dtlsgate

#endif // DTLSGATE_QT_HPP
