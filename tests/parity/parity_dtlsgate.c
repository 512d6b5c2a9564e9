/* SPDX-License-Identifier: MIT */
/*
 * parity_dtlsgate: the parity cases (harness.c) run against dtlsgate's C
 * ABI, on a plain UDP socket bound to 127.0.0.1.
 *
 * Usage: parity_dtlsgate CORPUS_DIR
 * Prints one line per case; run.sh compares them with parity_qt's. Exits
 * non-zero if one of the dtlsgate-only checks fails (the cases where
 * dtlsgate deliberately differs from Qt, and "never amplifies").
 */
#define _POSIX_C_SOURCE 200809L

#include "harness.h"

#include <dtlsgate.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct side {
    int fd[2];      /* on 127.0.0.1 and on ::1 */
    dtlsgate_verifier *v;
};

static long receive(void *ctx, int server, int timeout_ms, uint8_t *buf, size_t cap, char *addr,
                    size_t addr_cap, uint16_t *port)
{
    struct side *s = ctx;
    struct pollfd p = {s->fd[server], POLLIN, 0};
    struct sockaddr_storage from;
    socklen_t from_len = sizeof from;
    const void *ip = NULL;

    if (poll(&p, 1, timeout_ms) != 1)
        return -1;
    ssize_t n = recvfrom(s->fd[server], buf, cap, 0, (struct sockaddr *)&from, &from_len);
    if (n < 0)
        return -1;
    if (from.ss_family == AF_INET) {
        const struct sockaddr_in *sa = (const struct sockaddr_in *)&from;
        ip = &sa->sin_addr;
        *port = ntohs(sa->sin_port);
    } else {
        const struct sockaddr_in6 *sa = (const struct sockaddr_in6 *)&from;
        ip = &sa->sin6_addr;
        *port = ntohs(sa->sin6_port);
    }
    if (!inet_ntop(from.ss_family, ip, addr, (socklen_t)addr_cap))
        return -1;
    return (long)n;
}

static int verify(void *ctx, int server, const uint8_t *dgram, size_t len, const char *addr,
                  uint16_t port)
{
    struct side *s = ctx;
    int fd = server == PARITY_NULL_SOCKET ? -1 : s->fd[server];
    return dtlsgate_verifier_verify_client(s->v, fd, dgram, len, addr, port);
}

static int dtls_error(void *ctx)
{
    struct side *s = ctx;
    return dtlsgate_verifier_dtls_error(s->v);
}

static void dtls_error_string(void *ctx, char *buf, size_t cap)
{
    struct side *s = ctx;
    size_t len = cap;
    int rc = dtlsgate_verifier_dtls_error_string(s->v, buf, &len);
    if (rc != DTLSGATE_OK)
        snprintf(buf, cap, "<dtlsgate_verifier_dtls_error_string: %d>", rc);
}

static size_t verified_hello(void *ctx, uint8_t *buf, size_t cap)
{
    struct side *s = ctx;
    size_t len = cap;
    int rc = dtlsgate_verifier_verified_hello(s->v, buf, &len);
    if (rc != DTLSGATE_OK) {
        fprintf(stderr, "parity_dtlsgate: dtlsgate_verifier_verified_hello: %d\n", rc);
        return 0;
    }
    return len;
}

static int set_empty_secret(void *ctx)
{
    struct side *s = ctx;
    return dtlsgate_verifier_set_cookie_generator_parameters(s->v, DTLSGATE_HASH_SHA256, NULL, 0);
}

static int expect(const char *name, int ok, const char *what, const struct parity_result *r)
{
    if (!ok)
        fprintf(stderr,
                "parity_dtlsgate: differs %s: expected %s, got ret=%d err=%d errstr=\"%s\" "
                "sent=%d verifiedHello %s\n",
                name, what, r->ret, r->err, r->errstr, r->sent,
                r->vh_unchanged ? "unchanged" : "changed");
    return ok;
}

/* What DESIGN.md and dtlsgate.h promise where dtlsgate differs from Qt. */
static int check_difference(const char *name, const struct parity_result *r)
{
    if (strcmp(name, "port-0") == 0)
        return expect(name,
                      r->ret == 0 && r->err == DTLSGATE_INVALID_INPUT_PARAMETERS &&
                          strcmp(r->errstr, "A valid UDP socket, non-empty datagram, and valid "
                                            "address/port were expected") == 0 &&
                          r->sent == 0 && r->vh_unchanged,
                      "false, InvalidInputParameters, nothing sent, verifiedHello unchanged", r);
    if (strncmp(name, "send-fails-", 11) == 0)
        return expect(name,
                      r->ret == 0 && r->err == DTLSGATE_UNDERLYING_SOCKET_ERROR &&
                          r->errstr[0] != '\0' && r->sent == 0,
                      "false, UnderlyingSocketError with the OS error text, nothing sent", r);
    fprintf(stderr, "parity_dtlsgate: no expectation for difference case %s\n", name);
    return 0;
}

int main(int argc, char **argv)
{
    struct side s;
    struct sockaddr_in sa;
    struct sockaddr_in6 sa6;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    fprintf(stderr, "parity_dtlsgate: dtlsgate %s\n", dtlsgate_version());

    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    memset(&sa6, 0, sizeof sa6);
    sa6.sin6_family = AF_INET6;
    sa6.sin6_addr = in6addr_loopback;
    s.fd[0] = socket(AF_INET, SOCK_DGRAM, 0);
    s.fd[1] = socket(AF_INET6, SOCK_DGRAM, 0);
    if (s.fd[0] < 0 || bind(s.fd[0], (struct sockaddr *)&sa, sizeof sa) != 0 || s.fd[1] < 0 ||
        bind(s.fd[1], (struct sockaddr *)&sa6, sizeof sa6) != 0) {
        perror("parity_dtlsgate: server socket");
        return 1;
    }
    s.v = dtlsgate_verifier_new();
    if (!s.v) {
        fprintf(stderr, "parity_dtlsgate: dtlsgate_verifier_new failed\n");
        return 1;
    }

    struct parity_impl impl = {0};
    impl.name = "parity_dtlsgate";
    impl.ctx = &s;
    impl.server_fd[0] = s.fd[0];
    impl.server_fd[1] = s.fd[1];
    impl.receive = receive;
    impl.verify = verify;
    impl.dtls_error = dtls_error;
    impl.dtls_error_string = dtls_error_string;
    impl.verified_hello = verified_hello;
    impl.set_empty_secret = set_empty_secret;
    impl.check_difference = check_difference;
    impl.forbid_amplification = 1;

    int rc = parity_run(&impl, argv[1]);
    dtlsgate_verifier_free(s.v);
    close(s.fd[0]);
    close(s.fd[1]);
    return rc;
}
