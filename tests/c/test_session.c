/* SPDX-License-Identifier: MIT */
/*
 * test_session.c - the session part of the C API: complete PSK handshakes
 * between two sessions with the verifier in front, without sockets (the
 * caller moves the datagrams) and over real loopback UDP sockets; the
 * PSK callback, data both ways, shutdown, timeouts, and bad input.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "keyscan.h"
#include "udp.h"
#include "dtlsgate.h"

static const uint8_t KEY[] = {0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f};
static const char IDENTITY[] = "test client";
static const char HINT[] = "test server";

/* What a PSK callback saw and does. */
typedef struct {
    int calls;
    char hint[64];     /* identity hint the client got */
    char identity[64]; /* identity the server got */
    int max_identity, max_key;
    const uint8_t *key;
    size_t key_len;
    uint8_t key_mask; /* key holds the key XORed with this (a test that looks for it) */
    int signal_after_key; /* a signal arrives just after the key is set (1) or read back (2) */
    dtlsgate_session *self;
    int reentry_status; /* what a call on self returned from inside */
} psk_seen;

static void copy_field(int (*get)(const dtlsgate_psk_authenticator *, uint8_t *, size_t *),
                       const dtlsgate_psk_authenticator *a, char *out, size_t cap)
{
    size_t n = cap - 1;
    if (get(a, (uint8_t *)out, &n) != DTLSGATE_OK)
        n = 0;
    out[n] = 0;
}

static void on_psk(void *user, dtlsgate_psk_authenticator *a)
{
    psk_seen *seen = user;
    seen->calls++;
    copy_field(dtlsgate_psk_authenticator_identity_hint, a, seen->hint, sizeof seen->hint);
    copy_field(dtlsgate_psk_authenticator_identity, a, seen->identity, sizeof seen->identity);
    seen->max_identity = dtlsgate_psk_authenticator_maximum_identity_length(a);
    seen->max_key = dtlsgate_psk_authenticator_maximum_pre_shared_key_length(a);
    if (seen->self)
        seen->reentry_status = dtlsgate_session_handshake_state(seen->self);
    if (seen->max_identity > 0) /* a client: name itself */
        dtlsgate_psk_authenticator_set_identity(a, (const uint8_t *)IDENTITY, strlen(IDENTITY));
    uint8_t key[64];
    for (size_t i = 0; i < seen->key_len && i < sizeof key; i++)
        key[i] = seen->key[i] ^ seen->key_mask;
    dtlsgate_psk_authenticator_set_pre_shared_key(a, key, seen->key_len);
    if (seen->signal_after_key == 2) {
        size_t n = sizeof key;
        dtlsgate_psk_authenticator_pre_shared_key(a, key, &n);
    }
    if (seen->signal_after_key)
        raise(SIGURG);
    explicit_bzero(key, sizeof key);
}

static const char *err_of(const dtlsgate_session *s)
{
    static char buf[512];
    size_t n = sizeof buf;
    if (dtlsgate_session_dtls_error_string(s, buf, &n) != DTLSGATE_OK)
        snprintf(buf, sizeof buf, "(no message)");
    return buf;
}

/* Whether the session's error is code, with part in its message. */
static int error_is(const dtlsgate_session *s, int code, const char *part)
{
    int ok = dtlsgate_session_dtls_error(s) == code && strstr(err_of(s), part) != NULL;
    if (!ok)
        fprintf(stderr, "    error %d \"%s\", expected %d with \"%s\"\n",
                dtlsgate_session_dtls_error(s), err_of(s), code, part);
    return ok;
}

static const char *cipher_of(const dtlsgate_session *s)
{
    static char buf[64];
    size_t n = sizeof buf;
    if (dtlsgate_session_session_cipher(s, buf, &n) != DTLSGATE_OK)
        buf[0] = 0;
    return buf;
}

/* ---------------------------------------------------------------------------
 * Without sockets: the test carries each queued datagram to the other side.
 */

typedef struct {
    uint8_t data[DTLSGATE_MAX_DATAGRAM];
    size_t len;
} dgram_t;

/* The session a test frees from inside its own callback. */
static dtlsgate_session *freed_by_callback;

/* Takes the next datagram s queued; 0 when there is none. */
static int take(dtlsgate_session *s, dgram_t *d)
{
    d->len = sizeof d->data;
    int r = dtlsgate_session_next_outgoing(s, d->data, &d->len);
    CHECK(r == 0 || r == 1 || (r == DTLSGATE_E_BAD_HANDLE && s == freed_by_callback));
    return r == 1;
}

/* What the server sessions of handshake_in_memory() ask for: a length
 * setting, or server_cid when not NULL (server_cid_length bytes). */
static int server_cid_length = DTLSGATE_NO_CONNECTION_ID;
static const uint8_t *server_cid;

static const char CLIENT_IP[] = "192.0.2.7";
static const uint16_t CLIENT_PORT = 40001;

/* Runs the verifier and a server session against a client session until
 * both complete or one fails, or until neither has anything more to send;
 * returns the server session (NULL on failure to start). A non-zero
 * deadline_ms becomes both sides' handshake deadline. */
static dtlsgate_session *handshake_in_memory(dtlsgate_verifier *v, dtlsgate_session *client,
                                             psk_seen *server_seen, const char *server_ciphers,
                                             uint32_t deadline_ms)
{
    dgram_t d;
    uint8_t reply[DTLSGATE_HELLO_VERIFY_REQUEST_MAX];
    dtlsgate_session *server = NULL;

    if (deadline_ms)
        CHECK_EQ(dtlsgate_session_set_handshake_deadline(client, deadline_ms), 1);
    CHECK_EQ(dtlsgate_session_set_peer(client, "192.0.2.1", 5684), 1);
    CHECK_EQ(dtlsgate_session_do_handshake(client, DTLSGATE_NO_SOCKET, NULL, 0), 1);
    CHECK_EQ(dtlsgate_session_handshake_state(client), DTLSGATE_HANDSHAKE_IN_PROGRESS);

    /* The verifier answers the first ClientHello with a cookie. */
    for (int round = 0; round < 2 && server == NULL; round++) {
        if (!CHECK(take(client, &d)))
            return NULL;
        size_t rlen = sizeof reply;
        int res = dtlsgate_verifier_check_address(v, d.data, d.len, CLIENT_IP, CLIENT_PORT, reply,
                                                  &rlen);
        if (round == 0) {
            CHECK_EQ(res, DTLSGATE_CHECK_SEND_REPLY);
            CHECK_EQ(dtlsgate_session_do_handshake(client, DTLSGATE_NO_SOCKET, reply, rlen), 1);
            continue;
        }
        if (!CHECK_EQ(res, DTLSGATE_CHECK_VERIFIED))
            return NULL;
        server = dtlsgate_session_new(DTLSGATE_SSL_SERVER_MODE);
        CHECK(server != NULL);
        CHECK_EQ(dtlsgate_session_set_peer(server, CLIENT_IP, CLIENT_PORT), 1);
        CHECK_EQ(dtlsgate_session_set_cookie_verifier(server, v), 1);
        CHECK_EQ(dtlsgate_session_set_identity_hint(server, (const uint8_t *)HINT, strlen(HINT)), 1);
        if (server_ciphers)
            CHECK_EQ(dtlsgate_session_set_ciphers(server, server_ciphers), 1);
        if (deadline_ms)
            CHECK_EQ(dtlsgate_session_set_handshake_deadline(server, deadline_ms), 1);
        if (server_cid)
            CHECK_EQ(dtlsgate_session_set_connection_id(server, server_cid, server_cid_length), 1);
        else
            CHECK_EQ(dtlsgate_session_set_connection_id_length(server, server_cid_length), 1);
        server_seen->self = server;
        CHECK_EQ(dtlsgate_session_set_psk_callback(server, on_psk, server_seen), DTLSGATE_OK);
        if (!dtlsgate_session_do_handshake(server, DTLSGATE_NO_SOCKET, d.data, d.len)) {
            fprintf(stderr, "    server: %s\n", err_of(server));
            return server;
        }
    }

    /* Carry datagrams both ways until neither side has anything to say. */
    for (int moved = 1, rounds = 0; moved && rounds < 20; rounds++) {
        moved = 0;
        while (take(server, &d)) {
            moved = 1;
            if (dtlsgate_session_handshake_state(client) == DTLSGATE_HANDSHAKE_IN_PROGRESS)
                dtlsgate_session_do_handshake(client, DTLSGATE_NO_SOCKET, d.data, d.len);
        }
        while (take(client, &d)) {
            moved = 1;
            if (dtlsgate_session_handshake_state(server) == DTLSGATE_HANDSHAKE_IN_PROGRESS)
                dtlsgate_session_do_handshake(server, DTLSGATE_NO_SOCKET, d.data, d.len);
        }
    }
    return server;
}

/* Sends text from one session to the other in memory; returns what arrived. */
static const char *carry(dtlsgate_session *from, dtlsgate_session *to, const char *text)
{
    static char got[256];
    dgram_t d;
    size_t n = sizeof got - 1;
    got[0] = 0;
    CHECK_EQ(dtlsgate_session_write_datagram_encrypted(from, DTLSGATE_NO_SOCKET,
                                                       (const uint8_t *)text, strlen(text)),
             (long long)strlen(text));
    if (!CHECK(take(from, &d)))
        return got;
    CHECK(d.len > strlen(text)); /* it is encrypted: header, nonce and tag */
    CHECK(memmem(d.data, d.len, text, strlen(text)) == NULL);
    if (CHECK_EQ(dtlsgate_session_decrypt_datagram(to, DTLSGATE_NO_SOCKET, d.data, d.len,
                                                   (uint8_t *)got, &n),
                 1))
        got[n] = 0;
    /* The same record again is a replay: dropped, no data, no error. */
    n = sizeof got - 1;
    char again[256];
    CHECK_EQ(dtlsgate_session_decrypt_datagram(to, DTLSGATE_NO_SOCKET, d.data, d.len,
                                               (uint8_t *)again, &n),
             1);
    CHECK_EQ(n, 0);
    return got;
}

static void test_in_memory(const char *ciphers, const char *expect_cipher)
{
    dtlsgate_verifier *v = dtlsgate_verifier_new();
    dtlsgate_session *client = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    psk_seen cs = {.key = KEY, .key_len = sizeof KEY}, ss = {.key = KEY, .key_len = sizeof KEY};
    check_context = expect_cipher;
    CHECK_EQ(dtlsgate_session_set_psk_callback(client, on_psk, &cs), DTLSGATE_OK);

    dtlsgate_session *server = handshake_in_memory(v, client, &ss, ciphers, 0);
    if (!CHECK(server != NULL))
        goto out;
    if (!CHECK_EQ(dtlsgate_session_handshake_state(server), DTLSGATE_HANDSHAKE_COMPLETE))
        fprintf(stderr, "    server: %s\n", err_of(server));
    if (!CHECK_EQ(dtlsgate_session_handshake_state(client), DTLSGATE_HANDSHAKE_COMPLETE))
        fprintf(stderr, "    client: %s\n", err_of(client));
    CHECK_EQ(dtlsgate_session_is_connection_encrypted(client), 1);
    CHECK_STR(cipher_of(client), expect_cipher);
    CHECK_STR(cipher_of(server), expect_cipher);
    char proto[16];
    size_t pn = sizeof proto;
    CHECK_EQ(dtlsgate_session_session_protocol(server, proto, &pn), DTLSGATE_OK);
    CHECK_STR(proto, "DTLSv1.2");
    uint8_t hint[64];
    size_t hn = sizeof hint;
    CHECK_EQ(dtlsgate_session_identity_hint(server, hint, &hn), DTLSGATE_OK);
    CHECK_MEM(hint, hn, HINT, strlen(HINT));

    /* The callbacks saw what Qt's pskRequired shows. */
    CHECK_EQ(cs.calls, 1);
    CHECK_STR(cs.hint, HINT);
    CHECK_EQ(cs.max_identity, 256);
    CHECK_EQ(cs.max_key, 512);
    CHECK_EQ(ss.calls, 1);
    CHECK_STR(ss.identity, IDENTITY);
    CHECK_EQ(ss.max_identity, 0);
    CHECK_EQ(ss.reentry_status, DTLSGATE_E_BUSY);

    CHECK_STR(carry(client, server, "ping from the client"), "ping from the client");
    CHECK_STR(carry(server, client, "echo from the server"), "echo from the server");

    /* Last words and close_notify in one datagram: the data is delivered
     * (1) and the close is what the error and the state say. */
    static const char last[] = "last words";
    CHECK_EQ(dtlsgate_session_write_datagram_encrypted(client, DTLSGATE_NO_SOCKET,
                                                       (const uint8_t *)last, strlen(last)),
             (long long)strlen(last));
    CHECK_EQ(dtlsgate_session_shutdown(client, DTLSGATE_NO_SOCKET), 1);
    CHECK_EQ(dtlsgate_session_is_connection_encrypted(client), 0);
    dgram_t d, alert;
    if (CHECK(take(client, &d)) && CHECK(take(client, &alert))) {
        memcpy(d.data + d.len, alert.data, alert.len);
        d.len += alert.len;
        uint8_t out[256];
        /* Too small a buffer: nothing is consumed, the size needed is told. */
        size_t n = d.len - 1;
        CHECK_EQ(dtlsgate_session_decrypt_datagram(server, DTLSGATE_NO_SOCKET, d.data, d.len, out,
                                                   &n),
                 DTLSGATE_E_BUFFER_TOO_SMALL);
        CHECK_EQ(n, d.len);
        CHECK_EQ(dtlsgate_session_is_connection_encrypted(server), 1);
        n = sizeof out;
        CHECK_EQ(dtlsgate_session_decrypt_datagram(server, DTLSGATE_NO_SOCKET, d.data, d.len, out,
                                                   &n),
                 1);
        CHECK_MEM(out, n, last, strlen(last));
        CHECK_EQ(dtlsgate_session_dtls_error(server), DTLSGATE_REMOTE_CLOSED_CONNECTION_ERROR);
        CHECK_EQ(dtlsgate_session_is_connection_encrypted(server), 0);
    }
out:
    dtlsgate_session_free(server);
    dtlsgate_session_free(client);
    dtlsgate_verifier_free(v);
    check_context = "";
}

/* ---------------------------------------------------------------------------
 * dtlsgate_session_handshake_step(): a datagram in, the whole flight out.
 */

typedef struct {
    uint8_t data[4 * DTLSGATE_MAX_DATAGRAM];
    size_t len, lens[8], count;
} flight_t;

/* One step with room for the whole flight; returns what the call did. */
static int step(dtlsgate_session *s, const uint8_t *in, size_t len, flight_t *f)
{
    f->len = sizeof f->data;
    f->count = sizeof f->lens / sizeof f->lens[0];
    int r = dtlsgate_session_handshake_step(s, in, len, f->data, &f->len, f->lens, &f->count);
    size_t sum = 0;
    for (size_t i = 0; i < f->count && i < sizeof f->lens / sizeof f->lens[0]; i++)
        sum += f->lens[i];
    CHECK_EQ(sum, f->len); /* back to back, nothing between */
    return r;
}

/* Hands every datagram of `in` to s, one step each, and checks each
 * step's result: 1 but for the last, which gives `last`; out gets the
 * last step's flight (the earlier ones have none to give). */
static void deliver(dtlsgate_session *s, const flight_t *in, int last, flight_t *out)
{
    size_t off = 0;
    for (size_t i = 0; i < in->count; off += in->lens[i++]) {
        int r = step(s, in->data + off, in->lens[i], out);
        if (i + 1 < in->count) {
            CHECK_EQ(r, 1);
            CHECK_EQ(out->count, 0);
        } else if (!CHECK_EQ(r, last)) {
            fprintf(stderr, "    %s\n", err_of(s));
        }
    }
}

/* A handshake carried by handshake_step() alone, the server's first flight
 * spread over several datagrams by a small MTU and a long hint. */
static void test_handshake_step(void)
{
    dtlsgate_verifier *v = dtlsgate_verifier_new();
    dtlsgate_session *client = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    dtlsgate_session *server = dtlsgate_session_new(DTLSGATE_SSL_SERVER_MODE);
    psk_seen cs = {.key = KEY, .key_len = sizeof KEY}, ss = {.key = KEY, .key_len = sizeof KEY};
    uint8_t reply[DTLSGATE_HELLO_VERIFY_REQUEST_MAX], hint[400], plain[64];
    flight_t hello, f, g;
    size_t rlen = sizeof reply, none = 0, n;
    check_context = "handshake_step";

    /* Refused arguments do nothing: the client has not started after them. */
    CHECK_EQ(dtlsgate_session_set_peer(client, "192.0.2.1", 5684), 1);
    CHECK_EQ(dtlsgate_session_set_psk_callback(client, on_psk, &cs), DTLSGATE_OK);
    n = 10;
    CHECK_EQ(dtlsgate_session_handshake_step(client, NULL, 0, f.data, NULL, f.lens, &n),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK(strstr(dtlsgate_last_error_message(), "out_len") != NULL);
    CHECK_EQ(dtlsgate_session_handshake_step(client, NULL, 0, f.data, &n, f.lens, NULL),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK(strstr(dtlsgate_last_error_message(), "count") != NULL);
    CHECK_EQ(dtlsgate_session_handshake_step(client, NULL, 0, NULL, &n, f.lens, &n),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK(strstr(dtlsgate_last_error_message(), "out: NULL") != NULL);
    CHECK_EQ(dtlsgate_session_handshake_step(client, NULL, 0, f.data, &n, NULL, &n),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK(strstr(dtlsgate_last_error_message(), "lens: NULL") != NULL);
    CHECK_EQ(dtlsgate_session_handshake_step(client, NULL, 3, f.data, &n, f.lens, &n),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_session_handshake_state(client), DTLSGATE_HANDSHAKE_NOT_STARTED);

    /* A step hands over what earlier calls left queued, even one that
     * fails: here the first ClientHello, after a step without the datagram
     * a handshake in progress needs. */
    CHECK_EQ(dtlsgate_session_do_handshake(client, DTLSGATE_NO_SOCKET, NULL, 0), 1);
    CHECK_EQ(step(client, NULL, 0, &hello), 0);
    CHECK_EQ(dtlsgate_session_dtls_error(client), DTLSGATE_INVALID_INPUT_PARAMETERS);
    if (!CHECK_EQ(hello.count, 1))
        goto out;
    CHECK_EQ(dtlsgate_verifier_check_address(v, hello.data, hello.len, CLIENT_IP, CLIENT_PORT,
                                             reply, &rlen),
             DTLSGATE_CHECK_SEND_REPLY);
    /* Too small a buffer: the second ClientHello stays queued, and the
     * step says its size; next_outgoing() takes it. */
    n = 10;
    g.count = 2;
    CHECK_EQ(dtlsgate_session_handshake_step(client, reply, rlen, g.data, &n, g.lens, &g.count),
             1);
    CHECK_EQ(g.count, 1);
    CHECK(n > 10);
    g.len = sizeof g.data;
    CHECK_EQ(dtlsgate_session_next_outgoing(client, g.data, &g.len), 1);
    CHECK_EQ(g.len, n);
    /* A step with nothing to send gives an empty flight (NULL buffers of
     * size 0 allowed); a repeated HelloVerifyRequest is not answered. */
    n = 0;
    CHECK_EQ(dtlsgate_session_handshake_step(client, reply, rlen, NULL, &n, NULL, &none), 1);
    CHECK_EQ(n, 0);
    CHECK_EQ(none, 0);
    rlen = sizeof reply;
    CHECK_EQ(dtlsgate_verifier_check_address(v, g.data, g.len, CLIENT_IP, CLIENT_PORT, reply,
                                             &rlen),
             DTLSGATE_CHECK_VERIFIED);

    /* The server's flight spans datagrams; too few lengths leave it all
     * queued, and say what it needs. */
    memset(hint, 'h', sizeof hint);
    CHECK_EQ(dtlsgate_session_set_peer(server, CLIENT_IP, CLIENT_PORT), 1);
    CHECK_EQ(dtlsgate_session_set_cookie_verifier(server, v), 1);
    CHECK_EQ(dtlsgate_session_set_identity_hint(server, hint, sizeof hint), 1);
    CHECK_EQ(dtlsgate_session_set_mtu_hint(server, 256), 1);
    CHECK_EQ(dtlsgate_session_set_psk_callback(server, on_psk, &ss), DTLSGATE_OK);
    f.len = sizeof f.data;
    f.count = 1;
    CHECK_EQ(dtlsgate_session_handshake_step(server, g.data, g.len, f.data, &f.len, f.lens,
                                             &f.count),
             1);
    if (!CHECK(f.count >= 3))
        goto out;
    size_t count = f.count, total = f.len;
    CHECK(total > 2 * 256);
    /* next_outgoing() takes the same datagrams, one at a time. */
    size_t off = 0;
    for (size_t i = 0; i < count; i++) {
        n = sizeof f.data - off;
        CHECK_EQ(dtlsgate_session_next_outgoing(server, f.data + off, &n), 1);
        CHECK(n <= 256);
        f.lens[i] = n;
        off += n;
    }
    CHECK_EQ(off, total);
    f.count = count;
    n = sizeof g.data;
    CHECK_EQ(dtlsgate_session_next_outgoing(server, g.data, &n), 0);

    /* The rest by steps alone: the client's answer, the server's last
     * flight (which completes it), the client completed by it. */
    deliver(client, &f, 1, &g);
    CHECK(g.count >= 1);
    deliver(server, &g, DTLSGATE_HANDSHAKE_COMPLETE, &f);
    CHECK(f.count >= 1);
    deliver(client, &f, DTLSGATE_HANDSHAKE_COMPLETE, &g);
    CHECK_EQ(g.count, 0);
    CHECK_EQ(dtlsgate_session_handshake_state(client), DTLSGATE_HANDSHAKE_COMPLETE);
    CHECK_EQ(dtlsgate_session_handshake_state(server), DTLSGATE_HANDSHAKE_COMPLETE);
    CHECK_EQ(cs.calls, 1);
    CHECK_EQ(ss.calls, 1);
    n = sizeof g.data;
    CHECK_EQ(dtlsgate_session_encrypt(client, (const uint8_t *)"after steps", 11, g.data, &n), 1);
    size_t pn = sizeof plain;
    CHECK_EQ(dtlsgate_session_decrypt(server, g.data, n, plain, &pn), 1);
    CHECK_MEM(plain, pn, "after steps", 11);

    /* Once complete, a step is do_handshake()'s InvalidOperation: 0. */
    CHECK_EQ(step(client, g.data, n, &f), 0);
    CHECK_EQ(dtlsgate_session_dtls_error(client), DTLSGATE_INVALID_OPERATION);
    CHECK_EQ(f.count, 0);
out:
    dtlsgate_session_free(server);
    dtlsgate_session_free(client);
    dtlsgate_verifier_free(v);
    check_context = "";
}

/* ---------------------------------------------------------------------------
 * Records in the caller's buffers: encrypt, decrypt and their batches.
 */

/* Encrypts text into rec; returns the record's length (0 on failure). */
static size_t encrypt_text(dtlsgate_session *s, const void *text, size_t len, uint8_t *rec,
                           size_t cap)
{
    size_t n = cap;
    if (!CHECK_EQ(dtlsgate_session_encrypt(s, text, len, rec, &n), 1))
        return 0;
    CHECK(n > len && n <= len + DTLSGATE_RECORD_OVERHEAD_MAX);
    return n;
}

static void fill(uint8_t *b, size_t n, int seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 31 + (size_t)seed);
}

static void records_round_trip(dtlsgate_session *from, dtlsgate_session *to)
{
    static uint8_t plain[DTLSGATE_MAX_RECORD_PLAINTEXT], rec[DTLSGATE_MAX_RECORD_PLAINTEXT + 100],
        out[DTLSGATE_MAX_RECORD_PLAINTEXT + 100];
    static const size_t sizes[] = {1, 64, 1000, 1400, DTLSGATE_MAX_RECORD_PLAINTEXT};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        fill(plain, sizes[i], (int)i);
        size_t n = encrypt_text(from, plain, sizes[i], rec, sizeof rec);
        if (sizes[i] >= 16)
            CHECK(memmem(rec, n, plain, 16) == NULL); /* encrypted */
        size_t m = sizeof out;
        CHECK_EQ(dtlsgate_session_decrypt(to, rec, n, out, &m), 1);
        CHECK_MEM(out, m, plain, sizes[i]);
        /* The same record again is a replay. */
        m = sizeof out;
        CHECK_EQ(dtlsgate_session_decrypt(to, rec, n, out, &m), DTLSGATE_RECORD_DROPPED);
        CHECK_EQ(m, 0);
    }
    /* What encrypt makes, decrypt_datagram opens too, and the other way. */
    size_t n = encrypt_text(from, "to the full path", 16, rec, sizeof rec), m = sizeof out;
    CHECK_EQ(dtlsgate_session_decrypt_datagram(to, DTLSGATE_NO_SOCKET, rec, n, out, &m), 1);
    CHECK_MEM(out, m, "to the full path", 16);
    dgram_t d;
    CHECK_EQ(dtlsgate_session_write_datagram_encrypted(from, DTLSGATE_NO_SOCKET,
                                                       (const uint8_t *)"queued", 6), 6);
    if (CHECK(take(from, &d))) {
        m = sizeof out;
        CHECK_EQ(dtlsgate_session_decrypt(to, d.data, d.len, out, &m), 1);
        CHECK_MEM(out, m, "queued", 6);
    }
}

static void records_in_place(dtlsgate_session *from, dtlsgate_session *to)
{
    uint8_t plain[1400], buf[1400 + DTLSGATE_RECORD_OVERHEAD_MAX];
    fill(plain, sizeof plain, 7);
    memcpy(buf, plain, sizeof plain);
    size_t n = sizeof buf;
    CHECK_EQ(dtlsgate_session_encrypt(from, buf, sizeof plain, buf, &n), 1);
    CHECK(memcmp(buf, plain, 64) != 0);
    size_t m = n;
    CHECK_EQ(dtlsgate_session_decrypt(to, buf, n, buf, &m), 1);
    CHECK_MEM(buf, m, plain, sizeof plain);
    /* The output a few bytes into the datagram's own buffer. */
    n = encrypt_text(from, plain, 200, buf, sizeof buf);
    m = sizeof buf - 5;
    CHECK_EQ(dtlsgate_session_decrypt(to, buf, n, buf + 5, &m), 1);
    CHECK_MEM(buf + 5, m, plain, 200);
}

/* Too small a buffer gives the size needed and changes nothing. */
static void records_buffer_too_small(dtlsgate_session *from, dtlsgate_session *to)
{
    uint8_t plain[100], rec[256], out[256];
    fill(plain, sizeof plain, 3);
    size_t need = 0;
    CHECK_EQ(dtlsgate_session_encrypt(from, plain, sizeof plain, NULL, &need),
             DTLSGATE_E_BUFFER_TOO_SMALL);
    CHECK(need > sizeof plain && need <= sizeof plain + DTLSGATE_RECORD_OVERHEAD_MAX);
    size_t n = need - 1;
    CHECK_EQ(dtlsgate_session_encrypt(from, plain, sizeof plain, rec, &n),
             DTLSGATE_E_BUFFER_TOO_SMALL);
    CHECK_EQ(n, need);
    uint8_t first[256];
    size_t n1 = encrypt_text(from, plain, sizeof plain, first, need);
    CHECK_EQ(n1, need);
    n = sizeof rec;
    CHECK_EQ(dtlsgate_session_encrypt(from, plain, 10, rec, &n), 1);
    /* No sequence number was used by the refused calls: the records carry
     * consecutive ones (bytes 5..10 of the header). */
    uint64_t s1 = 0, s2 = 0;
    for (int i = 5; i < 11; i++) {
        s1 = s1 << 8 | first[i];
        s2 = s2 << 8 | rec[i];
    }
    CHECK_EQ(s2, s1 + 1);

    size_t m = 0;
    CHECK_EQ(dtlsgate_session_decrypt(to, first, n1, NULL, &m), DTLSGATE_E_BUFFER_TOO_SMALL);
    CHECK(m >= sizeof plain && m <= n1);
    size_t want = m;
    m = want - 1;
    CHECK_EQ(dtlsgate_session_decrypt(to, first, n1, out, &m), DTLSGATE_E_BUFFER_TOO_SMALL);
    CHECK_EQ(m, want);
    m = want;
    CHECK_EQ(dtlsgate_session_decrypt(to, first, n1, out, &m), 1);
    CHECK_MEM(out, m, plain, sizeof plain);
    m = sizeof out;
    CHECK_EQ(dtlsgate_session_decrypt(to, rec, n, out, &m), 1);
    CHECK_MEM(out, m, plain, 10);
}

/* Forged, truncated and replayed datagrams never give data, and do not
 * stop the genuine one from opening. */
static void records_forged(dtlsgate_session *from, dtlsgate_session *to)
{
    uint8_t rec[256], forged[256], out[256];
    size_t n = encrypt_text(from, "genuine", 7, rec, sizeof rec), m;
    for (size_t i = 0; i < n; i++) {
        memcpy(forged, rec, n);
        forged[i] ^= 0x01;
        m = sizeof out;
        int r = dtlsgate_session_decrypt(to, forged, n, out, &m);
        if (!CHECK(r == DTLSGATE_RECORD_DROPPED || r == DTLSGATE_RECORD_NOT_DATA))
            fprintf(stderr, "    byte %zu flipped: %d\n", i, r);
        CHECK_EQ(m, 0);
    }
    for (size_t len = 1; len < n; len++) {
        m = sizeof out;
        CHECK_EQ(dtlsgate_session_decrypt(to, rec, len, out, &m), DTLSGATE_RECORD_DROPPED);
    }
    m = sizeof out;
    CHECK_EQ(dtlsgate_session_decrypt(to, rec, n, out, &m), 1);
    CHECK_MEM(out, m, "genuine", 7);
    m = sizeof out;
    CHECK_EQ(dtlsgate_session_decrypt(to, rec, n, out, &m), DTLSGATE_RECORD_DROPPED);
    /* A length field past the datagram, and a huge claimed capacity. */
    memcpy(forged, rec, n);
    forged[11] = 0xff;
    forged[12] = 0xff;
    m = SIZE_MAX;
    CHECK_EQ(dtlsgate_session_decrypt(to, forged, n, out, &m), DTLSGATE_RECORD_DROPPED);
}

static void records_batches(dtlsgate_session *from, dtlsgate_session *to)
{
    enum { N = 8, BAD = 3 };
    uint8_t plain[N][100], rec[N][200], out[N][200];
    dtlsgate_record_buffer e[N];
    CHECK_EQ(dtlsgate_session_encrypt_batch(from, e, 0), 0);
    CHECK_EQ(dtlsgate_session_decrypt_batch(to, NULL, 0), 0);
    CHECK_EQ(dtlsgate_session_encrypt_batch(from, NULL, 1), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_session_decrypt_batch(to, e, DTLSGATE_MAX_BATCH + 1),
             DTLSGATE_E_INVALID_ARGUMENT);

    /* One entry. */
    fill(plain[0], 50, 0);
    e[0] = (dtlsgate_record_buffer){plain[0], 50, rec[0], sizeof rec[0], -99};
    CHECK_EQ(dtlsgate_session_encrypt_batch(from, e, 1), 1);
    CHECK_EQ(e[0].status, 1);
    e[0] = (dtlsgate_record_buffer){rec[0], e[0].out_len, out[0], sizeof out[0], -99};
    CHECK_EQ(dtlsgate_session_decrypt_batch(to, e, 1), 1);
    CHECK_EQ(e[0].status, 1);
    CHECK_MEM(out[0], e[0].out_len, plain[0], 50);

    /* Many, entry BAD with too small a buffer: the others go through. */
    for (int i = 0; i < N; i++) {
        fill(plain[i], 10 + (size_t)i, i);
        e[i] = (dtlsgate_record_buffer){plain[i], 10 + (size_t)i, rec[i], sizeof rec[i], -99};
    }
    e[BAD].out_len = 5;
    CHECK_EQ(dtlsgate_session_encrypt_batch(from, e, N), N - 1);
    CHECK_EQ(e[BAD].status, DTLSGATE_E_BUFFER_TOO_SMALL);
    size_t need = e[BAD].out_len;
    CHECK(need > 10 + BAD);
    e[BAD].out_len = sizeof rec[BAD];
    CHECK_EQ(dtlsgate_session_encrypt_batch(from, e + BAD, 1), 1);
    CHECK_EQ(e[BAD].out_len, need);

    /* Decrypt them, with entry 1 forged and entry 5 a replay of entry 4. */
    dtlsgate_record_buffer d[N];
    for (int i = 0; i < N; i++)
        d[i] = (dtlsgate_record_buffer){rec[i], e[i].out_len, out[i], sizeof out[i], -99};
    rec[1][d[1].in_len - 1] ^= 0x80;
    d[5].in = rec[4];
    d[5].in_len = d[4].in_len;
    CHECK_EQ(dtlsgate_session_decrypt_batch(to, d, N), N - 2);
    for (int i = 0; i < N; i++) {
        if (i == 1 || i == 5) {
            CHECK_EQ(d[i].status, DTLSGATE_RECORD_DROPPED);
            CHECK_EQ(d[i].out_len, 0);
            continue;
        }
        CHECK_EQ(d[i].status, 1);
        CHECK_MEM(out[i], d[i].out_len, plain[i], 10 + (size_t)i);
    }
    /* A bad entry: NULL input with a length. */
    e[0] = (dtlsgate_record_buffer){NULL, 5, rec[0], sizeof rec[0], -99};
    e[1] = (dtlsgate_record_buffer){plain[1], 5, rec[1], sizeof rec[1], -99};
    CHECK_EQ(dtlsgate_session_encrypt_batch(from, e, 2), 1);
    CHECK_EQ(e[0].status, DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(e[1].status, 1);
    d[0] = (dtlsgate_record_buffer){rec[1], e[1].out_len, out[1], sizeof out[1], -99};
    CHECK_EQ(dtlsgate_session_decrypt_batch(to, d, 1), 1);
}

static void records_arguments(dtlsgate_session *s)
{
    uint8_t buf[64];
    size_t n = sizeof buf;
    CHECK_EQ(dtlsgate_session_encrypt(s, buf, 1, buf, NULL), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_session_decrypt(s, buf, 1, buf, NULL), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_session_encrypt(s, NULL, 1, buf, &n), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_session_decrypt(s, NULL, 1, buf, &n), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_session_encrypt(s, buf, 1, NULL, &n), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_session_encrypt(s, buf, DTLSGATE_MAX_INPUT + 1, buf, &n),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_session_encrypt(s, buf, 0, buf, &n), 0);
    CHECK_EQ(dtlsgate_session_dtls_error(s), DTLSGATE_INVALID_INPUT_PARAMETERS);
    static uint8_t big[DTLSGATE_MAX_RECORD_PLAINTEXT + 1 + DTLSGATE_RECORD_OVERHEAD_MAX];
    n = sizeof big;
    CHECK_EQ(dtlsgate_session_encrypt(s, big, DTLSGATE_MAX_RECORD_PLAINTEXT + 1, big, &n), 0);
    CHECK_EQ(dtlsgate_session_dtls_error(s), DTLSGATE_INVALID_INPUT_PARAMETERS);
    CHECK_EQ(n, 0);
    n = sizeof buf;
    CHECK_EQ(dtlsgate_session_decrypt(s, buf, 0, buf, &n), 0);
    CHECK_EQ(dtlsgate_session_dtls_error(s), DTLSGATE_INVALID_INPUT_PARAMETERS);
}

/* What is not a lone application-data record is left for
 * decrypt_datagram(), which handles it: close_notify is not lost. */
static void records_not_data(dtlsgate_session *client, dtlsgate_session *server)
{
    uint8_t rec[256], out[256];
    size_t n1 = encrypt_text(client, "one", 3, rec, sizeof rec);
    size_t n2 = encrypt_text(client, "two", 3, rec + n1, sizeof rec - n1);
    size_t m = sizeof out;
    CHECK_EQ(dtlsgate_session_decrypt(server, rec, n1 + n2, out, &m), DTLSGATE_RECORD_NOT_DATA);
    m = sizeof out;
    CHECK_EQ(dtlsgate_session_decrypt_datagram(server, DTLSGATE_NO_SOCKET, rec, n1 + n2, out, &m),
             1);
    CHECK_MEM(out, m, "onetwo", 6);

    dgram_t alert, copy;
    CHECK_EQ(dtlsgate_session_shutdown(client, DTLSGATE_NO_SOCKET), 1);
    if (!CHECK(take(client, &alert)))
        return;
    copy = alert;
    m = sizeof out;
    CHECK_EQ(dtlsgate_session_decrypt(server, alert.data, alert.len, alert.data, &m),
             DTLSGATE_RECORD_NOT_DATA);
    CHECK_MEM(alert.data, alert.len, copy.data, copy.len); /* untouched, even in place */
    CHECK_EQ(dtlsgate_session_is_connection_encrypted(server), 1);
    m = sizeof out;
    CHECK_EQ(dtlsgate_session_decrypt_datagram(server, DTLSGATE_NO_SOCKET, alert.data, alert.len,
                                               out, &m),
             0);
    CHECK_EQ(dtlsgate_session_dtls_error(server), DTLSGATE_REMOTE_CLOSED_CONNECTION_ERROR);
    /* Closed: both calls now refuse. */
    m = sizeof out;
    CHECK_EQ(dtlsgate_session_decrypt(server, alert.data, alert.len, out, &m), 0);
    CHECK_EQ(dtlsgate_session_dtls_error(server), DTLSGATE_INVALID_OPERATION);
    m = sizeof out;
    CHECK_EQ(dtlsgate_session_encrypt(server, out, 3, rec, &m), 0);
    CHECK_EQ(dtlsgate_session_dtls_error(server), DTLSGATE_INVALID_OPERATION);
}

static void test_records(const char *ciphers)
{
    dtlsgate_verifier *v = dtlsgate_verifier_new();
    dtlsgate_session *client = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    psk_seen cs = {.key = KEY, .key_len = sizeof KEY}, ss = {.key = KEY, .key_len = sizeof KEY};
    check_context = ciphers;
    CHECK_EQ(dtlsgate_session_set_psk_callback(client, on_psk, &cs), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_session_set_ciphers(client, ciphers), 1);

    /* Before the handshake: refused, InvalidOperation. */
    uint8_t buf[128];
    size_t n = sizeof buf;
    CHECK_EQ(dtlsgate_session_encrypt(client, (const uint8_t *)"x", 1, buf, &n), 0);
    CHECK_EQ(dtlsgate_session_dtls_error(client), DTLSGATE_INVALID_OPERATION);
    CHECK_EQ(n, 0);
    n = sizeof buf;
    CHECK_EQ(dtlsgate_session_decrypt(client, buf, 20, buf, &n), 0);
    CHECK_EQ(dtlsgate_session_dtls_error(client), DTLSGATE_INVALID_OPERATION);

    dtlsgate_session *server = handshake_in_memory(v, client, &ss, NULL, 0);
    if (CHECK(server != NULL) && CHECK_EQ(dtlsgate_session_is_connection_encrypted(server), 1) &&
        CHECK_EQ(dtlsgate_session_is_connection_encrypted(client), 1)) {
        CHECK_STR(cipher_of(server), ciphers);
        records_round_trip(client, server);
        records_round_trip(server, client);
        records_in_place(client, server);
        records_buffer_too_small(server, client);
        records_forged(client, server);
        records_batches(client, server);
        records_arguments(client);
        records_not_data(client, server);
    }
    dtlsgate_session_free(server);
    dtlsgate_session_free(client);
    dtlsgate_verifier_free(v);
    check_context = "";
}

/* Plays the event loop for two sessions in memory: sleeps until the
 * sooner of their timers, calls handle_timeout() on each, and carries what
 * they send to each other. Stops when neither handshake is in progress (or
 * one is, with no timer to end it), or after limit_ms; returns the
 * milliseconds it ran. */
static long run_timers(dtlsgate_session *a, dtlsgate_session *b, long limit_ms)
{
    dtlsgate_session *side[2] = {a, b};
    dgram_t d;
    long start = monotonic_ms();
    while (monotonic_ms() - start < limit_ms) {
        uint32_t wait = UINT32_MAX, ms;
        for (int i = 0; i < 2; i++)
            if (dtlsgate_session_handshake_state(side[i]) == DTLSGATE_HANDSHAKE_IN_PROGRESS &&
                dtlsgate_session_remaining_timeout(side[i], &ms) == 1 && ms < wait)
                wait = ms;
        if (wait == UINT32_MAX)
            break;
        sleep_ms(wait);
        for (int i = 0; i < 2; i++)
            if (dtlsgate_session_handshake_state(side[i]) == DTLSGATE_HANDSHAKE_IN_PROGRESS)
                dtlsgate_session_handle_timeout(side[i], DTLSGATE_NO_SOCKET);
        for (int i = 0; i < 2; i++)
            while (take(side[i], &d))
                if (dtlsgate_session_handshake_state(side[!i]) == DTLSGATE_HANDSHAKE_IN_PROGRESS)
                    dtlsgate_session_do_handshake(side[!i], DTLSGATE_NO_SOCKET, d.data, d.len);
    }
    return monotonic_ms() - start;
}

/* Different keys: records that fail authentication are dropped silently
 * (RFC 6347 4.1.2.7), so neither side hears anything it can trust, and
 * both give up at the handshake deadline, naming the likely cause. */
static void test_wrong_key(void)
{
    static const uint8_t other[] = {9, 9, 9, 9};
    dtlsgate_verifier *v = dtlsgate_verifier_new();
    dtlsgate_session *client = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    psk_seen cs = {.key = other, .key_len = sizeof other}, ss = {.key = KEY, .key_len = sizeof KEY};
    dtlsgate_session_set_psk_callback(client, on_psk, &cs);
    dtlsgate_session *server = handshake_in_memory(v, client, &ss, NULL, 1000);
    if (CHECK(server != NULL)) {
        CHECK_EQ(cs.calls, 1);
        CHECK_EQ(ss.calls, 1);
        /* Neither side ended it at once: the Finished was dropped. */
        CHECK_EQ(dtlsgate_session_handshake_state(server), DTLSGATE_HANDSHAKE_IN_PROGRESS);
        CHECK_EQ(dtlsgate_session_handshake_state(client), DTLSGATE_HANDSHAKE_IN_PROGRESS);
        /* 5 s is a bound on a slow machine, not a measurement: the
         * retransmission limit alone would take minutes. */
        run_timers(client, server, 5000);
        dtlsgate_session *side[2] = {client, server};
        for (int i = 0; i < 2; i++) {
            check_context = i ? "server" : "client";
            CHECK_EQ(dtlsgate_session_handshake_state(side[i]), DTLSGATE_HANDSHAKE_NOT_STARTED);
            CHECK(error_is(side[i], DTLSGATE_TLS_FATAL_ERROR, "pre-shared keys differ"));
        }
        check_context = "";
    }
    dtlsgate_session_free(server);
    dtlsgate_session_free(client);

    /* A client whose callback sets no key fails at once. */
    client = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    psk_seen none = {.key = NULL, .key_len = 0};
    ss.calls = 0;
    dtlsgate_session_set_psk_callback(client, on_psk, &none);
    server = handshake_in_memory(v, client, &ss, NULL, 0);
    CHECK_EQ(none.calls, 1);
    CHECK_EQ(dtlsgate_session_handshake_state(client), DTLSGATE_HANDSHAKE_NOT_STARTED);
    CHECK_EQ(dtlsgate_session_dtls_error(client), DTLSGATE_TLS_FATAL_ERROR);
    dtlsgate_session_free(server);
    dtlsgate_session_free(client);
    dtlsgate_verifier_free(v);
}


/* ---------------------------------------------------------------------------
 * Forged CBC records (issue 11, item 1). An on-path attacker who saw one
 * record whose last block is all padding controls, without any key, what
 * each block decrypts to through the block before it. Every forgery below
 * must be a dropped record, never a fault: before the fix, one of the
 * kind-2 forgeries (at most 256 tries) made pion's CBC.Decrypt slice
 * before the start of the record and panic.
 */

enum { HDR = 13, BLOCK = 16 };

/* Forgery number v (0..255) of `kind` from rec, whose body is an IV and
 * four blocks C1..C4, C4 all padding (sixteen bytes of 15):
 *  0: the whole record, its padding length byte turned into v through C3;
 *  1: the same on a 48-byte body: C2 as the IV, C3, C4;
 *  2: a 64-byte body: C1 as the IV, C2 with its last byte flipped by v, and
 *     C3 turning the padding block into sixteen bytes of 16. For one v the
 *     byte before them is 16 as well: 17 bytes of padding, more than the
 *     48 bytes after the IV leave beside a 32-byte MAC. */
static void forge(const dgram_t *rec, int kind, int v, dgram_t *f)
{
    const size_t keep = kind == 0 ? rec->len - HDR : kind == 1 ? 3 * BLOCK : 4 * BLOCK;
    memcpy(f->data, rec->data, HDR);
    memcpy(f->data + HDR, rec->data + rec->len - keep, keep);
    f->data[HDR - 2] = (uint8_t)(keep >> 8); /* the record's length field */
    f->data[HDR - 1] = (uint8_t)keep;
    f->len = HDR + keep;
    uint8_t *prev = f->data + f->len - 2 * BLOCK; /* the block before the padding */
    if (kind < 2) {
        prev[BLOCK - 1] ^= (uint8_t)(v ^ 15);
        return;
    }
    for (int i = 0; i < BLOCK; i++)
        prev[i] ^= 15 ^ 16;
    prev[-1] ^= (uint8_t)v;
}

/* Feeds from's next record, forged every way, to `to`; then the record
 * itself, which must still be accepted. */
static void forgeries_are_dropped(dtlsgate_session *from, dtlsgate_session *to)
{
    /* 16 bytes of data and a 32-byte HMAC-SHA256 fill whole blocks, so
     * the padding is a block of its own. */
    static const char data[] = "sixteen bytes!!!";
    static dgram_t rec, forged;
    uint8_t out[256];
    int internal = 0, bad = 0;

    CHECK_EQ(dtlsgate_session_write_datagram_encrypted(from, DTLSGATE_NO_SOCKET,
                                                       (const uint8_t *)data, 16),
             16);
    if (!CHECK(take(from, &rec)) || !CHECK_EQ(rec.len, HDR + BLOCK + 16 + 32 + BLOCK))
        return;
    for (int kind = 0; kind < 3; kind++) {
        for (int v = 0; v < 256; v++) {
            if (kind == 0 && v == 15)
                continue; /* that is the record itself */
            forge(&rec, kind, v, &forged);
            size_t n = sizeof out;
            int r = dtlsgate_session_decrypt_datagram(to, DTLSGATE_NO_SOCKET, forged.data,
                                                      forged.len, out, &n);
            internal += r == DTLSGATE_E_INTERNAL;
            if ((r != 1 || n != 0) && !bad++)
                fprintf(stderr, "    forgery %d of kind %d: returned %d with %zu bytes\n", v,
                        kind, r, n);
        }
    }
    CHECK_EQ(internal, 0);
    CHECK_EQ(bad, 0);
    CHECK_EQ(dtlsgate_session_is_connection_encrypted(to), 1);
    /* The forgeries took no sequence number: the real record still counts. */
    size_t n = sizeof out;
    CHECK_EQ(dtlsgate_session_decrypt_datagram(to, DTLSGATE_NO_SOCKET, rec.data, rec.len, out, &n),
             1);
    CHECK_MEM(out, n, data, 16);
}

static void test_cbc_forgeries(const char *suite)
{
    dtlsgate_verifier *v = dtlsgate_verifier_new();
    dtlsgate_session *client = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    psk_seen cs = {.key = KEY, .key_len = sizeof KEY}, ss = {.key = KEY, .key_len = sizeof KEY};
    check_context = suite;
    dtlsgate_session_set_psk_callback(client, on_psk, &cs);
    dtlsgate_session *server = handshake_in_memory(v, client, &ss, suite, 0);
    if (CHECK(server != NULL) && CHECK_STR(cipher_of(server), suite) &&
        CHECK_STR(cipher_of(client), suite)) {
        forgeries_are_dropped(client, server);
        forgeries_are_dropped(server, client);
        CHECK_STR(carry(client, server, "still carrying data"), "still carrying data");
        CHECK_STR(carry(server, client, "both ways"), "both ways");
    }
    dtlsgate_session_free(server);
    dtlsgate_session_free(client);
    dtlsgate_verifier_free(v);
    check_context = "";
}

/* ---------------------------------------------------------------------------
 * Secrets (issue 11, item 9): once a handshake is over, no copy of the
 * pre-shared key is left in the process for a memory dump or a core file
 * to show, whatever the library made of it on the way. The test keeps the
 * key masked, unmasks it only in the callback's own buffer (wiped), and
 * looks through every writable mapping of the process for it.
 */

/* With signalled, each PSK callback gets a signal right after it hands the
 * key over (1) or reads it back (2). The Go runtime preempts with signals,
 * at any instruction, more often on a loaded machine; the kernel saves
 * every register, vector ones included, into the frame on the thread's
 * signal stack, which nothing wipes. A key copied through vector registers
 * (as memmove copies 17 to 256 bytes) and left there stays in that frame. */
static void test_key_not_left_in_memory(const char *suite, int signalled)
{
    enum { MASK = 0xA5 };
    uint8_t masked[32];
    int fd = open("/dev/urandom", O_RDONLY);
    if (!CHECK(fd >= 0) || !CHECK_EQ(read(fd, masked, sizeof masked), (long long)sizeof masked))
        return;
    close(fd);
    static char context[96];
    snprintf(context, sizeof context, "%s, signalled %d", suite, signalled);
    check_context = context;
    /* The search finds a copy when there is one. */
    uint8_t *plain = malloc(sizeof masked);
    for (size_t i = 0; i < sizeof masked; i++)
        plain[i] = masked[i] ^ MASK;
    CHECK_EQ(key_copies(masked, sizeof masked, MASK), 1);
    explicit_bzero(plain, sizeof masked);
    free(plain);
    CHECK_EQ(key_copies(masked, sizeof masked, MASK), 0);

    dtlsgate_verifier *v = dtlsgate_verifier_new();
    dtlsgate_session *client = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    psk_seen cs = {.key = masked,
                   .key_len = sizeof masked,
                   .key_mask = MASK,
                   .signal_after_key = signalled};
    psk_seen ss = cs;
    dtlsgate_session_set_psk_callback(client, on_psk, &cs);
    dtlsgate_session *server = handshake_in_memory(v, client, &ss, suite, 0);
    if (CHECK(server != NULL) &&
        CHECK_EQ(dtlsgate_session_handshake_state(server), DTLSGATE_HANDSHAKE_COMPLETE)) {
        CHECK_EQ(key_copies(masked, sizeof masked, MASK), 0);
        CHECK_STR(carry(client, server, "ping"), "ping");
    }
    dtlsgate_session_free(server);
    dtlsgate_session_free(client);
    dtlsgate_verifier_free(v);
    CHECK_EQ(key_copies(masked, sizeof masked, MASK), 0);
    check_context = "";
}

/* ---------------------------------------------------------------------------
 * Over real loopback sockets: the session sends with sendto(2) itself.
 */

/* One datagram within ms milliseconds, or -1. */
static long recv_within(int fd, uint8_t *buf, size_t cap, int ms, struct sockaddr_storage *from,
                        socklen_t *fromlen)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) != 1)
        return -1;
    return (long)recvfrom(fd, buf, cap, MSG_DONTWAIT, (struct sockaddr *)from, fromlen);
}

static void test_sockets(int family)
{
    udp_t srv, cli;
    static uint8_t buf[DTLSGATE_MAX_DATAGRAM];
    char ip[64];
    check_context = family == AF_INET ? "sockets, IPv4" : "sockets, IPv6";
    if (!CHECK(udp_open(family, family == AF_INET ? "127.0.0.1" : "::1", &srv) == 0) || !CHECK(udp_open(family, family == AF_INET ? "127.0.0.1" : "::1", &cli) == 0))
        return;
    inet_ntop(family,
              family == AF_INET ? (void *)&((struct sockaddr_in *)&srv.addr)->sin_addr
                                : (void *)&((struct sockaddr_in6 *)&srv.addr)->sin6_addr,
              ip, sizeof ip);

    dtlsgate_verifier *v = dtlsgate_verifier_new();
    dtlsgate_session *client = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    dtlsgate_session *server = NULL;
    psk_seen cs = {.key = KEY, .key_len = sizeof KEY}, ss = {.key = KEY, .key_len = sizeof KEY};
    dtlsgate_session_set_psk_callback(client, on_psk, &cs);
    CHECK_EQ(dtlsgate_session_set_peer(client, ip, srv.port), 1);
    CHECK_EQ(dtlsgate_session_do_handshake(client, cli.fd, NULL, 0), 1);

    /* One thread plays both sides: whoever has a datagram gets it. */
    int hvr_sent = 0;
    for (int i = 0; i < 40; i++) {
        struct sockaddr_storage from;
        socklen_t flen = sizeof from;
        long n = recv_within(srv.fd, buf, sizeof buf, 50, &from, &flen);
        if (n > 0 && server == NULL) {
            if (dtlsgate_verifier_verify_client_sockaddr(v, srv.fd, buf, (size_t)n,
                                                         (struct sockaddr *)&from, flen) == 1) {
                server = dtlsgate_session_new(DTLSGATE_SSL_SERVER_MODE);
                CHECK_EQ(dtlsgate_session_set_peer_sockaddr(server, (struct sockaddr *)&from, flen),
                         1);
                CHECK_EQ(dtlsgate_session_set_cookie_verifier(server, v), 1);
                dtlsgate_session_set_identity_hint(server, (const uint8_t *)HINT, strlen(HINT));
                dtlsgate_session_set_psk_callback(server, on_psk, &ss);
                CHECK_EQ(dtlsgate_session_do_handshake(server, srv.fd, buf, (size_t)n), 1);
            } else {
                hvr_sent++;
            }
        } else if (n > 0) {
            CHECK_EQ(dtlsgate_session_do_handshake(server, srv.fd, buf, (size_t)n), 1);
        }
        flen = sizeof from;
        n = recv_within(cli.fd, buf, sizeof buf, 50, &from, &flen);
        if (n > 0 && dtlsgate_session_handshake_state(client) == DTLSGATE_HANDSHAKE_IN_PROGRESS)
            CHECK_EQ(dtlsgate_session_do_handshake(client, cli.fd, buf, (size_t)n), 1);
        if (server && dtlsgate_session_is_connection_encrypted(server) &&
            dtlsgate_session_is_connection_encrypted(client))
            break;
    }
    CHECK_EQ(hvr_sent, 1);
    if (!CHECK(server != NULL) || !CHECK_EQ(dtlsgate_session_is_connection_encrypted(client), 1) ||
        !CHECK_EQ(dtlsgate_session_is_connection_encrypted(server), 1))
        goto out;
    CHECK_STR(cs.hint, HINT);
    CHECK_STR(ss.identity, IDENTITY);

    char addr[64];
    size_t alen = sizeof addr;
    uint16_t port = 0;
    CHECK_EQ(dtlsgate_session_peer(client, addr, &alen, &port), DTLSGATE_OK);
    CHECK_STR(addr, ip);
    CHECK_EQ(port, srv.port);

    /* Data both ways, through the sockets. */
    static const char ping[] = "ping over loopback";
    CHECK_EQ(dtlsgate_session_write_datagram_encrypted(client, cli.fd, (const uint8_t *)ping,
                                                       strlen(ping)),
             (long long)strlen(ping));
    long n = recv_within(srv.fd, buf, sizeof buf, 3000, NULL, NULL);
    uint8_t plain[DTLSGATE_MAX_DATAGRAM];
    size_t pn = sizeof plain;
    if (CHECK(n > 0)) {
        CHECK_EQ(dtlsgate_session_decrypt(server, buf, (size_t)n, plain, &pn), 1);
        CHECK_MEM(plain, pn, ping, strlen(ping));
        CHECK_EQ(dtlsgate_session_write_datagram_encrypted(server, srv.fd, plain, pn), (long long)pn);
    }
    n = recv_within(cli.fd, buf, sizeof buf, 3000, NULL, NULL);
    pn = sizeof plain;
    if (CHECK(n > 0)) {
        CHECK_EQ(dtlsgate_session_decrypt_datagram(client, cli.fd, buf, (size_t)n, plain, &pn), 1);
        CHECK_MEM(plain, pn, ping, strlen(ping));
    }

    /* The server shuts down; the client hears close_notify. */
    CHECK_EQ(dtlsgate_session_shutdown(server, srv.fd), 1);
    n = recv_within(cli.fd, buf, sizeof buf, 3000, NULL, NULL);
    pn = sizeof plain;
    if (CHECK(n > 0)) {
        CHECK_EQ(dtlsgate_session_decrypt_datagram(client, cli.fd, buf, (size_t)n, plain, &pn), 0);
        CHECK_EQ(dtlsgate_session_dtls_error(client), DTLSGATE_REMOTE_CLOSED_CONNECTION_ERROR);
    }
out:
    dtlsgate_session_free(server);
    dtlsgate_session_free(client);
    dtlsgate_verifier_free(v);
    close(srv.fd);
    close(cli.fd);
    check_context = "";
}

/* A silent server: the client's timer runs, fires once due and resends. */
static void test_retransmission(void)
{
    udp_t silent, cli;
    static uint8_t first[2048], again[2048];
    if (!CHECK(udp_open(AF_INET, "127.0.0.1", &silent) == 0) || !CHECK(udp_open(AF_INET, "127.0.0.1", &cli) == 0))
        return;
    dtlsgate_session *client = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    uint32_t ms = 12345;
    CHECK_EQ(dtlsgate_session_remaining_timeout(client, &ms), 0);
    CHECK_EQ(ms, 0);
    dtlsgate_session_set_peer(client, "127.0.0.1", silent.port);
    CHECK_EQ(dtlsgate_session_do_handshake(client, cli.fd, NULL, 0), 1);
    long n1 = recv_within(silent.fd, first, sizeof first, 3000, NULL, NULL);
    CHECK(n1 > 0);
    CHECK_EQ(dtlsgate_session_remaining_timeout(client, &ms), 1);
    CHECK(ms > 500 && ms <= 1000);

    /* Too early: nothing happens. */
    CHECK_EQ(dtlsgate_session_handle_timeout(client, cli.fd), 1);
    CHECK_EQ(recv_within(silent.fd, again, sizeof again, 100, NULL, NULL), -1);

    sleep_ms(ms + 20);
    CHECK_EQ(dtlsgate_session_remaining_timeout(client, &ms), 1);
    CHECK_EQ(ms, 0);
    CHECK_EQ(dtlsgate_session_handle_timeout(client, cli.fd), 1);
    long n2 = recv_within(silent.fd, again, sizeof again, 3000, NULL, NULL);
    /* The same ClientHello under the next record sequence number. */
    if (CHECK_EQ(n2, n1)) {
        CHECK_MEM(again, 3, first, 3);
        CHECK_MEM(again + 13, (size_t)n2 - 13, first + 13, (size_t)n1 - 13);
        CHECK(memcmp(again + 5, first + 5, 8) != 0);
    }
    CHECK_EQ(dtlsgate_session_remaining_timeout(client, &ms), 1);
    CHECK(ms > 1500 && ms <= 2000); /* doubled */

    CHECK_EQ(dtlsgate_session_abort_handshake(client), 1);
    CHECK_EQ(dtlsgate_session_handshake_state(client), DTLSGATE_HANDSHAKE_NOT_STARTED);
    CHECK_EQ(dtlsgate_session_remaining_timeout(client, &ms), 0);
    dtlsgate_session_free(client);
    close(silent.fd);
    close(cli.fd);
}

/* The handshake deadline and the retransmission limit: defaults, range,
 * and only before the handshake. */
static void test_handshake_limits(void)
{
    dtlsgate_session *s = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    CHECK_EQ(dtlsgate_session_handshake_deadline(s), 30000);
    CHECK_EQ(dtlsgate_session_max_retransmits(s), 12);

    CHECK_EQ(dtlsgate_session_set_handshake_deadline(s, 1), 1);
    CHECK_EQ(dtlsgate_session_dtls_error(s), DTLSGATE_NO_ERROR);
    CHECK_EQ(dtlsgate_session_handshake_deadline(s), 1);
    CHECK_EQ(dtlsgate_session_set_handshake_deadline(s, DTLSGATE_HANDSHAKE_DEADLINE_MAX), 1);
    CHECK_EQ(dtlsgate_session_handshake_deadline(s), 86400000);
    CHECK_EQ(dtlsgate_session_set_handshake_deadline(s, DTLSGATE_HANDSHAKE_DEADLINE_MAX + 1), 0);
    CHECK(error_is(s, DTLSGATE_INVALID_INPUT_PARAMETERS, "86400001 ms"));
    CHECK_EQ(dtlsgate_session_set_handshake_deadline(s, UINT32_MAX), 0);
    CHECK_EQ(dtlsgate_session_dtls_error(s), DTLSGATE_INVALID_INPUT_PARAMETERS);
    CHECK_EQ(dtlsgate_session_handshake_deadline(s), 86400000); /* unchanged */
    CHECK_EQ(dtlsgate_session_set_handshake_deadline(s, 0), 1);
    CHECK_EQ(dtlsgate_session_handshake_deadline(s), 30000);

    CHECK_EQ(dtlsgate_session_set_max_retransmits(s, -1), 0);
    CHECK(error_is(s, DTLSGATE_INVALID_INPUT_PARAMETERS, "retransmissions -1"));
    CHECK_EQ(dtlsgate_session_set_max_retransmits(s, INT_MIN), 0);
    CHECK_EQ(dtlsgate_session_dtls_error(s), DTLSGATE_INVALID_INPUT_PARAMETERS);
    CHECK_EQ(dtlsgate_session_max_retransmits(s), 12);
    CHECK_EQ(dtlsgate_session_set_max_retransmits(s, INT_MAX), 1);
    CHECK_EQ(dtlsgate_session_max_retransmits(s), INT_MAX);
    CHECK_EQ(dtlsgate_session_set_max_retransmits(s, 0), 1);
    CHECK_EQ(dtlsgate_session_max_retransmits(s), 12);
    CHECK_EQ(dtlsgate_session_set_max_retransmits(s, 3), 1);
    CHECK_EQ(dtlsgate_session_set_handshake_deadline(s, 2000), 1);

    /* Once the handshake runs, any value is refused as too late. */
    CHECK_EQ(dtlsgate_session_set_peer(s, "192.0.2.1", 5684), 1);
    CHECK_EQ(dtlsgate_session_do_handshake(s, DTLSGATE_NO_SOCKET, NULL, 0), 1);
    CHECK_EQ(dtlsgate_session_set_handshake_deadline(s, 1000), 0);
    CHECK(error_is(s, DTLSGATE_INVALID_OPERATION, "after handshake started"));
    CHECK_EQ(dtlsgate_session_set_handshake_deadline(s, UINT32_MAX), 0);
    CHECK_EQ(dtlsgate_session_dtls_error(s), DTLSGATE_INVALID_OPERATION);
    CHECK_EQ(dtlsgate_session_set_max_retransmits(s, 5), 0);
    CHECK(error_is(s, DTLSGATE_INVALID_OPERATION, "after handshake started"));
    CHECK_EQ(dtlsgate_session_set_max_retransmits(s, -1), 0);
    CHECK_EQ(dtlsgate_session_dtls_error(s), DTLSGATE_INVALID_OPERATION);
    CHECK_EQ(dtlsgate_session_handshake_deadline(s), 2000);
    CHECK_EQ(dtlsgate_session_max_retransmits(s), 3);
    dtlsgate_session_free(s);
}

/* A server that never answers: with a 500 ms deadline the client gives up
 * at the deadline, before even its first retransmission (due after 1 s),
 * far from the 12 retransmissions it was allowed. */
static void test_handshake_deadline(void)
{
    dtlsgate_session *client = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    dgram_t d;
    uint32_t ms = 0;
    int hellos = 0, ok = 1;
    CHECK_EQ(dtlsgate_session_set_handshake_deadline(client, 500), 1);
    CHECK_EQ(dtlsgate_session_set_max_retransmits(client, 12), 1);
    CHECK_EQ(dtlsgate_session_set_peer(client, "192.0.2.1", 5684), 1);
    long start = monotonic_ms();
    CHECK_EQ(dtlsgate_session_do_handshake(client, DTLSGATE_NO_SOCKET, NULL, 0), 1);
    CHECK_EQ(dtlsgate_session_remaining_timeout(client, &ms), 1);
    CHECK(ms > 0 && ms <= 500); /* the deadline comes before the retransmission */
    /* 5 s bounds the loop on a slow machine; it is not what is measured. */
    while (ok && monotonic_ms() - start < 5000) {
        while (take(client, &d))
            hellos++;
        if (dtlsgate_session_remaining_timeout(client, &ms) != 1)
            break;
        sleep_ms(ms);
        ok = dtlsgate_session_handle_timeout(client, DTLSGATE_NO_SOCKET);
    }
    long took = monotonic_ms() - start;
    CHECK_EQ(ok, 0);
    CHECK_EQ(dtlsgate_session_handshake_state(client), DTLSGATE_HANDSHAKE_NOT_STARTED);
    CHECK_EQ(dtlsgate_session_dtls_error(client), DTLSGATE_TLS_FATAL_ERROR);
    CHECK(took >= 500 - 1); /* whole milliseconds on both ends */
    CHECK_EQ(hellos, 1); /* never retransmitted */
    CHECK_EQ(dtlsgate_session_remaining_timeout(client, &ms), 0);
    dtlsgate_session_free(client);
}

/* ---------------------------------------------------------------------------
 * Connection IDs (RFC 9146): negotiation both ways, the records they make,
 * the getters and the address move rule.
 */

/* An ID getter's result into (id, *n): 1 negotiated, 0 not. */
static int cid_of(int (*get)(const dtlsgate_session *, uint8_t *, size_t *),
                  const dtlsgate_session *s, uint8_t *id, size_t *n)
{
    *n = DTLSGATE_PEER_CONNECTION_ID_MAX;
    return get(s, id, n);
}

/* The length a setting makes the ID: -1 for none. */
static int cid_bytes(int setting)
{
    return setting == DTLSGATE_EMPTY_CONNECTION_ID ? 0 : setting;
}

/* A handshake with the client asking for client_cid and the server for
 * server_cid (each a length, DTLSGATE_EMPTY_CONNECTION_ID or
 * DTLSGATE_NO_CONNECTION_ID); records both ways carry the other side's ID
 * and grow by its length + 1. */
static void cid_pair(int client_cid, int server_cid)
{
    char ctx[64];
    snprintf(ctx, sizeof ctx, "connection IDs client %d server %d", client_cid, server_cid);
    check_context = ctx;
    dtlsgate_verifier *v = dtlsgate_verifier_new();
    dtlsgate_session *client = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    psk_seen cs = {.key = KEY, .key_len = sizeof KEY}, ss = {.key = KEY, .key_len = sizeof KEY};
    CHECK_EQ(dtlsgate_session_set_psk_callback(client, on_psk, &cs), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_session_set_connection_id_length(client, client_cid), 1);
    server_cid_length = server_cid;
    dtlsgate_session *server = handshake_in_memory(v, client, &ss, NULL, 0);
    server_cid_length = DTLSGATE_NO_CONNECTION_ID;
    if (!CHECK(server != NULL) ||
        !CHECK_EQ(dtlsgate_session_is_connection_encrypted(server), 1) ||
        !CHECK_EQ(dtlsgate_session_is_connection_encrypted(client), 1))
        goto out;

    int on = client_cid != DTLSGATE_NO_CONNECTION_ID && server_cid != DTLSGATE_NO_CONNECTION_ID;
    uint8_t c_own[256], c_peer[256], s_own[256], s_peer[256];
    size_t c_own_n, c_peer_n, s_own_n, s_peer_n;
    CHECK_EQ(cid_of(dtlsgate_session_connection_id, client, c_own, &c_own_n), on);
    CHECK_EQ(cid_of(dtlsgate_session_peer_connection_id, client, c_peer, &c_peer_n), on);
    CHECK_EQ(cid_of(dtlsgate_session_connection_id, server, s_own, &s_own_n), on);
    CHECK_EQ(cid_of(dtlsgate_session_peer_connection_id, server, s_peer, &s_peer_n), on);
    /* What one side asked for is what the other sends with. */
    CHECK_MEM(c_own, c_own_n, s_peer, s_peer_n);
    CHECK_MEM(s_own, s_own_n, c_peer, c_peer_n);
    CHECK_EQ(c_own_n, on ? cid_bytes(client_cid) : 0);
    CHECK_EQ(s_own_n, on ? cid_bytes(server_cid) : 0);

    /* PSK-AES128-GCM-SHA256: header 13, explicit nonce 8, tag 16; a
     * tls12_cid record adds the ID and the real content type. */
    static const char text[] = "through the NAT";
    dtlsgate_session *from[2] = {client, server}, *to[2] = {server, client};
    size_t to_id_n[2] = {s_own_n, c_own_n};
    const uint8_t *to_id[2] = {s_own, c_own};
    for (int i = 0; i < 2; i++) {
        uint8_t rec[256], out[256];
        size_t n = encrypt_text(from[i], text, strlen(text), rec, sizeof rec);
        int cid = on && to_id_n[i] > 0;
        CHECK_EQ(n, 13 + 8 + strlen(text) + 16 + (cid ? to_id_n[i] + 1 : 0));
        CHECK_EQ(rec[0], cid ? 25 : 23);
        if (cid)
            CHECK_MEM(rec + 11, to_id_n[i], to_id[i], to_id_n[i]);
        size_t on_ = sizeof out;
        CHECK_EQ(dtlsgate_session_decrypt(to[i], rec, n, out, &on_), 1);
        CHECK_MEM(out, on_, text, strlen(text));
    }
    CHECK_STR(carry(client, server, "ping"), "ping");
    CHECK_STR(carry(server, client, "pong"), "pong");
out:
    dtlsgate_session_free(server);
    dtlsgate_session_free(client);
    dtlsgate_verifier_free(v);
    check_context = "";
}

static const struct sockaddr *ipv4(struct sockaddr_in *sin, const char *addr, uint16_t port)
{
    memset(sin, 0, sizeof *sin);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    inet_pton(AF_INET, addr, &sin->sin_addr);
    return (const struct sockaddr *)sin;
}

/* The peer's address as "addr:port". */
static const char *peer_of(const dtlsgate_session *s)
{
    static char str[80];
    char addr[64];
    size_t n = sizeof addr;
    uint16_t port = 0;
    CHECK_EQ(dtlsgate_session_peer(s, addr, &n, &port), DTLSGATE_OK);
    snprintf(str, sizeof str, "%s:%u", addr, port);
    return str;
}

/* RFC 9146 section 6: a server session follows its client to a new address
 * only for an authenticated record newer than any before. */
static void test_move_peer(void)
{
    check_context = "move_peer";
    dtlsgate_verifier *v = dtlsgate_verifier_new();
    dtlsgate_session *client = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    psk_seen cs = {.key = KEY, .key_len = sizeof KEY}, ss = {.key = KEY, .key_len = sizeof KEY};
    CHECK_EQ(dtlsgate_session_set_psk_callback(client, on_psk, &cs), DTLSGATE_OK);
    struct sockaddr_in a, b, c;
    /* Before a connection with IDs there is nothing to move. */
    ipv4(&a, "198.51.100.1", 1000);
    CHECK_EQ(dtlsgate_session_move_peer(client, (const struct sockaddr *)&a, sizeof a), 0);
    CHECK(error_is(client, DTLSGATE_INVALID_OPERATION, "connection IDs"));

    CHECK_EQ(dtlsgate_session_set_connection_id_length(client, DTLSGATE_EMPTY_CONNECTION_ID), 1);
    server_cid_length = 8;
    dtlsgate_session *server = handshake_in_memory(v, client, &ss, NULL, 0);
    server_cid_length = DTLSGATE_NO_CONNECTION_ID;
    if (!CHECK(server != NULL) || !CHECK_EQ(dtlsgate_session_is_connection_encrypted(server), 1))
        goto out;
    char home[80];
    snprintf(home, sizeof home, "%s:%u", CLIENT_IP, CLIENT_PORT);
    CHECK_STR(peer_of(server), home);

    uint8_t r1[128], r2[128], r3[128], out[128];
    size_t n1 = encrypt_text(client, "one", 3, r1, sizeof r1);
    size_t n2 = encrypt_text(client, "two", 3, r2, sizeof r2);
    size_t n3 = encrypt_text(client, "three", 5, r3, sizeof r3);
    size_t n = sizeof out;

    /* The newest record from the address the session has: nothing to do. */
    CHECK_EQ(dtlsgate_session_decrypt_datagram(server, DTLSGATE_NO_SOCKET, r2, n2, out, &n), 1);
    CHECK_MEM(out, n, "two", 3);
    struct sockaddr_in here;
    CHECK_EQ(dtlsgate_session_move_peer(server, ipv4(&here, CLIENT_IP, CLIENT_PORT), sizeof here), 2);
    CHECK_EQ(dtlsgate_session_dtls_error(server), DTLSGATE_NO_ERROR);

    /* An older record (delayed by the network) from a new address:
     * authentic, delivered, but it moves nothing. */
    n = sizeof out;
    CHECK_EQ(dtlsgate_session_decrypt_datagram(server, DTLSGATE_NO_SOCKET, r1, n1, out, &n), 1);
    CHECK_MEM(out, n, "one", 3);
    CHECK_EQ(dtlsgate_session_move_peer(server, ipv4(&a, "198.51.100.1", 1000), sizeof a), 0);
    CHECK(error_is(server, DTLSGATE_INVALID_OPERATION, ""));
    CHECK_STR(peer_of(server), home);

    /* A replay of the newest record from a new address: dropped, no move. */
    n = sizeof out;
    CHECK_EQ(dtlsgate_session_decrypt_datagram(server, DTLSGATE_NO_SOCKET, r2, n2, out, &n), 1);
    CHECK_EQ(n, 0);
    CHECK_EQ(dtlsgate_session_move_peer(server, (const struct sockaddr *)&a, sizeof a), 0);
    CHECK_STR(peer_of(server), home);

    /* A forged one (the ID intact, a tag byte changed): no move. */
    uint8_t forged[128];
    memcpy(forged, r3, n3);
    forged[n3 - 1] ^= 1;
    n = sizeof out;
    CHECK_EQ(dtlsgate_session_decrypt(server, forged, n3, out, &n), DTLSGATE_RECORD_DROPPED);
    CHECK_EQ(dtlsgate_session_move_peer(server, (const struct sockaddr *)&a, sizeof a), 0);
    CHECK_STR(peer_of(server), home);

    /* The genuine newest record from the new address moves the session,
     * through the fast path too; a bad address is refused first. */
    n = sizeof out;
    CHECK_EQ(dtlsgate_session_decrypt(server, r3, n3, out, &n), 1);
    CHECK_MEM(out, n, "three", 5);
    CHECK_EQ(dtlsgate_session_move_peer(server, NULL, 0), 0);
    CHECK(error_is(server, DTLSGATE_INVALID_INPUT_PARAMETERS, "Invalid address"));
    CHECK_EQ(dtlsgate_session_move_peer(server, ipv4(&c, "198.51.100.1", 0), sizeof c), 0);
    CHECK_EQ(dtlsgate_session_move_peer(server, (const struct sockaddr *)&a, sizeof a - 1), 0);
    CHECK_EQ(dtlsgate_session_move_peer(server, (const struct sockaddr *)&a, sizeof a), 1);
    CHECK_EQ(dtlsgate_session_dtls_error(server), DTLSGATE_NO_ERROR);
    CHECK_STR(peer_of(server), "198.51.100.1:1000");
    /* IPv4-mapped IPv6 is the same peer. */
    struct sockaddr_in6 m = {.sin6_family = AF_INET6, .sin6_port = htons(1000)};
    inet_pton(AF_INET6, "::ffff:198.51.100.1", &m.sin6_addr);
    CHECK_EQ(dtlsgate_session_move_peer(server, (const struct sockaddr *)&m, sizeof m), 2);

    /* The client never moves: the server's records carry no ID for it. */
    CHECK_STR(carry(server, client, "still here"), "still here");
    CHECK_EQ(dtlsgate_session_move_peer(client, ipv4(&b, "203.0.113.9", 2000), sizeof b), 0);
out:
    dtlsgate_session_free(server);
    dtlsgate_session_free(client);
    dtlsgate_verifier_free(v);
    check_context = "";
}

/* The settings: range, role defaults, an ID of the caller's, only before
 * the handshake; the getters' buffers. */
static void test_cid_settings(void)
{
    check_context = "connection ID settings";
    dtlsgate_session *s = dtlsgate_session_new(DTLSGATE_SSL_SERVER_MODE);
    dtlsgate_session *c = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    int len = 99;
    /* New sessions do not negotiate, whatever their role. */
    CHECK_EQ(dtlsgate_session_connection_id_length(s, &len), DTLSGATE_OK);
    CHECK_EQ(len, DTLSGATE_NO_CONNECTION_ID);
    CHECK_EQ(dtlsgate_session_connection_id_length(c, &len), DTLSGATE_OK);
    CHECK_EQ(len, DTLSGATE_NO_CONNECTION_ID);
    /* 0 is the role's default. */
    CHECK_EQ(dtlsgate_session_set_connection_id_length(s, 0), 1);
    CHECK_EQ(dtlsgate_session_connection_id_length(s, &len), DTLSGATE_OK);
    CHECK_EQ(len, DTLSGATE_CONNECTION_ID_DEFAULT_LENGTH);
    CHECK_EQ(dtlsgate_session_set_connection_id_length(c, 0), 1);
    CHECK_EQ(dtlsgate_session_connection_id_length(c, &len), DTLSGATE_OK);
    CHECK_EQ(len, DTLSGATE_NO_CONNECTION_ID);
    static const int good[] = {1, 8, DTLSGATE_CONNECTION_ID_MAX, DTLSGATE_EMPTY_CONNECTION_ID,
                               DTLSGATE_NO_CONNECTION_ID};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        CHECK_EQ(dtlsgate_session_set_connection_id_length(s, good[i]), 1);
        CHECK_EQ(dtlsgate_session_connection_id_length(s, &len), DTLSGATE_OK);
        CHECK_EQ(len, good[i]);
    }
    static const int bad[] = {DTLSGATE_CONNECTION_ID_MAX + 1, -3, 255, INT_MIN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ(dtlsgate_session_set_connection_id_length(s, bad[i]), 0);
        CHECK(error_is(s, DTLSGATE_INVALID_INPUT_PARAMETERS, "connection ID length"));
        CHECK_EQ(dtlsgate_session_connection_id_length(s, &len), DTLSGATE_OK);
        CHECK_EQ(len, DTLSGATE_NO_CONNECTION_ID); /* unchanged */
    }
    CHECK_EQ(dtlsgate_session_connection_id_length(s, NULL), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK(strstr(dtlsgate_last_error_message(), "length") != NULL);

    /* The caller's own ID. */
    static const uint8_t mine[] = {0x2a, 1, 2, 3, 4};
    CHECK_EQ(dtlsgate_session_set_connection_id(s, mine, sizeof mine), 1);
    CHECK_EQ(dtlsgate_session_connection_id_length(s, &len), DTLSGATE_OK);
    CHECK_EQ(len, (int)sizeof mine);
    CHECK_EQ(dtlsgate_session_set_connection_id(s, NULL, 0), 1);
    CHECK_EQ(dtlsgate_session_connection_id_length(s, &len), DTLSGATE_OK);
    CHECK_EQ(len, DTLSGATE_EMPTY_CONNECTION_ID);
    uint8_t long_id[DTLSGATE_CONNECTION_ID_MAX + 1] = {0};
    CHECK_EQ(dtlsgate_session_set_connection_id(s, long_id, sizeof long_id), 0);
    CHECK(error_is(s, DTLSGATE_INVALID_INPUT_PARAMETERS, "connection ID"));
    CHECK_EQ(dtlsgate_session_set_connection_id(s, NULL, 3), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK(strstr(dtlsgate_last_error_message(), "connection ID") != NULL);
    /* A length setting replaces the ID. */
    CHECK_EQ(dtlsgate_session_set_connection_id(s, mine, sizeof mine), 1);
    CHECK_EQ(dtlsgate_session_set_connection_id_length(s, 12), 1);
    CHECK_EQ(dtlsgate_session_connection_id_length(s, &len), DTLSGATE_OK);
    CHECK_EQ(len, 12);

    /* Not negotiated yet: 0 and nothing written. */
    uint8_t id[32];
    size_t n = sizeof id;
    CHECK_EQ(dtlsgate_session_connection_id(s, id, &n), 0);
    CHECK_EQ(n, 0);
    n = sizeof id;
    CHECK_EQ(dtlsgate_session_peer_connection_id(s, id, &n), 0);
    CHECK_EQ(n, 0);
    CHECK_EQ(dtlsgate_session_connection_id(s, id, NULL), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_session_peer_connection_id(s, id, NULL), DTLSGATE_E_INVALID_ARGUMENT);
    dtlsgate_session_free(s);
    dtlsgate_session_free(c);

    /* The server's ID is the caller's; small buffers get the size. */
    dtlsgate_verifier *v = dtlsgate_verifier_new();
    c = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    psk_seen cs = {.key = KEY, .key_len = sizeof KEY}, ss = {.key = KEY, .key_len = sizeof KEY};
    CHECK_EQ(dtlsgate_session_set_psk_callback(c, on_psk, &cs), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_session_set_connection_id_length(c, DTLSGATE_EMPTY_CONNECTION_ID), 1);
    server_cid_length = sizeof mine;
    server_cid = mine;
    s = handshake_in_memory(v, c, &ss, NULL, 0);
    server_cid = NULL;
    server_cid_length = DTLSGATE_NO_CONNECTION_ID;
    if (CHECK(s != NULL) && CHECK_EQ(dtlsgate_session_is_connection_encrypted(s), 1)) {
        n = sizeof mine - 1;
        CHECK_EQ(dtlsgate_session_connection_id(s, id, &n), DTLSGATE_E_BUFFER_TOO_SMALL);
        CHECK_EQ(n, sizeof mine);
        n = 0;
        CHECK_EQ(dtlsgate_session_peer_connection_id(c, NULL, &n), DTLSGATE_E_BUFFER_TOO_SMALL);
        CHECK_EQ(n, sizeof mine);
        CHECK_EQ(dtlsgate_session_peer_connection_id(c, id, &n), 1);
        CHECK_MEM(id, n, mine, sizeof mine);
        n = sizeof mine;
        CHECK_EQ(dtlsgate_session_connection_id(s, NULL, &n), DTLSGATE_E_INVALID_ARGUMENT);
        /* The client's empty ID fits in no buffer at all. */
        n = 0;
        CHECK_EQ(dtlsgate_session_connection_id(c, NULL, &n), 1);
        CHECK_EQ(n, 0);
        /* Settings are for before the handshake. */
        CHECK_EQ(dtlsgate_session_set_connection_id_length(s, 4), 0);
        CHECK(error_is(s, DTLSGATE_INVALID_OPERATION, ""));
        CHECK_EQ(dtlsgate_session_set_connection_id(c, mine, 2), 0);
        CHECK(error_is(c, DTLSGATE_INVALID_OPERATION, ""));
        CHECK_EQ(dtlsgate_session_set_connection_id_length(c, 99), 0);
        CHECK(error_is(c, DTLSGATE_INVALID_OPERATION, ""));
    }
    dtlsgate_session_free(s);
    dtlsgate_session_free(c);
    dtlsgate_verifier_free(v);
    check_context = "";
}

static void test_connection_ids(void)
{
    static const int settings[] = {DTLSGATE_EMPTY_CONNECTION_ID, 8, 16, DTLSGATE_NO_CONNECTION_ID};
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < 4; j++)
            cid_pair(settings[i], settings[j]);
    test_cid_settings();
    test_move_peer();
}

/* ---------------------------------------------------------------------------
 * Bad input: every refusal has its code and message, nothing crashes.
 */

static void expect_bad_session(dtlsgate_session *s, const char *what)
{
    uint8_t buf[64];
    char str[64];
    size_t len = sizeof buf;
    uint32_t ms;
    int hash;
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(9)};
    check_context = what;
    CHECK_EQ(dtlsgate_session_ssl_mode(s), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_set_peer(s, "127.0.0.1", 9), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_set_peer_sockaddr(s, (struct sockaddr *)&a4, sizeof a4),
             DTLSGATE_E_BAD_HANDLE);
    len = sizeof str;
    CHECK_EQ(dtlsgate_session_peer(s, str, &len, NULL), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_set_identity_hint(s, buf, 1), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_identity_hint(s, buf, &len), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_set_ciphers(s, NULL), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_ciphers(s, str, &len), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_set_mtu_hint(s, 1000), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_mtu_hint(s), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_set_handshake_deadline(s, 1000), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_handshake_deadline(s), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_set_max_retransmits(s, 3), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_max_retransmits(s), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_set_cookie_generator_parameters(s, 4, buf, 8), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_cookie_generator_parameters(s, &hash, buf, &len),
             DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_set_psk_callback(s, on_psk, NULL), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_do_handshake(s, DTLSGATE_NO_SOCKET, NULL, 0), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_remaining_timeout(s, &ms), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_handle_timeout(s, DTLSGATE_NO_SOCKET), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_abort_handshake(s), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_shutdown(s, DTLSGATE_NO_SOCKET), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_write_datagram_encrypted(s, DTLSGATE_NO_SOCKET, buf, 1),
             DTLSGATE_E_BAD_HANDLE);
    len = sizeof buf;
    CHECK_EQ(dtlsgate_session_decrypt_datagram(s, DTLSGATE_NO_SOCKET, buf, 1, buf, &len),
             DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_next_outgoing(s, buf, &len), DTLSGATE_E_BAD_HANDLE);
    size_t lens[2], count = 2;
    len = sizeof buf;
    CHECK_EQ(dtlsgate_session_handshake_step(s, NULL, 0, buf, &len, lens, &count),
             DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(count, 2);
    len = sizeof buf;
    CHECK_EQ(dtlsgate_session_encrypt(s, buf, 1, buf, &len), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_decrypt(s, buf, 1, buf, &len), DTLSGATE_E_BAD_HANDLE);
    dtlsgate_record_buffer one = {buf, 1, buf, sizeof buf, -99};
    CHECK_EQ(dtlsgate_session_encrypt_batch(s, &one, 1), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_decrypt_batch(s, &one, 1), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(one.status, -99);
    CHECK_EQ(dtlsgate_session_handshake_state(s), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_is_connection_encrypted(s), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_session_cipher(s, str, &len), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_session_protocol(s, str, &len), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_dtls_error(s), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_dtls_error_string(s, str, &len), DTLSGATE_E_BAD_HANDLE);
    int cid_len;
    CHECK_EQ(dtlsgate_session_set_connection_id_length(s, 8), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_connection_id_length(s, &cid_len), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_set_connection_id(s, buf, 4), DTLSGATE_E_BAD_HANDLE);
    len = sizeof buf;
    CHECK_EQ(dtlsgate_session_connection_id(s, buf, &len), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_peer_connection_id(s, buf, &len), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_move_peer(s, (struct sockaddr *)&a4, sizeof a4),
             DTLSGATE_E_BAD_HANDLE);
    dtlsgate_session_free(s); /* a no-op */
    check_context = "";
}

static void test_bad_handles(void)
{
    CHECK(dtlsgate_session_new(0) == NULL);
    CHECK(dtlsgate_session_new(3) == NULL);
    CHECK(dtlsgate_session_new(-1) == NULL);
    expect_bad_session(NULL, "NULL session");
    dtlsgate_session *s = dtlsgate_session_new(DTLSGATE_SSL_SERVER_MODE);
    dtlsgate_session_free(s);
    expect_bad_session(s, "freed session");
    dtlsgate_verifier *v = dtlsgate_verifier_new();
    expect_bad_session((dtlsgate_session *)v, "a verifier as a session");
    s = dtlsgate_session_new(DTLSGATE_SSL_SERVER_MODE);
    CHECK_EQ(dtlsgate_session_set_cookie_verifier(s, (dtlsgate_verifier *)s), DTLSGATE_E_BAD_HANDLE);
    CHECK_EQ(dtlsgate_session_set_cookie_verifier(s, NULL), DTLSGATE_E_BAD_HANDLE);
    /* The session keeps the verifier's generator after the verifier is gone. */
    CHECK_EQ(dtlsgate_session_set_cookie_verifier(s, v), 1);
    dtlsgate_verifier_free(v);
    int hash = -1;
    size_t len = 0;
    CHECK_EQ(dtlsgate_session_cookie_generator_parameters(s, &hash, NULL, &len),
             DTLSGATE_E_BUFFER_TOO_SMALL);
    CHECK_EQ(len, 32);
    dtlsgate_session_free(s);
    CHECK_STR(dtlsgate_strerror(DTLSGATE_E_BUSY), "session called from inside its own PSK callback");
}

static void test_bad_arguments(void)
{
    static uint8_t big[DTLSGATE_MAX_INPUT + 1];
    uint8_t buf[256];
    char str[256];
    size_t len;
    uint32_t ms;
    dtlsgate_session *s = dtlsgate_session_new(DTLSGATE_SSL_SERVER_MODE);

    CHECK_EQ(dtlsgate_session_ssl_mode(s), DTLSGATE_SSL_SERVER_MODE);
    /* Peers Qt refuses. */
    static const char *const bad_peers[] = {NULL, "", "999.1.1.1", "::g", "localhost", "0.0.0.0",
                                            "::", "255.255.255.255", "224.0.0.1", "ff02::1"};
    for (size_t i = 0; i < sizeof bad_peers / sizeof bad_peers[0]; i++) {
        check_context = bad_peers[i] ? bad_peers[i] : "NULL";
        CHECK_EQ(dtlsgate_session_set_peer(s, bad_peers[i], 5684), 0);
        CHECK_EQ(dtlsgate_session_dtls_error(s), DTLSGATE_INVALID_INPUT_PARAMETERS);
    }
    check_context = "";
    CHECK_EQ(dtlsgate_session_set_peer(s, "127.0.0.1", 0), 0);
    CHECK(error_is(s, DTLSGATE_INVALID_INPUT_PARAMETERS, "Invalid address"));
    CHECK_EQ(dtlsgate_session_set_peer(s, "224.0.0.1", 5684), 0);
    CHECK(error_is(s, DTLSGATE_INVALID_INPUT_PARAMETERS, "Multicast and broadcast"));
    CHECK_EQ(dtlsgate_session_set_peer_sockaddr(s, NULL, 0), 0);
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(5684)};
    CHECK_EQ(dtlsgate_session_set_peer_sockaddr(s, (struct sockaddr *)&a4, sizeof a4 - 1), 0);
    len = sizeof str;
    uint16_t port = 1;
    CHECK_EQ(dtlsgate_session_peer(s, str, &len, &port), DTLSGATE_OK);
    CHECK_STR(str, "");
    CHECK_EQ(port, 0);
    CHECK_EQ(dtlsgate_session_peer(s, str, NULL, &port), DTLSGATE_E_INVALID_ARGUMENT);

    {
        dtlsgate_session *z = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
        /* A zone is an interface name or a number: longer ones are refused, so
         * 64 bytes always hold the address. */
        CHECK_EQ(dtlsgate_session_set_peer(z, "fe80::1%a-zone-name-longer-than-any-interface", 9), 0);
        CHECK_EQ(dtlsgate_session_set_peer(z, "fe80:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295",
                                           65535),
                 1);
        len = 64;
        CHECK_EQ(dtlsgate_session_peer(z, str, &len, &port), DTLSGATE_OK);
        CHECK_STR(str, "fe80:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295");
        CHECK_EQ(port, 65535);
        dtlsgate_session_free(z);
    }
    /* Operations out of order. */
    CHECK_EQ(dtlsgate_session_do_handshake(s, DTLSGATE_NO_SOCKET, buf, 10), 0);
    CHECK(error_is(s, DTLSGATE_INVALID_OPERATION, "set peer's address and port first"));
    CHECK_EQ(dtlsgate_session_set_peer(s, "127.0.0.1", 5684), 1);
    CHECK_EQ(dtlsgate_session_do_handshake(s, DTLSGATE_NO_SOCKET, NULL, 0), 0);
    CHECK(error_is(s, DTLSGATE_INVALID_INPUT_PARAMETERS, "requires non-empty datagram"));
    memset(buf, 0x16, sizeof buf);
    CHECK_EQ(dtlsgate_session_do_handshake(s, DTLSGATE_NO_SOCKET, buf, sizeof buf), 0);
    CHECK(error_is(s, DTLSGATE_TLS_FATAL_ERROR, "verified client hello expected"));
    CHECK_EQ(dtlsgate_session_handshake_state(s), DTLSGATE_HANDSHAKE_NOT_STARTED);
    len = sizeof buf;
    CHECK_EQ(dtlsgate_session_next_outgoing(s, buf, &len), 0); /* nothing was sent */
    CHECK_EQ(dtlsgate_session_write_datagram_encrypted(s, DTLSGATE_NO_SOCKET, buf, 4), 0);
    CHECK(error_is(s, DTLSGATE_INVALID_OPERATION, "not in encrypted state"));
    len = sizeof buf;
    CHECK_EQ(dtlsgate_session_decrypt_datagram(s, DTLSGATE_NO_SOCKET, buf, 4, buf, &len), 0);
    CHECK(error_is(s, DTLSGATE_INVALID_OPERATION, "not in encrypted state"));
    CHECK_EQ(len, 0);
    CHECK_EQ(dtlsgate_session_shutdown(s, DTLSGATE_NO_SOCKET), 0);
    CHECK(error_is(s, DTLSGATE_INVALID_OPERATION, "not encrypted"));
    CHECK_EQ(dtlsgate_session_abort_handshake(s), 0);
    CHECK(error_is(s, DTLSGATE_INVALID_OPERATION, "nothing to abort"));
    CHECK_EQ(dtlsgate_session_handle_timeout(s, DTLSGATE_NO_SOCKET), 0);
    CHECK(error_is(s, DTLSGATE_INVALID_OPERATION, "no handshake in progress"));

    /* Settings out of range. */
    CHECK_EQ(dtlsgate_session_set_mtu_hint(s, 100), 0);
    CHECK(error_is(s, DTLSGATE_INVALID_INPUT_PARAMETERS, "MTU 100"));
    CHECK_EQ(dtlsgate_session_mtu_hint(s), 1400);
    CHECK_EQ(dtlsgate_session_set_mtu_hint(s, 0), 1);
    CHECK_EQ(dtlsgate_session_set_mtu_hint(s, 576), 1);
    CHECK_EQ(dtlsgate_session_mtu_hint(s), 576);
    CHECK_EQ(dtlsgate_session_set_ciphers(s, "PSK-AES128-CCM:RC4-MD5"), 0);
    CHECK(error_is(s, DTLSGATE_INVALID_INPUT_PARAMETERS, "\"RC4-MD5\""));
    CHECK_EQ(dtlsgate_session_set_ciphers(s, "TLS_PSK_WITH_AES_128_CCM"), 1);
    len = sizeof str;
    CHECK_EQ(dtlsgate_session_ciphers(s, str, &len), DTLSGATE_OK);
    CHECK_STR(str, "PSK-AES128-CCM");
    CHECK_EQ(dtlsgate_session_set_ciphers(s, ""), 1);
    len = sizeof str;
    CHECK_EQ(dtlsgate_session_ciphers(s, str, &len), DTLSGATE_OK);
    CHECK(strncmp(str, "PSK-AES128-GCM-SHA256:", 22) == 0);
    CHECK_EQ(dtlsgate_session_set_cookie_generator_parameters(s, 4, NULL, 0), 0);
    CHECK(error_is(s, DTLSGATE_INVALID_INPUT_PARAMETERS, "Invalid (empty) secret"));
    CHECK_EQ(dtlsgate_session_set_cookie_generator_parameters(s, 7, (const uint8_t *)"k", 1), 0);
    CHECK_EQ(dtlsgate_session_dtls_error(s), DTLSGATE_INVALID_INPUT_PARAMETERS);
    CHECK_EQ(dtlsgate_session_set_cookie_generator_parameters(s, 5, (const uint8_t *)"k", 1), 1);
    int hash = 0;
    len = sizeof buf;
    CHECK_EQ(dtlsgate_session_cookie_generator_parameters(s, &hash, buf, &len), DTLSGATE_OK);
    CHECK_EQ(hash, 5);
    CHECK_MEM(buf, len, "k", 1);

    /* Pointers and lengths the conventions refuse. */
    CHECK_EQ(dtlsgate_session_set_identity_hint(s, NULL, 3), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_session_set_identity_hint(s, big, sizeof big), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_session_set_cookie_generator_parameters(s, 4, NULL, 3),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_session_do_handshake(s, DTLSGATE_NO_SOCKET, NULL, 3),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_session_do_handshake(s, DTLSGATE_NO_SOCKET, big, sizeof big),
             DTLSGATE_E_INVALID_ARGUMENT);
    /* A socket that is not one, as Qt's null socket: false, not a status. */
    CHECK_EQ(dtlsgate_session_do_handshake(s, -7, buf, 10), 0);
    CHECK(error_is(s, DTLSGATE_INVALID_INPUT_PARAMETERS, "Invalid socket descriptor -7"));
    CHECK_EQ(dtlsgate_session_handle_timeout(s, -7), 0);
    CHECK(error_is(s, DTLSGATE_INVALID_INPUT_PARAMETERS, "Invalid socket descriptor"));
    CHECK_EQ(dtlsgate_session_shutdown(s, -7), 0);
    CHECK(error_is(s, DTLSGATE_INVALID_INPUT_PARAMETERS, "Invalid socket descriptor"));
    CHECK_EQ(dtlsgate_session_write_datagram_encrypted(s, -2, buf, 3), 0);
    CHECK(error_is(s, DTLSGATE_INVALID_INPUT_PARAMETERS, "Invalid socket descriptor"));
    len = sizeof buf;
    CHECK_EQ(dtlsgate_session_decrypt_datagram(s, INT32_MIN, buf, 3, buf, &len), 0);
    CHECK(error_is(s, DTLSGATE_INVALID_INPUT_PARAMETERS, "Invalid socket descriptor"));
    CHECK_EQ(len, 0);
    CHECK_EQ(dtlsgate_session_write_datagram_encrypted(s, DTLSGATE_NO_SOCKET, NULL, 3),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_session_remaining_timeout(s, NULL), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_session_next_outgoing(s, buf, NULL), DTLSGATE_E_INVALID_ARGUMENT);
    len = sizeof buf;
    CHECK_EQ(dtlsgate_session_decrypt_datagram(s, DTLSGATE_NO_SOCKET, NULL, 3, buf, &len),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_session_decrypt_datagram(s, DTLSGATE_NO_SOCKET, buf, 3, buf, NULL),
             DTLSGATE_E_INVALID_ARGUMENT);
    len = 3;
    CHECK_EQ(dtlsgate_session_decrypt_datagram(s, DTLSGATE_NO_SOCKET, buf, 3, NULL, &len),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_session_session_cipher(s, str, NULL), DTLSGATE_E_INVALID_ARGUMENT);
    len = 0;
    CHECK_EQ(dtlsgate_session_session_cipher(s, NULL, &len), DTLSGATE_E_BUFFER_TOO_SMALL);
    CHECK_EQ(len, 1); /* "" and its NUL */
    CHECK_EQ(dtlsgate_session_remaining_timeout(s, &ms), 0);
    dtlsgate_session_free(s);

    /* A client: starting twice, settings once started, a queue too big
     * for the buffer, and a socket that is not one. */
    s = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    CHECK_EQ(dtlsgate_session_set_peer(s, "::1", 5684), 1);
    CHECK_EQ(dtlsgate_session_do_handshake(s, DTLSGATE_NO_SOCKET, NULL, 0), 1);
    CHECK_EQ(dtlsgate_session_do_handshake(s, DTLSGATE_NO_SOCKET, NULL, 0), 0);
    CHECK(error_is(s, DTLSGATE_INVALID_INPUT_PARAMETERS, "non-empty datagram"));
    CHECK_EQ(dtlsgate_session_set_peer(s, "::1", 5685), 0);
    CHECK(error_is(s, DTLSGATE_INVALID_OPERATION, "after handshake started"));
    CHECK_EQ(dtlsgate_session_set_mtu_hint(s, 600), 0);
    CHECK_EQ(dtlsgate_session_dtls_error(s), DTLSGATE_INVALID_OPERATION);
    CHECK_EQ(dtlsgate_session_set_ciphers(s, "PSK-AES128-CCM"), 0);
    CHECK_EQ(dtlsgate_session_dtls_error(s), DTLSGATE_INVALID_OPERATION);
    len = 10;
    CHECK_EQ(dtlsgate_session_next_outgoing(s, buf, &len), DTLSGATE_E_BUFFER_TOO_SMALL);
    CHECK(len > 10);
    size_t need = len;
    len = sizeof buf;
    CHECK_EQ(dtlsgate_session_next_outgoing(s, buf, &len), 1); /* still queued */
    CHECK_EQ(len, need);
    CHECK_EQ(buf[0], 22); /* a handshake record */
    len = sizeof buf;
    CHECK_EQ(dtlsgate_session_next_outgoing(s, buf, &len), 0);
    CHECK_EQ(len, 0);
    int notsock = open("/dev/null", 0);
    sleep_ms(1010);
    CHECK_EQ(dtlsgate_session_handle_timeout(s, notsock), 0);
    CHECK_EQ(dtlsgate_session_dtls_error(s), DTLSGATE_UNDERLYING_SOCKET_ERROR);
    CHECK_STR(err_of(s), strerror(ENOTSOCK));
    close(notsock);
    CHECK_EQ(dtlsgate_session_handshake_state(s), DTLSGATE_HANDSHAKE_IN_PROGRESS);
    dtlsgate_session_free(s);
}

/* A callback that frees its own session: the running call finishes, the
 * handle is gone afterwards. */
static void free_self(void *user, dtlsgate_psk_authenticator *a)
{
    dtlsgate_session_free(user);
    dtlsgate_psk_authenticator_set_pre_shared_key(a, KEY, sizeof KEY);
}

static void test_free_inside_callback(void)
{
    dtlsgate_verifier *v = dtlsgate_verifier_new();
    dtlsgate_session *client = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    psk_seen ss = {.key = KEY, .key_len = sizeof KEY};
    CHECK_EQ(dtlsgate_session_set_psk_callback(client, free_self, client), DTLSGATE_OK);
    freed_by_callback = client;
    dtlsgate_session *server = handshake_in_memory(v, client, &ss, NULL, 0);
    CHECK_EQ(dtlsgate_session_handshake_state(client), DTLSGATE_E_BAD_HANDLE);
    dtlsgate_session_free(server);
    dtlsgate_verifier_free(v);
}

/* Review 6: with connection IDs a record carries the peer's ID and its real
 * type besides DTLSGATE_RECORD_OVERHEAD_MAX. dtlsgate_session_
 * write_datagram_encrypted() with a socket seals into a buffer of
 * DTLSGATE_MAX_RECORD_PLAINTEXT + DTLSGATE_RECORD_OVERHEAD_MAX bytes: a
 * full record did not fit, and the call returned 0 with no error set and
 * nothing sent. A peer chooses its ID, up to 255 bytes, so any peer could
 * make full writes fail silently; with a CBC suite even our own 16-byte
 * IDs did. */
static void test_review6_full_record_with_connection_id(const char *ciphers)
{
    check_context = "review 6: a full record with connection IDs through a socket";
    udp_t srv, cli;
    if (!CHECK(udp_open(AF_INET, "127.0.0.1", &srv) == 0) ||
        !CHECK(udp_open(AF_INET, "127.0.0.1", &cli) == 0))
        return;
    dtlsgate_verifier *v = dtlsgate_verifier_new();
    dtlsgate_session *client = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    psk_seen cs = {.key = KEY, .key_len = sizeof KEY}, ss = {.key = KEY, .key_len = sizeof KEY};
    CHECK_EQ(dtlsgate_session_set_psk_callback(client, on_psk, &cs), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_session_set_ciphers(client, ciphers), 1);
    CHECK_EQ(dtlsgate_session_set_connection_id_length(client, DTLSGATE_CONNECTION_ID_MAX), 1);
    server_cid_length = DTLSGATE_CONNECTION_ID_MAX;
    dtlsgate_session *server = handshake_in_memory(v, client, &ss, NULL, 0);
    server_cid_length = DTLSGATE_NO_CONNECTION_ID;
    if (!CHECK(server != NULL) || !CHECK_EQ(dtlsgate_session_is_connection_encrypted(server), 1))
        goto out;
    /* A fresh record lets the server follow the client to its socket. */
    uint8_t rec[128], small[128];
    size_t n = sizeof rec, sn = sizeof small;
    CHECK_EQ(dtlsgate_session_encrypt(client, (const uint8_t *)"here", 4, rec, &n), 1);
    CHECK_EQ(dtlsgate_session_decrypt_datagram(server, DTLSGATE_NO_SOCKET, rec, n, small, &sn), 1);
    CHECK_EQ(dtlsgate_session_move_peer(server, (const struct sockaddr *)&cli.addr, cli.len), 1);

    static uint8_t full[DTLSGATE_MAX_RECORD_PLAINTEXT], buf[DTLSGATE_MAX_DATAGRAM],
        plain[DTLSGATE_MAX_DATAGRAM];
    fill(full, sizeof full, 6);
    CHECK_EQ(dtlsgate_session_write_datagram_encrypted(server, srv.fd, full, sizeof full),
             (long long)sizeof full);
    CHECK_EQ(dtlsgate_session_dtls_error(server), DTLSGATE_NO_ERROR);
    long got = recv_within(cli.fd, buf, sizeof buf, 3000, NULL, NULL);
    size_t pn = sizeof plain;
    if (CHECK(got > 0)) {
        CHECK_EQ(dtlsgate_session_decrypt(client, buf, (size_t)got, plain, &pn), 1);
        CHECK_MEM(plain, pn, full, sizeof full);
    }
out:
    dtlsgate_session_free(server);
    dtlsgate_session_free(client);
    dtlsgate_verifier_free(v);
    close(srv.fd);
    close(cli.fd);
    check_context = "";
}

int main(void)
{
    test_in_memory(NULL, "PSK-AES128-GCM-SHA256");
    test_in_memory("PSK-AES128-CCM8", "PSK-AES128-CCM8");
    test_in_memory("ECDHE-PSK-AES128-CBC-SHA256:PSK-AES128-GCM-SHA256",
                   "ECDHE-PSK-AES128-CBC-SHA256");
    test_handshake_step();
    test_records("PSK-AES128-GCM-SHA256");
    test_records("PSK-AES256-GCM-SHA384");
    test_records("PSK-CHACHA20-POLY1305");
    test_records("PSK-AES128-CCM8");
    test_records("PSK-AES128-CBC-SHA256");
    test_wrong_key();
    test_cbc_forgeries("PSK-AES128-CBC-SHA256");
    test_cbc_forgeries("ECDHE-PSK-AES128-CBC-SHA256");
    test_key_not_left_in_memory("PSK-AES128-GCM-SHA256", 0);
    test_key_not_left_in_memory("ECDHE-PSK-AES128-CBC-SHA256", 0);
    test_key_not_left_in_memory("PSK-AES128-GCM-SHA256", 1);
    test_key_not_left_in_memory("ECDHE-PSK-AES128-CBC-SHA256", 1);
    test_key_not_left_in_memory("PSK-AES128-GCM-SHA256", 2);
    test_sockets(AF_INET);
    test_sockets(AF_INET6);
    test_retransmission();
    test_handshake_limits();
    test_handshake_deadline();
    test_connection_ids();
    test_bad_handles();
    test_bad_arguments();
    test_free_inside_callback();
    test_review6_full_record_with_connection_id("PSK-AES128-GCM-SHA256");
    test_review6_full_record_with_connection_id("PSK-AES128-CBC-SHA256");
    return check_report();
}
