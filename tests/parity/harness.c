/* SPDX-License-Identifier: MIT */
/*
 * The parity harness: see harness.h.
 *
 * Sockets: the implementation has a server socket on 127.0.0.1 and one on
 * ::1; the harness has two client sockets (A, and B for "another port") on
 * each. Most cases use 127.0.0.1; the "ipv6/" ones use ::1.
 *
 * How one case runs:
 *   1. a client socket sends the datagram to the server socket of its
 *      family, and the implementation receives it with its own API,
 *      learning the sender's address and port;
 *   2. the implementation's verifyClient() is called with them;
 *   3. the harness sends a marker datagram from the server socket to the
 *      client socket and reads the client socket up to the marker: whatever
 *      came before it is what verifyClient() sent. Loopback keeps the order
 *      of datagrams from one socket, so no timeout has to guess whether a
 *      reply is still on its way;
 *   4. one line is printed: return value, error code and string, how many
 *      datagrams were sent, the layout of the HelloVerifyRequest, and what
 *      became of verifiedHello().
 * Cookie bytes are never printed: Qt's cookie is a bare HMAC, dtlsgate's
 * carries a key id and a timestamp, so they differ by design.
 */
#define _POSIX_C_SOURCE 200809L

#include "harness.h"
#include "dtls_bytes.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_DGRAM 2048
#define MAX_FILES 64
#define TIMEOUT_MS 2000

struct dgram {
    uint8_t b[MAX_DGRAM];
    size_t n;
};

struct client {
    int fd;
    uint16_t port;
    int v6;                     /* 0: on 127.0.0.1, 1: on ::1; also the server socket it talks to */
};

struct run {
    const struct parity_impl *impl;
    struct client a, b;         /* two client sockets: two ports on 127.0.0.1 */
    struct client a6, b6;       /* and two on ::1 */
    uint16_t server_port[2];    /* the server sockets on 127.0.0.1 and ::1 */
    unsigned marker;            /* counts marker datagrams */
    uint32_t rng;
    int failed;                 /* harness or dtlsgate-only check failures */
};

/* ------------------------------------------------------------------------ */
/* The 48-bit record sequence number (16- and 24-bit fields: dtls_bytes.h) */

static unsigned long long get48(const uint8_t *p)
{
    unsigned long long v = 0;
    for (int i = 0; i < 6; i++)
        v = v << 8 | p[i];
    return v;
}

static void put48(uint8_t *p, unsigned long long v)
{
    for (int i = 5; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* A fixed-seed xorshift generator, so both programs build the same
 * "random" datagrams. */
static uint32_t next_random(struct run *run)
{
    uint32_t x = run->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    run->rng = x;
    return x;
}

static void fail(struct run *run, const char *what, const char *detail)
{
    fprintf(stderr, "%s: %s%s%s\n", run->impl->name, what, detail ? ": " : "",
            detail ? detail : "");
    run->failed = 1;
}

/* ------------------------------------------------------------------------ */
/* ClientHello editing. These assume the structure the corpus datagrams
 * have: one unfragmented ClientHello record, nothing after it. */

/* Replaces the byte range [off, off+old_len) with new_len bytes from src. */
static void splice(struct dgram *d, size_t off, size_t old_len, const uint8_t *src, size_t new_len)
{
    memmove(d->b + off + new_len, d->b + off + old_len, d->n - off - old_len);
    memcpy(d->b + off, src, new_len);
    d->n = d->n - old_len + new_len;
}

/* Gives d the cookie `cookie` (dtls_hello_with_cookie into a scratch copy).
 * A datagram without a cookie field ends up empty. */
static void set_cookie(struct dgram *d, const uint8_t *cookie, size_t len)
{
    uint8_t out[MAX_DGRAM];
    d->n = dtls_hello_with_cookie(d->b, d->n, cookie, len, out);
    memcpy(d->b, out, d->n);
}

static void pattern(uint8_t *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed + 7 * i);
}

/* ------------------------------------------------------------------------ */
/* Edge cases derived from one corpus datagram. Each mutation edits a copy. */

struct mutation {
    const char *name;
    void (*apply)(struct dgram *d, long a, long b);
    long a, b;
};

/* a >= 0: keep a bytes; -1: drop the last byte; -2: keep half. */
static void m_truncate(struct dgram *d, long a, long b)
{
    (void)b;
    if (a == -1)
        d->n -= 1;
    else if (a == -2)
        d->n /= 2;
    else if ((size_t)a < d->n)
        d->n = (size_t)a;
}

static void m_set8(struct dgram *d, long off, long v) { d->b[off] = (uint8_t)v; }
static void m_set16(struct dgram *d, long off, long v) { dtls_put16(d->b + off, (unsigned long)v); }
static void m_set24(struct dgram *d, long off, long v) { dtls_put24(d->b + off, (unsigned long)v); }

static void m_set48(struct dgram *d, long off, long v)
{
    /* v == -1 means all ones (long may be 32 bits elsewhere). */
    put48(d->b + off, v == -1 ? 0xffffffffffffULL : (unsigned long long)v);
}

/* Adds delta to the 16-bit (width 2) or 24-bit (width 3) field at off. */
static void m_add(struct dgram *d, long off, long delta)
{
    if (off == DTLS_REC_LEN)
        dtls_put16(d->b + off, (unsigned long)((long)dtls_get16(d->b + off) + delta));
    else
        dtls_put24(d->b + off, (unsigned long)((long)dtls_get24(d->b + off) + delta));
}

static void m_cookie(struct dgram *d, long len, long b)
{
    uint8_t cookie[255];
    (void)b;
    pattern(cookie, (size_t)len, 0xc0);
    set_cookie(d, cookie, (size_t)len);
}

static void m_session_id(struct dgram *d, long len, long b)
{
    uint8_t field[33];
    (void)b;
    field[0] = (uint8_t)len;
    pattern(field + 1, (size_t)len, 0x51);
    splice(d, DTLS_SID_LEN, 1 + d->b[DTLS_SID_LEN], field, 1 + (size_t)len);
    dtls_fix_lengths(d->b, d->n);
}

static void m_cookie_length_byte(struct dgram *d, long v, long b)
{
    (void)b;
    d->b[dtls_cookie_offset(d->b, d->n)] = (uint8_t)v;
}

/* Turns the ClientHello into its first fragment. First gives it a cookie
 * of cookie_len bytes (if not 0), then cuts the fragment `extra` bytes
 * after the end of the cookie field (negative: inside or before it). The
 * message length keeps the whole ClientHello's length. */
static void m_fragment(struct dgram *d, long cookie_len, long extra)
{
    if (cookie_len > 0)
        m_cookie(d, cookie_len, 0);
    size_t off = dtls_cookie_offset(d->b, d->n);
    size_t end = off + 1 + d->b[off] + (size_t)extra;
    size_t frag = end - DTLS_BODY;
    d->n = end;
    dtls_put24(d->b + DTLS_HS_FLEN, frag);
    dtls_put16(d->b + DTLS_REC_LEN, frag + DTLS_HS_HDR);
}

/* A first fragment of just `len` body bytes. */
static void m_fragment_len(struct dgram *d, long len, long b)
{
    (void)b;
    d->n = DTLS_BODY + (size_t)len;
    dtls_put24(d->b + DTLS_HS_FLEN, (unsigned long)len);
    dtls_put16(d->b + DTLS_REC_LEN, (unsigned long)len + DTLS_HS_HDR);
}

/* Appends to the datagram, after the record: mode 0 len pattern bytes,
 * mode 1 len zero bytes, mode 2 a copy of the record itself. */
static void m_append(struct dgram *d, long len, long mode)
{
    if (mode == 2) {
        memcpy(d->b + d->n, d->b, d->n);
        d->n *= 2;
        return;
    }
    if (mode == 1)
        memset(d->b + d->n, 0, (size_t)len);
    else
        pattern(d->b + d->n, (size_t)len, 0x3a);
    d->n += (size_t)len;
}

/* Puts a 2-byte alert record in front of the ClientHello record. */
static void m_alert_first(struct dgram *d, long a, long b)
{
    static const uint8_t alert[15] = {21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 40};
    (void)a;
    (void)b;
    memmove(d->b + sizeof alert, d->b, d->n);
    memcpy(d->b, alert, sizeof alert);
    d->n += sizeof alert;
}

/* Record sequence 1 and message_seq 1, as a client's second ClientHello. */
static void m_second_hello_numbers(struct dgram *d, long a, long b)
{
    (void)a;
    (void)b;
    put48(d->b + DTLS_REC_SEQ, 1);
    dtls_put16(d->b + DTLS_HS_SEQ, 1);
}

static const struct mutation mutations[] = {
    {"trunc-hs-header", m_truncate, DTLS_BODY, 0},
    {"trunc-version-only", m_truncate, DTLS_BODY + 2, 0},
    {"trunc-half", m_truncate, -2, 0},
    {"trunc-last-byte", m_truncate, -1, 0},
    {"type-20", m_set8, DTLS_REC_TYPE, 20},
    {"type-21", m_set8, DTLS_REC_TYPE, 21},
    {"type-23", m_set8, DTLS_REC_TYPE, 23},
    {"record-major-fd", m_set8, DTLS_REC_VERSION, 0xfd},
    {"record-version-0303", m_set16, DTLS_REC_VERSION, 0x0303},
    {"record-version-fefd", m_set16, DTLS_REC_VERSION, 0xfefd},
    {"record-version-fe00", m_set16, DTLS_REC_VERSION, 0xfe00},
    {"epoch-1", m_set16, DTLS_REC_EPOCH, 1},
    {"epoch-ffff", m_set16, DTLS_REC_EPOCH, 0xffff},
    {"seq-1", m_set48, DTLS_REC_SEQ, 1},
    {"seq-0000ffffffff", m_set48, DTLS_REC_SEQ, 0xffffffffL},
    {"seq-all-ones", m_set48, DTLS_REC_SEQ, -1},
    {"record-length+1", m_add, DTLS_REC_LEN, 1},
    {"record-length-1", m_add, DTLS_REC_LEN, -1},
    {"record-length-0", m_set16, DTLS_REC_LEN, 0},
    {"record-length-ffff", m_set16, DTLS_REC_LEN, 0xffff},
    {"hs-type-0", m_set8, DTLS_HS_TYPE, 0},
    {"hs-type-2", m_set8, DTLS_HS_TYPE, 2},
    {"hs-type-3", m_set8, DTLS_HS_TYPE, 3},
    {"message-length+1", m_add, DTLS_HS_LEN, 1},
    {"message-length-1", m_add, DTLS_HS_LEN, -1},
    {"fragment-length+1", m_add, DTLS_HS_FLEN, 1},
    {"fragment-length-1", m_add, DTLS_HS_FLEN, -1},
    {"message-seq-1", m_set16, DTLS_HS_SEQ, 1},
    {"message-seq-2", m_set16, DTLS_HS_SEQ, 2},
    {"message-seq-3", m_set16, DTLS_HS_SEQ, 3},
    {"message-seq-ffff", m_set16, DTLS_HS_SEQ, 0xffff},
    {"second-hello-numbers", m_second_hello_numbers, 0, 0},
    {"fragment-offset-1", m_set24, DTLS_HS_FOFF, 1},
    {"frag-first-cookie-inside", m_fragment, 0, 4},
    {"frag-first-ends-at-cookie", m_fragment, 0, 0},
    {"frag-first-cuts-cookie-length", m_fragment, 0, -1},
    {"frag-first-cookie32-inside", m_fragment, 32, 0},
    {"frag-first-cuts-cookie32", m_fragment, 32, -16},
    {"frag-first-10-bytes", m_fragment_len, 10, 0},
    {"client-version-feff", m_set16, DTLS_BODY, 0xfeff},
    {"client-version-fefd", m_set16, DTLS_BODY, 0xfefd},
    {"client-version-fefc", m_set16, DTLS_BODY, 0xfefc},
    {"client-version-fe00", m_set16, DTLS_BODY, 0xfe00},
    {"client-version-0303", m_set16, DTLS_BODY, 0x0303},
    {"client-version-0100", m_set16, DTLS_BODY, 0x0100},
    {"client-version-ffff", m_set16, DTLS_BODY, 0xffff},
    {"cookie-1", m_cookie, 1, 0},
    {"cookie-bogus-32", m_cookie, 32, 0},
    {"cookie-33", m_cookie, 33, 0},
    {"cookie-255", m_cookie, 255, 0},
    {"cookie-length-overrun", m_cookie_length_byte, 255, 0},
    {"session-id-32", m_session_id, 32, 0},
    {"session-id-overrun", m_set8, DTLS_SID_LEN, 0xff},
    {"trailing-garbage", m_append, 16, 0},
    {"trailing-zeros", m_append, 100, 1},
    {"two-records", m_append, 0, 2},
    {"alert-record-first", m_alert_first, 0, 0},
};

/* ------------------------------------------------------------------------ */
/* Sockets */

/* A socket address on 127.0.0.1 or ::1. */
static socklen_t loopback(int v6, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (v6) {
        struct sockaddr_in6 *sa = (struct sockaddr_in6 *)ss;
        sa->sin6_family = AF_INET6;
        sa->sin6_addr = in6addr_loopback;
        sa->sin6_port = htons(port);
        return sizeof *sa;
    }
    struct sockaddr_in *sa = (struct sockaddr_in *)ss;
    sa->sin_family = AF_INET;
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa->sin_port = htons(port);
    return sizeof *sa;
}

static uint16_t local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int open_client(struct client *c, int v6)
{
    struct sockaddr_storage ss;
    socklen_t len = loopback(v6, 0, &ss);
    struct timeval tv = {TIMEOUT_MS / 1000, 0};
    int rcvbuf = 1 << 20;

    c->v6 = v6;
    c->fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
    if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&ss, len) != 0 ||
        setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0)
        return -1;
    c->port = local_port(c->fd);
    return c->port ? 0 : -1;
}

static int send_to_port(int fd, int v6, uint16_t port, const uint8_t *data, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t ss_len = loopback(v6, port, &ss);
    return sendto(fd, data, len, 0, (struct sockaddr *)&ss, ss_len) == (ssize_t)len ? 0 : -1;
}

/* Step 3 of a case: collect what the verifier sent to client c. */
static void collect_replies(struct run *run, const struct client *c, struct parity_result *r)
{
    char marker[32];
    uint8_t buf[MAX_DGRAM];
    int n = snprintf(marker, sizeof marker, "parity-marker-%u", ++run->marker);

    r->sent = 0;
    r->reply_len = 0;
    if (send_to_port(run->impl->server_fd[c->v6], c->v6, c->port, (const uint8_t *)marker,
                     (size_t)n) != 0) {
        fail(run, "cannot send the marker", strerror(errno));
        return;
    }
    for (;;) {
        ssize_t got = recv(c->fd, buf, sizeof buf, 0);
        if (got < 0) {
            fail(run, "no marker on the client socket", strerror(errno));
            return;
        }
        if (got == n && memcmp(buf, marker, (size_t)n) == 0)
            return;
        if (r->sent++ == 0) {
            size_t keep = (size_t)got < sizeof r->reply ? (size_t)got : sizeof r->reply;
            memcpy(r->reply, buf, keep);
            r->reply_len = keep;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Reporting */

/* The HelloVerifyRequest's layout, without its cookie bytes. `in` is the
 * datagram that caused it (for the echo of epoch and sequence number). */
static void describe_reply(const struct parity_result *r, const struct dgram *in, char *out,
                           size_t cap)
{
    const uint8_t *p = r->reply;
    size_t n = r->reply_len;

    if (r->sent == 0) {
        snprintf(out, cap, "-");
        return;
    }
    if (n < DTLS_BODY + 3) {
        snprintf(out, cap, "short(%zu)", n);
        return;
    }
    size_t rec_len = dtls_get16(p + DTLS_REC_LEN);
    unsigned long msg_len = dtls_get24(p + DTLS_HS_LEN);
    unsigned long frag_len = dtls_get24(p + DTLS_HS_FLEN);
    int lengths_ok = rec_len == n - DTLS_REC_HDR && frag_len == rec_len - DTLS_HS_HDR &&
                     p[DTLS_BODY + 2] == frag_len - 3;
    const char *echo = "n/a";
    if (in && in->n >= DTLS_REC_HDR)
        echo = memcmp(p + DTLS_REC_EPOCH, in->b + DTLS_REC_EPOCH, 8) == 0 ? "yes" : "no";

    snprintf(out, cap,
             "[type=%u version=%04x epoch=%u seq=%012llx echo=%s hs=%u message_seq=%u "
             "fragment_offset=%lu unfragmented=%s body_version=%04x lengths=%s]",
             p[DTLS_REC_TYPE], dtls_get16(p + DTLS_REC_VERSION), dtls_get16(p + DTLS_REC_EPOCH),
             get48(p + DTLS_REC_SEQ), echo, p[DTLS_HS_TYPE], dtls_get16(p + DTLS_HS_SEQ),
             dtls_get24(p + DTLS_HS_FOFF), msg_len == frag_len ? "yes" : "no",
             dtls_get16(p + DTLS_BODY), lengths_ok ? "ok" : "bad");
}

/* Escapes quotes, backslashes and control bytes of an error string. */
static void quote(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; *s && o + 5 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            o += (size_t)snprintf(out + o, cap - o, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
        else
            out[o++] = (char)ch;
    }
    out[o] = '\0';
}

static void print_result(const char *prefix, const char *name, const struct parity_result *r,
                         const struct dgram *in, const char *vh)
{
    char reply[512], errstr[600];
    describe_reply(r, in, reply, sizeof reply);
    quote(r->errstr, errstr, sizeof errstr);
    printf("%s%s ret=%d err=%d errstr=\"%s\" sent=%d hvr=%s vh=%s\n", prefix, name, r->ret, r->err,
           errstr, r->sent, reply, vh);
}

/* ------------------------------------------------------------------------ */
/* Running cases */

/* Calls verify on server socket `server` (or PARITY_NULL_SOCKET), collects
 * the replies on client c and the verifier's state into r, and prints the
 * line. `in` is the datagram verified (or NULL). */
static void verify_and_report(struct run *run, const char *prefix, const char *name,
                              const struct client *c, int server, const struct dgram *in,
                              const char *addr, uint16_t port, struct parity_result *r)
{
    const struct parity_impl *impl = run->impl;
    static uint8_t before[MAX_DGRAM], after[MAX_DGRAM];
    size_t before_len = impl->verified_hello(impl->ctx, before, sizeof before);
    static const uint8_t nothing[1];

    memset(r, 0, sizeof *r);
    r->ret = impl->verify(impl->ctx, server, in ? in->b : nothing, in ? in->n : 0, addr, port);
    r->err = impl->dtls_error(impl->ctx);
    impl->dtls_error_string(impl->ctx, r->errstr, sizeof r->errstr);
    collect_replies(run, c, r);

    /* verifiedHello() afterwards: empty, the datagram just verified, the
     * one from before this call (input errors must keep it), or other. */
    size_t after_len = impl->verified_hello(impl->ctx, after, sizeof after);
    r->vh_unchanged = after_len == before_len && memcmp(after, before, after_len) == 0;
    const char *vh = "other";
    if (after_len == 0)
        vh = "empty";
    else if (in && after_len == in->n && memcmp(after, in->b, after_len) == 0)
        vh = "datagram";
    else if (r->vh_unchanged)
        vh = "unchanged";

    if (impl->forbid_amplification && r->sent && in && r->reply_len > in->n) {
        fprintf(stderr, "%s: %s: a %zu-byte reply to a %zu-byte datagram\n", impl->name, name,
                r->reply_len, in->n);
        run->failed = 1;
    }
    print_result(prefix, name, r, in, vh);
}

/* A case for a datagram: client c sends it, the implementation receives
 * and verifies it. */
static void dgram_case(struct run *run, const char *name, const struct client *c,
                       const struct dgram *d, struct parity_result *r)
{
    const struct parity_impl *impl = run->impl;
    static uint8_t got[MAX_DGRAM];
    char addr[64];
    uint16_t port = 0;

    memset(r, 0, sizeof *r);
    if (send_to_port(c->fd, c->v6, run->server_port[c->v6], d->b, d->n) != 0) {
        fail(run, "cannot send a datagram to the server", strerror(errno));
        return;
    }
    long n = impl->receive(impl->ctx, c->v6, TIMEOUT_MS, got, sizeof got, addr, sizeof addr, &port);
    if (n != (long)d->n || memcmp(got, d->b, d->n) != 0 || port != c->port) {
        fail(run, "the server did not receive the datagram as sent", name);
        return;
    }
    verify_and_report(run, "", name, c, c->v6, d, addr, port, r);
}

/* The cookie of a HelloVerifyRequest, or 0 if r holds none. */
static size_t reply_cookie(const struct parity_result *r, uint8_t *cookie)
{
    if (r->sent == 0 || r->reply_len < DTLS_BODY + 3)
        return 0;
    size_t len = r->reply[DTLS_BODY + 2];
    if (DTLS_BODY + 3 + len > r->reply_len)
        return 0;
    memcpy(cookie, r->reply + DTLS_BODY + 3, len);
    return len;
}

/* Every case for one corpus datagram: the datagram itself, the edge cases
 * derived from it, and the second flight with the implementation's own
 * cookie. */
static void corpus_cases(struct run *run, const char *file, const struct dgram *orig)
{
    static struct dgram d;
    struct parity_result r, first;
    char name[160];
    uint8_t cookie[256];

    dgram_case(run, file, &run->a, orig, &first);

    for (long n = 0; n <= DTLS_REC_HDR; n++) {
        d = *orig;
        m_truncate(&d, n, 0);
        snprintf(name, sizeof name, "%s/trunc-%ld", file, n);
        dgram_case(run, name, &run->a, &d, &r);
    }
    for (size_t i = 0; i < sizeof mutations / sizeof mutations[0]; i++) {
        d = *orig;
        mutations[i].apply(&d, mutations[i].a, mutations[i].b);
        snprintf(name, sizeof name, "%s/%s", file, mutations[i].name);
        dgram_case(run, name, &run->a, &d, &r);
    }

    /* The second flight: this implementation's own cookie, put back into
     * the ClientHello. */
    size_t cookie_len = reply_cookie(&first, cookie);
    if (cookie_len == 0) {
        printf("%s/second-flight skipped: no HelloVerifyRequest to the first flight\n", file);
        return;
    }
    static struct dgram with;
    with = *orig;
    set_cookie(&with, cookie, cookie_len);

    snprintf(name, sizeof name, "%s/cookie", file);
    dgram_case(run, name, &run->a, &with, &r);
    snprintf(name, sizeof name, "%s/cookie-again", file);
    dgram_case(run, name, &run->a, &with, &r);

    d = with;
    m_second_hello_numbers(&d, 0, 0);
    snprintf(name, sizeof name, "%s/cookie-second-hello-numbers", file);
    dgram_case(run, name, &run->a, &d, &r);

    d = with;
    m_append(&d, 16, 0);
    snprintf(name, sizeof name, "%s/cookie-trailing-garbage", file);
    dgram_case(run, name, &run->a, &d, &r);

    snprintf(name, sizeof name, "%s/cookie-from-other-port", file);
    dgram_case(run, name, &run->b, &with, &r);

    d = with;
    d.b[dtls_cookie_offset(d.b, d.n) + cookie_len] ^= 1;
    snprintf(name, sizeof name, "%s/cookie-last-bit-flipped", file);
    dgram_case(run, name, &run->a, &d, &r);

    d = *orig;
    set_cookie(&d, cookie, cookie_len - 1);
    snprintf(name, sizeof name, "%s/cookie-minus-last-byte", file);
    dgram_case(run, name, &run->a, &d, &r);

    d = with;
    m_set16(&d, DTLS_BODY, dtls_get16(d.b + DTLS_BODY) == 0xfefd ? 0xfeff : 0xfefd);
    snprintf(name, sizeof name, "%s/cookie-other-client-version", file);
    dgram_case(run, name, &run->a, &d, &r);

    d = with;
    m_set16(&d, DTLS_BODY, 0xfefc);
    snprintf(name, sizeof name, "%s/cookie-client-version-fefc", file);
    dgram_case(run, name, &run->a, &d, &r);
}

/* A corpus datagram between peers on ::1: the HelloVerifyRequest echoes a
 * sequence number, and the cookie is bound to the IPv6 address and port. */
static void ipv6_cases(struct run *run, const char *file, const struct dgram *orig)
{
    static struct dgram d, with;
    struct parity_result r, first;
    char name[160];
    uint8_t cookie[256];

    snprintf(name, sizeof name, "ipv6/%s", file);
    dgram_case(run, name, &run->a6, orig, &first);

    d = *orig;
    m_set48(&d, DTLS_REC_SEQ, 0x123456789abcL);
    snprintf(name, sizeof name, "ipv6/%s/seq-123456789abc", file);
    dgram_case(run, name, &run->a6, &d, &r);

    size_t cookie_len = reply_cookie(&first, cookie);
    if (cookie_len == 0) {
        printf("ipv6/%s/second-flight skipped: no HelloVerifyRequest\n", file);
        return;
    }
    with = *orig;
    set_cookie(&with, cookie, cookie_len);
    snprintf(name, sizeof name, "ipv6/%s/cookie", file);
    dgram_case(run, name, &run->a6, &with, &r);
    snprintf(name, sizeof name, "ipv6/%s/cookie-from-other-port", file);
    dgram_case(run, name, &run->b6, &with, &r);
    d = with;
    d.b[dtls_cookie_offset(d.b, d.n) + 1] ^= 0x80;
    snprintf(name, sizeof name, "ipv6/%s/cookie-first-bit-flipped", file);
    dgram_case(run, name, &run->a6, &d, &r);
}

/* Random datagrams from a fixed seed: pure noise, noise behind a valid
 * record header, and noise behind valid record and handshake headers. */
static void garbage_cases(struct run *run)
{
    static struct dgram d;
    struct parity_result r;
    char name[64];

    for (int kind = 0; kind < 3; kind++) {
        for (int i = 0; i < 16; i++) {
            d.n = kind == 0 ? 1 + next_random(run) % 400 : DTLS_BODY + 40 + next_random(run) % 300;
            for (size_t j = 0; j < d.n; j++)
                d.b[j] = (uint8_t)next_random(run);
            if (kind >= 1) {
                d.b[DTLS_REC_TYPE] = 22;
                dtls_put16(d.b + DTLS_REC_VERSION, 0xfefd);
                dtls_put16(d.b + DTLS_REC_EPOCH, 0);
                dtls_put16(d.b + DTLS_REC_LEN, d.n - DTLS_REC_HDR);
            }
            if (kind == 2) {
                d.b[DTLS_HS_TYPE] = 1;
                dtls_put24(d.b + DTLS_HS_LEN, d.n - DTLS_BODY);
                dtls_put16(d.b + DTLS_HS_SEQ, 0);
                dtls_put24(d.b + DTLS_HS_FOFF, 0);
                dtls_put24(d.b + DTLS_HS_FLEN, d.n - DTLS_BODY);
                dtls_put16(d.b + DTLS_BODY, i % 2 ? 0xfeff : 0xfefd);
                /* Short session id and cookie lengths, so some parse. */
                d.b[DTLS_SID_LEN] = (uint8_t)(i % 4 == 0 ? 0 : d.b[DTLS_SID_LEN] % 40);
                if (i % 4 == 0)
                    d.b[DTLS_SID_LEN + 1] = (uint8_t)(i % 8 == 0 ? 0 : 32);
            }
            static const char *const kinds[] = {"noise", "noise-in-record", "noise-in-hello"};
            snprintf(name, sizeof name, "garbage/%s-%02d", kinds[kind], i);
            dgram_case(run, name, &run->a, &d, &r);
        }
    }
}

/* Puts verifiedHello() back to `hello` (a datagram with a valid cookie),
 * without printing, so every input-error case starts from the same state. */
static void reset_verified(struct run *run, const struct dgram *hello)
{
    const struct parity_impl *impl = run->impl;
    struct parity_result r;
    char addr[16] = "127.0.0.1";
    int ok = impl->verify(impl->ctx, 0, hello->b, hello->n, addr, run->a.port);
    collect_replies(run, &run->a, &r);
    if (ok != 1)
        fail(run, "could not re-verify the reference ClientHello", NULL);
}

/* Invalid arguments to verifyClient() and the secret setter. They run
 * with a datagram that carries a valid cookie, after a successful verify,
 * so a call that went ahead anyway would show (as a send or a changed
 * verifiedHello). */
static void input_cases(struct run *run, const struct dgram *orig)
{
    const struct parity_impl *impl = run->impl;
    static struct dgram hello, other;
    struct parity_result r;
    uint8_t cookie[256];
    uint16_t pa = run->a.port;

    dgram_case(run, "input/first-flight", &run->a, orig, &r);
    size_t cookie_len = reply_cookie(&r, cookie);
    if (cookie_len == 0) {
        printf("input/ skipped: no HelloVerifyRequest\n");
        return;
    }
    hello = *orig;
    set_cookie(&hello, cookie, cookie_len);
    dgram_case(run, "input/verified", &run->a, &hello, &r);
    /* The datagram given with the bad arguments: also valid, but not the
     * same bytes as verifiedHello(), so "vh=unchanged" can only mean that
     * verifiedHello() was left alone. */
    other = hello;
    m_append(&other, 16, 0);

    static const struct {
        const char *name;
        int null_socket, empty;
        const char *addr;
    } cases[] = {
        {"input/empty-datagram", 0, 1, "127.0.0.1"},
        {"input/null-address", 0, 0, NULL},
        {"input/empty-address", 0, 0, ""},
        {"input/unparsable-address", 0, 0, "not-an-address"},
        {"input/null-socket", 1, 0, "127.0.0.1"},
        {"input/null-socket-empty-datagram", 1, 1, "127.0.0.1"},
        {"input/null-socket-null-address", 1, 0, NULL},
        {"input/broadcast", 0, 0, "255.255.255.255"},
        {"input/multicast-224.0.0.1", 0, 0, "224.0.0.1"},
        {"input/multicast-239.255.255.250", 0, 0, "239.255.255.250"},
        {"input/multicast-ff02::1", 0, 0, "ff02::1"},
        {"input/multicast-ff0e::1", 0, 0, "ff0e::1"},
        {"input/broadcast-null-socket", 1, 0, "255.255.255.255"},
        {"input/mapped-broadcast", 0, 0, "::ffff:255.255.255.255"},
        {"input/mapped-multicast", 0, 0, "::ffff:224.0.0.1"},
        {"input/unspecified-ipv4", 0, 0, "0.0.0.0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reset_verified(run, &hello);
        verify_and_report(run, "", cases[i].name, &run->a,
                          cases[i].null_socket ? PARITY_NULL_SOCKET : 0,
                          cases[i].empty ? NULL : &other, cases[i].addr, pa, &r);
    }
    /* The error does not outlive the next call. */
    dgram_case(run, "input/next-call-clears-error", &run->a, orig, &r);

    reset_verified(run, &hello);
    memset(&r, 0, sizeof r);
    r.ret = impl->set_empty_secret(impl->ctx);
    r.err = impl->dtls_error(impl->ctx);
    impl->dtls_error_string(impl->ctx, r.errstr, sizeof r.errstr);
    collect_replies(run, &run->a, &r);
    print_result("", "params/empty-secret", &r, NULL, "n/a");
    dgram_case(run, "params/old-cookie-still-valid", &run->a, &hello, &r);
}

/* The cases where dtlsgate deliberately differs from Qt. Both programs
 * print them (prefix "differs "), run.sh shows them apart and does not
 * diff them, and dtlsgate's check_difference asserts its side. */
static void difference_cases(struct run *run, const struct dgram *orig)
{
    const struct parity_impl *impl = run->impl;
    static const struct {
        const char *name;
        int server;
        const char *addr;
        int port0;
    } cases[] = {
        /* dtlsgate refuses port 0 up front; Qt tries to send there. */
        {"port-0", 0, "127.0.0.1", 1},
        /* The HelloVerifyRequest cannot be sent (an IPv6 peer on an IPv4
         * socket, an IPv4 peer on a socket bound to ::1): dtlsgate reports
         * UnderlyingSocketError with the OS text, Qt returns false with
         * NoError. */
        {"send-fails-ipv6-peer-on-ipv4-socket", 0, "::1", 0},
        {"send-fails-ipv6-unspecified-on-ipv4-socket", 0, "::", 0},
        {"send-fails-ipv4-peer-on-ipv6-socket", 1, "127.0.0.1", 0},
    };
    struct parity_result r;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        verify_and_report(run, "differs ", cases[i].name, &run->a, cases[i].server, orig,
                          cases[i].addr, cases[i].port0 ? 0 : run->a.port, &r);
        if (impl->check_difference && !impl->check_difference(cases[i].name, &r))
            run->failed = 1;
    }
}

/* ------------------------------------------------------------------------ */
/* The corpus */

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_file(const char *dir, const char *name, struct dgram *d)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    d->n = fread(d->b, 1, sizeof d->b, f);
    int bad = ferror(f) || d->n == 0 || d->n > MAX_DGRAM / 2 - 300;
    fclose(f);
    return bad ? -1 : 0;
}

int parity_run(const struct parity_impl *impl, const char *corpus_dir)
{
    static struct run run;
    static struct dgram corpus[MAX_FILES];
    char *names[MAX_FILES];
    size_t count = 0;

    memset(&run, 0, sizeof run);
    run.impl = impl;
    run.rng = 0x5eed1234u;
    if (open_client(&run.a, 0) != 0 || open_client(&run.b, 0) != 0 ||
        open_client(&run.a6, 1) != 0 || open_client(&run.b6, 1) != 0) {
        perror("client socket");
        return 1;
    }
    run.server_port[0] = local_port(impl->server_fd[0]);
    run.server_port[1] = local_port(impl->server_fd[1]);
    if (!run.server_port[0] || !run.server_port[1]) {
        perror("server socket");
        return 1;
    }

    DIR *dir = opendir(corpus_dir);
    if (!dir) {
        perror(corpus_dir);
        return 1;
    }
    struct dirent *e;
    while ((e = readdir(dir)) != NULL && count < MAX_FILES) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".bin") == 0)
            names[count++] = strdup(e->d_name);
    }
    closedir(dir);
    if (count == 0) {
        fprintf(stderr, "%s: no *.bin files\n", corpus_dir);
        return 1;
    }
    qsort(names, count, sizeof names[0], compare_names);
    for (size_t i = 0; i < count; i++) {
        if (load_file(corpus_dir, names[i], &corpus[i]) != 0) {
            fprintf(stderr, "%s/%s: unreadable or too large\n", corpus_dir, names[i]);
            return 1;
        }
    }

    for (size_t i = 0; i < count; i++) {
        names[i][strlen(names[i]) - 4] = '\0';
        corpus_cases(&run, names[i], &corpus[i]);
    }
    for (size_t i = 0; i < count; i++)
        ipv6_cases(&run, names[i], &corpus[i]);
    garbage_cases(&run);
    input_cases(&run, &corpus[0]);
    difference_cases(&run, &corpus[0]);

    for (size_t i = 0; i < count; i++)
        free(names[i]);
    close(run.a.fd);
    close(run.b.fd);
    close(run.a6.fd);
    close(run.b6.fd);
    fflush(stdout);
    return run.failed;
}
