/* SPDX-License-Identifier: MIT */
/*
 * udp.h - loopback UDP sockets for the C tests.
 */
#ifndef DTLSGATE_TEST_UDP_H
#define DTLSGATE_TEST_UDP_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int fd;
    struct sockaddr_storage addr;
    socklen_t len;
    uint16_t port;
} udp_t;

/* A UDP socket of `family` bound to ip, port chosen by the kernel. */
static inline int udp_open(int family, const char *ip, udp_t *u)
{
    memset(u, 0, sizeof *u);
    u->fd = socket(family, SOCK_DGRAM, 0);
    if (u->fd < 0)
        return -1;
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&u->addr;
        a->sin_family = AF_INET;
        if (inet_pton(AF_INET, ip, &a->sin_addr) != 1)
            goto fail;
        u->len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&u->addr;
        int off = 0;
        setsockopt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
        a->sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, ip, &a->sin6_addr) != 1)
            goto fail;
        u->len = sizeof *a;
    }
    if (bind(u->fd, (struct sockaddr *)&u->addr, u->len) != 0)
        goto fail;
    if (getsockname(u->fd, (struct sockaddr *)&u->addr, &u->len) != 0)
        goto fail;
    u->port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&u->addr)->sin_port
                                      : ((struct sockaddr_in6 *)&u->addr)->sin6_port);
    return 0;
fail:
    close(u->fd);
    u->fd = -1;
    return -1;
}

static inline void udp_close(udp_t *u)
{
    if (u->fd >= 0)
        close(u->fd);
    u->fd = -1;
}

/* Milliseconds on a monotonic clock. */
static inline long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void sleep_ms(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

#endif
