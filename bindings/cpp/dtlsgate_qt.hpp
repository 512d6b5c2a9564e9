// dtlsgate_qt.hpp - dtlsgate for Qt 6 programs.
//
// Namespace dtlsgate::qt has QDtlsClientVerifier and
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
#include <QUdpSocket>

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
    };

    QDtlsClientVerifier() = default;

    // The two enums have the same numbers (QCryptographicHash::Algorithm's).
    bool setCookieGeneratorParameters(const GeneratorParameters &params)
    {
        return base::setCookieGeneratorParameters(
            {static_cast<dtlsgate::QCryptographicHash::Algorithm>(params.hash),
             detail::view(params.secret)});
    }
    GeneratorParameters cookieGeneratorParameters() const
    {
        const base::GeneratorParameters p = base::cookieGeneratorParameters();
        return {static_cast<::QCryptographicHash::Algorithm>(p.hash), detail::bytes(p.secret)};
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

} // namespace qt
} // namespace dtlsgate

#endif // DTLSGATE_QT_HPP
