/* SPDX-License-Identifier: MIT */
/*
 * check.h - a minimal test harness for the C API tests.
 *
 * CHECK(cond) and the CHECK_* comparisons count a pass or a failure; a
 * failure prints the file, line, expression and the values involved, and the
 * test carries on. check_report() prints "N passed, M failed" and gives the
 * exit status. Not thread-safe: call the macros from the main thread only.
 */
#ifndef DTLSGATE_TEST_CHECK_H
#define DTLSGATE_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static long check_passed;
static long check_failed;
/* Extra context printed with a failure, e.g. the corpus file in use. */
static const char *check_context = "";

static void check_fail_header(const char *file, int line, const char *expr)
{
    check_failed++;
    fprintf(stderr, "%s:%d: FAIL%s%s%s: %s\n", file, line, check_context[0] ? " [" : "",
            check_context, check_context[0] ? "]" : "", expr);
}

static int check_true(int ok, const char *file, int line, const char *expr)
{
    if (ok) {
        check_passed++;
        return 1;
    }
    check_fail_header(file, line, expr);
    return 0;
}

static int check_eq_ll(long long a, long long b, const char *file, int line, const char *ea,
                       const char *eb)
{
    if (a == b) {
        check_passed++;
        return 1;
    }
    check_fail_header(file, line, "values differ");
    fprintf(stderr, "    %s = %lld\n    %s = %lld\n", ea, a, eb, b);
    return 0;
}

static int check_eq_str(const char *a, const char *b, const char *file, int line,
                        const char *ea, const char *eb)
{
    if (a != NULL && b != NULL && strcmp(a, b) == 0) {
        check_passed++;
        return 1;
    }
    check_fail_header(file, line, "strings differ");
    fprintf(stderr, "    %s = %s%s%s\n    %s = %s%s%s\n", ea, a ? "\"" : "", a ? a : "NULL",
            a ? "\"" : "", eb, b ? "\"" : "", b ? b : "NULL", b ? "\"" : "");
    return 0;
}

static void check_dump(const char *name, const unsigned char *p, size_t n)
{
    size_t i;
    fprintf(stderr, "    %s (%zu bytes):", name, n);
    for (i = 0; i < n && i < 64; i++)
        fprintf(stderr, "%s%02x", i % 16 ? " " : "\n      ", p[i]);
    fprintf(stderr, "%s\n", n > 64 ? " ..." : "");
}

static int check_eq_mem(const void *a, size_t alen, const void *b, size_t blen,
                        const char *file, int line, const char *ea, const char *eb)
{
    size_t i;
    if (alen == blen && (alen == 0 || memcmp(a, b, alen) == 0)) {
        check_passed++;
        return 1;
    }
    check_fail_header(file, line, "bytes differ");
    for (i = 0; i < alen && i < blen; i++)
        if (((const unsigned char *)a)[i] != ((const unsigned char *)b)[i])
            break;
    fprintf(stderr, "    first difference at offset %zu\n", i);
    check_dump(ea, a, alen);
    check_dump(eb, b, blen);
    return 0;
}

/* Each macro evaluates to 1 on a pass and 0 on a failure. */
#define CHECK(cond) check_true(!!(cond), __FILE__, __LINE__, #cond)
#define CHECK_EQ(a, b) check_eq_ll((long long)(a), (long long)(b), __FILE__, __LINE__, #a, #b)
#define CHECK_STR(a, b) check_eq_str((a), (b), __FILE__, __LINE__, #a, #b)
#define CHECK_MEM(a, alen, b, blen) \
    check_eq_mem((a), (alen), (b), (blen), __FILE__, __LINE__, #a, #b)

#ifdef DTLSGATE_TEST_DIRTY_UPPER
#include "upper.h"
#endif

static int check_report(void)
{
#ifdef DTLSGATE_TEST_DIRTY_UPPER
    check_failed += upper_report();
#endif
    printf("%ld passed, %ld failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif /* DTLSGATE_TEST_CHECK_H */
