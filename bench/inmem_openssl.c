/* SPDX-License-Identifier: MIT */
/*
 * bench_inmem_openssl: OpenSSL 3's DTLS 1.2 PSK under the in-memory driver
 * (inmem.c). Each SSL object reads from and writes to memory BIOs; the
 * harness moves the bytes between them. The server answers the first
 * ClientHello with DTLSv1_listen(), OpenSSL's stateless cookie exchange,
 * with cookie callbacks that do what a server would: HMAC-SHA256 of the
 * client's address under a key made once (the EVP_MAC context keeps the
 * key schedule, as dtlsgate and GnuTLS do).
 *
 * Usage: bench_inmem_openssl [OPERATION...]
 */
#define _POSIX_C_SOURCE 200809L

#include "inmem.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pair {
    SSL *client, *server;
};

static EVP_MAC_CTX *cookie_mac;
static BIO_ADDR *listen_peer;

static void fail_ssl(const char *what)
{
    char err[256];
    ERR_error_string_n(ERR_get_error(), err, sizeof err);
    inmem_fail("%s: %s", what, err);
}

/* The cookie covers the client's address; in memory there is no real one,
 * so every client is INMEM_CLIENT_IP:INMEM_CLIENT_PORT. */
static int make_cookie(uint8_t out[32])
{
    static const char peer[] = INMEM_CLIENT_ADDRESS;
    size_t n = 0;
    return EVP_MAC_init(cookie_mac, NULL, 0, NULL) &&
           EVP_MAC_update(cookie_mac, (const uint8_t *)peer, sizeof peer - 1) &&
           EVP_MAC_final(cookie_mac, out, &n, 32) && n == 32;
}

static int generate_cookie(SSL *ssl, unsigned char *cookie, unsigned int *len)
{
    (void)ssl;
    *len = 32;
    return make_cookie(cookie);
}

static int verify_cookie(SSL *ssl, const unsigned char *cookie, unsigned int len)
{
    uint8_t want[32];
    (void)ssl;
    return len == 32 && make_cookie(want) && CRYPTO_memcmp(want, cookie, 32) == 0;
}

static unsigned int client_psk(SSL *ssl, const char *hint, char *identity,
                               unsigned int max_identity, unsigned char *psk, unsigned int max_psk)
{
    (void)ssl;
    (void)hint;
    if (max_identity < sizeof INMEM_IDENTITY || max_psk < sizeof INMEM_KEY - 1)
        return 0;
    memcpy(identity, INMEM_IDENTITY, sizeof INMEM_IDENTITY);
    memcpy(psk, INMEM_KEY, sizeof INMEM_KEY - 1);
    return sizeof INMEM_KEY - 1;
}

static unsigned int server_psk(SSL *ssl, const char *identity, unsigned char *psk,
                               unsigned int max_psk)
{
    (void)ssl;
    if (strcmp(identity, INMEM_IDENTITY) != 0 || max_psk < sizeof INMEM_KEY - 1)
        return 0;
    memcpy(psk, INMEM_KEY, sizeof INMEM_KEY - 1);
    return sizeof INMEM_KEY - 1;
}

/* One client and one server context per suite, made on first use. */
static SSL_CTX *context(const char *suite, int server)
{
    static struct {
        const char *suite;
        SSL_CTX *ctx[2];
    } made[8];
    size_t i = 0;
    while (made[i].suite && strcmp(made[i].suite, suite) != 0)
        i++;
    if (made[i].suite)
        return made[i].ctx[server];

    for (int side = 0; side < 2; side++) {
        SSL_CTX *ctx = SSL_CTX_new(side ? DTLS_server_method() : DTLS_client_method());
        if (!ctx || !SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) ||
            !SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) ||
            !SSL_CTX_set_cipher_list(ctx, suite) || !SSL_CTX_set1_groups_list(ctx, "X25519"))
            fail_ssl(suite);
        SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU);
        if (side) {
            SSL_CTX_set_psk_server_callback(ctx, server_psk);
            SSL_CTX_set_cookie_generate_cb(ctx, generate_cookie);
            SSL_CTX_set_cookie_verify_cb(ctx, verify_cookie);
        } else {
            SSL_CTX_set_psk_client_callback(ctx, client_psk);
        }
        made[i].ctx[side] = ctx;
    }
    made[i].suite = suite;
    return made[i].ctx[server];
}

static SSL *new_ssl(const char *suite, int server)
{
    SSL *ssl = SSL_new(context(suite, server));
    BIO *in = BIO_new(BIO_s_mem()), *out = BIO_new(BIO_s_mem());
    if (!ssl || !in || !out)
        fail_ssl("SSL_new");
    SSL_set_bio(ssl, in, out);
    SSL_set_mtu(ssl, 1400);
    if (server)
        SSL_set_accept_state(ssl);
    return ssl;
}

/* Moves what `from` wrote to `to`'s input; returns the number of bytes. */
static int carry(SSL *from, SSL *to)
{
    uint8_t buf[16384];
    int n = BIO_read(SSL_get_wbio(from), buf, sizeof buf);
    if (n <= 0)
        return 0;
    if (BIO_write(SSL_get_rbio(to), buf, n) != n)
        fail_ssl("BIO_write");
    return n;
}

/* Runs a handshake step; 1 when done, 0 when it waits for the peer. */
static int step(SSL *ssl)
{
    int r = SSL_do_handshake(ssl);
    if (r == 1)
        return 1;
    if (SSL_get_error(ssl, r) != SSL_ERROR_WANT_READ)
        fail_ssl("SSL_do_handshake");
    return 0;
}

/* A client run up to its second ClientHello (carried to `server`, which
 * answered the first with a HelloVerifyRequest through DTLSv1_listen). */
static SSL *client_to_cookie(const char *suite, SSL *server)
{
    SSL *client = new_ssl(suite, 0);
    SSL_set_connect_state(client);
    if (step(client) || !carry(client, server))
        inmem_fail("no first ClientHello");
    if (DTLSv1_listen(server, listen_peer) != 0 || !carry(server, client))
        fail_ssl("DTLSv1_listen on the first ClientHello sent no HelloVerifyRequest");
    if (step(client) || !carry(client, server))
        inmem_fail("no second ClientHello");
    return client;
}

static void *os_connect(const char *suite)
{
    struct pair *p = malloc(sizeof *p);
    if (!p)
        inmem_fail("out of memory");
    p->server = new_ssl(suite, 1);
    p->client = client_to_cookie(suite, p->server);
    if (DTLSv1_listen(p->server, listen_peer) != 1)
        fail_ssl("DTLSv1_listen did not accept the cookie");

    int server_done = 0, client_done = 0;
    for (int rounds = 0; !(server_done && client_done); rounds++) {
        server_done = step(p->server);
        int moved = carry(p->server, p->client);
        client_done = step(p->client);
        moved += carry(p->client, p->server);
        if (rounds == 10 || (!moved && !(server_done && client_done)))
            inmem_fail("the %s handshake did not complete", suite);
    }
    if (strcmp(SSL_get_cipher_name(p->server), suite) != 0)
        inmem_fail("negotiated %s, not %s", SSL_get_cipher_name(p->server), suite);
    return p;
}

static long os_record(void *pair, const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    struct pair *p = pair;
    if (SSL_write(p->client, in, (int)len) != (int)len)
        fail_ssl("SSL_write");
    if (!carry(p->client, p->server))
        inmem_fail("SSL_write wrote no datagram");
    int n = SSL_read(p->server, out, (int)cap);
    if (n <= 0)
        fail_ssl("SSL_read");
    return n;
}

static void os_free_client(void *pair)
{
    struct pair *p = pair;
    SSL_free(p->client);
    p->client = NULL;
}

static void os_free_pair(void *pair)
{
    struct pair *p = pair;
    SSL_free(p->client);
    SSL_free(p->server);
    free(p);
}

/* The cookie check: the server's SSL, kept, and the second ClientHello. */
struct cookie_ctx {
    SSL *server;
    uint8_t hello[INMEM_MAX_DGRAM];
    int len;
};

static void *os_cookie_setup(void)
{
    struct cookie_ctx *c = malloc(sizeof *c);
    if (!c)
        inmem_fail("out of memory");
    c->server = new_ssl(INMEM_PSK_SUITE, 1);
    SSL_free(client_to_cookie(INMEM_PSK_SUITE, c->server));
    c->len = BIO_read(SSL_get_rbio(c->server), c->hello, sizeof c->hello);
    if (c->len <= 0)
        inmem_fail("no second ClientHello");
    return c;
}

/* DTLSv1_listen() resets the SSL and reads one datagram; it returns 1
 * only for a ClientHello whose cookie the verify callback accepted. */
static int os_cookie_check(void *ctx)
{
    struct cookie_ctx *c = ctx;
    if (BIO_write(SSL_get_rbio(c->server), c->hello, c->len) != c->len)
        fail_ssl("BIO_write");
    return DTLSv1_listen(c->server, listen_peer) == 1;
}

static void os_cookie_free(void *ctx)
{
    struct cookie_ctx *c = ctx;
    SSL_free(c->server);
    free(c);
}

int main(int argc, char **argv)
{
    uint8_t key[32];
    OSSL_PARAM params[] = {OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                           OSSL_PARAM_END};
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);

    if (!hmac || RAND_bytes(key, sizeof key) != 1 || !(cookie_mac = EVP_MAC_CTX_new(hmac)) ||
        !EVP_MAC_init(cookie_mac, key, sizeof key, params) || !(listen_peer = BIO_ADDR_new()))
        fail_ssl("cookie key");

    struct inmem_lib lib = {
        .name = "openssl",
        .version = OpenSSL_version(OPENSSL_VERSION),
        .connect = os_connect,
        .record = os_record,
        .free_client = os_free_client,
        .free_pair = os_free_pair,
        .cookie_setup = os_cookie_setup,
        .cookie_check = os_cookie_check,
        .cookie_free = os_cookie_free,
        .malloc_memory = 1,
    };
    return inmem_main(&lib, argc, argv);
}
