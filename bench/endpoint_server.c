/* SPDX-License-Identifier: MIT */
/*
 * endpoint_server.c - the echo server a user of the endpoint writes: the
 * library owns the sockets (managed mode, dtlsgate_server_listen), this
 * program only waits on dtlsgate_server_fd(), takes events with
 * dtlsgate_server_poll() and answers each message with "echo: MESSAGE",
 * as the secure UDP examples do (examples/CONTRACT.md). bench/load.sh
 * puts it under load next to the hand-written example server.
 *
 * Usage: endpoint_server ADDRESS PORT WORKERS [--psk HEX]
 * WORKERS 0 means one per core. The key belongs to the identity
 * "dtlsgate example client". The first line is
 * "server: listening on ADDRESS:PORT"; on SIGINT or SIGTERM it stops
 * (close_notify to every peer), prints one line of counters and exits 0.
 */
#define _POSIX_C_SOURCE 200809L

#include <poll.h>

#include "../examples/c/example.h"

#define IDENTITY "dtlsgate example client"
#define PREFIX "echo: "
#define MAX_EVENTS 256

static void usage(void)
{
    fprintf(stderr, "usage: endpoint_server ADDRESS PORT WORKERS [--psk HEX]\n");
    exit(2);
}

/* Answers the events waiting; returns how many there were. */
static int serve_events(dtlsgate_server *srv)
{
    static dtlsgate_server_event ev[MAX_EVENTS];
    static uint8_t reply[sizeof PREFIX - 1 + 16384];
    int n = dtlsgate_server_poll(srv, ev, MAX_EVENTS, 0);
    if (n < 0)
        die("dtlsgate_server_poll", n);
    for (int i = 0; i < n; i++) {
        if (ev[i].type != DTLSGATE_SERVER_EVENT_DATA)
            continue;
        size_t len = ev[i].data_len;
        if (len > sizeof reply - (sizeof PREFIX - 1))
            len = sizeof reply - (sizeof PREFIX - 1);
        memcpy(reply, PREFIX, sizeof PREFIX - 1);
        memcpy(reply + sizeof PREFIX - 1, ev[i].data, len);
        int rc = dtlsgate_server_send(srv, (const struct sockaddr *)&ev[i].peer, ev[i].peer_len,
                                      reply, sizeof PREFIX - 1 + len);
        /* The peer may have gone (closed, evicted) since its message came. */
        if (rc != DTLSGATE_OK && rc != DTLSGATE_E_NOT_FOUND)
            die("dtlsgate_server_send", rc);
    }
    return n;
}

int main(int argc, char **argv)
{
    const char *key_hex = EXAMPLE_DEFAULT_KEY;
    if (argc < 4)
        usage();
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--psk") == 0 && i + 1 < argc)
            key_hex = argv[++i];
        else
            usage();
    }
    char *end;
    long workers = strtol(argv[3], &end, 10);
    if (*end || workers < 0 || workers > 1024)
        usage();
    uint8_t key[EXAMPLE_MAX_KEY];
    int key_len = parse_hex_key(key_hex, key);
    if (key_len < 0) {
        fprintf(stderr, "endpoint_server: --psk wants 1 to %d bytes in hex\n", EXAMPLE_MAX_KEY);
        return 2;
    }

    dtlsgate_server_config cfg = {.size = sizeof cfg};
    dtlsgate_server_config_init(&cfg);
    cfg.workers = (uint32_t)workers;
    dtlsgate_server *srv;
    int rc = dtlsgate_server_new(&cfg, &srv);
    if (rc != DTLSGATE_OK)
        die("dtlsgate_server_new", rc);
    rc = dtlsgate_server_set_psk(srv, (const uint8_t *)IDENTITY, strlen(IDENTITY), key,
                                 (size_t)key_len);
    if (rc != DTLSGATE_OK)
        die("dtlsgate_server_set_psk", rc);

    char address[PEER_NAME_MAX + 8];
    snprintf(address, sizeof address, strchr(argv[1], ':') ? "[%s]:%s" : "%s:%s", argv[1],
             argv[2]);
    if ((rc = dtlsgate_server_listen(srv, address)) != DTLSGATE_OK) {
        fprintf(stderr, "endpoint_server: cannot listen on %s: %s\n", address,
                dtlsgate_last_error_message());
        return 1;
    }
    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof bound;
    if ((rc = dtlsgate_server_local_address(srv, &bound, &bound_len)) != DTLSGATE_OK)
        die("dtlsgate_server_local_address", rc);
    char name[PEER_NAME_MAX];
    format_peer((struct sockaddr *)&bound, bound_len, name, sizeof name);

    struct pollfd fds[2] = {{.fd = dtlsgate_server_fd(srv), .events = POLLIN},
                            {.fd = catch_stop_signals(), .events = POLLIN}};
    say("server: listening on %s", name);
    while (!stop_requested) {
        if (poll(fds, 2, -1) < 0 && errno != EINTR) {
            perror("poll");
            return 1;
        }
        /* Drain what waits before sleeping again: one wake-up, many events. */
        while (!stop_requested && serve_events(srv) > 0) {
        }
    }

    if ((rc = dtlsgate_server_stop(srv)) != DTLSGATE_OK)
        die("dtlsgate_server_stop", rc);
    dtlsgate_server_stats st = {.size = sizeof st};
    if ((rc = dtlsgate_server_get_stats(srv, &st)) != DTLSGATE_OK)
        die("dtlsgate_server_get_stats", rc);
    say("server: stopped: %llu datagrams, %llu handshakes completed, %llu failed, %llu timed "
        "out, %llu half-open evicted, %llu per-IP evicted, %llu data dropped",
        (unsigned long long)st.datagrams, (unsigned long long)st.handshakes_completed,
        (unsigned long long)st.handshakes_failed, (unsigned long long)st.handshake_timeouts,
        (unsigned long long)st.evicted_half_open, (unsigned long long)st.evicted_half_open_per_ip,
        (unsigned long long)st.dropped_buffered);
    dtlsgate_server_free(srv);
    return 0;
}
