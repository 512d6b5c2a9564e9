/* SPDX-License-Identifier: MIT */
/*
 * test_api.c - the C API of dtlsgate, tested against what include/dtlsgate.h
 * documents. Runs from the repository root (the corpus is read from
 * tests/corpus, or from $DTLSGATE_CORPUS).
 *
 * Usage: test_api            every test
 *        test_api --quick    skip the sleep-based and threaded tests
 *                            (also when $DTLSGATE_TEST_QUICK is set)
 *
 * Prints "N passed, M failed" last; exits non-zero on any failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dtlsgate.h"
#include "check.h"
#include "udp.h"
#include "dtls_bytes.h"

#define MSG_INPUT "A valid UDP socket, non-empty datagram, and valid address/port were expected"
#define MSG_MCAST "Multicast and broadcast addresses are not supported"
#define MSG_EMPTY_SECRET "Invalid (empty) secret"

/* ------------------------------------------------------------------------
 * Corpus and datagram helpers
 * ---------------------------------------------------------------------- */

#define MAX_CORPUS 32
#define BIG 70000

typedef struct {
    char name[64];
    uint8_t data[2048];
    size_t len;
} hello_t;

static hello_t corpus[MAX_CORPUS];
static int ncorpus;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const hello_t *)a)->name, ((const hello_t *)b)->name);
}

static void load_corpus(void)
{
    const char *dir = getenv("DTLSGATE_CORPUS");
    DIR *d;
    struct dirent *e;
    if (!dir)
        dir = "tests/corpus";
    d = opendir(dir);
    if (!CHECK(d != NULL)) {
        fprintf(stderr, "    cannot open %s (run from the repository root)\n", dir);
        return;
    }
    while ((e = readdir(d)) != NULL && ncorpus < MAX_CORPUS) {
        size_t n = strlen(e->d_name);
        char path[4096];
        FILE *f;
        hello_t *h = &corpus[ncorpus];
        if (n < 5 || strcmp(e->d_name + n - 4, ".bin") != 0 || n >= sizeof h->name)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        f = fopen(path, "rb");
        if (!CHECK(f != NULL))
            continue;
        memcpy(h->name, e->d_name, n + 1);
        h->len = fread(h->data, 1, sizeof h->data, f);
        fclose(f);
        ncorpus++;
    }
    closedir(d);
    qsort(corpus, (size_t)ncorpus, sizeof corpus[0], by_name);
    CHECK(ncorpus >= 6);
}

/* A ClientHello that is a well-formed single record carrying the whole
 * message in one fragment, as every corpus file is. */
static int plain_hello(const uint8_t *h, size_t len)
{
    return len > 25 && h[0] == 22 && dtls_get16(h + 11) == len - 13 && h[13] == 1 &&
           dtls_get24(h + 14) == len - 25 && dtls_get24(h + 19) == 0 &&
           dtls_get24(h + 22) == len - 25 && dtls_cookie_offset(h, len) != 0;
}

/* The ClientHello h rebuilt with the given cookie, as a client's second
 * flight (dtls_hello_with_cookie: record, handshake and fragment lengths
 * fixed up); when `next` is set, the record sequence number goes up by one
 * and message_seq is 1, as real clients do. Returns the new length. */
static size_t with_cookie(const uint8_t *h, size_t len, const uint8_t *cookie, size_t clen,
                          uint8_t *out, int next)
{
    size_t n = dtls_hello_with_cookie(h, len, cookie, clen, out);
    int i;
    if (n && next) {
        for (i = 10; i >= 5; i--)
            if (++out[i] != 0)
                break;
        dtls_put16(out + 17, 1);
    }
    return n;
}

/* What is wrong with a HelloVerifyRequest r sent in answer to the ClientHello
 * `hello`, or NULL if nothing. The layout is RFC 6347's plus DESIGN.md's:
 * version FE FF in the record and the body, epoch and sequence number copied,
 * message_seq 0, one fragment, a cookie of 1..32 bytes, and never larger than
 * the datagram that caused it. */
static const char *hvr_problem(const uint8_t *r, size_t n, const uint8_t *hello, size_t hlen)
{
    if (n < 28)
        return "shorter than 28 bytes";
    if (r[0] != 22)
        return "record content type is not handshake (22)";
    if (r[1] != 0xFE || r[2] != 0xFF)
        return "record version is not FE FF";
    if (hlen < 11 || memcmp(r + 3, hello + 3, 8) != 0)
        return "epoch and sequence number are not the ClientHello's";
    if (dtls_get16(r + 11) != n - 13)
        return "record length does not match the datagram";
    if (r[13] != 3)
        return "handshake type is not hello_verify_request (3)";
    if (dtls_get24(r + 14) != n - 25)
        return "handshake length does not match";
    if (dtls_get16(r + 17) != 0)
        return "message_seq is not 0";
    if (dtls_get24(r + 19) != 0)
        return "fragment offset is not 0";
    if (dtls_get24(r + 22) != n - 25)
        return "fragment length does not match";
    if (r[25] != 0xFE || r[26] != 0xFF)
        return "server_version is not FE FF";
    if (r[27] == 0)
        return "empty cookie";
    if (r[27] > DTLSGATE_COOKIE_MAX)
        return "cookie longer than 32 bytes";
    if (n != 28 + (size_t)r[27])
        return "length is not 28 + cookie length";
    if (n > hlen)
        return "larger than the datagram it answers";
    return NULL;
}

static int check_hvr(const uint8_t *r, long n, const uint8_t *hello, size_t hlen,
                     const char *file, int line)
{
    const char *p = n < 0 ? "no reply received" : hvr_problem(r, (size_t)n, hello, hlen);
    if (!p) {
        check_passed++;
        return 1;
    }
    check_fail_header(file, line, "not a valid HelloVerifyRequest");
    fprintf(stderr, "    %s\n", p);
    if (n >= 0)
        check_dump("reply", r, (size_t)n);
    return 0;
}
#define CHECK_HVR(r, n, h, hl) check_hvr((r), (long)(n), (h), (hl), __FILE__, __LINE__)

/* The cookie of a HelloVerifyRequest that passed CHECK_HVR. */
static const uint8_t *hvr_cookie(const uint8_t *r, size_t *clen)
{
    *clen = r[27];
    return r + 28;
}

/* The same, copied into cookie; its length. */
static size_t take_cookie(const uint8_t *r, uint8_t *cookie)
{
    memcpy(cookie, r + 28, r[27]);
    return r[27];
}

/* Expected cookie length per DESIGN.md, cookie format v1: key id (1),
 * time (4) and the HMAC truncated to min(digest size, 27). */
static size_t expected_cookie_len(int alg)
{
    static const int digest[23] = {16, 16, 20, 28, 32, 48, 64, 28, 32, 48, 64, 28,
                                   32, 48, 64, 20, 32, 48, 64, 16, 20, 28, 32};
    int d = digest[alg];
    return 5 + (size_t)(d < 27 ? d : 27);
}

/* ------------------------------------------------------------------------
 * Sockets
 * ---------------------------------------------------------------------- */

/* One datagram from fd within 3 s, or -1. */
static long recv_wait(int fd, uint8_t *buf, size_t cap, struct sockaddr_storage *from,
                      socklen_t *fromlen)
{
    struct pollfd p;
    struct sockaddr_storage dummy;
    socklen_t dlen = sizeof dummy;
    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    if (poll(&p, 1, 3000) != 1)
        return -1;
    if (!from) {
        from = &dummy;
        fromlen = &dlen;
    }
    return (long)recvfrom(fd, buf, cap, MSG_DONTWAIT, (struct sockaddr *)from, fromlen);
}

static uint16_t port_of(const struct sockaddr_storage *s)
{
    if (s->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)s)->sin_port);
    if (s->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)s)->sin6_port);
    return 0;
}

/* 1 if nothing was sent from srv to cli since the last receive: srv sends a
 * marker and the marker must be the next datagram cli gets. Whatever came
 * before the marker is drained, so later receives stay in step. */
static int nothing_sent(const udp_t *srv, const udp_t *cli)
{
    static const uint8_t mark[] = "dtlsgate-test-marker";
    uint8_t buf[2048];
    int first = 1, i;
    if (sendto(srv->fd, mark, sizeof mark, 0, (const struct sockaddr *)&cli->addr, cli->len) < 0)
        return 0;
    for (i = 0; i < 16; i++) {
        long n = recv_wait(cli->fd, buf, sizeof buf, NULL, NULL);
        if (n < 0)
            return 0;
        if ((size_t)n == sizeof mark && memcmp(buf, mark, sizeof mark) == 0)
            return first;
        first = 0;
    }
    return 0;
}

static void sin4(struct sockaddr_in *a, const char *ip, uint16_t port)
{
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    inet_pton(AF_INET, ip, &a->sin_addr);
}

static void sin6(struct sockaddr_in6 *a, const char *ip, uint16_t port)
{
    memset(a, 0, sizeof *a);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    inet_pton(AF_INET6, ip, &a->sin6_addr);
}

/* ------------------------------------------------------------------------
 * Small wrappers over the getters
 * ---------------------------------------------------------------------- */

/* verified_hello into buf; its length, or the (negative) status. */
static long hello_of(const dtlsgate_verifier *v, uint8_t *buf, size_t cap)
{
    size_t len = cap;
    int rc = dtlsgate_verifier_verified_hello(v, buf, &len);
    return rc ? rc : (long)len;
}

/* dtls_error_string, or a description of the failure to get it. */
static const char *errstr(const dtlsgate_verifier *v)
{
    static char buf[1024];
    size_t len = sizeof buf;
    int rc;
    memset(buf, 'X', sizeof buf);
    rc = dtlsgate_verifier_dtls_error_string(v, buf, &len);
    if (rc != DTLSGATE_OK) {
        snprintf(buf, sizeof buf, "<dtls_error_string returned %d>", rc);
    } else if (len >= sizeof buf || buf[len] != '\0' || strlen(buf) != len) {
        snprintf(buf, sizeof buf, "<dtls_error_string: bad length or NUL>");
    }
    return buf;
}

/* The verifier's parameters; 0 or the status. */
static int params_of(const dtlsgate_verifier *v, int *hash, uint8_t *secret, size_t *len)
{
    *len = BIG;
    return dtlsgate_verifier_cookie_generator_parameters(v, hash, secret, len);
}

/* check_address into reply; the result, and *rlen. */
static int check_addr(const dtlsgate_verifier *v, const uint8_t *d, size_t n, const char *ip,
                      uint16_t port, uint8_t *reply, size_t *rlen)
{
    *rlen = DTLSGATE_HELLO_VERIFY_REQUEST_MAX;
    return dtlsgate_verifier_check_address(v, d, n, ip, port, reply, rlen);
}

/* A cookie from v for (ip, port) through check_address; its length, 0 if
 * none. */
static size_t mint(const dtlsgate_verifier *v, const hello_t *h, const char *ip, uint16_t port,
                   uint8_t *cookie)
{
    uint8_t reply[DTLSGATE_HELLO_VERIFY_REQUEST_MAX];
    size_t rlen, clen;
    int rc = check_addr(v, h->data, h->len, ip, port, reply, &rlen);
    if (!CHECK_EQ(rc, DTLSGATE_CHECK_SEND_REPLY) || !CHECK_HVR(reply, rlen, h->data, h->len))
        return 0;
    clen = take_cookie(reply, cookie);
    return clen;
}

/* ------------------------------------------------------------------------
 * Version, strings, algorithms, defaults
 * ---------------------------------------------------------------------- */

static void test_version(void)
{
    check_context = "version";
    CHECK(dtlsgate_version() != NULL);
    CHECK_STR(dtlsgate_version(), DTLSGATE_VERSION);
    CHECK_EQ(dtlsgate_version_number(), DTLSGATE_VERSION_NUMBER);
    CHECK_EQ(DTLSGATE_VERSION_NUMBER, DTLSGATE_VERSION_MAJOR * 1000000 +
                                          DTLSGATE_VERSION_MINOR * 1000 + DTLSGATE_VERSION_PATCH);
}

static void test_strings(void)
{
    static const char *names[9] = {"NoError",
                                   "InvalidInputParameters",
                                   "InvalidOperation",
                                   "UnderlyingSocketError",
                                   "RemoteClosedConnectionError",
                                   "PeerVerificationError",
                                   "TlsInitializationError",
                                   "TlsFatalError",
                                   "TlsNonFatalError"};
    static const int unknown[] = {-10, -100, 9, 1000, INT_MIN, INT_MAX};
    const char *text[18];
    int i, j;
    check_context = "strings";
    /* -9..-1 and 0..8: 18 codes, each with its own non-empty text. */
    for (i = 0; i < 18; i++) {
        text[i] = dtlsgate_strerror(i - 9);
        if (CHECK(text[i] != NULL))
            CHECK(text[i][0] != '\0');
    }
    for (i = 0; i < 18; i++)
        for (j = i + 1; j < 18; j++)
            if (text[i] && text[j] && strcmp(text[i], text[j]) == 0) {
                CHECK(!"strerror texts are distinct");
                fprintf(stderr, "    codes %d and %d: \"%s\"\n", i - 9, j - 9, text[i]);
            }
    for (i = 0; i < 18; i++)
        if (text[i])
            CHECK(strcmp(text[i], "unknown error code") != 0);
    for (i = 0; i < (int)(sizeof unknown / sizeof unknown[0]); i++)
        CHECK_STR(dtlsgate_strerror(unknown[i]), "unknown error code");

    for (i = 0; i < 9; i++)
        CHECK_STR(dtlsgate_dtls_error_name(i), names[i]);
    CHECK(dtlsgate_dtls_error_name(-1) == NULL);
    CHECK(dtlsgate_dtls_error_name(9) == NULL);
    CHECK(dtlsgate_dtls_error_name(INT_MIN) == NULL);
    CHECK_EQ(DTLSGATE_NO_ERROR, 0);
    CHECK_EQ(DTLSGATE_TLS_NON_FATAL_ERROR, 8);
}

static void test_hash_supported(void)
{
    int a;
    check_context = "hash_supported";
    for (a = 0; a <= 22; a++) {
        int want = !(a == 7 || a == 9 || a == 19 || a == 20 || a == 21);
        if (!CHECK_EQ(dtlsgate_hash_supported(a), want))
            fprintf(stderr, "    algorithm %d\n", a);
    }
    CHECK_EQ(dtlsgate_hash_supported(-1), DTLSGATE_E_UNSUPPORTED);
    CHECK_EQ(dtlsgate_hash_supported(23), DTLSGATE_E_UNSUPPORTED);
    CHECK_EQ(dtlsgate_hash_supported(1000), DTLSGATE_E_UNSUPPORTED);
    CHECK_EQ(dtlsgate_hash_supported(INT_MIN), DTLSGATE_E_UNSUPPORTED);
}

static uint8_t default_secret[64];

static void test_defaults(void)
{
    int hash = -1, rc;
    size_t len = 0, i;
    uint8_t secret[64], again[64], vsecret[BIG];
    int nonzero = 0;
    dtlsgate_verifier *v;
    uint8_t buf[16];

    check_context = "defaults";
    rc = dtlsgate_default_cookie_generator_parameters(&hash, NULL, &len);
    CHECK_EQ(rc, DTLSGATE_E_BUFFER_TOO_SMALL);
    CHECK_EQ(len, 32);
    len = 0;
    hash = -1;
    rc = dtlsgate_default_cookie_generator_parameters(&hash, NULL, &len);
    CHECK_EQ(rc, DTLSGATE_E_BUFFER_TOO_SMALL);
    CHECK_EQ(len, 32);

    len = sizeof secret;
    CHECK_EQ(dtlsgate_default_cookie_generator_parameters(&hash, secret, &len), DTLSGATE_OK);
    CHECK_EQ(hash, DTLSGATE_HASH_SHA256);
    CHECK_EQ(len, 32);
    for (i = 0; i < 32; i++)
        nonzero |= secret[i];
    CHECK(nonzero);
    memcpy(default_secret, secret, 32);
    len = 32;
    CHECK_EQ(dtlsgate_default_cookie_generator_parameters(&hash, again, &len), DTLSGATE_OK);
    CHECK_MEM(again, len, secret, 32);

    len = 32;
    CHECK_EQ(dtlsgate_default_cookie_generator_parameters(NULL, secret, &len),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_default_cookie_generator_parameters(&hash, secret, NULL),
             DTLSGATE_E_INVALID_ARGUMENT);

    v = dtlsgate_verifier_new();
    if (!CHECK(v != NULL))
        return;
    CHECK_EQ(params_of(v, &hash, vsecret, &len), DTLSGATE_OK);
    CHECK_EQ(hash, DTLSGATE_HASH_SHA256);
    CHECK_MEM(vsecret, len, secret, 32);
    CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_NO_ERROR);
    CHECK_STR(errstr(v), "");
    CHECK_EQ(hello_of(v, buf, sizeof buf), 0);
    len = 0;
    CHECK_EQ(dtlsgate_verifier_verified_hello(v, NULL, &len), DTLSGATE_OK);
    CHECK_EQ(len, 0);
    {
        uint32_t s = 0, w = 7, k = 7;
        CHECK_EQ(dtlsgate_verifier_cookie_lifetime(v, &s), DTLSGATE_OK);
        CHECK_EQ(s, 60);
        s = 7;
        CHECK_EQ(dtlsgate_verifier_secret_rotation_interval(v, &s), DTLSGATE_OK);
        CHECK_EQ(s, 0);
        CHECK_EQ(dtlsgate_verifier_fleet_mode(v, &w, &k), 0);
    }
    dtlsgate_verifier_free(v);
}

/* ------------------------------------------------------------------------
 * Cookie generator parameters
 * ---------------------------------------------------------------------- */

static const char *const alg_names[23] = {
    "Md4",          "Md5",          "Sha1",         "Sha224",       "Sha256",
    "Sha384",       "Sha512",       "Keccak_224",   "Keccak_256",   "Keccak_384",
    "Keccak_512",   "RealSha3_224", "RealSha3_256", "RealSha3_384", "RealSha3_512",
    "Blake2b_160",  "Blake2b_256",  "Blake2b_384",  "Blake2b_512",  "Blake2s_128",
    "Blake2s_160",  "Blake2s_224",  "Blake2s_256"};

static void test_set_params(void)
{
    static const uint8_t s1[] = "first secret";
    static const uint8_t s2[5] = {0, 1, 0, 2, 0};
    dtlsgate_verifier *v = dtlsgate_verifier_new();
    int hash, a;
    size_t len;
    uint8_t secret[BIG];
    uint8_t *big;

    check_context = "set_cookie_generator_parameters";
    if (!CHECK(v != NULL))
        return;

    /* Success. */
    CHECK_EQ(dtlsgate_verifier_set_cookie_generator_parameters(v, DTLSGATE_HASH_SHA512, s1,
                                                               sizeof s1 - 1),
             1);
    CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_NO_ERROR);
    CHECK_STR(errstr(v), "");
    CHECK_EQ(params_of(v, &hash, secret, &len), DTLSGATE_OK);
    CHECK_EQ(hash, DTLSGATE_HASH_SHA512);
    CHECK_MEM(secret, len, s1, sizeof s1 - 1);

    /* Empty secret: refused, parameters kept. */
    CHECK_EQ(dtlsgate_verifier_set_cookie_generator_parameters(v, DTLSGATE_HASH_SHA1, s2, 0), 0);
    CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_INVALID_INPUT_PARAMETERS);
    CHECK_STR(errstr(v), MSG_EMPTY_SECRET);
    CHECK_EQ(dtlsgate_verifier_set_cookie_generator_parameters(v, DTLSGATE_HASH_SHA1, NULL, 0),
             0);
    CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_INVALID_INPUT_PARAMETERS);
    CHECK_STR(errstr(v), MSG_EMPTY_SECRET);
    CHECK_EQ(params_of(v, &hash, secret, &len), DTLSGATE_OK);
    CHECK_EQ(hash, DTLSGATE_HASH_SHA512);
    CHECK_MEM(secret, len, s1, sizeof s1 - 1);

    /* Success clears the error. Binary secret with NULs. */
    CHECK_EQ(dtlsgate_verifier_set_cookie_generator_parameters(v, DTLSGATE_HASH_MD5, s2,
                                                               sizeof s2),
             1);
    CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_NO_ERROR);
    CHECK_STR(errstr(v), "");
    CHECK_EQ(params_of(v, &hash, secret, &len), DTLSGATE_OK);
    CHECK_EQ(hash, DTLSGATE_HASH_MD5);
    CHECK_MEM(secret, len, s2, sizeof s2);

    /* Known but unavailable algorithms: refused, the message names them. */
    for (a = 0; a <= 22; a++) {
        const char *msg;
        if (dtlsgate_hash_supported(a) != 0)
            continue;
        CHECK_EQ(dtlsgate_verifier_set_cookie_generator_parameters(v, a, s1, sizeof s1 - 1), 0);
        CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_INVALID_INPUT_PARAMETERS);
        msg = errstr(v);
        if (!CHECK(strstr(msg, alg_names[a]) != NULL))
            fprintf(stderr, "    message \"%s\" does not name %s\n", msg, alg_names[a]);
    }
    CHECK_EQ(dtlsgate_verifier_set_cookie_generator_parameters(v, DTLSGATE_HASH_KECCAK_224, s1,
                                                               sizeof s1 - 1),
             0);
    CHECK(strstr(errstr(v), "Keccak_224") != NULL);
    /* Unknown algorithms. */
    CHECK_EQ(dtlsgate_verifier_set_cookie_generator_parameters(v, 99, s1, sizeof s1 - 1), 0);
    CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_INVALID_INPUT_PARAMETERS);
    CHECK(errstr(v)[0] != '\0');
    CHECK_EQ(dtlsgate_verifier_set_cookie_generator_parameters(v, -1, s1, sizeof s1 - 1), 0);
    CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_INVALID_INPUT_PARAMETERS);
    CHECK_EQ(params_of(v, &hash, secret, &len), DTLSGATE_OK);
    CHECK_EQ(hash, DTLSGATE_HASH_MD5);
    CHECK_MEM(secret, len, s2, sizeof s2);

    /* Argument errors. */
    CHECK_EQ(dtlsgate_verifier_set_cookie_generator_parameters(v, DTLSGATE_HASH_SHA256, NULL, 5),
             DTLSGATE_E_INVALID_ARGUMENT);
    big = calloc(DTLSGATE_MAX_INPUT + 1, 1);
    if (CHECK(big != NULL)) {
        big[0] = 1;
        CHECK_EQ(dtlsgate_verifier_set_cookie_generator_parameters(v, DTLSGATE_HASH_SHA256, big,
                                                                   DTLSGATE_MAX_INPUT + 1),
                 DTLSGATE_E_INVALID_ARGUMENT);
        CHECK_EQ(params_of(v, &hash, secret, &len), DTLSGATE_OK);
        CHECK_EQ(hash, DTLSGATE_HASH_MD5);
        CHECK_MEM(secret, len, s2, sizeof s2);
        CHECK_EQ(dtlsgate_verifier_set_cookie_generator_parameters(v, DTLSGATE_HASH_SHA256, big,
                                                                   DTLSGATE_MAX_INPUT),
                 1);
        CHECK_EQ(params_of(v, &hash, secret, &len), DTLSGATE_OK);
        CHECK_MEM(secret, len, big, DTLSGATE_MAX_INPUT);
        free(big);
    }
    CHECK_EQ(dtlsgate_verifier_cookie_generator_parameters(v, NULL, secret, &len),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_verifier_cookie_generator_parameters(v, &hash, secret, NULL),
             DTLSGATE_E_INVALID_ARGUMENT);
    dtlsgate_verifier_free(v);
}

/* Every available algorithm mints cookies of the documented size that verify;
 * a cookie made under one algorithm does not verify under another. */
static void test_all_algorithms(void)
{
    static const uint8_t s[] = "algorithm secret";
    const hello_t *h = &corpus[0];
    uint8_t cookie[64], hello2[4096], reply[DTLSGATE_HELLO_VERIFY_REQUEST_MAX];
    size_t clen, n2, rlen;
    int a;
    dtlsgate_verifier *v = dtlsgate_verifier_new(), *other = dtlsgate_verifier_new();

    check_context = "algorithms";
    if (!CHECK(v != NULL && other != NULL) || ncorpus == 0)
        return;
    CHECK_EQ(dtlsgate_verifier_set_cookie_generator_parameters(other, DTLSGATE_HASH_SHA256, s,
                                                               sizeof s - 1),
             1);
    for (a = 0; a <= 22; a++) {
        int hash;
        size_t len;
        uint8_t got[64];
        if (dtlsgate_hash_supported(a) != 1)
            continue;
        if (!CHECK_EQ(dtlsgate_verifier_set_cookie_generator_parameters(v, a, s, sizeof s - 1), 1))
            fprintf(stderr, "    algorithm %s\n", alg_names[a]);
        CHECK_EQ(params_of(v, &hash, got, &len), DTLSGATE_OK);
        CHECK_EQ(hash, a);
        clen = mint(v, h, "192.0.2.7", 5684, cookie);
        if (!CHECK_EQ(clen, expected_cookie_len(a)))
            fprintf(stderr, "    algorithm %s\n", alg_names[a]);
        if (clen == 0)
            continue;
        n2 = with_cookie(h->data, h->len, cookie, clen, hello2, 1);
        if (!CHECK_EQ(check_addr(v, hello2, n2, "192.0.2.7", 5684, reply, &rlen),
                      DTLSGATE_CHECK_VERIFIED))
            fprintf(stderr, "    algorithm %s\n", alg_names[a]);
        if (a != DTLSGATE_HASH_SHA256)
            CHECK_EQ(check_addr(other, hello2, n2, "192.0.2.7", 5684, reply, &rlen),
                     DTLSGATE_CHECK_SEND_REPLY);
    }
    dtlsgate_verifier_free(v);
    dtlsgate_verifier_free(other);
}

/* ------------------------------------------------------------------------
 * The cookie exchange over loopback sockets
 * ---------------------------------------------------------------------- */

static char context_buf[160];

static void set_context(const char *what, const char *name)
{
    snprintf(context_buf, sizeof context_buf, "%s %s", what, name);
    check_context = context_buf;
}

static int open_pair(int family, udp_t *srv, udp_t *cli, udp_t *cli2)
{
    const char *ip = family == AF_INET ? "127.0.0.1" : "::1";
    if (udp_open(family, ip, srv) != 0)
        return -1;
    if (udp_open(family, ip, cli) != 0 || udp_open(family, ip, cli2) != 0) {
        udp_close(srv);
        udp_close(cli);
        return -1;
    }
    return 0;
}

/* verify_client with (ip, port) given as a string. */
static void test_exchange(int family)
{
    const char *ip = family == AF_INET ? "127.0.0.1" : "::1";
    const char *fam = family == AF_INET ? "IPv4" : "IPv6";
    udp_t srv, cli, cli2;
    dtlsgate_verifier *v;
    uint8_t *buf = malloc(BIG), *got = malloc(BIG);
    int i;
    size_t j;

    if (!CHECK(buf && got))
        return;
    if (open_pair(family, &srv, &cli, &cli2) != 0) {
        if (family == AF_INET6) {
            printf("skip: no IPv6 loopback (%s)\n", strerror(errno));
            free(buf);
            free(got);
            return;
        }
        CHECK(!"open IPv4 loopback sockets");
        return;
    }
    v = dtlsgate_verifier_new();
    CHECK(v != NULL);

    for (i = 0; i < ncorpus; i++) {
        const hello_t *h = &corpus[i];
        uint8_t cookie[64], cookie2[64], hello2[4096], hello3[4096], bad[4096];
        size_t clen = 0, clen2, n2, n3;
        long n;
        struct sockaddr_storage from;
        socklen_t flen = sizeof from;
        const uint8_t *c;

        set_context(fam, h->name);
        if (!CHECK(plain_hello(h->data, h->len)))
            continue;
        /* First flight: no cookie -> HelloVerifyRequest. */
        CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, h->data, h->len, ip, cli.port), 0);
        CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_NO_ERROR);
        CHECK_STR(errstr(v), "");
        CHECK_EQ(hello_of(v, got, BIG), 0);
        n = recv_wait(cli.fd, buf, BIG, &from, &flen);
        if (!CHECK_HVR(buf, n, h->data, h->len))
            continue;
        CHECK_EQ(port_of(&from), srv.port);
        c = hvr_cookie(buf, &clen);
        memcpy(cookie, c, clen);
        CHECK(clen <= DTLSGATE_COOKIE_MAX);

        /* Second flight with the cookie -> verified, nothing sent. */
        n2 = with_cookie(h->data, h->len, cookie, clen, hello2, 1);
        CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, hello2, n2, ip, cli.port), 1);
        CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_NO_ERROR);
        CHECK_STR(errstr(v), "");
        n = hello_of(v, got, BIG);
        CHECK_MEM(got, (size_t)(n < 0 ? 0 : n), hello2, n2);
        CHECK(nothing_sent(&srv, &cli));
        /* Stateless: the same datagram verifies again; message_seq 0 too. */
        CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, hello2, n2, ip, cli.port), 1);
        n3 = with_cookie(h->data, h->len, cookie, clen, hello3, 0);
        CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, hello3, n3, ip, cli.port), 1);
        n = hello_of(v, got, BIG);
        CHECK_MEM(got, (size_t)(n < 0 ? 0 : n), hello3, n3);
        CHECK(nothing_sent(&srv, &cli));

        /* The same cookie from another port -> a new HelloVerifyRequest there. */
        CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, hello2, n2, ip, cli2.port), 0);
        CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_NO_ERROR);
        CHECK_EQ(hello_of(v, got, BIG), 0);
        n = recv_wait(cli2.fd, buf, BIG, NULL, NULL);
        if (CHECK_HVR(buf, n, hello2, n2)) {
            c = hvr_cookie(buf, &clen2);
            memcpy(cookie2, c, clen2);
            CHECK(clen2 != clen || memcmp(cookie, cookie2, clen) != 0);
            /* ...which is good for that port only. */
            n3 = with_cookie(h->data, h->len, cookie2, clen2, hello3, 1);
            CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, hello3, n3, ip, cli2.port), 1);
            CHECK(nothing_sent(&srv, &cli2));
            CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, hello3, n3, ip, cli.port), 0);
            n = recv_wait(cli.fd, buf, BIG, NULL, NULL);
            CHECK_HVR(buf, n, hello3, n3);
        }

        /* Every cookie byte flipped in turn -> rejected with a new cookie. */
        CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, hello2, n2, ip, cli.port), 1);
        for (j = 0; j < clen; j++) {
            size_t off = dtls_cookie_offset(hello2, n2) + 1 + j;
            memcpy(bad, hello2, n2);
            bad[off] ^= 0x01;
            if (!CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, bad, n2, ip, cli.port), 0))
                fprintf(stderr, "    cookie byte %zu flipped\n", j);
            CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_NO_ERROR);
            if (j == 0)
                CHECK_EQ(hello_of(v, got, BIG), 0);
            n = recv_wait(cli.fd, buf, BIG, NULL, NULL);
            CHECK_HVR(buf, n, bad, n2);
        }
        /* A truncated cookie and an empty one -> rejected. */
        n3 = with_cookie(h->data, h->len, cookie, clen - 1, hello3, 1);
        CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, hello3, n3, ip, cli.port), 0);
        n = recv_wait(cli.fd, buf, BIG, NULL, NULL);
        CHECK_HVR(buf, n, hello3, n3);
        n3 = with_cookie(h->data, h->len, cookie, 0, hello3, 1);
        CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, hello3, n3, ip, cli.port), 0);
        n = recv_wait(cli.fd, buf, BIG, NULL, NULL);
        CHECK_HVR(buf, n, hello3, n3);
        CHECK(nothing_sent(&srv, &cli));
    }
    check_context = "";
    dtlsgate_verifier_free(v);
    udp_close(&srv);
    udp_close(&cli);
    udp_close(&cli2);
    free(buf);
    free(got);
}

/* The real server loop: recvfrom, then verify_client_sockaddr with that
 * peer, for both flights. */
static void test_exchange_sockaddr(int family)
{
    const char *fam = family == AF_INET ? "IPv4 sockaddr" : "IPv6 sockaddr";
    udp_t srv, cli, cli2;
    dtlsgate_verifier *v;
    uint8_t *buf = malloc(BIG), *got = malloc(BIG);
    int i;

    if (!CHECK(buf && got))
        return;
    if (open_pair(family, &srv, &cli, &cli2) != 0) {
        printf("skip: %s loopback sockets (%s)\n", fam, strerror(errno));
        free(buf);
        free(got);
        CHECK(family == AF_INET6);
        return;
    }
    v = dtlsgate_verifier_new();
    for (i = 0; i < ncorpus; i++) {
        const hello_t *h = &corpus[i];
        struct sockaddr_storage peer, from;
        socklen_t plen = sizeof peer, flen = sizeof from;
        uint8_t hello2[4096], cookie[64];
        size_t clen, n2;
        long n;

        set_context(fam, h->name);
        sendto(cli.fd, h->data, h->len, 0, (struct sockaddr *)&srv.addr, srv.len);
        n = recv_wait(srv.fd, buf, BIG, &peer, &plen);
        if (!CHECK_EQ(n, (long)h->len))
            continue;
        CHECK_EQ(port_of(&peer), cli.port);
        CHECK_EQ(dtlsgate_verifier_verify_client_sockaddr(v, srv.fd, buf, (size_t)n,
                                                          (struct sockaddr *)&peer, plen),
                 0);
        CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_NO_ERROR);
        n = recv_wait(cli.fd, buf, BIG, &from, &flen);
        if (!CHECK_HVR(buf, n, h->data, h->len))
            continue;
        CHECK_EQ(port_of(&from), srv.port);
        clen = take_cookie(buf, cookie);

        n2 = with_cookie(h->data, h->len, cookie, clen, hello2, 1);
        sendto(cli.fd, hello2, n2, 0, (struct sockaddr *)&srv.addr, srv.len);
        plen = sizeof peer;
        n = recv_wait(srv.fd, buf, BIG, &peer, &plen);
        if (!CHECK_EQ(n, (long)n2))
            continue;
        CHECK_EQ(dtlsgate_verifier_verify_client_sockaddr(v, srv.fd, buf, (size_t)n,
                                                          (struct sockaddr *)&peer, plen),
                 1);
        CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_NO_ERROR);
        n = hello_of(v, got, BIG);
        CHECK_MEM(got, (size_t)(n < 0 ? 0 : n), hello2, n2);
        CHECK(nothing_sent(&srv, &cli));

        /* The same second flight from the other client's port. */
        sendto(cli2.fd, hello2, n2, 0, (struct sockaddr *)&srv.addr, srv.len);
        plen = sizeof peer;
        n = recv_wait(srv.fd, buf, BIG, &peer, &plen);
        if (!CHECK_EQ(n, (long)n2))
            continue;
        CHECK_EQ(dtlsgate_verifier_verify_client_sockaddr(v, srv.fd, buf, (size_t)n,
                                                          (struct sockaddr *)&peer, plen),
                 0);
        CHECK_EQ(hello_of(v, got, BIG), 0);
        n = recv_wait(cli2.fd, buf, BIG, NULL, NULL);
        CHECK_HVR(buf, n, hello2, n2);
    }
    check_context = "";
    dtlsgate_verifier_free(v);
    udp_close(&srv);
    udp_close(&cli);
    udp_close(&cli2);
    free(buf);
    free(got);
}

/* An IPv4 peer behind an AF_INET6 socket: the reply goes out IPv4-mapped,
 * and the peer is the same one whichever way it is written. */
static void test_mapped(void)
{
    udp_t srv, cli;
    dtlsgate_verifier *v;
    const hello_t *h = &corpus[0];
    uint8_t buf[4096], hello2[4096], cookie[64];
    size_t clen, n2;
    long n;
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;

    check_context = "IPv4-mapped";
    if (ncorpus == 0)
        return;
    if (udp_open(AF_INET6, "::ffff:127.0.0.1", &srv) != 0) {
        printf("skip: dual-stack socket (%s)\n", strerror(errno));
        return;
    }
    if (!CHECK(udp_open(AF_INET, "127.0.0.1", &cli) == 0)) {
        udp_close(&srv);
        return;
    }
    v = dtlsgate_verifier_new();
    CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, h->data, h->len, "127.0.0.1", cli.port),
             0);
    CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_NO_ERROR);
    CHECK_STR(errstr(v), "");
    n = recv_wait(cli.fd, buf, sizeof buf, NULL, NULL);
    if (CHECK_HVR(buf, n, h->data, h->len)) {
        clen = take_cookie(buf, cookie);
        n2 = with_cookie(h->data, h->len, cookie, clen, hello2, 1);
        CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, hello2, n2, "127.0.0.1", cli.port),
                 1);
        /* recvfrom on the v6 socket reports ::ffff:127.0.0.1 */
        {
            struct sockaddr_in to;
            sin4(&to, "127.0.0.1", srv.port);
            CHECK(sendto(cli.fd, hello2, n2, 0, (struct sockaddr *)&to, sizeof to) == (long)n2);
        }
        n = recv_wait(srv.fd, buf, sizeof buf, &peer, &plen);
        CHECK_EQ(peer.ss_family, AF_INET6);
        CHECK_EQ(dtlsgate_verifier_verify_client_sockaddr(v, srv.fd, buf, (size_t)(n < 0 ? 0 : n),
                                                          (struct sockaddr *)&peer, plen),
                 1);
        CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, hello2, n2, "::ffff:127.0.0.1",
                                                 cli.port),
                 1);
        CHECK(nothing_sent(&srv, &cli));
    }
    dtlsgate_verifier_free(v);
    udp_close(&srv);
    udp_close(&cli);
    check_context = "";
}

/* Datagrams that are not a usable ClientHello: 0, NoError, nothing sent,
 * verified_hello emptied. */
static void test_garbage(void)
{
    enum { NG = 24 };
    const hello_t *h = NULL;
    udp_t srv, cli, cli2;
    dtlsgate_verifier *v;
    uint8_t hello2[4096], cookie[64], got[4096];
    static uint8_t g[NG][4096];
    size_t glen[NG];
    const char *what[NG];
    size_t clen, n2, L, cf;
    long n;
    int i, k = 0;
    uint32_t x = 12345;

    check_context = "garbage";
    for (i = 0; i < ncorpus; i++)
        if (strcmp(corpus[i].name, "openssl_dtls12.bin") == 0)
            h = &corpus[i];
    if (!CHECK(h != NULL) || !CHECK(open_pair(AF_INET, &srv, &cli, &cli2) == 0))
        return;
    v = dtlsgate_verifier_new();
    CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, h->data, h->len, "127.0.0.1", cli.port),
             0);
    n = recv_wait(cli.fd, got, sizeof got, NULL, NULL);
    if (!CHECK_HVR(got, n, h->data, h->len))
        goto out;
    clen = take_cookie(got, cookie);
    n2 = with_cookie(h->data, h->len, cookie, clen, hello2, 1);
    L = h->len;
    cf = dtls_cookie_offset(h->data, L);

#define G(desc) (what[k] = (desc), glen[k] = L, memcpy(g[k], h->data, L), g[k++])
    G("one byte")[0] = 22, glen[k - 1] = 1;
    G("12 bytes, shorter than a record header"), glen[k - 1] = 12;
    G("record header only"), glen[k - 1] = 13;
    G("record header with length 0")[11] = 0, g[k - 1][12] = 0, glen[k - 1] = 13;
    G("content type 23 (application data)")[0] = 23;
    G("content type 21 (alert)")[0] = 21;
    G("content type 20 (change cipher spec)")[0] = 20;
    G("record version 03 03")[1] = 3, g[k - 1][2] = 3;
    G("epoch 1")[4] = 1;
    dtls_put16(G("record length one past the datagram") + 11, L - 13 + 1);
    G("handshake type 2 (server_hello)")[13] = 2;
    G("handshake type 3 (hello_verify_request)")[13] = 3;
    G("handshake type 11 (certificate)")[13] = 11;
    dtls_put16(G("message_seq 2") + 17, 2);
    dtls_put24(G("fragment offset 1 (not the first fragment)") + 19, 1);
    dtls_put24(G("fragment length past the record") + 22, L - 25 + 1);
    G("cookie length past the message")[cf] = 0xFF;
    /* A first fragment that ends before the cookie field. */
    dtls_put16(G("first fragment without the cookie field") + 11, cf - 13);
    dtls_put24(g[k - 1] + 22, cf - 25), glen[k - 1] = cf;
    G("record and handshake header, truncated body"), dtls_put16(g[k - 1] + 11, 20),
        glen[k - 1] = 33;
    G("handshake header cut short"), dtls_put16(g[k - 1] + 11, 5), glen[k - 1] = 18;
    memset(G("100 zero bytes"), 0, 100), glen[k - 1] = 100;
    {
        uint8_t *p = G("300 pseudo-random bytes");
        int b;
        for (b = 0; b < 300; b++) {
            x = x * 1103515245u + 12345u;
            p[b] = (uint8_t)(x >> 16);
        }
        p[0] = 0x17;
        glen[k - 1] = 300;
    }
    /* An application-data record first, the ClientHello second: only the
     * first record counts. */
    {
        uint8_t *p = G("application data record, then a ClientHello");
        p[0] = 23;
        p[1] = 0xFE;
        p[2] = 0xFD;
        memset(p + 3, 0, 8);
        dtls_put16(p + 11, 4);
        memset(p + 13, 0xAB, 4);
        memcpy(p + 17, hello2, n2);
        glen[k - 1] = 17 + n2;
    }
    G("a HelloVerifyRequest"), memcpy(g[k - 1], got, (size_t)n), glen[k - 1] = (size_t)n;
#undef G
    CHECK_EQ(k, NG);

    for (i = 0; i < k; i++) {
        set_context("garbage:", what[i]);
        /* Fill verified_hello, then leave an error behind. */
        CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, hello2, n2, "127.0.0.1", cli.port),
                 1);
        CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, hello2, n2, "127.0.0.1", 0), 0);
        CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_INVALID_INPUT_PARAMETERS);
        /* The garbage: ignored, error cleared, verified_hello emptied. */
        CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, g[i], glen[i], "127.0.0.1", cli.port),
                 0);
        CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_NO_ERROR);
        CHECK_STR(errstr(v), "");
        CHECK_EQ(hello_of(v, got, sizeof got), 0);
        CHECK(nothing_sent(&srv, &cli));
        /* check() says the same. */
        {
            uint8_t reply[DTLSGATE_HELLO_VERIFY_REQUEST_MAX];
            size_t rlen;
            CHECK_EQ(check_addr(v, g[i], glen[i], "127.0.0.1", cli.port, reply, &rlen),
                     DTLSGATE_CHECK_DROP);
        }
    }

    /* More records after a verified ClientHello: verified_hello is the whole
     * datagram. */
    set_context("garbage:", "ClientHello record followed by another record");
    memcpy(g[0], hello2, n2);
    g[0][n2] = 23;
    g[0][n2 + 1] = 0xFE;
    g[0][n2 + 2] = 0xFD;
    memset(g[0] + n2 + 3, 0, 8);
    dtls_put16(g[0] + n2 + 11, 3);
    memset(g[0] + n2 + 13, 0xCD, 3);
    CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, g[0], n2 + 16, "127.0.0.1", cli.port), 1);
    n = hello_of(v, got, sizeof got);
    CHECK_MEM(got, (size_t)(n < 0 ? 0 : n), g[0], n2 + 16);
    CHECK(nothing_sent(&srv, &cli));

    /* The largest datagram accepted: ignored, not refused. */
    {
        uint8_t *max = calloc(DTLSGATE_MAX_INPUT, 1);
        set_context("garbage:", "DTLSGATE_MAX_INPUT zero bytes");
        if (CHECK(max != NULL)) {
            CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, max, DTLSGATE_MAX_INPUT,
                                                     "127.0.0.1", cli.port),
                     0);
            CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_NO_ERROR);
            CHECK(nothing_sent(&srv, &cli));
            free(max);
        }
    }
out:
    check_context = "";
    dtlsgate_verifier_free(v);
    udp_close(&srv);
    udp_close(&cli);
    udp_close(&cli2);
}

/* Like Qt (OpenSSL's DTLSv1_listen), the verifier does not judge
 * client_version: a server has to accept versions above its own and pick
 * one in the handshake. Any version is answered, and its cookie verifies. */
static void test_any_client_version(void)
{
    static const uint16_t versions[] = {0xFEFC, 0xFE00, 0x0303, 0xFFFF};
    udp_t srv, cli, cli2;
    dtlsgate_verifier *v;
    uint8_t hello[2048], hello2[4096], got[4096], cookie[64];
    size_t i, len = corpus[0].len, n2, clen;
    long n;

    check_context = "client_version";
    if (!CHECK(open_pair(AF_INET, &srv, &cli, &cli2) == 0))
        return;
    v = dtlsgate_verifier_new();
    for (i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        memcpy(hello, corpus[0].data, len);
        dtls_put16(hello + 25, versions[i]);
        CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, hello, len, "127.0.0.1", cli.port), 0);
        CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_NO_ERROR);
        n = recv_wait(cli.fd, got, sizeof got, NULL, NULL);
        if (!CHECK_HVR(got, n, hello, len))
            continue;
        clen = take_cookie(got, cookie);
        n2 = with_cookie(hello, len, cookie, clen, hello2, 1);
        CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, hello2, n2, "127.0.0.1", cli.port),
                 1);
    }
    dtlsgate_verifier_free(v);
    udp_close(&srv);
    udp_close(&cli);
    udp_close(&cli2);
    check_context = "";
}

/* ------------------------------------------------------------------------
 * check() and check_address()
 * ---------------------------------------------------------------------- */

static void test_check(void)
{
    const hello_t *h = &corpus[0];
    dtlsgate_verifier *v = dtlsgate_verifier_new();
    struct sockaddr_in a4, a4other, bcast, mcast;
    struct sockaddr_in6 a6, a6mapped, mcast6;
    struct sockaddr_un un;
    uint8_t reply[128], reply2[128], cookie[64], hello2[4096], got[4096];
    size_t rlen, rlen2, clen, n2, need;
    udp_t srv, cli, cli2;
    long n;
    int rc;

    check_context = "check";
    if (!CHECK(v != NULL) || ncorpus == 0)
        return;
    sin4(&a4, "127.0.0.1", 40001);
    sin4(&a4other, "127.0.0.1", 40002);
    sin4(&bcast, "255.255.255.255", 40001);
    sin4(&mcast, "224.0.0.1", 40001);
    sin6(&a6, "::1", 40001);
    sin6(&a6mapped, "::ffff:127.0.0.1", 40001);
    sin6(&mcast6, "ff02::1", 40001);
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    strcpy(un.sun_path, "/tmp/dtlsgate-test");

    /* No cookie: SEND_REPLY with a HelloVerifyRequest. */
    rlen = sizeof reply;
    rc = dtlsgate_verifier_check(v, h->data, h->len, (struct sockaddr *)&a4, sizeof a4, reply,
                                 &rlen);
    CHECK_EQ(rc, DTLSGATE_CHECK_SEND_REPLY);
    if (!CHECK_HVR(reply, rlen, h->data, h->len))
        goto out;
    clen = take_cookie(reply, cookie);
    n2 = with_cookie(h->data, h->len, cookie, clen, hello2, 1);
    need = rlen;

    /* Too small: nothing written, the size needed reported. */
    rlen = 0;
    CHECK_EQ(dtlsgate_verifier_check(v, h->data, h->len, (struct sockaddr *)&a4, sizeof a4, NULL,
                                     &rlen),
             DTLSGATE_E_BUFFER_TOO_SMALL);
    CHECK_EQ(rlen, need);
    memset(reply2, 0xAA, sizeof reply2);
    rlen = need - 1;
    CHECK_EQ(dtlsgate_verifier_check(v, h->data, h->len, (struct sockaddr *)&a4, sizeof a4,
                                     reply2, &rlen),
             DTLSGATE_E_BUFFER_TOO_SMALL);
    CHECK_EQ(rlen, need);
    for (rlen2 = 0; rlen2 < sizeof reply2 && reply2[rlen2] == 0xAA; rlen2++)
        ;
    CHECK_EQ(rlen2, sizeof reply2);
    rlen = need;
    CHECK_EQ(dtlsgate_verifier_check(v, h->data, h->len, (struct sockaddr *)&a4, sizeof a4,
                                     reply2, &rlen),
             DTLSGATE_CHECK_SEND_REPLY);
    CHECK_EQ(rlen, need);
    CHECK_HVR(reply2, rlen, h->data, h->len);
    rlen = DTLSGATE_HELLO_VERIFY_REQUEST_MAX;
    CHECK_EQ(dtlsgate_verifier_check(v, h->data, h->len, (struct sockaddr *)&a4, sizeof a4,
                                     reply2, &rlen),
             DTLSGATE_CHECK_SEND_REPLY);

    /* With the cookie: VERIFIED, no reply; with a NULL buffer too. */
    rlen = sizeof reply2;
    CHECK_EQ(dtlsgate_verifier_check(v, hello2, n2, (struct sockaddr *)&a4, sizeof a4, reply2,
                                     &rlen),
             DTLSGATE_CHECK_VERIFIED);
    CHECK_EQ(rlen, 0);
    rlen = 0;
    CHECK_EQ(dtlsgate_verifier_check(v, hello2, n2, (struct sockaddr *)&a4, sizeof a4, NULL,
                                     &rlen),
             DTLSGATE_CHECK_VERIFIED);
    CHECK_EQ(rlen, 0);
    /* The address string form agrees, IPv4-mapped is the same peer, another
     * port or an IPv6 peer is not. */
    CHECK_EQ(check_addr(v, hello2, n2, "127.0.0.1", 40001, reply2, &rlen),
             DTLSGATE_CHECK_VERIFIED);
    CHECK_EQ(rlen, 0);
    rlen = sizeof reply2;
    CHECK_EQ(dtlsgate_verifier_check(v, hello2, n2, (struct sockaddr *)&a6mapped,
                                     sizeof a6mapped, reply2, &rlen),
             DTLSGATE_CHECK_VERIFIED);
    CHECK_EQ(check_addr(v, hello2, n2, "::ffff:127.0.0.1", 40001, reply2, &rlen),
             DTLSGATE_CHECK_VERIFIED);
    rlen = sizeof reply2;
    CHECK_EQ(dtlsgate_verifier_check(v, hello2, n2, (struct sockaddr *)&a4other, sizeof a4other,
                                     reply2, &rlen),
             DTLSGATE_CHECK_SEND_REPLY);
    CHECK_HVR(reply2, rlen, hello2, n2);
    rlen = sizeof reply2;
    CHECK_EQ(dtlsgate_verifier_check(v, hello2, n2, (struct sockaddr *)&a6, sizeof a6, reply2,
                                     &rlen),
             DTLSGATE_CHECK_SEND_REPLY);
    CHECK_EQ(check_addr(v, hello2, n2, "127.0.0.2", 40001, reply2, &rlen),
             DTLSGATE_CHECK_SEND_REPLY);
    /* IPv6 both ways, and a scoped address. */
    clen = mint(v, h, "::1", 40001, cookie);
    if (clen) {
        n2 = with_cookie(h->data, h->len, cookie, clen, hello2, 1);
        rlen = sizeof reply2;
        CHECK_EQ(dtlsgate_verifier_check(v, hello2, n2, (struct sockaddr *)&a6, sizeof a6,
                                         reply2, &rlen),
                 DTLSGATE_CHECK_VERIFIED);
    }
    CHECK_EQ(check_addr(v, h->data, h->len, "fe80::1%lo", 40001, reply2, &rlen),
             DTLSGATE_CHECK_SEND_REPLY);
    /* Garbage: DROP, and nothing to send. */
    rlen = sizeof reply2;
    CHECK_EQ(check_addr(v, h->data, 20, "127.0.0.1", 40001, reply2, &rlen), DTLSGATE_CHECK_DROP);
    CHECK_EQ(rlen, 0);

    /* Invalid arguments. */
    rlen = sizeof reply2;
#define CHK(d, n, sa, salen, r, rl) \
    dtlsgate_verifier_check(v, d, n, (const struct sockaddr *)(sa), salen, r, rl)
    CHECK_EQ(CHK(NULL, 10, &a4, sizeof a4, reply2, &rlen), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(CHK(NULL, 0, &a4, sizeof a4, reply2, &rlen), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(CHK(h->data, 0, &a4, sizeof a4, reply2, &rlen), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(CHK(h->data, h->len, &a4, sizeof a4, reply2, NULL), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(CHK(h->data, h->len, NULL, sizeof a4, reply2, &rlen), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(CHK(h->data, h->len, &un, sizeof un, reply2, &rlen), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(CHK(h->data, h->len, &a4, sizeof a4 - 1, reply2, &rlen),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(CHK(h->data, h->len, &a6, sizeof a6 - 1, reply2, &rlen),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(CHK(h->data, h->len, &bcast, sizeof bcast, reply2, &rlen),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(CHK(h->data, h->len, &mcast, sizeof mcast, reply2, &rlen),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(CHK(h->data, h->len, &mcast6, sizeof mcast6, reply2, &rlen),
             DTLSGATE_E_INVALID_ARGUMENT);
    a4other.sin_port = 0;
    CHECK_EQ(CHK(h->data, h->len, &a4other, sizeof a4other, reply2, &rlen),
             DTLSGATE_E_INVALID_ARGUMENT);
    {
        uint8_t *big = calloc(DTLSGATE_MAX_INPUT + 1, 1);
        if (CHECK(big != NULL)) {
            CHECK_EQ(CHK(big, DTLSGATE_MAX_INPUT + 1, &a4, sizeof a4, reply2, &rlen),
                     DTLSGATE_E_INVALID_ARGUMENT);
            CHECK_EQ(check_addr(v, big, DTLSGATE_MAX_INPUT + 1, "127.0.0.1", 1, reply2, &rlen),
                     DTLSGATE_E_INVALID_ARGUMENT);
            free(big);
        }
    }
#undef CHK
    CHECK_EQ(check_addr(v, NULL, 10, "127.0.0.1", 1, reply2, &rlen), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(check_addr(v, h->data, 0, "127.0.0.1", 1, reply2, &rlen),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(check_addr(v, h->data, h->len, NULL, 1, reply2, &rlen), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(check_addr(v, h->data, h->len, "", 1, reply2, &rlen), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(check_addr(v, h->data, h->len, "localhost", 1, reply2, &rlen),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(check_addr(v, h->data, h->len, "999.1.1.1", 1, reply2, &rlen),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(check_addr(v, h->data, h->len, "127.0.0.1", 0, reply2, &rlen),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(check_addr(v, h->data, h->len, "255.255.255.255", 1, reply2, &rlen),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(check_addr(v, h->data, h->len, "224.0.0.1", 1, reply2, &rlen),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(check_addr(v, h->data, h->len, "ff02::1", 1, reply2, &rlen),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_verifier_check_address(v, h->data, h->len, "127.0.0.1", 1, reply2, NULL),
             DTLSGATE_E_INVALID_ARGUMENT);

    /* The reply has the layout verify_client() sends, and cookies from either
     * are good for the other. check() leaves dtls_error and verified_hello
     * alone. */
    if (!CHECK(open_pair(AF_INET, &srv, &cli, &cli2) == 0))
        goto out;
    clen = mint(v, h, "127.0.0.1", cli.port, cookie);
    n2 = with_cookie(h->data, h->len, cookie, clen, hello2, 1);
    CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, hello2, n2, "127.0.0.1", cli.port), 1);
    CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, h->data, h->len, "127.0.0.1", cli2.port),
             0);
    n = recv_wait(cli2.fd, reply, sizeof reply, NULL, NULL);
    if (CHECK_HVR(reply, n, h->data, h->len)) {
        CHECK_EQ(check_addr(v, h->data, h->len, "127.0.0.1", cli2.port, reply2, &rlen2),
                 DTLSGATE_CHECK_SEND_REPLY);
        CHECK_EQ(rlen2, n);
        CHECK_MEM(reply2, 28, reply, 28);
        clen = take_cookie(reply, cookie);
        n2 = with_cookie(h->data, h->len, cookie, clen, hello2, 1);
        CHECK_EQ(check_addr(v, hello2, n2, "127.0.0.1", cli2.port, reply2, &rlen2),
                 DTLSGATE_CHECK_VERIFIED);
    }
    /* State: verified_hello = a verified datagram, error = empty secret. */
    clen = mint(v, h, "127.0.0.1", cli.port, cookie);
    n2 = with_cookie(h->data, h->len, cookie, clen, hello2, 1);
    CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, hello2, n2, "127.0.0.1", cli.port), 1);
    CHECK_EQ(dtlsgate_verifier_set_cookie_generator_parameters(v, 4, NULL, 0), 0);
    CHECK_EQ(check_addr(v, h->data, h->len, "127.0.0.1", 9, reply2, &rlen2),
             DTLSGATE_CHECK_SEND_REPLY);
    CHECK_EQ(check_addr(v, hello2, n2, "127.0.0.1", cli.port, reply2, &rlen2),
             DTLSGATE_CHECK_VERIFIED);
    CHECK_EQ(check_addr(v, h->data, 5, "127.0.0.1", 9, reply2, &rlen2), DTLSGATE_CHECK_DROP);
    CHECK_EQ(check_addr(v, h->data, h->len, "224.0.0.1", 9, reply2, &rlen2),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_INVALID_INPUT_PARAMETERS);
    CHECK_STR(errstr(v), MSG_EMPTY_SECRET);
    n = hello_of(v, got, sizeof got);
    CHECK_MEM(got, (size_t)(n < 0 ? 0 : n), hello2, n2);
    CHECK(nothing_sent(&srv, &cli));
    CHECK(nothing_sent(&srv, &cli2));
    udp_close(&srv);
    udp_close(&cli);
    udp_close(&cli2);
out:
    check_context = "";
    dtlsgate_verifier_free(v);
}

/* One item of a check_batch() call, with its outputs set to values the
 * call must overwrite. */
static dtlsgate_check_item item(const uint8_t *d, size_t n, const void *peer, socklen_t plen)
{
    dtlsgate_check_item it;
    memset(&it, 0, sizeof it);
    it.dgram = d;
    it.dgram_len = n;
    it.peer = peer;
    it.peer_len = plen;
    it.result = 99;
    it.reply_offset = it.reply_len = 12345;
    return it;
}

/* Checks that each of the count items got what dtlsgate_verifier_check()
 * says about it alone, that the replies sit one after the other in
 * `replies` and are valid; returns the number verified. */
static int batch_agrees(const dtlsgate_verifier *v, const dtlsgate_check_item *items,
                        size_t count, const uint8_t *replies, size_t replies_len)
{
    size_t i, at = 0;
    int verified = 0;
    for (i = 0; i < count; i++) {
        const dtlsgate_check_item *it = &items[i];
        uint8_t alone[DTLSGATE_HELLO_VERIFY_REQUEST_MAX];
        size_t alone_len = sizeof alone;
        int want = dtlsgate_verifier_check(v, it->dgram, it->dgram_len, it->peer, it->peer_len,
                                           alone, &alone_len);
        snprintf(context_buf, sizeof context_buf, "check_batch item %zu", i);
        check_context = context_buf;
        CHECK_EQ(it->result, want);
        verified += it->result == DTLSGATE_CHECK_VERIFIED;
        if (it->result != DTLSGATE_CHECK_SEND_REPLY) {
            CHECK_EQ(it->reply_len, 0);
            continue;
        }
        CHECK_EQ(it->reply_offset, at);
        CHECK_EQ(it->reply_len, alone_len);
        if (CHECK(at + it->reply_len <= replies_len))
            CHECK_HVR(replies + at, it->reply_len, it->dgram, it->dgram_len);
        at += it->reply_len;
    }
    check_context = "check_batch";
    CHECK_EQ(replies_len, at);
    return verified;
}

static void test_check_batch(void)
{
    const hello_t *h = &corpus[0], *other = &corpus[1];
    dtlsgate_verifier *v = dtlsgate_verifier_new();
    struct sockaddr_in a4, bcast;
    struct sockaddr_in6 a6;
    uint8_t cookie[64], hello4[4096], hello6[4096], replies[64 * DTLSGATE_HELLO_VERIFY_REQUEST_MAX];
    dtlsgate_check_item items[64], one;
    size_t n4, n6, clen, rlen, i, count, hvr_len;
    int rc, verified;

    check_context = "check_batch";
    if (!CHECK(v != NULL) || ncorpus < 2)
        return;
    sin4(&a4, "127.0.0.1", 40021);
    sin4(&bcast, "255.255.255.255", 40021);
    sin6(&a6, "::1", 40022);
    clen = mint(v, h, "127.0.0.1", 40021, cookie);
    n4 = with_cookie(h->data, h->len, cookie, clen, hello4, 1);
    clen = mint(v, other, "::1", 40022, cookie);
    n6 = with_cookie(other->data, other->len, cookie, clen, hello6, 1);
    if (!CHECK(n4 > 0 && n6 > 0))
        goto out;

    /* No items: nothing done, nothing written, and no buffer needed. */
    rlen = 0;
    CHECK_EQ(dtlsgate_verifier_check_batch(v, NULL, 0, NULL, &rlen), 0);
    CHECK_EQ(rlen, 0);
    rlen = sizeof replies;
    CHECK_EQ(dtlsgate_verifier_check_batch(v, items, 0, replies, &rlen), 0);
    CHECK_EQ(rlen, 0);

    /* One item each way. */
    one = item(h->data, h->len, &a4, sizeof a4);
    rlen = sizeof replies;
    CHECK_EQ(dtlsgate_verifier_check_batch(v, &one, 1, replies, &rlen), 0);
    CHECK_EQ(one.result, DTLSGATE_CHECK_SEND_REPLY);
    CHECK_EQ(one.reply_offset, 0);
    CHECK_EQ(one.reply_len, rlen);
    hvr_len = rlen;
    if (CHECK_HVR(replies, rlen, h->data, h->len)) {
        /* Its cookie lets the client in. */
        n4 = with_cookie(h->data, h->len, replies + 28, replies[27], hello4, 1);
        rlen = DTLSGATE_HELLO_VERIFY_REQUEST_MAX;
        CHECK_EQ(dtlsgate_verifier_check(v, hello4, n4, (struct sockaddr *)&a4, sizeof a4,
                                         replies, &rlen),
                 DTLSGATE_CHECK_VERIFIED);
    }
    one = item(hello4, n4, &a4, sizeof a4);
    rlen = 0;
    CHECK_EQ(dtlsgate_verifier_check_batch(v, &one, 1, NULL, &rlen), 1);
    CHECK_EQ(one.result, DTLSGATE_CHECK_VERIFIED);
    CHECK_EQ(one.reply_len, 0);
    CHECK_EQ(rlen, 0);

    /* Many, mixed, with bad items in the middle that spoil nothing else:
     * a NULL datagram, an empty one, a broadcast peer, no peer. */
    for (count = 0; count < 60; count++) {
        switch (count % 6) {
        case 0: items[count] = item(hello4, n4, &a4, sizeof a4); break;
        case 1: items[count] = item(h->data, h->len, &a4, sizeof a4); break;
        case 2: items[count] = item(hello6, n6, &a6, sizeof a6); break;
        case 3: items[count] = item(hello6, 20, &a6, sizeof a6); break; /* DROP */
        case 4: items[count] = item(hello4, n4, &a6, sizeof a6); break; /* wrong peer */
        default: items[count] = item(other->data, other->len, &a6, sizeof a6); break;
        }
    }
    items[30] = item(NULL, 10, &a4, sizeof a4);
    items[31] = item(h->data, 0, &a4, sizeof a4);
    items[32] = item(h->data, h->len, &bcast, sizeof bcast);
    items[33] = item(h->data, h->len, NULL, 0);
    rlen = sizeof replies;
    rc = dtlsgate_verifier_check_batch(v, items, count, replies, &rlen);
    verified = batch_agrees(v, items, count, replies, rlen);
    CHECK_EQ(rc, verified);
    CHECK_EQ(verified, 18); /* 10 IPv4 and 10 IPv6, less items 30 and 32 */
    for (i = 30; i < 34; i++)
        CHECK_EQ(items[i].result, DTLSGATE_E_INVALID_ARGUMENT);

    /* Room for two replies: the third and later get BUFFER_TOO_SMALL, and
     * the items after them are still checked. */
    for (i = 0; i < 6; i++)
        items[i] = item(i == 4 ? hello4 : h->data, i == 4 ? n4 : h->len, &a4, sizeof a4);
    rlen = 2 * hvr_len + hvr_len / 2;
    CHECK_EQ(dtlsgate_verifier_check_batch(v, items, 6, replies, &rlen), 1);
    CHECK_EQ(rlen, 2 * hvr_len);
    CHECK_EQ(items[0].result, DTLSGATE_CHECK_SEND_REPLY);
    CHECK_EQ(items[1].result, DTLSGATE_CHECK_SEND_REPLY);
    CHECK_EQ(items[1].reply_offset, hvr_len);
    CHECK_HVR(replies + hvr_len, items[1].reply_len, h->data, h->len);
    CHECK_EQ(items[2].result, DTLSGATE_E_BUFFER_TOO_SMALL);
    CHECK_EQ(items[2].reply_len, 0);
    CHECK_EQ(items[3].result, DTLSGATE_E_BUFFER_TOO_SMALL);
    CHECK_EQ(items[4].result, DTLSGATE_CHECK_VERIFIED);
    CHECK_EQ(items[5].result, DTLSGATE_E_BUFFER_TOO_SMALL);
    /* No buffer at all: only the verified get through. */
    rlen = 0;
    CHECK_EQ(dtlsgate_verifier_check_batch(v, items, 6, NULL, &rlen), 1);
    CHECK_EQ(rlen, 0);
    CHECK_EQ(items[0].result, DTLSGATE_E_BUFFER_TOO_SMALL);
    CHECK_EQ(items[4].result, DTLSGATE_CHECK_VERIFIED);

    /* A replies_len beyond any real buffer (SIZE_MAX: "plenty of room") is
     * read as the room the replies can take, as dtlsgate_verifier_check()
     * reads its reply_len: not refused as an internal error. */
    one = item(h->data, h->len, &a4, sizeof a4);
    rlen = SIZE_MAX;
    CHECK_EQ(dtlsgate_verifier_check_batch(v, &one, 1, replies, &rlen), 0);
    CHECK_EQ(one.result, DTLSGATE_CHECK_SEND_REPLY);
    CHECK_EQ(one.reply_len, hvr_len);
    CHECK_EQ(rlen, hvr_len);

    /* The call as a whole refused: nothing written to the items. */
    one = item(h->data, h->len, &a4, sizeof a4);
    rlen = sizeof replies;
    CHECK_EQ(dtlsgate_verifier_check_batch(NULL, &one, 1, replies, &rlen),
             DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_verifier_check_batch(v, &one, 1, replies, NULL),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_verifier_check_batch(v, NULL, 1, replies, &rlen),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_verifier_check_batch(v, &one, 1, NULL, &rlen), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_verifier_check_batch(v, &one, (size_t)DTLSGATE_MAX_BATCH + 1, replies,
                                           &rlen),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_verifier_check_batch(v, &one, SIZE_MAX, replies, &rlen),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(one.result, 99);
    CHECK_EQ(one.reply_len, 12345);
    CHECK_EQ(rlen, sizeof replies);
out:
    check_context = "";
    dtlsgate_verifier_free(v);
}

/* ------------------------------------------------------------------------
 * Verifiers together, rotation, lifetime, fleet
 * ---------------------------------------------------------------------- */

/* Whether v accepts a cookie for (192.0.2.1, 7000) minted by m. */
static int accepts(const dtlsgate_verifier *v, const uint8_t *cookie, size_t clen)
{
    const hello_t *h = &corpus[0];
    uint8_t hello2[4096], reply[DTLSGATE_HELLO_VERIFY_REQUEST_MAX];
    size_t n2 = with_cookie(h->data, h->len, cookie, clen, hello2, 1), rlen;
    return check_addr(v, hello2, n2, "192.0.2.1", 7000, reply, &rlen);
}

static void test_shared_and_rotation(void)
{
    static const uint8_t sa[] = "secret A", sb[] = "secret B", sc[] = "secret C",
                         s0[] = "secret 0";
    dtlsgate_verifier *v1 = dtlsgate_verifier_new(), *v2 = dtlsgate_verifier_new(),
                      *v3 = dtlsgate_verifier_new();
    uint8_t c1[64], c2[64], ca[64], cb[64], cc[64];
    size_t l1, l2, la, lb, lc;
    const hello_t *h = &corpus[0];

    check_context = "shared defaults and rotation";
    if (!CHECK(v1 && v2 && v3) || ncorpus == 0)
        return;
    CHECK(v1 != v2 && v2 != v3 && v1 != v3);
    l1 = mint(v1, h, "192.0.2.1", 7000, c1);
    l2 = mint(v2, h, "192.0.2.1", 7000, c2);
    CHECK_EQ(accepts(v2, c1, l1), DTLSGATE_CHECK_VERIFIED);
    CHECK_EQ(accepts(v1, c2, l2), DTLSGATE_CHECK_VERIFIED);
    /* Changed twice, so that the default secret is not even the previous one. */
    CHECK_EQ(dtlsgate_verifier_set_cookie_generator_parameters(v3, DTLSGATE_HASH_SHA256, s0,
                                                               sizeof s0 - 1),
             1);
    CHECK_EQ(dtlsgate_verifier_set_cookie_generator_parameters(v3, DTLSGATE_HASH_SHA256, sa,
                                                               sizeof sa - 1),
             1);
    CHECK_EQ(accepts(v3, c1, l1), DTLSGATE_CHECK_SEND_REPLY);
    la = mint(v3, h, "192.0.2.1", 7000, ca);
    CHECK_EQ(accepts(v1, ca, la), DTLSGATE_CHECK_SEND_REPLY);
    CHECK_EQ(accepts(v3, ca, la), DTLSGATE_CHECK_VERIFIED);

    /* A failed change rotates nothing. */
    CHECK_EQ(dtlsgate_verifier_set_cookie_generator_parameters(v3, DTLSGATE_HASH_SHA256, sb, 0),
             0);
    CHECK_EQ(dtlsgate_verifier_set_cookie_generator_parameters(v3, DTLSGATE_HASH_KECCAK_224, sb,
                                                               sizeof sb - 1),
             0);
    CHECK_EQ(accepts(v3, ca, la), DTLSGATE_CHECK_VERIFIED);

    /* One change: the previous secret still verifies. */
    CHECK_EQ(dtlsgate_verifier_set_cookie_generator_parameters(v3, DTLSGATE_HASH_SHA256, sb,
                                                               sizeof sb - 1),
             1);
    CHECK_EQ(accepts(v3, ca, la), DTLSGATE_CHECK_VERIFIED);
    lb = mint(v3, h, "192.0.2.1", 7000, cb);
    CHECK(lb != la || memcmp(ca, cb, la) != 0);
    CHECK_EQ(accepts(v3, cb, lb), DTLSGATE_CHECK_VERIFIED);
    /* Two changes: the secret before the previous one is gone. */
    CHECK_EQ(dtlsgate_verifier_set_cookie_generator_parameters(v3, DTLSGATE_HASH_SHA256, sc,
                                                               sizeof sc - 1),
             1);
    CHECK_EQ(accepts(v3, ca, la), DTLSGATE_CHECK_SEND_REPLY);
    CHECK_EQ(accepts(v3, cb, lb), DTLSGATE_CHECK_VERIFIED);
    lc = mint(v3, h, "192.0.2.1", 7000, cc);
    CHECK_EQ(accepts(v3, cc, lc), DTLSGATE_CHECK_VERIFIED);
    /* A verifier given the same parameters accepts v3's current cookies. */
    CHECK_EQ(dtlsgate_verifier_set_cookie_generator_parameters(v2, DTLSGATE_HASH_SHA256, sc,
                                                               sizeof sc - 1),
             1);
    CHECK_EQ(accepts(v2, cc, lc), DTLSGATE_CHECK_VERIFIED);
    /* v1 was not touched by any of this. */
    CHECK_EQ(accepts(v1, c1, l1), DTLSGATE_CHECK_VERIFIED);

    dtlsgate_verifier_free(v1);
    dtlsgate_verifier_free(v2);
    dtlsgate_verifier_free(v3);
    check_context = "";
}

static void test_lifetime_settings(void)
{
    dtlsgate_verifier *v = dtlsgate_verifier_new();
    uint32_t s = 0;
    int rc;

    check_context = "lifetime and rotation settings";
    if (!CHECK(v != NULL))
        return;
    CHECK_EQ(dtlsgate_verifier_set_cookie_lifetime(v, 1), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_verifier_cookie_lifetime(v, &s), DTLSGATE_OK);
    CHECK_EQ(s, 1);
    CHECK_EQ(dtlsgate_verifier_set_cookie_lifetime(v, 0), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_verifier_set_cookie_lifetime(v, 86401), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_verifier_set_cookie_lifetime(v, UINT32_MAX), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_verifier_cookie_lifetime(v, &s), DTLSGATE_OK);
    CHECK_EQ(s, 1);
    CHECK_EQ(dtlsgate_verifier_set_cookie_lifetime(v, 86400), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_verifier_cookie_lifetime(v, &s), DTLSGATE_OK);
    CHECK_EQ(s, 86400);
    CHECK_EQ(dtlsgate_verifier_cookie_lifetime(v, NULL), DTLSGATE_E_INVALID_ARGUMENT);

    CHECK_EQ(dtlsgate_verifier_set_secret_rotation_interval(v, 3600), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_verifier_secret_rotation_interval(v, &s), DTLSGATE_OK);
    CHECK_EQ(s, 3600);
    CHECK_EQ(dtlsgate_verifier_set_secret_rotation_interval(v, 0), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_verifier_secret_rotation_interval(v, &s), DTLSGATE_OK);
    CHECK_EQ(s, 0);
    CHECK_EQ(dtlsgate_verifier_set_secret_rotation_interval(v, 86400), DTLSGATE_OK);
    /* The header gives no upper bound: a huge value is either kept or
     * refused with the old value kept. */
    rc = dtlsgate_verifier_set_secret_rotation_interval(v, UINT32_MAX);
    CHECK(rc == DTLSGATE_OK || rc == DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_verifier_secret_rotation_interval(v, &s), DTLSGATE_OK);
    CHECK_EQ(s, rc == DTLSGATE_OK ? UINT32_MAX : 86400);
    CHECK_EQ(dtlsgate_verifier_secret_rotation_interval(v, NULL), DTLSGATE_E_INVALID_ARGUMENT);
    dtlsgate_verifier_free(v);
    check_context = "";
}

/* Cookies expire; automatic rotation replaces the secret and keeps the
 * previous one. About 2.3 s of sleeping in all. */
static void test_expiry_and_auto_rotation(void)
{
    const hello_t *h = &corpus[0];
    dtlsgate_verifier *vl = dtlsgate_verifier_new(), *vr = dtlsgate_verifier_new();
    udp_t srv, cli, cli2;
    uint8_t cl[64], cr0[64], s0[BIG], s1[BIG], s2[BIG], hello2[4096], buf[4096];
    size_t ll, lr0, n0, n1, nn2, n2, clen;
    int h0, h1, h2;
    long n;

    check_context = "expiry and automatic rotation";
    if (!CHECK(vl && vr) || ncorpus == 0 || !CHECK(open_pair(AF_INET, &srv, &cli, &cli2) == 0))
        return;
    CHECK_EQ(dtlsgate_verifier_set_cookie_lifetime(vl, 1), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_verifier_set_secret_rotation_interval(vr, 1), DTLSGATE_OK);
    CHECK_EQ(params_of(vr, &h0, s0, &n0), DTLSGATE_OK);
    ll = mint(vl, h, "127.0.0.1", cli.port, cl);
    lr0 = mint(vr, h, "192.0.2.1", 7000, cr0);

    sleep_ms(1200);
    /* vr: the first verification after the interval rotates. */
    CHECK_EQ(dtlsgate_verifier_verify_client(vr, srv.fd, h->data, h->len, "127.0.0.1",
                                             cli2.port),
             0);
    n = recv_wait(cli2.fd, buf, sizeof buf, NULL, NULL);
    CHECK_HVR(buf, n, h->data, h->len);
    CHECK_EQ(params_of(vr, &h1, s1, &n1), DTLSGATE_OK);
    CHECK_EQ(h1, h0);
    CHECK_EQ(n1, n0);
    CHECK(n1 != n0 || memcmp(s0, s1, n0) != 0);
    CHECK_EQ(accepts(vr, cr0, lr0), DTLSGATE_CHECK_VERIFIED);

    sleep_ms(1100);
    /* vl: a cookie older than its 1 s lifetime gets a fresh one. */
    n2 = with_cookie(h->data, h->len, cl, ll, hello2, 1);
    CHECK_EQ(dtlsgate_verifier_verify_client(vl, srv.fd, hello2, n2, "127.0.0.1", cli.port), 0);
    CHECK_EQ(dtlsgate_verifier_dtls_error(vl), DTLSGATE_NO_ERROR);
    CHECK_EQ(hello_of(vl, buf, sizeof buf), 0);
    n = recv_wait(cli.fd, buf, sizeof buf, NULL, NULL);
    if (CHECK_HVR(buf, n, hello2, n2)) {
        const uint8_t *c = hvr_cookie(buf, &clen);
        CHECK(clen != ll || memcmp(c, cl, ll) != 0);
    }
    {
        uint8_t reply[DTLSGATE_HELLO_VERIFY_REQUEST_MAX];
        size_t rlen;
        CHECK_EQ(check_addr(vl, hello2, n2, "127.0.0.1", cli.port, reply, &rlen),
                 DTLSGATE_CHECK_SEND_REPLY);
    }
    /* vr rotates again. */
    CHECK_EQ(dtlsgate_verifier_verify_client(vr, srv.fd, h->data, h->len, "127.0.0.1",
                                             cli2.port),
             0);
    n = recv_wait(cli2.fd, buf, sizeof buf, NULL, NULL);
    CHECK_HVR(buf, n, h->data, h->len);
    CHECK_EQ(params_of(vr, &h2, s2, &nn2), DTLSGATE_OK);
    CHECK(nn2 != n1 || memcmp(s2, s1, n1) != 0);
    CHECK_EQ(h2, h0);

    dtlsgate_verifier_free(vl);
    dtlsgate_verifier_free(vr);
    udp_close(&srv);
    udp_close(&cli);
    udp_close(&cli2);
    check_context = "";
}

static void test_fleet(void)
{
    static const uint8_t k1[32] = "fleet master key number one....";
    static const uint8_t k2[32] = "fleet master key number two....";
    static const uint8_t s[] = "plain secret";
    const hello_t *h = &corpus[0];
    dtlsgate_verifier *f1 = dtlsgate_verifier_new(), *f2 = dtlsgate_verifier_new(),
                      *f3 = dtlsgate_verifier_new(), *f4 = dtlsgate_verifier_new();
    uint8_t c1[64], c2[64], sec1[BIG], sec2[BIG], sec3[BIG];
    size_t l1, l2, n1, n2, n3;
    int h1, h2, h3;
    uint32_t w = 0, k = 0;

    check_context = "fleet";
    if (!CHECK(f1 && f2 && f3 && f4) || ncorpus == 0)
        return;
    CHECK_EQ(dtlsgate_verifier_set_fleet_key(f1, k1, sizeof k1, 3600, 30), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_verifier_set_fleet_key(f2, k1, sizeof k1, 3600, 30), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_verifier_set_fleet_key(f3, k2, sizeof k2, 3600, 30), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_verifier_fleet_mode(f1, &w, &k), 1);
    CHECK_EQ(w, 3600);
    CHECK_EQ(k, 30);
    CHECK_EQ(dtlsgate_verifier_fleet_mode(f1, NULL, NULL), 1);
    CHECK_EQ(dtlsgate_verifier_fleet_mode(f4, &w, &k), 0);

    /* Same key, same derived secret; another key, another one. */
    CHECK_EQ(params_of(f1, &h1, sec1, &n1), DTLSGATE_OK);
    CHECK_EQ(params_of(f2, &h2, sec2, &n2), DTLSGATE_OK);
    CHECK_EQ(params_of(f3, &h3, sec3, &n3), DTLSGATE_OK);
    CHECK_EQ(h1, DTLSGATE_HASH_SHA256);
    CHECK_MEM(sec1, n1, sec2, n2);
    CHECK(n1 != n3 || memcmp(sec1, sec3, n1) != 0);
    CHECK(n1 != 32 || memcmp(sec1, default_secret, 32) != 0);

    l1 = mint(f1, h, "192.0.2.1", 7000, c1);
    l2 = mint(f2, h, "192.0.2.1", 7000, c2);
    CHECK_EQ(accepts(f2, c1, l1), DTLSGATE_CHECK_VERIFIED);
    CHECK_EQ(accepts(f1, c2, l2), DTLSGATE_CHECK_VERIFIED);
    CHECK_EQ(accepts(f3, c1, l1), DTLSGATE_CHECK_SEND_REPLY);
    CHECK_EQ(accepts(f4, c1, l1), DTLSGATE_CHECK_SEND_REPLY);

    /* Bad arguments leave the mode as it was. */
    CHECK_EQ(dtlsgate_verifier_set_fleet_key(f1, k2, 15, 3600, 30), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_verifier_set_fleet_key(f1, NULL, 0, 3600, 30), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_verifier_set_fleet_key(f1, NULL, 32, 3600, 30),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_verifier_set_fleet_key(f1, k2, sizeof k2, 0, 30),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_verifier_set_fleet_key(f1, k2, sizeof k2, 86401, 30),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_verifier_fleet_mode(f1, &w, &k), 1);
    CHECK_EQ(w, 3600);
    CHECK_EQ(k, 30);
    CHECK_EQ(accepts(f1, c2, l2), DTLSGATE_CHECK_VERIFIED);
    CHECK_EQ(dtlsgate_verifier_set_fleet_key(f4, k2, 15, 3600, 30), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_verifier_fleet_mode(f4, NULL, NULL), 0);
    /* 16 bytes is enough; the window can be a day; the hash is kept. */
    CHECK_EQ(dtlsgate_verifier_set_cookie_generator_parameters(f4, DTLSGATE_HASH_SHA512, s,
                                                               sizeof s - 1),
             1);
    CHECK_EQ(dtlsgate_verifier_set_fleet_key(f4, k2, 16, 86400, 0), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_verifier_fleet_mode(f4, &w, &k), 1);
    CHECK_EQ(w, 86400);
    CHECK_EQ(k, 0);
    CHECK_EQ(params_of(f4, &h3, sec3, &n3), DTLSGATE_OK);
    CHECK_EQ(h3, DTLSGATE_HASH_SHA512);
    CHECK(n3 != sizeof s - 1 || memcmp(sec3, s, n3) != 0);

    /* Leaving fleet mode: clear, or new parameters. */
    CHECK_EQ(dtlsgate_verifier_clear_fleet_key(f1), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_verifier_fleet_mode(f1, &w, &k), 0);
    CHECK_EQ(accepts(f1, c1, l1), DTLSGATE_CHECK_SEND_REPLY);
    CHECK_EQ(accepts(f1, c2, l2), DTLSGATE_CHECK_SEND_REPLY);
    CHECK_EQ(accepts(f2, c1, l1), DTLSGATE_CHECK_VERIFIED);
    CHECK_EQ(params_of(f1, &h1, sec1, &n1), DTLSGATE_OK);
    CHECK(n1 != n2 || memcmp(sec1, sec2, n1) != 0);
    /* "A fresh random secret": not the default f1 had before fleet mode. */
    CHECK(n1 == 32 && memcmp(sec1, default_secret, 32) != 0);
    CHECK_EQ(dtlsgate_verifier_clear_fleet_key(f1), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_verifier_fleet_mode(f1, NULL, NULL), 0);
    CHECK_EQ(dtlsgate_verifier_set_cookie_generator_parameters(f2, DTLSGATE_HASH_SHA256, s,
                                                               sizeof s - 1),
             1);
    CHECK_EQ(dtlsgate_verifier_fleet_mode(f2, NULL, NULL), 0);
    CHECK_EQ(params_of(f2, &h2, sec2, &n2), DTLSGATE_OK);
    CHECK_MEM(sec2, n2, s, sizeof s - 1);

    dtlsgate_verifier_free(f1);
    dtlsgate_verifier_free(f2);
    dtlsgate_verifier_free(f3);
    dtlsgate_verifier_free(f4);
    check_context = "";
}

/* ------------------------------------------------------------------------
 * Socket failures and bad input
 * ---------------------------------------------------------------------- */

static void test_socket_failure(void)
{
    const hello_t *h = &corpus[0];
    dtlsgate_verifier *v = dtlsgate_verifier_new();
    udp_t srv, cli, cli2;
    uint8_t cookie[64], hello2[4096], got[4096];
    size_t clen, n2;
    int closed_fd = 1000, devnull;
    struct sockaddr_in peer;

    check_context = "socket failure";
    if (!CHECK(v != NULL) || ncorpus == 0 || !CHECK(open_pair(AF_INET, &srv, &cli, &cli2) == 0))
        return;
    clen = mint(v, h, "127.0.0.1", cli.port, cookie);
    n2 = with_cookie(h->data, h->len, cookie, clen, hello2, 1);

    /* A descriptor that is not open. */
    while (fcntl(closed_fd, F_GETFD) != -1)
        closed_fd++;
    CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, hello2, n2, "127.0.0.1", cli.port), 1);
    CHECK_EQ(dtlsgate_verifier_verify_client(v, closed_fd, h->data, h->len, "127.0.0.1",
                                             cli.port),
             0);
    CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_UNDERLYING_SOCKET_ERROR);
    CHECK_STR(errstr(v), strerror(EBADF));
    CHECK_EQ(hello_of(v, got, sizeof got), 0);

    /* A descriptor that is not a socket. */
    devnull = open("/dev/null", O_RDWR);
    if (CHECK(devnull >= 0)) {
        CHECK_EQ(dtlsgate_verifier_verify_client(v, devnull, h->data, h->len, "127.0.0.1",
                                                 cli.port),
                 0);
        CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_UNDERLYING_SOCKET_ERROR);
        CHECK_STR(errstr(v), strerror(ENOTSOCK));
        sin4(&peer, "127.0.0.1", cli.port);
        CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, hello2, n2, "127.0.0.1", cli.port),
                 1);
        CHECK_EQ(dtlsgate_verifier_verify_client_sockaddr(v, devnull, h->data, h->len,
                                                          (struct sockaddr *)&peer, sizeof peer),
                 0);
        CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_UNDERLYING_SOCKET_ERROR);
        CHECK_STR(errstr(v), strerror(ENOTSOCK));
        CHECK_EQ(hello_of(v, got, sizeof got), 0);
        /* No reply to send: the bad descriptor is not noticed. */
        CHECK_EQ(dtlsgate_verifier_verify_client(v, devnull, hello2, n2, "127.0.0.1", cli.port),
                 1);
        CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_NO_ERROR);
        close(devnull);
    }
    /* An IPv6 peer on an IPv4 socket: the kernel refuses the send. */
    CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, hello2, n2, "127.0.0.1", cli.port), 1);
    CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, h->data, h->len, "::1", cli.port), 0);
    CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_UNDERLYING_SOCKET_ERROR);
    CHECK_STR(errstr(v), strerror(EAFNOSUPPORT));
    CHECK_EQ(hello_of(v, got, sizeof got), 0);
    /* The next good call clears the error. */
    CHECK_EQ(dtlsgate_verifier_verify_client(v, closed_fd, h->data, h->len, "127.0.0.1",
                                             cli.port),
             0);
    CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, h->data, 3, "127.0.0.1", cli.port), 0);
    CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_NO_ERROR);
    CHECK_STR(errstr(v), "");
    CHECK(nothing_sent(&srv, &cli));

    dtlsgate_verifier_free(v);
    udp_close(&srv);
    udp_close(&cli);
    udp_close(&cli2);
    check_context = "";
}

static void test_bad_input(void)
{
    static const char *const bad_addr[] = {"", "999.1.1.1", "::g", "localhost", "1.2.3",
                                           "127.0.0.1:80", "127.0.0.1 ", "[::1]", "::1::2",
                                           "not an address"};
    static const char *const mcast_addr[] = {"255.255.255.255", "224.0.0.1", "239.255.255.250",
                                             "ff02::1", "ff05::1:3"};
    const hello_t *h = &corpus[0];
    dtlsgate_verifier *v = dtlsgate_verifier_new();
    udp_t srv, cli, cli2;
    uint8_t cookie[64], hello2[4096], got[4096];
    size_t clen, n2, i;
    long n;
    uint8_t *big;
    struct sockaddr_in a4, m4;
    struct sockaddr_in6 m6;
    struct sockaddr_un un;

    check_context = "bad input";
    if (!CHECK(v != NULL) || ncorpus == 0 || !CHECK(open_pair(AF_INET, &srv, &cli, &cli2) == 0))
        return;
    clen = mint(v, h, "127.0.0.1", cli.port, cookie);
    n2 = with_cookie(h->data, h->len, cookie, clen, hello2, 1);
    CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, hello2, n2, "127.0.0.1", cli.port), 1);

#define EXPECT_REFUSED(call, msg)                                        \
    do {                                                                 \
        CHECK_EQ((call), 0);                                             \
        CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_INVALID_INPUT_PARAMETERS); \
        CHECK_STR(errstr(v), (msg));                                     \
        n = hello_of(v, got, sizeof got);                                \
        CHECK_MEM(got, (size_t)(n < 0 ? 0 : n), hello2, n2);             \
    } while (0)

    EXPECT_REFUSED(dtlsgate_verifier_verify_client(v, srv.fd, h->data, 0, "127.0.0.1", cli.port),
                   MSG_INPUT);
    EXPECT_REFUSED(dtlsgate_verifier_verify_client(v, srv.fd, NULL, 0, "127.0.0.1", cli.port),
                   MSG_INPUT);
    EXPECT_REFUSED(dtlsgate_verifier_verify_client(v, -1, h->data, h->len, "127.0.0.1", cli.port),
                   MSG_INPUT);
    EXPECT_REFUSED(dtlsgate_verifier_verify_client(v, srv.fd, h->data, h->len, NULL, cli.port),
                   MSG_INPUT);
    for (i = 0; i < sizeof bad_addr / sizeof bad_addr[0]; i++) {
        set_context("bad input: address", bad_addr[i]);
        EXPECT_REFUSED(
            dtlsgate_verifier_verify_client(v, srv.fd, h->data, h->len, bad_addr[i], cli.port),
            MSG_INPUT);
    }
    check_context = "bad input";
    EXPECT_REFUSED(dtlsgate_verifier_verify_client(v, srv.fd, h->data, h->len, "127.0.0.1", 0),
                   MSG_INPUT);
    for (i = 0; i < sizeof mcast_addr / sizeof mcast_addr[0]; i++) {
        set_context("bad input: address", mcast_addr[i]);
        EXPECT_REFUSED(
            dtlsgate_verifier_verify_client(v, srv.fd, h->data, h->len, mcast_addr[i], cli.port),
            MSG_MCAST);
    }
    check_context = "bad input: sockaddr";
    sin4(&a4, "127.0.0.1", cli.port);
    sin4(&m4, "224.0.0.1", cli.port);
    sin6(&m6, "ff02::1", cli.port);
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
#define VCS(fd, d, len, sa, salen) \
    dtlsgate_verifier_verify_client_sockaddr(v, fd, d, len, (const struct sockaddr *)(sa), salen)
    EXPECT_REFUSED(VCS(srv.fd, h->data, h->len, NULL, sizeof a4), MSG_INPUT);
    EXPECT_REFUSED(VCS(srv.fd, h->data, h->len, &un, sizeof un), MSG_INPUT);
    EXPECT_REFUSED(VCS(srv.fd, h->data, h->len, &a4, sizeof a4 - 1), MSG_INPUT);
    EXPECT_REFUSED(VCS(srv.fd, h->data, h->len, &a4, 0), MSG_INPUT);
    EXPECT_REFUSED(VCS(srv.fd, h->data, 0, &a4, sizeof a4), MSG_INPUT);
    EXPECT_REFUSED(VCS(-1, h->data, h->len, &a4, sizeof a4), MSG_INPUT);
    EXPECT_REFUSED(VCS(srv.fd, h->data, h->len, &m4, sizeof m4), MSG_MCAST);
    EXPECT_REFUSED(VCS(srv.fd, h->data, h->len, &m6, sizeof m6), MSG_MCAST);
    a4.sin_port = 0;
    EXPECT_REFUSED(VCS(srv.fd, h->data, h->len, &a4, sizeof a4), MSG_INPUT);
    a4.sin_port = htons(cli.port);
    CHECK(nothing_sent(&srv, &cli));
#undef EXPECT_REFUSED

    /* Argument errors: negative, the state untouched. */
    check_context = "bad input: arguments";
    CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, NULL, 5, "127.0.0.1", cli.port),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(VCS(srv.fd, NULL, 5, &a4, sizeof a4), DTLSGATE_E_INVALID_ARGUMENT);
    big = calloc(DTLSGATE_MAX_INPUT + 1, 1);
    if (CHECK(big != NULL)) {
        memcpy(big, hello2, n2);
        CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, big, DTLSGATE_MAX_INPUT + 1,
                                                 "127.0.0.1", cli.port),
                 DTLSGATE_E_INVALID_ARGUMENT);
        CHECK_EQ(VCS(srv.fd, big, DTLSGATE_MAX_INPUT + 1, &a4, sizeof a4),
                 DTLSGATE_E_INVALID_ARGUMENT);
        free(big);
    }
#undef VCS
    n = hello_of(v, got, sizeof got);
    CHECK_MEM(got, (size_t)(n < 0 ? 0 : n), hello2, n2);
    CHECK(nothing_sent(&srv, &cli));

    /* NULL length pointers. */
    CHECK_EQ(dtlsgate_verifier_verified_hello(v, got, NULL), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_verifier_dtls_error_string(v, (char *)got, NULL),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_verifier_fleet_mode(v, NULL, NULL), 0);

    dtlsgate_verifier_free(v);
    udp_close(&srv);
    udp_close(&cli);
    udp_close(&cli2);
    check_context = "";
}

/* The in/out length convention on every getter: too small -> nothing
 * written, the size needed reported; strings count their NUL only in the
 * size needed. */
static void test_buffers(void)
{
    const hello_t *h = &corpus[0];
    dtlsgate_verifier *v = dtlsgate_verifier_new();
    dtlsgate_psk_authenticator *a = dtlsgate_psk_authenticator_new();
    udp_t srv, cli, cli2;
    uint8_t cookie[64], hello2[4096], buf[4096];
    size_t clen, n2, len, i, msglen;
    int hash;
    int untouched;

    check_context = "buffers";
    if (!CHECK(v && a) || ncorpus == 0 || !CHECK(open_pair(AF_INET, &srv, &cli, &cli2) == 0))
        return;

#define ALL_AA(b, n)                             \
    do {                                         \
        untouched = 1;                           \
        for (i = 0; i < (n); i++)                \
            if ((b)[i] != 0xAA)                  \
                untouched = 0;                   \
    } while (0)

    /* Parameters: 32-byte secret. */
    memset(buf, 0xAA, sizeof buf);
    len = 31;
    CHECK_EQ(dtlsgate_default_cookie_generator_parameters(&hash, buf, &len),
             DTLSGATE_E_BUFFER_TOO_SMALL);
    CHECK_EQ(len, 32);
    ALL_AA(buf, sizeof buf);
    CHECK(untouched);
    len = 31;
    CHECK_EQ(dtlsgate_verifier_cookie_generator_parameters(v, &hash, buf, &len),
             DTLSGATE_E_BUFFER_TOO_SMALL);
    CHECK_EQ(len, 32);
    ALL_AA(buf, sizeof buf);
    CHECK(untouched);
    len = 0;
    CHECK_EQ(dtlsgate_verifier_cookie_generator_parameters(v, &hash, NULL, &len),
             DTLSGATE_E_BUFFER_TOO_SMALL);
    CHECK_EQ(len, 32);
    len = 32;
    CHECK_EQ(dtlsgate_verifier_cookie_generator_parameters(v, &hash, buf, &len), DTLSGATE_OK);
    CHECK_EQ(len, 32);
    CHECK_EQ(buf[32], 0xAA);
    /* NULL with a non-zero capacity is refused, not written through. */
    len = 64;
    CHECK_EQ(dtlsgate_verifier_cookie_generator_parameters(v, &hash, NULL, &len),
             DTLSGATE_E_INVALID_ARGUMENT);

    /* verified_hello. */
    clen = mint(v, h, "127.0.0.1", cli.port, cookie);
    n2 = with_cookie(h->data, h->len, cookie, clen, hello2, 1);
    CHECK_EQ(dtlsgate_verifier_verify_client(v, srv.fd, hello2, n2, "127.0.0.1", cli.port), 1);
    memset(buf, 0xAA, sizeof buf);
    len = 0;
    CHECK_EQ(dtlsgate_verifier_verified_hello(v, NULL, &len), DTLSGATE_E_BUFFER_TOO_SMALL);
    CHECK_EQ(len, n2);
    len = n2 - 1;
    CHECK_EQ(dtlsgate_verifier_verified_hello(v, buf, &len), DTLSGATE_E_BUFFER_TOO_SMALL);
    CHECK_EQ(len, n2);
    ALL_AA(buf, sizeof buf);
    CHECK(untouched);
    len = n2;
    CHECK_EQ(dtlsgate_verifier_verified_hello(v, buf, &len), DTLSGATE_OK);
    CHECK_MEM(buf, len, hello2, n2);
    CHECK_EQ(buf[n2], 0xAA);
    len = n2;
    CHECK_EQ(dtlsgate_verifier_verified_hello(v, NULL, &len), DTLSGATE_E_INVALID_ARGUMENT);

    /* dtls_error_string, empty: needs 1 byte for the NUL. */
    memset(buf, 0xAA, sizeof buf);
    len = 0;
    CHECK_EQ(dtlsgate_verifier_dtls_error_string(v, NULL, &len), DTLSGATE_E_BUFFER_TOO_SMALL);
    CHECK_EQ(len, 1);
    len = 1;
    CHECK_EQ(dtlsgate_verifier_dtls_error_string(v, (char *)buf, &len), DTLSGATE_OK);
    CHECK_EQ(len, 0);
    CHECK_EQ(buf[0], 0);
    CHECK_EQ(buf[1], 0xAA);
    /* ...and with a message. */
    CHECK_EQ(dtlsgate_verifier_verify_client(v, -1, h->data, h->len, "127.0.0.1", 1), 0);
    msglen = strlen(MSG_INPUT);
    memset(buf, 0xAA, sizeof buf);
    len = 0;
    CHECK_EQ(dtlsgate_verifier_dtls_error_string(v, NULL, &len), DTLSGATE_E_BUFFER_TOO_SMALL);
    CHECK_EQ(len, msglen + 1);
    len = msglen;
    CHECK_EQ(dtlsgate_verifier_dtls_error_string(v, (char *)buf, &len),
             DTLSGATE_E_BUFFER_TOO_SMALL);
    CHECK_EQ(len, msglen + 1);
    ALL_AA(buf, sizeof buf);
    CHECK(untouched);
    len = msglen + 1;
    CHECK_EQ(dtlsgate_verifier_dtls_error_string(v, (char *)buf, &len), DTLSGATE_OK);
    CHECK_EQ(len, msglen);
    CHECK_STR((char *)buf, MSG_INPUT);
    CHECK_EQ(buf[msglen + 1], 0xAA);

    /* The authenticator's three byte fields. */
    {
        static const uint8_t v5[5] = {'a', 0, 'b', 0, 'c'};
        int (*get[3])(const dtlsgate_psk_authenticator *, uint8_t *, size_t *) = {
            dtlsgate_psk_authenticator_identity_hint, dtlsgate_psk_authenticator_identity,
            dtlsgate_psk_authenticator_pre_shared_key};
        int f;
        CHECK_EQ(dtlsgate_psk_authenticator_set_identity_hint(a, v5, 5), DTLSGATE_OK);
        CHECK_EQ(dtlsgate_psk_authenticator_set_identity(a, v5, 5), DTLSGATE_OK);
        CHECK_EQ(dtlsgate_psk_authenticator_set_pre_shared_key(a, v5, 5), DTLSGATE_OK);
        for (f = 0; f < 3; f++) {
            memset(buf, 0xAA, sizeof buf);
            len = 0;
            CHECK_EQ(get[f](a, NULL, &len), DTLSGATE_E_BUFFER_TOO_SMALL);
            CHECK_EQ(len, 5);
            len = 4;
            CHECK_EQ(get[f](a, buf, &len), DTLSGATE_E_BUFFER_TOO_SMALL);
            CHECK_EQ(len, 5);
            ALL_AA(buf, sizeof buf);
            CHECK(untouched);
            len = 5;
            CHECK_EQ(get[f](a, buf, &len), DTLSGATE_OK);
            CHECK_MEM(buf, len, v5, 5);
            CHECK_EQ(buf[5], 0xAA);
            CHECK_EQ(get[f](a, buf, NULL), DTLSGATE_E_INVALID_ARGUMENT);
            len = 8;
            CHECK_EQ(get[f](a, NULL, &len), DTLSGATE_E_INVALID_ARGUMENT);
        }
    }
#undef ALL_AA
    dtlsgate_verifier_free(v);
    dtlsgate_psk_authenticator_free(a);
    udp_close(&srv);
    udp_close(&cli);
    udp_close(&cli2);
    check_context = "";
}

/* ------------------------------------------------------------------------
 * Handles
 * ---------------------------------------------------------------------- */

/* Every verifier function on a handle that is not a live verifier. */
static void expect_bad_verifier(dtlsgate_verifier *v, const char *what)
{
    const hello_t *h = &corpus[0];
    uint8_t buf[256];
    size_t len;
    int hash;
    uint32_t s, w, k;
    struct sockaddr_in a4;

    set_context("bad handle:", what);
    sin4(&a4, "127.0.0.1", 4000);
    CHECK_EQ(dtlsgate_verifier_set_cookie_generator_parameters(v, 4, buf, 8),
             DTLSGATE_E_BAD_HANDLE);
    len = sizeof buf;
    CHECK_EQ(dtlsgate_verifier_cookie_generator_parameters(v, &hash, buf, &len),
             DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_verifier_set_cookie_lifetime(v, 10), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_verifier_cookie_lifetime(v, &s), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_verifier_set_secret_rotation_interval(v, 10), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_verifier_secret_rotation_interval(v, &s), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_verifier_set_fleet_key(v, buf, 32, 60, 5), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_verifier_clear_fleet_key(v), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_verifier_fleet_mode(v, &w, &k), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_verifier_verify_client(v, 0, h->data, h->len, "127.0.0.1", 4000),
             DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_verifier_verify_client_sockaddr(v, 0, h->data, h->len,
                                                      (struct sockaddr *)&a4, sizeof a4),
             DTLSGATE_E_BAD_HANDLE);
    len = sizeof buf;
    CHECK_EQ(dtlsgate_verifier_check(v, h->data, h->len, (struct sockaddr *)&a4, sizeof a4, buf,
                                     &len),
             DTLSGATE_E_BAD_HANDLE);
    len = sizeof buf;
    CHECK_EQ(dtlsgate_verifier_check_address(v, h->data, h->len, "127.0.0.1", 4000, buf, &len),
             DTLSGATE_E_BAD_HANDLE);
    len = sizeof buf;
    CHECK_EQ(dtlsgate_verifier_verified_hello(v, buf, &len), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_E_BAD_HANDLE);
    len = sizeof buf;
    CHECK_EQ(dtlsgate_verifier_dtls_error_string(v, (char *)buf, &len), DTLSGATE_E_BAD_HANDLE);
    dtlsgate_verifier_free(v); /* a no-op */
}

/* Every authenticator function on a handle that is not a live one; good is
 * a live one, for the two-handle functions, and must stay unchanged. */
static void expect_bad_psk(dtlsgate_psk_authenticator *a, dtlsgate_psk_authenticator *good,
                           const char *what)
{
    uint8_t buf[64];
    size_t len;
    dtlsgate_psk_authenticator *before = dtlsgate_psk_authenticator_copy(good);

    set_context("bad handle:", what);
    CHECK(dtlsgate_psk_authenticator_copy(a) == NULL);
    CHECK_EQ(dtlsgate_psk_authenticator_swap(a, good), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_psk_authenticator_swap(good, a), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_psk_authenticator_swap(a, a), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_psk_authenticator_equal(a, good), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_psk_authenticator_equal(good, a), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_psk_authenticator_equal(a, a), DTLSGATE_E_BAD_HANDLE);
    len = sizeof buf;
    CHECK_EQ(dtlsgate_psk_authenticator_identity_hint(a, buf, &len), DTLSGATE_E_BAD_HANDLE);
    len = sizeof buf;
    CHECK_EQ(dtlsgate_psk_authenticator_identity(a, buf, &len), DTLSGATE_E_BAD_HANDLE);
    len = sizeof buf;
    CHECK_EQ(dtlsgate_psk_authenticator_pre_shared_key(a, buf, &len), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_psk_authenticator_maximum_identity_length(a), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_psk_authenticator_maximum_pre_shared_key_length(a), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_psk_authenticator_set_identity(a, buf, 3), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_psk_authenticator_set_pre_shared_key(a, buf, 3), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_psk_authenticator_set_identity_hint(a, buf, 3), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_psk_authenticator_set_maximum_identity_length(a, 3),
             DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_psk_authenticator_set_maximum_pre_shared_key_length(a, 3),
             DTLSGATE_E_BAD_HANDLE);
    dtlsgate_psk_authenticator_free(a); /* a no-op */
    if (good && before)
        CHECK_EQ(dtlsgate_psk_authenticator_equal(good, before), 1);
    dtlsgate_psk_authenticator_free(before);
}

static void test_handles(void)
{
    dtlsgate_verifier *v = dtlsgate_verifier_new(), *v2;
    dtlsgate_psk_authenticator *a = dtlsgate_psk_authenticator_new(), *good, *a2;
    static const uint8_t id[] = "someone";

    if (!CHECK(v && a) || ncorpus == 0)
        return;
    good = dtlsgate_psk_authenticator_new();
    dtlsgate_psk_authenticator_set_identity(good, id, sizeof id - 1);

    /* NULL everywhere. */
    expect_bad_verifier(NULL, "NULL verifier");
    expect_bad_psk(NULL, good, "NULL authenticator");
    dtlsgate_verifier_free(NULL);
    dtlsgate_psk_authenticator_free(NULL);

    /* One kind of handle where the other is expected. */
    expect_bad_verifier((dtlsgate_verifier *)a, "authenticator as verifier");
    expect_bad_psk((dtlsgate_psk_authenticator *)v, good, "verifier as authenticator");
    CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_NO_ERROR);
    CHECK_EQ(dtlsgate_psk_authenticator_maximum_identity_length(a), 0);

    /* Freed handles; freeing twice is a no-op; handles are not reused. */
    dtlsgate_verifier_free(v);
    dtlsgate_verifier_free(v);
    expect_bad_verifier(v, "freed verifier");
    dtlsgate_psk_authenticator_free(a);
    dtlsgate_psk_authenticator_free(a);
    expect_bad_psk(a, good, "freed authenticator");
    v2 = dtlsgate_verifier_new();
    a2 = dtlsgate_psk_authenticator_new();
    check_context = "handles";
    CHECK(v2 != NULL && v2 != v);
    CHECK(a2 != NULL && a2 != a);
    CHECK(v2 != (dtlsgate_verifier *)a2);
    CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_verifier_dtls_error(v2), DTLSGATE_NO_ERROR);
    dtlsgate_verifier_free(v2);
    dtlsgate_psk_authenticator_free(a2);
    dtlsgate_psk_authenticator_free(good);
    check_context = "";
}

/* Pointers the library never issued. Run in a child process (see main), as
 * a library that dereferences them would crash. */
static int bogus_handles(void)
{
    static unsigned char zeros[4096];
    dtlsgate_psk_authenticator *good = dtlsgate_psk_authenticator_new();
    expect_bad_verifier((dtlsgate_verifier *)(void *)zeros, "pointer to zeroed memory");
    expect_bad_psk((dtlsgate_psk_authenticator *)(void *)zeros, good, "pointer to zeroed memory");
    expect_bad_verifier((dtlsgate_verifier *)(UINTPTR_MAX - 15), "pointer -16");
    expect_bad_psk((dtlsgate_psk_authenticator *)(UINTPTR_MAX - 15), good, "pointer -16");
    expect_bad_verifier((dtlsgate_verifier *)(uintptr_t)0xdead0000beefULL, "wild pointer");
    expect_bad_psk((dtlsgate_psk_authenticator *)(uintptr_t)0xdead0000beefULL, good,
                   "wild pointer");
    dtlsgate_psk_authenticator_free(good);
    printf("bogus-handles child: %ld passed, %ld failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}

/* Runs this program again with one argument (fork then exec at once, as the
 * embedded Go runtime requires) and checks that it exited with status 0. */
static void run_child(const char *self, const char *arg)
{
    pid_t pid;
    int status = 0;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        execl(self, self, arg, (char *)NULL);
        _exit(127);
    }
    check_context = arg;
    if (!CHECK(pid > 0))
        return;
    if (!CHECK(waitpid(pid, &status, 0) == pid))
        return;
    if (!CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        fprintf(stderr, "    child %s: %s %d\n", arg, WIFEXITED(status) ? "exit" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    check_context = "";
}

/* ------------------------------------------------------------------------
 * PSK authenticator
 * ---------------------------------------------------------------------- */

/* A field of a into buf; its length, or the negative status. */
static long psk_field(const dtlsgate_psk_authenticator *a, int f, uint8_t *buf, size_t cap)
{
    size_t len = cap;
    int rc = f == 0   ? dtlsgate_psk_authenticator_identity_hint(a, buf, &len)
             : f == 1 ? dtlsgate_psk_authenticator_identity(a, buf, &len)
                      : dtlsgate_psk_authenticator_pre_shared_key(a, buf, &len);
    return rc ? rc : (long)len;
}

static int psk_set(dtlsgate_psk_authenticator *a, int f, const uint8_t *p, size_t n)
{
    return f == 0   ? dtlsgate_psk_authenticator_set_identity_hint(a, p, n)
           : f == 1 ? dtlsgate_psk_authenticator_set_identity(a, p, n)
                    : dtlsgate_psk_authenticator_set_pre_shared_key(a, p, n);
}

static void test_psk(void)
{
    static const char *const fname[3] = {"identity hint", "identity", "pre-shared key"};
    static const uint8_t bin[7] = {0, 'k', 0, 0, 0xFF, 0, 'z'};
    dtlsgate_psk_authenticator *a = dtlsgate_psk_authenticator_new(), *b, *c;
    uint8_t *big = malloc(DTLSGATE_MAX_INPUT + 1), *got = malloc(BIG);
    int f, i;
    long n;

    check_context = "psk";
    if (!CHECK(a && big && got))
        return;
    for (i = 0; i <= DTLSGATE_MAX_INPUT; i++)
        big[i] = (uint8_t)(i * 7 + 1);

    /* New: everything empty or 0. */
    for (f = 0; f < 3; f++)
        CHECK_EQ(psk_field(a, f, got, BIG), 0);
    CHECK_EQ(dtlsgate_psk_authenticator_maximum_identity_length(a), 0);
    CHECK_EQ(dtlsgate_psk_authenticator_maximum_pre_shared_key_length(a), 0);
    b = dtlsgate_psk_authenticator_new();
    CHECK_EQ(dtlsgate_psk_authenticator_equal(a, b), 1);
    CHECK_EQ(dtlsgate_psk_authenticator_equal(a, a), 1);

    /* Each byte field: binary, empty, the largest, one past it. */
    for (f = 0; f < 3; f++) {
        set_context("psk:", fname[f]);
        CHECK_EQ(psk_set(a, f, bin, sizeof bin), DTLSGATE_OK);
        n = psk_field(a, f, got, BIG);
        CHECK_MEM(got, (size_t)(n < 0 ? 0 : n), bin, sizeof bin);
        CHECK_EQ(psk_set(a, f, bin, 0), DTLSGATE_OK);
        CHECK_EQ(psk_field(a, f, got, BIG), 0);
        CHECK_EQ(psk_set(a, f, bin, sizeof bin), DTLSGATE_OK);
        CHECK_EQ(psk_set(a, f, NULL, 0), DTLSGATE_OK);
        CHECK_EQ(psk_field(a, f, got, BIG), 0);
        CHECK_EQ(psk_set(a, f, big, DTLSGATE_MAX_INPUT), DTLSGATE_OK);
        n = psk_field(a, f, got, BIG);
        CHECK_MEM(got, (size_t)(n < 0 ? 0 : n), big, DTLSGATE_MAX_INPUT);
        CHECK_EQ(psk_set(a, f, bin, sizeof bin), DTLSGATE_OK);
        CHECK_EQ(psk_set(a, f, big, DTLSGATE_MAX_INPUT + 1), DTLSGATE_E_INVALID_ARGUMENT);
        CHECK_EQ(psk_set(a, f, NULL, 3), DTLSGATE_E_INVALID_ARGUMENT);
        n = psk_field(a, f, got, BIG);
        CHECK_MEM(got, (size_t)(n < 0 ? 0 : n), bin, sizeof bin);
        /* Only this field changed. */
        CHECK_EQ(psk_field(a, (f + 1) % 3, got, BIG), 0);
        CHECK_EQ(psk_set(a, f, NULL, 0), DTLSGATE_OK);
    }
    check_context = "psk: maxima";
    CHECK_EQ(dtlsgate_psk_authenticator_set_maximum_identity_length(a, 128), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_psk_authenticator_maximum_identity_length(a), 128);
    CHECK_EQ(dtlsgate_psk_authenticator_maximum_pre_shared_key_length(a), 0);
    CHECK_EQ(dtlsgate_psk_authenticator_set_maximum_pre_shared_key_length(a, 64), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_psk_authenticator_maximum_pre_shared_key_length(a), 64);
    CHECK_EQ(dtlsgate_psk_authenticator_set_maximum_identity_length(a, -1),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_psk_authenticator_set_maximum_pre_shared_key_length(a, INT_MIN),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_psk_authenticator_maximum_identity_length(a), 128);
    CHECK_EQ(dtlsgate_psk_authenticator_maximum_pre_shared_key_length(a), 64);
    CHECK_EQ(dtlsgate_psk_authenticator_set_maximum_identity_length(a, INT_MAX), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_psk_authenticator_maximum_identity_length(a), INT_MAX);
    CHECK_EQ(dtlsgate_psk_authenticator_set_maximum_identity_length(a, 0), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_psk_authenticator_maximum_identity_length(a), 0);
    /* Setters store in full, whatever the maxima say. */
    CHECK_EQ(dtlsgate_psk_authenticator_set_maximum_pre_shared_key_length(a, 2), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_psk_authenticator_set_pre_shared_key(a, bin, sizeof bin), DTLSGATE_OK);
    CHECK_EQ(psk_field(a, 2, got, BIG), (long)sizeof bin);

    /* Copy: equal and independent. All five fields set first. */
    check_context = "psk: copy, equal, swap";
    CHECK_EQ(dtlsgate_psk_authenticator_set_identity_hint(a, (const uint8_t *)"hint", 4),
             DTLSGATE_OK);
    CHECK_EQ(dtlsgate_psk_authenticator_set_identity(a, (const uint8_t *)"Client_identity", 15),
             DTLSGATE_OK);
    CHECK_EQ(dtlsgate_psk_authenticator_set_maximum_identity_length(a, 128), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_psk_authenticator_set_maximum_pre_shared_key_length(a, 64), DTLSGATE_OK);
    c = dtlsgate_psk_authenticator_copy(a);
    if (CHECK(c != NULL)) {
        CHECK(c != a);
        CHECK_EQ(dtlsgate_psk_authenticator_equal(a, c), 1);
        CHECK_EQ(dtlsgate_psk_authenticator_equal(c, a), 1);
        for (f = 0; f < 3; f++) {
            uint8_t other[7];
            n = psk_field(c, f, got, BIG);
            CHECK(n > 0);
            /* Change one field of the copy: no longer equal; a unchanged. */
            memcpy(other, got, (size_t)(n > 7 ? 7 : n));
            other[0] ^= 1;
            CHECK_EQ(psk_set(c, f, other, (size_t)(n > 7 ? 7 : n)), DTLSGATE_OK);
            if (!CHECK_EQ(dtlsgate_psk_authenticator_equal(a, c), 0))
                fprintf(stderr, "    field %s\n", fname[f]);
            CHECK_EQ(psk_field(a, f, got + 100, BIG - 100), n);
            psk_set(c, f, got, (size_t)n);
            CHECK_EQ(dtlsgate_psk_authenticator_equal(a, c), 1);
            /* A prefix or an extension is not equal either. */
            CHECK_EQ(psk_set(c, f, got, (size_t)n - 1), DTLSGATE_OK);
            CHECK_EQ(dtlsgate_psk_authenticator_equal(a, c), 0);
            psk_set(c, f, got, (size_t)n);
        }
        CHECK_EQ(dtlsgate_psk_authenticator_set_maximum_identity_length(c, 127), DTLSGATE_OK);
        CHECK_EQ(dtlsgate_psk_authenticator_equal(a, c), 0);
        CHECK_EQ(dtlsgate_psk_authenticator_maximum_identity_length(a), 128);
        CHECK_EQ(dtlsgate_psk_authenticator_set_maximum_identity_length(c, 128), DTLSGATE_OK);
        CHECK_EQ(dtlsgate_psk_authenticator_equal(a, c), 1);
        CHECK_EQ(dtlsgate_psk_authenticator_set_maximum_pre_shared_key_length(c, 65),
                 DTLSGATE_OK);
        CHECK_EQ(dtlsgate_psk_authenticator_equal(a, c), 0);
        CHECK_EQ(dtlsgate_psk_authenticator_maximum_pre_shared_key_length(a), 64);
        CHECK_EQ(dtlsgate_psk_authenticator_set_maximum_pre_shared_key_length(c, 64),
                 DTLSGATE_OK);
        CHECK_EQ(dtlsgate_psk_authenticator_equal(a, c), 1);
        /* The copy survives the original. */
        dtlsgate_psk_authenticator_free(a);
        n = psk_field(c, 1, got, BIG);
        CHECK_MEM(got, (size_t)(n < 0 ? 0 : n), "Client_identity", 15);
        a = c;
    }
    /* An empty one is not equal to a full one; a fresh empty one is. */
    CHECK_EQ(dtlsgate_psk_authenticator_equal(a, b), 0);

    /* Swap exchanges all five fields; swap with itself changes nothing. */
    {
        dtlsgate_psk_authenticator *a0 = dtlsgate_psk_authenticator_copy(a);
        dtlsgate_psk_authenticator *b0;
        CHECK_EQ(dtlsgate_psk_authenticator_set_identity_hint(b, (const uint8_t *)"B-hint", 6),
                 DTLSGATE_OK);
        CHECK_EQ(dtlsgate_psk_authenticator_set_identity(b, (const uint8_t *)"B-id", 4),
                 DTLSGATE_OK);
        CHECK_EQ(dtlsgate_psk_authenticator_set_pre_shared_key(b, (const uint8_t *)"B-key", 5),
                 DTLSGATE_OK);
        CHECK_EQ(dtlsgate_psk_authenticator_set_maximum_identity_length(b, 7), DTLSGATE_OK);
        CHECK_EQ(dtlsgate_psk_authenticator_set_maximum_pre_shared_key_length(b, 9),
                 DTLSGATE_OK);
        b0 = dtlsgate_psk_authenticator_copy(b);
        CHECK_EQ(dtlsgate_psk_authenticator_swap(a, b), DTLSGATE_OK);
        CHECK_EQ(dtlsgate_psk_authenticator_equal(a, b0), 1);
        CHECK_EQ(dtlsgate_psk_authenticator_equal(b, a0), 1);
        CHECK_EQ(dtlsgate_psk_authenticator_maximum_identity_length(a), 7);
        CHECK_EQ(dtlsgate_psk_authenticator_maximum_pre_shared_key_length(a), 9);
        CHECK_EQ(dtlsgate_psk_authenticator_maximum_identity_length(b), 128);
        CHECK_EQ(dtlsgate_psk_authenticator_maximum_pre_shared_key_length(b), 64);
        n = psk_field(a, 0, got, BIG);
        CHECK_MEM(got, (size_t)(n < 0 ? 0 : n), "B-hint", 6);
        n = psk_field(a, 1, got, BIG);
        CHECK_MEM(got, (size_t)(n < 0 ? 0 : n), "B-id", 4);
        n = psk_field(a, 2, got, BIG);
        CHECK_MEM(got, (size_t)(n < 0 ? 0 : n), "B-key", 5);
        n = psk_field(b, 2, got, BIG);
        CHECK_MEM(got, (size_t)(n < 0 ? 0 : n), bin, sizeof bin);
        CHECK_EQ(dtlsgate_psk_authenticator_swap(a, a), DTLSGATE_OK);
        CHECK_EQ(dtlsgate_psk_authenticator_equal(a, b0), 1);
        /* Still independent after the swap. */
        CHECK_EQ(dtlsgate_psk_authenticator_set_identity(b0, (const uint8_t *)"x", 1),
                 DTLSGATE_OK);
        CHECK_EQ(dtlsgate_psk_authenticator_equal(a, b0), 0);
        dtlsgate_psk_authenticator_free(a0);
        dtlsgate_psk_authenticator_free(b0);
    }
    dtlsgate_psk_authenticator_free(a);
    dtlsgate_psk_authenticator_free(b);
    dtlsgate_psk_authenticator_free(a);
    dtlsgate_psk_authenticator_free(NULL);
    free(big);
    free(got);
    check_context = "";
}

/* ------------------------------------------------------------------------
 * Threads
 * ---------------------------------------------------------------------- */

typedef struct {
    dtlsgate_verifier *v;
    const uint8_t *hello, *hello2;
    size_t len, len2;
    int iters;
    long replies, verified, bad;
    char why[160];
} worker_t;

static void *worker(void *arg)
{
    worker_t *w = arg;
    uint8_t reply[DTLSGATE_HELLO_VERIFY_REQUEST_MAX];
    struct sockaddr_in peer;
    int i;
    sin4(&peer, "192.0.2.1", 7000);
    for (i = 0; i < w->iters; i++) {
        size_t rlen = sizeof reply;
        const char *p;
        int rc = dtlsgate_verifier_check(w->v, w->hello, w->len, (struct sockaddr *)&peer,
                                         sizeof peer, reply, &rlen);
        if (rc != DTLSGATE_CHECK_SEND_REPLY) {
            w->bad++;
            snprintf(w->why, sizeof w->why, "cookie-less hello: check returned %d", rc);
            continue;
        }
        p = rlen > sizeof reply ? "reply length past the buffer"
                                : hvr_problem(reply, rlen, w->hello, w->len);
        if (p) {
            w->bad++;
            snprintf(w->why, sizeof w->why, "reply: %s", p);
            continue;
        }
        w->replies++;
        rlen = sizeof reply;
        rc = dtlsgate_verifier_check_address(w->v, w->hello2, w->len2, "192.0.2.1", 7000, reply,
                                             &rlen);
        if (rc == DTLSGATE_CHECK_VERIFIED && rlen == 0) {
            w->verified++;
        } else if (rc == DTLSGATE_CHECK_SEND_REPLY && rlen <= sizeof reply &&
                   hvr_problem(reply, rlen, w->hello2, w->len2) == NULL) {
            w->replies++;
        } else {
            w->bad++;
            snprintf(w->why, sizeof w->why, "hello with cookie: check returned %d, len %zu", rc,
                     rlen);
        }
    }
    return NULL;
}

/* dtlsgate_last_error_message: the argument at fault and what it accepts,
 * per thread, kept across calls that succeed. */
static void *other_thread_message(void *arg)
{
    /* Read here: the thread's string goes with the thread. */
    *(int *)arg = strcmp(dtlsgate_last_error_message(), "") == 0;
    return NULL;
}

static void test_last_error_message(void)
{
    dtlsgate_verifier *v = dtlsgate_verifier_new();
    CHECK_EQ(dtlsgate_verifier_set_cookie_lifetime(v, 0), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_STR(dtlsgate_last_error_message(), "cookie lifetime: 0 is out of range 1..86400 seconds");
    CHECK_EQ(dtlsgate_verifier_set_cookie_lifetime(v, 30), DTLSGATE_OK);
    CHECK_STR(dtlsgate_last_error_message(), "cookie lifetime: 0 is out of range 1..86400 seconds");
    CHECK_EQ(dtlsgate_verifier_set_secret_rotation_interval(v, 86401), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_STR(dtlsgate_last_error_message(),
              "secret rotation interval: 86401 is out of range 0..86400 seconds (0: never)");
    CHECK_EQ(dtlsgate_verifier_set_fleet_key(v, (const uint8_t *)"k", 1, 0, 0),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_STR(dtlsgate_last_error_message(), "fleet window: 0 is out of range 1..86400 seconds");
    CHECK_EQ(dtlsgate_verifier_verify_client(v, -1, NULL, 5, "127.0.0.1", 5684),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_STR(dtlsgate_last_error_message(), "datagram: NULL with a length of 5");
    uint8_t reply[DTLSGATE_HELLO_VERIFY_REQUEST_MAX];
    size_t n = sizeof reply;
    CHECK_EQ(dtlsgate_verifier_check_address(v, (const uint8_t *)"x", 1, "127.0.0.1", 0, reply, &n),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_STR(dtlsgate_last_error_message(), "port: 0 is out of range 1..65535");
    CHECK_EQ(dtlsgate_verifier_check_address(v, (const uint8_t *)"x", 1, "localhost", 5684, reply, &n),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK(strncmp(dtlsgate_last_error_message(), "address: missing or not a numeric", 33) == 0);
    /* verify_client refuses input with a result, not a status (Qt's way,
     * Qt's message); the last error message names the argument. */
    CHECK_EQ(dtlsgate_verifier_verify_client(v, -1, (const uint8_t *)"x", 1, "127.0.0.1", 5684), 0);
    CHECK_EQ(dtlsgate_verifier_dtls_error(v), DTLSGATE_INVALID_INPUT_PARAMETERS);
    CHECK_STR(dtlsgate_last_error_message(), "socket: -1 is not a descriptor");
    CHECK_EQ(dtlsgate_verifier_verify_client(v, 0, (const uint8_t *)"x", 1, "127.0.0.1", 0), 0);
    CHECK_STR(dtlsgate_last_error_message(), "port: 0 is out of range 1..65535");
    CHECK_EQ(dtlsgate_verifier_verify_client(v, 0, (const uint8_t *)"x", 0, "127.0.0.1", 5684), 0);
    CHECK_STR(dtlsgate_last_error_message(), "datagram: empty");
    CHECK_EQ(dtlsgate_verifier_verify_client(v, 0, (const uint8_t *)"x", 1, "ff02::1", 5684), 0);
    CHECK_STR(dtlsgate_last_error_message(),
              "address ff02::1: multicast or broadcast; only unicast peers are accepted");
    /* No detail of its own: the status's text, not an older detail. */
    dtlsgate_verifier_free(v);
    CHECK_EQ(dtlsgate_verifier_set_cookie_lifetime(v, 30), DTLSGATE_E_BAD_HANDLE);
    CHECK_STR(dtlsgate_last_error_message(), dtlsgate_strerror(DTLSGATE_E_BAD_HANDLE));

    dtlsgate_psk_authenticator *a = dtlsgate_psk_authenticator_new();
    CHECK_EQ(dtlsgate_psk_authenticator_set_pre_shared_key(a, NULL, 70000), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_STR(dtlsgate_last_error_message(), "pre-shared key: NULL with a length of 70000");
    static uint8_t big[DTLSGATE_MAX_INPUT + 1];
    CHECK_EQ(dtlsgate_psk_authenticator_set_identity(a, big, sizeof big), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_STR(dtlsgate_last_error_message(), "identity: 65536 bytes, more than the 65535 accepted");
    CHECK_EQ(dtlsgate_psk_authenticator_set_maximum_identity_length(a, -1), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_STR(dtlsgate_last_error_message(), "maximum identity length: -1 is negative; 0 or more bytes");
    dtlsgate_psk_authenticator_free(a);
    /* A refused input to a freed handle: the message is the status's. */
    dtlsgate_session *gone = dtlsgate_session_new(DTLSGATE_SSL_SERVER_MODE);
    dtlsgate_session_free(gone);
    CHECK_EQ(dtlsgate_session_set_identity_hint(gone, NULL, 3), DTLSGATE_E_BAD_HANDLE);
    CHECK_STR(dtlsgate_last_error_message(), dtlsgate_strerror(DTLSGATE_E_BAD_HANDLE));

    /* Another thread has its own. */
    pthread_t t;
    int empty = 0;
    CHECK_EQ(pthread_create(&t, NULL, other_thread_message, &empty), 0);
    pthread_join(t, NULL);
    CHECK(empty);
}

static void test_threads(int quick)
{
    enum { NT = 4 };
    static const uint8_t k[32] = "thread test fleet key ..........";
    const hello_t *h = &corpus[0];
    dtlsgate_verifier *v = dtlsgate_verifier_new();
    worker_t w[NT];
    pthread_t t[NT];
    uint8_t cookie[64], hello2[4096], secret[BIG];
    size_t clen, n2, len;
    int i, started = 0, changes = 0, hash, setter_bad = 0;
    long replies = 0, verified = 0;

    check_context = "threads";
    if (!CHECK(v != NULL) || ncorpus == 0)
        return;
    clen = mint(v, h, "192.0.2.1", 7000, cookie);
    n2 = with_cookie(h->data, h->len, cookie, clen, hello2, 1);
    for (i = 0; i < NT; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].v = v;
        w[i].hello = h->data;
        w[i].len = h->len;
        w[i].hello2 = hello2;
        w[i].len2 = n2;
        w[i].iters = quick ? 50 : 1500;
        if (pthread_create(&t[i], NULL, worker, &w[i]) == 0)
            started++;
        else
            break;
    }
    CHECK_EQ(started, NT);
    /* Meanwhile: change everything check() depends on. */
    for (i = 0; i < (quick ? 20 : 300); i++) {
        uint8_t s[8] = {'s', 'e', 'c', 'r', 'e', 't', (uint8_t)i, (uint8_t)(i >> 8)};
        static const int algs[3] = {DTLSGATE_HASH_SHA256, DTLSGATE_HASH_MD5,
                                    DTLSGATE_HASH_BLAKE2B_512};
        if (dtlsgate_verifier_set_cookie_generator_parameters(v, algs[i % 3], s, sizeof s) != 1)
            setter_bad++;
        if (dtlsgate_verifier_set_cookie_lifetime(v, (uint32_t)(30 + i % 60)) != DTLSGATE_OK)
            setter_bad++;
        if (i % 10 == 5) {
            if (dtlsgate_verifier_set_fleet_key(v, k, sizeof k, 600, 5) != DTLSGATE_OK)
                setter_bad++;
            if (dtlsgate_verifier_clear_fleet_key(v) != DTLSGATE_OK)
                setter_bad++;
        }
        if (params_of(v, &hash, secret, &len) != DTLSGATE_OK)
            setter_bad++;
        changes++;
    }
    for (i = 0; i < started; i++) {
        pthread_join(t[i], NULL);
        if (!CHECK_EQ(w[i].bad, 0))
            fprintf(stderr, "    thread %d: %s\n", i, w[i].why);
        replies += w[i].replies;
        verified += w[i].verified;
    }
    CHECK_EQ(setter_bad, 0);
    CHECK(changes > 0);
    CHECK_EQ(replies + verified, (long)started * 2 * (quick ? 50 : 1500));
    dtlsgate_verifier_free(v);
    check_context = "";
}

/* ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    int quick = getenv("DTLSGATE_TEST_QUICK") != NULL && getenv("DTLSGATE_TEST_QUICK")[0];
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = 1;
        } else if (strcmp(argv[i], "bogus-handles") == 0) {
            load_corpus();
            return bogus_handles();
        } else {
            fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    load_corpus();
    test_version();
    test_strings();
    test_hash_supported();
    test_defaults();
    test_set_params();
    if (ncorpus > 0) {
        test_all_algorithms();
        test_exchange(AF_INET);
        test_exchange(AF_INET6);
        test_exchange_sockaddr(AF_INET);
        test_exchange_sockaddr(AF_INET6);
        test_mapped();
        test_garbage();
        test_any_client_version();
        test_check();
        test_check_batch();
        test_shared_and_rotation();
        test_lifetime_settings();
        if (!quick)
            test_expiry_and_auto_rotation();
        test_fleet();
        test_socket_failure();
        test_bad_input();
        test_buffers();
        test_handles();
        test_threads(quick);
        test_last_error_message();
        run_child(argv[0], "bogus-handles");
    }
    test_psk();
    if (quick)
        printf("quick run: sleep-based tests skipped, threaded test shortened\n");
    return check_report();
}
