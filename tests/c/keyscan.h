/* SPDX-License-Identifier: MIT */
/* The C tests' search of the process's own memory for a pre-shared key:
 * no copy may be left for a memory dump or a core file to show. The key
 * is kept masked and searched for unmasked. Include after check.h. */
#ifndef DTLSGATE_TEST_KEYSCAN_H
#define DTLSGATE_TEST_KEYSCAN_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* How many times the key (mask[i] ^ mask_byte) appears in the process's
 * writable memory, read through /proc/self/mem so that no page can fault. */
static long key_copies(const uint8_t *masked, size_t len, uint8_t mask_byte)
{
    static uint8_t buf[1 << 20];
    char line[512];
    long found = 0;
    FILE *maps = fopen("/proc/self/maps", "r");
    int mem = open("/proc/self/mem", O_RDONLY);
    if (!CHECK(maps != NULL) || !CHECK(mem >= 0))
        return -1;
    while (fgets(line, sizeof line, maps)) {
        unsigned long lo, hi;
        char perm[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) != 3 || perm[1] != 'w')
            continue;
        /* Chunks overlap by len - 1 bytes, so a copy across two is seen;
         * buf itself holds what it just read, and is left out. */
        for (unsigned long at = lo; at < hi; at += sizeof buf - (len - 1)) {
            size_t want = hi - at < sizeof buf ? hi - at : sizeof buf;
            ssize_t n = pread(mem, buf, want, (off_t)at);
            for (ssize_t i = 0; n > 0 && i + (ssize_t)len <= n; i++) {
                size_t j = 0;
                while (j < len && buf[i + j] == (masked[j] ^ mask_byte))
                    j++;
                uintptr_t where = at + (uintptr_t)i;
                if (j == len && (where < (uintptr_t)buf || where >= (uintptr_t)buf + sizeof buf)) {
                    found++;
                    /* Where it lies (heap, a thread's stack, Go's arenas)
                     * is the first clue when a copy is not expected. */
                    fprintf(stderr, "key copy at %#lx in %s", (unsigned long)where, line);
                }
            }
            if (n < (ssize_t)want)
                break;
        }
    }
    memset(buf, 0, sizeof buf);
    close(mem);
    fclose(maps);
    return found;
}

#endif
