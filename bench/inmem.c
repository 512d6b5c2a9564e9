/* SPDX-License-Identifier: MIT */
/*
 * The in-memory benchmark driver: see inmem.h.
 *
 * Timing: CLOCK_MONOTONIC around batches of calls, the same for every
 * library. A handshake is timed from nothing to an established pair and
 * back (both sessions created, the cookie exchange, the handshake, both
 * freed), since a server pays for all of it per client. A record is one
 * datagram encrypted on one side and decrypted on the other.
 */
#define _GNU_SOURCE

#include "inmem.h"

#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int inmem_dirty;
static int batch_mode; /* "batch": records through record_batch() */

static const char *impl_name = "inmem";

void inmem_fail(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s: ", impl_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* What one operation needs: the library, the suite and record size it
 * runs with, and the state set up before timing. */
struct run {
    const struct inmem_lib *lib;
    const char *suite;
    size_t size;
    void *state;
    uint8_t in[INMEM_MAX_DGRAM], out[INMEM_MAX_DGRAM];
    uint32_t counter;
    unsigned per_call; /* records per call of the operation */
    uint8_t ins[INMEM_BATCH][INMEM_MAX_DGRAM], outs[INMEM_BATCH][INMEM_MAX_DGRAM];
};

static void handshake(struct run *r)
{
    void *pair = r->lib->connect(r->suite);
    if (!pair)
        inmem_fail("a %s handshake failed", r->suite);
    r->lib->free_pair(pair);
}

/* Each record carries a fresh counter in its first 4 bytes, checked on
 * arrival, so that a stale or missing plaintext cannot pass; every
 * 64th is compared in full. */
static void check_record(const struct run *r, const uint8_t *in, const uint8_t *out, long n)
{
    uint32_t counter;
    memcpy(&counter, in, sizeof counter);
    if (n != (long)r->size || memcmp(out, in, sizeof counter) != 0 ||
        ((counter & 63) == 0 && memcmp(out, in, r->size) != 0))
        inmem_fail("a %zu-byte %s record did not come back as sent (got %ld bytes)", r->size,
                   r->suite, n);
}

static void record(struct run *r)
{
    r->counter++;
    memcpy(r->in, &r->counter, sizeof r->counter);
    check_record(r, r->in, r->out, r->lib->record(r->state, r->in, r->size, r->out, sizeof r->out));
}

/* INMEM_BATCH records, two calls. */
static void record_batch(struct run *r)
{
    const uint8_t *ins[INMEM_BATCH];
    uint8_t *outs[INMEM_BATCH];
    long lens[INMEM_BATCH];
    for (unsigned i = 0; i < INMEM_BATCH; i++) {
        r->counter++;
        memcpy(r->ins[i], &r->counter, sizeof r->counter);
        ins[i] = r->ins[i];
        outs[i] = r->outs[i];
    }
    if (r->lib->record_batch(r->state, ins, r->size, outs, INMEM_MAX_DGRAM, lens, INMEM_BATCH) != 0)
        inmem_fail("a batch of %zu-byte %s records failed", r->size, r->suite);
    for (unsigned i = 0; i < INMEM_BATCH; i++)
        check_record(r, r->ins[i], r->outs[i], lens[i]);
}

static void cookie(struct run *r)
{
    if (r->lib->cookie_check(r->state) != 1)
        inmem_fail("a ClientHello with a valid cookie did not verify");
}

struct op {
    const char *name;
    const char *suite;
    size_t size;
    void (*fn)(struct run *);
};

static const struct op ops[] = {
    {"handshake_psk", INMEM_PSK_SUITE, 0, handshake},
    {"handshake_ecdhe_psk", INMEM_ECDHE_SUITE, 0, handshake},
    {"record_aes128gcm_64", "PSK-AES128-GCM-SHA256", 64, record},
    {"record_aes128gcm_1000", "PSK-AES128-GCM-SHA256", 1000, record},
    {"record_aes128gcm_1400", "PSK-AES128-GCM-SHA256", 1400, record},
    {"record_aes256gcm_64", "PSK-AES256-GCM-SHA384", 64, record},
    {"record_aes256gcm_1000", "PSK-AES256-GCM-SHA384", 1000, record},
    {"record_aes256gcm_1400", "PSK-AES256-GCM-SHA384", 1400, record},
    {"record_chacha20_64", "PSK-CHACHA20-POLY1305", 64, record},
    {"record_chacha20_1000", "PSK-CHACHA20-POLY1305", 1000, record},
    {"record_chacha20_1400", "PSK-CHACHA20-POLY1305", 1400, record},
    {"cookie_check", NULL, 0, cookie},
    {"session_memory", INMEM_PSK_SUITE, 0, NULL},
};

static double env_double(const char *name, double def)
{
    const char *s = getenv(name);
    double v = s ? atof(s) : 0;
    return v > 0 ? v : def;
}

/* Calls op->fn for about `seconds`, in batches; returns ns per call. */
static double timed(const struct op *op, struct run *r, double seconds)
{
    double spent = 0;
    unsigned long calls = 0;
    unsigned batch = op->fn == handshake ? 8 : 256;
    void (*fn)(struct run *) = batch_mode ? record_batch : op->fn;
    while (spent < seconds * 1e9) {
        double start = now_ns();
        for (unsigned i = 0; i < batch; i++)
            fn(r);
        spent += now_ns() - start;
        calls += batch * r->per_call;
    }
    return spent / (double)calls;
}

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* The heap an established server session keeps: SESSIONS pairs connected,
 * their clients freed, the growth divided by their number. */
static double session_memory(const struct inmem_lib *lib)
{
    enum { SESSIONS = 200 };
    static void *pairs[SESSIONS];

    for (int warm = 0; warm < 4; warm++)   /* the libraries' one-time allocations */
        lib->free_pair(lib->connect(INMEM_PSK_SUITE));
    size_t before = heap_in_use();
    for (int i = 0; i < SESSIONS; i++) {
        if (!(pairs[i] = lib->connect(INMEM_PSK_SUITE)))
            inmem_fail("a handshake failed");
        lib->free_client(pairs[i]);
    }
    size_t after = heap_in_use();
    for (int i = 0; i < SESSIONS; i++)
        lib->free_pair(pairs[i]);
    return ((double)after - (double)before) / SESSIONS;
}

static void run_op(const struct inmem_lib *lib, const struct op *op)
{
    static struct run r;
    double seconds = env_double("BENCH_SECONDS", 0.5);
    int runs = (int)env_double("BENCH_RUNS", 1);

    if (!op->fn) {
        if (lib->malloc_memory)
            printf("result %s %s %.0f bytes\n", impl_name, op->name, session_memory(lib));
        return;
    }
    memset(&r, 0, sizeof r);
    r.lib = lib;
    r.suite = op->suite;
    r.size = op->size;
    r.per_call = batch_mode ? INMEM_BATCH : 1;
    for (size_t i = 0; i < op->size; i++) {
        r.in[i] = (uint8_t)(i * 7 + 1);
        for (unsigned b = 0; b < INMEM_BATCH; b++)
            r.ins[b][i] = r.in[i];
    }
    if (op->fn == record && !(r.state = lib->connect(op->suite)))
        inmem_fail("the %s handshake before the records failed", op->suite);
    if (op->fn == cookie && !(r.state = lib->cookie_setup()))
        inmem_fail("no ClientHello with a cookie to check");

    timed(op, &r, seconds < 0.1 ? seconds : 0.1);   /* warm-up */
    double best = 0;
    for (int i = 0; i < runs; i++) {
        double ns = timed(op, &r, seconds);
        if (i == 0 || ns < best)
            best = ns;
    }
    printf("result %s %s %.1f ns/op\n", impl_name, op->name, best);
    fflush(stdout);

    if (op->fn == record)
        lib->free_pair(r.state);
    if (op->fn == cookie)
        lib->cookie_free(r.state);
}

/* Makes sure INMEM_DIRTY() does what it says where the CPU can tell:
 * XGETBV with ECX=1 returns XINUSE, whose bit 2 is set while the upper
 * halves of the YMM registers are in use (not cleared by VZEROUPPER). */
static void check_dirty(void)
{
#if defined(__x86_64__)
    unsigned a, b, c, d, lo, hi;
    __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xd), "c"(1));
    if (!(a & 4))
        return;   /* no XGETBV with ECX=1 */
    INMEM_DIRTY();
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(1));
    if (!(lo & 4))
        inmem_fail("the upper vector state is not dirty after INMEM_DIRTY()");
    __asm__ volatile("vzeroupper");
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(1));
    (void)hi;
    if (lo & 4)
        inmem_fail("XINUSE does not follow VZEROUPPER: cannot check the dirty state");
#endif
}

int inmem_main(const struct inmem_lib *lib, int argc, char **argv)
{
    static char dirty_name[64], batch_name[64];
    int first = 1;

    impl_name = lib->name;
    if (argc > 1 && strcmp(argv[1], "batch") == 0) {
        if (!lib->record_batch) {
            printf("info %s-batch no batch form of the record calls\n", lib->name);
            return 0;
        }
        snprintf(batch_name, sizeof batch_name, "%s-batch", lib->name);
        impl_name = batch_name;
        first = 2;
        batch_mode = 1;
    }
    if (argc > 1 && strcmp(argv[1], "dirty") == 0) {
        snprintf(dirty_name, sizeof dirty_name, "%s-dirty", lib->name);
        impl_name = dirty_name;
        first = 2;
#if defined(__x86_64__)
        __builtin_cpu_init();
        inmem_dirty = __builtin_cpu_supports("avx2");
#endif
        if (!inmem_dirty) {
            printf("info %s no AVX2 on this CPU: nothing to measure\n", impl_name);
            return 0;
        }
        check_dirty();
    }
    for (int a = first; a < argc; a++) {
        int known = 0;
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
            known |= strcmp(argv[a], ops[i].name) == 0;
        if (!known)
            inmem_fail("unknown operation %s", argv[a]);
        if (batch_mode && strncmp(argv[a], "record_", 7) != 0)
            inmem_fail("batch mode times records only, not %s", argv[a]);
    }
    printf("info %s %s\n", impl_name, lib->version);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (batch_mode && ops[i].fn != record)
            continue;
        int wanted = first >= argc;
        for (int a = first; a < argc && !wanted; a++)
            wanted = strcmp(argv[a], ops[i].name) == 0;
        if (wanted)
            run_op(lib, &ops[i]);
    }
    return 0;
}
