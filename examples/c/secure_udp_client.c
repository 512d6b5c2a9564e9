/* SPDX-License-Identifier: MIT */
/*
 * secure_udp_client.c - DTLS clients with pre-shared keys: dtlsgate's port
 * of Qt's secure UDP client example to C.
 *
 * Runs one or more connections to a server at once, each on its own UDP
 * socket. Each does the cookie exchange and the PSK handshake, sends a few
 * pings one after the other, waits for the echo of each, and closes with
 * close_notify.
 *
 * Usage: secure_udp_client ADDRESS PORT [--name NAME] [--clients N]
 *                          [--count K] [--psk HEX] [--identity TEXT]
 * The lines it prints are listed in examples/CONTRACT.md. Exit status 0
 * when every connection got all its echoes, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L

#include <poll.h>

#include "example.h"

#define MAX_CLIENTS 64
#define RUN_LIMIT_MS 15000

typedef struct {
    char name[64];
    int fd;
    dtlsgate_session *session;
    int sent, echoed; /* pings sent, echoes received */
    int finished;     /* 1: all echoes arrived, shut down; -1: failed */
} association;

static association clients[MAX_CLIENTS];
static int nclients = 1, count = 3;
static uint8_t psk[EXAMPLE_MAX_KEY];
static int psk_len;
static const char *identity = "dtlsgate example client";
static uint8_t datagram[65536];

static void on_psk_required(void *user_data, dtlsgate_psk_authenticator *auth)
{
    association *a = user_data;
    say("client %s: server's identity hint \"%s\"", a->name,
        authenticator_text(dtlsgate_psk_authenticator_identity_hint, auth));
    dtlsgate_psk_authenticator_set_identity(auth, (const uint8_t *)identity, strlen(identity));
    dtlsgate_psk_authenticator_set_pre_shared_key(auth, psk, (size_t)psk_len);
}

static void give_up(association *a, const char *why)
{
    say("client %s: failed: %s", a->name, why);
    a->finished = -1;
    if (dtlsgate_session_handshake_state(a->session) == DTLSGATE_HANDSHAKE_IN_PROGRESS)
        dtlsgate_session_abort_handshake(a->session);
}

static void send_ping(association *a)
{
    char ping[128];
    int n = snprintf(ping, sizeof ping, "ping %d from %s", ++a->sent, a->name);
    if (dtlsgate_session_write_datagram_encrypted(a->session, a->fd, (const uint8_t *)ping,
                                                  (size_t)n) <= 0)
        give_up(a, session_error(a->session));
    else
        say("client %s: sent \"%s\"", a->name, ping);
}

/* A datagram from the server for this connection. */
static void receive(association *a, size_t len)
{
    dtlsgate_session *s = a->session;
    if (dtlsgate_session_handshake_state(s) == DTLSGATE_HANDSHAKE_IN_PROGRESS) {
        if (dtlsgate_session_do_handshake(s, a->fd, datagram, len) != 1) {
            give_up(a, session_error(s));
        } else if (dtlsgate_session_is_connection_encrypted(s) == 1) {
            say("client %s: handshake complete (%s)", a->name, session_summary(s));
            send_ping(a);
        }
        return;
    }
    static uint8_t reply[sizeof datagram];
    size_t n = sizeof reply;
    int rc = dtlsgate_session_decrypt_datagram(s, a->fd, datagram, len, reply, &n);
    if (rc < 0)
        die("dtlsgate_session_decrypt_datagram", rc);
    if (rc == 0) {
        give_up(a, session_error(s));
        return;
    }
    if (n == 0)
        return;
    say("client %s: got \"%.*s\"", a->name, (int)n, (const char *)reply);
    if (dtlsgate_session_is_connection_encrypted(s) != 1) { /* the data came with an alert */
        give_up(a, session_error(s));
        return;
    }
    if (++a->echoed < count) {
        send_ping(a);
        return;
    }
    if (dtlsgate_session_shutdown(s, a->fd) == 1)
        say("client %s: shut down", a->name);
    a->finished = 1;
}

/* Opens the connection's socket, connected to the server so that only the
 * server's datagrams arrive on it, and starts the handshake. */
static void start(association *a, const struct addrinfo *server)
{
    a->fd = socket(server->ai_family, SOCK_DGRAM, 0);
    if (a->fd < 0 || connect(a->fd, server->ai_addr, server->ai_addrlen) != 0) {
        perror("socket");
        exit(1);
    }
    a->session = dtlsgate_session_new(DTLSGATE_SSL_CLIENT_MODE);
    if (!a->session)
        die("dtlsgate_session_new", DTLSGATE_E_INTERNAL);
    if (dtlsgate_session_set_peer_sockaddr(a->session, server->ai_addr, server->ai_addrlen) != 1 ||
        dtlsgate_session_set_psk_callback(a->session, on_psk_required, a) != DTLSGATE_OK ||
        dtlsgate_session_do_handshake(a->session, a->fd, NULL, 0) != 1)
        give_up(a, session_error(a->session));
}

static void usage(void)
{
    fprintf(stderr, "usage: secure_udp_client ADDRESS PORT [--name NAME] [--clients N] "
                    "[--count K] [--psk HEX] [--identity TEXT]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *name = "client", *key_hex = EXAMPLE_DEFAULT_KEY;
    if (argc < 3)
        usage();
    for (int i = 3; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!val)
            usage();
        i++;
        if (strcmp(opt, "--name") == 0)
            name = val;
        else if (strcmp(opt, "--clients") == 0)
            nclients = atoi(val);
        else if (strcmp(opt, "--count") == 0)
            count = atoi(val);
        else if (strcmp(opt, "--psk") == 0)
            key_hex = val;
        else if (strcmp(opt, "--identity") == 0)
            identity = val;
        else
            usage();
    }
    if (nclients < 1 || nclients > MAX_CLIENTS || count < 1 ||
        (psk_len = parse_hex_key(key_hex, psk)) < 0) {
        fprintf(stderr, "secure_udp_client: --clients 1..%d, --count >= 1, --psk in hex\n",
                MAX_CLIENTS);
        return 2;
    }

    struct addrinfo *server = numeric_address(argv[1], argv[2], 0);
    char where[PEER_NAME_MAX];
    format_peer(server->ai_addr, server->ai_addrlen, where, sizeof where);
    struct pollfd fds[MAX_CLIENTS + 1];
    fds[nclients] = (struct pollfd){.fd = catch_stop_signals(), .events = POLLIN};
    for (int i = 0; i < nclients; i++) {
        association *a = &clients[i];
        if (nclients == 1)
            snprintf(a->name, sizeof a->name, "%s", name);
        else
            snprintf(a->name, sizeof a->name, "%s-%d", name, i + 1);
        say("client %s: connecting to %s", a->name, where);
        start(a, server);
        fds[i] = (struct pollfd){.fd = a->fd, .events = POLLIN};
    }
    freeaddrinfo(server);

    long long deadline = now_ms() + RUN_LIMIT_MS;
    for (;;) {
        int busy = 0, timeout = (int)(deadline - now_ms());
        for (int i = 0; i < nclients; i++) {
            association *a = &clients[i];
            uint32_t ms;
            if (a->finished)
                continue;
            if (dtlsgate_session_remaining_timeout(a->session, &ms) != 1)
                continue;
            if (ms == 0) { /* handshakeTimeout: send the last flight again */
                /* A send that failed (ECONNREFUSED while nothing listens)
                 * leaves the handshake running for the next try; a
                 * handshake that failed does not. */
                if (dtlsgate_session_handle_timeout(a->session, a->fd) != 1 &&
                    dtlsgate_session_handshake_state(a->session) != DTLSGATE_HANDSHAKE_IN_PROGRESS) {
                    give_up(a, session_error(a->session));
                    continue;
                }
                if (dtlsgate_session_remaining_timeout(a->session, &ms) != 1)
                    continue;
            }
            if ((int)ms < timeout)
                timeout = (int)ms;
        }
        for (int i = 0; i < nclients; i++)
            busy |= !clients[i].finished;
        if (!busy || stop_requested || timeout <= 0)
            break;
        if (poll(fds, (nfds_t)nclients + 1, timeout) < 0 && errno != EINTR) {
            perror("poll");
            return 1;
        }
        for (int i = 0; i < nclients; i++) {
            if (!(fds[i].revents & POLLIN))
                continue;
            ssize_t n = recv(fds[i].fd, datagram, sizeof datagram, 0);
            if (n > 0 && !clients[i].finished)
                receive(&clients[i], (size_t)n);
            /* ECONNREFUSED: nothing listens there yet; the retransmission
             * timer tries again. Other errors end the connection. */
            else if (n < 0 && errno != ECONNREFUSED && !clients[i].finished)
                give_up(&clients[i], strerror(errno));
        }
    }

    int status = 0;
    for (int i = 0; i < nclients; i++) {
        association *a = &clients[i];
        if (a->finished == 0)
            give_up(a, stop_requested ? "interrupted" : "no answer in time");
        if (a->finished != 1)
            status = 1;
        dtlsgate_session_free(a->session);
        close(a->fd);
    }
    return status;
}
