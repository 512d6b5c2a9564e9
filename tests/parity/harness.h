/* SPDX-License-Identifier: MIT */
/*
 * The parity harness: one list of cases, run against one verifier
 * implementation, one line of output per case.
 *
 * parity_qt (Qt 6's QDtlsClientVerifier) and parity_dtlsgate (our C ABI)
 * both link harness.c and hand it a struct parity_impl. The harness builds
 * every datagram, delivers it from a real client UDP socket to the
 * implementation's real server socket, asks the implementation to verify
 * it, then looks at what came back on the client socket. Because the case
 * list, the sockets and the output format live here, the two programs can
 * only differ in what the verifiers do, and run.sh diffs their outputs.
 */
#ifndef PARITY_HARNESS_H
#define PARITY_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What one verifyClient() call produced, as the harness observed it. */
struct parity_result {
    int ret;                 /* verifyClient's return value */
    int err;                 /* dtlsError() after the call */
    char errstr[256];        /* dtlsErrorString() after the call */
    int sent;                /* datagrams that reached the peer socket */
    uint8_t reply[1024];     /* the first of them */
    size_t reply_len;
    int vh_unchanged;        /* verifiedHello() is what it was before the call */
};

#define PARITY_NULL_SOCKET (-1)

/* One verifier implementation. Every function gets ctx back. */
struct parity_impl {
    const char *name;
    void *ctx;

    /* The server sockets' descriptors: server[0] bound to 127.0.0.1,
     * server[1] to ::1 (both on port 0). The harness only uses them to send
     * a marker datagram after each case (see harness.c). */
    int server_fd[2];

    /* Waits up to timeout_ms for one datagram on server socket `server`
     * (0 or 1) and reads it the way a server written against this API
     * would. Writes the sender as a numeric address string and a port.
     * Returns the datagram length, or -1 if nothing arrived. */
    long (*receive)(void *ctx, int server, int timeout_ms, uint8_t *buf, size_t cap, char *addr,
                    size_t addr_cap, uint16_t *port);

    /* verifyClient() on server socket `server` (0 or 1), or with the API's
     * "no socket" value (nullptr, fd -1) when server is PARITY_NULL_SOCKET.
     * addr NULL: pass the API's "no address" value (QHostAddress(), NULL).
     * Returns verifyClient's result. */
    int (*verify)(void *ctx, int server, const uint8_t *dgram, size_t len, const char *addr,
                  uint16_t port);

    int (*dtls_error)(void *ctx);
    void (*dtls_error_string)(void *ctx, char *buf, size_t cap);
    /* Copies verifiedHello() into buf; returns its full length. */
    size_t (*verified_hello)(void *ctx, uint8_t *buf, size_t cap);

    /* setCookieGeneratorParameters(SHA-256, empty secret); returns the
     * result. */
    int (*set_empty_secret)(void *ctx);

    /* Optional (NULL for Qt). Called for each case where dtlsgate
     * deliberately differs from Qt; returns 1 if r is what dtlsgate
     * promises, 0 (after printing why to stderr) if not. */
    int (*check_difference)(const char *name, const struct parity_result *r);

    /* Nonzero: fail any case whose reply is larger than its datagram
     * (dtlsgate promises it never amplifies; Qt makes no such promise). */
    int forbid_amplification;
};

/* Runs every case with the corpus datagrams (*.bin) found in corpus_dir.
 * Parity lines go to stdout; the lines of the cases where dtlsgate differs
 * from Qt on purpose start with "differs " so run.sh can set them apart.
 * Returns 0, or 1 if the harness itself failed or a check failed. */
int parity_run(const struct parity_impl *impl, const char *corpus_dir);

#ifdef __cplusplus
}
#endif

#endif /* PARITY_HARNESS_H */
