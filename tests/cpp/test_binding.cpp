// SPDX-License-Identifier: MIT
// Tests of bindings/cpp/dtlsgate.hpp: the C++ classes over the C API, on
// real loopback sockets with the corpus ClientHellos.
//
// Usage: test_binding CORPUS_DIR
#include "dtlsgate.hpp"

#include "check.hpp"
#include "dtls_bytes.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <thread>
#include <vector>
#include <type_traits>

using dtlsgate::QCryptographicHash;
using dtlsgate::QDtlsClientVerifier;
using dtlsgate::QDtlsError;
using dtlsgate::QSslPreSharedKeyAuthenticator;
using Params = QDtlsClientVerifier::GeneratorParameters;
using Decision = QDtlsClientVerifier::CheckResult::Decision;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------
// Compile-time promises: who may be copied, moved, swapped, and how.

static_assert(!std::is_copy_constructible_v<QDtlsClientVerifier>);
static_assert(!std::is_copy_assignable_v<QDtlsClientVerifier>);
static_assert(std::is_nothrow_move_constructible_v<QDtlsClientVerifier>);
static_assert(std::is_nothrow_move_assignable_v<QDtlsClientVerifier>);
static_assert(std::is_nothrow_destructible_v<QDtlsClientVerifier>);

static_assert(std::is_copy_constructible_v<QSslPreSharedKeyAuthenticator>);
static_assert(std::is_copy_assignable_v<QSslPreSharedKeyAuthenticator>);
static_assert(std::is_nothrow_move_constructible_v<QSslPreSharedKeyAuthenticator>);
static_assert(std::is_nothrow_move_assignable_v<QSslPreSharedKeyAuthenticator>);
static_assert(std::is_nothrow_swappable_v<QSslPreSharedKeyAuthenticator>);
static_assert(std::is_nothrow_destructible_v<QSslPreSharedKeyAuthenticator>);

static_assert(std::is_copy_constructible_v<Params>);
static_assert(std::is_copy_constructible_v<QDtlsClientVerifier::CheckResult>);
static_assert(std::is_base_of_v<std::runtime_error, dtlsgate::error>);

// Qt's numbers.
static_assert(static_cast<int>(QDtlsError::NoError) == 0);
static_assert(static_cast<int>(QDtlsError::InvalidInputParameters) == 1);
static_assert(static_cast<int>(QDtlsError::UnderlyingSocketError) == 3);
static_assert(static_cast<int>(QDtlsError::TlsNonFatalError) == 8);
static_assert(QCryptographicHash::Md4 == 0 && QCryptographicHash::Sha256 == 4);
static_assert(QCryptographicHash::RealSha3_224 == 11 && QCryptographicHash::Sha3_512 == 14);
static_assert(QCryptographicHash::Blake2b_160 == 15 && QCryptographicHash::Blake2s_256 == 22);
static_assert(Decision::Drop == 0 && Decision::SendReply == 1 && Decision::Verified == 2);

// ---------------------------------------------------------------------------
// Helpers

const std::string kMismatch = "A valid UDP socket, non-empty datagram, and valid address/port "
                              "were expected";

// A UDP socket bound to 127.0.0.1 or ::1 on a port the system picks.
struct Udp {
    int fd = -1;
    std::uint16_t port = 0;
    bool v6 = false;

    explicit Udp(bool ipv6 = false) : v6(ipv6)
    {
        sockaddr_storage ss{};
        socklen_t len = loopback(0, &ss);
        fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
        if (fd < 0 || bind(fd, reinterpret_cast<sockaddr *>(&ss), len) != 0 ||
            getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &len) != 0)
            throw std::runtime_error("cannot open a loopback UDP socket");
        port = ntohs(v6 ? reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_port
                        : reinterpret_cast<sockaddr_in *>(&ss)->sin_port);
    }
    ~Udp() { close(fd); }
    Udp(const Udp &) = delete;
    Udp &operator=(const Udp &) = delete;

    socklen_t loopback(std::uint16_t p, sockaddr_storage *ss) const
    {
        *ss = sockaddr_storage{};
        if (v6) {
            auto *sa = reinterpret_cast<sockaddr_in6 *>(ss);
            sa->sin6_family = AF_INET6;
            sa->sin6_addr = in6addr_loopback;
            sa->sin6_port = htons(p);
            return sizeof *sa;
        }
        auto *sa = reinterpret_cast<sockaddr_in *>(ss);
        sa->sin_family = AF_INET;
        sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa->sin_port = htons(p);
        return sizeof *sa;
    }

    // This socket's own address, as a peer would see it.
    socklen_t address(sockaddr_storage *ss) const { return loopback(port, ss); }

    void send_to(const Udp &to, std::string_view data) const
    {
        sockaddr_storage ss;
        socklen_t len = to.address(&ss);
        if (sendto(fd, data.data(), data.size(), 0, reinterpret_cast<sockaddr *>(&ss), len) !=
            static_cast<ssize_t>(data.size()))
            throw std::runtime_error("sendto failed");
    }

    // The next datagram, or "" if none arrives within 2 s (or 0 ms).
    std::string receive(int timeout_ms = 2000) const
    {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) != 1)
            return "";
        char buf[2048];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
    }
};

std::string corpus_dir;

std::string load(const char *name)
{
    std::ifstream f(corpus_dir + "/" + name, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (data.empty())
        throw std::runtime_error(std::string("cannot read corpus file ") + name);
    return data;
}

const std::uint8_t *u8(std::string_view s) { return reinterpret_cast<const std::uint8_t *>(s.data()); }

// The cookie of a HelloVerifyRequest (after server_version), or "".
std::string cookie_of(std::string_view hvr)
{
    if (hvr.size() < DTLS_BODY + 3 || hvr[0] != 22 || hvr[DTLS_HS_TYPE] != 3)
        return "";
    const std::size_t len = static_cast<unsigned char>(hvr[DTLS_BODY + 2]);
    return std::string(hvr.substr(DTLS_BODY + 3, len));
}

// The ClientHello with its cookie field set to `cookie`.
std::string with_cookie(std::string_view hello, std::string_view cookie)
{
    std::string out(hello.size() + cookie.size(), '\0');
    out.resize(dtls_hello_with_cookie(u8(hello), hello.size(), u8(cookie), cookie.size(),
                                      reinterpret_cast<std::uint8_t *>(&out[0])));
    return out;
}

// ---------------------------------------------------------------------------
// Tests

void test_errors_and_versions()
{
    CHECK_EQ(dtlsgate::version(), std::string_view(DTLSGATE_VERSION));
    CHECK_EQ(dtlsgate::dtlsErrorName(QDtlsError::UnderlyingSocketError),
             std::string_view("UnderlyingSocketError"));
    CHECK_EQ(dtlsgate::dtlsErrorName(static_cast<QDtlsError>(42)), std::string_view(""));

    const dtlsgate::error e(DTLSGATE_E_BAD_HANDLE, "some_call");
    CHECK_EQ(e.code(), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(std::string(e.what()),
             std::string("some_call: ") + dtlsgate_strerror(DTLSGATE_E_BAD_HANDLE));

    CHECK(QCryptographicHash::supportsAlgorithm(QCryptographicHash::Sha256));
    CHECK(QCryptographicHash::supportsAlgorithm(QCryptographicHash::Blake2b_512));
    CHECK(!QCryptographicHash::supportsAlgorithm(QCryptographicHash::Keccak_224));
    CHECK(!QCryptographicHash::supportsAlgorithm(static_cast<QCryptographicHash::Algorithm>(99)));
}

void test_fresh_verifier_and_parameters()
{
    QDtlsClientVerifier v;
    CHECK_EQ(v.dtlsError(), QDtlsError::NoError);
    CHECK_EQ(v.dtlsErrorString(), "");
    CHECK_EQ(v.verifiedHello(), "");

    // Qt's placeholder, not what a verifier uses.
    const Params placeholder;
    CHECK_EQ(placeholder.hash, QCryptographicHash::Sha1);
    CHECK(placeholder.secret.empty());

    const Params defaults = QDtlsClientVerifier::defaultParameters();
    CHECK_EQ(defaults.hash, QCryptographicHash::Sha256);
    CHECK_EQ(defaults.secret.size(), 32u);
    const Params current = v.cookieGeneratorParameters();
    CHECK_EQ(current.hash, defaults.hash);
    CHECK_EQ(current.secret, defaults.secret);

    // A binary secret (NUL inside) goes through whole.
    const std::string secret("s\0cret-with-a-nul", 17);
    CHECK(v.setCookieGeneratorParameters({QCryptographicHash::Sha512, secret}));
    CHECK_EQ(v.dtlsError(), QDtlsError::NoError);
    CHECK_EQ(v.cookieGeneratorParameters().hash, QCryptographicHash::Sha512);
    CHECK_EQ(v.cookieGeneratorParameters().secret, secret);

    // Refusals are Qt's: false and InvalidInputParameters, nothing changed.
    CHECK(!v.setCookieGeneratorParameters(placeholder));
    CHECK_EQ(v.dtlsError(), QDtlsError::InvalidInputParameters);
    CHECK_EQ(v.dtlsErrorString(), "Invalid (empty) secret");
    CHECK(!v.setCookieGeneratorParameters({QCryptographicHash::Keccak_224, "x"}));
    CHECK_EQ(v.dtlsError(), QDtlsError::InvalidInputParameters);
    CHECK(v.dtlsErrorString().find("Keccak") != std::string::npos);
    CHECK_EQ(v.cookieGeneratorParameters().secret, secret);

    // Over DTLSGATE_MAX_INPUT is a misuse: thrown.
    CHECK_THROWS(v.setCookieGeneratorParameters(
                     {QCryptographicHash::Sha256, std::string(DTLSGATE_MAX_INPUT + 1, 'k')}),
                 DTLSGATE_E_INVALID_ARGUMENT);
}

void test_lifetime_rotation_fleet()
{
    QDtlsClientVerifier v;
    CHECK_EQ(v.cookieLifetime(), 60s);
    v.setCookieLifetime(5min);
    CHECK_EQ(v.cookieLifetime(), 300s);
    CHECK_THROWS(v.setCookieLifetime(0s), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_THROWS(v.setCookieLifetime(86401s), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_THROWS(v.setCookieLifetime(-1s), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_THROWS(v.setCookieLifetime(std::chrono::seconds(1LL << 33)), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(v.cookieLifetime(), 300s);
    // The exception carries the library's detail: the argument and its range.
    try {
        v.setCookieLifetime(0s);
        CHECK(false);
    } catch (const dtlsgate::error &e) {
        CHECK_EQ(e.detail(), std::string("cookie lifetime: 0 is out of range 1..86400 seconds"));
        CHECK_EQ(std::string(e.what()),
                 std::string("dtlsgate_verifier_set_cookie_lifetime: invalid argument "
                             "(cookie lifetime: 0 is out of range 1..86400 seconds)"));
    }
    try {
        (void)v.check("\x16", "localhost", 5684);
        CHECK(false);
    } catch (const dtlsgate::error &e) {
        CHECK(e.detail().find("address: missing or not a numeric") == 0);
    }

    CHECK_EQ(v.secretRotationInterval(), 0s);
    v.setSecretRotationInterval(1h);
    CHECK_EQ(v.secretRotationInterval(), 3600s);
    v.setSecretRotationInterval(0s);
    CHECK_EQ(v.secretRotationInterval(), 0s);
    CHECK_THROWS(v.setSecretRotationInterval(24h + 1s), DTLSGATE_E_INVALID_ARGUMENT);

    CHECK(!v.fleetMode().enabled);
    CHECK_THROWS(v.setFleetKey("too short", 30s, 5s), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_THROWS(v.setFleetKey("a master key of 32 bytes........", 0s, 5s),
                 DTLSGATE_E_INVALID_ARGUMENT);
    CHECK(!v.fleetMode().enabled);

    // Two nodes of a fleet accept each other's cookies; a stranger does not.
    const std::string key = "a master key of 32 bytes........";
    QDtlsClientVerifier other, stranger;
    v.setFleetKey(key, 30s, 5s);
    other.setFleetKey(key, 30s, 5s);
    const auto mode = v.fleetMode();
    CHECK(mode.enabled);
    CHECK_EQ(mode.window, 30s);
    CHECK_EQ(mode.maxSkew, 5s);

    const std::string hello = load("openssl_dtls12.bin");
    const auto first = v.check(hello, "127.0.0.1", 4444);
    CHECK_EQ(first.decision(), Decision::SendReply);
    const std::string second = with_cookie(hello, cookie_of(first.reply()));
    CHECK_EQ(other.check(second, "127.0.0.1", 4444).decision(), Decision::Verified);
    CHECK_EQ(stranger.check(second, "127.0.0.1", 4444).decision(), Decision::SendReply);

    // Leaving the fleet drops the fleet's cookies.
    other.clearFleetKey();
    CHECK(!other.fleetMode().enabled);
    CHECK_EQ(other.check(second, "127.0.0.1", 4444).decision(), Decision::SendReply);
}

// The whole exchange through verifyClient(), each overload once, on real
// sockets: the HelloVerifyRequest must reach the client.
void test_verify_client_exchange(bool v6)
{
    const char *loop = v6 ? "::1" : "127.0.0.1";
    Udp server(v6), client(v6);
    QDtlsClientVerifier v;
    const std::string hello = load(v6 ? "openssl_dtls12_v6.bin" : "gnutls_udp.bin");

    client.send_to(server, hello);
    const std::string got = server.receive();
    CHECK_EQ(got, hello);
    CHECK(!v.verifyClient(server.fd, got, loop, client.port));
    CHECK_EQ(v.dtlsError(), QDtlsError::NoError);
    const std::string hvr = client.receive();
    const std::string cookie = cookie_of(hvr);
    CHECK(!cookie.empty());
    CHECK_EQ(hvr.size(), 28 + cookie.size());

    const std::string second = with_cookie(hello, cookie);
    CHECK(v.verifyClient(server.fd, second, loop, client.port));
    CHECK_EQ(v.dtlsError(), QDtlsError::NoError);
    CHECK_EQ(v.verifiedHello(), second);

    // The sockaddr overload, with the peer recvfrom(2) reports.
    client.send_to(server, second);
    sockaddr_storage from;
    socklen_t from_len = sizeof from;
    char buf[2048];
    const ssize_t n = recvfrom(server.fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr *>(&from),
                               &from_len);
    CHECK_EQ(std::string(buf, static_cast<std::size_t>(n > 0 ? n : 0)), second);
    CHECK(v.verifyClient(server.fd, std::string_view(buf, static_cast<std::size_t>(n)),
                         reinterpret_cast<sockaddr *>(&from), from_len));

    // Pointer and size; a ClientHello without the cookie is answered again.
    CHECK(!v.verifyClient(server.fd, hello.data(), hello.size(), loop, client.port));
    CHECK_EQ(v.verifiedHello(), "");
    CHECK(!cookie_of(client.receive()).empty());
    CHECK(v.verifyClient(server.fd, second.data(), second.size(), loop, client.port));

    // Not a ClientHello: ignored, nothing sent, no error.
    CHECK(!v.verifyClient(server.fd, "not a datagram", loop, client.port));
    CHECK_EQ(v.dtlsError(), QDtlsError::NoError);
    CHECK_EQ(client.receive(100), "");
}

void test_verify_client_bad_input()
{
    Udp server, client;
    QDtlsClientVerifier v;
    const std::string hello = load("openssl_dtls10.bin");
    CHECK(!v.verifyClient(server.fd, hello, "127.0.0.1", client.port));
    const std::string second = with_cookie(hello, cookie_of(client.receive()));
    CHECK(v.verifyClient(server.fd, second, "127.0.0.1", client.port));

    struct Case {
        const char *what;
        int fd;
        std::string dgram;
        std::string address;
        std::uint16_t port;
        const char *message;
    };
    const Case cases[] = {
        {"no socket", -1, hello, "127.0.0.1", client.port, kMismatch.c_str()},
        {"empty datagram", server.fd, "", "127.0.0.1", client.port, kMismatch.c_str()},
        {"empty address", server.fd, hello, "", client.port, kMismatch.c_str()},
        {"unparsable address", server.fd, hello, "localhost", client.port, kMismatch.c_str()},
        {"NUL inside the address", server.fd, hello, std::string("127.0.0.1\0x", 11), client.port,
         kMismatch.c_str()},
        {"port 0", server.fd, hello, "127.0.0.1", 0, kMismatch.c_str()},
        {"broadcast", server.fd, hello, "255.255.255.255", client.port,
         "Multicast and broadcast addresses are not supported"},
        {"multicast", server.fd, hello, "ff02::1", client.port,
         "Multicast and broadcast addresses are not supported"},
    };
    for (const Case &c : cases) {
        const bool ok = v.verifyClient(c.fd, c.dgram, c.address, c.port);
        if (!CHECK(!ok) || !CHECK_EQ(v.dtlsError(), QDtlsError::InvalidInputParameters) ||
            !CHECK_EQ(v.dtlsErrorString(), std::string(c.message)))
            std::cerr << "    case: " << c.what << "\n";
        // Invalid input leaves verifiedHello as it was, as Qt does.
        CHECK_EQ(v.verifiedHello(), second);
    }
    CHECK_EQ(client.receive(100), "");

    // A send that fails is UnderlyingSocketError with the system's text.
    CHECK(!v.verifyClient(server.fd, hello, "::1", client.port));
    CHECK_EQ(v.dtlsError(), QDtlsError::UnderlyingSocketError);
    CHECK(!v.dtlsErrorString().empty());
    CHECK_EQ(v.verifiedHello(), "");

    // A datagram longer than DTLSGATE_MAX_INPUT is a misuse.
    const std::string huge(DTLSGATE_MAX_INPUT + 1, '\x16');
    CHECK_THROWS(v.verifyClient(server.fd, huge, "127.0.0.1", client.port),
                 DTLSGATE_E_INVALID_ARGUMENT);
    // A null peer is a network outcome (there is no one to answer).
    CHECK(!v.verifyClient(server.fd, hello, nullptr, 0));
    CHECK_EQ(v.dtlsError(), QDtlsError::InvalidInputParameters);
}

void test_check()
{
    const QDtlsClientVerifier v;
    const std::string hello = load("openssl_psk.bin");

    const auto first = v.check(hello, "192.0.2.7", 5684);
    CHECK_EQ(first.decision(), Decision::SendReply);
    const std::string cookie = cookie_of(first.reply());
    CHECK(!cookie.empty());
    CHECK_EQ(first.reply().size(), 28 + cookie.size());
    CHECK(first.reply().size() <= hello.size());

    const std::string second = with_cookie(hello, cookie);
    const auto ok = v.check(second, "192.0.2.7", 5684);
    CHECK_EQ(ok.decision(), Decision::Verified);
    CHECK_EQ(ok.reply(), "");
    // The cookie is bound to the peer: another port gets a new one.
    CHECK_EQ(v.check(second, "192.0.2.7", 5685).decision(), Decision::SendReply);

    // The sockaddr overload agrees with the string one.
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(5684);
    inet_pton(AF_INET, "192.0.2.7", &sa.sin_addr);
    CHECK_EQ(v.check(second, reinterpret_cast<sockaddr *>(&sa), sizeof sa).decision(),
             Decision::Verified);

    const auto dropped = v.check("garbage", "192.0.2.7", 5684);
    CHECK_EQ(dropped.decision(), Decision::Drop);
    CHECK_EQ(dropped.reply(), "");

    // check() keeps no error state, so what verifyClient() reports as
    // invalid input is a misuse here.
    CHECK_THROWS(v.check("", "192.0.2.7", 5684), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_THROWS(v.check(hello, "not an address", 5684), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_THROWS(v.check(hello, std::string("192.0.2.7\0", 10), 5684), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_THROWS(v.check(hello, "192.0.2.7", 0), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_THROWS(v.check(hello, "224.0.0.1", 5684), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_THROWS(v.check(hello, nullptr, 0), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(v.dtlsError(), QDtlsError::NoError);
}

void test_verifier_moves()
{
    QDtlsClientVerifier a;
    a.setCookieLifetime(7s);
    QDtlsClientVerifier b(std::move(a));
    CHECK_EQ(b.cookieLifetime(), 7s);
    CHECK(b.handle() != nullptr);
    CHECK(a.handle() == nullptr); // NOLINT(bugprone-use-after-move): the documented state
    CHECK_THROWS(a.cookieLifetime(), DTLSGATE_E_BAD_HANDLE);
    CHECK_THROWS(a.dtlsError(), DTLSGATE_E_BAD_HANDLE);
    CHECK_THROWS(a.verifiedHello(), DTLSGATE_E_BAD_HANDLE);
    CHECK_THROWS(a.verifyClient(0, "x", "127.0.0.1", 1), DTLSGATE_E_BAD_HANDLE);

    // Assigning to a moved-from verifier makes it usable again.
    a = QDtlsClientVerifier();
    CHECK_EQ(a.cookieLifetime(), 60s);
    a = std::move(b);
    CHECK_EQ(a.cookieLifetime(), 7s);
    QDtlsClientVerifier &same = a;
    a = std::move(same);
    CHECK_EQ(a.cookieLifetime(), 7s);
}

void test_psk()
{
    QSslPreSharedKeyAuthenticator a;
    CHECK_EQ(a.identityHint(), "");
    CHECK_EQ(a.identity(), "");
    CHECK_EQ(a.preSharedKey(), "");
    CHECK_EQ(a.maximumIdentityLength(), 0);
    CHECK_EQ(a.maximumPreSharedKeyLength(), 0);
    CHECK(a == QSslPreSharedKeyAuthenticator());

    const std::string key("\x00\x01\x02\xff key", 8);
    a.setIdentity("client-1");
    a.setPreSharedKey(key);
    a.setIdentityHint("hint");
    a.setMaximumIdentityLength(128);
    a.setMaximumPreSharedKeyLength(64);
    CHECK_EQ(a.identity(), "client-1");
    CHECK_EQ(a.preSharedKey(), key);
    CHECK_EQ(a.identityHint(), "hint");
    CHECK_EQ(a.maximumIdentityLength(), 128);
    CHECK_EQ(a.maximumPreSharedKeyLength(), 64);
    CHECK_THROWS(a.setMaximumIdentityLength(-1), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_THROWS(a.setPreSharedKey(std::string(DTLSGATE_MAX_INPUT + 1, 'k')),
                 DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(a.preSharedKey(), key);

    // Copies are independent and equal until one changes; each field counts.
    QSslPreSharedKeyAuthenticator b(a);
    CHECK(a == b);
    CHECK(!(a != b));
    CHECK(a.handle() != b.handle());
    b.setIdentity("client-2");
    CHECK(a != b);
    CHECK_EQ(a.identity(), "client-1");
    b = a;
    CHECK(a == b);
    b.setMaximumPreSharedKeyLength(65);
    CHECK(a != b);
    b = a;
    b.setIdentityHint("other hint");
    CHECK(a != b);
    b = b; // self-assignment keeps the value
    CHECK_EQ(b.identityHint(), "other hint");

    // Swap, member and through ADL as std algorithms do.
    QSslPreSharedKeyAuthenticator c;
    c.setIdentity("c");
    c.swap(b);
    CHECK_EQ(c.identityHint(), "other hint");
    CHECK_EQ(b.identity(), "c");
    using std::swap;
    swap(b, c);
    CHECK_EQ(b.identityHint(), "other hint");
    CHECK_EQ(c.identity(), "c");

    // Moves hand the handle over; the moved-from object can be reassigned.
    QSslPreSharedKeyAuthenticator d(std::move(c));
    CHECK_EQ(d.identity(), "c");
    CHECK_THROWS(c.identity(), DTLSGATE_E_BAD_HANDLE); // NOLINT(bugprone-use-after-move)
    CHECK_THROWS(static_cast<void>(c == d), DTLSGATE_E_BAD_HANDLE);
    CHECK_THROWS(QSslPreSharedKeyAuthenticator{c}, DTLSGATE_E_BAD_HANDLE);
    c = a;
    CHECK(c == a);
    d = std::move(c);
    CHECK(d == a);
}

// ---------------------------------------------------------------------------
// QDtls: handshakes between two sessions with a verifier in front, in memory
// (DTLSGATE_NO_SOCKET, the test carries the datagrams) and over loopback
// UDP sockets.

using dtlsgate::QDtls;
using dtlsgate::QSslCipher;
using dtlsgate::QSslConfiguration;
using dtlsgate::QSslSocket;

static_assert(!std::is_copy_constructible_v<QDtls> && !std::is_copy_assignable_v<QDtls>);
static_assert(std::is_nothrow_move_constructible_v<QDtls>);
static_assert(std::is_nothrow_move_assignable_v<QDtls>);
static_assert(std::is_nothrow_destructible_v<QDtls>);
static_assert(std::is_copy_constructible_v<QSslConfiguration>);
static_assert(QDtls::HandshakeNotStarted == 0 && QDtls::HandshakeInProgress == 1 &&
              QDtls::PeerVerificationFailed == 2 && QDtls::HandshakeComplete == 3);
static_assert(QSslSocket::SslClientMode == 1 && QSslSocket::SslServerMode == 2);
static_assert(std::is_same_v<QDtls::GeneratorParameters, Params>);

const std::string kKey("\x1a\x2b\x3c\x4d\x5e\x6f", 6);
const std::string kIdentity = "test client";
const std::string kHint = "test server";
const char kClientIp[] = "192.0.2.7";
const std::uint16_t kClientPort = 40001;

// What one side's PSK function saw.
struct PskSeen {
    int calls = 0;
    std::string hint, identity;
    int maxIdentity = -1, maxKey = -1;
};

// A PSK function that records the request and answers with `key` (a
// client, which is offered a maximum identity length, names itself too).
void answer_psk(QDtls &d, PskSeen &seen, const std::string &key = kKey)
{
    d.onPskRequired([&seen, key](QSslPreSharedKeyAuthenticator *a) {
        seen.calls++;
        seen.hint = a->identityHint();
        seen.identity = a->identity();
        seen.maxIdentity = a->maximumIdentityLength();
        seen.maxKey = a->maximumPreSharedKeyLength();
        if (seen.maxIdentity > 0)
            a->setIdentity(kIdentity);
        a->setPreSharedKey(key);
    });
}

// A server session set up as a server should be: the peer, the verifier's
// cookies, the hint, the PSK function.
QDtls make_server(const QDtlsClientVerifier &v, const char *ip, std::uint16_t port, PskSeen &seen)
{
    QDtls server(QSslSocket::SslServerMode);
    CHECK(server.setPeer(ip, port));
    CHECK(server.setCookieVerifier(v));
    QSslConfiguration conf = QSslConfiguration::defaultDtlsConfiguration();
    conf.setPreSharedKeyIdentityHint(kHint);
    CHECK(server.setDtlsConfiguration(conf));
    answer_psk(server, seen);
    return server;
}

// One datagram from the peer, to doHandshake() while the handshake runs and
// to decryptDatagram() after; returns the application data. A session
// whose handshake failed drops it, so that its error stays the failure's.
std::string deliver(QDtls &to, int fd, const std::string &d)
{
    if (to.handshakeState() == QDtls::HandshakeInProgress) {
        to.doHandshake(fd, d);
        return "";
    }
    return to.isConnectionEncrypted() ? to.decryptDatagram(fd, d) : "";
}

// Carries queued datagrams both ways until neither side has any.
void pump(QDtls &client, QDtls &server)
{
    for (int round = 0; round < 20; round++) {
        const std::vector<std::string> toClient = server.takeOutgoing();
        for (const std::string &d : toClient)
            deliver(client, DTLSGATE_NO_SOCKET, d);
        const std::vector<std::string> toServer = client.takeOutgoing();
        for (const std::string &d : toServer)
            deliver(server, DTLSGATE_NO_SOCKET, d);
        if (toClient.empty() && toServer.empty())
            return;
    }
}

// The client's first two ClientHellos through the verifier; returns the
// verified one (empty if it was not).
std::string cookie_exchange(const QDtlsClientVerifier &v, QDtls &client)
{
    CHECK(client.doHandshake(DTLSGATE_NO_SOCKET));
    CHECK_EQ(client.handshakeState(), QDtls::HandshakeInProgress);
    std::vector<std::string> out = client.takeOutgoing();
    if (!CHECK_EQ(out.size(), 1u))
        return "";
    const auto first = v.check(out[0], kClientIp, kClientPort);
    CHECK_EQ(first.decision(), Decision::SendReply);
    CHECK(client.doHandshake(DTLSGATE_NO_SOCKET, first.reply()));
    out = client.takeOutgoing();
    if (!CHECK_EQ(out.size(), 1u) ||
        !CHECK_EQ(v.check(out[0], kClientIp, kClientPort).decision(), Decision::Verified))
        return "";
    return out[0];
}

// Encrypted text from one session to the other, in memory.
std::string carry(QDtls &from, QDtls &to, const std::string &text)
{
    CHECK_EQ(from.writeDatagramEncrypted(DTLSGATE_NO_SOCKET, text), std::int64_t(text.size()));
    std::vector<std::string> out = from.takeOutgoing();
    if (!CHECK_EQ(out.size(), 1u))
        return "";
    CHECK(out[0].find(text) == std::string::npos); // encrypted
    const std::string got = to.decryptDatagram(DTLSGATE_NO_SOCKET, out[0]);
    // The same record again is a replay: no data, and no error.
    CHECK_EQ(to.decryptDatagram(DTLSGATE_NO_SOCKET, out[0]), "");
    CHECK_EQ(to.dtlsError(), QDtlsError::NoError);
    return got;
}

// The whole exchange in memory. Both sessions are moved half-way, before
// the messages that make them call their PSK functions: the moved-to
// objects finish the handshake and the functions still run.
void test_session_in_memory()
{
    QDtlsClientVerifier v;
    QDtls client(QSslSocket::SslClientMode);
    PskSeen cs, ss;
    answer_psk(client, cs);
    CHECK_EQ(client.sslMode(), QSslSocket::SslClientMode);
    CHECK(client.setPeer("192.0.2.1", 5684, "server.example"));
    const std::string hello = cookie_exchange(v, client);

    QDtls server = make_server(v, kClientIp, kClientPort, ss);
    CHECK_EQ(server.sslMode(), QSslSocket::SslServerMode);
    CHECK(server.doHandshake(DTLSGATE_NO_SOCKET, hello));
    CHECK_EQ(server.handshakeState(), QDtls::HandshakeInProgress);

    QDtls movedClient(std::move(client));
    QDtls movedServer(QSslSocket::SslClientMode);
    movedServer = std::move(server);
    CHECK_THROWS(client.handshakeState(), DTLSGATE_E_BAD_HANDLE); // NOLINT: the documented state
    CHECK_THROWS(client.peerVerificationName(), DTLSGATE_E_BAD_HANDLE);
    CHECK_THROWS(client.onPskRequired(nullptr), DTLSGATE_E_BAD_HANDLE);
    CHECK_THROWS(server.dtlsError(), DTLSGATE_E_BAD_HANDLE); // NOLINT
    CHECK_EQ(cs.calls, 0);
    CHECK_EQ(ss.calls, 0);

    pump(movedClient, movedServer);
    QDtls &c = movedClient, &s = movedServer;
    if (!CHECK_EQ(c.handshakeState(), QDtls::HandshakeComplete))
        std::cerr << "    client: " << c.dtlsErrorString() << "\n";
    if (!CHECK_EQ(s.handshakeState(), QDtls::HandshakeComplete))
        std::cerr << "    server: " << s.dtlsErrorString() << "\n";
    CHECK(c.isConnectionEncrypted() && s.isConnectionEncrypted());
    CHECK_EQ(c.sessionCipher().name(), "PSK-AES128-GCM-SHA256");
    CHECK(c.sessionCipher() == s.sessionCipher());
    CHECK_EQ(s.sessionProtocol(), "DTLSv1.2");
    CHECK_EQ(c.peerAddress(), "192.0.2.1");
    CHECK_EQ(c.peerPort(), 5684);
    CHECK_EQ(c.peerVerificationName(), "server.example");
    CHECK_EQ(s.peerAddress(), kClientIp);
    CHECK_EQ(s.peerPort(), kClientPort);
    CHECK_EQ(s.dtlsConfiguration().preSharedKeyIdentityHint(), kHint);
    CHECK(!c.remainingTimeout()); // no timer runs after the handshake

    // The PSK functions saw what Qt's pskRequired shows.
    CHECK_EQ(cs.calls, 1);
    CHECK_EQ(cs.hint, kHint);
    CHECK_EQ(cs.maxIdentity, 256);
    CHECK_EQ(cs.maxKey, 512);
    CHECK_EQ(ss.calls, 1);
    CHECK_EQ(ss.identity, kIdentity);

    CHECK_EQ(carry(c, s, "ping from the client"), "ping from the client");
    CHECK_EQ(carry(s, c, "echo from the server"), "echo from the server");

    // Too late to reconfigure: false with InvalidOperation, not an exception.
    CHECK(!c.setPeer("192.0.2.2", 1));
    CHECK_EQ(c.dtlsError(), QDtlsError::InvalidOperation);
    CHECK(!s.setDtlsConfiguration(QSslConfiguration()));
    CHECK_EQ(s.dtlsError(), QDtlsError::InvalidOperation);

    // close_notify: the peer reports RemoteClosedConnectionError.
    CHECK(c.shutdown(DTLSGATE_NO_SOCKET));
    CHECK(!c.isConnectionEncrypted());
    const std::vector<std::string> bye = c.takeOutgoing();
    if (CHECK_EQ(bye.size(), 1u)) {
        CHECK_EQ(s.decryptDatagram(DTLSGATE_NO_SOCKET, bye[0]), "");
        CHECK_EQ(s.dtlsError(), QDtlsError::RemoteClosedConnectionError);
        CHECK(!s.isConnectionEncrypted());
    }
    CHECK_EQ(c.writeDatagramEncrypted(DTLSGATE_NO_SOCKET, "late"), -1);
    CHECK_EQ(c.dtlsError(), QDtlsError::InvalidOperation);
}

// encrypt() and decrypt(): the string forms, the buffer forms (in place,
// too small), the batches, and what is left for decryptDatagram().
void test_session_records()
{
    QDtlsClientVerifier v;
    QDtls c(QSslSocket::SslClientMode);
    PskSeen cs, ss;
    answer_psk(c, cs);
    CHECK(c.setPeer("192.0.2.1", 5684));
    std::size_t len = 64;
    char buf[2048];
    CHECK_EQ(c.encrypt("x", 1, buf, len), 0); // before the handshake
    CHECK_EQ(c.dtlsError(), QDtlsError::InvalidOperation);
    QDtls s = make_server(v, kClientIp, kClientPort, ss);
    CHECK(s.doHandshake(DTLSGATE_NO_SOCKET, cookie_exchange(v, c)));
    pump(c, s);
    if (!CHECK(c.isConnectionEncrypted() && s.isConnectionEncrypted()))
        return;

    const std::string rec = c.encrypt("hello records");
    CHECK(rec.size() > 13 && rec.find("hello") == std::string::npos);
    CHECK_EQ(s.decrypt(rec).value_or("?"), "hello records");
    CHECK_EQ(s.decrypt(rec).value_or("?"), ""); // a replay
    CHECK_EQ(c.decryptDatagram(DTLSGATE_NO_SOCKET, s.encrypt("across")), "across");
    CHECK_EQ(c.encrypt(""), "");
    CHECK_EQ(c.dtlsError(), QDtlsError::InvalidInputParameters);

    // In place, and too small a buffer.
    std::memcpy(buf, "in place", 8);
    len = 8;
    CHECK_EQ(c.encrypt(buf, 8, buf, len), DTLSGATE_E_BUFFER_TOO_SMALL);
    const std::size_t need = len;
    CHECK(need > 8 && need <= 8 + DTLSGATE_RECORD_OVERHEAD_MAX);
    len = sizeof buf;
    CHECK_EQ(c.encrypt(buf, 8, buf, len), 1);
    CHECK_EQ(len, need);
    std::size_t m = len;
    CHECK_EQ(s.decrypt(buf, len, buf, m), 1);
    CHECK_EQ(std::string(buf, m), "in place");
    CHECK_THROWS(c.encrypt(nullptr, 3, buf, len), DTLSGATE_E_INVALID_ARGUMENT);

    // A batch of three with the middle one forged.
    char plain[3][16] = {"one", "two", "three"}, recs[3][128], outs[3][128];
    dtlsgate_record_buffer e[3];
    for (int i = 0; i < 3; i++)
        e[i] = {reinterpret_cast<const std::uint8_t *>(plain[i]), std::strlen(plain[i]),
                reinterpret_cast<std::uint8_t *>(recs[i]), sizeof recs[i], -99};
    CHECK_EQ(c.encryptBatch(e, 3), 3);
    for (int i = 0; i < 3; i++)
        e[i] = {reinterpret_cast<const std::uint8_t *>(recs[i]), e[i].out_len,
                reinterpret_cast<std::uint8_t *>(outs[i]), sizeof outs[i], -99};
    recs[1][e[1].in_len - 1] ^= 1;
    CHECK_EQ(s.decryptBatch(e, 3), 2);
    CHECK_EQ(e[1].status, DTLSGATE_RECORD_DROPPED);
    CHECK_EQ(std::string(outs[2], e[2].out_len), "three");
    CHECK_THROWS(s.decryptBatch(nullptr, 2), DTLSGATE_E_INVALID_ARGUMENT);

    // close_notify is not data: decryptDatagram() takes it.
    CHECK(c.shutdown(DTLSGATE_NO_SOCKET));
    const std::vector<std::string> bye = c.takeOutgoing();
    if (CHECK_EQ(bye.size(), 1u)) {
        CHECK(!s.decrypt(bye[0]).has_value());
        CHECK(s.isConnectionEncrypted());
        CHECK_EQ(s.decryptDatagram(DTLSGATE_NO_SOCKET, bye[0]), "");
        CHECK_EQ(s.dtlsError(), QDtlsError::RemoteClosedConnectionError);
    }
}

// A client asking for connection IDs of length cl and a server asking for
// sl, after a handshake in memory.
struct CidPair {
    QDtlsClientVerifier v;
    PskSeen cs, ss;
    QDtls c{QSslSocket::SslClientMode};
    QDtls s{QSslSocket::SslServerMode};

    CidPair(int cl, int sl)
    {
        answer_psk(c, cs);
        CHECK(c.setPeer("192.0.2.1", 5684));
        CHECK(c.setConnectionIdLength(cl));
        CHECK_EQ(c.connectionIdLength(), cl);
        s = make_server(v, kClientIp, kClientPort, ss);
        CHECK(s.setConnectionIdLength(sl));
        CHECK(s.doHandshake(DTLSGATE_NO_SOCKET, cookie_exchange(v, c)));
        pump(c, s);
    }
    CidPair(const CidPair &) = delete; // the PSK functions hold cs and ss
    CidPair &operator=(const CidPair &) = delete;
};

// Connection IDs (RFC 9146): negotiated between two sessions in both
// roles, the records they make, the settings, and the move rule.
void test_session_connection_ids()
{
    const int settings[] = {DTLSGATE_EMPTY_CONNECTION_ID, 8, 16, DTLSGATE_NO_CONNECTION_ID};
    for (int cl : settings)
        for (int sl : settings) {
            CidPair pair(cl, sl);
            QDtls &c = pair.c, &s = pair.s;
            if (!CHECK(c.isConnectionEncrypted() && s.isConnectionEncrypted()))
                continue;
            const bool on = cl != DTLSGATE_NO_CONNECTION_ID && sl != DTLSGATE_NO_CONNECTION_ID;
            CHECK_EQ(c.connectionId().has_value(), on);
            CHECK_EQ(s.peerConnectionId().has_value(), on);
            CHECK_EQ(c.connectionId().value_or("none"), s.peerConnectionId().value_or("none"));
            CHECK_EQ(s.connectionId().value_or("none"), c.peerConnectionId().value_or("none"));
            if (on) {
                CHECK_EQ(c.connectionId()->size(), std::size_t(cl < 0 ? 0 : cl));
                CHECK_EQ(s.connectionId()->size(), std::size_t(sl < 0 ? 0 : sl));
            }
            // Each record carries the receiver's ID and its real type.
            QDtls *ends[2][2] = {{&c, &s}, {&s, &c}};
            for (auto &e : ends) {
                const std::string id = e[1]->connectionId().value_or("");
                const std::string rec = e[0]->encrypt("hello");
                CHECK_EQ(rec.size(), 13 + 8 + 5 + 16 + (id.empty() ? 0 : id.size() + 1));
                CHECK_EQ(int(std::uint8_t(rec[0])), id.empty() ? 23 : 25);
                CHECK_EQ(rec.substr(11, id.size()), id);
                CHECK_EQ(e[1]->decrypt(rec).value_or("?"), "hello");
            }
            CHECK_EQ(carry(c, s, "queued"), "queued");
        }

    // Settings: before the handshake only, in range.
    QDtls s(QSslSocket::SslServerMode);
    CHECK_EQ(s.connectionIdLength(), DTLSGATE_NO_CONNECTION_ID);
    CHECK(s.setConnectionIdLength(0));
    CHECK_EQ(s.connectionIdLength(), DTLSGATE_CONNECTION_ID_DEFAULT_LENGTH);
    CHECK(!s.setConnectionIdLength(17));
    CHECK_EQ(s.dtlsError(), QDtlsError::InvalidInputParameters);
    CHECK(s.setConnectionId(std::string("\x2a\x01\x02", 3)));
    CHECK_EQ(s.connectionIdLength(), 3);
    CHECK(!s.setConnectionId(std::string(17, 'x')));
    CHECK(!s.connectionId().has_value());

    // The move rule: a server session with an ID follows its client only
    // for the newest authenticated record.
    CidPair pair(DTLSGATE_EMPTY_CONNECTION_ID, 8);
    QDtls &c = pair.c, &srv = pair.s;
    CHECK(!srv.setConnectionIdLength(4));
    CHECK_EQ(srv.dtlsError(), QDtlsError::InvalidOperation);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(1000);
    inet_pton(AF_INET, "198.51.100.1", &to.sin_addr);
    const sockaddr *sa = reinterpret_cast<const sockaddr *>(&to);
    const std::string older = c.encrypt("older"), newer = c.encrypt("newer");
    CHECK_EQ(srv.decrypt(newer).value_or("?"), "newer");
    CHECK_EQ(srv.decrypt(older).value_or("?"), "older");
    CHECK(!srv.movePeer(sa, sizeof to)); // delayed
    CHECK_EQ(srv.dtlsError(), QDtlsError::InvalidOperation);
    CHECK_EQ(srv.decrypt(newer).value_or("?"), "");
    CHECK(!srv.movePeer(sa, sizeof to)); // replayed
    std::string forged = c.encrypt("forged");
    const std::string genuine = forged;
    forged.back() ^= 1;
    CHECK_EQ(srv.decrypt(forged).value_or("?"), "");
    CHECK(!srv.movePeer(sa, sizeof to)); // forged
    CHECK_EQ(srv.peerAddress(), kClientIp);
    CHECK_EQ(srv.decryptDatagram(DTLSGATE_NO_SOCKET, genuine), "forged");
    CHECK(!srv.movePeer(nullptr, 0));
    CHECK_EQ(srv.dtlsError(), QDtlsError::InvalidInputParameters);
    CHECK(srv.movePeer(sa, sizeof to));
    CHECK_EQ(srv.peerAddress(), "198.51.100.1");
    CHECK_EQ(srv.peerPort(), 1000);
    CHECK(srv.movePeer(sa, sizeof to)); // already there
    CHECK(!c.movePeer(sa, sizeof to));  // no ID for the client
}

// The same over real loopback UDP sockets: the sessions send with sendto,
// the verifier answers through the server's socket.
void test_session_udp(bool v6)
{
    const char *ip = v6 ? "::1" : "127.0.0.1";
    Udp cu(v6), su(v6);
    QDtlsClientVerifier v;
    PskSeen cs, ss;
    QDtls client(QSslSocket::SslClientMode);
    answer_psk(client, cs);
    CHECK(client.setPeer(ip, su.port));
    CHECK(client.doHandshake(cu.fd));
    CHECK(!v.verifyClient(su.fd, su.receive(), ip, cu.port));
    CHECK_EQ(v.dtlsError(), QDtlsError::NoError);
    CHECK(client.doHandshake(cu.fd, cu.receive()));
    if (!CHECK(v.verifyClient(su.fd, su.receive(), ip, cu.port)))
        return;
    QDtls server = make_server(v, ip, cu.port, ss);
    CHECK(server.doHandshake(su.fd, v.verifiedHello()));
    CHECK(client.takeOutgoing().empty()); // a socket: nothing is queued

    for (int i = 0; i < 20 && !(client.isConnectionEncrypted() && server.isConnectionEncrypted());
         i++) {
        if (std::string d = cu.receive(100); !d.empty())
            deliver(client, cu.fd, d);
        if (std::string d = su.receive(100); !d.empty())
            deliver(server, su.fd, d);
    }
    if (!CHECK(client.isConnectionEncrypted() && server.isConnectionEncrypted())) {
        std::cerr << "    client: " << client.dtlsErrorString()
                  << "\n    server: " << server.dtlsErrorString() << "\n";
        return;
    }
    CHECK_EQ(cs.hint, kHint);
    CHECK_EQ(ss.identity, kIdentity);

    CHECK_EQ(client.writeDatagramEncrypted(cu.fd, "ping over udp"), 13);
    CHECK_EQ(server.decryptDatagram(su.fd, su.receive()), "ping over udp");
    CHECK_EQ(server.writeDatagramEncrypted(su.fd, "echo over udp"), 13);
    CHECK_EQ(client.decryptDatagram(cu.fd, cu.receive()), "echo over udp");

    CHECK(server.shutdown(su.fd));
    CHECK_EQ(client.decryptDatagram(cu.fd, cu.receive()), "");
    CHECK_EQ(client.dtlsError(), QDtlsError::RemoteClosedConnectionError);
}

// Different keys: records that fail authentication are dropped silently
// (RFC 6347 4.1.2.7), so nothing ends the handshake at once; both sides
// give up at the handshake deadline, naming the likely cause.
void test_session_wrong_key()
{
    QDtlsClientVerifier v;
    PskSeen cs, ss;
    QDtls client(QSslSocket::SslClientMode);
    answer_psk(client, cs, "another key");
    CHECK(client.setHandshakeDeadline(1000ms));
    CHECK(client.setPeer("192.0.2.1", 5684));
    const std::string hello = cookie_exchange(v, client);
    QDtls server = make_server(v, kClientIp, kClientPort, ss);
    CHECK(server.setHandshakeDeadline(1000ms));
    CHECK(server.doHandshake(DTLSGATE_NO_SOCKET, hello));
    pump(client, server);
    CHECK_EQ(cs.calls, 1);
    CHECK_EQ(ss.calls, 1);
    CHECK_EQ(client.handshakeState(), QDtls::HandshakeInProgress);
    CHECK_EQ(server.handshakeState(), QDtls::HandshakeInProgress);

    // An event loop: sleep until the sooner timer, handle the timers that are
    // due, carry what they sent. 5 s bounds it on a slow machine; the
    // retransmission limit alone would take minutes.
    QDtls *const sides[] = {&client, &server};
    for (const auto end = std::chrono::steady_clock::now() + 5s;
         std::chrono::steady_clock::now() < end;) {
        std::optional<std::chrono::milliseconds> wait;
        for (QDtls *d : sides)
            if (d->handshakeState() == QDtls::HandshakeInProgress)
                if (const auto left = d->remainingTimeout(); left && (!wait || *left < *wait))
                    wait = left;
        if (!wait)
            break;
        std::this_thread::sleep_for(*wait);
        for (QDtls *d : sides)
            if (d->handshakeState() == QDtls::HandshakeInProgress)
                d->handleTimeout(DTLSGATE_NO_SOCKET);
        pump(client, server);
    }
    for (QDtls *d : sides) {
        CHECK_EQ(d->handshakeState(), QDtls::HandshakeNotStarted);
        CHECK_EQ(d->dtlsError(), QDtlsError::TlsFatalError);
        if (!CHECK(d->dtlsErrorString().find("pre-shared keys differ") != std::string::npos))
            std::cerr << "    " << d->dtlsErrorString() << "\n";
    }
}

// A PSK function that throws: the handshake fails cleanly inside the
// library, and the exception leaves the doHandshake() call that ran it.
void test_psk_exception()
{
    QDtlsClientVerifier v;
    PskSeen ss;
    QDtls client(QSslSocket::SslClientMode);
    int calls = 0;
    client.onPskRequired([&calls](QSslPreSharedKeyAuthenticator *a) {
        calls++;
        a->setPreSharedKey(kKey); // set, then thrown away with the exception
        throw std::runtime_error("no key for this server");
    });
    CHECK(client.setPeer("192.0.2.1", 5684));
    QDtls server = make_server(v, kClientIp, kClientPort, ss);
    CHECK(server.doHandshake(DTLSGATE_NO_SOCKET, cookie_exchange(v, client)));

    std::string caught;
    for (const std::string &d : server.takeOutgoing()) {
        try {
            deliver(client, DTLSGATE_NO_SOCKET, d);
        } catch (const std::runtime_error &e) {
            caught += e.what();
        }
    }
    CHECK_EQ(caught, "no key for this server");
    CHECK_EQ(calls, 1);
    CHECK_EQ(client.handshakeState(), QDtls::HandshakeNotStarted);
    CHECK_EQ(client.dtlsError(), QDtlsError::TlsFatalError);
    CHECK(!client.isConnectionEncrypted());
    // The alert went into the queue; the server's handshake ends with it.
    const std::vector<std::string> alert = client.takeOutgoing();
    CHECK_EQ(alert.size(), 1u);
    for (const std::string &d : alert)
        CHECK(!server.doHandshake(DTLSGATE_NO_SOCKET, d));
    CHECK(server.handshakeState() != QDtls::HandshakeComplete);
    CHECK_EQ(ss.calls, 0);

    // A server whose PSK function calls its own session: error(BUSY) comes
    // out of doHandshake(), and the handshake failed.
    QDtls client2(QSslSocket::SslClientMode);
    PskSeen cs;
    answer_psk(client2, cs);
    CHECK(client2.setPeer("192.0.2.1", 5684));
    QDtls server2 = make_server(v, kClientIp, kClientPort, ss);
    QDtls *self = &server2;
    server2.onPskRequired([&self](QSslPreSharedKeyAuthenticator *) { (void)self->handshakeState(); });
    CHECK(server2.doHandshake(DTLSGATE_NO_SOCKET, cookie_exchange(v, client2)));
    int busy = 0;
    for (int round = 0; round < 5; round++) {
        for (const std::string &d : server2.takeOutgoing())
            deliver(client2, DTLSGATE_NO_SOCKET, d);
        for (const std::string &d : client2.takeOutgoing()) {
            try {
                deliver(server2, DTLSGATE_NO_SOCKET, d);
            } catch (const dtlsgate::error &e) {
                busy = e.code();
            }
        }
    }
    CHECK_EQ(busy, DTLSGATE_E_BUSY);
    CHECK_EQ(server2.dtlsError(), QDtlsError::TlsFatalError);
    CHECK(!server2.isConnectionEncrypted());
}

// Outcomes Qt reports through results, and misuse that throws.
void test_session_errors()
{
    CHECK_THROWS(QDtls(static_cast<QSslSocket::SslMode>(0)), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_THROWS(QDtls(static_cast<QSslSocket::SslMode>(3)), DTLSGATE_E_INVALID_ARGUMENT);

    QDtls d(QSslSocket::SslClientMode);
    CHECK_EQ(d.handshakeState(), QDtls::HandshakeNotStarted);
    CHECK_EQ(d.peerAddress(), "");
    CHECK_EQ(d.peerPort(), 0);
    CHECK_EQ(d.mtuHint(), 1400);
    CHECK(!d.remainingTimeout());
    CHECK(!d.handshakeTimeoutDue());
    CHECK_EQ(d.sessionCipher().isNull(), true);
    CHECK_EQ(d.sessionProtocol(), "");

    CHECK(!d.doHandshake(DTLSGATE_NO_SOCKET)); // no peer yet
    CHECK_EQ(d.dtlsError(), QDtlsError::InvalidOperation);
    CHECK(!d.dtlsErrorString().empty());
    CHECK(!d.setPeer("not an address", 5684));
    CHECK_EQ(d.dtlsError(), QDtlsError::InvalidInputParameters);
    CHECK(!d.setPeer("224.0.0.1", 5684));
    CHECK(!d.setPeer(std::string_view("127.0.0.1\0x", 11), 5684));
    CHECK(!d.setPeer("127.0.0.1", 0));
    CHECK_EQ(d.dtlsError(), QDtlsError::InvalidInputParameters);
    CHECK(!d.setMtuHint(100));
    CHECK_EQ(d.dtlsError(), QDtlsError::InvalidInputParameters);
    CHECK(d.setMtuHint(1200));
    CHECK_EQ(d.mtuHint(), 1200);
    CHECK_EQ(d.dtlsError(), QDtlsError::NoError);

    // The handshake deadline: 1 ms to 24 hours, 0 for the default 30 s.
    CHECK(d.handshakeDeadline() == 30s);
    CHECK(d.setHandshakeDeadline(24h));
    CHECK(d.handshakeDeadline() == 24h);
    CHECK(!d.setHandshakeDeadline(24h + 1ms));
    CHECK_EQ(d.dtlsError(), QDtlsError::InvalidInputParameters);
    CHECK(!d.setHandshakeDeadline(-1ms)); // no uint32_t: refused all the same
    CHECK_EQ(d.dtlsError(), QDtlsError::InvalidInputParameters);
    CHECK(!d.setHandshakeDeadline(100000h)); // more milliseconds than a uint32_t holds
    CHECK(d.handshakeDeadline() == 24h);
    CHECK(d.setHandshakeDeadline(0ms));
    CHECK(d.handshakeDeadline() == 30s);
    CHECK(d.setHandshakeDeadline(1500ms));
    CHECK(d.handshakeDeadline() == 1500ms);
    // The retransmission limit: n > 0, 0 for the default 12.
    CHECK_EQ(d.maximumRetransmissions(), 12);
    CHECK(!d.setMaximumRetransmissions(-1));
    CHECK_EQ(d.dtlsError(), QDtlsError::InvalidInputParameters);
    CHECK_EQ(d.maximumRetransmissions(), 12);
    CHECK(d.setMaximumRetransmissions(std::numeric_limits<int>::max()));
    CHECK_EQ(d.maximumRetransmissions(), std::numeric_limits<int>::max());
    CHECK(d.setMaximumRetransmissions(0));
    CHECK_EQ(d.maximumRetransmissions(), 12);
    CHECK(d.setMaximumRetransmissions(4));
    CHECK_EQ(d.dtlsError(), QDtlsError::NoError);

    CHECK_EQ(d.writeDatagramEncrypted(DTLSGATE_NO_SOCKET, "x"), -1);
    CHECK_EQ(d.dtlsError(), QDtlsError::InvalidOperation);
    CHECK_EQ(d.decryptDatagram(DTLSGATE_NO_SOCKET, "x"), "");
    CHECK_EQ(d.dtlsError(), QDtlsError::InvalidOperation);
    CHECK(!d.abortHandshake());
    CHECK(!d.shutdown(DTLSGATE_NO_SOCKET));
    CHECK(!d.handleTimeout(DTLSGATE_NO_SOCKET));
    CHECK_EQ(d.dtlsError(), QDtlsError::InvalidOperation);

    // Cookie parameters: a round trip, and Qt's placeholder refused.
    CHECK(d.setCookieGeneratorParameters({QCryptographicHash::Sha384, "session secret"}));
    CHECK_EQ(d.cookieGeneratorParameters().hash, QCryptographicHash::Sha384);
    CHECK_EQ(d.cookieGeneratorParameters().secret, "session secret");
    CHECK(!d.setCookieGeneratorParameters(Params()));
    CHECK_EQ(d.dtlsError(), QDtlsError::InvalidInputParameters);

    // Ciphers: a name the library lacks is refused, naming it; nothing changes.
    QSslConfiguration conf;
    conf.setCiphers("PSK-AES128-CCM8:NO-SUCH-SUITE");
    conf.setPreSharedKeyIdentityHint("not applied");
    CHECK(!d.setDtlsConfiguration(conf));
    CHECK_EQ(d.dtlsError(), QDtlsError::InvalidInputParameters);
    CHECK(d.dtlsErrorString().find("NO-SUCH-SUITE") != std::string::npos);
    CHECK_EQ(d.dtlsConfiguration().preSharedKeyIdentityHint(), "");
    conf.setCiphers(std::vector<QSslCipher>{QSslCipher("PSK-AES128-CCM8")});
    conf.setPeerVerifyMode(QSslSocket::VerifyNone);
    CHECK(d.setDtlsConfiguration(conf));
    const QSslConfiguration got = d.dtlsConfiguration();
    CHECK_EQ(got.ciphers().size(), 1u);
    CHECK_EQ(got.ciphers().at(0).name(), "PSK-AES128-CCM8");
    CHECK_EQ(got.preSharedKeyIdentityHint(), "not applied"); // kept; a client does not send it
    CHECK_EQ(got.peerVerifyMode(), QSslSocket::VerifyNone);

    // The retransmission timer: running, not due, and the timeout function.
    CHECK(d.setPeer("192.0.2.1", 5684));
    CHECK(d.doHandshake(DTLSGATE_NO_SOCKET));
    // Too late for the limits now; they stay as they were.
    CHECK(!d.setHandshakeDeadline(1000ms));
    CHECK_EQ(d.dtlsError(), QDtlsError::InvalidOperation);
    CHECK(!d.setMaximumRetransmissions(5));
    CHECK_EQ(d.dtlsError(), QDtlsError::InvalidOperation);
    CHECK(d.handshakeDeadline() == 1500ms);
    CHECK_EQ(d.maximumRetransmissions(), 4);
    const auto left = d.remainingTimeout();
    CHECK(left && left->count() > 0 && left->count() <= 60000);
    CHECK(!d.handshakeTimeoutDue());
    CHECK(d.handleTimeout(DTLSGATE_NO_SOCKET)); // not due: nothing resent
    CHECK_EQ(d.takeOutgoing().size(), 1u);      // the first ClientHello only
    CHECK(!d.emitHandshakeTimeout());
    int timeouts = 0;
    d.onHandshakeTimeout([&timeouts] { timeouts++; });
    CHECK(d.emitHandshakeTimeout());
    CHECK_EQ(timeouts, 1);
    CHECK(d.abortHandshake());
    CHECK_EQ(d.handshakeState(), QDtls::HandshakeNotStarted);
    CHECK(!d.remainingTimeout());

    // A descriptor that is no socket: false, as Qt's null socket.
    CHECK(!d.doHandshake(-5));
    CHECK(d.dtlsError() == QDtlsError::InvalidInputParameters);
    CHECK_EQ(d.writeDatagramEncrypted(-7, "x"), -1);
    CHECK(d.dtlsError() == QDtlsError::InvalidInputParameters);

    // Misuse throws.
    CHECK_THROWS(d.doHandshake(DTLSGATE_NO_SOCKET, nullptr, 3), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_THROWS(d.doHandshake(DTLSGATE_NO_SOCKET, std::string(DTLSGATE_MAX_INPUT + 1, 'x')),
                 DTLSGATE_E_INVALID_ARGUMENT);
    QDtls gone(std::move(d));
    CHECK_THROWS(d.sslMode(), DTLSGATE_E_BAD_HANDLE); // NOLINT: the documented state
    CHECK_THROWS(d.takeOutgoing(), DTLSGATE_E_BAD_HANDLE);
    CHECK_THROWS(d.dtlsErrorString(), DTLSGATE_E_BAD_HANDLE);
    CHECK_THROWS(d.setPeerVerificationName("x"), DTLSGATE_E_BAD_HANDLE);
    d = QDtls(QSslSocket::SslServerMode); // usable again
    CHECK_EQ(d.sslMode(), QSslSocket::SslServerMode);
}

void test_configuration_value()
{
    const QSslConfiguration defaults = QSslConfiguration::defaultDtlsConfiguration();
    CHECK(defaults.ciphers().size() > 1);
    CHECK(defaults.ciphers().at(0) == QSslCipher("PSK-AES128-GCM-SHA256"));
    CHECK_EQ(defaults.preSharedKeyIdentityHint(), "");
    CHECK_EQ(defaults.peerVerifyMode(), QSslSocket::AutoVerifyPeer);

    QSslConfiguration a = defaults;
    a.setPreSharedKeyIdentityHint("copy");
    a.setCiphers(":PSK-AES128-CCM8::PSK-CHACHA20-POLY1305:");
    CHECK_EQ(a.ciphers().size(), 2u);
    CHECK_EQ(a.ciphers().at(1).name(), "PSK-CHACHA20-POLY1305");
    QSslConfiguration b = a;
    b.setPreSharedKeyIdentityHint("other");
    b.setCiphers(std::vector<QSslCipher>());
    CHECK_EQ(a.preSharedKeyIdentityHint(), "copy");
    CHECK_EQ(a.ciphers().size(), 2u);
    CHECK_EQ(defaults.preSharedKeyIdentityHint(), "");
    CHECK(QSslCipher().isNull());
    CHECK(QSslCipher("A") != QSslCipher("B"));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::cerr << "usage: test_binding CORPUS_DIR\n";
        return 2;
    }
    corpus_dir = argv[1];
    try {
        test_errors_and_versions();
        test_fresh_verifier_and_parameters();
        test_lifetime_rotation_fleet();
        test_verify_client_exchange(false);
        test_verify_client_exchange(true);
        test_verify_client_bad_input();
        test_check();
        test_verifier_moves();
        test_psk();
        test_session_in_memory();
        test_session_records();
        test_session_connection_ids();
        test_session_udp(false);
        test_session_udp(true);
        test_session_wrong_key();
        test_psk_exception();
        test_session_errors();
        test_configuration_value();
    } catch (const std::exception &e) {
        std::cerr << "test_binding: unexpected exception: " << e.what() << "\n";
        return 1;
    }
    return check::report();
}
