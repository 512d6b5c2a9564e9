/* SPDX-License-Identifier: MIT */
/*
 * example.h - the plumbing the secure UDP examples share: addresses,
 * hex keys, stop signals, messages from the library. Header-only so each
 * example still builds with one compiler command.
 */
#ifndef DTLSGATE_EXAMPLE_H
#define DTLSGATE_EXAMPLE_H

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dtlsgate.h"

#define EXAMPLE_DEFAULT_KEY "1a2b3c4d5e6f"
#define EXAMPLE_MAX_KEY 512
/* Room for "[IPv6%zone]:port". */
#define PEER_NAME_MAX 160

/* Prints one line and flushes it, so scripts reading a pipe see it now. */
static inline void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* For what a correct program never sees: a negative status from the library. */
static inline void die(const char *what, int status)
{
    fprintf(stderr, "%s: %d (%s)\n", what, status, dtlsgate_strerror(status));
    exit(1);
}

/* Decodes a hex key into key[EXAMPLE_MAX_KEY]; its length, or -1. */
static inline int parse_hex_key(const char *hex, uint8_t *key)
{
    size_t n = strlen(hex);
    if (n == 0 || n % 2 != 0 || n / 2 > EXAMPLE_MAX_KEY)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
            return -1;
        key[i] = (uint8_t)byte;
    }
    return (int)(n / 2);
}

/* An option's whole number, 0 to INT32_MAX; exits with status 2 if it is not one. */
static inline uint32_t option_count(const char *option, const char *text)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || n > 0x7fffffffUL) {
        fprintf(stderr, "%s wants a whole number, not \"%s\"\n", option, text);
        exit(2);
    }
    return (uint32_t)n;
}

/* An option's seconds (fractions allowed, at most a day) in milliseconds;
 * exits with status 2 if it is not such a number. */
static inline uint32_t option_ms(const char *option, const char *text)
{
    char *end;
    double s = strtod(text, &end);
    if (end == text || *end || !(s >= 0 && s <= 86400)) {
        fprintf(stderr, "%s wants seconds from 0 to 86400, not \"%s\"\n", option, text);
        exit(2);
    }
    return (uint32_t)(s * 1000 + 0.5);
}

/* "127.0.0.1:5555" or "[::1]:5555". */
static inline void format_peer(const struct sockaddr *sa, socklen_t len, char *out, size_t out_len)
{
    char host[128], serv[16];
    if (getnameinfo(sa, len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        snprintf(out, out_len, "unknown");
    else if (sa->sa_family == AF_INET6)
        snprintf(out, out_len, "[%s]:%s", host, serv);
    else
        snprintf(out, out_len, "%s:%s", host, serv);
}

/* Resolves a numeric address and port; exits with status 2 if it is not one. */
static inline struct addrinfo *numeric_address(const char *address, const char *port, int passive)
{
    struct addrinfo hints, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    int rc = getaddrinfo(address, port, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "bad address or port %s %s: %s\n", address, port, gai_strerror(rc));
        exit(2);
    }
    return ai;
}

/* The DTLS error message of a session, for printing. */
static inline const char *session_error(const dtlsgate_session *s)
{
    static char msg[512];
    size_t len = sizeof msg;
    int rc = dtlsgate_session_dtls_error_string(s, msg, &len);
    if (rc == DTLSGATE_E_BUFFER_TOO_SMALL) /* cut short: fine for a log line */
        msg[0] = 0;
    else if (rc != DTLSGATE_OK)
        die("dtlsgate_session_dtls_error_string", rc);
    return msg;
}

/* "PSK-AES128-GCM-SHA256, DTLSv1.2" for the handshake-complete line. */
static inline const char *session_summary(const dtlsgate_session *s)
{
    static char out[160];
    char cipher[64], protocol[32];
    size_t clen = sizeof cipher, plen = sizeof protocol;
    int rc = dtlsgate_session_session_cipher(s, cipher, &clen);
    if (rc == DTLSGATE_OK)
        rc = dtlsgate_session_session_protocol(s, protocol, &plen);
    if (rc != DTLSGATE_OK)
        die("dtlsgate_session_session_cipher", rc);
    snprintf(out, sizeof out, "%s, %s", cipher, protocol);
    return out;
}

/* An authenticator field as a printable string. */
static inline const char *authenticator_text(int (*get)(const dtlsgate_psk_authenticator *, uint8_t *,
                                                 size_t *),
                                      const dtlsgate_psk_authenticator *a)
{
    static char text[257];
    size_t len = sizeof text - 1;
    if (get(a, (uint8_t *)text, &len) != DTLSGATE_OK)
        len = 0;
    text[len] = 0;
    return text;
}

/* Whether the first record of a datagram is a ClientHello in epoch 0:
 * type 22, epoch (bytes 3-4) 0, handshake type 1 after the 13-byte record
 * header. The servers route by it (examples/CONTRACT.md). */
static inline int is_client_hello(const uint8_t *d, size_t n)
{
    return n > 13 && d[0] == 22 && d[3] == 0 && d[4] == 0 && d[13] == 1;
}

/* Milliseconds on a monotonic clock. */
static inline long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* SIGINT and SIGTERM write a byte into a pipe that the loop polls next to
 * its sockets (the self-pipe), so the loop wakes whichever thread the
 * signal lands on: the library's Go runtime has threads of its own. */
static volatile sig_atomic_t stop_requested = 0;
static int stop_pipe[2] = {-1, -1};

static inline void on_stop_signal(int sig)
{
    int saved = errno;
    stop_requested = sig;
    if (write(stop_pipe[1], "", 1) < 0) {
        /* The pipe is full: the loop wakes up anyway. */
    }
    errno = saved;
}

/* Installs the handlers; returns the fd to poll. */
static inline int catch_stop_signals(void)
{
    if (pipe(stop_pipe) != 0 || fcntl(stop_pipe[1], F_SETFL, O_NONBLOCK) != 0) {
        perror("pipe");
        exit(1);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return stop_pipe[0];
}

#endif
