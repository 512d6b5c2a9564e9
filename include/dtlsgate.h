/* SPDX-License-Identifier: MIT */
/*
 * dtlsgate.h - the public C API of dtlsgate.
 *
 * dtlsgate is the front door of a DTLS server: it answers a client's first
 * ClientHello with a stateless HelloVerifyRequest cookie (RFC 6347, section
 * 4.2.1), lets the handshake proceed only once the client has proven it can
 * receive datagrams at its claimed address, and carries the pre-shared-key
 * (PSK) credentials of the handshake that follows. The objects mirror Qt's
 * QDtlsClientVerifier, QDtlsClientVerifier::GeneratorParameters and
 * QSslPreSharedKeyAuthenticator.
 *
 * Conventions that hold for every function below:
 *
 *  - Handles are opaque. They are never dereferenced by the caller and never
 *    reused by the library: a handle that was freed (or never issued) is
 *    detected and reported as DTLSGATE_E_BAD_HANDLE, never a crash. Freeing
 *    NULL or an already freed handle does nothing.
 *  - Functions that can fail return an int. Negative values are the status
 *    codes DTLSGATE_E_*; dtlsgate_strerror() describes them. Non-negative
 *    values are the function's result as documented (0 = DTLSGATE_OK when
 *    there is nothing else to say).
 *  - Inputs are read (and copied where kept) before the call returns; the
 *    library never keeps a caller's pointer. A pointer argument may be NULL
 *    only when its length is 0; NULL with a non-zero length is
 *    DTLSGATE_E_INVALID_ARGUMENT. Byte inputs longer than DTLSGATE_MAX_INPUT
 *    are DTLSGATE_E_INVALID_ARGUMENT.
 *  - Outputs go into caller-owned buffers with an in/out length: on entry
 *    *len is the buffer's capacity in bytes; on success *len is the number
 *    of bytes written. If the buffer is too small nothing is written, *len is
 *    set to the capacity needed and DTLSGATE_E_BUFFER_TOO_SMALL is returned,
 *    so (NULL, &zero) asks for the size. Strings are written NUL-terminated;
 *    their *len on success excludes the NUL, their needed capacity includes it.
 *  - No function lets a fault inside the library escape: an internal failure
 *    is reported as DTLSGATE_E_INTERNAL and the process carries on.
 *  - Every function may be called from any thread. Calls on one verifier,
 *    one authenticator or one session are serialized by the library,
 *    except dtlsgate_verifier_check(), which runs in parallel with
 *    everything.
 *
 * The library embeds a Go runtime; see README.md for what that implies (one
 * runtime per process, no fork() without exec() after first use, no dlclose(),
 * glibc only).
 */
#ifndef DTLSGATE_H
#define DTLSGATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Version
 * ------------------------------------------------------------------------- */

#define DTLSGATE_VERSION_MAJOR 0
#define DTLSGATE_VERSION_MINOR 1
#define DTLSGATE_VERSION_PATCH 0
#define DTLSGATE_VERSION "0.1.0"
/* MAJOR * 1000000 + MINOR * 1000 + PATCH, for compile-time comparisons. */
#define DTLSGATE_VERSION_NUMBER 1000

/* The version of the library actually loaded, e.g. "0.1.0". Static storage,
 * owned by the library; never NULL. Compare it with DTLSGATE_VERSION to
 * detect a header/library mismatch. */
const char *dtlsgate_version(void);

/* The same as DTLSGATE_VERSION_NUMBER, for the loaded library. */
int dtlsgate_version_number(void);

/* ---------------------------------------------------------------------------
 * Status codes (negative return values)
 * ------------------------------------------------------------------------- */

#define DTLSGATE_OK 0
/* A pointer, length or value argument is not acceptable (see the function). */
#define DTLSGATE_E_INVALID_ARGUMENT (-1)
/* The handle is NULL, was freed, or was never issued by this library. */
#define DTLSGATE_E_BAD_HANDLE (-2)
/* The output buffer is too small; *len holds the capacity needed. */
#define DTLSGATE_E_BUFFER_TOO_SMALL (-3)
/* The hash algorithm is unknown or not available in this build. */
#define DTLSGATE_E_UNSUPPORTED (-4)
/* A fault inside the library was caught; please report it. */
#define DTLSGATE_E_INTERNAL (-5)
/* A session function was called from inside that session's own PSK
 * callback, on the callback's thread; it would deadlock, so it is refused. */
#define DTLSGATE_E_BUSY (-6)
/* The server has no connected session with that peer, or no PSK request
 * from that peer for that identity is waiting. */
#define DTLSGATE_E_NOT_FOUND (-7)
/* The server is not in the mode the call needs: feeding datagrams to a
 * server that owns its sockets, listening twice or after it stopped. */
#define DTLSGATE_E_INVALID_STATE (-8)
/* The operating system refused: a socket could not be bound, a file could
 * not be read. */
#define DTLSGATE_E_IO (-9)

/* Largest byte input (datagram, secret, identity, key) any function accepts. */
#define DTLSGATE_MAX_INPUT 65535

/* A short English description of a status code (negative) or of a
 * dtlsgate_dtls_error value (0..8). Static storage, never NULL; unknown
 * codes give "unknown error code". Thread-safe. */
const char *dtlsgate_strerror(int code);

/* What went wrong in the calling thread's latest failing call: one that
 * returned a negative status, or a dtlsgate_verifier_verify_client*() that
 * refused its input (0 with InvalidInputParameters, whose
 * dtls_error_string is Qt's message, naming no argument). Where an
 * argument was refused it is named with what it accepts (e.g. "cookie
 * lifetime: 0 is out of range 1..86400 seconds", "port: 0 is out of range
 * 1..65535"); otherwise it is dtlsgate_strerror()'s text for the status.
 * "" before any such call. Calls that succeed leave it as it is, so read
 * it right after the failing call, on the same thread. Each thread has its
 * own, valid until the thread's next failing call or its end; never NULL. */
const char *dtlsgate_last_error_message(void);

/* ---------------------------------------------------------------------------
 * DTLS errors: the values of Qt's QDtlsError
 * ------------------------------------------------------------------------- */

typedef enum dtlsgate_dtls_error {
    DTLSGATE_NO_ERROR = 0,
    DTLSGATE_INVALID_INPUT_PARAMETERS = 1,
    DTLSGATE_INVALID_OPERATION = 2,
    DTLSGATE_UNDERLYING_SOCKET_ERROR = 3,
    DTLSGATE_REMOTE_CLOSED_CONNECTION_ERROR = 4,
    DTLSGATE_PEER_VERIFICATION_ERROR = 5,
    DTLSGATE_TLS_INITIALIZATION_ERROR = 6,
    DTLSGATE_TLS_FATAL_ERROR = 7,
    DTLSGATE_TLS_NON_FATAL_ERROR = 8
} dtlsgate_dtls_error;

/* Qt's enumerator name of a dtlsgate_dtls_error ("NoError",
 * "InvalidInputParameters", ...), or NULL for a value outside 0..8.
 * Static storage. Thread-safe. */
const char *dtlsgate_dtls_error_name(int error);

/* ---------------------------------------------------------------------------
 * Hash algorithms: the values of Qt's QCryptographicHash::Algorithm
 * ------------------------------------------------------------------------- */

typedef enum dtlsgate_hash {
    DTLSGATE_HASH_MD4 = 0,
    DTLSGATE_HASH_MD5 = 1,
    DTLSGATE_HASH_SHA1 = 2,
    DTLSGATE_HASH_SHA224 = 3,
    DTLSGATE_HASH_SHA256 = 4,
    DTLSGATE_HASH_SHA384 = 5,
    DTLSGATE_HASH_SHA512 = 6,
    DTLSGATE_HASH_KECCAK_224 = 7,   /* not available: refused */
    DTLSGATE_HASH_KECCAK_256 = 8,
    DTLSGATE_HASH_KECCAK_384 = 9,   /* not available: refused */
    DTLSGATE_HASH_KECCAK_512 = 10,
    DTLSGATE_HASH_REAL_SHA3_224 = 11,
    DTLSGATE_HASH_REAL_SHA3_256 = 12,
    DTLSGATE_HASH_REAL_SHA3_384 = 13,
    DTLSGATE_HASH_REAL_SHA3_512 = 14,
    DTLSGATE_HASH_BLAKE2B_160 = 15,
    DTLSGATE_HASH_BLAKE2B_256 = 16,
    DTLSGATE_HASH_BLAKE2B_384 = 17,
    DTLSGATE_HASH_BLAKE2B_512 = 18,
    DTLSGATE_HASH_BLAKE2S_128 = 19, /* not available: refused */
    DTLSGATE_HASH_BLAKE2S_160 = 20, /* not available: refused */
    DTLSGATE_HASH_BLAKE2S_224 = 21, /* not available: refused */
    DTLSGATE_HASH_BLAKE2S_256 = 22
} dtlsgate_hash;

/* 1 if the algorithm can generate cookies, 0 if it is known but not
 * available (see the enum), DTLSGATE_E_UNSUPPORTED if the value is not a
 * QCryptographicHash::Algorithm at all. Thread-safe. */
int dtlsgate_hash_supported(int algorithm);

/* ---------------------------------------------------------------------------
 * Cookie generator parameters
 *
 * A hash algorithm plus a secret, as Qt's GeneratorParameters. A verifier
 * that was never given parameters uses the defaults: SHA-256 and a 32-byte
 * secret drawn from the system's random source once per process and shared
 * by every such verifier, so they all accept each other's cookies.
 * (Qt's GeneratorParameters() default constructor, SHA-1 with an empty
 * secret, is a different thing: it is an invalid placeholder.)
 * ------------------------------------------------------------------------- */

/* The process-wide default parameters. *hash receives the algorithm; the
 * secret goes to (secret, *secret_len) as described in the conventions.
 * Returns DTLSGATE_OK, DTLSGATE_E_INVALID_ARGUMENT (hash or secret_len NULL)
 * or DTLSGATE_E_BUFFER_TOO_SMALL. Thread-safe. */
int dtlsgate_default_cookie_generator_parameters(int *hash, uint8_t *secret,
                                                 size_t *secret_len);

/* Largest cookie the library mints, and so the largest HelloVerifyRequest:
 * a record, a handshake header, the version, the cookie length byte and
 * the cookie. A reply buffer of DTLSGATE_HELLO_VERIFY_REQUEST_MAX bytes
 * is always enough. */
#define DTLSGATE_COOKIE_MAX 32
#define DTLSGATE_HELLO_VERIFY_REQUEST_MAX 60

/* ---------------------------------------------------------------------------
 * Client verifier (QDtlsClientVerifier)
 * ------------------------------------------------------------------------- */

typedef struct dtlsgate_verifier dtlsgate_verifier;

/* A new verifier with the default parameters, a 60-second cookie lifetime,
 * no automatic rotation and no fleet key. dtls_error is NoError and
 * verified_hello is empty. Returns NULL only on an internal failure.
 * The caller owns the handle and releases it with dtlsgate_verifier_free(). */
dtlsgate_verifier *dtlsgate_verifier_new(void);

/* Releases a verifier. NULL, an already freed handle or a handle of another
 * kind is a no-op. Any later use of the handle is DTLSGATE_E_BAD_HANDLE. */
void dtlsgate_verifier_free(dtlsgate_verifier *v);

/* Sets the hash algorithm and secret used to mint and check cookies,
 * as QDtlsClientVerifier::setCookieGeneratorParameters().
 * Returns 1 on success (dtls_error becomes NoError). The secret in use
 * until now stays valid for the cookies it minted until they expire, so
 * handshakes in flight survive the change; only one such previous secret is
 * kept, so a second change within a lifetime retires the first. Verifiers
 * given equal parameters accept each other's cookies. Leaves fleet mode.
 * Returns 0, leaving the parameters unchanged and dtls_error set to
 * InvalidInputParameters, when the secret is empty ("Invalid (empty)
 * secret") or the algorithm is not available (the message names it).
 * Negative: DTLSGATE_E_BAD_HANDLE; DTLSGATE_E_INVALID_ARGUMENT for a NULL
 * secret with a non-zero length or a secret over DTLSGATE_MAX_INPUT. */
int dtlsgate_verifier_set_cookie_generator_parameters(dtlsgate_verifier *v, int hash,
                                                      const uint8_t *secret,
                                                      size_t secret_len);

/* The algorithm and secret in use, as cookieGeneratorParameters(). In fleet
 * mode the secret is the one derived for the current time window.
 * Returns DTLSGATE_OK, DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_INVALID_ARGUMENT
 * (hash or secret_len NULL) or DTLSGATE_E_BUFFER_TOO_SMALL. */
int dtlsgate_verifier_cookie_generator_parameters(const dtlsgate_verifier *v, int *hash,
                                                  uint8_t *secret, size_t *secret_len);

/* How long a cookie stays valid after it was minted, in whole seconds
 * (1 to 86400; default 60). Cookies carry their minting time, so a client
 * that comes back later than this gets a fresh HelloVerifyRequest.
 * Returns DTLSGATE_OK, DTLSGATE_E_BAD_HANDLE or DTLSGATE_E_INVALID_ARGUMENT. */
int dtlsgate_verifier_set_cookie_lifetime(dtlsgate_verifier *v, uint32_t seconds);
int dtlsgate_verifier_cookie_lifetime(const dtlsgate_verifier *v, uint32_t *seconds);

/* Replaces the secret with a fresh random one (same algorithm) every
 * `seconds` (1 to 86400); 0, the default, turns this off. The replaced
 * secret stays valid as the previous one (see above), so choose an interval
 * no shorter than the lifetime. Rotation happens on the first verification
 * after it is due. Fleet mode does not rotate: its windows do.
 * Returns DTLSGATE_OK, DTLSGATE_E_BAD_HANDLE or DTLSGATE_E_INVALID_ARGUMENT. */
int dtlsgate_verifier_set_secret_rotation_interval(dtlsgate_verifier *v, uint32_t seconds);
int dtlsgate_verifier_secret_rotation_interval(const dtlsgate_verifier *v, uint32_t *seconds);

/* Fleet mode, for several servers behind one UDP load balancer: every node
 * is given the same master key (at least 16 bytes) and window. Each node
 * derives the secret of the current time window from the master key, so a
 * cookie minted by one node verifies on any other without coordination, as
 * long as their clocks differ by at most max_skew_seconds (0 to 86400; keep
 * it well below the lifetime). window_seconds is 1 to 86400. The current
 * hash algorithm is kept. The derivation is specified in core/cookie/doc.go,
 * so other implementations can join a fleet.
 * Returns DTLSGATE_OK, DTLSGATE_E_BAD_HANDLE or DTLSGATE_E_INVALID_ARGUMENT
 * (short key, bad window or skew); on error the mode is unchanged. */
int dtlsgate_verifier_set_fleet_key(dtlsgate_verifier *v, const uint8_t *master_key,
                                    size_t master_key_len, uint32_t window_seconds,
                                    uint32_t max_skew_seconds);

/* Leaves fleet mode: a fresh random secret takes over and cookies minted in
 * fleet mode are no longer honoured. Returns DTLSGATE_OK or
 * DTLSGATE_E_BAD_HANDLE; a no-op outside fleet mode. */
int dtlsgate_verifier_clear_fleet_key(dtlsgate_verifier *v);

/* 1 in fleet mode (window and skew are stored when the pointers are not
 * NULL), 0 otherwise, or DTLSGATE_E_BAD_HANDLE. */
int dtlsgate_verifier_fleet_mode(const dtlsgate_verifier *v, uint32_t *window_seconds,
                                 uint32_t *max_skew_seconds);

/* Qt's verifyClient(): looks at one datagram that arrived on the UDP socket
 * socket_fd from (address, port). address is a numeric IPv4 or IPv6 string
 * ("192.0.2.1", "::1", "fe80::1%eth0").
 *
 * Returns 1 when the datagram is a ClientHello carrying a valid cookie for
 * this peer: dtls_error is NoError and verified_hello holds the datagram.
 * Returns 0 otherwise, with dtls_error telling why:
 *  - NoError: the datagram was not a usable ClientHello and was ignored, or
 *    it had no valid cookie and a HelloVerifyRequest was sent to the peer
 *    through socket_fd (sendto(2)). The client will come back with a cookie.
 *  - UnderlyingSocketError: sending the HelloVerifyRequest failed; the
 *    message is the operating system's error text.
 *  - InvalidInputParameters: socket_fd < 0, an empty datagram, a NULL,
 *    empty or unparsable address, or port 0 ("A valid UDP socket, non-empty
 *    datagram, and valid address/port were expected"); a broadcast or
 *    multicast address ("Multicast and broadcast addresses are not
 *    supported"). In these cases verified_hello keeps its previous value;
 *    in all others it is emptied before the datagram is looked at.
 * Negative: DTLSGATE_E_BAD_HANDLE, or DTLSGATE_E_INVALID_ARGUMENT for a NULL
 * datagram with a non-zero length or one longer than DTLSGATE_MAX_INPUT.
 *
 * An IPv4 peer on an AF_INET6 socket is addressed as IPv4-mapped. The reply
 * is never larger than the datagram that caused it. */
int dtlsgate_verifier_verify_client(dtlsgate_verifier *v, int socket_fd, const uint8_t *dgram,
                                    size_t dgram_len, const char *address, uint16_t port);

/* As dtlsgate_verifier_verify_client(), with the peer as the sockaddr that
 * recvfrom(2) filled in (AF_INET or AF_INET6). A NULL peer, an unknown
 * family or a short peer_len is InvalidInputParameters. */
int dtlsgate_verifier_verify_client_sockaddr(dtlsgate_verifier *v, int socket_fd,
                                             const uint8_t *dgram, size_t dgram_len,
                                             const struct sockaddr *peer,
                                             socklen_t peer_len);

/* Results of dtlsgate_verifier_check(). */
#define DTLSGATE_CHECK_DROP 0          /* not a usable ClientHello: ignore it */
#define DTLSGATE_CHECK_SEND_REPLY 1    /* send the reply (a HelloVerifyRequest) to the peer */
#define DTLSGATE_CHECK_VERIFIED 2      /* valid cookie: go on with the handshake */

/* The verification step alone, for servers that do their own I/O or spread
 * it over many threads: no socket, no last-error state, no verified_hello,
 * no allocation. Safe to call on one verifier from any number of threads at
 * once, and concurrently with the setters above.
 *
 * Returns DTLSGATE_CHECK_DROP or DTLSGATE_CHECK_VERIFIED (*reply_len set to
 * 0 for both), or DTLSGATE_CHECK_SEND_REPLY with the HelloVerifyRequest in
 * (reply, *reply_len); a buffer of DTLSGATE_HELLO_VERIFY_REQUEST_MAX bytes
 * always suffices. Negative: DTLSGATE_E_BAD_HANDLE;
 * DTLSGATE_E_INVALID_ARGUMENT for an empty or NULL datagram, a NULL
 * reply_len, or a peer that verify_client() would refuse (NULL, bad family,
 * port 0, broadcast, multicast); DTLSGATE_E_BUFFER_TOO_SMALL, with nothing
 * written and *reply_len set to the size needed. */
int dtlsgate_verifier_check(const dtlsgate_verifier *v, const uint8_t *dgram, size_t dgram_len,
                            const struct sockaddr *peer, socklen_t peer_len, uint8_t *reply,
                            size_t *reply_len);

/* As dtlsgate_verifier_check(), with the peer as a numeric address string
 * and a port, as in dtlsgate_verifier_verify_client(). */
int dtlsgate_verifier_check_address(const dtlsgate_verifier *v, const uint8_t *dgram,
                                    size_t dgram_len, const char *address, uint16_t port,
                                    uint8_t *reply, size_t *reply_len);

/* One datagram of a dtlsgate_verifier_check_batch() call: the caller fills
 * in the first four fields, the call the last three. */
typedef struct dtlsgate_check_item {
    const uint8_t *dgram;        /* the datagram as received */
    size_t dgram_len;
    const struct sockaddr *peer; /* its source, as recvfrom(2) or recvmmsg(2) gave it */
    socklen_t peer_len;
    int result;                  /* DTLSGATE_CHECK_* or a negative status */
    size_t reply_offset;         /* SEND_REPLY: where the reply starts in `replies` */
    size_t reply_len;            /* SEND_REPLY: its length; else 0 */
} dtlsgate_check_item;

/* dtlsgate_verifier_check() for count datagrams in one call, for servers
 * that read in batches (recvmmsg(2)). Each item's result is what
 * dtlsgate_verifier_check() would return for it, item by item in order;
 * the replies are written one after the other into (replies, *replies_len),
 * item i's at items[i].reply_offset. An item whose reply no longer fits gets
 * DTLSGATE_E_BUFFER_TOO_SMALL and the items after it are still checked; a
 * buffer of count * DTLSGATE_HELLO_VERIFY_REQUEST_MAX bytes always
 * suffices. A bad item (NULL or empty datagram, bad peer) gets its own
 * negative result and spoils no other. Same threading as
 * dtlsgate_verifier_check(); no allocation.
 *
 * Returns the number of items whose result is DTLSGATE_CHECK_VERIFIED, with
 * *replies_len set to the bytes written; or, with nothing written,
 * DTLSGATE_E_BAD_HANDLE, or DTLSGATE_E_INVALID_ARGUMENT for a NULL
 * replies_len, NULL items with a non-zero count, a NULL replies with a
 * non-zero *replies_len, or a count over DTLSGATE_MAX_BATCH. count 0 does
 * nothing and returns 0. */
#define DTLSGATE_MAX_BATCH 4096
int dtlsgate_verifier_check_batch(const dtlsgate_verifier *v, dtlsgate_check_item *items,
                                  size_t count, uint8_t *replies, size_t *replies_len);

/* The last datagram for which verify_client() returned 1, or nothing (*len
 * set to 0) if none, or if a later call emptied it. Returns DTLSGATE_OK,
 * DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_INVALID_ARGUMENT (len NULL) or
 * DTLSGATE_E_BUFFER_TOO_SMALL. */
int dtlsgate_verifier_verified_hello(const dtlsgate_verifier *v, uint8_t *buf, size_t *len);

/* The dtlsgate_dtls_error left by the last verify_client() or
 * set_cookie_generator_parameters() call (0..8), or DTLSGATE_E_BAD_HANDLE. */
int dtlsgate_verifier_dtls_error(const dtlsgate_verifier *v);

/* The message that goes with dtls_error; empty for NoError. Written as a
 * NUL-terminated string. Returns DTLSGATE_OK, DTLSGATE_E_BAD_HANDLE,
 * DTLSGATE_E_INVALID_ARGUMENT (len NULL) or DTLSGATE_E_BUFFER_TOO_SMALL. */
int dtlsgate_verifier_dtls_error_string(const dtlsgate_verifier *v, char *buf, size_t *len);

/* ---------------------------------------------------------------------------
 * PSK authenticator (QSslPreSharedKeyAuthenticator)
 *
 * Five fields: identity hint, identity, pre-shared key, maximum identity
 * length and maximum pre-shared key length; all empty or 0 when new. The
 * application sets the identity and the key; the handshake engine fills in
 * the other three before handing the object to the application. Setters
 * store what they are given in full: the engine sends at most the maximum
 * lengths. Keys are wiped from memory when replaced or freed.
 * ------------------------------------------------------------------------- */

typedef struct dtlsgate_psk_authenticator dtlsgate_psk_authenticator;

/* A new, empty authenticator owned by the caller; NULL only on an internal
 * failure. Release it with dtlsgate_psk_authenticator_free(). */
dtlsgate_psk_authenticator *dtlsgate_psk_authenticator_new(void);

/* An independent copy of a (all five fields), owned by the caller; NULL if
 * a is not a live handle. */
dtlsgate_psk_authenticator *dtlsgate_psk_authenticator_copy(const dtlsgate_psk_authenticator *a);

/* Releases the authenticator and wipes its key. NULL, an already freed
 * handle or a handle of another kind is a no-op. */
void dtlsgate_psk_authenticator_free(dtlsgate_psk_authenticator *a);

/* Exchanges the contents of a and b (a and b may be the same handle).
 * Returns DTLSGATE_OK or DTLSGATE_E_BAD_HANDLE. */
int dtlsgate_psk_authenticator_swap(dtlsgate_psk_authenticator *a, dtlsgate_psk_authenticator *b);

/* 1 if all five fields are equal, 0 if not, or DTLSGATE_E_BAD_HANDLE. */
int dtlsgate_psk_authenticator_equal(const dtlsgate_psk_authenticator *a,
                                     const dtlsgate_psk_authenticator *b);

/* Getters: the field's bytes into (buf, *len) as in the conventions.
 * Return DTLSGATE_OK, DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_INVALID_ARGUMENT
 * (len NULL) or DTLSGATE_E_BUFFER_TOO_SMALL. */
int dtlsgate_psk_authenticator_identity_hint(const dtlsgate_psk_authenticator *a, uint8_t *buf,
                                             size_t *len);
int dtlsgate_psk_authenticator_identity(const dtlsgate_psk_authenticator *a, uint8_t *buf,
                                        size_t *len);
int dtlsgate_psk_authenticator_pre_shared_key(const dtlsgate_psk_authenticator *a, uint8_t *buf,
                                              size_t *len);

/* The maximum lengths (>= 0), or DTLSGATE_E_BAD_HANDLE. */
int dtlsgate_psk_authenticator_maximum_identity_length(const dtlsgate_psk_authenticator *a);
int dtlsgate_psk_authenticator_maximum_pre_shared_key_length(const dtlsgate_psk_authenticator *a);

/* Application-side setters. Return DTLSGATE_OK, DTLSGATE_E_BAD_HANDLE or
 * DTLSGATE_E_INVALID_ARGUMENT (NULL with a non-zero length, or longer than
 * DTLSGATE_MAX_INPUT). */
int dtlsgate_psk_authenticator_set_identity(dtlsgate_psk_authenticator *a,
                                            const uint8_t *identity, size_t len);
int dtlsgate_psk_authenticator_set_pre_shared_key(dtlsgate_psk_authenticator *a,
                                                  const uint8_t *key, size_t len);

/* Engine-side setters: the handshake engine uses these to describe the
 * request before the application sees it. Applications do not need them;
 * they exist for engines built on this library and for tests. Same returns
 * as above; a negative maximum is DTLSGATE_E_INVALID_ARGUMENT. */
int dtlsgate_psk_authenticator_set_identity_hint(dtlsgate_psk_authenticator *a,
                                                 const uint8_t *hint, size_t len);
int dtlsgate_psk_authenticator_set_maximum_identity_length(dtlsgate_psk_authenticator *a,
                                                           int length);
int dtlsgate_psk_authenticator_set_maximum_pre_shared_key_length(dtlsgate_psk_authenticator *a,
                                                                 int length);

/* ---------------------------------------------------------------------------
 * DTLS session (QDtls)
 *
 * One DTLS 1.2 connection authenticated with a pre-shared key, server or
 * client, shaped like Qt's QDtls. The application owns the UDP socket and
 * reads from it; the session only writes. A server session starts from the
 * ClientHello a verifier accepted (dtlsgate_verifier_verified_hello(), or a
 * datagram dtlsgate_verifier_check() returned DTLSGATE_CHECK_VERIFIED for)
 * and checks its cookie again, so it must use the verifier's cookie
 * parameters: dtlsgate_session_set_cookie_verifier() shares them.
 *
 * Functions that send take a socket_fd. With a UDP socket there, what the
 * session has to send goes out at once with sendto(2) to the peer; with
 * DTLSGATE_NO_SOCKET it is queued in the session and the caller collects
 * it with dtlsgate_session_next_outgoing() and sends it itself (for event
 * loops that own their sockets, DTLS over something other than a socket,
 * and tests). Any other negative socket_fd is refused as Qt refuses a null
 * socket: the function returns 0 with InvalidInputParameters ("Invalid
 * socket descriptor").
 *
 * Functions that mirror a bool of Qt's return 1 for true and 0 for false;
 * on 0, dtlsgate_session_dtls_error() and _dtls_error_string() say why, in
 * Qt's words where Qt has them. Each such call clears the error first.
 * ------------------------------------------------------------------------- */

typedef struct dtlsgate_session dtlsgate_session;

/* Modes: the values of Qt's QSslSocket::SslMode. */
#define DTLSGATE_SSL_CLIENT_MODE 1
#define DTLSGATE_SSL_SERVER_MODE 2

/* Handshake states: the values of Qt's QDtls::HandshakeState. A PSK
 * handshake never enters PeerVerificationFailed (no certificate). */
typedef enum dtlsgate_handshake_state {
    DTLSGATE_HANDSHAKE_NOT_STARTED = 0,
    DTLSGATE_HANDSHAKE_IN_PROGRESS = 1,
    DTLSGATE_PEER_VERIFICATION_FAILED = 2,
    DTLSGATE_HANDSHAKE_COMPLETE = 3
} dtlsgate_handshake_state;

/* socket_fd value meaning "no socket: queue what is to be sent". */
#define DTLSGATE_NO_SOCKET (-1)

/* No datagram a session builds is larger; a buffer this size always holds
 * one for dtlsgate_session_next_outgoing(). */
#define DTLSGATE_MAX_DATAGRAM 65535

/* Called during dtlsgate_session_do_handshake() when the handshake needs
 * the pre-shared key, as Qt's QDtls::pskRequired. A client gets the
 * server's identity hint and sets the identity and the key; a server gets
 * the client's identity and sets the key. The authenticator handle is
 * valid only during the call: do not free or keep it. Leaving the key
 * empty fails the handshake. The callback runs on the thread that called
 * do_handshake(), with the session locked; it may use any function of this
 * header except those of its own session, which return DTLSGATE_E_BUSY
 * from inside it (and would wait for it from other threads: do not make
 * the callback wait for a thread that uses the session). It may free its
 * own session: the handshake then ends, the running call finishes and the
 * handle is gone. */
typedef void (*dtlsgate_psk_callback)(void *user_data, dtlsgate_psk_authenticator *authenticator);

/* A new session in mode DTLSGATE_SSL_CLIENT_MODE or DTLSGATE_SSL_SERVER_MODE,
 * with no peer, the default cipher suites, no identity hint, an MTU hint of
 * 1400, a 30-second handshake deadline, at most 12 retransmissions, the
 * default cookie parameters and no PSK callback. NULL for any
 * other mode or on an internal failure. Release it with
 * dtlsgate_session_free(). */
dtlsgate_session *dtlsgate_session_new(int mode);

/* Releases a session without telling the peer (call
 * dtlsgate_session_shutdown() first for that), and overwrites the keys and
 * secrets it holds. A call on the session running on another thread is
 * waited for. From inside the session's own PSK callback the handle is
 * gone at once and the handshake ends when the callback returns. NULL, an
 * already freed handle or a handle of another kind is a no-op. */
void dtlsgate_session_free(dtlsgate_session *s);

/* The session's mode (1 or 2), or DTLSGATE_E_BAD_HANDLE. */
int dtlsgate_session_ssl_mode(const dtlsgate_session *s);

/* Sets the peer, as QDtls::setPeer(): only before the handshake starts.
 * address is a numeric IPv4 or IPv6 string. Returns 1, or 0 with
 * InvalidInputParameters (NULL, empty, unparsable or unspecified address,
 * port 0: "Invalid address"; broadcast or multicast) or InvalidOperation
 * (handshake started). Negative: DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_BUSY. */
int dtlsgate_session_set_peer(dtlsgate_session *s, const char *address, uint16_t port);

/* As dtlsgate_session_set_peer(), with the peer as recvfrom(2) filled it in. */
int dtlsgate_session_set_peer_sockaddr(dtlsgate_session *s, const struct sockaddr *peer,
                                       socklen_t peer_len);

/* The peer's address as a string into (address, *address_len), by the
 * string conventions, and its port into *port (may be NULL). Before
 * set_peer() the address is "" and the port 0. Returns DTLSGATE_OK,
 * DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_BUSY, DTLSGATE_E_INVALID_ARGUMENT
 * (address_len NULL) or DTLSGATE_E_BUFFER_TOO_SMALL; 64 bytes always do,
 * as set_peer() refuses zones longer than an interface name. */
int dtlsgate_session_peer(const dtlsgate_session *s, char *address, size_t *address_len,
                          uint16_t *port);

/* The PSK identity hint a server sends (QSslConfiguration's
 * preSharedKeyIdentityHint); ignored by a client. Only before the
 * handshake. Returns 1, or 0 with InvalidOperation; negative:
 * DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_BUSY, DTLSGATE_E_INVALID_ARGUMENT (NULL
 * with a non-zero length, or longer than DTLSGATE_MAX_INPUT). */
int dtlsgate_session_set_identity_hint(dtlsgate_session *s, const uint8_t *hint, size_t len);
/* The hint into (buf, *len) as in the conventions. */
int dtlsgate_session_identity_hint(const dtlsgate_session *s, uint8_t *buf, size_t *len);

/* The cipher suites to offer (client) or accept (server), most preferred
 * first, as a colon-separated list of OpenSSL or IANA names, e.g.
 * "PSK-AES128-GCM-SHA256:PSK-CHACHA20-POLY1305". NULL or "" restores
 * the default list. A server picks its own most preferred suite among the
 * client's. Only before the handshake. Returns 1, or 0 with
 * InvalidInputParameters (a name not supported: the message names it) or
 * InvalidOperation; negative: DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_BUSY. */
int dtlsgate_session_set_ciphers(dtlsgate_session *s, const char *names);
/* The suites in effect as a colon-separated list of OpenSSL names. */
int dtlsgate_session_ciphers(const dtlsgate_session *s, char *buf, size_t *len);

/* The largest datagram the handshake builds (UDP payload bytes), as
 * QDtls::setMtuHint(): 256 to 65507, or 0 for the default 1400. Only
 * before the handshake. Returns 1, or 0 with InvalidInputParameters or
 * InvalidOperation; negative: DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_BUSY. */
int dtlsgate_session_set_mtu_hint(dtlsgate_session *s, uint16_t mtu);
/* The MTU hint in effect (> 0), or a negative status. */
int dtlsgate_session_mtu_hint(const dtlsgate_session *s);

/* The longest a handshake may take, in milliseconds from its start: 1 to
 * DTLSGATE_HANDSHAKE_DEADLINE_MAX (24 hours, so that the getter's int
 * always holds it), or 0 for the default 30000. Once it has passed the
 * handshake fails however many retransmissions are left, so a peer that
 * vanished, or that has another pre-shared key, frees the session on both
 * sides in bounded time: dtlsgate_session_remaining_timeout() counts down
 * to it too, and the dtlsgate_session_handle_timeout() it times ends the
 * handshake. Only before the handshake. Returns 1, or 0 with
 * InvalidInputParameters (over the maximum) or InvalidOperation;
 * negative: DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_BUSY. */
#define DTLSGATE_HANDSHAKE_DEADLINE_MAX 86400000
int dtlsgate_session_set_handshake_deadline(dtlsgate_session *s, uint32_t ms);
/* The deadline in effect in milliseconds (> 0), or a negative status. */
int dtlsgate_session_handshake_deadline(const dtlsgate_session *s);

/* How many times a flight is sent again, for want of an answer, before
 * the handshake fails: any n > 0, or 0 for the default 12. The timer
 * starts at 1 s and doubles up to 60 s, so 12 take about 8 minutes and
 * the handshake deadline usually comes first; a smaller n gives up
 * sooner on a peer that never answers. Only before the handshake.
 * Returns 1, or 0 with InvalidInputParameters (n < 0) or
 * InvalidOperation; negative: DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_BUSY. */
int dtlsgate_session_set_max_retransmits(dtlsgate_session *s, int n);
/* The limit in effect (> 0), or a negative status. */
int dtlsgate_session_max_retransmits(const dtlsgate_session *s);

/* The parameters a server re-checks the ClientHello's cookie with, as
 * QDtls::setCookieGeneratorParameters(); they must be the verifier's.
 * Only before the handshake. Returns 1, or 0 with InvalidInputParameters
 * (empty secret, algorithm not available) or InvalidOperation; negative:
 * DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_BUSY, DTLSGATE_E_INVALID_ARGUMENT. */
int dtlsgate_session_set_cookie_generator_parameters(dtlsgate_session *s, int hash,
                                                     const uint8_t *secret, size_t secret_len);
/* The parameters in use, as dtlsgate_verifier_cookie_generator_parameters(). */
int dtlsgate_session_cookie_generator_parameters(const dtlsgate_session *s, int *hash,
                                                 uint8_t *secret, size_t *secret_len);

/* Re-checks cookies with the verifier's own generator: its parameters,
 * lifetime, rotation and fleet mode, including later changes to them. The
 * session keeps what it needs, so the verifier may be freed first. Only
 * before the handshake. Returns 1, or 0 with InvalidOperation; negative:
 * DTLSGATE_E_BAD_HANDLE (either handle), DTLSGATE_E_BUSY. */
int dtlsgate_session_set_cookie_verifier(dtlsgate_session *s, const dtlsgate_verifier *v);

/* Sets (or, with NULL, removes) the PSK callback and the user_data it is
 * given. Returns DTLSGATE_OK, DTLSGATE_E_BAD_HANDLE or DTLSGATE_E_BUSY. */
int dtlsgate_session_set_psk_callback(dtlsgate_session *s, dtlsgate_psk_callback callback,
                                      void *user_data);

/* Starts or continues the handshake, as QDtls::doHandshake(). A client
 * starts with no datagram (NULL, 0); a server starts with the verified
 * ClientHello. Later calls pass each datagram that arrived from the peer
 * while the state is DTLSGATE_HANDSHAKE_IN_PROGRESS. Returns 1 while all
 * is well (check dtlsgate_session_handshake_state() for completion), or 0:
 * InvalidOperation (no peer, wrong state), InvalidInputParameters (no
 * datagram), TlsFatalError (the handshake failed: the message says why,
 * the peer got an alert when one was due, the state is back to
 * NotStarted), UnderlyingSocketError (sendto failed: the OS's message).
 * Negative: DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_BUSY,
 * DTLSGATE_E_INVALID_ARGUMENT (NULL with a non-zero length, or longer than
 * DTLSGATE_MAX_INPUT). */
int dtlsgate_session_do_handshake(dtlsgate_session *s, int socket_fd, const uint8_t *dgram,
                                  size_t dgram_len);

/* Milliseconds until dtlsgate_session_handle_timeout() is due, into *ms
 * (rounded up): the next retransmission or the handshake deadline,
 * whichever comes first. Returns 1 while a handshake timer runs, 0 when
 * none does (*ms set to 0), or a negative status
 * (DTLSGATE_E_INVALID_ARGUMENT for a NULL ms). This is what Qt's
 * handshakeTimeout signal is timed by. */
int dtlsgate_session_remaining_timeout(const dtlsgate_session *s, uint32_t *ms);

/* Retransmits the last flight once its timer is due, as
 * QDtls::handleTimeout(); earlier it does nothing and returns 1. After
 * dtlsgate_session_max_retransmits() retransmissions without an answer,
 * or once the handshake deadline has passed, the handshake fails (0,
 * TlsFatalError, the state back to NotStarted). 0 with InvalidOperation
 * when no handshake is in progress. */
int dtlsgate_session_handle_timeout(dtlsgate_session *s, int socket_fd);

/* Drops a handshake in progress without telling the peer, as
 * QDtls::abortHandshake(). Returns 1, or 0 with InvalidOperation. */
int dtlsgate_session_abort_handshake(dtlsgate_session *s);

/* Sends close_notify and closes the connection, as QDtls::shutdown().
 * Returns 1, or 0 with InvalidOperation (not encrypted) or
 * UnderlyingSocketError (the connection is closed all the same). */
int dtlsgate_session_shutdown(dtlsgate_session *s, int socket_fd);

/* Encrypts data as one record and sends it, as
 * QDtls::writeDatagramEncrypted(); with a socket the record goes out at
 * once, queued nowhere. Returns the number of bytes written
 * (data_len), or 0: InvalidOperation (not encrypted),
 * InvalidInputParameters (empty, or more than 16384 bytes, the most a
 * record holds), UnderlyingSocketError. Negative: DTLSGATE_E_BAD_HANDLE,
 * DTLSGATE_E_BUSY, DTLSGATE_E_INVALID_ARGUMENT (NULL with a non-zero
 * length). */
int dtlsgate_session_write_datagram_encrypted(dtlsgate_session *s, int socket_fd,
                                              const uint8_t *data, size_t data_len);

/* Decrypts a datagram from the peer into (out, *out_len), as
 * QDtls::decryptDatagram(). Returns 1 with *out_len the number of bytes of
 * application data, which is 0 when the datagram carried none (a replayed
 * or forged record is dropped silently; a repeated Finished from the peer
 * is answered through socket_fd). Returns 0 with *out_len = 0 on an error:
 * InvalidOperation (not encrypted), InvalidInputParameters (empty
 * datagram), RemoteClosedConnectionError (close_notify: the connection is
 * closed), TlsFatalError (a fatal alert), UnderlyingSocketError. When one
 * datagram carries data and then an error (data, then close_notify), the
 * data is not lost: the call returns 1 with it, and the error is what
 * dtlsgate_session_dtls_error() and _is_connection_encrypted() say. The plaintext is never longer
 * than the datagram: if *out_len is smaller than dgram_len, nothing is
 * decrypted, *out_len is set to dgram_len and DTLSGATE_E_BUFFER_TOO_SMALL
 * returned, so the datagram can be passed again. Other negatives:
 * DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_BUSY, DTLSGATE_E_INVALID_ARGUMENT
 * (NULL out_len, NULL dgram with a non-zero length, too long). */
int dtlsgate_session_decrypt_datagram(dtlsgate_session *s, int socket_fd, const uint8_t *dgram,
                                      size_t dgram_len, uint8_t *out, size_t *out_len);

/* Takes the next datagram queued by a call made with DTLSGATE_NO_SOCKET,
 * to be sent to the peer, oldest first. Returns 1 with it in (buf, *len),
 * 0 when the queue is empty (*len set to 0), or DTLSGATE_E_BUFFER_TOO_SMALL
 * with *len the size needed and the datagram left queued. Other
 * negatives: DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_BUSY,
 * DTLSGATE_E_INVALID_ARGUMENT (len NULL). */
int dtlsgate_session_next_outgoing(dtlsgate_session *s, uint8_t *buf, size_t *len);

/* One step of a socket-less handshake in one call: dtlsgate_session_do_handshake()
 * with DTLSGATE_NO_SOCKET and dgram, then every datagram queued to send
 * (this step's flight, after any left from earlier calls) taken at once,
 * where next_outgoing() would take them one call each. The datagrams are
 * written back to back into out, oldest first, the length of the i-th in
 * lens[i]; send each as one datagram. On entry *out_len is out's size and
 * *count the number of entries of lens; on return they are the bytes and
 * the number of datagrams queued. If those fit (*count and *out_len no
 * larger than on entry), all were written and none stays queued; if not,
 * none was written, all stay queued, and the two say what they need (pass
 * them to next_outgoing(), or bigger buffers to the next step). A flight
 * is a few datagrams of at most the MTU hint each, most often one.
 * Returns 1 while all is well,
 * DTLSGATE_HANDSHAKE_COMPLETE when this step completed the handshake, or 0
 * with the errors of do_handshake() (a fatal alert due to the peer is in
 * the datagrams written). Negative: DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_BUSY,
 * DTLSGATE_E_INVALID_ARGUMENT (out_len or count NULL, out NULL with a
 * non-zero *out_len, lens NULL with a non-zero *count, dgram as for
 * do_handshake()), with nothing done. */
int dtlsgate_session_handshake_step(dtlsgate_session *s, const uint8_t *dgram, size_t dgram_len,
                                    uint8_t *out, size_t *out_len, size_t *lens, size_t *count);

/* The dtlsgate_handshake_state, or a negative status. */
int dtlsgate_session_handshake_state(const dtlsgate_session *s);

/* 1 once the handshake completed and until the connection closes, else 0;
 * or a negative status. */
int dtlsgate_session_is_connection_encrypted(const dtlsgate_session *s);

/* The negotiated cipher suite's OpenSSL name (QDtls::sessionCipher()), ""
 * while not encrypted. String conventions; 64 bytes always do. */
int dtlsgate_session_session_cipher(const dtlsgate_session *s, char *buf, size_t *len);

/* "DTLSv1.2" while encrypted, "" otherwise (QDtls::sessionProtocol()). */
int dtlsgate_session_session_protocol(const dtlsgate_session *s, char *buf, size_t *len);

/* The dtlsgate_dtls_error left by the session's last call (0..8), or a
 * negative status. */
int dtlsgate_session_dtls_error(const dtlsgate_session *s);

/* The message that goes with it; empty for NoError. String conventions. */
int dtlsgate_session_dtls_error_string(const dtlsgate_session *s, char *buf, size_t *len);

/* ---------------------------------------------------------------------------
 * Records in the caller's buffers
 *
 * Once the connection is encrypted, application data can go through these
 * instead of write_datagram_encrypted() + next_outgoing() and
 * decrypt_datagram(): one call per datagram each way, the record or the
 * data written straight into the caller's buffer, nothing queued, nothing
 * allocated. Each of them clears the session's error first, like the calls
 * above. Thread rules are the session's: calls on one session are
 * serialized (a batch holds the session for the whole batch); use one
 * session per thread, or expect the calls to wait for each other.
 * ------------------------------------------------------------------------- */

/* The most a record carries (RFC 6347), and the most it adds to it: a
 * buffer of plain_len + DTLSGATE_RECORD_OVERHEAD_MAX bytes always holds
 * the record dtlsgate_session_encrypt() makes of plain_len bytes, on a
 * session without connection IDs; with them add the peer's ID length + 1
 * ("Connection IDs" below). */
#define DTLSGATE_MAX_RECORD_PLAINTEXT 16384
#define DTLSGATE_RECORD_OVERHEAD_MAX 77

/* Encrypts plain as one application-data record into (out, *out_len), to be
 * sent by the caller as one datagram. Returns 1 with *out_len the record's
 * length. When *out_len is too small, nothing is done (no sequence number
 * is used): *out_len is set to the size needed and
 * DTLSGATE_E_BUFFER_TOO_SMALL returned, so (NULL, &zero) asks for it.
 * out may overlap plain anywhere: with the plaintext at the start of a
 * buffer of plain_len + DTLSGATE_RECORD_OVERHEAD_MAX bytes, encrypting in
 * place is passing that buffer as both. Returns 0 with *out_len = 0 on an
 * error the session records: InvalidOperation (not encrypted),
 * InvalidInputParameters (empty, or more than
 * DTLSGATE_MAX_RECORD_PLAINTEXT bytes), TlsFatalError (2^48 records sent:
 * the connection must end). Other negatives: DTLSGATE_E_BAD_HANDLE,
 * DTLSGATE_E_BUSY, DTLSGATE_E_INVALID_ARGUMENT (NULL out_len, NULL plain
 * with a non-zero length, NULL out with a non-zero *out_len, plain longer
 * than DTLSGATE_MAX_INPUT). */
int dtlsgate_session_encrypt(dtlsgate_session *s, const uint8_t *plain, size_t plain_len,
                             uint8_t *out, size_t *out_len);

/* Results of dtlsgate_session_decrypt() besides 1 (data) and 0 (error). */
/* The datagram was dropped, as RFC 6347 requires, without a word: it failed
 * authentication, was a replay or older than the replay window, was not
 * of epoch 1 or DTLS, or could not be framed. *out_len is 0. */
#define DTLSGATE_RECORD_DROPPED 2
/* The datagram is not one application-data record: an alert (close_notify
 * among them), a handshake message the peer repeated because our last
 * flight was lost, a renegotiation attempt, or several records. It was
 * not looked into and the session did not change: pass the same datagram
 * to dtlsgate_session_decrypt_datagram(), which handles all of these. */
#define DTLSGATE_RECORD_NOT_DATA 3

/* Authenticates and decrypts a datagram holding one application-data
 * record into (out, *out_len). Returns 1 with *out_len the length of the
 * data (0 for an empty record), DTLSGATE_RECORD_DROPPED or
 * DTLSGATE_RECORD_NOT_DATA (*out_len 0). The data never takes more room
 * than dgram_len; when *out_len is smaller than the record needs (AEAD
 * suites: exactly the data; CBC: the data, its MAC and padding, which are
 * decrypted there before they are checked), nothing is done: *out_len is
 * set to that size and DTLSGATE_E_BUFFER_TOO_SMALL returned, and the
 * datagram can be passed again. out may overlap dgram anywhere, e.g. be
 * the same buffer (in place); dgram's bytes are then overwritten, except
 * on DTLSGATE_RECORD_NOT_DATA and DTLSGATE_E_BUFFER_TOO_SMALL. Beyond
 * *out_len, what out holds afterwards is unspecified. Returns 0 with
 * *out_len = 0 on an error the session records: InvalidOperation (not
 * encrypted; during the handshake use do_handshake()),
 * InvalidInputParameters (empty datagram). Other negatives:
 * DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_BUSY, DTLSGATE_E_INVALID_ARGUMENT (as
 * for dtlsgate_session_encrypt()). */
int dtlsgate_session_decrypt(dtlsgate_session *s, const uint8_t *dgram, size_t dgram_len,
                             uint8_t *out, size_t *out_len);

/* One datagram of a batch: the input (plaintext or datagram), the output
 * buffer with its in/out length, and the status the single call would
 * have returned for it. */
typedef struct dtlsgate_record_buffer {
    const uint8_t *in;
    size_t in_len;
    uint8_t *out;
    size_t out_len;
    int status;
} dtlsgate_record_buffer;

/* A record batch takes at most DTLSGATE_MAX_BATCH entries (defined with
 * dtlsgate_verifier_check_batch). */

/* dtlsgate_session_encrypt() / dtlsgate_session_decrypt() on each of the
 * count entries, in order, in one call: each entry's out_len and status
 * are set as that call would set them. An entry that fails (status other
 * than 1, say a forged datagram or a buffer too small) does not stop the
 * batch: the others are processed all the same, and its out_len tells, as
 * for the single call, what it needs. An entry DTLSGATE_RECORD_NOT_DATA is
 * for decrypt_datagram() after the batch. Returns how many entries have
 * status 1 (0..count); negative: DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_BUSY,
 * DTLSGATE_E_INVALID_ARGUMENT (entries NULL with count > 0, or count over
 * DTLSGATE_MAX_BATCH), with no entry touched. count 0 returns 0. */
int dtlsgate_session_encrypt_batch(dtlsgate_session *s, dtlsgate_record_buffer *entries,
                                   size_t count);
int dtlsgate_session_decrypt_batch(dtlsgate_session *s, dtlsgate_record_buffer *entries,
                                   size_t count);

/* ---------------------------------------------------------------------------
 * Connection IDs (RFC 9146)
 *
 * A connection ID lets a session survive its peer's change of address: a
 * device whose NAT forgot the mapping while it slept comes back from a new
 * address and port, and its records still name the session. Each side
 * asks the other for the ID to put in the records it sends (content type
 * tls12_cid, 25) once the handshake switches to encryption; either side may
 * ask for an empty one, and then receives plain records. IDs are used only
 * when both sides ask in the hello messages; with a peer that does not
 * (OpenSSL, GnuTLS and Qt do not), records stay plain DTLS 1.2.
 *
 * A session made by dtlsgate_session_new() does not negotiate IDs until
 * dtlsgate_session_set_connection_id_length() or
 * dtlsgate_session_set_connection_id() asks for them, so programs written
 * before they existed see the same records as before. Once IDs are in
 * use, a record this side sends carries the peer's ID and one byte more
 * (its real content type), so for dtlsgate_session_encrypt() add the
 * length from dtlsgate_session_peer_connection_id() + 1 to
 * DTLSGATE_RECORD_OVERHEAD_MAX (at most DTLSGATE_PEER_CONNECTION_ID_MAX + 1).
 *
 * In a tls12_cid record the ID starts at byte 11 of the datagram, after
 * the content type, version, epoch and sequence number; its length is not
 * written, so a server that finds sessions by ID gives them all IDs of one
 * length (the server endpoint below does this by itself).
 * ------------------------------------------------------------------------- */

/* Values of dtlsgate_session_set_connection_id_length() besides 1 to
 * DTLSGATE_CONNECTION_ID_MAX. */
#define DTLSGATE_NO_CONNECTION_ID (-1)    /* do not negotiate IDs (the default) */
#define DTLSGATE_EMPTY_CONNECTION_ID (-2) /* negotiate, asking for no ID: "send
                                           * me plain records, I send with
                                           * yours", the usual device choice */
#define DTLSGATE_CONNECTION_ID_DEFAULT_LENGTH 8 /* what 0 asks for in a server */
#define DTLSGATE_CONNECTION_ID_MAX 16     /* the longest ID this side asks for */
#define DTLSGATE_PEER_CONNECTION_ID_MAX 255 /* the longest the peer may ask for */
/* A server answers a client that asks for an ID longer than this with
 * plain records: every record to the client carries its ID, and a long
 * one would make each answer up to 256 bytes larger than the request. */
#define DTLSGATE_SERVER_PEER_CONNECTION_ID_MAX 32

/* Whether the session negotiates connection IDs, and the length of the ID
 * it asks the peer to use, drawn at random for each handshake: 1 to
 * DTLSGATE_CONNECTION_ID_MAX bytes, DTLSGATE_EMPTY_CONNECTION_ID,
 * DTLSGATE_NO_CONNECTION_ID, or 0 for the role's default (a server asks
 * for DTLSGATE_CONNECTION_ID_DEFAULT_LENGTH bytes, a client does not
 * negotiate). Replaces an ID given to dtlsgate_session_set_connection_id().
 * Only before the handshake. Returns 1, or 0 with InvalidInputParameters
 * (out of range) or InvalidOperation (handshake started); negative:
 * DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_BUSY. */
int dtlsgate_session_set_connection_id_length(dtlsgate_session *s, int length);

/* The setting in effect into *length, the role's default resolved: 1 to
 * DTLSGATE_CONNECTION_ID_MAX, DTLSGATE_EMPTY_CONNECTION_ID or
 * DTLSGATE_NO_CONNECTION_ID (an ID given to
 * dtlsgate_session_set_connection_id() counts by its length). Returns
 * DTLSGATE_OK, DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_BUSY or
 * DTLSGATE_E_INVALID_ARGUMENT (length NULL). */
int dtlsgate_session_connection_id_length(const dtlsgate_session *s, int *length);

/* Negotiates connection IDs asking the peer for this ID rather than a
 * random one: 0 to DTLSGATE_CONNECTION_ID_MAX bytes, copied (0 bytes is
 * DTLSGATE_EMPTY_CONNECTION_ID). For servers that route by ID and so choose
 * their IDs, unique among their sessions, perhaps with a node prefix; an
 * ID that others can guess lets them send records that are looked at
 * (they cannot forge one that authenticates). Only before the handshake.
 * Returns 1, or 0 with InvalidInputParameters (too long) or
 * InvalidOperation; negative: DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_BUSY,
 * DTLSGATE_E_INVALID_ARGUMENT (NULL with a non-zero length). */
int dtlsgate_session_set_connection_id(dtlsgate_session *s, const uint8_t *cid, size_t len);

/* The ID this side asked for, which the peer's records carry, into (buf,
 * *len) as in the conventions. Returns 1 when IDs were negotiated (known
 * from the hello exchange until the connection ends; the ID may be empty),
 * 0 when they were not (*len set to 0); negative: DTLSGATE_E_BAD_HANDLE,
 * DTLSGATE_E_BUSY, DTLSGATE_E_INVALID_ARGUMENT (len NULL) or
 * DTLSGATE_E_BUFFER_TOO_SMALL (*len the size needed;
 * DTLSGATE_CONNECTION_ID_MAX bytes always do). */
int dtlsgate_session_connection_id(const dtlsgate_session *s, uint8_t *buf, size_t *len);

/* The ID the peer asked for, which this side's records carry; as
 * dtlsgate_session_connection_id(), DTLSGATE_PEER_CONNECTION_ID_MAX bytes
 * always doing. */
int dtlsgate_session_peer_connection_id(const dtlsgate_session *s, uint8_t *buf, size_t *len);

/* Sends to peer from now on (RFC 9146 section 6), for an application that
 * finds its sessions by connection ID: call it after passing
 * dtlsgate_session_decrypt_datagram() or dtlsgate_session_decrypt() a
 * datagram that came from peer (as recvfrom(2) filled it in). The session
 * moves only if that datagram held a record with this side's ID that
 * authenticated and carried a sequence number higher than any before it:
 * a forged, replayed or delayed record from a new address moves nothing.
 * Returns 1 when the session moved to peer, 2 when peer already was its
 * peer (nothing to do), or 0, the peer unchanged, with InvalidOperation
 * (no connection with IDs, or the last datagram allows no move) or
 * InvalidInputParameters (peer NULL, of another family, too short, port
 * 0, unspecified or multicast). Negative: DTLSGATE_E_BAD_HANDLE,
 * DTLSGATE_E_BUSY. A move proves that the peer sent from the new
 * address, not that it receives there (an attacker on the path can pass
 * a genuine record on from elsewhere): before sending much to a new
 * address the application may want an answer from it first (a
 * return-routability check). */
int dtlsgate_session_move_peer(dtlsgate_session *s, const struct sockaddr *peer,
                               socklen_t peer_len);

/* ---------------------------------------------------------------------------
 * DTLS server endpoint
 *
 * Many sessions behind one cookie verifier, with their timers, limits and
 * key lookup: the application moves datagrams (or lets the library own the
 * sockets) and takes events. Spoofed ClientHellos cost one HMAC and no
 * memory; a handshake is only started for a client that proved it receives
 * at its address, and the limits below bound what such clients can hold.
 *
 * Two ways to run one server:
 *
 *  - Socket-less: the application reads its own socket and passes every
 *    datagram with its source to dtlsgate_server_input(), sends what
 *    dtlsgate_server_next_outgoing() gives, and calls
 *    dtlsgate_server_handle_timers() when dtlsgate_server_next_timeout()
 *    says. Everything runs on the threads that make these calls.
 *  - Managed: dtlsgate_server_listen() opens UDP sockets on an address
 *    (one per worker, SO_REUSEPORT, read and written in batches) and starts
 *    the library's own worker threads, which run the handshakes and timers.
 *    The application only polls for events and sends.
 *
 * Either way events are taken with dtlsgate_server_poll(), and
 * dtlsgate_server_fd() is a descriptor that is readable while events wait
 * (for epoll, select, asyncio's add_reader, QSocketNotifier).
 *
 * Threads: every function may be called from any thread; calls on one
 * server are serialized. No application code runs on a library thread:
 * the only callback, the PSK callback, runs inside dtlsgate_server_input()
 * on the thread that called it, and a managed server refuses to have one
 * (it asks for keys with DTLSGATE_SERVER_EVENT_PSK_REQUEST events instead).
 *
 * Memory: about 2 KB per handshake in progress and 2.7 KB per established
 * session (core/server/doc.go); each session buffers at most
 * max_buffered_bytes.
 * ------------------------------------------------------------------------- */

typedef struct dtlsgate_server dtlsgate_server;

/* Answers of a dtlsgate_server_psk_callback. */
#define DTLSGATE_PSK_REFUSE 0  /* unknown identity: the handshake fails */
#define DTLSGATE_PSK_FOUND 1   /* the key is in (key, *key_len) */
#define DTLSGATE_PSK_PENDING 2 /* the answer comes later, with
                                * dtlsgate_server_resolve_psk() or _refuse_psk() */

/* The longest pre-shared key accepted, in bytes. */
#define DTLSGATE_PSK_MAX_KEY 512

/* Asked for the key of a client's identity when the server's key table has
 * none. peer is the client's address (valid during the call), identity its
 * PSK identity; the key goes into (key, *key_len), *key_len being
 * DTLSGATE_PSK_MAX_KEY on entry. Return one of DTLSGATE_PSK_*: a key that
 * is empty or longer than *key_len refuses the client. PENDING lets the
 * handshake wait (within its deadline) for a key looked up elsewhere, e.g.
 * in a database, without blocking the caller of dtlsgate_server_input().
 * Runs inside dtlsgate_server_input() on its thread, with the server
 * locked: functions on this server return DTLSGATE_E_BUSY from inside it. */
typedef int (*dtlsgate_server_psk_callback)(void *user_data, const struct sockaddr *peer,
                                            socklen_t peer_len, const uint8_t *identity,
                                            size_t identity_len, uint8_t *key, size_t *key_len);

/* A server's settings. The struct is versioned by its size: set size to
 * sizeof(dtlsgate_server_config) and call
 * dtlsgate_server_config_init() before changing fields:
 *     dtlsgate_server_config cfg = {.size = sizeof cfg};
 *     dtlsgate_server_config_init(&cfg);
 * so so fields
 * added by later versions of this header get their defaults. A library
 * older than the header refuses a non-zero field it does not know; a
 * library newer than the header gives fields beyond size their defaults.
 * The pointers are read during dtlsgate_server_new() only. */
typedef struct dtlsgate_server_config {
    size_t size;
    /* Limits; 0 means the default given. */
    uint32_t max_sessions;         /* every session held, half-open or not: 100000 */
    uint32_t max_half_open;        /* handshakes in progress: 1000 */
    uint32_t max_half_open_per_ip; /* from one IPv4 address or IPv6 /64: 8 */
    uint32_t handshake_deadline_ms; /* a handshake fails after: 30000 */
    /* An established session quiet this long is closed (close_notify):
     * 0 means never. dtlsgate_server_config_init() sets 600000 (10 min). */
    uint32_t idle_timeout_ms;
    uint32_t max_buffered_bytes;   /* per session, beyond which data is dropped: 16384 */
    /* Managed mode only; 0 means the default given. */
    uint32_t receive_buffer_bytes; /* each socket's: 4 MB (the kernel may cap it) */
    uint32_t workers;              /* sockets and threads: one per core */
    /* Cookies: NULL uses a verifier of the server's own, with cookie_hash
     * and the cookie_secret when one is given (else the process' default
     * parameters). A verifier given here is shared, later changes to it
     * (rotation, fleet key) included; it may be freed after
     * dtlsgate_server_new(). Giving both a verifier and a secret is
     * DTLSGATE_E_INVALID_ARGUMENT. */
    const dtlsgate_verifier *verifier;
    int cookie_hash;               /* a dtlsgate_hash: DTLSGATE_HASH_SHA256 */
    const uint8_t *cookie_secret;
    size_t cookie_secret_len;
    /* Sessions: the cipher suites as dtlsgate_session_set_ciphers() takes
     * them (NULL: the default list), the PSK identity hint sent to
     * clients, the MTU hint (0: 1400) and the retransmission limit (0: 12). */
    const char *ciphers;
    const uint8_t *identity_hint;
    size_t identity_hint_len;
    uint32_t mtu;
    uint32_t max_retransmits;
    /* Keys the table lacks: asked of psk_callback (socket-less mode only),
     * else, when psk_requests is non-zero, asked with a
     * DTLSGATE_SERVER_EVENT_PSK_REQUEST event; else the client is refused. */
    dtlsgate_server_psk_callback psk_callback;
    void *psk_user_data;
    int psk_requests;
    /* Connection IDs (RFC 9146) for clients that offer them: the length of
     * the IDs the server gives, node byte included: 1 to
     * DTLSGATE_CONNECTION_ID_MAX, 0 for DTLSGATE_CONNECTION_ID_DEFAULT_LENGTH
     * (dtlsgate_server_config_init() sets 8), or DTLSGATE_NO_CONNECTION_ID
     * to answer no client with one. node_id, 1 to 255, is the first byte of
     * every ID, for a load balancer or a peer node to route by; 0 (the
     * default): every byte random. The format is in README.md ("Connection
     * IDs"). Both came with one version of the struct: a size that does not
     * hold node_id gives both their defaults. */
    int connection_id_length;
    int node_id;
} dtlsgate_server_config;

/* Fills every field within cfg->size with its default (the values above,
 * idle_timeout_ms 600000). Returns DTLSGATE_OK, or
 * DTLSGATE_E_INVALID_ARGUMENT for a NULL cfg or a size that no version of
 * the struct has (0, or one ending inside a field). */
int dtlsgate_server_config_init(dtlsgate_server_config *cfg);

/* A new socket-less server with cfg (NULL: every default) into *out, which
 * the caller releases with dtlsgate_server_free(). Returns DTLSGATE_OK, or
 * DTLSGATE_E_INVALID_ARGUMENT (out NULL; cfg->size 0 or ending inside a
 * field; non-zero bytes
 * beyond the struct this library knows; a limit over INT32_MAX, a
 * handshake deadline over DTLSGATE_HANDSHAKE_DEADLINE_MAX, an MTU hint
 * not 0 or 256..65507; an unknown cipher name, an unavailable cookie hash,
 * both a verifier and a secret, NULL with a non-zero length), or
 * DTLSGATE_E_BAD_HANDLE (cfg->verifier not a live verifier), or
 * DTLSGATE_E_IO (no eventfd could be made). *out is NULL on failure. */
int dtlsgate_server_new(const dtlsgate_server_config *cfg, dtlsgate_server **out);

/* Stops a managed server (close_notify to every connected peer, waiting
 * for its threads), forgets every session without telling the peers in
 * socket-less mode (dtlsgate_server_shutdown() first for that), wipes the
 * keys, closes dtlsgate_server_fd() and releases the server: event
 * pointers from dtlsgate_server_poll() are invalid afterwards. A poll
 * waiting on another thread returns DTLSGATE_E_BAD_HANDLE. NULL, an
 * already freed handle or a handle of another kind is a no-op, and so is
 * a call from inside the server's own PSK callback. */
void dtlsgate_server_free(dtlsgate_server *srv);

/* The key table, looked up first for a client's identity. Shared by the
 * workers of a managed server; changes apply to handshakes that ask
 * afterwards. Keys are copied, and wiped when removed or replaced.
 * set_psk adds or changes identity's key: DTLSGATE_OK, or
 * DTLSGATE_E_INVALID_ARGUMENT (empty identity, empty key or one longer
 * than DTLSGATE_PSK_MAX_KEY, NULL with a non-zero length).
 * remove_psk returns 1 if identity was there, 0 if not.
 * load_psk_file replaces the whole table, at once, with a file of
 * `identity:hexkey` lines (GnuTLS psktool's format; call it again to
 * reload): DTLSGATE_OK, DTLSGATE_E_IO (the file cannot be read), or
 * DTLSGATE_E_INVALID_ARGUMENT (path NULL; a malformed line, a bad key or
 * a duplicate identity: the table is left as it was, and
 * dtlsgate_last_error_message() names the file and the line).
 * All three: DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_BUSY. */
int dtlsgate_server_set_psk(dtlsgate_server *srv, const uint8_t *identity, size_t identity_len,
                            const uint8_t *key, size_t key_len);
int dtlsgate_server_remove_psk(dtlsgate_server *srv, const uint8_t *identity,
                               size_t identity_len);
int dtlsgate_server_load_psk_file(dtlsgate_server *srv, const char *path);

/* Answers a pending key request (a PSK_REQUEST event, or a callback that
 * returned DTLSGATE_PSK_PENDING) for (peer, identity): the handshake goes
 * on with the key; an empty key refuses the client, as refuse_psk does.
 * Returns DTLSGATE_OK, DTLSGATE_E_NOT_FOUND (socket-less: no such request
 * waits; it timed out or was evicted; a managed server cannot tell and
 * returns DTLSGATE_OK), DTLSGATE_E_INVALID_ARGUMENT (peer not AF_INET or
 * AF_INET6 or too short, key longer than DTLSGATE_PSK_MAX_KEY, NULL with a
 * non-zero length), DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_BUSY. */
int dtlsgate_server_resolve_psk(dtlsgate_server *srv, const struct sockaddr *peer,
                                socklen_t peer_len, const uint8_t *identity,
                                size_t identity_len, const uint8_t *key, size_t key_len);
int dtlsgate_server_refuse_psk(dtlsgate_server *srv, const struct sockaddr *peer,
                               socklen_t peer_len, const uint8_t *identity,
                               size_t identity_len);

/* Socket-less mode: one datagram that arrived from peer (as recvfrom(2)
 * filled it in; an IPv4-mapped IPv6 peer counts as IPv4). What is to be
 * sent waits for dtlsgate_server_next_outgoing(), events for
 * dtlsgate_server_poll(). The datagram is not kept. Returns DTLSGATE_OK
 * (also for a datagram dropped as garbage, counted in the stats),
 * DTLSGATE_E_INVALID_ARGUMENT (peer NULL, not AF_INET or AF_INET6 or
 * shorter than its family's struct; NULL dgram with a non-zero length, or
 * longer than DTLSGATE_MAX_INPUT), DTLSGATE_E_INVALID_STATE (the server
 * listens), DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_BUSY. */
int dtlsgate_server_input(dtlsgate_server *srv, const struct sockaddr *peer, socklen_t peer_len,
                          const uint8_t *dgram, size_t dgram_len);

/* Socket-less mode: takes the next datagram to send, oldest first, into
 * (buf, *len), and its destination into *to (AF_INET for IPv4 peers, which
 * Linux also accepts on a dual-stack AF_INET6 socket) and *to_len.
 * Returns 1, 0 when none waits (*len set to 0), or
 * DTLSGATE_E_BUFFER_TOO_SMALL with *len the size needed and the datagram
 * left queued (DTLSGATE_MAX_DATAGRAM bytes always do). Other negatives:
 * DTLSGATE_E_INVALID_ARGUMENT (len, to or to_len NULL),
 * DTLSGATE_E_INVALID_STATE, DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_BUSY. */
int dtlsgate_server_next_outgoing(dtlsgate_server *srv, uint8_t *buf, size_t *len,
                                  struct sockaddr_storage *to, socklen_t *to_len);

/* Socket-less mode: milliseconds until dtlsgate_server_handle_timers() is
 * due into *ms (rounded up, 0 when already due): retransmissions,
 * handshake deadlines, idle timeouts. Returns 1 while a timer runs, 0 when
 * none does (*ms set to 0). Negative: DTLSGATE_E_INVALID_ARGUMENT (ms
 * NULL), DTLSGATE_E_INVALID_STATE, DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_BUSY. */
int dtlsgate_server_next_timeout(dtlsgate_server *srv, uint32_t *ms);

/* Socket-less mode: serves every timer that is due. Returns DTLSGATE_OK,
 * DTLSGATE_E_INVALID_STATE, DTLSGATE_E_BAD_HANDLE or DTLSGATE_E_BUSY. */
int dtlsgate_server_handle_timers(dtlsgate_server *srv);

/* Managed mode: opens the sockets on address ("host:port", numeric or a
 * name; port 0 picks a free one, "[::]:port" is dual stack) and starts the
 * workers. The server must not have been fed datagrams and must not have a
 * psk_callback. Returns DTLSGATE_OK, DTLSGATE_E_IO (the address cannot be
 * bound), DTLSGATE_E_INVALID_ARGUMENT (address NULL or not host:port, a
 * psk_callback), DTLSGATE_E_INVALID_STATE (listened before, or sessions
 * exist), DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_BUSY. */
int dtlsgate_server_listen(dtlsgate_server *srv, const char *address);

/* Managed mode: the address the sockets are bound to, into (addr,
 * *addr_len) as getsockname(2) gives it. Returns DTLSGATE_OK,
 * DTLSGATE_E_INVALID_ARGUMENT (NULL), DTLSGATE_E_INVALID_STATE (not
 * listening), DTLSGATE_E_BAD_HANDLE. */
int dtlsgate_server_local_address(dtlsgate_server *srv, struct sockaddr_storage *addr,
                                  socklen_t *addr_len);

/* Managed mode: sends close_notify to every connected peer, closes the
 * sockets and waits for the workers; a Closed event
 * (DTLSGATE_SERVER_CLOSED_SHUTDOWN) follows for each peer. The server
 * cannot listen again. Returns DTLSGATE_OK (also when it already
 * stopped), DTLSGATE_E_INVALID_STATE (never listened),
 * DTLSGATE_E_BAD_HANDLE. */
int dtlsgate_server_stop(dtlsgate_server *srv);

/* Encrypts data as one record to a connected peer: socket-less, it waits
 * for next_outgoing; managed, the peer's worker sends it. Returns
 * DTLSGATE_OK, DTLSGATE_E_NOT_FOUND (no connected session with peer),
 * DTLSGATE_E_INVALID_ARGUMENT (empty, more than 16384 bytes, NULL, a bad
 * peer), DTLSGATE_E_BAD_HANDLE, DTLSGATE_E_BUSY. */
int dtlsgate_server_send(dtlsgate_server *srv, const struct sockaddr *peer, socklen_t peer_len,
                         const uint8_t *data, size_t data_len);

/* Ends the connection with peer (close_notify); a Closed event
 * (DTLSGATE_SERVER_CLOSED_BY_APP) follows. Same returns as send. */
int dtlsgate_server_close(dtlsgate_server *srv, const struct sockaddr *peer, socklen_t peer_len);

/* Sends close_notify to every connected peer and forgets every session;
 * each connected peer gets a Closed event (DTLSGATE_SERVER_CLOSED_SHUTDOWN).
 * A socket-less server can go on taking clients; a managed one stops as
 * with dtlsgate_server_stop(). Returns DTLSGATE_OK, DTLSGATE_E_BAD_HANDLE,
 * DTLSGATE_E_BUSY. */
int dtlsgate_server_shutdown(dtlsgate_server *srv);

/* Event types. */
#define DTLSGATE_SERVER_EVENT_CONNECTED 1   /* a handshake completed */
#define DTLSGATE_SERVER_EVENT_DATA 2        /* application data arrived */
#define DTLSGATE_SERVER_EVENT_CLOSED 3      /* a connected session ended */
#define DTLSGATE_SERVER_EVENT_PSK_REQUEST 4 /* the key of identity is asked for */
#define DTLSGATE_SERVER_EVENT_MOVED 5       /* a peer's address changed (connection IDs) */

/* Why a session ended (dtlsgate_server_event.reason). */
#define DTLSGATE_SERVER_CLOSED_BY_PEER 1  /* the peer sent close_notify */
#define DTLSGATE_SERVER_CLOSED_FATAL 2    /* a fatal alert or error (message says) */
#define DTLSGATE_SERVER_CLOSED_BY_APP 3   /* dtlsgate_server_close() */
#define DTLSGATE_SERVER_CLOSED_IDLE 4     /* idle_timeout_ms */
#define DTLSGATE_SERVER_CLOSED_EVICTED 5  /* made room for a newcomer (max_sessions) */
#define DTLSGATE_SERVER_CLOSED_REPLACED 6 /* the client restarted and connected again */
#define DTLSGATE_SERVER_CLOSED_SHUTDOWN 7 /* dtlsgate_server_shutdown() or _stop() */

/* One event. Pointers point into the server's memory and stay valid until
 * the next dtlsgate_server_poll() on the server or dtlsgate_server_free();
 * those a type does not use are NULL with a length of 0. Only a peer that
 * got CONNECTED gets CLOSED. */
typedef struct dtlsgate_server_event {
    int type;                      /* DTLSGATE_SERVER_EVENT_* */
    int reason;                    /* CLOSED: DTLSGATE_SERVER_CLOSED_* */
    struct sockaddr_storage peer;  /* AF_INET or AF_INET6 */
    socklen_t peer_len;
    const uint8_t *identity;       /* CONNECTED, PSK_REQUEST: the client's identity */
    size_t identity_len;
    const char *cipher;            /* CONNECTED: the suite's OpenSSL name (static) */
    const uint8_t *data;           /* DATA: the plaintext */
    size_t data_len;
    const char *message;           /* CLOSED: what the session said, or "" */
    /* MOVED: a record with a connected peer's connection ID came from peer,
     * authenticated and newer than any before it (RFC 9146 section 6);
     * old_peer is where the peer was, and the server sends to peer from
     * now on, dtlsgate_server_send() and _close() taking peer. Forged,
     * replayed and delayed records move nothing (stats.refused_moves). See
     * dtlsgate_session_move_peer() on checking that peer receives there. */
    struct sockaddr_storage old_peer;
    socklen_t old_peer_len;
    /* CONNECTED: the connection ID the server gave the session, which the
     * client's records carry; NULL with a length of 0 without one. */
    const uint8_t *connection_id;
    size_t connection_id_len;
} dtlsgate_server_event;

/* Takes up to max waiting events into events[0..max-1], oldest first,
 * waiting for one up to timeout_ms (0: do not wait; -1: for ever).
 * Returns how many were taken (0 on timeout), or DTLSGATE_E_INVALID_ARGUMENT
 * (events NULL with max > 0, max < 0, timeout_ms < -1),
 * DTLSGATE_E_BAD_HANDLE (also when the server is freed meanwhile),
 * DTLSGATE_E_BUSY. Calls on other threads go on while it waits; two polls
 * at once take turns. At most 4096 events wait for the application: DATA
 * events beyond that are dropped (counted in stats.dropped_buffered);
 * CONNECTED, CLOSED and PSK_REQUEST, which the session limits bound, are
 * always kept, and so is MOVED (one per authenticated record that moved a
 * session), so that the application always knows where its peers are. */
int dtlsgate_server_poll(dtlsgate_server *srv, dtlsgate_server_event *events, int max,
                         int timeout_ms);

/* A descriptor that is readable exactly while events wait to be polled (an
 * eventfd). It is the server's: do not read, write or close it. Returns
 * it (>= 0) or DTLSGATE_E_BAD_HANDLE. */
int dtlsgate_server_fd(const dtlsgate_server *srv);

/* What the server did, and each limit every time it bit. Versioned by
 * size like the config: set size to sizeof(dtlsgate_server_stats); fields
 * within it are filled. */
typedef struct dtlsgate_server_stats {
    size_t size;
    uint64_t datagrams;            /* received */
    uint64_t hello_verifies;       /* HelloVerifyRequests sent */
    uint64_t dropped_stranger;     /* from a peer without a session, not a ClientHello */
    uint64_t dropped_bad_peer;     /* from an address no reply can go to */
    uint64_t dropped_too_large;    /* managed: over the largest datagram read */
    uint64_t handshakes_started;   /* a verified ClientHello created state */
    uint64_t handshakes_completed;
    uint64_t handshakes_failed;    /* refused, or failed with an alert */
    uint64_t handshake_timeouts;   /* the deadline or the retransmissions ran out */
    uint64_t restarts;             /* a new handshake from a connected address */
    uint64_t duplicate_hellos;     /* a copy of the ClientHello a session started from */
    uint64_t evicted_half_open;    /* max_half_open: the oldest handshake made room */
    uint64_t evicted_half_open_per_ip; /* max_half_open_per_ip */
    uint64_t evicted_idle;         /* max_sessions: an idle session made room */
    uint64_t evicted_for_session;  /* max_sessions: a handshake made room */
    uint64_t refused_full;         /* max_sessions: only active sessions, refused */
    uint64_t idle_timeouts;        /* idle_timeout_ms closed a session */
    uint64_t dropped_buffered;     /* max_buffered_bytes or the event queue: data dropped */
    uint64_t sessions;             /* held now, handshakes included */
    uint64_t half_open;            /* handshakes in progress now */
    /* Connection IDs. */
    uint64_t dropped_unknown_cid;  /* a tls12_cid record with an ID no session holds */
    uint64_t moves;                /* MOVED events: a session followed its peer */
    uint64_t refused_moves;        /* from a new address with a known ID, but forged,
                                    * replayed or older than the newest record */
    uint64_t routed_cid;           /* managed: a record passed to the worker holding its
                                    * ID (a NAT rebinding took it to another socket),
                                    * which counts it in datagrams again */
} dtlsgate_server_stats;

/* Fills the fields of stats within stats->size. Returns DTLSGATE_OK,
 * DTLSGATE_E_INVALID_ARGUMENT (stats NULL, size 0), DTLSGATE_E_BAD_HANDLE,
 * DTLSGATE_E_BUSY. A managed server's counters are as of its workers'
 * latest batch. */
int dtlsgate_server_get_stats(const dtlsgate_server *srv, dtlsgate_server_stats *stats);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DTLSGATE_H */
