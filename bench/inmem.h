/* SPDX-License-Identifier: MIT */
/*
 * The in-memory DTLS 1.2 PSK benchmark shared by bench_inmem_dtlsgate,
 * bench_inmem_openssl and bench_inmem_gnutls, so that the three libraries
 * are timed by the same loop, checked the same way and printed in the same
 * format. No sockets: each harness carries its datagrams from one side to
 * the other itself.
 *
 * Each harness describes its library as a struct inmem_lib; inmem_main()
 * runs the operations named on the command line (all by default), each
 * warmed up and then timed for BENCH_SECONDS (default 0.5) seconds in
 * batches, BENCH_RUNS (default 1) times, and prints the best run as
 *     result <impl> <operation> <value> <unit>
 * with unit ns/op, or bytes for the memory per session. bench/inmem.sh runs
 * the programs in turns and joins their lines into one table.
 *
 * Every call is checked: a handshake that does not complete, a record that
 * does not come back as it was sent or a cookie that does not verify stops
 * the program with a message and exit status 1, so that a broken library
 * never prints a fast figure.
 */
#ifndef BENCH_INMEM_H
#define BENCH_INMEM_H

#include <stddef.h>
#include <stdint.h>

/* The suites every library is asked for, by their OpenSSL names. */
#define INMEM_PSK_SUITE "PSK-AES128-GCM-SHA256"
#define INMEM_ECDHE_SUITE "ECDHE-PSK-AES128-CBC-SHA256"

/* Every harness uses this key and identity, and this address for the
 * client where a library's cookie covers it. */
#define INMEM_IDENTITY "bench"
#define INMEM_KEY "0123456789abcdef0123456789abcdef"
#define INMEM_CLIENT_IP "192.0.2.7"
#define INMEM_CLIENT_PORT 40001
#define INMEM_STR_(x) #x
#define INMEM_STR(x) INMEM_STR_(x)
#define INMEM_CLIENT_ADDRESS INMEM_CLIENT_IP ":" INMEM_STR(INMEM_CLIENT_PORT)

/* Largest datagram carried between the two sides. */
#define INMEM_MAX_DGRAM 2048

/* Records per call of record_batch(), for programs started with "batch"
 * as their first argument: the result lines then name <impl>-batch and
 * give the time per record. */
#define INMEM_BATCH 16

struct inmem_lib {
    const char *name;      /* the <impl> of the result lines */
    const char *version;   /* for the table's header */

    /* A client and a server session with one suite, after a full handshake
     * that started with the cookie exchange; NULL (with a message on
     * stderr) if it failed. */
    void *(*connect)(const char *suite);
    /* Encrypts len bytes on the client as one datagram, carries it and
     * decrypts it on the server into out (cap bytes); returns the length of
     * the plaintext, or -1 (with a message) on an error. */
    long (*record)(void *pair, const uint8_t *in, size_t len, uint8_t *out, size_t cap);
    /* The batch form of record(), NULL where the library has none: count
     * datagrams of len bytes, ins[i], encrypted on the client in one call
     * and decrypted on the server in another into outs[i] (cap bytes
     * each), the plaintext lengths into lens; returns 0, or -1 (with a
     * message) on an error. */
    int (*record_batch)(void *pair, const uint8_t *const *ins, size_t len, uint8_t *const *outs,
                        size_t cap, long *lens, size_t count);
    /* Frees the client side only, so that what is left is the server's
     * established session. NULL: not measured. */
    void (*free_client)(void *pair);
    void (*free_pair)(void *pair);

    /* The server's stateless check of a ClientHello carrying a valid
     * cookie: cookie_setup() gets one from the library's own client (NULL
     * on a failure); cookie_check() returns 1 when it verifies. */
    void *(*cookie_setup)(void);
    int (*cookie_check)(void *ctx);
    void (*cookie_free)(void *ctx);

    /* Non-zero to measure the memory per session with mallinfo2(); the Go
     * heap of dtlsgate is not malloc'd and is measured by Go instead. */
    int malloc_memory;
};

/* Non-zero when the program was started with "dirty" as its first
 * argument: the harness is to leave the upper halves of the vector
 * registers dirty before each call into the library (see INMEM_DIRTY). */
extern int inmem_dirty;

/* Issues a 256-bit AVX2 instruction that leaves the upper vector state
 * dirty, as a host built with -mavx2 or using AVX-512 libraries can leave
 * it, when the program runs in dirty mode on a CPU with AVX2. */
#if defined(__x86_64__)
#define INMEM_DIRTY()                                                                    \
    do {                                                                                 \
        if (inmem_dirty)                                                                 \
            __asm__ volatile("vpcmpeqd %%ymm1,%%ymm1,%%ymm1" ::: "xmm1");                \
    } while (0)
#else
#define INMEM_DIRTY() ((void)0)
#endif

/* Runs the benchmark; returns the process exit status. */
int inmem_main(const struct inmem_lib *lib, int argc, char **argv);

/* Fails the benchmark: prints "<impl>: <message>" and exits with status 1. */
void inmem_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif /* BENCH_INMEM_H */
