/* SPDX-License-Identifier: MIT */
/*
 * test_server.c - the server endpoint of the C API: socket-less, with the
 * session API's client as the peer and the test moving the datagrams
 * (handshake, events, data both ways, close, shutdown, timers, the key
 * table and file, a PSK callback that answers at once or later, key
 * requests as events), the size-versioned config and stats, bad
 * arguments; then managed, on loopback, with a client over a real UDP
 * socket and the server's events taken through its eventfd and poll(2).
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "keyscan.h"
#include "udp.h"
#include "dtlsgate.h"

static const uint8_t KEY[] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};

typedef struct {
    uint8_t data[DTLSGATE_MAX_DATAGRAM];
    size_t len;
} dgram_t;

/* A client's PSK callback: the identity and key in user. */
typedef struct {
    const char *identity;
    const uint8_t *key;
    size_t key_len;
} client_psk;

static void on_client_psk(void *user, dtlsgate_psk_authenticator *a)
{
    client_psk *c = user;
    dtlsgate_psk_authenticator_set_identity(a, (const uint8_t *)c->identity, strlen(c->identity));
    dtlsgate_psk_authenticator_set_pre_shared_key(a, c->key, c->key_len);
}

/* A socket-less client session of identity, with key, that the server sees
 * at 192.0.2.7:port (*from). */
typedef struct {
    dtlsgate_session *s;
    client_psk psk;
    struct sockaddr_in from;
    char got[256]; /* the last plaintext it decrypted */
    int closed;    /* it heard close_notify */
    int failed;    /* its handshake failed */
    int mute;      /* a squatter: it takes nothing from the server any more */
} client_t;

/* The same, the server seeing it at ip:port. */
static void client_start_at(client_t *c, const char *identity, const uint8_t *key, size_t key_len,
                            const char *ip, uint16_t port)
{
    memset(c, 0, sizeof *c);
    c->psk = (client_psk){identity, key, key_len};
    c->s = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    dtlsgate_session_set_psk_callback(c->s, on_client_psk, &c->psk);
    CHECK_EQ(dtlsgate_session_set_peer(c->s, "192.0.2.1", 5684), 1);
    c->from.sin_family = AF_INET;
    c->from.sin_port = htons(port);
    CHECK_EQ(inet_pton(AF_INET, ip, &c->from.sin_addr), 1);
    CHECK_EQ(dtlsgate_session_do_handshake(c->s, DTLSGATE_NO_SOCKET, NULL, 0), 1);
}

static void client_start(client_t *c, const char *identity, const uint8_t *key, size_t key_len,
                         uint16_t port)
{
    client_start_at(c, identity, key, key_len, "192.0.2.7", port);
}

static const struct sockaddr *sa_of(const client_t *c) { return (const struct sockaddr *)&c->from; }

/* The client takes one datagram from the server. */
static void client_take(client_t *c, const uint8_t *d, size_t n)
{
    if (c->mute)
        return;
    if (dtlsgate_session_handshake_state(c->s) == DTLSGATE_HANDSHAKE_IN_PROGRESS) {
        if (!dtlsgate_session_do_handshake(c->s, DTLSGATE_NO_SOCKET, d, n))
            c->failed = 1;
        return;
    }
    size_t pn = sizeof c->got - 1;
    int r = dtlsgate_session_decrypt_datagram(c->s, DTLSGATE_NO_SOCKET, d, n, (uint8_t *)c->got, &pn);
    if (r == 1 && pn > 0)
        c->got[pn] = 0;
    if (dtlsgate_session_dtls_error(c->s) == DTLSGATE_REMOTE_CLOSED_CONNECTION_ERROR)
        c->closed = 1;
}

/* Moves datagrams between the server and the clients until none is left;
 * returns how many moved. */
static int shuttle(dtlsgate_server *srv, client_t **cs, int n)
{
    static dgram_t d;
    int total = 0;
    for (int moved = 1, rounds = 0; moved && rounds < 30; rounds++) {
        moved = 0;
        for (int i = 0; i < n; i++) {
            d.len = sizeof d.data;
            while (dtlsgate_session_next_outgoing(cs[i]->s, d.data, &d.len) == 1) {
                CHECK_EQ(dtlsgate_server_input(srv, sa_of(cs[i]), sizeof cs[i]->from, d.data, d.len),
                         DTLSGATE_OK);
                moved++;
                d.len = sizeof d.data;
            }
        }
        struct sockaddr_storage to;
        socklen_t to_len;
        d.len = sizeof d.data;
        while (dtlsgate_server_next_outgoing(srv, d.data, &d.len, &to, &to_len) == 1) {
            moved++;
            int found = 0;
            for (int i = 0; i < n; i++)
                if (to_len == sizeof cs[i]->from && memcmp(&to, &cs[i]->from, to_len) == 0) {
                    client_take(cs[i], d.data, d.len);
                    found = 1;
                }
            CHECK(found); /* every datagram goes to a client's address */
            d.len = sizeof d.data;
        }
        total += moved;
    }
    return total;
}

static int shuttle1(dtlsgate_server *srv, client_t *c) { return shuttle(srv, &c, 1); }

/* 1 if fd is readable now. */
static int readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static int same_peer(const dtlsgate_server_event *e, const client_t *c)
{
    return e->peer_len == sizeof c->from && memcmp(&e->peer, &c->from, sizeof c->from) == 0;
}

/* Takes exactly one event, of type want, from c. */
static int one_event(dtlsgate_server *srv, int want, const client_t *c, dtlsgate_server_event *e)
{
    dtlsgate_server_event evs[4];
    int n = dtlsgate_server_poll(srv, evs, 4, 0);
    if (!CHECK_EQ(n, 1))
        return 0;
    *e = evs[0];
    return CHECK_EQ(e->type, want) && CHECK(c == NULL || same_peer(e, c));
}

/* A config with every default, as a program starts one. */
static dtlsgate_server_config defaults(void)
{
    dtlsgate_server_config cfg = {.size = sizeof cfg};
    CHECK_EQ(dtlsgate_server_config_init(&cfg), DTLSGATE_OK);
    return cfg;
}

static dtlsgate_server *new_server(dtlsgate_server_config *cfg)
{
    dtlsgate_server *srv = NULL;
    CHECK_EQ(dtlsgate_server_new(cfg, &srv), DTLSGATE_OK);
    CHECK(srv != NULL);
    return srv;
}

static void test_socketless(void)
{
    check_context = "socket-less";
    dtlsgate_server_config cfg = defaults();
    cfg.identity_hint = (const uint8_t *)"hint";
    cfg.identity_hint_len = 4;
    dtlsgate_server *srv = new_server(&cfg);
    CHECK_EQ(dtlsgate_server_set_psk(srv, (const uint8_t *)"alice", 5, KEY, sizeof KEY), DTLSGATE_OK);
    int fd = dtlsgate_server_fd(srv);
    CHECK(fd >= 0);
    CHECK(!readable(fd));

    client_t alice;
    client_start(&alice, "alice", KEY, sizeof KEY, 40001);
    /* The first hello gets a cookie, and nothing is kept. */
    static dgram_t d;
    d.len = sizeof d.data;
    CHECK_EQ(dtlsgate_session_next_outgoing(alice.s, d.data, &d.len), 1);
    CHECK_EQ(dtlsgate_server_input(srv, sa_of(&alice), sizeof alice.from, d.data, d.len), DTLSGATE_OK);
    dtlsgate_server_stats st = {.size = sizeof st};
    CHECK_EQ(dtlsgate_server_get_stats(srv, &st), DTLSGATE_OK);
    CHECK_EQ(st.hello_verifies, 1);
    CHECK_EQ(st.sessions, 0);
    CHECK(shuttle1(srv, &alice) > 0);
    CHECK_EQ(dtlsgate_session_is_connection_encrypted(alice.s), 1);

    /* Connected: the eventfd says so until the event is taken. */
    CHECK(readable(fd));
    dtlsgate_server_event e;
    if (one_event(srv, DTLSGATE_SERVER_EVENT_CONNECTED, &alice, &e)) {
        CHECK_MEM(e.identity, e.identity_len, "alice", 5);
        char cipher[64];
        size_t cn = sizeof cipher;
        dtlsgate_session_session_cipher(alice.s, cipher, &cn);
        CHECK(e.cipher != NULL && cipher[0] != 0);
        CHECK_STR(e.cipher, cipher);
        CHECK(e.data == NULL && e.data_len == 0);
    }
    CHECK(!readable(fd));
    CHECK_EQ(dtlsgate_server_poll(srv, &e, 1, 0), 0);
    /* Waiting with nothing to come ends at the timeout. */
    CHECK_EQ(dtlsgate_server_poll(srv, &e, 1, 20), 0);
    CHECK_EQ(dtlsgate_server_get_stats(srv, &st), DTLSGATE_OK);
    CHECK_EQ(st.handshakes_completed, 1);
    CHECK_EQ(st.sessions, 1);
    CHECK_EQ(st.half_open, 0);

    /* Data both ways. */
    CHECK_EQ(dtlsgate_session_write_datagram_encrypted(alice.s, DTLSGATE_NO_SOCKET,
                                                       (const uint8_t *)"ping", 4), 4);
    shuttle1(srv, &alice);
    if (one_event(srv, DTLSGATE_SERVER_EVENT_DATA, &alice, &e))
        CHECK_MEM(e.data, e.data_len, "ping", 4);
    CHECK_EQ(dtlsgate_server_send(srv, sa_of(&alice), sizeof alice.from, (const uint8_t *)"pong", 4),
             DTLSGATE_OK);
    shuttle1(srv, &alice);
    CHECK_STR(alice.got, "pong");

    /* Several events at once, taken in order, max at a time. */
    for (int i = 0; i < 3; i++) {
        char msg[8];
        snprintf(msg, sizeof msg, "m%d", i);
        dtlsgate_session_write_datagram_encrypted(alice.s, DTLSGATE_NO_SOCKET, (const uint8_t *)msg, 2);
    }
    shuttle1(srv, &alice);
    dtlsgate_server_event evs[8];
    CHECK_EQ(dtlsgate_server_poll(srv, evs, 2, 0), 2);
    CHECK_MEM(evs[0].data, evs[0].data_len, "m0", 2);
    CHECK_MEM(evs[1].data, evs[1].data_len, "m1", 2);
    CHECK(readable(fd));
    CHECK_EQ(dtlsgate_server_poll(srv, evs, 8, -1), 1);
    CHECK_MEM(evs[0].data, evs[0].data_len, "m2", 2);

    /* Who is not connected cannot be sent to or closed. */
    client_t nobody;
    client_start(&nobody, "nobody", KEY, sizeof KEY, 40009);
    CHECK_EQ(dtlsgate_server_send(srv, sa_of(&nobody), sizeof nobody.from, (const uint8_t *)"x", 1),
             DTLSGATE_E_NOT_FOUND);
    CHECK_EQ(dtlsgate_server_close(srv, sa_of(&nobody), sizeof nobody.from), DTLSGATE_E_NOT_FOUND);
    dtlsgate_session_free(nobody.s);
    static uint8_t big[16385];
    CHECK_EQ(dtlsgate_server_send(srv, sa_of(&alice), sizeof alice.from, big, sizeof big),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_send(srv, sa_of(&alice), sizeof alice.from, big, 0),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_send(srv, sa_of(&alice), sizeof alice.from, big, 16384), DTLSGATE_OK);
    shuttle1(srv, &alice);

    /* The application closes: close_notify, and a Closed event. */
    CHECK_EQ(dtlsgate_server_close(srv, sa_of(&alice), sizeof alice.from), DTLSGATE_OK);
    shuttle1(srv, &alice);
    CHECK(alice.closed);
    if (one_event(srv, DTLSGATE_SERVER_EVENT_CLOSED, &alice, &e)) {
        CHECK_EQ(e.reason, DTLSGATE_SERVER_CLOSED_BY_APP);
        CHECK(e.message != NULL);
    }
    CHECK_EQ(dtlsgate_server_close(srv, sa_of(&alice), sizeof alice.from), DTLSGATE_E_NOT_FOUND);
    dtlsgate_session_free(alice.s);

    /* Two clients; shutdown tells both. */
    client_t a, b;
    client_start(&a, "alice", KEY, sizeof KEY, 40002);
    client_start(&b, "alice", KEY, sizeof KEY, 40003);
    client_t *both[] = {&a, &b};
    shuttle(srv, both, 2);
    CHECK_EQ(dtlsgate_server_poll(srv, evs, 8, 0), 2);
    CHECK_EQ(evs[0].type, DTLSGATE_SERVER_EVENT_CONNECTED);
    CHECK_EQ(evs[1].type, DTLSGATE_SERVER_EVENT_CONNECTED);
    CHECK_EQ(dtlsgate_server_shutdown(srv), DTLSGATE_OK);
    shuttle(srv, both, 2);
    CHECK(a.closed && b.closed);
    CHECK_EQ(dtlsgate_server_poll(srv, evs, 8, 0), 2);
    CHECK(evs[0].type == DTLSGATE_SERVER_EVENT_CLOSED && evs[0].reason == DTLSGATE_SERVER_CLOSED_SHUTDOWN);
    CHECK(evs[1].type == DTLSGATE_SERVER_EVENT_CLOSED && evs[1].reason == DTLSGATE_SERVER_CLOSED_SHUTDOWN);
    CHECK_EQ(dtlsgate_server_get_stats(srv, &st), DTLSGATE_OK);
    CHECK_EQ(st.sessions, 0);
    CHECK_EQ(st.handshakes_completed, 3);

    /* A key the table does not hold, and one that was removed. */
    CHECK_EQ(dtlsgate_server_remove_psk(srv, (const uint8_t *)"alice", 5), 1);
    CHECK_EQ(dtlsgate_server_remove_psk(srv, (const uint8_t *)"alice", 5), 0);
    client_start(&a, "alice", KEY, sizeof KEY, 40004);
    shuttle1(srv, &a);
    CHECK(a.failed);
    CHECK_EQ(dtlsgate_session_is_connection_encrypted(a.s), 0);
    CHECK_EQ(dtlsgate_server_poll(srv, evs, 8, 0), 0); /* never connected, never reported */
    dtlsgate_session_free(a.s);
    dtlsgate_session_free(b.s);
    dtlsgate_server_free(srv);
    check_context = "";
}

/* The handshake deadline ends a handshake the client abandons. */
static void test_timers(void)
{
    check_context = "timers";
    dtlsgate_server_config cfg = defaults();
    cfg.handshake_deadline_ms = 50;
    dtlsgate_server *srv = new_server(&cfg);
    dtlsgate_server_set_psk(srv, (const uint8_t *)"alice", 5, KEY, sizeof KEY);
    uint32_t ms = 99;
    CHECK_EQ(dtlsgate_server_next_timeout(srv, &ms), 0);
    CHECK_EQ(ms, 0);

    client_t c;
    client_start(&c, "alice", KEY, sizeof KEY, 40010);
    static dgram_t d;
    /* Hello, cookie, hello with the cookie: the server answers and waits. */
    for (int i = 0; i < 2; i++) {
        d.len = sizeof d.data;
        CHECK_EQ(dtlsgate_session_next_outgoing(c.s, d.data, &d.len), 1);
        dtlsgate_server_input(srv, sa_of(&c), sizeof c.from, d.data, d.len);
        struct sockaddr_storage to;
        socklen_t tl;
        d.len = sizeof d.data;
        CHECK_EQ(dtlsgate_server_next_outgoing(srv, d.data, &d.len, &to, &tl), 1);
        if (i == 0)
            dtlsgate_session_do_handshake(c.s, DTLSGATE_NO_SOCKET, d.data, d.len);
        while (dtlsgate_server_next_outgoing(srv, d.data, &d.len, &to, &tl) == 1)
            d.len = sizeof d.data;
    }
    dtlsgate_server_stats st = {.size = sizeof st};
    dtlsgate_server_get_stats(srv, &st);
    CHECK_EQ(st.half_open, 1);
    CHECK_EQ(dtlsgate_server_next_timeout(srv, &ms), 1);
    CHECK(ms <= 50);
    struct timespec ts = {0, 60 * 1000000L};
    nanosleep(&ts, NULL);
    CHECK_EQ(dtlsgate_server_next_timeout(srv, &ms), 1);
    CHECK_EQ(ms, 0);
    CHECK_EQ(dtlsgate_server_handle_timers(srv), DTLSGATE_OK);
    dtlsgate_server_get_stats(srv, &st);
    CHECK_EQ(st.half_open, 0);
    CHECK_EQ(st.sessions, 0);
    CHECK_EQ(st.handshake_timeouts, 1);
    CHECK_EQ(dtlsgate_server_next_timeout(srv, &ms), 0);
    dtlsgate_session_free(c.s);
    dtlsgate_server_free(srv);
    check_context = "";
}

/* A PSK callback: bob waits for a later answer, carol is known at once,
 * anyone else is refused. It also tries a call on its own server. */
typedef struct {
    dtlsgate_server *srv;
    int calls;
    int reentry;
    char identity[64];
    struct sockaddr_storage peer;
    socklen_t peer_len;
} lookup_seen;

static int lookup(void *user, const struct sockaddr *peer, socklen_t peer_len,
                  const uint8_t *identity, size_t identity_len, uint8_t *key, size_t *key_len)
{
    lookup_seen *seen = user;
    seen->calls++;
    snprintf(seen->identity, sizeof seen->identity, "%.*s", (int)identity_len, identity);
    memcpy(&seen->peer, peer, peer_len);
    seen->peer_len = peer_len;
    seen->reentry = dtlsgate_server_set_psk(seen->srv, (const uint8_t *)"x", 1, KEY, 1);
    if (strcmp(seen->identity, "bob") == 0)
        return DTLSGATE_PSK_PENDING;
    if (strcmp(seen->identity, "carol") == 0 && *key_len >= sizeof KEY) {
        memcpy(key, KEY, sizeof KEY);
        *key_len = sizeof KEY;
        return DTLSGATE_PSK_FOUND;
    }
    return DTLSGATE_PSK_REFUSE;
}

static void test_psk_callback(void)
{
    check_context = "PSK callback";
    lookup_seen seen;
    memset(&seen, 0, sizeof seen);
    dtlsgate_server_config cfg = defaults();
    cfg.psk_callback = lookup;
    cfg.psk_user_data = &seen;
    dtlsgate_server *srv = new_server(&cfg);
    seen.srv = srv;
    dtlsgate_server_event e;

    client_t carol, bob, dave;
    client_start(&carol, "carol", KEY, sizeof KEY, 40020);
    shuttle1(srv, &carol);
    CHECK_EQ(seen.calls, 1);
    CHECK_EQ(seen.reentry, DTLSGATE_E_BUSY);
    CHECK_STR(seen.identity, "carol");
    CHECK(seen.peer_len == sizeof carol.from && memcmp(&seen.peer, &carol.from, sizeof carol.from) == 0);
    CHECK_EQ(dtlsgate_session_is_connection_encrypted(carol.s), 1);
    if (one_event(srv, DTLSGATE_SERVER_EVENT_CONNECTED, &carol, &e))
        CHECK_MEM(e.identity, e.identity_len, "carol", 5);

    /* bob waits: the handshake stalls until the answer comes. */
    client_start(&bob, "bob", KEY, sizeof KEY, 40021);
    shuttle1(srv, &bob);
    CHECK_STR(seen.identity, "bob");
    CHECK_EQ(dtlsgate_session_handshake_state(bob.s), DTLSGATE_HANDSHAKE_IN_PROGRESS);
    CHECK_EQ(dtlsgate_server_poll(srv, &e, 1, 0), 0);
    /* Answers for requests that do not exist. */
    CHECK_EQ(dtlsgate_server_resolve_psk(srv, sa_of(&bob), sizeof bob.from, (const uint8_t *)"bobby", 5,
                                         KEY, sizeof KEY),
             DTLSGATE_E_NOT_FOUND);
    CHECK_EQ(dtlsgate_server_resolve_psk(srv, sa_of(&carol), sizeof carol.from, (const uint8_t *)"bob", 3,
                                         KEY, sizeof KEY),
             DTLSGATE_E_NOT_FOUND);
    CHECK_EQ(dtlsgate_server_resolve_psk(srv, sa_of(&bob), sizeof bob.from, (const uint8_t *)"bob", 3,
                                         KEY, sizeof KEY),
             DTLSGATE_OK);
    shuttle1(srv, &bob);
    CHECK_EQ(dtlsgate_session_is_connection_encrypted(bob.s), 1);
    one_event(srv, DTLSGATE_SERVER_EVENT_CONNECTED, &bob, &e);
    CHECK_EQ(dtlsgate_server_resolve_psk(srv, sa_of(&bob), sizeof bob.from, (const uint8_t *)"bob", 3,
                                         KEY, sizeof KEY),
             DTLSGATE_E_NOT_FOUND);

    /* dave is refused: the handshake fails on both sides. */
    client_start(&dave, "dave", KEY, sizeof KEY, 40022);
    shuttle1(srv, &dave);
    CHECK(dave.failed);
    CHECK_EQ(dtlsgate_server_poll(srv, &e, 1, 0), 0);
    dtlsgate_server_stats st = {.size = sizeof st};
    dtlsgate_server_get_stats(srv, &st);
    CHECK_EQ(st.handshakes_failed, 1);

    /* A pending request refused later. */
    dtlsgate_session_free(bob.s);
    client_start(&bob, "bob", KEY, sizeof KEY, 40023);
    shuttle1(srv, &bob);
    CHECK_EQ(dtlsgate_server_refuse_psk(srv, sa_of(&bob), sizeof bob.from, (const uint8_t *)"bob", 3),
             DTLSGATE_OK);
    shuttle1(srv, &bob);
    CHECK(bob.failed);
    /* A managed server cannot call back on the application's thread. */
    CHECK_EQ(dtlsgate_server_listen(srv, "127.0.0.1:0"), DTLSGATE_E_INVALID_ARGUMENT);

    dtlsgate_session_free(carol.s);
    dtlsgate_session_free(bob.s);
    dtlsgate_session_free(dave.s);
    dtlsgate_server_free(srv);
    check_context = "";
}

/* Without a callback, psk_requests asks with events. */
static void test_psk_requests(void)
{
    check_context = "PSK requests";
    dtlsgate_server_config cfg = defaults();
    cfg.psk_requests = 1;
    dtlsgate_server *srv = new_server(&cfg);
    dtlsgate_server_event e;
    client_t c, d;
    client_start(&c, "erin", KEY, sizeof KEY, 40030);
    client_start(&d, "frank", KEY, sizeof KEY, 40031);
    shuttle1(srv, &c);
    if (one_event(srv, DTLSGATE_SERVER_EVENT_PSK_REQUEST, &c, &e)) {
        CHECK_MEM(e.identity, e.identity_len, "erin", 4);
        CHECK_EQ(dtlsgate_server_resolve_psk(srv, (const struct sockaddr *)&e.peer, e.peer_len, e.identity,
                                             e.identity_len, KEY, sizeof KEY),
                 DTLSGATE_OK);
    }
    shuttle1(srv, &c);
    CHECK_EQ(dtlsgate_session_is_connection_encrypted(c.s), 1);
    one_event(srv, DTLSGATE_SERVER_EVENT_CONNECTED, &c, &e);

    shuttle1(srv, &d);
    if (one_event(srv, DTLSGATE_SERVER_EVENT_PSK_REQUEST, &d, &e))
        CHECK_EQ(dtlsgate_server_refuse_psk(srv, (const struct sockaddr *)&e.peer, e.peer_len, e.identity,
                                            e.identity_len),
                 DTLSGATE_OK);
    shuttle1(srv, &d);
    CHECK(d.failed);
    dtlsgate_session_free(c.s);
    dtlsgate_session_free(d.s);
    dtlsgate_server_free(srv);
    check_context = "";
}

/* The key table: its arguments, and a file of identity:hexkey lines. */
static void test_key_table(void)
{
    check_context = "key table";
    dtlsgate_server *srv = new_server(NULL);
    uint8_t long_key[DTLSGATE_PSK_MAX_KEY + 1] = {1};
    CHECK_EQ(dtlsgate_server_set_psk(srv, NULL, 0, KEY, sizeof KEY), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_set_psk(srv, (const uint8_t *)"a", 1, KEY, 0), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_set_psk(srv, (const uint8_t *)"a", 1, NULL, 4), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_set_psk(srv, (const uint8_t *)"a", 1, long_key, sizeof long_key),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_set_psk(srv, (const uint8_t *)"a", 1, long_key, sizeof long_key - 1), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_server_remove_psk(srv, NULL, 3), DTLSGATE_E_INVALID_ARGUMENT);

    char path[] = "/tmp/dtlsgate-test-keys-XXXXXX";
    int fd = mkstemp(path);
    if (!CHECK(fd >= 0))
        return;
    static const char good[] = "grace:1122334455667788\nheidi:00ff\n";
    CHECK_EQ(write(fd, good, strlen(good)), (long long)strlen(good));
    close(fd);
    CHECK_EQ(dtlsgate_server_load_psk_file(srv, path), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_server_remove_psk(srv, (const uint8_t *)"a", 1), 0); /* replaced */
    client_t c;
    client_start(&c, "grace", KEY, sizeof KEY, 40040);
    shuttle1(srv, &c);
    CHECK_EQ(dtlsgate_session_is_connection_encrypted(c.s), 1);
    dtlsgate_session_free(c.s);

    /* A bad line leaves the table as it was. */
    FILE *f = fopen(path, "w");
    fputs("ivan:1122\njudy:not hex\n", f);
    fclose(f);
    CHECK_EQ(dtlsgate_server_load_psk_file(srv, path), DTLSGATE_E_INVALID_ARGUMENT);
    /* The detail names the file and the line. */
    char where[64];
    snprintf(where, sizeof where, "%s:2", path);
    if (!CHECK(strstr(dtlsgate_last_error_message(), where) != NULL))
        fprintf(stderr, "    last error: %s\n", dtlsgate_last_error_message());
    CHECK_EQ(dtlsgate_server_remove_psk(srv, (const uint8_t *)"ivan", 4), 0);
    CHECK_EQ(dtlsgate_server_remove_psk(srv, (const uint8_t *)"heidi", 5), 1);
    unlink(path);
    CHECK_EQ(dtlsgate_server_load_psk_file(srv, path), DTLSGATE_E_IO);
    CHECK_EQ(dtlsgate_server_load_psk_file(srv, NULL), DTLSGATE_E_INVALID_ARGUMENT);
    dtlsgate_server_free(srv);
    check_context = "";
}

/* The config is versioned by its size. */
static void test_config(void)
{
    check_context = "config";
    dtlsgate_server_config cfg;
    memset(&cfg, 0xa5, sizeof cfg);
    cfg.size = sizeof cfg;
    CHECK_EQ(dtlsgate_server_config_init(&cfg), DTLSGATE_OK);
    CHECK_EQ(cfg.size, sizeof cfg);
    CHECK_EQ(cfg.max_sessions, 100000);
    CHECK_EQ(cfg.max_half_open, 1000);
    CHECK_EQ(cfg.max_half_open_per_ip, 8);
    CHECK_EQ(cfg.handshake_deadline_ms, 30000);
    CHECK_EQ(cfg.idle_timeout_ms, 600000);
    CHECK_EQ(cfg.max_buffered_bytes, 16384);
    CHECK_EQ(cfg.receive_buffer_bytes, 4 << 20);
    CHECK_EQ(cfg.workers, 0);
    CHECK(cfg.verifier == NULL && cfg.cookie_secret == NULL && cfg.ciphers == NULL);
    CHECK(cfg.psk_callback == NULL && cfg.psk_user_data == NULL);
    CHECK_EQ(cfg.psk_requests, 0);
    CHECK_EQ(dtlsgate_server_config_init(NULL), DTLSGATE_E_INVALID_ARGUMENT);
    dtlsgate_server_config zero = {0};
    CHECK_EQ(dtlsgate_server_config_init(&zero), DTLSGATE_E_INVALID_ARGUMENT);

    dtlsgate_server *srv = (dtlsgate_server *)&cfg; /* must be overwritten */
    CHECK_EQ(dtlsgate_server_new(&zero, &srv), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK(srv == NULL);
    CHECK_EQ(dtlsgate_server_new(&cfg, NULL), DTLSGATE_E_INVALID_ARGUMENT);

    /* A newer caller's larger struct: a zero tail is fine, anything else
     * is a setting this library would ignore, so it is refused. */
    struct {
        dtlsgate_server_config c;
        uint64_t newer[4];
    } big;
    memset(&big, 0, sizeof big);
    big.c.size = sizeof big;
    CHECK_EQ(dtlsgate_server_config_init(&big.c), DTLSGATE_OK);
    CHECK_EQ(big.c.size, sizeof big);
    big.newer[3] = 0xff; /* init zeroes what it does not know */
    big.c.size = sizeof big;
    CHECK_EQ(dtlsgate_server_config_init(&big.c), DTLSGATE_OK);
    CHECK_EQ(big.newer[3], 0);
    CHECK_EQ(dtlsgate_server_new(&big.c, &srv), DTLSGATE_OK);
    dtlsgate_server_free(srv);
    big.newer[2] = 1;
    CHECK_EQ(dtlsgate_server_new(&big.c, &srv), DTLSGATE_E_INVALID_ARGUMENT);

    /* An older caller's smaller struct: what lies beyond it is not read. */
    dtlsgate_server_config_init(&cfg);
    cfg.mtu = 7; /* refused when read */
    CHECK_EQ(dtlsgate_server_new(&cfg, &srv), DTLSGATE_E_INVALID_ARGUMENT);
    cfg.size = offsetof(dtlsgate_server_config, verifier);
    cfg.ciphers = "not a cipher";
    CHECK_EQ(dtlsgate_server_new(&cfg, &srv), DTLSGATE_OK);
    dtlsgate_server_free(srv);

    /* A size that ends inside a field is no struct of any version: refused,
     * not read as half a pointer (a torn ciphers or psk_callback pointer
     * was dereferenced or called). */
    cfg.size = sizeof cfg;
    dtlsgate_server_config_init(&cfg);
    cfg.ciphers = "PSK-AES128-GCM-SHA256";
    cfg.size = offsetof(dtlsgate_server_config, ciphers) + 4;
    srv = (dtlsgate_server *)&cfg;
    CHECK_EQ(dtlsgate_server_new(&cfg, &srv), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK(srv == NULL);
    cfg.size = offsetof(dtlsgate_server_config, ciphers) + 4;
    CHECK_EQ(dtlsgate_server_config_init(&cfg), DTLSGATE_E_INVALID_ARGUMENT);
    cfg.size = sizeof(size_t) - 1; /* not even the size field */
    CHECK_EQ(dtlsgate_server_config_init(&cfg), DTLSGATE_E_INVALID_ARGUMENT);
    {
        dtlsgate_server_stats st;
        memset(&st, 0, sizeof st);
        st.size = offsetof(dtlsgate_server_stats, datagrams) + 4;
        CHECK_EQ(dtlsgate_server_new(NULL, &srv), DTLSGATE_OK);
        CHECK_EQ(dtlsgate_server_get_stats(srv, &st), DTLSGATE_E_INVALID_ARGUMENT);
        dtlsgate_server_free(srv);
    }

    /* Values out of range. */
    cfg.size = sizeof cfg;
    dtlsgate_server_config_init(&cfg);
    cfg.max_sessions = 0x80000000u;
    CHECK_EQ(dtlsgate_server_new(&cfg, &srv), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK(strncmp(dtlsgate_last_error_message(), "max_sessions: ", 14) == 0);
    dtlsgate_server_config_init(&cfg);
    cfg.handshake_deadline_ms = DTLSGATE_HANDSHAKE_DEADLINE_MAX + 1;
    CHECK_EQ(dtlsgate_server_new(&cfg, &srv), DTLSGATE_E_INVALID_ARGUMENT);
    dtlsgate_server_config_init(&cfg);
    cfg.ciphers = "PSK-AES128-GCM-SHA256:NO-SUCH-SUITE";
    CHECK_EQ(dtlsgate_server_new(&cfg, &srv), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK(strstr(dtlsgate_last_error_message(), "NO-SUCH-SUITE") != NULL);
    dtlsgate_server_config_init(&cfg);
    cfg.identity_hint_len = 3;
    CHECK_EQ(dtlsgate_server_new(&cfg, &srv), DTLSGATE_E_INVALID_ARGUMENT);
    dtlsgate_server_config_init(&cfg);
    cfg.cookie_secret = (const uint8_t *)"secret";
    cfg.cookie_secret_len = 6;
    cfg.cookie_hash = DTLSGATE_HASH_KECCAK_224;
    CHECK_EQ(dtlsgate_server_new(&cfg, &srv), DTLSGATE_E_INVALID_ARGUMENT);
    cfg.cookie_hash = DTLSGATE_HASH_SHA256;
    CHECK_EQ(dtlsgate_server_new(&cfg, &srv), DTLSGATE_OK);
    dtlsgate_server_free(srv);

    /* A shared verifier: its cookies are the server's; not with a secret. */
    dtlsgate_verifier *v = dtlsgate_verifier_new();
    cfg.verifier = v;
    CHECK_EQ(dtlsgate_server_new(&cfg, &srv), DTLSGATE_E_INVALID_ARGUMENT);
    cfg.cookie_secret = NULL;
    cfg.cookie_secret_len = 0;
    CHECK_EQ(dtlsgate_verifier_set_fleet_key(v, (const uint8_t *)"0123456789abcdef0123", 20, 60, 5),
             DTLSGATE_OK);
    CHECK_EQ(dtlsgate_server_new(&cfg, &srv), DTLSGATE_OK);
    dtlsgate_verifier_free(v); /* the server keeps what it needs */
    dtlsgate_server_set_psk(srv, (const uint8_t *)"alice", 5, KEY, sizeof KEY);
    client_t c;
    client_start(&c, "alice", KEY, sizeof KEY, 40050);
    shuttle1(srv, &c);
    CHECK_EQ(dtlsgate_session_is_connection_encrypted(c.s), 1);
    dtlsgate_session_free(c.s);
    dtlsgate_server_free(srv);
    CHECK_EQ(dtlsgate_server_new(&cfg, &srv), DTLSGATE_E_BAD_HANDLE); /* freed verifier */

    /* idle_timeout_ms 0 means never: a quiet session has no timer. */
    dtlsgate_server_config_init(&cfg);
    cfg.idle_timeout_ms = 0;
    srv = new_server(&cfg);
    dtlsgate_server_set_psk(srv, (const uint8_t *)"alice", 5, KEY, sizeof KEY);
    client_start(&c, "alice", KEY, sizeof KEY, 40051);
    shuttle1(srv, &c);
    uint32_t ms;
    CHECK_EQ(dtlsgate_session_is_connection_encrypted(c.s), 1);
    CHECK_EQ(dtlsgate_server_next_timeout(srv, &ms), 0);
    dtlsgate_session_free(c.s);
    dtlsgate_server_free(srv);
    /* ... and a non-zero one closes it once it has passed. */
    cfg.idle_timeout_ms = 30;
    srv = new_server(&cfg);
    dtlsgate_server_set_psk(srv, (const uint8_t *)"alice", 5, KEY, sizeof KEY);
    client_start(&c, "alice", KEY, sizeof KEY, 40052);
    shuttle1(srv, &c);
    dtlsgate_server_event e;
    one_event(srv, DTLSGATE_SERVER_EVENT_CONNECTED, &c, &e);
    CHECK_EQ(dtlsgate_server_next_timeout(srv, &ms), 1);
    struct timespec ts = {0, 40 * 1000000L};
    nanosleep(&ts, NULL);
    dtlsgate_server_handle_timers(srv);
    shuttle1(srv, &c);
    CHECK(c.closed);
    if (one_event(srv, DTLSGATE_SERVER_EVENT_CLOSED, &c, &e))
        CHECK_EQ(e.reason, DTLSGATE_SERVER_CLOSED_IDLE);
    dtlsgate_session_free(c.s);
    dtlsgate_server_free(srv);

    /* Stats are versioned the same way. */
    srv = new_server(NULL);
    dtlsgate_server_stats st;
    memset(&st, 0xee, sizeof st);
    st.size = offsetof(dtlsgate_server_stats, hello_verifies);
    CHECK_EQ(dtlsgate_server_get_stats(srv, &st), DTLSGATE_OK);
    CHECK_EQ(st.datagrams, 0);
    CHECK_EQ(st.hello_verifies, 0xeeeeeeeeeeeeeeeeull); /* beyond its size: untouched */
    st.size = 0;
    CHECK_EQ(dtlsgate_server_get_stats(srv, &st), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_get_stats(srv, NULL), DTLSGATE_E_INVALID_ARGUMENT);
    dtlsgate_server_free(srv);
    check_context = "";
}

/* A poll waiting on one thread wakes for an event another thread's call
 * makes, and returns DTLSGATE_E_BAD_HANDLE when the server is freed. */
typedef struct {
    dtlsgate_server *srv;
    int result;
    dtlsgate_server_event ev;
} poller;

static void *poll_forever(void *arg)
{
    poller *p = arg;
    p->result = dtlsgate_server_poll(p->srv, &p->ev, 1, -1);
    return NULL;
}

static void test_poll_threads(void)
{
    check_context = "poll across threads";
    dtlsgate_server *srv = new_server(NULL);
    dtlsgate_server_set_psk(srv, (const uint8_t *)"alice", 5, KEY, sizeof KEY);
    client_t c;
    client_start(&c, "alice", KEY, sizeof KEY, 40060);
    shuttle1(srv, &c);
    dtlsgate_server_event e;
    one_event(srv, DTLSGATE_SERVER_EVENT_CONNECTED, &c, &e);

    poller p = {srv, 99, {0}};
    pthread_t t;
    struct timespec ts = {0, 20 * 1000000L};
    CHECK_EQ(pthread_create(&t, NULL, poll_forever, &p), 0);
    nanosleep(&ts, NULL); /* most likely waiting by now; either way it must see the data */
    dtlsgate_session_write_datagram_encrypted(c.s, DTLSGATE_NO_SOCKET, (const uint8_t *)"wake", 4);
    shuttle1(srv, &c);
    pthread_join(t, NULL);
    CHECK_EQ(p.result, 1);
    CHECK_EQ(p.ev.type, DTLSGATE_SERVER_EVENT_DATA);
    CHECK_MEM(p.ev.data, p.ev.data_len, "wake", 4);

    p.result = 99;
    CHECK_EQ(pthread_create(&t, NULL, poll_forever, &p), 0);
    nanosleep(&ts, NULL);
    dtlsgate_server_free(srv);
    pthread_join(t, NULL);
    CHECK_EQ(p.result, DTLSGATE_E_BAD_HANDLE);
    dtlsgate_session_free(c.s);
    check_context = "";
}

/* An application that does not poll: data beyond 4096 waiting events is
 * dropped and counted; a close still gets through. */
static void test_queue_bound(void)
{
    check_context = "event queue bound";
    dtlsgate_server *srv = new_server(NULL);
    dtlsgate_server_set_psk(srv, (const uint8_t *)"alice", 5, KEY, sizeof KEY);
    client_t c;
    client_start(&c, "alice", KEY, sizeof KEY, 40070);
    shuttle1(srv, &c);
    for (int i = 0; i < 4100; i++)
        dtlsgate_session_write_datagram_encrypted(c.s, DTLSGATE_NO_SOCKET, (const uint8_t *)"d", 1);
    shuttle1(srv, &c);
    CHECK_EQ(dtlsgate_server_close(srv, sa_of(&c), sizeof c.from), DTLSGATE_OK);
    dtlsgate_server_stats st = {.size = sizeof st};
    dtlsgate_server_get_stats(srv, &st);
    CHECK_EQ(st.dropped_buffered, 5); /* 4096 events: Connected and 4095 data */
    static dtlsgate_server_event evs[5000];
    CHECK_EQ(dtlsgate_server_poll(srv, evs, 5000, 0), 4097);
    CHECK_EQ(evs[0].type, DTLSGATE_SERVER_EVENT_CONNECTED);
    CHECK_EQ(evs[4095].type, DTLSGATE_SERVER_EVENT_DATA);
    CHECK_EQ(evs[4096].type, DTLSGATE_SERVER_EVENT_CLOSED);
    dtlsgate_session_free(c.s);
    dtlsgate_server_free(srv);
    check_context = "";
}

static void test_bad_arguments(void)
{
    check_context = "bad arguments";
    dtlsgate_server *srv = new_server(NULL);
    static const uint8_t d[] = {0x16, 0xfe, 0xfd};
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(9)};
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    const struct sockaddr *sa = (const struct sockaddr *)&sin;
    CHECK_EQ(dtlsgate_server_input(srv, NULL, sizeof sin, d, sizeof d), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_input(srv, (const struct sockaddr *)&sun, sizeof sun, d, sizeof d),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK(strncmp(dtlsgate_last_error_message(), "peer: ", 6) == 0);
    CHECK_EQ(dtlsgate_server_input(srv, sa, sizeof sin - 1, d, sizeof d), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_input(srv, sa, sizeof sin, NULL, 3), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_input(srv, sa, sizeof sin, d, DTLSGATE_MAX_INPUT + 1),
             DTLSGATE_E_INVALID_ARGUMENT);
    /* Garbage from a stranger is dropped and counted, not an error. */
    CHECK_EQ(dtlsgate_server_input(srv, sa, sizeof sin, d, sizeof d), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_server_input(srv, sa, sizeof sin, NULL, 0), DTLSGATE_OK);
    dtlsgate_server_stats st = {.size = sizeof st};
    dtlsgate_server_get_stats(srv, &st);
    CHECK_EQ(st.datagrams, 2);
    CHECK_EQ(st.dropped_stranger + st.dropped_bad_peer, 2);
    CHECK_EQ(st.sessions, 0);

    uint8_t buf[64];
    size_t n = sizeof buf;
    struct sockaddr_storage to;
    socklen_t tl;
    CHECK_EQ(dtlsgate_server_next_outgoing(srv, buf, &n, &to, &tl), 0);
    CHECK_EQ(n, 0);
    CHECK_EQ(dtlsgate_server_next_outgoing(srv, buf, NULL, &to, &tl), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_next_outgoing(srv, buf, &n, NULL, &tl), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_next_outgoing(srv, buf, &n, &to, NULL), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_next_timeout(srv, NULL), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_send(srv, (const struct sockaddr *)&sun, sizeof sun, d, 1),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_send(srv, sa, sizeof sin, NULL, 1), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_close(srv, NULL, 0), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_resolve_psk(srv, NULL, 0, d, 1, KEY, 1), DTLSGATE_E_INVALID_ARGUMENT);
    uint8_t long_key[DTLSGATE_PSK_MAX_KEY + 1] = {0};
    CHECK_EQ(dtlsgate_server_resolve_psk(srv, sa, sizeof sin, d, 1, long_key, sizeof long_key),
             DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_refuse_psk(srv, sa, sizeof sin, NULL, 1), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_refuse_psk(srv, sa, sizeof sin, d, 1), DTLSGATE_E_NOT_FOUND);

    dtlsgate_server_event e;
    CHECK_EQ(dtlsgate_server_poll(srv, NULL, 1, 0), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_poll(srv, &e, -1, 0), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_poll(srv, &e, 1, -2), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_poll(srv, NULL, 0, 0), 0);

    /* Managed-mode calls on a socket-less server, and bad addresses. */
    socklen_t al = sizeof to;
    CHECK_EQ(dtlsgate_server_local_address(srv, &to, &al), DTLSGATE_E_INVALID_STATE);
    CHECK_EQ(dtlsgate_server_local_address(srv, NULL, &al), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_stop(srv), DTLSGATE_E_INVALID_STATE);
    CHECK_EQ(dtlsgate_server_listen(srv, NULL), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_listen(srv, "no port"), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_EQ(dtlsgate_server_listen(srv, "192.0.2.200:1"), DTLSGATE_E_IO); /* not ours to bind */

    /* Handles: NULL, freed, of another kind. */
    dtlsgate_verifier *v = dtlsgate_verifier_new();
    dtlsgate_server *other = (dtlsgate_server *)v;
    dtlsgate_server *handles[] = {NULL, other, srv};
    dtlsgate_server_free(srv);
    dtlsgate_server_free(srv); /* twice: a no-op */
    dtlsgate_server_free(NULL);
    dtlsgate_server_free(other); /* another kind: a no-op */
    CHECK_EQ(dtlsgate_verifier_set_cookie_lifetime(v, 30), DTLSGATE_OK);
    for (int i = 0; i < 3; i++) {
        dtlsgate_server *h = handles[i];
        CHECK_EQ(dtlsgate_server_input(h, sa, sizeof sin, d, sizeof d), DTLSGATE_E_BAD_HANDLE);
        CHECK_EQ(dtlsgate_server_next_outgoing(h, buf, &n, &to, &tl), DTLSGATE_E_BAD_HANDLE);
        CHECK_EQ(dtlsgate_server_poll(h, &e, 1, 0), DTLSGATE_E_BAD_HANDLE);
        CHECK_EQ(dtlsgate_server_fd(h), DTLSGATE_E_BAD_HANDLE);
        CHECK_EQ(dtlsgate_server_set_psk(h, d, 1, KEY, 1), DTLSGATE_E_BAD_HANDLE);
        CHECK_EQ(dtlsgate_server_send(h, sa, sizeof sin, d, 1), DTLSGATE_E_BAD_HANDLE);
        CHECK_EQ(dtlsgate_server_shutdown(h), DTLSGATE_E_BAD_HANDLE);
        CHECK_EQ(dtlsgate_server_stop(h), DTLSGATE_E_BAD_HANDLE);
        CHECK_EQ(dtlsgate_server_listen(h, "127.0.0.1:0"), DTLSGATE_E_BAD_HANDLE);
        CHECK_EQ(dtlsgate_server_get_stats(h, &st), DTLSGATE_E_BAD_HANDLE);
        CHECK_EQ(dtlsgate_server_handle_timers(h), DTLSGATE_E_BAD_HANDLE);
    }
    dtlsgate_verifier_free(v);
    check_context = "";
}

/* Managed: the library owns the socket; a client over real UDP connects
 * and gets its data echoed, the test waiting on both descriptors. */
static void test_managed(int family)
{
    check_context = family == AF_INET ? "managed, IPv4" : "managed, IPv6";
    const char *ip = family == AF_INET ? "127.0.0.1" : "::1";
    dtlsgate_server_config cfg = defaults();
    cfg.workers = 2;
    cfg.psk_requests = 1;
    dtlsgate_server *srv = new_server(&cfg);
    CHECK_EQ(dtlsgate_server_listen(srv, family == AF_INET ? "127.0.0.1:0" : "[::1]:0"), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_server_listen(srv, "127.0.0.1:0"), DTLSGATE_E_INVALID_STATE);
    struct sockaddr_storage local;
    socklen_t local_len = sizeof local;
    CHECK_EQ(dtlsgate_server_local_address(srv, &local, &local_len), DTLSGATE_OK);
    CHECK_EQ(local.ss_family, family);
    uint16_t port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&local)->sin_port
                                            : ((struct sockaddr_in6 *)&local)->sin6_port);
    CHECK(port != 0);
    static const uint8_t d[] = {1};
    CHECK_EQ(dtlsgate_server_input(srv, (const struct sockaddr *)&local, local_len, d, 1),
             DTLSGATE_E_INVALID_STATE);
    uint32_t ms;
    CHECK_EQ(dtlsgate_server_next_timeout(srv, &ms), DTLSGATE_E_INVALID_STATE);

    udp_t cli;
    if (!CHECK(udp_open(family, ip, &cli) == 0))
        return;
    client_psk psk = {"mallory", KEY, sizeof KEY};
    dtlsgate_session *c = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    dtlsgate_session_set_psk_callback(c, on_client_psk, &psk);
    CHECK_EQ(dtlsgate_session_set_peer(c, ip, port), 1);
    CHECK_EQ(dtlsgate_session_do_handshake(c, cli.fd, NULL, 0), 1);

    int fd = dtlsgate_server_fd(srv);
    static uint8_t buf[DTLSGATE_MAX_DATAGRAM];
    char echoed[64] = "";
    int connected = 0, requests = 0, sent = 0;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > 10 || echoed[0])
            break;
        struct pollfd p[2] = {{.fd = cli.fd, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
        if (poll(p, 2, 200) <= 0)
            continue;
        if (p[0].revents & POLLIN) {
            long n = recv(cli.fd, buf, sizeof buf, 0);
            if (n > 0 && dtlsgate_session_handshake_state(c) == DTLSGATE_HANDSHAKE_IN_PROGRESS) {
                CHECK_EQ(dtlsgate_session_do_handshake(c, cli.fd, buf, (size_t)n), 1);
            } else if (n > 0) {
                size_t pn = sizeof echoed - 1;
                if (dtlsgate_session_decrypt_datagram(c, cli.fd, buf, (size_t)n, (uint8_t *)echoed, &pn) == 1)
                    echoed[pn] = 0;
            }
            if (!sent && dtlsgate_session_is_connection_encrypted(c) == 1)
                sent = dtlsgate_session_write_datagram_encrypted(c, cli.fd, (const uint8_t *)"echo me", 7) == 7;
        }
        if (p[1].revents & POLLIN) {
            dtlsgate_server_event evs[8];
            int n = dtlsgate_server_poll(srv, evs, 8, 0);
            CHECK(n > 0); /* readable means events wait */
            for (int i = 0; i < n; i++) {
                dtlsgate_server_event *e = &evs[i];
                switch (e->type) {
                case DTLSGATE_SERVER_EVENT_PSK_REQUEST:
                    requests++;
                    CHECK_MEM(e->identity, e->identity_len, "mallory", 7);
                    CHECK_EQ(dtlsgate_server_resolve_psk(srv, (struct sockaddr *)&e->peer, e->peer_len,
                                                         e->identity, e->identity_len, KEY, sizeof KEY),
                             DTLSGATE_OK);
                    break;
                case DTLSGATE_SERVER_EVENT_CONNECTED:
                    connected++;
                    CHECK_MEM(e->identity, e->identity_len, "mallory", 7);
                    break;
                case DTLSGATE_SERVER_EVENT_DATA:
                    CHECK_EQ(dtlsgate_server_send(srv, (struct sockaddr *)&e->peer, e->peer_len, e->data,
                                                  e->data_len),
                             DTLSGATE_OK);
                    break;
                default:
                    CHECK(!"unexpected event");
                }
            }
        }
    }
    CHECK_EQ(requests, 1);
    CHECK_EQ(connected, 1);
    CHECK_STR(echoed, "echo me");
    dtlsgate_server_stats st = {.size = sizeof st};
    CHECK_EQ(dtlsgate_server_get_stats(srv, &st), DTLSGATE_OK);
    CHECK(st.datagrams >= 3);
    CHECK_EQ(st.hello_verifies, 1);

    /* Stop: close_notify to the client, a Closed event for it. */
    CHECK_EQ(dtlsgate_server_stop(srv), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_server_stop(srv), DTLSGATE_OK);
    struct pollfd p = {.fd = cli.fd, .events = POLLIN};
    if (CHECK_EQ(poll(&p, 1, 3000), 1)) {
        long n = recv(cli.fd, buf, sizeof buf, 0);
        size_t pn = sizeof echoed;
        CHECK(n > 0);
        CHECK_EQ(dtlsgate_session_decrypt_datagram(c, cli.fd, buf, (size_t)n, (uint8_t *)echoed, &pn), 0);
        CHECK_EQ(dtlsgate_session_dtls_error(c), DTLSGATE_REMOTE_CLOSED_CONNECTION_ERROR);
    }
    dtlsgate_server_event e;
    CHECK(readable(fd));
    if (CHECK_EQ(dtlsgate_server_poll(srv, &e, 1, 1000), 1)) {
        CHECK_EQ(e.type, DTLSGATE_SERVER_EVENT_CLOSED);
        CHECK_EQ(e.reason, DTLSGATE_SERVER_CLOSED_SHUTDOWN);
    }
    CHECK_EQ(dtlsgate_server_listen(srv, "127.0.0.1:0"), DTLSGATE_E_INVALID_STATE);
    dtlsgate_session_free(c);
    close(cli.fd);
    dtlsgate_server_free(srv);
    check_context = "";
}

/* Freed while listening: the workers stop and the call waits for them. */
static void test_free_listening(void)
{
    check_context = "free while listening";
    dtlsgate_server *srv = new_server(NULL);
    CHECK_EQ(dtlsgate_server_listen(srv, "127.0.0.1:0"), DTLSGATE_OK);
    dtlsgate_server_free(srv);
    CHECK_EQ(dtlsgate_server_fd(srv), DTLSGATE_E_BAD_HANDLE);
    check_context = "";
}

/* Calls on other threads racing dtlsgate_server_free(): each ends with
 * DTLSGATE_E_BAD_HANDLE (or its own result, had it come first), nothing
 * crashes, and no descriptor outlives the server (a listen that slipped in
 * after free had stopped the server kept its sockets). */
typedef struct {
    dtlsgate_server *srv;
    int what; /* 0 poll, 1 send, 2 stats, 3 listen */
    int last;
} racer;

static void *race_free(void *arg)
{
    racer *r = arg;
    struct sockaddr_in to;
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons(40999);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    dtlsgate_server_event ev[4];
    dtlsgate_server_stats st = {.size = sizeof st};
    do {
        switch (r->what) {
        case 0: r->last = dtlsgate_server_poll(r->srv, ev, 4, 1); break;
        case 1:
            r->last = dtlsgate_server_send(r->srv, (const struct sockaddr *)&to, sizeof to,
                                           (const uint8_t *)"x", 1);
            break;
        case 2: r->last = dtlsgate_server_get_stats(r->srv, &st); break;
        default: r->last = dtlsgate_server_listen(r->srv, "127.0.0.1:0"); break;
        }
    } while (r->last != DTLSGATE_E_BAD_HANDLE);
    return NULL;
}

static int open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 4096; fd++)
        n += fcntl(fd, F_GETFD) != -1;
    return n;
}

static void test_free_races(int kinds, int rounds)
{
    check_context = "free racing other calls";
    int before = open_fds();
    for (int i = 0; i < rounds; i++) {
        dtlsgate_server *srv = new_server(NULL);
        racer r[4];
        pthread_t t[4];
        for (int k = 0; k < kinds; k++) {
            r[k] = (racer){srv, k, 99};
            CHECK_EQ(pthread_create(&t[k], NULL, race_free, &r[k]), 0);
        }
        struct timespec ts = {0, (i % 4) * 250000L};
        nanosleep(&ts, NULL);
        dtlsgate_server_free(srv);
        for (int k = 0; k < kinds; k++) {
            pthread_join(t[k], NULL);
            CHECK_EQ(r[k].last, DTLSGATE_E_BAD_HANDLE);
        }
    }
    CHECK_EQ(open_fds(), before);
    check_context = "";
}

/* ---------------------------------------------------------------------------
 * Many clients, and every limit biting (issue 13, item 8), socket-less: the
 * clients are the library's own client sessions, each seen by the server at
 * an address of its own unless a test wants them to share one. Limits are
 * small and timers short (milliseconds), so this stays fast in real time.
 */

/* What take_events saw: events by type, Closed events by reason. */
typedef struct {
    int connected, data, closed[8];
} tally;

/* Takes every waiting event into t, echoing each DATA event to its peer. */
static void take_events(dtlsgate_server *srv, tally *t)
{
    dtlsgate_server_event evs[64];
    int n;
    while ((n = dtlsgate_server_poll(srv, evs, 64, 0)) > 0) {
        for (int i = 0; i < n; i++) {
            const dtlsgate_server_event *e = &evs[i];
            if (e->type == DTLSGATE_SERVER_EVENT_CONNECTED) {
                t->connected++;
            } else if (e->type == DTLSGATE_SERVER_EVENT_DATA) {
                t->data++;
                CHECK_EQ(dtlsgate_server_send(srv, (const struct sockaddr *)&e->peer, e->peer_len,
                                              e->data, e->data_len),
                         DTLSGATE_OK);
            } else if (e->type == DTLSGATE_SERVER_EVENT_CLOSED && e->reason > 0 && e->reason < 8) {
                t->closed[e->reason]++;
            }
        }
    }
    CHECK_EQ(n, 0);
}

/* A client at ip:port that passes the cookie exchange and goes quiet: a
 * half-open handshake on the server until a limit or the deadline ends it.
 * Only while no other traffic waits (what the server sends goes here). */
static void squat(dtlsgate_server *srv, client_t *c, const char *ip, uint16_t port)
{
    client_start_at(c, "squatter", KEY, sizeof KEY, ip, port);
    static dgram_t d;
    for (int round = 0; round < 2; round++) { /* hello; hello with the cookie */
        d.len = sizeof d.data;
        CHECK_EQ(dtlsgate_session_next_outgoing(c->s, d.data, &d.len), 1);
        CHECK_EQ(dtlsgate_server_input(srv, sa_of(c), sizeof c->from, d.data, d.len), DTLSGATE_OK);
        struct sockaddr_storage to;
        socklen_t to_len;
        d.len = sizeof d.data;
        while (dtlsgate_server_next_outgoing(srv, d.data, &d.len, &to, &to_len) == 1) {
            if (round == 0)
                client_take(c, d.data, d.len); /* the HelloVerifyRequest */
            d.len = sizeof d.data;
        }
    }
    c->mute = 1;
}

/* Connects c (already started) among everyone in cs[0..n-1]; 1 if it did. */
static int joins(dtlsgate_server *srv, client_t **cs, int n, client_t *c, tally *t)
{
    int before = t->connected;
    shuttle(srv, cs, n);
    take_events(srv, t);
    return dtlsgate_session_is_connection_encrypted(c->s) == 1 && t->connected == before + 1;
}

/* c sends msg and gets it back, everyone in cs[0..n-1] taking part. */
static int works(dtlsgate_server *srv, client_t **cs, int n, client_t *c, const char *msg, tally *t)
{
    c->got[0] = 0;
    CHECK_EQ(dtlsgate_session_write_datagram_encrypted(c->s, DTLSGATE_NO_SOCKET, (const uint8_t *)msg,
                                                       strlen(msg)),
             (int)strlen(msg));
    shuttle(srv, cs, n);
    take_events(srv, t);
    shuttle(srv, cs, n);
    return strcmp(c->got, msg) == 0;
}

static dtlsgate_server_stats stats_of(dtlsgate_server *srv)
{
    dtlsgate_server_stats st = {.size = sizeof st};
    CHECK_EQ(dtlsgate_server_get_stats(srv, &st), DTLSGATE_OK);
    return st;
}

/* A server with cfg for the test named what, alice's key in its table. */
static dtlsgate_server *server_for(const char *what, dtlsgate_server_config *cfg)
{
    check_context = what;
    dtlsgate_server *srv = new_server(cfg);
    CHECK_EQ(dtlsgate_server_set_psk(srv, (const uint8_t *)"alice", 5, KEY, sizeof KEY), DTLSGATE_OK);
    return srv;
}

/* Starts alice as c at ip:port and connects her among cs[0..n-1]. */
static int connect_at(dtlsgate_server *srv, client_t **cs, int n, client_t *c, const char *ip,
                      uint16_t port, tally *t)
{
    client_start_at(c, "alice", KEY, sizeof KEY, ip, port);
    return joins(srv, cs, n, c, t);
}

/* Ends a test: its clients and its server go. */
static void done(dtlsgate_server *srv, client_t **cs, int n)
{
    for (int i = 0; i < n; i++)
        dtlsgate_session_free(cs[i]->s);
    dtlsgate_server_free(srv);
    check_context = "";
}

/* 200 clients at once, each from an address of its own: every handshake
 * completes, every client gets its own message back, and a shutdown
 * reaches them all. */
static void test_many_clients(void)
{
    enum { N = 200 };
    static client_t clients[N];
    static client_t *cs[N];
    dtlsgate_server_config cfg = defaults();
    dtlsgate_server *srv = server_for("200 clients", &cfg);
    for (int i = 0; i < N; i++) {
        char ip[32];
        snprintf(ip, sizeof ip, "10.0.%d.%d", i / 200, i % 200 + 1);
        client_start_at(&clients[i], "alice", KEY, sizeof KEY, ip, (uint16_t)(40000 + i));
        cs[i] = &clients[i];
    }
    tally t = {0};
    shuttle(srv, cs, N);
    take_events(srv, &t);
    CHECK_EQ(t.connected, N);
    dtlsgate_server_stats st = stats_of(srv);
    CHECK_EQ(st.handshakes_completed, N);
    CHECK_EQ(st.sessions, N);
    CHECK_EQ(st.half_open, 0);
    CHECK_EQ(st.evicted_half_open + st.evicted_half_open_per_ip + st.evicted_for_session +
                 st.refused_full, 0);

    for (int i = 0; i < N; i++) {
        char msg[32];
        snprintf(msg, sizeof msg, "message %d", i);
        dtlsgate_session_write_datagram_encrypted(clients[i].s, DTLSGATE_NO_SOCKET, (const uint8_t *)msg,
                                                  strlen(msg));
    }
    shuttle(srv, cs, N);
    take_events(srv, &t);
    CHECK_EQ(t.data, N);
    shuttle(srv, cs, N);
    int echoed = 0;
    for (int i = 0; i < N; i++) {
        char msg[32];
        snprintf(msg, sizeof msg, "message %d", i);
        echoed += strcmp(clients[i].got, msg) == 0;
    }
    CHECK_EQ(echoed, N);

    CHECK_EQ(dtlsgate_server_shutdown(srv), DTLSGATE_OK);
    shuttle(srv, cs, N);
    take_events(srv, &t);
    CHECK_EQ(t.closed[DTLSGATE_SERVER_CLOSED_SHUTDOWN], N);
    int closed = 0;
    for (int i = 0; i < N; i++)
        closed += clients[i].closed;
    CHECK_EQ(closed, N);
    CHECK_EQ(stats_of(srv).sessions, 0);
    done(srv, cs, N);
}

/* max_sessions: a half-open handshake makes room for a newcomer; with only
 * active established sessions left, the next one is refused. */
static void test_limit_sessions(void)
{
    dtlsgate_server_config cfg = defaults();
    cfg.max_sessions = 3;
    dtlsgate_server *srv = server_for("max_sessions", &cfg);
    client_t a, b, c, d, squatter;
    client_t *cs[] = {&a, &b, &squatter, &c, &d};
    tally t = {0};
    CHECK(connect_at(srv, cs, 1, &a, "10.1.0.1", 40001, &t));
    CHECK(connect_at(srv, cs, 2, &b, "10.1.0.2", 40002, &t));
    squat(srv, &squatter, "10.1.0.3", 40003);
    CHECK_EQ(stats_of(srv).sessions, 3);

    CHECK(connect_at(srv, cs, 4, &c, "10.1.0.4", 40004, &t));
    dtlsgate_server_stats st = stats_of(srv);
    CHECK_EQ(st.evicted_for_session, 1);
    CHECK_EQ(st.half_open, 0);
    CHECK_EQ(st.sessions, 3);

    CHECK(!connect_at(srv, cs, 5, &d, "10.1.0.5", 40005, &t));
    st = stats_of(srv);
    CHECK(st.refused_full >= 1);
    CHECK_EQ(st.evicted_idle, 0); /* active sessions are never evicted */
    CHECK_EQ(st.sessions, 3);
    CHECK(works(srv, cs, 5, &a, "a still works", &t));
    CHECK(works(srv, cs, 5, &b, "b still works", &t));
    CHECK(works(srv, cs, 5, &c, "c works", &t));
    CHECK_EQ(t.closed[DTLSGATE_SERVER_CLOSED_EVICTED], 0);
    done(srv, cs, 5);
}

/* max_half_open: the oldest handshake makes room, for squatters and for a
 * real client alike; the real client gets in. */
static void test_limit_half_open(void)
{
    dtlsgate_server_config cfg = defaults();
    cfg.max_half_open = 3;
    dtlsgate_server *srv = server_for("max_half_open", &cfg);
    client_t a, b, sq[4];
    client_t *cs[] = {&a, &sq[0], &sq[1], &sq[2], &sq[3], &b};
    tally t = {0};
    CHECK(connect_at(srv, cs, 1, &a, "10.2.0.1", 40001, &t));
    for (int i = 0; i < 4; i++) {
        char ip[32];
        snprintf(ip, sizeof ip, "10.2.1.%d", i + 1);
        squat(srv, &sq[i], ip, (uint16_t)(41000 + i));
    }
    dtlsgate_server_stats st = stats_of(srv);
    CHECK_EQ(st.evicted_half_open, 1);
    CHECK_EQ(st.half_open, 3);
    CHECK(connect_at(srv, cs, 6, &b, "10.2.0.2", 40002, &t));
    st = stats_of(srv);
    CHECK_EQ(st.evicted_half_open, 2);
    CHECK_EQ(st.half_open, 2);
    CHECK(works(srv, cs, 6, &a, "a still works", &t));
    CHECK(works(srv, cs, 6, &b, "b works", &t));
    done(srv, cs, 6);
}

/* max_half_open_per_ip: one address's handshakes make room among
 * themselves; other addresses are not touched. */
static void test_limit_per_ip(void)
{
    dtlsgate_server_config cfg = defaults();
    cfg.max_half_open_per_ip = 2;
    dtlsgate_server *srv = server_for("max_half_open_per_ip", &cfg);
    client_t a, b, c, other, sq[3];
    client_t *cs[] = {&a, &other, &sq[0], &sq[1], &sq[2], &b, &c};
    tally t = {0};
    CHECK(connect_at(srv, cs, 1, &a, "10.3.0.1", 40001, &t));
    squat(srv, &other, "10.3.0.9", 40009); /* another address's handshake */
    for (int i = 0; i < 3; i++)
        squat(srv, &sq[i], "10.3.0.2", (uint16_t)(41000 + i));
    dtlsgate_server_stats st = stats_of(srv);
    CHECK_EQ(st.evicted_half_open_per_ip, 1);
    CHECK_EQ(st.half_open, 3);
    CHECK(connect_at(srv, cs, 6, &b, "10.3.0.2", 40002, &t)); /* the squatters' address */
    CHECK_EQ(stats_of(srv).evicted_half_open_per_ip, 2);
    CHECK(connect_at(srv, cs, 7, &c, "10.3.0.3", 40003, &t));
    st = stats_of(srv);
    CHECK_EQ(st.evicted_half_open_per_ip, 2);
    CHECK_EQ(st.evicted_half_open, 0);
    CHECK_EQ(st.half_open, 2); /* the other address's, and one squatter */
    CHECK(works(srv, cs, 7, &a, "a still works", &t));
    CHECK(works(srv, cs, 7, &b, "b works", &t));
    CHECK(works(srv, cs, 7, &c, "c works", &t));
    done(srv, cs, 7);
}

/* handshake_deadline_ms ends a squatter's handshake, and not an
 * established session. */
static void test_limit_deadline(void)
{
    dtlsgate_server_config cfg = defaults();
    cfg.handshake_deadline_ms = 50;
    dtlsgate_server *srv = server_for("handshake_deadline_ms", &cfg);
    client_t a, squatter;
    client_t *cs[] = {&a, &squatter};
    tally t = {0};
    CHECK(connect_at(srv, cs, 1, &a, "10.4.0.1", 40001, &t));
    squat(srv, &squatter, "10.4.0.2", 40002);
    CHECK_EQ(stats_of(srv).half_open, 1);
    sleep_ms(70);
    CHECK_EQ(dtlsgate_server_handle_timers(srv), DTLSGATE_OK);
    dtlsgate_server_stats st = stats_of(srv);
    CHECK_EQ(st.handshake_timeouts, 1);
    CHECK_EQ(st.half_open, 0);
    CHECK_EQ(st.sessions, 1);
    CHECK(works(srv, cs, 2, &a, "a still works", &t));
    done(srv, cs, 2);
}

/* idle_timeout_ms closes the quiet session with close_notify; the one that
 * keeps talking stays. */
static void test_limit_idle(void)
{
    enum { IDLE_MS = 300 };
    dtlsgate_server_config cfg = defaults();
    cfg.idle_timeout_ms = IDLE_MS;
    dtlsgate_server *srv = server_for("idle_timeout_ms", &cfg);
    client_t chatty, quiet;
    client_t *cs[] = {&chatty, &quiet};
    tally t = {0};
    client_start_at(&chatty, "alice", KEY, sizeof KEY, "10.5.0.1", 40001);
    client_start_at(&quiet, "alice", KEY, sizeof KEY, "10.5.0.2", 40002);
    /* The quiet one is last active at its handshake: the clock starts
     * before it, so a slow run (valgrind) cannot see it close "early". */
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    shuttle(srv, cs, 2);
    take_events(srv, &t);
    CHECK_EQ(t.connected, 2);
    long elapsed = 0;
    int talked = 0;
    /* Talk every 10 ms, far inside the timeout, until the quiet one goes
     * (or 5 s pass). */
    while (!quiet.closed && elapsed < 5000) {
        talked += works(srv, cs, 2, &chatty, "still here", &t);
        sleep_ms(10);
        CHECK_EQ(dtlsgate_server_handle_timers(srv), DTLSGATE_OK);
        shuttle(srv, cs, 2);
        take_events(srv, &t);
        clock_gettime(CLOCK_MONOTONIC, &now);
        elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    }
    CHECK(quiet.closed);
    CHECK(elapsed >= IDLE_MS);
    CHECK_EQ(t.closed[DTLSGATE_SERVER_CLOSED_IDLE], 1);
    dtlsgate_server_stats st = stats_of(srv);
    CHECK_EQ(st.idle_timeouts, 1);
    CHECK_EQ(st.sessions, 1);
    CHECK(!chatty.closed);
    CHECK(talked > 0);
    CHECK(works(srv, cs, 2, &chatty, "chatty still works", &t));
    done(srv, cs, 2);
}

/* Records of a datagram: n of them, each of len bytes of 'x', from c. */
static void records(client_t *c, int n, size_t len, dgram_t *out)
{
    static uint8_t msg[1024];
    static dgram_t one;
    memset(msg, 'x', sizeof msg);
    out->len = 0;
    for (int i = 0; i < n; i++) {
        CHECK_EQ(dtlsgate_session_write_datagram_encrypted(c->s, DTLSGATE_NO_SOCKET, msg, len), (int)len);
        one.len = sizeof one.data;
        CHECK_EQ(dtlsgate_session_next_outgoing(c->s, one.data, &one.len), 1);
        memcpy(out->data + out->len, one.data, one.len);
        out->len += one.len;
    }
}

/* max_buffered_bytes: data beyond a session's bound before the events are
 * taken (here, the records of one datagram) is dropped and counted; the
 * session goes on. */
static void test_limit_buffered(void)
{
    dtlsgate_server_config cfg = defaults();
    cfg.max_buffered_bytes = 1024;
    dtlsgate_server *srv = server_for("max_buffered_bytes", &cfg);
    client_t a;
    client_t *cs[] = {&a};
    tally t = {0};
    CHECK(connect_at(srv, cs, 1, &a, "10.6.0.1", 40001, &t));
    static dgram_t d;
    records(&a, 3, 400, &d); /* 1200 bytes > 1024 */
    CHECK_EQ(dtlsgate_server_input(srv, sa_of(&a), sizeof a.from, d.data, d.len), DTLSGATE_OK);
    take_events(srv, &t);
    CHECK_EQ(t.data, 0);
    CHECK_EQ(stats_of(srv).dropped_buffered, 1);
    records(&a, 2, 400, &d); /* 800 bytes: within */
    CHECK_EQ(dtlsgate_server_input(srv, sa_of(&a), sizeof a.from, d.data, d.len), DTLSGATE_OK);
    dtlsgate_server_event e;
    if (one_event(srv, DTLSGATE_SERVER_EVENT_DATA, &a, &e))
        CHECK_EQ(e.data_len, 800);
    CHECK_EQ(stats_of(srv).dropped_buffered, 1);
    CHECK(works(srv, cs, 1, &a, "a still works", &t));
    CHECK_EQ(stats_of(srv).sessions, 1);
    done(srv, cs, 1);
}

/* ---------------------------------------------------------------------------
 * Connection IDs (RFC 9146): the config fields, the ID a client is given,
 * and a client that comes back from a new address.
 */

static uint64_t cid_stat(dtlsgate_server *srv, size_t offset)
{
    dtlsgate_server_stats st = {.size = sizeof st};
    CHECK_EQ(dtlsgate_server_get_stats(srv, &st), DTLSGATE_OK);
    uint64_t v;
    memcpy(&v, (const char *)&st + offset, sizeof v);
    return v;
}
#define STAT(srv, field) cid_stat(srv, offsetof(dtlsgate_server_stats, field))

/* c's next record of text, as it would go out. */
static void record_of(client_t *c, const char *text, dgram_t *d)
{
    CHECK_EQ(dtlsgate_session_write_datagram_encrypted(c->s, DTLSGATE_NO_SOCKET,
                                                       (const uint8_t *)text, strlen(text)),
             (long long)strlen(text));
    d->len = sizeof d->data;
    CHECK_EQ(dtlsgate_session_next_outgoing(c->s, d->data, &d->len), 1);
}

static void test_cid_config(void)
{
    check_context = "connection ID config";
    dtlsgate_server_config cfg = defaults();
    CHECK_EQ(cfg.connection_id_length, DTLSGATE_CONNECTION_ID_DEFAULT_LENGTH);
    CHECK_EQ(cfg.node_id, 0);
    dtlsgate_server *srv = (dtlsgate_server *)&cfg;
    static const struct {
        int length, node;
        const char *field;
    } bad[] = {{DTLSGATE_CONNECTION_ID_MAX + 1, 0, "connection_id_length: "},
               {DTLSGATE_EMPTY_CONNECTION_ID, 0, "connection_id_length: "},
               {-100, 0, "connection_id_length: "},
               {8, 256, "node_id: "},
               {8, -1, "node_id: "},
               {DTLSGATE_NO_CONNECTION_ID, 7, "node_id: "},
               {1, 7, "node_id: "}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cfg.connection_id_length = bad[i].length;
        cfg.node_id = bad[i].node;
        CHECK_EQ(dtlsgate_server_new(&cfg, &srv), DTLSGATE_E_INVALID_ARGUMENT);
        CHECK(srv == NULL);
        CHECK(strncmp(dtlsgate_last_error_message(), bad[i].field, strlen(bad[i].field)) == 0);
    }
    /* A struct from before the fields: whatever lies there is not read
     * (the first of them sits where that struct had padding). */
    cfg.connection_id_length = 99;
    cfg.node_id = 300;
    cfg.size = offsetof(dtlsgate_server_config, node_id);
    CHECK_EQ(dtlsgate_server_new(&cfg, &srv), DTLSGATE_OK);
    dtlsgate_server_free(srv);
    /* ... and init leaves both out too. */
    CHECK_EQ(dtlsgate_server_config_init(&cfg), DTLSGATE_OK);
    CHECK_EQ(cfg.node_id, 300);
    check_context = "";
}

/* The client asks for client_cid; the server gives IDs of cfg's length. */
static void cid_connect(dtlsgate_server *srv, client_t *c, int client_cid, uint16_t port,
                        dtlsgate_server_event *e)
{
    client_start(c, "alice", KEY, sizeof KEY, port);
    /* client_start began the handshake: the setting goes on a new session. */
    dtlsgate_session_free(c->s);
    c->s = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    dtlsgate_session_set_psk_callback(c->s, on_client_psk, &c->psk);
    CHECK_EQ(dtlsgate_session_set_peer(c->s, "192.0.2.1", 5684), 1);
    CHECK_EQ(dtlsgate_session_set_connection_id_length(c->s, client_cid), 1);
    CHECK_EQ(dtlsgate_session_do_handshake(c->s, DTLSGATE_NO_SOCKET, NULL, 0), 1);
    shuttle1(srv, c);
    CHECK_EQ(dtlsgate_session_is_connection_encrypted(c->s), 1);
    one_event(srv, DTLSGATE_SERVER_EVENT_CONNECTED, c, e);
}

static void test_cid_moves(void)
{
    check_context = "connection ID moves";
    dtlsgate_server_config cfg = defaults();
    cfg.connection_id_length = 12;
    cfg.node_id = 0x42;
    dtlsgate_server *srv = new_server(&cfg);
    dtlsgate_server_set_psk(srv, (const uint8_t *)"alice", 5, KEY, sizeof KEY);
    client_t c;
    dtlsgate_server_event e;
    cid_connect(srv, &c, DTLSGATE_EMPTY_CONNECTION_ID, 41000, &e);
    /* The ID given, node byte first, is the one the client sends with. */
    uint8_t id[DTLSGATE_PEER_CONNECTION_ID_MAX];
    size_t n = sizeof id;
    CHECK_EQ(dtlsgate_session_peer_connection_id(c.s, id, &n), 1);
    if (CHECK_EQ(e.connection_id_len, 12) && CHECK(e.connection_id != NULL)) {
        CHECK_EQ(e.connection_id[0], 0x42);
        CHECK_MEM(e.connection_id, e.connection_id_len, id, n);
    }
    CHECK_EQ(e.old_peer_len, 0);

    /* The NAT forgets the client, which comes back from another port: the
     * session follows it (MOVED, then the data) and answers there. */
    struct sockaddr_in home = c.from;
    c.from.sin_port = htons(41001);
    static dgram_t d;
    record_of(&c, "after the nap", &d);
    CHECK_EQ(d.data[0], 25);
    CHECK_MEM(d.data + 11, 12, id, 12);
    CHECK_EQ(dtlsgate_server_input(srv, sa_of(&c), sizeof c.from, d.data, d.len), DTLSGATE_OK);
    dtlsgate_server_event evs[4];
    if (CHECK_EQ(dtlsgate_server_poll(srv, evs, 4, 0), 2)) {
        CHECK_EQ(evs[0].type, DTLSGATE_SERVER_EVENT_MOVED);
        CHECK(same_peer(&evs[0], &c));
        CHECK_EQ(evs[0].old_peer_len, sizeof home);
        CHECK(memcmp(&evs[0].old_peer, &home, sizeof home) == 0);
        CHECK_EQ(evs[1].type, DTLSGATE_SERVER_EVENT_DATA);
        CHECK(same_peer(&evs[1], &c));
        CHECK_MEM(evs[1].data, evs[1].data_len, "after the nap", 13);
        CHECK_EQ(evs[1].old_peer_len, 0);
    }
    CHECK_EQ(STAT(srv, moves), 1);
    CHECK_EQ(dtlsgate_server_send(srv, sa_of(&c), sizeof c.from, (const uint8_t *)"found you", 9),
             DTLSGATE_OK);
    shuttle1(srv, &c); /* fails a check if it goes anywhere but the new address */
    CHECK_STR(c.got, "found you");
    CHECK_EQ(dtlsgate_server_send(srv, (const struct sockaddr *)&home, sizeof home,
                                  (const uint8_t *)"x", 1),
             DTLSGATE_E_NOT_FOUND);

    /* From a third address, a forged copy of a new record and a replay of
     * the last one move nothing and tell the application nothing. */
    struct sockaddr_in thief = c.from;
    thief.sin_port = htons(41002);
    record_of(&c, "genuine", &d);
    static dgram_t forged;
    forged = d;
    forged.data[forged.len - 1] ^= 0x80;
    CHECK_EQ(dtlsgate_server_input(srv, (const struct sockaddr *)&thief, sizeof thief, forged.data,
                                   forged.len),
             DTLSGATE_OK);
    CHECK_EQ(dtlsgate_server_poll(srv, evs, 4, 0), 0);
    CHECK_EQ(STAT(srv, refused_moves), 1);
    CHECK_EQ(dtlsgate_server_input(srv, sa_of(&c), sizeof c.from, d.data, d.len), DTLSGATE_OK);
    if (one_event(srv, DTLSGATE_SERVER_EVENT_DATA, &c, &e))
        CHECK_MEM(e.data, e.data_len, "genuine", 7);
    CHECK_EQ(dtlsgate_server_input(srv, (const struct sockaddr *)&thief, sizeof thief, d.data, d.len),
             DTLSGATE_OK);
    CHECK_EQ(dtlsgate_server_poll(srv, evs, 4, 0), 0);
    CHECK_EQ(STAT(srv, refused_moves), 2);
    CHECK_EQ(STAT(srv, moves), 1);
    CHECK_EQ(dtlsgate_server_send(srv, sa_of(&c), sizeof c.from, (const uint8_t *)"still", 5),
             DTLSGATE_OK);
    shuttle1(srv, &c);
    CHECK_STR(c.got, "still");

    /* A record with an ID no session holds is dropped before the verifier. */
    forged.data[11] ^= 0xff;
    uint64_t stranger = STAT(srv, dropped_stranger);
    CHECK_EQ(dtlsgate_server_input(srv, (const struct sockaddr *)&thief, sizeof thief, forged.data,
                                   forged.len),
             DTLSGATE_OK);
    CHECK_EQ(STAT(srv, dropped_unknown_cid), 1);
    CHECK_EQ(STAT(srv, dropped_stranger), stranger);
    CHECK_EQ(STAT(srv, hello_verifies), 1); /* the first handshake's */

    /* A client that does not ask gets plain records and no ID. */
    client_t plain;
    cid_connect(srv, &plain, DTLSGATE_NO_CONNECTION_ID, 41010, &e);
    CHECK(e.connection_id == NULL);
    CHECK_EQ(e.connection_id_len, 0);
    n = sizeof id;
    CHECK_EQ(dtlsgate_session_peer_connection_id(plain.s, id, &n), 0);
    record_of(&plain, "plain", &d);
    CHECK_EQ(d.data[0], 23);
    dtlsgate_session_free(plain.s);
    dtlsgate_session_free(c.s);
    dtlsgate_server_free(srv);

    /* A server without IDs answers no client with one. */
    cfg = defaults();
    cfg.connection_id_length = DTLSGATE_NO_CONNECTION_ID;
    srv = new_server(&cfg);
    dtlsgate_server_set_psk(srv, (const uint8_t *)"alice", 5, KEY, sizeof KEY);
    cid_connect(srv, &c, 8, 41020, &e);
    CHECK_EQ(e.connection_id_len, 0);
    n = sizeof id;
    CHECK_EQ(dtlsgate_session_connection_id(c.s, id, &n), 0);
    dtlsgate_session_free(c.s);
    dtlsgate_server_free(srv);
    check_context = "";
}

/* Managed, with connection IDs: a client that goes on from another socket
 * (a NAT rebinding) keeps its session; the server reports the move, with
 * both ports, and answers at the new one. With four workers the record
 * from the new port may reach another worker than the session's, which
 * passes it on (stats.routed_cid). */
static void test_managed_moves(void)
{
    check_context = "managed, connection ID moves";
    dtlsgate_server_config cfg = defaults();
    cfg.workers = 4;
    cfg.node_id = 9;
    dtlsgate_server *srv = new_server(&cfg);
    CHECK_EQ(dtlsgate_server_set_psk(srv, (const uint8_t *)"alice", 5, KEY, sizeof KEY), DTLSGATE_OK);
    CHECK_EQ(dtlsgate_server_listen(srv, "127.0.0.1:0"), DTLSGATE_OK);
    struct sockaddr_storage local;
    socklen_t local_len = sizeof local;
    CHECK_EQ(dtlsgate_server_local_address(srv, &local, &local_len), DTLSGATE_OK);
    uint16_t port = ntohs(((struct sockaddr_in *)&local)->sin_port);
    udp_t before, after;
    if (!CHECK(udp_open(AF_INET, "127.0.0.1", &before) == 0))
        return;
    if (!CHECK(udp_open(AF_INET, "127.0.0.1", &after) == 0)) {
        udp_close(&before);
        return;
    }
    client_psk psk = {"alice", KEY, sizeof KEY};
    dtlsgate_session *c = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    dtlsgate_session_set_psk_callback(c, on_client_psk, &psk);
    CHECK_EQ(dtlsgate_session_set_peer(c, "127.0.0.1", port), 1);
    CHECK_EQ(dtlsgate_session_set_connection_id_length(c, DTLSGATE_EMPTY_CONNECTION_ID), 1);
    CHECK_EQ(dtlsgate_session_do_handshake(c, before.fd, NULL, 0), 1);

    static uint8_t buf[DTLSGATE_MAX_DATAGRAM];
    char echoed[64] = "";
    int connected = 0, moved = 0, sent = 0;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > 10 || echoed[0])
            break;
        struct pollfd p[3] = {{.fd = before.fd, .events = POLLIN},
                              {.fd = after.fd, .events = POLLIN},
                              {.fd = dtlsgate_server_fd(srv), .events = POLLIN}};
        if (poll(p, 3, 200) <= 0)
            continue;
        for (int i = 0; i < 2; i++) {
            if (!(p[i].revents & POLLIN))
                continue;
            long n = recv(p[i].fd, buf, sizeof buf, 0);
            if (n > 0 && dtlsgate_session_handshake_state(c) == DTLSGATE_HANDSHAKE_IN_PROGRESS) {
                CHECK_EQ(dtlsgate_session_do_handshake(c, before.fd, buf, (size_t)n), 1);
            } else if (n > 0) {
                CHECK_EQ(p[i].fd, after.fd); /* once moved, nothing goes to the old port */
                size_t pn = sizeof echoed - 1;
                if (dtlsgate_session_decrypt_datagram(c, after.fd, buf, (size_t)n, (uint8_t *)echoed, &pn) == 1)
                    echoed[pn] = 0;
            }
        }
        /* The NAT forgot the client: it goes on from another port. */
        if (!sent && dtlsgate_session_is_connection_encrypted(c) == 1)
            sent = dtlsgate_session_write_datagram_encrypted(c, after.fd, (const uint8_t *)"moved", 5) == 5;
        if (!(p[2].revents & POLLIN))
            continue;
        dtlsgate_server_event evs[8];
        int n = dtlsgate_server_poll(srv, evs, 8, 0);
        for (int i = 0; i < n; i++) {
            dtlsgate_server_event *e = &evs[i];
            uint16_t at = ntohs(((struct sockaddr_in *)&e->peer)->sin_port);
            switch (e->type) {
            case DTLSGATE_SERVER_EVENT_CONNECTED:
                connected++;
                CHECK_EQ(at, before.port);
                if (CHECK_EQ(e->connection_id_len, DTLSGATE_CONNECTION_ID_DEFAULT_LENGTH))
                    CHECK_EQ(e->connection_id[0], 9);
                break;
            case DTLSGATE_SERVER_EVENT_MOVED:
                moved++;
                CHECK_EQ(at, after.port);
                CHECK_EQ(ntohs(((struct sockaddr_in *)&e->old_peer)->sin_port), before.port);
                break;
            case DTLSGATE_SERVER_EVENT_DATA:
                CHECK_EQ(moved, 1); /* the move is told before the data */
                CHECK_EQ(at, after.port);
                CHECK_EQ(dtlsgate_server_send(srv, (struct sockaddr *)&e->peer, e->peer_len, e->data,
                                              e->data_len),
                         DTLSGATE_OK);
                break;
            default:
                CHECK(!"unexpected event");
            }
        }
    }
    CHECK_EQ(connected, 1);
    CHECK_EQ(moved, 1);
    CHECK_STR(echoed, "moved");
    dtlsgate_server_stats st = {.size = sizeof st};
    CHECK_EQ(dtlsgate_server_get_stats(srv, &st), DTLSGATE_OK);
    CHECK_EQ(st.moves, 1);
    CHECK_EQ(st.handshakes_completed, 1);
    CHECK(st.routed_cid <= 1);
    CHECK_EQ(dtlsgate_server_stop(srv), DTLSGATE_OK);
    dtlsgate_server_free(srv);
    dtlsgate_session_free(c);
    udp_close(&before);
    udp_close(&after);
    check_context = "";
}

/* ---------------------------------------------------------------------------
 * The key a PSK callback hands the server leaves no copy behind: the
 * library's copies are wiped once the handshake has taken the key. Both
 * callbacks unmask the key only into the buffer they hand over (volatile,
 * so the compiler keeps it out of vector registers) and wipe their own.
 */

enum { KEY_MASK = 0x5A };
static uint8_t masked_key[32];

static void unmask_key(volatile uint8_t *to)
{
    for (size_t i = 0; i < sizeof masked_key; i++)
        to[i] = masked_key[i] ^ KEY_MASK;
}

static void on_client_masked_psk(void *user, dtlsgate_psk_authenticator *a)
{
    (void)user;
    uint8_t key[sizeof masked_key];
    unmask_key(key);
    dtlsgate_psk_authenticator_set_identity(a, (const uint8_t *)"masked", 6);
    dtlsgate_psk_authenticator_set_pre_shared_key(a, key, sizeof key);
    explicit_bzero(key, sizeof key);
}

static int lookup_masked(void *user, const struct sockaddr *peer, socklen_t peer_len,
                         const uint8_t *identity, size_t identity_len, uint8_t *key, size_t *key_len)
{
    (void)user, (void)peer, (void)peer_len, (void)identity, (void)identity_len;
    if (*key_len < sizeof masked_key)
        return DTLSGATE_PSK_REFUSE;
    unmask_key(key);
    *key_len = sizeof masked_key;
    return DTLSGATE_PSK_FOUND;
}

static void test_callback_key_not_left(void)
{
    check_context = "PSK callback key wiped";
    int fd = open("/dev/urandom", O_RDONLY);
    if (!CHECK(fd >= 0) || !CHECK_EQ(read(fd, masked_key, sizeof masked_key), (long long)sizeof masked_key))
        return;
    close(fd);
    CHECK_EQ(key_copies(masked_key, sizeof masked_key, KEY_MASK), 0);
    dtlsgate_server_config cfg = defaults();
    cfg.psk_callback = lookup_masked;
    dtlsgate_server *srv = new_server(&cfg);
    client_t c;
    client_start(&c, "masked", NULL, 0, 40090);
    CHECK_EQ(dtlsgate_session_set_psk_callback(c.s, on_client_masked_psk, NULL), DTLSGATE_OK);
    shuttle1(srv, &c);
    dtlsgate_server_event e;
    CHECK(one_event(srv, DTLSGATE_SERVER_EVENT_CONNECTED, &c, &e));
    CHECK_EQ(key_copies(masked_key, sizeof masked_key, KEY_MASK), 0);
    dtlsgate_session_free(c.s);
    dtlsgate_server_free(srv);
    CHECK_EQ(key_copies(masked_key, sizeof masked_key, KEY_MASK), 0);
    check_context = "";
}

int main(void)
{
    test_config();
    test_socketless();
    test_timers();
    test_psk_callback();
    test_callback_key_not_left();
    test_psk_requests();
    test_key_table();
    test_cid_config();
    test_cid_moves();
    test_poll_threads();
    test_bad_arguments();
    test_free_races(3, 20);
    test_limit_sessions();
    test_limit_half_open();
    test_limit_per_ip();
    test_limit_deadline();
    test_limit_idle();
    test_limit_buffered();
    /* Memcheck (valgrind 3.19) loses track of the Go runtime's memory
     * once its collector has a lot to do: the workers' goroutines, or
     * thousands of records, end in false "invalid write" reports inside
     * the runtime's write barrier and an abort of the leak check ("the
     * 'impossible' happened": overlapping blocks). Those parts run in
     * every other build of this test. */
    const char *preload = getenv("LD_PRELOAD");
    if (preload && strstr(preload, "vgpreload")) {
        printf("test_server: the event queue bound and managed mode not run under valgrind (see main)\n");
    } else {
        test_queue_bound();
        test_many_clients();
        test_managed(AF_INET);
        test_managed(AF_INET6);
        test_managed_moves();
        test_free_listening();
        test_free_races(4, 50);
    }
    return check_report();
}
