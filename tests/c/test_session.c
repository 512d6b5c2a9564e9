/*
 * test_session.c - the session part of the C API: complete PSK handshakes
 * between two sessions with the verifier in front, without sockets (the
 * caller moves the datagrams) and over real loopback UDP sockets; the
 * PSK callback, data both ways, shutdown, timeouts, and bad input.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
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
    dtlsgate_psk_authenticator_set_pre_shared_key(a, seen->key, seen->key_len);
}

static const char *err_of(const dtlsgate_session *s)
{
    static char buf[512];
    size_t n = sizeof buf;
    if (dtlsgate_session_dtls_error_string(s, buf, &n) != DTLSGATE_OK)
        snprintf(buf, sizeof buf, "(no message)");
    return buf;
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

/* Takes the next datagram s queued; 0 when there is none. */
static int take(dtlsgate_session *s, dgram_t *d)
{
    d->len = sizeof d->data;
    int r = dtlsgate_session_next_outgoing(s, d->data, &d->len);
    CHECK(r == 0 || r == 1);
    return r == 1;
}

static const char CLIENT_IP[] = "192.0.2.7";
static const uint16_t CLIENT_PORT = 40001;

/* Runs the verifier and a server session against a client session until
 * both complete or one fails; returns the server session (NULL on
 * failure to start). */
static dtlsgate_session *handshake_in_memory(dtlsgate_verifier *v, dtlsgate_session *client,
                                             psk_seen *server_seen, const char *server_ciphers)
{
    dgram_t d;
    uint8_t reply[DTLSGATE_HELLO_VERIFY_REQUEST_MAX];
    dtlsgate_session *server = NULL;

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

    dtlsgate_session *server = handshake_in_memory(v, client, &ss, ciphers);
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

    /* Shutdown: close_notify reaches the peer, which reports it. */
    CHECK_EQ(dtlsgate_session_shutdown(client, DTLSGATE_NO_SOCKET), 1);
    CHECK_EQ(dtlsgate_session_is_connection_encrypted(client), 0);
    dgram_t d;
    if (CHECK(take(client, &d))) {
        uint8_t out[64];
        size_t n = sizeof out;
        CHECK_EQ(dtlsgate_session_decrypt_datagram(server, DTLSGATE_NO_SOCKET, d.data, d.len, out,
                                                   &n),
                 0);
        CHECK_EQ(n, 0);
        CHECK_EQ(dtlsgate_session_dtls_error(server), DTLSGATE_REMOTE_CLOSED_CONNECTION_ERROR);
        CHECK_EQ(dtlsgate_session_is_connection_encrypted(server), 0);
    }
out:
    dtlsgate_session_free(server);
    dtlsgate_session_free(client);
    dtlsgate_verifier_free(v);
    check_context = "";
}

static void test_wrong_key(void)
{
    static const uint8_t other[] = {9, 9, 9, 9};
    dtlsgate_verifier *v = dtlsgate_verifier_new();
    dtlsgate_session *client = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    psk_seen cs = {.key = other, .key_len = sizeof other}, ss = {.key = KEY, .key_len = sizeof KEY};
    dtlsgate_session_set_psk_callback(client, on_psk, &cs);
    dtlsgate_session *server = handshake_in_memory(v, client, &ss, NULL);
    if (CHECK(server != NULL)) {
        CHECK_EQ(dtlsgate_session_handshake_state(server), DTLSGATE_HANDSHAKE_NOT_STARTED);
        CHECK_EQ(dtlsgate_session_dtls_error(server), DTLSGATE_TLS_FATAL_ERROR);
        CHECK(strstr(err_of(server), "keys differ") != NULL);
    }
    dtlsgate_session_free(server);
    dtlsgate_session_free(client);

    /* A client whose callback sets no key fails at once. */
    client = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    psk_seen none = {.key = NULL, .key_len = 0};
    ss.calls = 0;
    dtlsgate_session_set_psk_callback(client, on_psk, &none);
    server = handshake_in_memory(v, client, &ss, NULL);
    CHECK_EQ(none.calls, 1);
    CHECK_EQ(dtlsgate_session_handshake_state(client), DTLSGATE_HANDSHAKE_NOT_STARTED);
    CHECK_EQ(dtlsgate_session_dtls_error(client), DTLSGATE_TLS_FATAL_ERROR);
    dtlsgate_session_free(server);
    dtlsgate_session_free(client);
    dtlsgate_verifier_free(v);
}

int main(void)
{
    test_in_memory(NULL, "PSK-AES128-GCM-SHA256");
    test_in_memory("PSK-AES128-CCM8", "PSK-AES128-CCM8");
    test_in_memory("ECDHE-PSK-AES128-CBC-SHA256:PSK-AES128-GCM-SHA256",
                   "ECDHE-PSK-AES128-CBC-SHA256");
    test_wrong_key();
    return check_report();
}
