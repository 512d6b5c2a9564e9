// SPDX-License-Identifier: MIT
// dtlsgate.hpp - header-only C++17 binding of dtlsgate (include/dtlsgate.h).
//
// The classes have the names and methods of Qt's QDtlsClientVerifier,
// QDtlsClientVerifier::GeneratorParameters, QDtlsError,
// QCryptographicHash::Algorithm, QSslPreSharedKeyAuthenticator and QDtls
// (with the little of QSslSocket, QSslCipher and QSslConfiguration it needs),
// inside
// namespace dtlsgate, with standard types: bytes go in as std::string_view
// (or pointer + size) and come out as std::string. For Qt types (QUdpSocket,
// QByteArray, QHostAddress, QString) include dtlsgate_qt.hpp instead.
//
// Every object owns one C handle and frees it in its noexcept destructor.
// Nothing here decides anything: each call is one C call, and the library
// keeps all state (last error, verifiedHello, secrets, the session). QDtls
// adds only what the C API leaves to its caller: the callbacks as
// std::functions, Qt's peerVerificationName and peerVerifyMode.
//
// Errors. Outcomes that Qt reports through a return value and dtlsError()
// are reported the same way: verifyClient() and setCookieGeneratorParameters()
// return false and set dtlsError()/dtlsErrorString(); a missing socket or
// address is such an outcome, not an exception. dtlsgate::error is thrown
// only where the C function returns a negative status, which a correct
// program never causes: a value out of range, check() with an empty datagram
// or an unusable peer, an input over DTLSGATE_MAX_INPUT bytes, or using an
// object after it was moved from.
//
// Thread safety is the C library's: any call from any thread; calls on one
// object are serialized by the library, and check() runs in parallel with
// everything.
//
// Link with -ldtlsgate (pkg-config dtlsgate, or CMake's dtlsgate::dtlsgate).
#ifndef DTLSGATE_HPP
#define DTLSGATE_HPP

#include "dtlsgate.h"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dtlsgate {

// ---------------------------------------------------------------------------
// Errors

// A misuse of the API: code() is the C status (DTLSGATE_E_*), what() names
// the call, describes the status and, for a status the C call returned,
// adds the library's detail() (dtlsgate_last_error_message: the argument
// at fault and what it accepts).
class error : public std::runtime_error {
public:
    error(int code, const std::string &call, const std::string &detail = std::string())
        : std::runtime_error(call + ": " + dtlsgate_strerror(code) +
                             (detail.empty() || detail == dtlsgate_strerror(code)
                                  ? std::string()
                                  : " (" + detail + ")")),
          code_(code), detail_(detail)
    {
    }
    int code() const noexcept { return code_; }
    const std::string &detail() const noexcept { return detail_; }

private:
    int code_;
    std::string detail_;
};

namespace detail {

// Passes a non-negative C result through; throws for a negative one.
inline int check_status(int rc, const char *call)
{
    if (rc < 0)
        throw error(rc, call, dtlsgate_last_error_message());
    return rc;
}

// Reads an output with the length in/out convention: ask for the size,
// then read into a buffer of that size. Repeats if the value grew in
// between (another thread changed it). Strings come back without the NUL.
template <class Read>
std::string read_output(Read read, const char *call)
{
    std::string out;
    for (;;) {
        std::size_t len = out.size();
        int rc = read(len ? &out[0] : nullptr, &len);
        if (rc == DTLSGATE_OK) {
            out.resize(len);
            return out;
        }
        if (rc != DTLSGATE_E_BUFFER_TOO_SMALL)
            throw error(rc, call, dtlsgate_last_error_message());
        out.resize(len);
    }
}

inline const std::uint8_t *bytes(std::string_view s)
{
    return reinterpret_cast<const std::uint8_t *>(s.data());
}

inline std::uint8_t *bytes(char *s) { return reinterpret_cast<std::uint8_t *>(s); }

// A duration for a uint32_t argument counted in the duration's own unit
// (seconds, milliseconds). Values that do not fit are passed as
// UINT32_MAX, which the library refuses like any other value out of its
// range, so the range lives in one place.
template <class Rep, class Period>
std::uint32_t count_arg(std::chrono::duration<Rep, Period> d)
{
    const auto n = d.count();
    if (n < 0 || static_cast<std::uintmax_t>(n) > std::numeric_limits<std::uint32_t>::max())
        return std::numeric_limits<std::uint32_t>::max();
    return static_cast<std::uint32_t>(n);
}

// The C API takes NUL-terminated addresses; an address with a NUL inside
// is unparsable, so it is passed as "" (InvalidInputParameters) rather than
// cut short at the NUL.
inline std::string address_arg(std::string_view address)
{
    if (address.find('\0') != std::string_view::npos)
        return std::string();
    return std::string(address);
}

} // namespace detail

// ---------------------------------------------------------------------------
// Versions

// The version of the library loaded at run time, e.g. "0.1.0"; compare it
// with DTLSGATE_VERSION to detect a header/library mismatch.
inline std::string_view version() noexcept { return dtlsgate_version(); }

// ---------------------------------------------------------------------------
// QDtlsError and QCryptographicHash::Algorithm: Qt's names and numbers.

enum class QDtlsError : int {
    NoError = DTLSGATE_NO_ERROR,
    InvalidInputParameters = DTLSGATE_INVALID_INPUT_PARAMETERS,
    InvalidOperation = DTLSGATE_INVALID_OPERATION,
    UnderlyingSocketError = DTLSGATE_UNDERLYING_SOCKET_ERROR,
    RemoteClosedConnectionError = DTLSGATE_REMOTE_CLOSED_CONNECTION_ERROR,
    PeerVerificationError = DTLSGATE_PEER_VERIFICATION_ERROR,
    TlsInitializationError = DTLSGATE_TLS_INITIALIZATION_ERROR,
    TlsFatalError = DTLSGATE_TLS_FATAL_ERROR,
    TlsNonFatalError = DTLSGATE_TLS_NON_FATAL_ERROR,
};

// Qt's enumerator name ("NoError", ...), or "" for a value Qt does not have.
inline std::string_view dtlsErrorName(QDtlsError e) noexcept
{
    const char *name = dtlsgate_dtls_error_name(static_cast<int>(e));
    return name ? name : "";
}

// A namespace for the Algorithm enum, as Qt's class is to its users:
// QCryptographicHash::Sha256.
class QCryptographicHash {
public:
    enum Algorithm {
        Md4 = DTLSGATE_HASH_MD4,
        Md5 = DTLSGATE_HASH_MD5,
        Sha1 = DTLSGATE_HASH_SHA1,
        Sha224 = DTLSGATE_HASH_SHA224,
        Sha256 = DTLSGATE_HASH_SHA256,
        Sha384 = DTLSGATE_HASH_SHA384,
        Sha512 = DTLSGATE_HASH_SHA512,
        Keccak_224 = DTLSGATE_HASH_KECCAK_224,
        Keccak_256 = DTLSGATE_HASH_KECCAK_256,
        Keccak_384 = DTLSGATE_HASH_KECCAK_384,
        Keccak_512 = DTLSGATE_HASH_KECCAK_512,
        RealSha3_224 = DTLSGATE_HASH_REAL_SHA3_224,
        RealSha3_256 = DTLSGATE_HASH_REAL_SHA3_256,
        RealSha3_384 = DTLSGATE_HASH_REAL_SHA3_384,
        RealSha3_512 = DTLSGATE_HASH_REAL_SHA3_512,
        // Qt's Sha3_* names mean the standard SHA-3 unless Qt was built for
        // Keccak compatibility; here they always do.
        Sha3_224 = RealSha3_224,
        Sha3_256 = RealSha3_256,
        Sha3_384 = RealSha3_384,
        Sha3_512 = RealSha3_512,
        Blake2b_160 = DTLSGATE_HASH_BLAKE2B_160,
        Blake2b_256 = DTLSGATE_HASH_BLAKE2B_256,
        Blake2b_384 = DTLSGATE_HASH_BLAKE2B_384,
        Blake2b_512 = DTLSGATE_HASH_BLAKE2B_512,
        Blake2s_128 = DTLSGATE_HASH_BLAKE2S_128,
        Blake2s_160 = DTLSGATE_HASH_BLAKE2S_160,
        Blake2s_224 = DTLSGATE_HASH_BLAKE2S_224,
        Blake2s_256 = DTLSGATE_HASH_BLAKE2S_256,
    };

    // Whether the library can make cookies with this algorithm (Qt 6.5's
    // name). False for values that are no Algorithm at all.
    static bool supportsAlgorithm(Algorithm a) noexcept { return dtlsgate_hash_supported(a) == 1; }

    QCryptographicHash() = delete;
};

// ---------------------------------------------------------------------------
// QDtlsClientVerifier

class QDtlsClientVerifier {
public:
    // Qt's GeneratorParameters: an algorithm and a secret. The default is
    // Qt's placeholder (SHA-1, empty secret), which setCookieGeneratorParameters
    // refuses; a verifier starts with defaultParameters() instead.
    struct GeneratorParameters {
        GeneratorParameters() = default;
        GeneratorParameters(QCryptographicHash::Algorithm a, std::string_view s)
            : hash(a), secret(s)
        {
        }

        QCryptographicHash::Algorithm hash = QCryptographicHash::Sha1;
        std::string secret;
    };

    // What check() decided, with the HelloVerifyRequest to send when
    // decision is SendReply. Held inline: check() does not allocate.
    class CheckResult {
    public:
        enum Decision {
            Drop = DTLSGATE_CHECK_DROP,           // not a usable ClientHello: ignore it
            SendReply = DTLSGATE_CHECK_SEND_REPLY, // send reply() to the peer
            Verified = DTLSGATE_CHECK_VERIFIED,   // valid cookie: go on with the handshake
        };
        Decision decision() const noexcept { return decision_; }
        std::string_view reply() const noexcept
        {
            return {reinterpret_cast<const char *>(reply_.data()), reply_len_};
        }

    private:
        friend class QDtlsClientVerifier;
        // The C function documents reply_len only for SendReply and
        // Verified; for Drop it is cleared here so reply() is empty.
        CheckResult &set(int rc) noexcept
        {
            decision_ = static_cast<Decision>(rc);
            if (decision_ != SendReply)
                reply_len_ = 0;
            return *this;
        }
        Decision decision_ = Drop;
        std::array<std::uint8_t, DTLSGATE_HELLO_VERIFY_REQUEST_MAX> reply_{};
        std::size_t reply_len_ = 0;
    };

    // Fleet mode as it stands: enabled, and the window and skew if so.
    struct FleetMode {
        bool enabled = false;
        std::chrono::seconds window{0};
        std::chrono::seconds maxSkew{0};
    };

    // A verifier with the process-wide default parameters, a 60-second
    // cookie lifetime, no rotation and no fleet key.
    QDtlsClientVerifier() : v_(dtlsgate_verifier_new())
    {
        if (!v_)
            throw error(DTLSGATE_E_INTERNAL, "dtlsgate_verifier_new");
    }
    ~QDtlsClientVerifier() { dtlsgate_verifier_free(v_); }

    // One owner per handle, as Qt's class is not copyable either. A
    // moved-from verifier may only be destroyed or assigned to; other calls
    // throw error(DTLSGATE_E_BAD_HANDLE).
    QDtlsClientVerifier(const QDtlsClientVerifier &) = delete;
    QDtlsClientVerifier &operator=(const QDtlsClientVerifier &) = delete;
    QDtlsClientVerifier(QDtlsClientVerifier &&other) noexcept : v_(std::exchange(other.v_, nullptr))
    {
    }
    QDtlsClientVerifier &operator=(QDtlsClientVerifier &&other) noexcept
    {
        if (this != &other) {
            dtlsgate_verifier_free(v_);
            v_ = std::exchange(other.v_, nullptr);
        }
        return *this;
    }

    // The process-wide defaults every new verifier starts with (SHA-256 and
    // a random 32-byte secret).
    static GeneratorParameters defaultParameters()
    {
        int hash = 0;
        std::string secret = detail::read_output(
            [&](char *buf, std::size_t *len) {
                return dtlsgate_default_cookie_generator_parameters(&hash, detail::bytes(buf),
                                                                    len);
            },
            "dtlsgate_default_cookie_generator_parameters");
        return {static_cast<QCryptographicHash::Algorithm>(hash), secret};
    }

    // Qt's setCookieGeneratorParameters(): false, with InvalidInputParameters
    // and the parameters unchanged, for an empty secret or an algorithm the
    // library does not have. The previous secret stays valid for the cookies
    // it minted until they expire. Leaves fleet mode.
    bool setCookieGeneratorParameters(const GeneratorParameters &params)
    {
        return detail::check_status(dtlsgate_verifier_set_cookie_generator_parameters(
                                        v_, params.hash, detail::bytes(params.secret),
                                        params.secret.size()),
                                    "dtlsgate_verifier_set_cookie_generator_parameters") == 1;
    }

    GeneratorParameters cookieGeneratorParameters() const
    {
        int hash = 0;
        std::string secret = detail::read_output(
            [&](char *buf, std::size_t *len) {
                return dtlsgate_verifier_cookie_generator_parameters(v_, &hash,
                                                                     detail::bytes(buf), len);
            },
            "dtlsgate_verifier_cookie_generator_parameters");
        return {static_cast<QCryptographicHash::Algorithm>(hash), secret};
    }

    // Qt's verifyClient() on the UDP socket `socket_fd` for a datagram from
    // (address, port), address being numeric ("192.0.2.1", "::1"). True: the
    // datagram is a ClientHello with a valid cookie (see verifiedHello()).
    // False with NoError: a HelloVerifyRequest went back to the peer, or the
    // datagram was ignored. False with an error: see dtlsError().
    bool verifyClient(int socket_fd, std::string_view dgram, std::string_view address,
                      std::uint16_t port)
    {
        return verifyClient(socket_fd, dgram.data(), dgram.size(), address, port);
    }
    bool verifyClient(int socket_fd, const void *dgram, std::size_t size, std::string_view address,
                      std::uint16_t port)
    {
        const std::string addr = detail::address_arg(address);
        return detail::check_status(
                   dtlsgate_verifier_verify_client(v_, socket_fd,
                                                   static_cast<const std::uint8_t *>(dgram), size,
                                                   addr.c_str(), port),
                   "dtlsgate_verifier_verify_client") == 1;
    }
    // The same with the peer as recvfrom(2) gave it.
    bool verifyClient(int socket_fd, std::string_view dgram, const sockaddr *peer,
                      socklen_t peer_len)
    {
        return detail::check_status(dtlsgate_verifier_verify_client_sockaddr(
                                        v_, socket_fd, detail::bytes(dgram), dgram.size(), peer,
                                        peer_len),
                                    "dtlsgate_verifier_verify_client_sockaddr") == 1;
    }

    // The verification step alone, for servers that send the reply
    // themselves: no socket, and no effect on dtlsError() or
    // verifiedHello(). Safe to call from many threads at once. Throws for an
    // empty datagram or a peer that verifyClient() would refuse.
    CheckResult check(std::string_view dgram, const sockaddr *peer, socklen_t peer_len) const
    {
        CheckResult r;
        r.reply_len_ = r.reply_.size();
        const int rc = detail::check_status(
            dtlsgate_verifier_check(v_, detail::bytes(dgram), dgram.size(), peer, peer_len,
                                    r.reply_.data(), &r.reply_len_),
            "dtlsgate_verifier_check");
        return r.set(rc);
    }
    CheckResult check(std::string_view dgram, std::string_view address, std::uint16_t port) const
    {
        const std::string addr = detail::address_arg(address);
        CheckResult r;
        r.reply_len_ = r.reply_.size();
        const int rc = detail::check_status(
            dtlsgate_verifier_check_address(v_, detail::bytes(dgram), dgram.size(), addr.c_str(),
                                            port, r.reply_.data(), &r.reply_len_),
            "dtlsgate_verifier_check_address");
        return r.set(rc);
    }

    // The last datagram verifyClient() accepted, or empty.
    std::string verifiedHello() const
    {
        return detail::read_output(
            [&](char *buf, std::size_t *len) {
                return dtlsgate_verifier_verified_hello(v_, detail::bytes(buf), len);
            },
            "dtlsgate_verifier_verified_hello");
    }

    QDtlsError dtlsError() const
    {
        return static_cast<QDtlsError>(
            detail::check_status(dtlsgate_verifier_dtls_error(v_), "dtlsgate_verifier_dtls_error"));
    }

    std::string dtlsErrorString() const
    {
        return detail::read_output(
            [&](char *buf, std::size_t *len) {
                return dtlsgate_verifier_dtls_error_string(v_, buf, len);
            },
            "dtlsgate_verifier_dtls_error_string");
    }

    // Extensions beyond Qt (see dtlsgate.h for the ranges; a value outside
    // them throws error(DTLSGATE_E_INVALID_ARGUMENT)).

    // How long a cookie stays valid (1 s to 1 day; default 60 s).
    void setCookieLifetime(std::chrono::seconds lifetime)
    {
        detail::check_status(dtlsgate_verifier_set_cookie_lifetime(v_, detail::count_arg(lifetime)),
                             "dtlsgate_verifier_set_cookie_lifetime");
    }
    std::chrono::seconds cookieLifetime() const
    {
        std::uint32_t s = 0;
        detail::check_status(dtlsgate_verifier_cookie_lifetime(v_, &s),
                             "dtlsgate_verifier_cookie_lifetime");
        return std::chrono::seconds(s);
    }

    // A fresh random secret every `interval` (1 s to 1 day); 0 turns it off.
    void setSecretRotationInterval(std::chrono::seconds interval)
    {
        detail::check_status(
            dtlsgate_verifier_set_secret_rotation_interval(v_, detail::count_arg(interval)),
            "dtlsgate_verifier_set_secret_rotation_interval");
    }
    std::chrono::seconds secretRotationInterval() const
    {
        std::uint32_t s = 0;
        detail::check_status(dtlsgate_verifier_secret_rotation_interval(v_, &s),
                             "dtlsgate_verifier_secret_rotation_interval");
        return std::chrono::seconds(s);
    }

    // Fleet mode: every server given the same master key (16 bytes or more)
    // and window accepts the others' cookies, clocks apart by up to maxSkew.
    void setFleetKey(std::string_view masterKey, std::chrono::seconds window,
                     std::chrono::seconds maxSkew)
    {
        detail::check_status(dtlsgate_verifier_set_fleet_key(v_, detail::bytes(masterKey),
                                                             masterKey.size(),
                                                             detail::count_arg(window),
                                                             detail::count_arg(maxSkew)),
                             "dtlsgate_verifier_set_fleet_key");
    }
    // Leaves fleet mode: a fresh random secret takes over.
    void clearFleetKey()
    {
        detail::check_status(dtlsgate_verifier_clear_fleet_key(v_),
                             "dtlsgate_verifier_clear_fleet_key");
    }
    FleetMode fleetMode() const
    {
        std::uint32_t window = 0, skew = 0;
        FleetMode m;
        m.enabled = detail::check_status(dtlsgate_verifier_fleet_mode(v_, &window, &skew),
                                         "dtlsgate_verifier_fleet_mode") == 1;
        if (m.enabled) {
            m.window = std::chrono::seconds(window);
            m.maxSkew = std::chrono::seconds(skew);
        }
        return m;
    }

    // The C handle, for calls this class does not wrap. Still owned here.
    dtlsgate_verifier *handle() const noexcept { return v_; }

private:
    dtlsgate_verifier *v_;
};

// ---------------------------------------------------------------------------
// QSslPreSharedKeyAuthenticator: a value type (copies are independent).

class QSslPreSharedKeyAuthenticator {
public:
    QSslPreSharedKeyAuthenticator() : a_(dtlsgate_psk_authenticator_new())
    {
        if (!a_)
            throw error(DTLSGATE_E_INTERNAL, "dtlsgate_psk_authenticator_new");
    }
    ~QSslPreSharedKeyAuthenticator() { dtlsgate_psk_authenticator_free(a_); }

    QSslPreSharedKeyAuthenticator(const QSslPreSharedKeyAuthenticator &other)
        : a_(dtlsgate_psk_authenticator_copy(other.a_))
    {
        if (!a_)
            throw error(DTLSGATE_E_BAD_HANDLE, "dtlsgate_psk_authenticator_copy");
    }
    // As with Qt's class, a moved-from object may only be destroyed or
    // assigned to; other calls throw error(DTLSGATE_E_BAD_HANDLE).
    QSslPreSharedKeyAuthenticator(QSslPreSharedKeyAuthenticator &&other) noexcept
        : a_(std::exchange(other.a_, nullptr))
    {
    }
    QSslPreSharedKeyAuthenticator &operator=(const QSslPreSharedKeyAuthenticator &other)
    {
        QSslPreSharedKeyAuthenticator copy(other);
        swap(copy);
        return *this;
    }
    QSslPreSharedKeyAuthenticator &operator=(QSslPreSharedKeyAuthenticator &&other) noexcept
    {
        QSslPreSharedKeyAuthenticator moved(std::move(other));
        swap(moved);
        return *this;
    }

    // Exchanges the handles: cheaper than exchanging contents, and cannot fail.
    void swap(QSslPreSharedKeyAuthenticator &other) noexcept { std::swap(a_, other.a_); }
    friend void swap(QSslPreSharedKeyAuthenticator &a, QSslPreSharedKeyAuthenticator &b) noexcept
    {
        a.swap(b);
    }

    // All five fields equal.
    friend bool operator==(const QSslPreSharedKeyAuthenticator &a,
                           const QSslPreSharedKeyAuthenticator &b)
    {
        return detail::check_status(dtlsgate_psk_authenticator_equal(a.a_, b.a_),
                                    "dtlsgate_psk_authenticator_equal") == 1;
    }
    friend bool operator!=(const QSslPreSharedKeyAuthenticator &a,
                           const QSslPreSharedKeyAuthenticator &b)
    {
        return !(a == b);
    }

    std::string identityHint() const
    {
        return read(dtlsgate_psk_authenticator_identity_hint,
                    "dtlsgate_psk_authenticator_identity_hint");
    }
    std::string identity() const
    {
        return read(dtlsgate_psk_authenticator_identity, "dtlsgate_psk_authenticator_identity");
    }
    std::string preSharedKey() const
    {
        return read(dtlsgate_psk_authenticator_pre_shared_key,
                    "dtlsgate_psk_authenticator_pre_shared_key");
    }
    int maximumIdentityLength() const
    {
        return detail::check_status(dtlsgate_psk_authenticator_maximum_identity_length(a_),
                                    "dtlsgate_psk_authenticator_maximum_identity_length");
    }
    int maximumPreSharedKeyLength() const
    {
        return detail::check_status(dtlsgate_psk_authenticator_maximum_pre_shared_key_length(a_),
                                    "dtlsgate_psk_authenticator_maximum_pre_shared_key_length");
    }

    // Set by the application. Stored in full: the handshake sends at most
    // the maximum lengths.
    void setIdentity(std::string_view identity)
    {
        write(dtlsgate_psk_authenticator_set_identity, identity,
              "dtlsgate_psk_authenticator_set_identity");
    }
    void setPreSharedKey(std::string_view key)
    {
        write(dtlsgate_psk_authenticator_set_pre_shared_key, key,
              "dtlsgate_psk_authenticator_set_pre_shared_key");
    }

    // Set by a handshake engine before the application sees the object
    // (Qt keeps these private); here for engines built on dtlsgate, and tests.
    void setIdentityHint(std::string_view hint)
    {
        write(dtlsgate_psk_authenticator_set_identity_hint, hint,
              "dtlsgate_psk_authenticator_set_identity_hint");
    }
    void setMaximumIdentityLength(int length)
    {
        detail::check_status(dtlsgate_psk_authenticator_set_maximum_identity_length(a_, length),
                             "dtlsgate_psk_authenticator_set_maximum_identity_length");
    }
    void setMaximumPreSharedKeyLength(int length)
    {
        detail::check_status(
            dtlsgate_psk_authenticator_set_maximum_pre_shared_key_length(a_, length),
            "dtlsgate_psk_authenticator_set_maximum_pre_shared_key_length");
    }

    // The C handle, for calls this class does not wrap. Still owned here.
    dtlsgate_psk_authenticator *handle() const noexcept { return a_; }

private:
    friend class QDtls;
    // Takes over a handle the caller owns (a dtlsgate_psk_authenticator_copy()).
    explicit QSslPreSharedKeyAuthenticator(dtlsgate_psk_authenticator *owned) noexcept : a_(owned)
    {
    }

    using getter = int (*)(const dtlsgate_psk_authenticator *, std::uint8_t *, std::size_t *);
    using setter = int (*)(dtlsgate_psk_authenticator *, const std::uint8_t *, std::size_t);

    std::string read(getter get, const char *call) const
    {
        return detail::read_output(
            [&](char *buf, std::size_t *len) { return get(a_, detail::bytes(buf), len); }, call);
    }
    void write(setter set, std::string_view value, const char *call)
    {
        detail::check_status(set(a_, detail::bytes(value), value.size()), call);
    }

    dtlsgate_psk_authenticator *a_;
};

// ---------------------------------------------------------------------------
// QSslSocket::SslMode, QSslCipher, QSslConfiguration: the little of Qt's
// TLS vocabulary a PSK session needs.

// A namespace for Qt's enums, as Qt's class is to its users.
class QSslSocket {
public:
    enum SslMode {
        SslClientMode = DTLSGATE_SSL_CLIENT_MODE,
        SslServerMode = DTLSGATE_SSL_SERVER_MODE,
    };
    // Qt's values. Kept in QSslConfiguration for programs that set it; a
    // PSK handshake has no certificate to verify, so nothing reads it.
    enum PeerVerifyMode { VerifyNone = 0, QueryPeer = 1, VerifyPeer = 2, AutoVerifyPeer = 3 };

    QSslSocket() = delete;
};

// A cipher suite, known by its OpenSSL name ("PSK-AES128-GCM-SHA256").
// Null when it has no name (sessionCipher() before the handshake). The name
// is checked only when a session is given it.
class QSslCipher {
public:
    QSslCipher() = default;
    explicit QSslCipher(std::string_view name) : name_(name) {}

    bool isNull() const noexcept { return name_.empty(); }
    const std::string &name() const noexcept { return name_; }

    friend bool operator==(const QSslCipher &a, const QSslCipher &b) noexcept
    {
        return a.name_ == b.name_;
    }
    friend bool operator!=(const QSslCipher &a, const QSslCipher &b) noexcept { return !(a == b); }

private:
    std::string name_;
};

// The settings of a QDtls that Qt keeps in a QSslConfiguration: the PSK
// identity hint a server sends and the cipher suites, most preferred first.
// A plain value: copies are independent. An empty cipher list means the
// library's default list.
class QSslConfiguration {
public:
    QSslConfiguration() = default;

    // The configuration a new session has: no hint, every suite the library
    // offers by default, AutoVerifyPeer (Qt's default; see PeerVerifyMode).
    static QSslConfiguration defaultDtlsConfiguration();

    const std::string &preSharedKeyIdentityHint() const noexcept { return hint_; }
    void setPreSharedKeyIdentityHint(std::string_view hint) { hint_ = std::string(hint); }

    const std::vector<QSslCipher> &ciphers() const noexcept { return ciphers_; }
    void setCiphers(std::vector<QSslCipher> ciphers) { ciphers_ = std::move(ciphers); }
    // A colon-separated list of names, as Qt's QString overload takes.
    void setCiphers(std::string_view names)
    {
        ciphers_.clear();
        while (!names.empty()) {
            const std::size_t colon = names.find(':');
            const std::string_view name = names.substr(0, colon);
            if (!name.empty())
                ciphers_.emplace_back(name);
            names = colon == std::string_view::npos ? std::string_view() : names.substr(colon + 1);
        }
    }

    QSslSocket::PeerVerifyMode peerVerifyMode() const noexcept { return verify_; }
    void setPeerVerifyMode(QSslSocket::PeerVerifyMode mode) noexcept { verify_ = mode; }

private:
    std::string hint_;
    std::vector<QSslCipher> ciphers_;
    QSslSocket::PeerVerifyMode verify_ = QSslSocket::AutoVerifyPeer;
};

// ---------------------------------------------------------------------------
// QDtls: one DTLS 1.2 PSK connection, client or server.

namespace detail {

// What a QDtls keeps besides its C handle. It lives on the heap and moves
// with the handle, so the pointer the C side holds as the PSK callback's
// user_data stays valid when the QDtls is moved.
struct session_state {
    std::function<void(QSslPreSharedKeyAuthenticator *)> psk;
    std::function<void()> timeout;
    // An exception the PSK function threw, rethrown by the call it
    // interrupted once the C call has returned.
    std::exception_ptr psk_exception;
    std::string verification_name;
    QSslSocket::PeerVerifyMode verify_mode = QSslSocket::AutoVerifyPeer;
    // An outcome decided on this side of the C API, where the library never
    // saw the call (the Qt adapter's nullptr socket, a failed
    // QUdpSocket::writeDatagram()). It replaces the library's error until
    // the next call that clears errors.
    bool local_error = false;
    QDtlsError local_code = QDtlsError::NoError;
    std::string local_message;
};

} // namespace detail

// Qt's QDtls with file descriptors for QUdpSocket pointers. Functions that
// send take the UDP socket `socket_fd` the datagrams go out through
// (sendto(2) to the peer), or DTLSGATE_NO_SOCKET to queue them instead:
// nextOutgoing()/takeOutgoing() then give them to the caller to send. The
// application reads the socket and hands every datagram from the peer to
// doHandshake() during the handshake and to decryptDatagram() after it.
//
// A server session starts with the ClientHello its verifier accepted and
// must check cookies as the verifier does: setCookieVerifier(verifier).
//
// Errors are as elsewhere in this header: Qt's bool and qint64 results, with
// dtlsError()/dtlsErrorString() saying why; dtlsgate::error for misuse (a
// moved-from object, a socket_fd below -1, an input over DTLSGATE_MAX_INPUT).
//
// Callbacks (Qt's signals) are std::functions. The PSK function runs inside
// doHandshake(), on its thread; it gets a copy of the request, and the
// identity and key it sets there are what the handshake uses. Calling this
// QDtls from inside it throws error(DTLSGATE_E_BUSY). If it throws, the key
// stays empty, the handshake fails cleanly (TlsFatalError, an alert to the
// peer, state back to HandshakeNotStarted), and the exception leaves the
// doHandshake() call that ran it, after the C call has returned.
//
// Use one QDtls from one thread at a time (as Qt's QObject); the C library
// serializes calls, but the callbacks and the few values kept here are
// plain members.
class QDtls {
public:
    enum HandshakeState {
        HandshakeNotStarted = DTLSGATE_HANDSHAKE_NOT_STARTED,
        HandshakeInProgress = DTLSGATE_HANDSHAKE_IN_PROGRESS,
        PeerVerificationFailed = DTLSGATE_PEER_VERIFICATION_FAILED, // never, with PSK
        HandshakeComplete = DTLSGATE_HANDSHAKE_COMPLETE,
    };

    using GeneratorParameters = QDtlsClientVerifier::GeneratorParameters;

    // A session with no peer, the default configuration, MTU hint 1400 and
    // the default cookie parameters. Any other mode throws
    // error(DTLSGATE_E_INVALID_ARGUMENT).
    explicit QDtls(QSslSocket::SslMode mode)
        : s_(nullptr), state_(std::make_unique<detail::session_state>())
    {
        s_ = dtlsgate_session_new(mode); // after the state, which may throw
        if (!s_)
            throw error(mode == QSslSocket::SslClientMode || mode == QSslSocket::SslServerMode
                            ? DTLSGATE_E_INTERNAL
                            : DTLSGATE_E_INVALID_ARGUMENT,
                        "dtlsgate_session_new");
    }
    // Releases the session without telling the peer: shutdown() first for that.
    ~QDtls() { dtlsgate_session_free(s_); }

    // Move-only, as Qt's class. Callbacks move along and keep working; a
    // moved-from QDtls may only be destroyed or assigned to: other calls
    // throw error(DTLSGATE_E_BAD_HANDLE).
    QDtls(const QDtls &) = delete;
    QDtls &operator=(const QDtls &) = delete;
    QDtls(QDtls &&other) noexcept
        : s_(std::exchange(other.s_, nullptr)), state_(std::move(other.state_))
    {
    }
    QDtls &operator=(QDtls &&other) noexcept
    {
        if (this != &other) {
            dtlsgate_session_free(s_);
            s_ = std::exchange(other.s_, nullptr);
            state_ = std::move(other.state_);
        }
        return *this;
    }

    QSslSocket::SslMode sslMode() const
    {
        return static_cast<QSslSocket::SslMode>(
            detail::check_status(dtlsgate_session_ssl_mode(s_), "dtlsgate_session_ssl_mode"));
    }

    // Qt's setPeer(): only before the handshake. address is numeric
    // ("192.0.2.1", "::1"). The verification name is kept for Qt's getter;
    // a PSK handshake has no certificate to check it against.
    bool setPeer(std::string_view address, std::uint16_t port,
                 std::string_view verificationName = {})
    {
        const std::string addr = detail::address_arg(address);
        const bool ok = result(dtlsgate_session_set_peer(s_, addr.c_str(), port),
                               "dtlsgate_session_set_peer");
        if (ok)
            st().verification_name = std::string(verificationName);
        return ok;
    }
    // The same with the peer as recvfrom(2) gave it.
    bool setPeer(const sockaddr *peer, socklen_t peer_len, std::string_view verificationName = {})
    {
        const bool ok = result(dtlsgate_session_set_peer_sockaddr(s_, peer, peer_len),
                               "dtlsgate_session_set_peer_sockaddr");
        if (ok)
            st().verification_name = std::string(verificationName);
        return ok;
    }
    std::string peerAddress() const { return peer(nullptr); }
    std::uint16_t peerPort() const
    {
        std::uint16_t port = 0;
        peer(&port);
        return port;
    }
    const std::string &peerVerificationName() const { return st().verification_name; }
    void setPeerVerificationName(std::string_view name) { st().verification_name = std::string(name); }

    // The largest datagram the handshake builds: 256 to 65507, 0 for 1400.
    bool setMtuHint(std::uint16_t mtu)
    {
        return result(dtlsgate_session_set_mtu_hint(s_, mtu), "dtlsgate_session_set_mtu_hint");
    }
    std::uint16_t mtuHint() const
    {
        return static_cast<std::uint16_t>(
            detail::check_status(dtlsgate_session_mtu_hint(s_), "dtlsgate_session_mtu_hint"));
    }

    // Extension: the longest a handshake may take from its start, 1 ms to
    // 24 hours, or 0 for the default 30 s. When it has passed, the
    // handshake fails (TlsFatalError, from the handleTimeout() that
    // remainingTimeout() times to it) however many retransmissions are
    // left. Only before the handshake; false, with InvalidInputParameters
    // over 24 hours (or negative), InvalidOperation once it started.
    bool setHandshakeDeadline(std::chrono::milliseconds deadline)
    {
        return result(dtlsgate_session_set_handshake_deadline(s_, detail::count_arg(deadline)),
                      "dtlsgate_session_set_handshake_deadline");
    }
    std::chrono::milliseconds handshakeDeadline() const
    {
        return std::chrono::milliseconds(detail::check_status(
            dtlsgate_session_handshake_deadline(s_), "dtlsgate_session_handshake_deadline"));
    }
    // Extension: how many times a flight is sent again for want of an
    // answer before the handshake fails: n > 0, or 0 for the default 12.
    // Only before the handshake; false, with InvalidInputParameters for a
    // negative n, InvalidOperation once it started.
    bool setMaximumRetransmissions(int n)
    {
        return result(dtlsgate_session_set_max_retransmits(s_, n),
                      "dtlsgate_session_set_max_retransmits");
    }
    int maximumRetransmissions() const
    {
        return detail::check_status(dtlsgate_session_max_retransmits(s_),
                                    "dtlsgate_session_max_retransmits");
    }

    // Extension: connection IDs (RFC 9146), which Qt does not have. Whether
    // the session negotiates them and the length of the ID it asks the
    // peer to use: 1 to DTLSGATE_CONNECTION_ID_MAX bytes,
    // DTLSGATE_EMPTY_CONNECTION_ID, DTLSGATE_NO_CONNECTION_ID (the
    // default), or 0 for the role's default (a server 8 bytes, a client
    // none). Only before the handshake; false with InvalidInputParameters
    // or InvalidOperation.
    bool setConnectionIdLength(int length)
    {
        return result(dtlsgate_session_set_connection_id_length(s_, length),
                      "dtlsgate_session_set_connection_id_length");
    }
    // The setting in effect, the role's default resolved.
    int connectionIdLength() const
    {
        int length = 0;
        detail::check_status(dtlsgate_session_connection_id_length(s_, &length),
                             "dtlsgate_session_connection_id_length");
        return length;
    }
    // Asks for this ID (0 to 16 bytes) rather than a random one.
    bool setConnectionId(std::string_view cid)
    {
        return result(dtlsgate_session_set_connection_id(s_, detail::bytes(cid), cid.size()),
                      "dtlsgate_session_set_connection_id");
    }
    // The ID this side asked for, which the peer's records carry (may be
    // empty), or nothing when IDs were not negotiated.
    std::optional<std::string> connectionId() const
    {
        return read_cid(dtlsgate_session_connection_id, "dtlsgate_session_connection_id");
    }
    // The ID the peer asked for, which this side's records carry.
    std::optional<std::string> peerConnectionId() const
    {
        return read_cid(dtlsgate_session_peer_connection_id, "dtlsgate_session_peer_connection_id");
    }
    // Sends to peer (where the datagram last decrypted came from) from now
    // on: true when the session moved there or already was there. It
    // moves only for a record with this side's ID that authenticated and
    // was newer than any before; false, the peer unchanged, for a forged,
    // replayed or delayed one (InvalidOperation) or a bad address
    // (InvalidInputParameters). A move does not prove the peer receives
    // there: check with it before sending much to a new address.
    bool movePeer(const sockaddr *peer, socklen_t peer_len)
    {
        clear_local_error();
        return detail::check_status(dtlsgate_session_move_peer(s_, peer, peer_len),
                                    "dtlsgate_session_move_peer") > 0;
    }

    // Qt's way for a server to check cookies: the verifier's parameters.
    bool setCookieGeneratorParameters(const GeneratorParameters &params)
    {
        return result(dtlsgate_session_set_cookie_generator_parameters(
                          s_, params.hash, detail::bytes(params.secret), params.secret.size()),
                      "dtlsgate_session_set_cookie_generator_parameters");
    }
    GeneratorParameters cookieGeneratorParameters() const
    {
        int hash = 0;
        std::string secret = detail::read_output(
            [&](char *buf, std::size_t *len) {
                return dtlsgate_session_cookie_generator_parameters(s_, &hash, detail::bytes(buf),
                                                                    len);
            },
            "dtlsgate_session_cookie_generator_parameters");
        return {static_cast<QCryptographicHash::Algorithm>(hash), secret};
    }
    // Extension, and the recommended way: cookies are checked with the
    // verifier's own generator, following its later changes (rotation,
    // lifetime, fleet mode). The verifier may be destroyed first.
    bool setCookieVerifier(const QDtlsClientVerifier &verifier)
    {
        return result(dtlsgate_session_set_cookie_verifier(s_, verifier.handle()),
                      "dtlsgate_session_set_cookie_verifier");
    }

    // Qt's setDtlsConfiguration(): the identity hint and the ciphers, only
    // before the handshake. False, with nothing changed, for a cipher name
    // the library does not have (InvalidInputParameters) or too late
    // (InvalidOperation).
    bool setDtlsConfiguration(const QSslConfiguration &config)
    {
        std::string names;
        for (const QSslCipher &c : config.ciphers())
            names += (names.empty() ? "" : ":") + c.name();
        if (names.find('\0') != std::string::npos)
            names = "\x01"; // not a name: refused as such rather than cut short
        // Ciphers first: they are what can be refused for their content.
        if (!result(dtlsgate_session_set_ciphers(s_, names.c_str()), "dtlsgate_session_set_ciphers"))
            return false;
        const std::string &hint = config.preSharedKeyIdentityHint();
        if (!result(dtlsgate_session_set_identity_hint(s_, detail::bytes(hint), hint.size()),
                    "dtlsgate_session_set_identity_hint"))
            return false;
        st().verify_mode = config.peerVerifyMode();
        return true;
    }
    QSslConfiguration dtlsConfiguration() const
    {
        QSslConfiguration c;
        c.setPreSharedKeyIdentityHint(detail::read_output(
            [&](char *buf, std::size_t *len) {
                return dtlsgate_session_identity_hint(s_, detail::bytes(buf), len);
            },
            "dtlsgate_session_identity_hint"));
        c.setCiphers(detail::read_output(
            [&](char *buf, std::size_t *len) { return dtlsgate_session_ciphers(s_, buf, len); },
            "dtlsgate_session_ciphers"));
        c.setPeerVerifyMode(st().verify_mode);
        return c;
    }

    // Qt's pskRequired signal: called during doHandshake() when the
    // handshake needs the key (see the class comment). An empty function
    // removes it; without one the handshake fails for want of a key. The
    // function must not destroy or assign to this QDtls (the call that runs
    // it is still using it): defer that until doHandshake() has returned,
    // as a Qt program would with deleteLater().
    void onPskRequired(std::function<void(QSslPreSharedKeyAuthenticator *)> f)
    {
        detail::session_state &state = st();
        const bool set = static_cast<bool>(f);
        detail::check_status(dtlsgate_session_set_psk_callback(s_, set ? &psk_trampoline : nullptr,
                                                               set ? &state : nullptr),
                             "dtlsgate_session_set_psk_callback");
        state.psk = std::move(f);
    }

    // Qt's handshakeTimeout signal. Nothing here has a timer: the Qt
    // adapter calls it from a QTimer; a poll loop uses remainingTimeout()
    // and handshakeTimeoutDue(), and emitHandshakeTimeout() to call it.
    void onHandshakeTimeout(std::function<void()> f) { st().timeout = std::move(f); }
    // Calls the onHandshakeTimeout function; false if there is none.
    bool emitHandshakeTimeout()
    {
        const auto f = st().timeout; // a copy: the function may replace itself
        if (!f)
            return false;
        f();
        return true;
    }

    // Time left until handleTimeout() is due (0 once it is), or nothing
    // while no retransmission timer runs.
    std::optional<std::chrono::milliseconds> remainingTimeout() const
    {
        std::uint32_t ms = 0;
        if (detail::check_status(dtlsgate_session_remaining_timeout(s_, &ms),
                                 "dtlsgate_session_remaining_timeout") == 0)
            return std::nullopt;
        return std::chrono::milliseconds(ms);
    }
    bool handshakeTimeoutDue() const
    {
        const auto left = remainingTimeout();
        return left && left->count() == 0;
    }

    // Qt's doHandshake(): a client starts with no datagram, a server with
    // the verified ClientHello; later calls pass each datagram from the
    // peer while the state is HandshakeInProgress. Rethrows what the PSK
    // function threw.
    bool doHandshake(int socket_fd, std::string_view dgram = {})
    {
        return doHandshake(socket_fd, dgram.data(), dgram.size());
    }
    bool doHandshake(int socket_fd, const void *dgram, std::size_t size)
    {
        clear_local_error();
        const int rc = dtlsgate_session_do_handshake(
            s_, socket_fd, static_cast<const std::uint8_t *>(dgram), size);
        rethrow_psk_exception();
        return result(rc, "dtlsgate_session_do_handshake");
    }
    // Retransmits the last flight once its timer is due (earlier: true,
    // nothing sent). False, with TlsFatalError, after
    // maximumRetransmissions() of them or once the handshake deadline has
    // passed.
    bool handleTimeout(int socket_fd)
    {
        clear_local_error();
        const int rc = dtlsgate_session_handle_timeout(s_, socket_fd);
        rethrow_psk_exception();
        return result(rc, "dtlsgate_session_handle_timeout");
    }
    bool abortHandshake()
    {
        return result(dtlsgate_session_abort_handshake(s_), "dtlsgate_session_abort_handshake");
    }
    // Sends close_notify and closes the connection.
    bool shutdown(int socket_fd)
    {
        return result(dtlsgate_session_shutdown(s_, socket_fd), "dtlsgate_session_shutdown");
    }

    // Encrypts data as one record (1 to 16384 bytes) and sends it. The
    // number of bytes written, or -1 (see dtlsError()), as Qt.
    std::int64_t writeDatagramEncrypted(int socket_fd, std::string_view data)
    {
        return writeDatagramEncrypted(socket_fd, data.data(), data.size());
    }
    std::int64_t writeDatagramEncrypted(int socket_fd, const void *data, std::size_t size)
    {
        clear_local_error();
        const int n = detail::check_status(
            dtlsgate_session_write_datagram_encrypted(
                s_, socket_fd, static_cast<const std::uint8_t *>(data), size),
            "dtlsgate_session_write_datagram_encrypted");
        return n > 0 ? n : -1;
    }
    // The application data of a datagram from the peer; empty when it had
    // none (a replay, a retransmitted Finished: answered through socket_fd)
    // or on an error (dtlsError(): RemoteClosedConnectionError for
    // close_notify, TlsFatalError for an alert, ...).
    std::string decryptDatagram(int socket_fd, std::string_view dgram)
    {
        return decryptDatagram(socket_fd, dgram.data(), dgram.size());
    }
    std::string decryptDatagram(int socket_fd, const void *dgram, std::size_t size)
    {
        clear_local_error();
        // The plaintext is never longer than the datagram.
        std::string out(size, '\0');
        std::size_t len = out.size();
        const int rc = detail::check_status(
            dtlsgate_session_decrypt_datagram(s_, socket_fd,
                                              static_cast<const std::uint8_t *>(dgram), size,
                                              size ? detail::bytes(&out[0]) : nullptr, &len),
            "dtlsgate_session_decrypt_datagram");
        out.resize(rc == 1 ? len : 0);
        return out;
    }

    // Records in the caller's buffers (dtlsgate_session_encrypt() and
    // friends in dtlsgate.h): one C call per record, nothing queued. The
    // buffer forms return the C result as it is (1; 0 with dtlsError();
    // DTLSGATE_E_BUFFER_TOO_SMALL with outLen the size needed;
    // DTLSGATE_RECORD_DROPPED, DTLSGATE_RECORD_NOT_DATA from decrypt) and
    // throw for the other negative statuses. out may overlap the input.
    int encrypt(const void *plain, std::size_t size, void *out, std::size_t &outLen)
    {
        clear_local_error();
        return record_status(dtlsgate_session_encrypt(s_, static_cast<const std::uint8_t *>(plain),
                                                      size, static_cast<std::uint8_t *>(out),
                                                      &outLen),
                             "dtlsgate_session_encrypt");
    }
    int decrypt(const void *dgram, std::size_t size, void *out, std::size_t &outLen)
    {
        clear_local_error();
        return record_status(dtlsgate_session_decrypt(s_, static_cast<const std::uint8_t *>(dgram),
                                                      size, static_cast<std::uint8_t *>(out),
                                                      &outLen),
                             "dtlsgate_session_decrypt");
    }
    // Each entry's status and out_len are set as the single call would;
    // returns how many have status 1.
    int encryptBatch(dtlsgate_record_buffer *entries, std::size_t count)
    {
        clear_local_error();
        return detail::check_status(dtlsgate_session_encrypt_batch(s_, entries, count),
                                    "dtlsgate_session_encrypt_batch");
    }
    int decryptBatch(dtlsgate_record_buffer *entries, std::size_t count)
    {
        clear_local_error();
        return detail::check_status(dtlsgate_session_decrypt_batch(s_, entries, count),
                                    "dtlsgate_session_decrypt_batch");
    }
    // The record for plain; empty on an error (see dtlsError()).
    std::string encrypt(std::string_view plain)
    {
        // With connection IDs a record also carries the peer's ID and a byte.
        std::string rec(plain.size() + DTLSGATE_RECORD_OVERHEAD_MAX +
                            DTLSGATE_PEER_CONNECTION_ID_MAX + 1,
                        '\0');
        std::size_t len = rec.size();
        rec.resize(encrypt(plain.data(), plain.size(), &rec[0], len) == 1 ? len : 0);
        return rec;
    }
    // The data of a datagram holding one application-data record; empty
    // when it was dropped (forged, replayed) or on an error; nothing when
    // it is not such a datagram: pass it to decryptDatagram().
    std::optional<std::string> decrypt(std::string_view dgram)
    {
        std::string out(dgram.size(), '\0');
        std::size_t len = out.size();
        const int rc = decrypt(dgram.data(), dgram.size(), dgram.empty() ? nullptr : &out[0], len);
        if (rc == DTLSGATE_RECORD_NOT_DATA)
            return std::nullopt;
        out.resize(rc == 1 ? len : 0);
        return out;
    }

    // With DTLSGATE_NO_SOCKET: the next datagram to send to the peer,
    // oldest first, or nothing; takeOutgoing() takes them all.
    std::optional<std::string> nextOutgoing()
    {
        std::string d;
        for (;;) {
            std::size_t len = d.size();
            const int rc = dtlsgate_session_next_outgoing(s_, len ? detail::bytes(&d[0]) : nullptr,
                                                          &len);
            if (rc == 1) {
                d.resize(len);
                return d;
            }
            if (rc == 0)
                return std::nullopt;
            if (rc != DTLSGATE_E_BUFFER_TOO_SMALL)
                throw error(rc, "dtlsgate_session_next_outgoing", dtlsgate_last_error_message());
            d.resize(len);
        }
    }
    std::vector<std::string> takeOutgoing()
    {
        std::vector<std::string> all;
        while (auto d = nextOutgoing())
            all.push_back(std::move(*d));
        return all;
    }

    HandshakeState handshakeState() const
    {
        return static_cast<HandshakeState>(detail::check_status(
            dtlsgate_session_handshake_state(s_), "dtlsgate_session_handshake_state"));
    }
    bool isConnectionEncrypted() const
    {
        return detail::check_status(dtlsgate_session_is_connection_encrypted(s_),
                                    "dtlsgate_session_is_connection_encrypted") == 1;
    }
    // The negotiated suite; null while not encrypted.
    QSslCipher sessionCipher() const
    {
        return QSslCipher(detail::read_output(
            [&](char *buf, std::size_t *len) {
                return dtlsgate_session_session_cipher(s_, buf, len);
            },
            "dtlsgate_session_session_cipher"));
    }
    // "DTLSv1.2" while encrypted, "" otherwise.
    std::string sessionProtocol() const
    {
        return detail::read_output(
            [&](char *buf, std::size_t *len) {
                return dtlsgate_session_session_protocol(s_, buf, len);
            },
            "dtlsgate_session_session_protocol");
    }

    QDtlsError dtlsError() const
    {
        const detail::session_state &state = st();
        const int e = detail::check_status(dtlsgate_session_dtls_error(s_),
                                           "dtlsgate_session_dtls_error");
        return state.local_error ? state.local_code : static_cast<QDtlsError>(e);
    }
    std::string dtlsErrorString() const
    {
        const detail::session_state &state = st();
        std::string text = detail::read_output(
            [&](char *buf, std::size_t *len) {
                return dtlsgate_session_dtls_error_string(s_, buf, len);
            },
            "dtlsgate_session_dtls_error_string");
        return state.local_error ? state.local_message : text;
    }

    // The C handle, for calls this class does not wrap. Still owned here;
    // do not change its PSK callback behind this object's back.
    dtlsgate_session *handle() const noexcept { return s_; }

protected:
    // For adapters (dtlsgate_qt.hpp): the state that moves with the
    // handle, and errors decided before the library is called.
    detail::session_state &st() const
    {
        if (!state_)
            throw error(DTLSGATE_E_BAD_HANDLE, "dtlsgate::QDtls (moved from)");
        return *state_;
    }
    void setLocalError(QDtlsError code, std::string message)
    {
        detail::session_state &state = st();
        state.local_error = true;
        state.local_code = code;
        state.local_message = std::move(message);
    }
    static int record_status(int rc, const char *call)
    {
        return rc == DTLSGATE_E_BUFFER_TOO_SMALL ? rc : detail::check_status(rc, call);
    }
    void clear_local_error() noexcept
    {
        if (state_)
            state_->local_error = false;
    }

private:
    // A C bool result: negative throws; every such call clears the error.
    bool result(int rc, const char *call)
    {
        clear_local_error();
        return detail::check_status(rc, call) == 1;
    }

    std::optional<std::string> read_cid(int (*get)(const dtlsgate_session *, std::uint8_t *, std::size_t *),
                                   const char *call) const
    {
        std::string id(DTLSGATE_PEER_CONNECTION_ID_MAX, '\0');
        std::size_t len = id.size();
        if (detail::check_status(get(s_, detail::bytes(&id[0]), &len), call) == 0)
            return std::nullopt;
        id.resize(len);
        return id;
    }

    std::string peer(std::uint16_t *port) const
    {
        return detail::read_output(
            [&](char *buf, std::size_t *len) { return dtlsgate_session_peer(s_, buf, len, port); },
            "dtlsgate_session_peer");
    }

    void rethrow_psk_exception()
    {
        if (state_ && state_->psk_exception)
            std::rethrow_exception(std::exchange(state_->psk_exception, nullptr));
    }

    // The C callback: nothing may leave it but the identity and the key.
    static void psk_trampoline(void *user_data, dtlsgate_psk_authenticator *borrowed) noexcept
    {
        auto *state = static_cast<detail::session_state *>(user_data);
        try {
            dtlsgate_psk_authenticator *copy = dtlsgate_psk_authenticator_copy(borrowed);
            if (!copy)
                throw error(DTLSGATE_E_INTERNAL, "dtlsgate_psk_authenticator_copy");
            QSslPreSharedKeyAuthenticator request(copy);
            state->psk(&request);
            // The answer goes back by exchanging contents inside the library
            // (which takes only the identity and the key from it), so the key
            // never sits in a std::string here that nothing would wipe.
            detail::check_status(dtlsgate_psk_authenticator_swap(borrowed, request.handle()),
                                 "dtlsgate_psk_authenticator_swap");
        } catch (...) {
            state->psk_exception = std::current_exception();
            dtlsgate_psk_authenticator_set_pre_shared_key(borrowed, nullptr, 0);
        }
    }

    dtlsgate_session *s_;
    std::unique_ptr<detail::session_state> state_;
};

inline QSslConfiguration QSslConfiguration::defaultDtlsConfiguration()
{
    const QDtls fresh(QSslSocket::SslClientMode);
    return fresh.dtlsConfiguration();
}

// ---------------------------------------------------------------------------
// DtlsServer: the server endpoint (dtlsgate_server_* in dtlsgate.h)
//
// Many PSK sessions behind one cookie verifier, with their timers and
// limits. Socket-less, the program passes datagrams in (input) and sends
// what nextOutgoing() gives, serving timers by nextTimeout(); managed,
// listen() lets the library own the sockets and its worker threads.
// Events come from poll(); fd() is readable while some wait (epoll,
// QSocketNotifier). No callback runs on a library thread: keys the table
// lacks are asked for with PskRequest events (Config::psk_requests).
// Misuse throws dtlsgate::error; a peer that is not (or no longer)
// connected is an outcome, so send() and close() return false for it.
class DtlsServer {
public:
    // The C config with the library's defaults filled in; change fields
    // before constructing the server (pointers are read by the constructor
    // only).
    struct Config : dtlsgate_server_config {
        Config() : dtlsgate_server_config()
        {
            size = sizeof(dtlsgate_server_config);
            detail::check_status(dtlsgate_server_config_init(this), "dtlsgate_server_config_init");
        }
    };

    // A peer as recvfrom(2) fills it in.
    struct Peer {
        sockaddr_storage addr{};
        socklen_t len = 0;
        const sockaddr *sa() const noexcept { return reinterpret_cast<const sockaddr *>(&addr); }
    };

    enum class EventType : int {
        Connected = DTLSGATE_SERVER_EVENT_CONNECTED,
        Data = DTLSGATE_SERVER_EVENT_DATA,
        Closed = DTLSGATE_SERVER_EVENT_CLOSED,
        PskRequest = DTLSGATE_SERVER_EVENT_PSK_REQUEST,
        Moved = DTLSGATE_SERVER_EVENT_MOVED, // connection IDs: the peer's address changed
    };

    // One event, copied out of the library's memory.
    struct Event {
        EventType type;
        int reason = 0; // Closed: DTLSGATE_SERVER_CLOSED_*
        Peer peer;
        std::string identity; // Connected, PskRequest
        std::string cipher;   // Connected
        std::string data;     // Data
        std::string message;  // Closed
        Peer oldPeer;         // Moved: where the peer was (peer: where it is)
        std::string connectionId; // Connected: the ID the client's records carry, if any
    };

    explicit DtlsServer(const Config &cfg = Config())
    {
        detail::check_status(dtlsgate_server_new(&cfg, &s_), "dtlsgate_server_new");
    }
    // Stops a listening server and waits for its threads.
    ~DtlsServer() { dtlsgate_server_free(s_); }
    DtlsServer(const DtlsServer &) = delete;
    DtlsServer &operator=(const DtlsServer &) = delete;
    DtlsServer(DtlsServer &&other) noexcept : s_(std::exchange(other.s_, nullptr)) {}
    DtlsServer &operator=(DtlsServer &&other) noexcept
    {
        if (this != &other) {
            dtlsgate_server_free(s_);
            s_ = std::exchange(other.s_, nullptr);
        }
        return *this;
    }

    void setPsk(std::string_view identity, std::string_view key)
    {
        detail::check_status(dtlsgate_server_set_psk(s_, detail::bytes(identity), identity.size(),
                                                     detail::bytes(key), key.size()),
                             "dtlsgate_server_set_psk");
    }
    bool removePsk(std::string_view identity)
    {
        return detail::check_status(
                   dtlsgate_server_remove_psk(s_, detail::bytes(identity), identity.size()),
                   "dtlsgate_server_remove_psk") == 1;
    }
    void loadPskFile(const std::string &path)
    {
        detail::check_status(dtlsgate_server_load_psk_file(s_, path.c_str()),
                             "dtlsgate_server_load_psk_file");
    }
    // Answers a PskRequest event; an empty key refuses. False when the
    // request is gone (timed out, evicted).
    bool resolvePsk(const Event &request, std::string_view key)
    {
        return found(dtlsgate_server_resolve_psk(s_, request.peer.sa(), request.peer.len,
                                                 detail::bytes(request.identity),
                                                 request.identity.size(), detail::bytes(key),
                                                 key.size()),
                     "dtlsgate_server_resolve_psk");
    }

    // Managed mode.
    void listen(const std::string &address)
    {
        detail::check_status(dtlsgate_server_listen(s_, address.c_str()), "dtlsgate_server_listen");
    }
    Peer localAddress() const
    {
        Peer p;
        p.len = sizeof p.addr;
        detail::check_status(dtlsgate_server_local_address(s_, &p.addr, &p.len),
                             "dtlsgate_server_local_address");
        return p;
    }
    void stop() { detail::check_status(dtlsgate_server_stop(s_), "dtlsgate_server_stop"); }

    // Socket-less mode.
    void input(const sockaddr *from, socklen_t len, std::string_view dgram)
    {
        detail::check_status(dtlsgate_server_input(s_, from, len, detail::bytes(dgram), dgram.size()),
                             "dtlsgate_server_input");
    }
    // The next datagram to send and where to, or nothing.
    std::optional<std::pair<std::string, Peer>> nextOutgoing()
    {
        std::string buf(DTLSGATE_MAX_DATAGRAM, '\0');
        std::size_t len = buf.size();
        Peer to;
        if (detail::check_status(dtlsgate_server_next_outgoing(s_, detail::bytes(&buf[0]), &len,
                                                               &to.addr, &to.len),
                                 "dtlsgate_server_next_outgoing") == 0)
            return std::nullopt;
        buf.resize(len);
        return std::make_pair(std::move(buf), to);
    }
    // When handleTimers() is due, or nothing when no timer runs.
    std::optional<std::chrono::milliseconds> nextTimeout()
    {
        std::uint32_t ms = 0;
        if (detail::check_status(dtlsgate_server_next_timeout(s_, &ms), "dtlsgate_server_next_timeout") == 0)
            return std::nullopt;
        return std::chrono::milliseconds(ms);
    }
    void handleTimers()
    {
        detail::check_status(dtlsgate_server_handle_timers(s_), "dtlsgate_server_handle_timers");
    }

    // Both modes.
    bool send(const Peer &peer, std::string_view data)
    {
        return found(dtlsgate_server_send(s_, peer.sa(), peer.len, detail::bytes(data), data.size()),
                     "dtlsgate_server_send");
    }
    bool close(const Peer &peer)
    {
        return found(dtlsgate_server_close(s_, peer.sa(), peer.len), "dtlsgate_server_close");
    }
    void shutdown() { detail::check_status(dtlsgate_server_shutdown(s_), "dtlsgate_server_shutdown"); }

    // Up to max waiting events, waiting up to timeout_ms for one (-1: for ever).
    std::vector<Event> poll(int max = 64, int timeout_ms = 0)
    {
        std::vector<dtlsgate_server_event> raw(static_cast<std::size_t>(max > 0 ? max : 0));
        const int n = detail::check_status(dtlsgate_server_poll(s_, raw.data(), max, timeout_ms),
                                           "dtlsgate_server_poll");
        std::vector<Event> out;
        out.reserve(static_cast<std::size_t>(n));
        for (int i = 0; i < n; i++) {
            const dtlsgate_server_event &e = raw[static_cast<std::size_t>(i)];
            Event ev{static_cast<EventType>(e.type), e.reason, {e.peer, e.peer_len},
                     text(e.identity, e.identity_len), e.cipher ? e.cipher : "",
                     text(e.data, e.data_len), e.message ? e.message : "",
                     {e.old_peer, e.old_peer_len}, text(e.connection_id, e.connection_id_len)};
            out.push_back(std::move(ev));
        }
        return out;
    }
    int fd() const { return detail::check_status(dtlsgate_server_fd(s_), "dtlsgate_server_fd"); }
    dtlsgate_server_stats stats() const
    {
        dtlsgate_server_stats st{};
        st.size = sizeof st;
        detail::check_status(dtlsgate_server_get_stats(s_, &st), "dtlsgate_server_get_stats");
        return st;
    }

    // The C handle, for calls this class does not wrap. Still owned here.
    dtlsgate_server *handle() const noexcept { return s_; }

private:
    static bool found(int rc, const char *call)
    {
        return rc != DTLSGATE_E_NOT_FOUND && detail::check_status(rc, call) >= 0;
    }
    static std::string text(const std::uint8_t *p, std::size_t n)
    {
        return n ? std::string(reinterpret_cast<const char *>(p), n) : std::string();
    }

    dtlsgate_server *s_ = nullptr;
};

} // namespace dtlsgate

#endif // DTLSGATE_HPP
