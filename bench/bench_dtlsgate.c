/* SPDX-License-Identifier: MIT */
/*
 * bench_dtlsgate: dtlsgate's C ABI under the shared benchmark driver
 * (bench.c), with a plain UDP socket bound to 127.0.0.1 as the server
 * socket.
 *
 * Usage: bench_dtlsgate DATAGRAM.bin
 *
 * The first two operations are the Qt-shaped call, compared with Qt's in
 * bench/run.sh. The others have no Qt counterpart: the same call with the
 * peer as the sockaddr recvfrom() gives, and dtlsgate_verifier_check(),
 * which involves no socket at all (the reply lands in a buffer).
 */
#define _POSIX_C_SOURCE 200809L

#include "bench.h"

#include <dtlsgate.h>

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct side {
    int fd;
    dtlsgate_verifier *v;
};

static int verify(void *ctx, const uint8_t *dgram, size_t len, const struct bench_peer *peer)
{
    struct side *s = ctx;
    return dtlsgate_verifier_verify_client(s->v, s->fd, dgram, len, peer->addr, peer->port);
}

static int verify_sockaddr(void *ctx, const uint8_t *dgram, size_t len,
                           const struct bench_peer *peer)
{
    struct side *s = ctx;
    return dtlsgate_verifier_verify_client_sockaddr(s->v, s->fd, dgram, len,
                                                    (const struct sockaddr *)peer->sa,
                                                    sizeof *peer->sa);
}

static int check(void *ctx, const uint8_t *dgram, size_t len, const struct bench_peer *peer)
{
    struct side *s = ctx;
    uint8_t reply[DTLSGATE_HELLO_VERIFY_REQUEST_MAX];
    size_t reply_len = sizeof reply;
    return dtlsgate_verifier_check(s->v, dgram, len, (const struct sockaddr *)peer->sa,
                                   sizeof *peer->sa, reply, &reply_len);
}

static const struct bench_op ops[] = {
    {"verify_client_valid_cookie", 1, 1, verify},
    {"verify_client_no_cookie_send_hvr", 0, 0, verify},
    {"verify_client_sockaddr_valid_cookie", 1, 1, verify_sockaddr},
    {"verify_client_sockaddr_no_cookie_send_hvr", 0, 0, verify_sockaddr},
    {"check_valid_cookie", 1, DTLSGATE_CHECK_VERIFIED, check},
    {"check_no_cookie", 0, DTLSGATE_CHECK_SEND_REPLY, check},
};

int main(int argc, char **argv)
{
    struct side s;
    struct sockaddr_in sa;

    if (argc != 2) {
        fprintf(stderr, "usage: %s DATAGRAM.bin\n", argv[0]);
        return 2;
    }
    printf("info dtlsgate dtlsgate %s\n", dtlsgate_version());

    s.fd = socket(AF_INET, SOCK_DGRAM, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s.fd < 0 || bind(s.fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("bench_dtlsgate: server socket");
        return 1;
    }
    s.v = dtlsgate_verifier_new();
    if (!s.v) {
        fprintf(stderr, "bench_dtlsgate: dtlsgate_verifier_new failed\n");
        return 1;
    }

    struct bench_impl impl = {0};
    impl.name = "bench_dtlsgate";
    impl.ctx = &s;
    impl.mint = verify;
    impl.ops = ops;
    impl.n_ops = sizeof ops / sizeof ops[0];
    int rc = bench_run(&impl, argv[1]);
    dtlsgate_verifier_free(s.v);
    close(s.fd);
    return rc;
}
