/* SPDX-License-Identifier: MIT */
/*
 * vector.c - whether capi_clear_upper() may issue VZEROUPPER: the CPU has
 * AVX and the OS saves the YMM state (XCR0 bits 1 and 2), so the
 * instruction cannot fault. Decided once, when the library is loaded.
 */
#include "capi.h"

#if defined(__x86_64__)
#include <cpuid.h>

int capi_avx_usable;

__attribute__((constructor)) static void capi_detect_avx(void) {
    unsigned int eax, ebx, ecx, edx, xcr0_lo, xcr0_hi;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_OSXSAVE) || !(ecx & bit_AVX))
        return;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    capi_avx_usable = (xcr0_lo & 6) == 6;
}
#endif
