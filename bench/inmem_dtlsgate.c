/* SPDX-License-Identifier: MIT */
/*
 * bench_inmem_dtlsgate: dtlsgate's C ABI under the in-memory driver
 * (inmem.c), socket-less: the verifier's dtlsgate_verifier_check() answers
 * the first ClientHello, and the sessions run socket-less, one call per
 * datagram received: dtlsgate_session_handshake_step() takes it and gives
 * the whole flight to send back.
 *
 * Usage: bench_inmem_dtlsgate [dirty|batch] [OPERATION...]
 * With "dirty", INMEM_DIRTY() before each call into the library leaves the
 * upper vector state dirty, as a host program may (see inmem.h). With
 * "batch", records go INMEM_BATCH to a call of the batch record calls.
 */
#define _POSIX_C_SOURCE 200809L

#include "inmem.h"

#include <dtlsgate.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pair {
    dtlsgate_session *client, *server;
};

struct dgram {
    uint8_t data[INMEM_MAX_DGRAM];
    size_t len;
};

static dtlsgate_verifier *verifier;
static struct sockaddr_in client_addr;
static int client_role = 1, server_role = 0;

static void on_psk(void *role, dtlsgate_psk_authenticator *a)
{
    if (*(int *)role)
        dtlsgate_psk_authenticator_set_identity(a, (const uint8_t *)INMEM_IDENTITY,
                                                strlen(INMEM_IDENTITY));
    dtlsgate_psk_authenticator_set_pre_shared_key(a, (const uint8_t *)INMEM_KEY,
                                                  strlen(INMEM_KEY));
}

static const char *error_of(dtlsgate_session *s)
{
    static char msg[256];
    size_t n = sizeof msg;
    if (dtlsgate_session_dtls_error_string(s, msg, &n) != DTLSGATE_OK)
        return "(no message)";
    return msg;
}

/* What one handshake step gave to send: datagrams back to back. */
struct flight {
    uint8_t data[4 * INMEM_MAX_DGRAM];
    size_t len, lens[8], count;
};

/* One handshake step of s with the datagram (in, len), its flight into f;
 * returns 1 when the step completed the handshake. */
static int step(dtlsgate_session *s, const uint8_t *in, size_t len, struct flight *f)
{
    f->len = sizeof f->data;
    f->count = sizeof f->lens / sizeof f->lens[0];
    INMEM_DIRTY();
    int r = dtlsgate_session_handshake_step(s, in, len, f->data, &f->len, f->lens, &f->count);
    if (r != 1 && r != DTLSGATE_HANDSHAKE_COMPLETE)
        inmem_fail("handshake step: %d, %s", r, error_of(s));
    if (f->count > sizeof f->lens / sizeof f->lens[0] || f->len > sizeof f->data)
        inmem_fail("a flight of %zu datagrams, %zu bytes, did not fit", f->count, f->len);
    return r == DTLSGATE_HANDSHAKE_COMPLETE;
}

/* The one datagram of a flight, into d. */
static void only(const struct flight *f, struct dgram *d)
{
    if (f->count != 1)
        inmem_fail("%zu datagrams where one ClientHello was due", f->count);
    memcpy(d->data, f->data, f->lens[0]);
    d->len = f->lens[0];
}

/* The verifier's answer to one datagram from the client. */
static int check(const struct dgram *d, struct dgram *reply)
{
    reply->len = sizeof reply->data;
    INMEM_DIRTY();
    return dtlsgate_verifier_check(verifier, d->data, d->len, (const struct sockaddr *)&client_addr,
                                   sizeof client_addr, reply->data, &reply->len);
}

/* A client session with `suite`, run up to its second ClientHello (the one
 * carrying the cookie of the verifier's HelloVerifyRequest), left in hello. */
static dtlsgate_session *client_to_cookie(const char *suite, struct dgram *hello)
{
    struct dgram reply;
    struct flight f;
    INMEM_DIRTY();
    dtlsgate_session *c = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    if (!c)
        inmem_fail("dtlsgate_session_new failed");
    INMEM_DIRTY();
    int ok = dtlsgate_session_set_peer(c, "192.0.2.1", 5684) == 1;
    INMEM_DIRTY();
    ok = ok && dtlsgate_session_set_ciphers(c, suite) == 1;
    INMEM_DIRTY();
    ok = ok && dtlsgate_session_set_psk_callback(c, on_psk, &client_role) == DTLSGATE_OK;
    if (!ok)
        inmem_fail("client setup: %s", error_of(c));
    step(c, NULL, 0, &f);
    only(&f, hello);
    if (check(hello, &reply) != DTLSGATE_CHECK_SEND_REPLY)
        inmem_fail("the first ClientHello got no HelloVerifyRequest");
    step(c, reply.data, reply.len, &f);
    only(&f, hello);
    return c;
}

/* Hands each datagram of `in` to `to`, the flights it answers with
 * gathered in out; returns 1 when that completed to's handshake. */
static int deliver(dtlsgate_session *to, const struct flight *in, struct flight *out)
{
    struct flight f;
    size_t off = 0;
    int done = 0;
    out->len = out->count = 0;
    for (size_t i = 0; i < in->count; off += in->lens[i++]) {
        done |= step(to, in->data + off, in->lens[i], &f);
        if (out->count + f.count > sizeof out->lens / sizeof out->lens[0] ||
            out->len + f.len > sizeof out->data)
            inmem_fail("the answers to one flight did not fit");
        memcpy(out->data + out->len, f.data, f.len);
        memcpy(out->lens + out->count, f.lens, f.count * sizeof f.lens[0]);
        out->len += f.len;
        out->count += f.count;
    }
    return done;
}

static void *dg_connect(const char *suite)
{
    struct dgram hello, reply;
    struct flight f[2]; /* what the client [0] and the server [1] sent last */
    struct pair *p = calloc(1, sizeof *p);
    if (!p)
        inmem_fail("out of memory");
    p->client = client_to_cookie(suite, &hello);
    if (check(&hello, &reply) != DTLSGATE_CHECK_VERIFIED)
        inmem_fail("the ClientHello with the cookie did not verify");

    INMEM_DIRTY();
    p->server = dtlsgate_session_new(DTLSGATE_SSL_SERVER_MODE);
    if (!p->server)
        inmem_fail("dtlsgate_session_new failed");
    INMEM_DIRTY();
    int ok = dtlsgate_session_set_peer_sockaddr(p->server, (const struct sockaddr *)&client_addr,
                                                sizeof client_addr) == 1;
    INMEM_DIRTY();
    ok = ok && dtlsgate_session_set_cookie_verifier(p->server, verifier) == 1;
    INMEM_DIRTY();
    ok = ok && dtlsgate_session_set_ciphers(p->server, suite) == 1;
    INMEM_DIRTY();
    ok = ok && dtlsgate_session_set_psk_callback(p->server, on_psk, &server_role) == DTLSGATE_OK;
    if (!ok)
        inmem_fail("server setup: %s", error_of(p->server));

    dtlsgate_session *side[2] = {p->client, p->server};
    int done[2] = {0, step(p->server, hello.data, hello.len, &f[1])};
    for (int rounds = 0, from = 1; !(done[0] && done[1]); rounds++, from = !from) {
        if (rounds == 10 || f[from].count == 0)
            inmem_fail("the %s handshake did not complete", suite);
        done[!from] |= deliver(side[!from], &f[from], &f[!from]);
    }
    char cipher[64];
    size_t n = sizeof cipher;
    INMEM_DIRTY();
    if (dtlsgate_session_session_cipher(p->server, cipher, &n) != DTLSGATE_OK ||
        strcmp(cipher, suite) != 0)
        inmem_fail("negotiated %s, not %s", cipher, suite);
    return p;
}

/*
 * One record from the client to the server: encrypted and decrypted by the
 * socket-less record calls, one C call each way, into caller buffers.
 */
static long dg_record(void *pair, const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    struct pair *p = pair;
    uint8_t rec[INMEM_MAX_DGRAM];
    size_t n = sizeof rec, m = cap;

    INMEM_DIRTY();
    if (dtlsgate_session_encrypt(p->client, in, len, rec, &n) != 1)
        inmem_fail("session_encrypt: %s", error_of(p->client));
    INMEM_DIRTY();
    if (dtlsgate_session_decrypt(p->server, rec, n, out, &m) != 1)
        inmem_fail("session_decrypt: %s", error_of(p->server));
    return (long)m;
}

/* The same with dtlsgate_session_encrypt_batch() and
 * dtlsgate_session_decrypt_batch(): one C call each way for count records. */
static int dg_record_batch(void *pair, const uint8_t *const *ins, size_t len, uint8_t *const *outs,
                           size_t cap, long *lens, size_t count)
{
    struct pair *p = pair;
    uint8_t recs[INMEM_BATCH][INMEM_MAX_DGRAM];
    dtlsgate_record_buffer e[INMEM_BATCH];

    if (count > INMEM_BATCH)
        inmem_fail("a batch of %zu records, more than %d", count, INMEM_BATCH);
    for (size_t i = 0; i < count; i++)
        e[i] = (dtlsgate_record_buffer){.in = ins[i], .in_len = len, .out = recs[i], .out_len = sizeof recs[i]};
    INMEM_DIRTY();
    if (dtlsgate_session_encrypt_batch(p->client, e, count) != (int)count)
        inmem_fail("session_encrypt_batch: %s", error_of(p->client));
    for (size_t i = 0; i < count; i++)
        e[i] = (dtlsgate_record_buffer){.in = recs[i], .in_len = e[i].out_len, .out = outs[i], .out_len = cap};
    INMEM_DIRTY();
    if (dtlsgate_session_decrypt_batch(p->server, e, count) != (int)count)
        inmem_fail("session_decrypt_batch: %s", error_of(p->server));
    for (size_t i = 0; i < count; i++)
        lens[i] = (long)e[i].out_len;
    return 0;
}

static void dg_free_pair(void *pair)
{
    struct pair *p = pair;
    INMEM_DIRTY();
    dtlsgate_session_free(p->client);
    INMEM_DIRTY();
    dtlsgate_session_free(p->server);
    free(p);
}

static void *dg_cookie_setup(void)
{
    struct dgram *hello = malloc(sizeof *hello);
    if (!hello)
        inmem_fail("out of memory");
    INMEM_DIRTY();
    dtlsgate_session_free(client_to_cookie(INMEM_PSK_SUITE, hello));
    return hello;
}

static int dg_cookie_check(void *ctx)
{
    struct dgram reply;
    return check(ctx, &reply) == DTLSGATE_CHECK_VERIFIED;
}

int main(int argc, char **argv)
{
    struct inmem_lib lib = {
        .name = "dtlsgate",
        .version = NULL,
        .connect = dg_connect,
        .record = dg_record,
        .record_batch = dg_record_batch,
        .free_client = NULL,
        .free_pair = dg_free_pair,
        .cookie_setup = dg_cookie_setup,
        .cookie_check = dg_cookie_check,
        .cookie_free = free,
        .malloc_memory = 0,
    };
    static char version[64];

    snprintf(version, sizeof version, "dtlsgate %s", dtlsgate_version());
    lib.version = version;
    verifier = dtlsgate_verifier_new();
    if (!verifier)
        inmem_fail("dtlsgate_verifier_new failed");
    client_addr.sin_family = AF_INET;
    client_addr.sin_port = htons(INMEM_CLIENT_PORT);
    inet_pton(AF_INET, INMEM_CLIENT_IP, &client_addr.sin_addr);
    return inmem_main(&lib, argc, argv);
}
