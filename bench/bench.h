/* SPDX-License-Identifier: MIT */
/*
 * The benchmark driver shared by bench_qt and bench_dtlsgate, so that both
 * time the same datagram over the same loopback sockets with the same loop.
 *
 * Each program describes its verifier as a struct bench_impl: a list of
 * operations (verifyClient with a valid cookie, verifyClient that answers
 * with a HelloVerifyRequest, ...). For each operation, bench_run() warms
 * up, then runs it in timed batches for about BENCH_SECONDS (default 1)
 * seconds, BENCH_RUNS (default 3) times, minting a fresh cookie through the
 * implementation before each run that needs one, and prints the best as
 *     bench <name> <ns_per_op> <iterations>
 * on stdout. bench/run.sh joins the two programs' lines into a table.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sockaddr_in;

/* One peer: the client socket's address in the forms the APIs take. */
struct bench_peer {
    const char *addr;                /* "127.0.0.1" */
    uint16_t port;
    const struct sockaddr_in *sa;
};

struct bench_op {
    const char *name;
    int with_cookie;   /* 1: the ClientHello carrying the minted cookie; 0: the first flight */
    int expect;        /* the return value every call must give */
    /* Runs the operation once; returns the implementation's result. */
    int (*fn)(void *ctx, const uint8_t *dgram, size_t len, const struct bench_peer *peer);
};

struct bench_impl {
    const char *name;
    void *ctx;
    /* Sends the HelloVerifyRequest for (dgram, peer) through the server
     * socket (verifyClient on a first flight); the driver reads the cookie
     * from the client socket. Returns verifyClient's result. */
    int (*mint)(void *ctx, const uint8_t *dgram, size_t len, const struct bench_peer *peer);
    const struct bench_op *ops;
    size_t n_ops;
};

/* Benchmarks every operation with the ClientHello in datagram_path.
 * Returns 0, or 1 on a setup failure or an unexpected result. */
int bench_run(const struct bench_impl *impl, const char *datagram_path);

#ifdef __cplusplus
}
#endif

#endif /* BENCH_H */
