/* SPDX-License-Identifier: MIT */
/*
 * upper.h - runs a C test as a host that leaves the upper vector state
 * dirty would (issue 12: any code built with -mavx2 or using AVX without a
 * final VZEROUPPER). check.h includes it when DTLSGATE_TEST_DIRTY_UPPER is
 * defined; the Makefile builds such variants of the tests with -mavx2 and
 * runs them where the CPU has AVX2.
 *
 * upper_calls.h, generated from the header (scripts/gen-entry.py
 * dirty-calls), replaces every public function with one that dirties the
 * upper half of YMM1, makes the call, and reads the state back: the
 * library's entry must have cleared it and nothing in the library (the
 * test's PSK callbacks included, which run dirty too) may have left it
 * dirty. The state is read with XGETBV(1) (XINUSE bit 2: the upper halves
 * of the YMM registers are not all zero) where the CPU has it; elsewhere
 * only the results are checked. The state is dirtied again after each
 * call, so the test's own code, callbacks included, runs dirty.
 */
#ifndef DTLSGATE_TEST_UPPER_H
#define DTLSGATE_TEST_UPPER_H

#include <cpuid.h>
#include <stdio.h>

static long upper_calls, upper_dirty_returns;
static int upper_can_read = -1; /* XGETBV(1) available; -1 before the first look */

static void upper_dirty(void)
{
    __asm__ volatile("vpcmpeqd %%ymm1, %%ymm1, %%ymm1" ::: "xmm1");
}

static int upper_is_dirty(void)
{
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(1));
    return (lo >> 2) & 1;
}

static void upper_returned(const char *function)
{
    if (upper_can_read < 0) {
        unsigned int eax = 0, ebx, ecx, edx;
        __cpuid_count(0xd, 1, eax, ebx, ecx, edx);
        upper_can_read = (eax >> 2) & 1;
    }
    __atomic_add_fetch(&upper_calls, 1, __ATOMIC_RELAXED);
    if (upper_can_read && upper_is_dirty() &&
        __atomic_add_fetch(&upper_dirty_returns, 1, __ATOMIC_RELAXED) <= 10)
        fprintf(stderr, "FAIL: %s returned with the upper vector state dirty\n", function);
    upper_dirty();
}

/* Prints what was seen; the number of calls that came back dirty. */
static long upper_report(void)
{
    printf("upper vector state: %ld calls made dirty, %ld came back dirty%s\n", upper_calls,
           upper_dirty_returns,
           upper_can_read == 1 ? "" : " (not readable on this CPU: results checked only)");
    return upper_dirty_returns;
}

#include "dtlsgate.h"
#include "upper_calls.h"

#endif
