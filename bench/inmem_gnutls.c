/* SPDX-License-Identifier: MIT */
/*
 * bench_inmem_gnutls: GnuTLS 3's DTLS 1.2 PSK under the in-memory driver
 * (inmem.c). Sessions are non-blocking and read and write through the
 * harness's push/pull functions, which keep each direction's datagrams in a
 * queue. The server answers the first ClientHello with
 * gnutls_dtls_cookie_verify()/gnutls_dtls_cookie_send(), GnuTLS' stateless
 * cookie exchange, and starts its session from the prestate.
 *
 * Usage: bench_inmem_gnutls [OPERATION...]
 */
#define _POSIX_C_SOURCE 200809L

#include "inmem.h"

#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The datagrams in flight one way. */
struct queue {
    uint8_t data[8][INMEM_MAX_DGRAM];
    size_t len[8];
    unsigned head, count;
};

/* One side's transport: it pulls from `in` and pushes to `out`. */
struct end {
    gnutls_session_t session;
    struct queue *in, *out;
};

struct pair {
    struct end client, server;
    struct queue *to_server, *to_client;
};

/* The suites by their OpenSSL names, as GnuTLS priorities. */
static const struct {
    const char *suite, *priority;
    gnutls_kx_algorithm_t kx;
    gnutls_cipher_algorithm_t cipher;
} suites[] = {
#define ONLY "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:-CIPHER-ALL:-MAC-ALL:-GROUP-ALL:+GROUP-X25519:"
    {"PSK-AES128-GCM-SHA256", ONLY "+PSK:+AES-128-GCM:+AEAD", GNUTLS_KX_PSK, GNUTLS_CIPHER_AES_128_GCM},
    {"PSK-AES256-GCM-SHA384", ONLY "+PSK:+AES-256-GCM:+AEAD", GNUTLS_KX_PSK, GNUTLS_CIPHER_AES_256_GCM},
    {"PSK-CHACHA20-POLY1305", ONLY "+PSK:+CHACHA20-POLY1305:+AEAD", GNUTLS_KX_PSK,
     GNUTLS_CIPHER_CHACHA20_POLY1305},
    {"ECDHE-PSK-AES128-CBC-SHA256", ONLY "+ECDHE-PSK:+AES-128-CBC:+SHA256", GNUTLS_KX_ECDHE_PSK,
     GNUTLS_CIPHER_AES_128_CBC},
#undef ONLY
};
static gnutls_priority_t priorities[sizeof suites / sizeof suites[0]];

static gnutls_psk_client_credentials_t client_cred;
static gnutls_psk_server_credentials_t server_cred;
static gnutls_datum_t cookie_key;
static const char client_data[] = INMEM_CLIENT_ADDRESS;   /* what the cookie covers */

static void check(int r, const char *what)
{
    if (r < 0)
        inmem_fail("%s: %s", what, gnutls_strerror(r));
}

static size_t suite_index(const char *suite)
{
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        if (strcmp(suites[i].suite, suite) == 0)
            return i;
    inmem_fail("no GnuTLS priority for %s", suite);
}

static ssize_t push(gnutls_transport_ptr_t ptr, const void *data, size_t len)
{
    struct queue *q = ((struct end *)ptr)->out;
    if (q->count == 8 || len > INMEM_MAX_DGRAM)
        inmem_fail("a datagram queue overflowed");
    unsigned tail = (q->head + q->count++) % 8;
    memcpy(q->data[tail], data, len);
    q->len[tail] = len;
    return (ssize_t)len;
}

static ssize_t pull(gnutls_transport_ptr_t ptr, void *data, size_t cap)
{
    struct end *e = ptr;
    struct queue *q = e->in;
    if (q->count == 0) {
        gnutls_transport_set_errno(e->session, EAGAIN);
        return -1;
    }
    size_t len = q->len[q->head];
    if (len > cap)
        len = cap;
    memcpy(data, q->data[q->head], len);
    q->head = (q->head + 1) % 8;
    q->count--;
    return (ssize_t)len;
}

static int pull_timeout(gnutls_transport_ptr_t ptr, unsigned ms)
{
    (void)ms;
    return ((struct end *)ptr)->in->count > 0;
}

static void new_session(struct end *e, unsigned flags, size_t suite)
{
    check(gnutls_init(&e->session, flags | GNUTLS_DATAGRAM | GNUTLS_NONBLOCK), "gnutls_init");
    check(gnutls_priority_set(e->session, priorities[suite]), "gnutls_priority_set");
    check(gnutls_credentials_set(e->session, GNUTLS_CRD_PSK,
                                 flags & GNUTLS_SERVER ? (void *)server_cred : (void *)client_cred),
          "gnutls_credentials_set");
    gnutls_transport_set_ptr(e->session, e);
    gnutls_transport_set_push_function(e->session, push);
    gnutls_transport_set_pull_function(e->session, pull);
    gnutls_transport_set_pull_timeout_function(e->session, pull_timeout);
    gnutls_dtls_set_mtu(e->session, 1500);
}

/* Runs a handshake step; 1 when done, 0 when it waits for the peer. */
static int step(gnutls_session_t s)
{
    int r = gnutls_handshake(s);
    if (r == 0)
        return 1;
    if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED)
        check(r, "gnutls_handshake");
    return 0;
}

static struct pair *new_pair(void)
{
    struct pair *p = calloc(1, sizeof *p);
    if (!p || !(p->to_server = calloc(1, sizeof *p->to_server)) ||
        !(p->to_client = calloc(1, sizeof *p->to_client)))
        inmem_fail("out of memory");
    p->client = (struct end){NULL, p->to_client, p->to_server};
    p->server = (struct end){NULL, p->to_server, p->to_client};
    return p;
}

/* The cookie step for the datagram at the head of to_server: 0 and the
 * prestate when its cookie is valid; otherwise a HelloVerifyRequest is
 * pushed to the client and the datagram dropped. */
static int cookie_step(struct pair *p, gnutls_dtls_prestate_st *prestate)
{
    struct queue *q = p->to_server;
    memset(prestate, 0, sizeof *prestate);
    if (q->count == 0)
        inmem_fail("no ClientHello");
    int r = gnutls_dtls_cookie_verify(&cookie_key, (void *)client_data, sizeof client_data - 1,
                                      q->data[q->head], q->len[q->head], prestate);
    if (r == 0)
        return 0;
    check(gnutls_dtls_cookie_send(&cookie_key, (void *)client_data, sizeof client_data - 1,
                                  prestate, &p->server, push),
          "gnutls_dtls_cookie_send");
    q->head = (q->head + 1) % 8;
    q->count--;
    return -1;
}

/* A client run up to its second ClientHello, left at the head of to_server
 * with its prestate. */
static void client_to_cookie(struct pair *p, size_t suite, gnutls_dtls_prestate_st *prestate)
{
    new_session(&p->client, GNUTLS_CLIENT, suite);
    if (step(p->client.session) || cookie_step(p, prestate) == 0)
        inmem_fail("the first ClientHello passed without a cookie");
    if (step(p->client.session) || cookie_step(p, prestate) != 0)
        inmem_fail("the second ClientHello's cookie did not verify");
}

static void *gt_connect(const char *suite)
{
    size_t i = suite_index(suite);
    gnutls_dtls_prestate_st prestate;
    struct pair *p = new_pair();

    client_to_cookie(p, i, &prestate);
    new_session(&p->server, GNUTLS_SERVER, i);
    gnutls_dtls_prestate_set(p->server.session, &prestate);
    int server_done = 0, client_done = 0;
    for (int rounds = 0; !(server_done && client_done); rounds++) {
        if (rounds == 10)
            inmem_fail("the %s handshake did not complete", suite);
        server_done = server_done || step(p->server.session);
        client_done = client_done || step(p->client.session);
    }
    if (gnutls_kx_get(p->server.session) != suites[i].kx ||
        gnutls_cipher_get(p->server.session) != suites[i].cipher)
        inmem_fail("negotiated %s, not %s", gnutls_cipher_suite_get_name(
                       gnutls_kx_get(p->server.session), gnutls_cipher_get(p->server.session),
                       gnutls_mac_get(p->server.session)), suite);
    return p;
}

static long gt_record(void *pair, const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    struct pair *p = pair;
    ssize_t n = gnutls_record_send(p->client.session, in, len);
    if (n != (ssize_t)len)
        inmem_fail("gnutls_record_send: %s", n < 0 ? gnutls_strerror((int)n) : "short write");
    n = gnutls_record_recv(p->server.session, out, cap);
    check((int)n, "gnutls_record_recv");
    return (long)n;
}

/* Leaves the server's session alone: the client's and the queues go. */
static void gt_free_client(void *pair)
{
    struct pair *p = pair;
    gnutls_deinit(p->client.session);
    p->client.session = NULL;
    free(p->to_server);
    free(p->to_client);
    p->to_server = p->to_client = NULL;
}

static void gt_free_pair(void *pair)
{
    struct pair *p = pair;
    if (p->client.session)
        gnutls_deinit(p->client.session);
    gnutls_deinit(p->server.session);
    free(p->to_server);
    free(p->to_client);
    free(p);
}

/* The cookie check: the second ClientHello, copied. */
struct cookie_ctx {
    uint8_t hello[INMEM_MAX_DGRAM];
    size_t len;
};

static void *gt_cookie_setup(void)
{
    gnutls_dtls_prestate_st prestate;
    struct cookie_ctx *c = malloc(sizeof *c);
    struct pair *p = new_pair();
    if (!c)
        inmem_fail("out of memory");
    client_to_cookie(p, suite_index(INMEM_PSK_SUITE), &prestate);
    c->len = p->to_server->len[p->to_server->head];
    memcpy(c->hello, p->to_server->data[p->to_server->head], c->len);
    gnutls_deinit(p->client.session);
    free(p->to_server);
    free(p->to_client);
    free(p);
    return c;
}

static int gt_cookie_check(void *ctx)
{
    struct cookie_ctx *c = ctx;
    gnutls_dtls_prestate_st prestate;
    return gnutls_dtls_cookie_verify(&cookie_key, (void *)client_data, sizeof client_data - 1,
                                     c->hello, c->len, &prestate) == 0;
}

static int server_key(gnutls_session_t s, const char *identity, gnutls_datum_t *key)
{
    (void)s;
    if (strcmp(identity, INMEM_IDENTITY) != 0)
        return -1;
    key->size = sizeof INMEM_KEY - 1;
    key->data = gnutls_malloc(key->size);
    if (!key->data)
        return -1;
    memcpy(key->data, INMEM_KEY, key->size);
    return 0;
}

int main(int argc, char **argv)
{
    static char version[64];
    const gnutls_datum_t key = {(unsigned char *)INMEM_KEY, sizeof INMEM_KEY - 1};

    check(gnutls_global_init(), "gnutls_global_init");
    check(gnutls_psk_allocate_client_credentials(&client_cred), "client credentials");
    check(gnutls_psk_set_client_credentials(client_cred, INMEM_IDENTITY, &key, GNUTLS_PSK_KEY_RAW),
          "client credentials");
    check(gnutls_psk_allocate_server_credentials(&server_cred), "server credentials");
    gnutls_psk_set_server_credentials_function(server_cred, server_key);
    check(gnutls_key_generate(&cookie_key, GNUTLS_COOKIE_KEY_SIZE), "cookie key");
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        check(gnutls_priority_init(&priorities[i], suites[i].priority, NULL), suites[i].priority);
    snprintf(version, sizeof version, "GnuTLS %s", gnutls_check_version(NULL));

    struct inmem_lib lib = {
        .name = "gnutls",
        .version = version,
        .connect = gt_connect,
        .record = gt_record,
        .free_client = gt_free_client,
        .free_pair = gt_free_pair,
        .cookie_setup = gt_cookie_setup,
        .cookie_check = gt_cookie_check,
        .cookie_free = free,
        .malloc_memory = 1,
    };
    return inmem_main(&lib, argc, argv);
}
