// Tests of bindings/cpp/dtlsgate_qt.hpp beyond what the parity run covers
// (verifyClient on every case): the Qt-typed parameters and getters,
// check() with Qt types, the PSK authenticator's Qt face, and the traits.
//
// Usage: test_qt_adapter CORPUS_DIR
#include "dtlsgate_qt.hpp"

#include "check.hpp"
#include "dtls_bytes.h"

#include <QCoreApplication>
#include <QFile>
#include <QNetworkDatagram>

#include <type_traits>

using dtlsgate::qt::QDtlsClientVerifier;
using dtlsgate::qt::QDtlsError;
using Psk = dtlsgate::qt::QSslPreSharedKeyAuthenticator;
using Params = QDtlsClientVerifier::GeneratorParameters;
using Decision = QDtlsClientVerifier::CheckResult::Decision;

static_assert(!std::is_copy_constructible_v<QDtlsClientVerifier>);
static_assert(std::is_nothrow_move_constructible_v<QDtlsClientVerifier>);
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

    // The cookie is what follows server_version in the HelloVerifyRequest.
    const QByteArray cookie = hvr.mid(DTLS_BODY + 3);
    CHECK_EQ(cookie.size(), quint8(hvr.at(DTLS_BODY + 2)));
    QByteArray second(hello.size() + cookie.size(), Qt::Uninitialized);
    second.resize(qsizetype(dtls_hello_with_cookie(
        reinterpret_cast<const uint8_t *>(hello.constData()), size_t(hello.size()),
        reinterpret_cast<const uint8_t *>(cookie.constData()), size_t(cookie.size()),
        reinterpret_cast<uint8_t *>(second.data()))));

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
        test_psk();
    } catch (const std::exception &e) {
        std::cerr << "test_qt_adapter: unexpected exception: " << e.what() << "\n";
        return 1;
    }
    return check::report();
}
