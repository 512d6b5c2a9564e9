/* SPDX-License-Identifier: MIT */
/*
 * The benchmark driver: see bench.h.
 *
 * Timing: CLOCK_MONOTONIC around batches of BATCH calls. Between batches,
 * outside the timed part, the client socket is drained of the
 * HelloVerifyRequests the calls sent, so its receive buffer never fills up
 * (the same for every implementation and operation). Each operation is
 * warmed up, then run BENCH_RUNS (default 3) times for BENCH_SECONDS
 * (default 1) seconds of timed calls each; the best run is reported. A
 * fresh cookie is minted (untimed) before each run of a valid-cookie
 * operation.
 */
#define _POSIX_C_SOURCE 200809L

#include "bench.h"
#include "dtls_bytes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define WARMUP_SECONDS 0.2
#define MAX_DGRAM 2048

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Reads and discards whatever is queued on fd; returns how many datagrams. */
static unsigned long drain(int fd)
{
    uint8_t buf[MAX_DGRAM];
    unsigned long count = 0;
    while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) >= 0)
        count++;
    return count;
}

struct measurement {
    double ns_per_op;
    unsigned long iterations;
    unsigned long unexpected;   /* calls that did not return op->expect */
    unsigned long received;     /* datagrams that reached the client socket */
};

static void measure(const struct bench_impl *impl, const struct bench_op *op, const uint8_t *dgram,
                    size_t len, const struct bench_peer *peer, int client_fd, double seconds,
                    struct measurement *m)
{
    double timed = 0;
    memset(m, 0, sizeof *m);
    drain(client_fd);
    while (timed < seconds * 1e9) {
        double start = now_ns();
        for (int i = 0; i < BATCH; i++)
            m->unexpected += op->fn(impl->ctx, dgram, len, peer) != op->expect;
        timed += now_ns() - start;
        m->iterations += BATCH;
        m->received += drain(client_fd);
    }
    m->ns_per_op = timed / (double)m->iterations;
}

/* The second flight: the first one with a cookie this implementation just
 * sent back to the client socket. Minted afresh before each run, so that
 * a cookie lifetime (dtlsgate's default is 60 s) never ends mid-run. */
static int mint_second_flight(const struct bench_impl *impl, const uint8_t *first, size_t first_len,
                              const struct bench_peer *peer, int client_fd, uint8_t *second,
                              size_t *second_len)
{
    uint8_t reply[MAX_DGRAM];

    drain(client_fd);
    if (impl->mint(impl->ctx, first, first_len, peer) != 0) {
        fprintf(stderr, "%s: verifyClient on the first flight did not return 0\n", impl->name);
        return -1;
    }
    ssize_t n = recv(client_fd, reply, sizeof reply, 0);
    if (n < DTLS_BODY + 3 || (size_t)n < (size_t)DTLS_BODY + 3 + reply[DTLS_BODY + 2]) {
        fprintf(stderr, "%s: no HelloVerifyRequest (%s)\n", impl->name,
                n < 0 ? strerror(errno) : "too short");
        return -1;
    }
    *second_len = dtls_hello_with_cookie(first, first_len, reply + DTLS_BODY + 3,
                                         reply[DTLS_BODY + 2], second);
    return 0;
}

static int load(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    *len = fread(buf, 1, cap, f);
    fclose(f);
    if (dtls_cookie_offset(buf, *len) == 0 || *len > cap / 2) {
        fprintf(stderr, "%s: not a usable ClientHello\n", path);
        return -1;
    }
    return 0;
}

int bench_run(const struct bench_impl *impl, const char *datagram_path)
{
    static uint8_t first[MAX_DGRAM], second[MAX_DGRAM];
    size_t first_len, second_len = 0;
    struct sockaddr_in sa;
    socklen_t sa_len = sizeof sa;
    struct timeval timeout = {1, 0};
    int rcvbuf = 4 << 20;
    const char *env_seconds = getenv("BENCH_SECONDS");
    const char *env_runs = getenv("BENCH_RUNS");
    double seconds = env_seconds ? atof(env_seconds) : 1.0;
    int runs = env_runs ? atoi(env_runs) : 3;
    int failed = 0;

    if (seconds <= 0)
        seconds = 1.0;
    if (runs <= 0)
        runs = 3;
    if (load(datagram_path, first, sizeof first, &first_len) != 0)
        return 1;

    /* The client socket: the peer of every call, and where the
     * HelloVerifyRequests arrive. */
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sa_len) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0) {
        perror("bench: client socket");
        return 1;
    }
    struct bench_peer peer = {"127.0.0.1", ntohs(sa.sin_port), &sa};

    for (size_t i = 0; i < impl->n_ops; i++) {
        const struct bench_op *op = &impl->ops[i];
        const uint8_t *d = op->with_cookie ? second : first;
        struct measurement m, best = {0, 0, 0, 0};

        for (int run = -1; run < runs; run++) {   /* run -1 is the warm-up */
            if (op->with_cookie && mint_second_flight(impl, first, first_len, &peer, fd, second,
                                                      &second_len) != 0)
                return 1;
            size_t len = op->with_cookie ? second_len : first_len;
            measure(impl, op, d, len, &peer, fd, run < 0 ? WARMUP_SECONDS : seconds, &m);
            if (m.unexpected) {
                fprintf(stderr, "%s: %s: %lu of %lu calls did not return %d\n", impl->name,
                        op->name, m.unexpected, m.iterations, op->expect);
                failed = 1;
            }
            if (run < 0)
                continue;
            fprintf(stderr, "%s: %-42s run %d: %9.1f ns/op, %lu calls, %lu replies received\n",
                    impl->name, op->name, run + 1, m.ns_per_op, m.iterations, m.received);
            if (run == 0 || m.ns_per_op < best.ns_per_op)
                best = m;
        }
        printf("bench %s %.1f %lu\n", op->name, best.ns_per_op, best.iterations);
        fflush(stdout);
    }
    close(fd);
    return failed;
}
