/* SPDX-License-Identifier: MIT */
/*
 * secure_udp_server.c - a DTLS echo server with pre-shared keys on the
 * library's server endpoint: dtlsgate's port of Qt's secure UDP server
 * example to C.
 *
 * The endpoint owns the sockets (managed mode, dtlsgate_server_listen): it
 * answers strangers with cookies, runs the handshakes and their timers,
 * handles restarted clients and enforces the limits (sessions, half-open
 * handshakes in all and per address, handshake deadline, idle timeout,
 * buffered bytes). This program waits on the endpoint's event descriptor,
 * prints each event and answers each message with "echo: MESSAGE".
 * diy_udp_server.c is the same server written by hand on the low-level
 * session API.
 *
 * Usage: secure_udp_server ADDRESS PORT [--psk HEX] [--hint TEXT]
 *            [--deadline SECONDS] [--max-sessions N] [--idle SECONDS]
 * The lines it prints are listed in examples/CONTRACT.md. SIGINT or
 * SIGTERM closes every connection with close_notify and exits 0.
 */
#define _POSIX_C_SOURCE 200809L

#include <poll.h>

#include "example.h"

#define MAX_EVENTS 64
#define ECHO "echo: "

static uint8_t psk[EXAMPLE_MAX_KEY];
static int psk_len;
static int closed_at_shutdown;

/* The contract's word for each DTLSGATE_SERVER_CLOSED_* but BY_PEER. */
static const char *ended_why(int reason)
{
    switch (reason) {
    case DTLSGATE_SERVER_CLOSED_FATAL:
        return "fatal";
    case DTLSGATE_SERVER_CLOSED_BY_APP:
        return "closed by app";
    case DTLSGATE_SERVER_CLOSED_IDLE:
        return "idle";
    case DTLSGATE_SERVER_CLOSED_EVICTED:
        return "evicted";
    case DTLSGATE_SERVER_CLOSED_REPLACED:
        return "replaced";
    case DTLSGATE_SERVER_CLOSED_SHUTDOWN:
        return "shutdown";
    default:
        return "unknown";
    }
}

static void echo(dtlsgate_server *srv, const dtlsgate_server_event *ev, const char *peer)
{
    /* Line-oriented peers such as openssl s_client end with a newline: it
     * is echoed, not printed. */
    int shown = (int)ev->data_len;
    while (shown > 0 && (ev->data[shown - 1] == '\n' || ev->data[shown - 1] == '\r'))
        shown--;
    say("server: %s says \"%.*s\"", peer, shown, (const char *)ev->data);

    static uint8_t reply[16384]; /* one record's worth; longer messages are cut */
    size_t len = sizeof ECHO - 1 + ev->data_len;
    if (len > sizeof reply)
        len = sizeof reply;
    memcpy(reply, ECHO, sizeof ECHO - 1);
    memcpy(reply + sizeof ECHO - 1, ev->data, len - (sizeof ECHO - 1));
    int rc = dtlsgate_server_send(srv, (const struct sockaddr *)&ev->peer, ev->peer_len, reply, len);
    /* The peer may have gone (closed, evicted) since its message came. */
    if (rc != DTLSGATE_OK && rc != DTLSGATE_E_NOT_FOUND)
        die("dtlsgate_server_send", rc);
}

static void handle(dtlsgate_server *srv, const dtlsgate_server_event *ev)
{
    char peer[PEER_NAME_MAX];
    format_peer((const struct sockaddr *)&ev->peer, ev->peer_len, peer, sizeof peer);
    switch (ev->type) {
    case DTLSGATE_SERVER_EVENT_PSK_REQUEST: { /* any identity is welcome, the key is ours */
        int rc = dtlsgate_server_resolve_psk(srv, (const struct sockaddr *)&ev->peer, ev->peer_len,
                                             ev->identity, ev->identity_len, psk, (size_t)psk_len);
        if (rc != DTLSGATE_OK && rc != DTLSGATE_E_NOT_FOUND)
            die("dtlsgate_server_resolve_psk", rc);
        break;
    }
    case DTLSGATE_SERVER_EVENT_CONNECTED:
        say("server: %s PSK identity \"%.*s\"", peer, (int)ev->identity_len,
            (const char *)ev->identity);
        say("server: %s handshake complete (%s, DTLSv1.2)", peer, ev->cipher);
        break;
    case DTLSGATE_SERVER_EVENT_DATA:
        echo(srv, ev, peer);
        break;
    case DTLSGATE_SERVER_EVENT_MOVED: {
        char old[PEER_NAME_MAX];
        format_peer((const struct sockaddr *)&ev->old_peer, ev->old_peer_len, old, sizeof old);
        say("server: %s moved to %s", old, peer);
        break;
    }
    case DTLSGATE_SERVER_EVENT_CLOSED:
        if (ev->reason == DTLSGATE_SERVER_CLOSED_BY_PEER)
            say("server: %s closed the connection", peer);
        else
            say("server: %s session ended (%s)", peer, ended_why(ev->reason));
        closed_at_shutdown += ev->reason == DTLSGATE_SERVER_CLOSED_SHUTDOWN;
        break;
    }
}

/* Handles every event waiting, without blocking. */
static void serve_events(dtlsgate_server *srv)
{
    static dtlsgate_server_event events[MAX_EVENTS];
    int n;
    while ((n = dtlsgate_server_poll(srv, events, MAX_EVENTS, 0)) > 0)
        for (int i = 0; i < n; i++)
            handle(srv, &events[i]);
    if (n < 0)
        die("dtlsgate_server_poll", n);
}

static void usage(void)
{
    fprintf(stderr, "usage: secure_udp_server ADDRESS PORT [--psk HEX] [--hint TEXT] "
                    "[--deadline SECONDS] [--max-sessions N] [--idle SECONDS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *key_hex = EXAMPLE_DEFAULT_KEY, *hint = "dtlsgate example server";
    dtlsgate_server_config cfg = {.size = sizeof cfg};
    dtlsgate_server_config_init(&cfg);
    if (argc < 3)
        usage();
    for (int i = 3; i < argc; i++) {
        const char *option = argv[i], *value = i + 1 < argc ? argv[++i] : NULL;
        if (!value)
            usage();
        else if (strcmp(option, "--psk") == 0)
            key_hex = value;
        else if (strcmp(option, "--hint") == 0)
            hint = value;
        else if (strcmp(option, "--deadline") == 0)
            cfg.handshake_deadline_ms = option_ms(option, value);
        else if (strcmp(option, "--max-sessions") == 0)
            cfg.max_sessions = option_count(option, value);
        else if (strcmp(option, "--idle") == 0)
            cfg.idle_timeout_ms = option_ms(option, value); /* 0: never */
        else
            usage();
    }
    if ((psk_len = parse_hex_key(key_hex, psk)) < 0) {
        fprintf(stderr, "secure_udp_server: --psk wants 1 to %d bytes in hex\n", EXAMPLE_MAX_KEY);
        return 2;
    }
    cfg.identity_hint = (const uint8_t *)hint;
    cfg.identity_hint_len = strlen(hint);
    cfg.psk_requests = 1; /* ask us for every identity's key: see handle() */

    dtlsgate_server *srv;
    int rc = dtlsgate_server_new(&cfg, &srv);
    if (rc != DTLSGATE_OK) {
        fprintf(stderr, "secure_udp_server: %s\n", dtlsgate_last_error_message());
        return 2;
    }
    char address[PEER_NAME_MAX + 8];
    snprintf(address, sizeof address, strchr(argv[1], ':') ? "[%s]:%s" : "%s:%s", argv[1], argv[2]);
    if (dtlsgate_server_listen(srv, address) != DTLSGATE_OK) {
        fprintf(stderr, "secure_udp_server: cannot listen on %s: %s\n", address,
                dtlsgate_last_error_message());
        return 1;
    }
    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof bound;
    if ((rc = dtlsgate_server_local_address(srv, &bound, &bound_len)) != DTLSGATE_OK)
        die("dtlsgate_server_local_address", rc);
    char name[PEER_NAME_MAX];
    format_peer((struct sockaddr *)&bound, bound_len, name, sizeof name);

    /* The endpoint's descriptor is readable while events wait; the stop
     * signals write into a pipe polled next to it. */
    struct pollfd fds[2] = {{.fd = dtlsgate_server_fd(srv), .events = POLLIN},
                            {.fd = catch_stop_signals(), .events = POLLIN}};
    say("server: listening on %s", name);
    while (!stop_requested) {
        if (poll(fds, 2, -1) < 0 && errno != EINTR) {
            perror("poll");
            return 1;
        }
        serve_events(srv);
    }

    /* close_notify to every peer; their Closed events follow. */
    if ((rc = dtlsgate_server_stop(srv)) != DTLSGATE_OK)
        die("dtlsgate_server_stop", rc);
    serve_events(srv);
    say("server: shutting down, closed %d connection(s)", closed_at_shutdown);
    dtlsgate_server_free(srv);
    return 0;
}
