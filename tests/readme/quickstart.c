/* SPDX-License-Identifier: MIT */
/*
 * quickstart.c - the C quick start of README.md, made a whole program so
 * that the README's code is compiled by `make test` (scripts/check-readme.py
 * checks that the README shows this text between the markers verbatim).
 */
#define _POSIX_C_SOURCE 200809L

#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

/* README: begin */
#include <dtlsgate.h>

static void on_psk(void *user_data, dtlsgate_psk_authenticator *auth)
{
    /* The client's identity is in dtlsgate_psk_authenticator_identity(). */
    static const uint8_t key[] = {0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f};
    dtlsgate_psk_authenticator_set_pre_shared_key(auth, key, sizeof key);
}
/* README: pause */

static void serve(int fd)
{
/* README: resume */
dtlsgate_verifier *verifier = dtlsgate_verifier_new();
dtlsgate_session *session = NULL; /* one client here; keep one per peer */

for (;;) {
    uint8_t dgram[65536], plain[65536];
    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof peer;
    ssize_t n = recvfrom(fd, dgram, sizeof dgram, 0, (struct sockaddr *)&peer, &peer_len);
    if (n <= 0)
        continue;
    if (session == NULL) {
        /* Strangers get a cookie; only a ClientHello that returns it passes. */
        if (dtlsgate_verifier_verify_client_sockaddr(verifier, fd, dgram, (size_t)n,
                                                     (struct sockaddr *)&peer, peer_len) != 1)
            continue;
        session = dtlsgate_session_new(DTLSGATE_SSL_SERVER_MODE);
        dtlsgate_session_set_peer_sockaddr(session, (struct sockaddr *)&peer, peer_len);
        dtlsgate_session_set_cookie_verifier(session, verifier); /* re-checks the cookie */
        dtlsgate_session_set_identity_hint(session, (const uint8_t *)"gateway", 7);
        dtlsgate_session_set_psk_callback(session, on_psk, NULL);
        dtlsgate_session_do_handshake(session, fd, dgram, (size_t)n);
    } else if (dtlsgate_session_handshake_state(session) == DTLSGATE_HANDSHAKE_IN_PROGRESS) {
        dtlsgate_session_do_handshake(session, fd, dgram, (size_t)n);
    } else {
        size_t len = sizeof plain;
        if (dtlsgate_session_decrypt_datagram(session, fd, dgram, (size_t)n, plain, &len) && len)
            dtlsgate_session_write_datagram_encrypted(session, fd, plain, len); /* echo */
    }
}
/* README: end */
}

int main(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in any = {.sin_family = AF_INET, .sin_port = htons(5684)};
    if (fd < 0 || bind(fd, (struct sockaddr *)&any, sizeof any) != 0) {
        perror("bind");
        return 1;
    }
    serve(fd);
    return 0;
}
