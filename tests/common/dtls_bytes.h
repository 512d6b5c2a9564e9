/* SPDX-License-Identifier: MIT */
/*
 * dtls_bytes.h - byte-level helpers for the test programs (tests/c,
 * tests/parity, bench) that build and inspect DTLS datagrams by hand.
 *
 * Header-only: every function is static inline, so each program gets its
 * own copy and nothing needs linking. Compiles as C11 and as C++17.
 *
 * The ClientHello functions expect what every corpus datagram is: one
 * handshake record holding one whole, unfragmented ClientHello, and
 * nothing after it.
 */
#ifndef DTLSGATE_TESTS_DTLS_BYTES_H
#define DTLSGATE_TESTS_DTLS_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Where things are in a datagram that starts with a DTLS handshake record:
 * the 13-byte record header, the 12-byte handshake header, then the body. */
enum {
    DTLS_REC_TYPE = 0,
    DTLS_REC_VERSION = 1,
    DTLS_REC_EPOCH = 3,
    DTLS_REC_SEQ = 5,           /* 48 bits */
    DTLS_REC_LEN = 11,
    DTLS_REC_HDR = 13,          /* record header size; the handshake header starts here */
    DTLS_HS_TYPE = 13,
    DTLS_HS_LEN = 14,           /* 24 bits, the whole message */
    DTLS_HS_SEQ = 17,           /* message_seq */
    DTLS_HS_FOFF = 19,          /* fragment offset, 24 bits */
    DTLS_HS_FLEN = 22,          /* fragment length, 24 bits */
    DTLS_HS_HDR = 12,           /* handshake header size */
    DTLS_BODY = 25,             /* ClientHello: client_version, then random[32] */
    DTLS_SID_LEN = DTLS_BODY + 2 + 32   /* ClientHello: the session id length byte */
};

/* Big-endian reads and writes of 16- and 24-bit fields. */

static inline unsigned dtls_get16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static inline unsigned long dtls_get24(const uint8_t *p)
{
    return (unsigned long)p[0] << 16 | (unsigned long)p[1] << 8 | p[2];
}

static inline void dtls_put16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void dtls_put24(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}

/* Rewrites the record length, the message length and the fragment length
 * so that the record and its single fragment span all n bytes again. */
static inline void dtls_fix_lengths(uint8_t *dgram, size_t n)
{
    dtls_put16(dgram + DTLS_REC_LEN, n - DTLS_REC_HDR);
    dtls_put24(dgram + DTLS_HS_LEN, n - DTLS_BODY);
    dtls_put24(dgram + DTLS_HS_FLEN, n - DTLS_BODY);
}

/* The offset of the cookie length byte in a ClientHello datagram of len
 * bytes (it follows the session id), or 0 if the session id or the cookie
 * would run past the end. */
static inline size_t dtls_cookie_offset(const uint8_t *hello, size_t len)
{
    size_t off;
    if (len < DTLS_SID_LEN + 2)
        return 0;
    off = DTLS_SID_LEN + 1 + (size_t)hello[DTLS_SID_LEN];
    if (off >= len || off + 1 + hello[off] > len)
        return 0;
    return off;
}

/* Writes to out the ClientHello `hello` with its cookie replaced by the
 * cookie_len (0..255) bytes at cookie, and the lengths fixed to match.
 * out must not overlap hello and must have room for
 * len - old cookie length + cookie_len bytes. Returns the new length, or 0
 * (out untouched) if hello has no cookie field where one should be. */
static inline size_t dtls_hello_with_cookie(const uint8_t *hello, size_t len,
                                            const uint8_t *cookie, size_t cookie_len,
                                            uint8_t *out)
{
    size_t off = dtls_cookie_offset(hello, len);
    size_t rest, n;
    if (off == 0)
        return 0;
    rest = off + 1 + hello[off];   /* the first byte after the old cookie */
    n = off + 1 + cookie_len + (len - rest);
    memcpy(out, hello, off);
    out[off] = (uint8_t)cookie_len;
    if (cookie_len)
        memcpy(out + off + 1, cookie, cookie_len);
    memcpy(out + off + 1 + cookie_len, hello + rest, len - rest);
    dtls_fix_lengths(out, n);
    return n;
}

#endif /* DTLSGATE_TESTS_DTLS_BYTES_H */
