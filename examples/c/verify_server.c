/* SPDX-License-Identifier: MIT */
/*
 * verify_server.c - a UDP server that lets DTLS clients in only after they
 * have returned a cookie, using dtlsgate's QDtlsClientVerifier-shaped API.
 *
 * The loop is the one from Qt's secure UDP server example:
 *
 *     datagram arrives from peer
 *       -> verifier.verifyClient(socket, datagram, peer)
 *       -> true:  the peer proved it owns its address; the datagram
 *                 (verifiedHello) starts a real DTLS handshake
 *          false: the library already answered with a HelloVerifyRequest
 *                 (or ignored a datagram that was not a ClientHello);
 *                 dtlsError tells whether something went wrong
 *
 * This example stops at that point: it prints what happened and never
 * continues the handshake, so the client eventually gives up.
 *
 * Usage: verify_server [--once] [--timeout SECONDS] [ADDRESS [PORT]]
 *   ADDRESS  numeric IPv4 or IPv6 address to bind (default 127.0.0.1)
 *   PORT     UDP port (default 0: let the system pick one)
 *   --once   exit after the first verified ClientHello
 *   --timeout SECONDS
 *            stop after this many seconds whatever happens
 *
 * Output: one line per event on stdout, each a word followed by key=value
 * fields, so people and scripts can both read it:
 *
 *   listening address=127.0.0.1 port=40123 library=0.1.0
 *   not-verified peer=127.0.0.1:5555 bytes=205
 *   verified peer=127.0.0.1:5555 bytes=237 hex=16feff...
 *   error peer=127.0.0.1:5555 bytes=205 code=3 name=UnderlyingSocketError message=...
 *   stopped reason=once datagrams=2 verified=1
 *
 * The last line's reason is once, SIGINT, SIGTERM, timeout or failure.
 *
 * "not-verified" with no error means: no valid cookie, so a
 * HelloVerifyRequest was sent, or not a usable ClientHello, so it was
 * ignored. verifyClient() does not say which (neither does Qt's).
 *
 * Exit status: 0 when stopped by --once, a signal (SIGINT, SIGTERM) or the
 * timeout; 3 when --once was given and the timeout came first; 1 on any
 * other failure; 2 on bad usage.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "example.h" /* signals and peer names, shared with the other examples */

/* Large enough for any UDP datagram. */
static uint8_t datagram[65536];

static void usage(FILE *out)
{
    fprintf(out,
            "usage: verify_server [--once] [--timeout SECONDS] [ADDRESS [PORT]]\n"
            "  ADDRESS            numeric IPv4 or IPv6 address to bind (default 127.0.0.1)\n"
            "  PORT               UDP port (default 0: the system picks one)\n"
            "  --once             exit after the first verified ClientHello\n"
            "  --timeout SECONDS  stop after this long, whatever happens\n");
}

/* A negative return from the library is a programming or internal error,
 * not something a client can cause: report it and give up. */
static void fail(const char *call, int status)
{
    fprintf(stderr, "verify_server: %s failed: %d (%s)\n", call, status,
            dtlsgate_strerror(status));
    exit(1);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Binds a UDP socket to address:port and prints the readiness line. */
static int open_socket(const char *address, const char *port)
{
    struct addrinfo hints, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;

    int rc = getaddrinfo(address, port, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "verify_server: bad address or port %s %s: %s\n", address, port,
                gai_strerror(rc));
        exit(2);
    }
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        fprintf(stderr, "verify_server: cannot bind %s port %s: %s\n", address, port,
                strerror(errno));
        exit(1);
    }
    freeaddrinfo(ai);

    /* With port 0 the system chose one: ask which. */
    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof bound;
    char host[128], serv[16];
    if (getsockname(fd, (struct sockaddr *)&bound, &bound_len) != 0 ||
        getnameinfo((struct sockaddr *)&bound, bound_len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        fprintf(stderr, "verify_server: cannot read the bound address: %s\n", strerror(errno));
        exit(1);
    }
    printf("listening address=%s port=%s library=%s\n", host, serv, dtlsgate_version());
    return fd;
}

/* The verifier's error message, read with the length in/out pattern: ask
 * for the size with an empty buffer, then read into one that fits.
 * The caller frees the result. */
static char *error_message(const dtlsgate_verifier *v)
{
    size_t len = 0;
    int rc = dtlsgate_verifier_dtls_error_string(v, NULL, &len);
    if (rc != DTLSGATE_E_BUFFER_TOO_SMALL && rc != DTLSGATE_OK)
        fail("dtlsgate_verifier_dtls_error_string", rc);
    if (len == 0)
        len = 1; /* room for the NUL */
    char *msg = malloc(len);
    if (msg == NULL) {
        fprintf(stderr, "verify_server: out of memory\n");
        exit(1);
    }
    rc = dtlsgate_verifier_dtls_error_string(v, msg, &len);
    if (rc != DTLSGATE_OK)
        fail("dtlsgate_verifier_dtls_error_string", rc);
    return msg;
}

/* Prints the verified ClientHello, fetched from the verifier (it is the
 * datagram just passed in; this shows how to read it back). */
static void report_verified(const dtlsgate_verifier *v, const char *peer, size_t n)
{
    size_t len = 0;
    int rc = dtlsgate_verifier_verified_hello(v, NULL, &len);
    if (rc == DTLSGATE_OK) {
        /* Fits in zero bytes: empty, which cannot follow a verified hello. */
        fprintf(stderr, "verify_server: verified, but verified_hello is empty\n");
        exit(1);
    }
    if (rc != DTLSGATE_E_BUFFER_TOO_SMALL)
        fail("dtlsgate_verifier_verified_hello", rc);
    uint8_t *hello = malloc(len);
    if (hello == NULL) {
        fprintf(stderr, "verify_server: out of memory\n");
        exit(1);
    }
    rc = dtlsgate_verifier_verified_hello(v, hello, &len);
    if (rc != DTLSGATE_OK)
        fail("dtlsgate_verifier_verified_hello", rc);

    printf("verified peer=%s bytes=%zu hex=", peer, len);
    for (size_t i = 0; i < len; i++)
        printf("%02x", hello[i]);
    printf("\n");
    if (len != n || memcmp(hello, datagram, n) != 0)
        printf("warning verified hello differs from the datagram received (%zu bytes)\n", n);
    free(hello);
}

int main(int argc, char **argv)
{
    const char *address = "127.0.0.1";
    const char *port = "0";
    int once = 0;
    double timeout = 0; /* seconds; 0 = none */
    int positional = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--once") == 0) {
            once = 1;
        } else if (strcmp(argv[i], "--timeout") == 0) {
            char *end = NULL;
            if (i + 1 < argc)
                timeout = strtod(argv[++i], &end);
            if (end == NULL || *end != '\0' || !(timeout > 0)) {
                fprintf(stderr, "verify_server: --timeout wants a positive number of seconds\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "verify_server: unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (positional == 0) {
            address = argv[i];
            positional++;
        } else if (positional == 1) {
            port = argv[i];
            positional++;
        } else {
            usage(stderr);
            return 2;
        }
    }

    char *end;
    long port_number = strtol(port, &end, 10);
    if (*end != '\0' || end == port || port_number < 0 || port_number > 65535) {
        fprintf(stderr, "verify_server: bad port %s (0 to 65535; 0 picks one)\n", port);
        return 2;
    }

    /* The header this was compiled with should match the library loaded. */
    if (strcmp(dtlsgate_version(), DTLSGATE_VERSION) != 0)
        fprintf(stderr, "verify_server: warning: built with dtlsgate %s, running with %s\n",
                DTLSGATE_VERSION, dtlsgate_version());

    /* Every line goes out as soon as it is complete, even into a pipe or a
     * file, so whoever watches the output sees events as they happen. */
    setvbuf(stdout, NULL, _IOLBF, 0);

    const int stop_fd = catch_stop_signals();

    int fd = open_socket(address, port);

    dtlsgate_verifier *verifier = dtlsgate_verifier_new();
    if (verifier == NULL) {
        fprintf(stderr, "verify_server: dtlsgate_verifier_new failed\n");
        return 1;
    }

    const double deadline = timeout > 0 ? now_seconds() + timeout : 0;
    unsigned long datagrams = 0, verified = 0;
    const char *reason = NULL;
    int status = 0;

    while (reason == NULL) {
        /* Wait for a datagram, a signal or the deadline. */
        int wait_ms = -1; /* no deadline: wait as long as it takes */
        if (deadline > 0) {
            double left = deadline - now_seconds();
            if (left > 3600)
                left = 3600; /* keeps the milliseconds in an int; the loop comes back */
            wait_ms = left > 0 ? (int)(left * 1000) + 1 : 0;
        }
        struct pollfd fds[2] = {
            {.fd = fd, .events = POLLIN},
            {.fd = stop_fd, .events = POLLIN},
        };
        int ready = poll(fds, 2, wait_ms);
        if (stop_requested != 0) {
            reason = stop_requested == SIGINT ? "SIGINT" : "SIGTERM";
            break;
        }
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "verify_server: poll: %s\n", strerror(errno));
            status = 1;
            break;
        }
        if (ready == 0) {
            reason = "timeout";
            if (once)
                status = 3;
            break;
        }

        struct sockaddr_storage from;
        socklen_t from_len = sizeof from;
        ssize_t n = recvfrom(fd, datagram, sizeof datagram, 0, (struct sockaddr *)&from,
                             &from_len);
        if (n < 0) {
            /* Where the system reports a bounced reply (ICMP port
             * unreachable) here, that is the client's problem, not ours. */
            if (errno == EINTR || errno == ECONNREFUSED || errno == EAGAIN)
                continue;
            fprintf(stderr, "verify_server: recvfrom: %s\n", strerror(errno));
            status = 1;
            break;
        }
        if (n == 0)
            continue; /* the verifier would only call an empty datagram invalid input */
        datagrams++;

        char peer[200];
        format_peer((struct sockaddr *)&from, from_len, peer, sizeof peer);

        /* The one call that matters: verifyClient(). */
        int ok = dtlsgate_verifier_verify_client_sockaddr(verifier, fd, datagram, (size_t)n,
                                                          (struct sockaddr *)&from, from_len);
        if (ok < 0)
            fail("dtlsgate_verifier_verify_client_sockaddr", ok);

        int err = dtlsgate_verifier_dtls_error(verifier);
        if (err < 0)
            fail("dtlsgate_verifier_dtls_error", err);

        if (ok == 1) {
            verified++;
            report_verified(verifier, peer, (size_t)n);
            if (once)
                reason = "once";
        } else if (err == DTLSGATE_NO_ERROR) {
            printf("not-verified peer=%s bytes=%zd\n", peer, n);
        } else {
            const char *name = dtlsgate_dtls_error_name(err);
            char *msg = error_message(verifier);
            printf("error peer=%s bytes=%zd code=%d name=%s message=%s\n", peer, n, err,
                   name != NULL ? name : "?", msg);
            free(msg);
        }
    }

    if (reason == NULL)
        reason = "failure";
    printf("stopped reason=%s datagrams=%lu verified=%lu\n", reason, datagrams, verified);

    dtlsgate_verifier_free(verifier);
    close(fd);
    return status;
}
