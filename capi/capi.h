/* SPDX-License-Identifier: MIT */
/*
 * capi.h - private to the capi package: what the Go exports need beyond the
 * public header. Every Go file of the package includes this, so the public
 * header is compiled with the exports and cgo's generated prototypes must
 * agree with it.
 */
#ifndef DTLSGATE_CAPI_H
#define DTLSGATE_CAPI_H

#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dtlsgate.h"

/*
 * cgo cannot spell `const` in the prototypes it writes for exported
 * functions. Naming the const-qualified types lets the Go signatures produce
 * exactly the header's types, so a mismatch is a compile error.
 */
typedef const uint8_t capi_in_bytes;
typedef const char capi_in_char;
typedef const char capi_static_string;
typedef const struct sockaddr capi_in_sockaddr;
typedef const dtlsgate_verifier capi_const_verifier;
typedef const dtlsgate_psk_authenticator capi_const_authenticator;
typedef const dtlsgate_session capi_const_session;

/*
 * The upper halves of the YMM registers, if the host left them dirty (any
 * AVX code without a final VZEROUPPER), make every SSE instruction of Go's
 * compiled code and assembly pay a transition penalty on Intel CPUs: 23x
 * on a cookie check. Every public function (capi/entry.c) and every return
 * from the host's callback clears them. capi_avx_usable is set once at load
 * (capi/vector.c): VZEROUPPER faults where the CPU or the OS lacks AVX.
 */
#if defined(__x86_64__)
extern int capi_avx_usable __attribute__((visibility("hidden")));
static inline void capi_clear_upper(void) {
    if (__builtin_expect(capi_avx_usable, 1))
        __asm__ volatile("vzeroupper");
}
#else
static inline void capi_clear_upper(void) {}
#endif

/* Handles are numbers dressed as pointers; C never dereferences them. */
static inline dtlsgate_verifier *capi_verifier_handle(uintptr_t id) {
    return (dtlsgate_verifier *)id;
}
static inline dtlsgate_psk_authenticator *capi_authenticator_handle(uintptr_t id) {
    return (dtlsgate_psk_authenticator *)id;
}
static inline dtlsgate_session *capi_session_handle(uintptr_t id) {
    return (dtlsgate_session *)id;
}

/* Go cannot call a C function pointer itself. user_data travels as an
 * integer: it is the caller's, and need not be a valid pointer at all. */
static inline void capi_call_psk(dtlsgate_psk_callback cb, uintptr_t user_data,
                                 dtlsgate_psk_authenticator *a) {
    cb((void *)user_data, a);
    capi_clear_upper();
}

/* Identifies the calling thread, to refuse re-entry from a callback. */
static inline uintptr_t capi_thread_self(void) { return (uintptr_t)pthread_self(); }

static inline const char *capi_version_string(void) { return DTLSGATE_VERSION; }

/* lasterror.c: the calling thread's dtlsgate_last_error_message(). A
 * detail set for a status is kept when the call ends with that status
 * (capi_last_error_status); otherwise the status's generic text replaces
 * it. */
void capi_set_last_error(const char *msg, size_t len, int status);
void capi_last_error_status(int status, capi_static_string *generic);
capi_static_string *capi_last_error(void);

/* Sends buf to the peer (IPv4 when v4 is set: the last four bytes of addr)
 * and returns 0 or the errno of the failure. */
static inline int capi_sendto(int fd, const void *buf, size_t len, const uint8_t *addr,
                              int v4, uint16_t port, uint32_t scope_id) {
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    if (v4) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        memcpy(&sin->sin_addr, addr + 12, 4);
        sl = sizeof *sin;
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        memcpy(&sin6->sin6_addr, addr, 16);
        sin6->sin6_scope_id = scope_id;
        sl = sizeof *sin6;
    }
    ssize_t n = sendto(fd, buf, len, 0, (struct sockaddr *)&ss, sl);
    if (n < 0)
        return errno;
    return (size_t)n == len ? 0 : EMSGSIZE;
}

/* The operating system's text for err, whichever strerror_r glibc gives. */
static inline void capi_strerror(int err, char *buf, size_t len) {
#ifdef _GNU_SOURCE
    const char *s = strerror_r(err, buf, len);
    if (s != buf)
        snprintf(buf, len, "%s", s);
#else
    if (strerror_r(err, buf, len) != 0)
        snprintf(buf, len, "Unknown error %d", err);
#endif
}

#endif
