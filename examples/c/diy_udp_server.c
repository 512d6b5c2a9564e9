/* SPDX-License-Identifier: MIT */
/*
 * diy_udp_server.c - a DTLS echo server with pre-shared keys, done by hand:
 * dtlsgate's port of Qt's secure UDP server example to C, on the low-level
 * verifier and session API. secure_udp_server.c is the same server on the
 * library's endpoint, which does all of this (and the limits below) itself;
 * this one shows what that means, and bench/load.sh measures one against
 * the other.
 *
 * One UDP socket serves every client. A datagram from an address without a
 * connection goes to the verifier, which answers a ClientHello without a
 * valid cookie by a HelloVerifyRequest and lets one with a cookie through;
 * only then does the server keep state for that client: a session that
 * continues the handshake from the verified ClientHello. After the
 * handshake each message is echoed back as "echo: MESSAGE".
 *
 * A verified ClientHello from a peer that has a session starts a second,
 * pending handshake and leaves the session working: the ClientHello may be
 * a replay (RFC 6347, 4.2.8). Only when that handshake completes does its
 * session replace the old one.
 *
 * Usage: diy_udp_server ADDRESS PORT [--psk HEX] [--hint TEXT] [--deadline SECONDS]
 * The lines it prints are listed in examples/CONTRACT.md. SIGINT or
 * SIGTERM closes every connection with close_notify and exits 0.
 *
 * Left out to stay short, and needed by a public server: an idle timeout
 * for connections whose peer vanished without close_notify, a limit per
 * source address, and evicting the oldest unfinished handshake when the
 * table is full (an unanswered handshake holds its slot for minutes).
 */
#define _POSIX_C_SOURCE 200809L

#include <poll.h>

#include "example.h"

#define MAX_CONNECTIONS 256

typedef struct {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char name[PEER_NAME_MAX]; /* "127.0.0.1:5555" */
    dtlsgate_session *session;
    dtlsgate_session *pending; /* a second handshake, while session is established */
} connection;

static connection *connections[MAX_CONNECTIONS];
static int server_fd;
static dtlsgate_verifier *verifier;
static uint8_t psk[EXAMPLE_MAX_KEY];
static int psk_len;
static const char *identity_hint = "dtlsgate example server";
static uint32_t deadline_ms = 30000;
static uint8_t datagram[65536];

/* The PSK callback: any identity is welcome, the key is the server's. */
static void on_psk_required(void *user_data, dtlsgate_psk_authenticator *auth)
{
    connection *c = user_data;
    say("server: %s PSK identity \"%s\"", c->name,
        authenticator_text(dtlsgate_psk_authenticator_identity, auth));
    dtlsgate_psk_authenticator_set_pre_shared_key(auth, psk, (size_t)psk_len);
}

static connection *find(const struct sockaddr_storage *addr, socklen_t len)
{
    for (int i = 0; i < MAX_CONNECTIONS; i++)
        if (connections[i] && connections[i]->addr_len == len &&
            memcmp(&connections[i]->addr, addr, len) == 0)
            return connections[i];
    return NULL;
}

static void drop(connection *c)
{
    for (int i = 0; i < MAX_CONNECTIONS; i++)
        if (connections[i] == c)
            connections[i] = NULL;
    dtlsgate_session_free(c->session);
    dtlsgate_session_free(c->pending);
    free(c);
}

/* Ends session s of c after a failure: a pending handshake goes alone and
 * the established session stays; c's only session takes c with it. */
static void forget(connection *c, dtlsgate_session *s, const char *why)
{
    say("server: %s %s: %s", c->name, why, session_error(s));
    if (s == c->pending) {
        dtlsgate_session_free(s);
        c->pending = NULL;
    } else {
        drop(c);
    }
}

/* Feeds a datagram to a handshake in progress: c's first or its pending one. */
static void handshake(connection *c, dtlsgate_session *s, size_t len)
{
    if (dtlsgate_session_do_handshake(s, server_fd, datagram, len) != 1) {
        forget(c, s, "handshake failed");
    } else if (dtlsgate_session_is_connection_encrypted(s) == 1) {
        say("server: %s handshake complete (%s)", c->name, session_summary(s));
        if (s == c->pending) { /* the peer proved it holds the key: now it may replace */
            say("server: %s started over", c->name);
            dtlsgate_session_free(c->session);
            c->session = s;
            c->pending = NULL;
        }
    }
}

static connection *add_connection(const struct sockaddr_storage *addr, socklen_t len,
                                  const char *name)
{
    int slot = 0;
    while (slot < MAX_CONNECTIONS && connections[slot])
        slot++;
    if (slot == MAX_CONNECTIONS) {
        say("server: %s refused: %d connections already", name, MAX_CONNECTIONS);
        return NULL;
    }
    connection *c = calloc(1, sizeof *c);
    if (!c) {
        perror("calloc");
        exit(1);
    }
    memcpy(&c->addr, addr, len);
    c->addr_len = len;
    snprintf(c->name, sizeof c->name, "%s", name);
    return connections[slot] = c;
}

/* A verified ClientHello: a new session and its handshake. For a peer
 * with a session (c) it is the pending one, replacing an earlier pending. */
static void accept_client(const struct sockaddr_storage *addr, socklen_t len, const char *name,
                          size_t hello_len, connection *c)
{
    if (!c && !(c = add_connection(addr, len, name)))
        return;
    dtlsgate_session *s = dtlsgate_session_new(DTLSGATE_SSL_SERVER_MODE);
    if (!s)
        die("dtlsgate_session_new", DTLSGATE_E_INTERNAL);
    if (c->session) {
        dtlsgate_session_free(c->pending);
        c->pending = s;
    } else {
        c->session = s;
    }

    /* The session checks the cookie again with the verifier's secret. */
    if (dtlsgate_session_set_peer_sockaddr(s, (const struct sockaddr *)addr, len) != 1 ||
        dtlsgate_session_set_cookie_verifier(s, verifier) != 1 ||
        dtlsgate_session_set_identity_hint(s, (const uint8_t *)identity_hint,
                                           strlen(identity_hint)) != 1 ||
        dtlsgate_session_set_handshake_deadline(s, deadline_ms) != 1 ||
        dtlsgate_session_set_psk_callback(s, on_psk_required, c) != DTLSGATE_OK) {
        forget(c, s, "cannot set up a session");
        return;
    }
    say("server: %s cookie verified, starting handshake", name);
    handshake(c, s, hello_len);
}

static void screen(const struct sockaddr_storage *from, socklen_t from_len, size_t len,
                   connection *existing);

/* A datagram from a client with a session. */
static void serve(connection *c, size_t len)
{
    dtlsgate_session *s = c->session;
    if (dtlsgate_session_handshake_state(s) == DTLSGATE_HANDSHAKE_IN_PROGRESS) {
        handshake(c, s, len);
        return;
    }

    static uint8_t message[sizeof datagram];
    size_t n = sizeof message;
    int rc = dtlsgate_session_decrypt_datagram(s, server_fd, datagram, len, message, &n);
    if (rc < 0)
        die("dtlsgate_session_decrypt_datagram", rc);
    if (rc == 0) {
        if (dtlsgate_session_dtls_error(s) == DTLSGATE_REMOTE_CLOSED_CONNECTION_ERROR)
            say("server: %s closed the connection", c->name);
        else
            say("server: %s connection failed: %s", c->name, session_error(s));
        drop(c);
        return;
    }
    if (n == 0) {
        /* Nothing for the session. A ClientHello goes to the verifier (it
         * may start a pending handshake); the rest, if a handshake is
         * pending, is for that handshake. */
        if (c->pending && !is_client_hello(datagram, len))
            handshake(c, c->pending, len);
        else
            screen(&c->addr, c->addr_len, len, c);
        return;
    }

    /* Line-oriented peers such as openssl s_client end with a newline:
     * it is echoed, not printed. */
    int shown = (int)n;
    while (shown > 0 && (message[shown - 1] == '\n' || message[shown - 1] == '\r'))
        shown--;
    say("server: %s says \"%.*s\"", c->name, shown, (const char *)message);
    static uint8_t reply[sizeof message + 6];
    memcpy(reply, "echo: ", 6);
    memcpy(reply + 6, message, n);
    size_t reply_len = n + 6 > 16384 ? 16384 : n + 6;
    if (dtlsgate_session_is_connection_encrypted(s) != 1) { /* the message came with an alert */
        say("server: %s closed the connection", c->name);
        drop(c);
        return;
    }
    if (dtlsgate_session_write_datagram_encrypted(s, server_fd, reply, reply_len) <= 0)
        say("server: %s cannot reply: %s", c->name, session_error(s));
}

/* A datagram from anyone else: only the verifier talks to strangers. A
 * datagram from a peer with a session comes here too when it carried no
 * data (existing is that connection): it may be the peer starting over. */
static void screen(const struct sockaddr_storage *from, socklen_t from_len, size_t len,
                   connection *existing)
{
    char name[PEER_NAME_MAX];
    uint8_t reply[DTLSGATE_HELLO_VERIFY_REQUEST_MAX];
    size_t reply_len = sizeof reply;
    format_peer((const struct sockaddr *)from, from_len, name, sizeof name);
    int verdict = dtlsgate_verifier_check(verifier, datagram, len, (const struct sockaddr *)from,
                                          from_len, reply, &reply_len);
    switch (verdict) {
    case DTLSGATE_CHECK_SEND_REPLY:
        if (sendto(server_fd, reply, reply_len, 0, (const struct sockaddr *)from, from_len) < 0)
            say("server: %s cannot send HelloVerifyRequest: %s", name, strerror(errno));
        else
            say("server: %s no cookie yet, sent HelloVerifyRequest", name);
        break;
    case DTLSGATE_CHECK_VERIFIED:
        accept_client(from, from_len, name, len, existing);
        break;
    case DTLSGATE_CHECK_DROP:
    case DTLSGATE_E_INVALID_ARGUMENT: /* a broadcast or odd source address */
        break;
    default:
        die("dtlsgate_verifier_check", verdict);
    }
}

/* Retransmits if s's timer is due; lowers *next to the ms until its next one. */
static void serve_timer(connection *c, dtlsgate_session *s, int *next)
{
    uint32_t ms;
    if (!s || dtlsgate_session_remaining_timeout(s, &ms) != 1)
        return;
    if (ms == 0) {
        if (dtlsgate_session_handle_timeout(s, server_fd) != 1) {
            forget(c, s, "handshake failed");
            return;
        }
        if (dtlsgate_session_remaining_timeout(s, &ms) != 1)
            return;
    }
    if (*next < 0 || (int)ms < *next)
        *next = (int)ms;
}

/* Serves due retransmission timers; returns the poll timeout until the next. */
static int run_timers(void)
{
    int next = -1;
    for (int i = 0; i < MAX_CONNECTIONS; i++) {
        connection *c = connections[i];
        if (!c)
            continue;
        serve_timer(c, c->pending, &next); /* first: its failure leaves c in place */
        serve_timer(c, c->session, &next); /* may drop c */
    }
    return next;
}

static void shut_down(void)
{
    int closed = 0;
    for (int i = 0; i < MAX_CONNECTIONS; i++) {
        connection *c = connections[i];
        if (!c)
            continue;
        if (dtlsgate_session_is_connection_encrypted(c->session) == 1 &&
            dtlsgate_session_shutdown(c->session, server_fd) == 1)
            closed++;
        drop(c);
    }
    say("server: shutting down, closed %d connection(s)", closed);
}

static void usage(void)
{
    fprintf(stderr, "usage: diy_udp_server ADDRESS PORT [--psk HEX] [--hint TEXT] [--deadline SECONDS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *key_hex = EXAMPLE_DEFAULT_KEY;
    if (argc < 3)
        usage();
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--psk") == 0 && i + 1 < argc)
            key_hex = argv[++i];
        else if (strcmp(argv[i], "--hint") == 0 && i + 1 < argc)
            identity_hint = argv[++i];
        else if (strcmp(argv[i], "--deadline") == 0 && i + 1 < argc)
            deadline_ms = option_ms("--deadline", argv[++i]);
        else
            usage();
    }
    if ((psk_len = parse_hex_key(key_hex, psk)) < 0) {
        fprintf(stderr, "diy_udp_server: --psk wants 1 to %d bytes in hex\n", EXAMPLE_MAX_KEY);
        return 2;
    }

    struct addrinfo *ai = numeric_address(argv[1], argv[2], 1);
    server_fd = socket(ai->ai_family, SOCK_DGRAM, 0);
    if (server_fd < 0 || bind(server_fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        fprintf(stderr, "diy_udp_server: cannot bind %s %s: %s\n", argv[1], argv[2],
                strerror(errno));
        return 1;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof bound;
    char name[PEER_NAME_MAX];
    getsockname(server_fd, (struct sockaddr *)&bound, &bound_len);
    format_peer((struct sockaddr *)&bound, bound_len, name, sizeof name);

    verifier = dtlsgate_verifier_new();
    if (!verifier)
        die("dtlsgate_verifier_new", DTLSGATE_E_INTERNAL);
    struct pollfd fds[2] = {{.fd = server_fd, .events = POLLIN},
                            {.fd = catch_stop_signals(), .events = POLLIN}};
    say("server: listening on %s", name);

    while (!stop_requested) {
        int timeout = run_timers();
        if (poll(fds, 2, timeout) < 0 && errno != EINTR) {
            perror("poll");
            return 1;
        }
        if (!(fds[0].revents & POLLIN))
            continue;
        struct sockaddr_storage from;
        socklen_t from_len = sizeof from;
        ssize_t n = recvfrom(server_fd, datagram, sizeof datagram, 0, (struct sockaddr *)&from,
                             &from_len);
        if (n <= 0)
            continue; /* an ICMP error surfacing, or an empty datagram */
        connection *c = find(&from, from_len);
        if (c)
            serve(c, (size_t)n);
        else
            screen(&from, from_len, (size_t)n, NULL);
    }
    shut_down();
    dtlsgate_verifier_free(verifier);
    close(server_fd);
    return 0;
}
