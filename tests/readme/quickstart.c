/* SPDX-License-Identifier: MIT */
/* The C quick start of README.md (between the markers): tests/readme/run.py
 * saves the README's copy as echo_server.c, builds it with the README's
 * commands against a scratch install and tries it with openssl s_client,
 * a wrong key first; scripts/check-readme.py keeps the copy equal to this. */
/* README: begin */
/* echo_server.c: a DTLS 1.2 echo server with a pre-shared key on 127.0.0.1:5684 */
#include <dtlsgate.h>

#include <stdio.h>
#include <string.h>

int main(void)
{
    dtlsgate_server_config cfg = {.size = sizeof cfg};
    dtlsgate_server_config_init(&cfg);      /* the limits' defaults (see "Limits") */
    cfg.handshake_deadline_ms = 10000;      /* a client with a wrong key is dropped then */
    dtlsgate_server *srv;
    if (dtlsgate_server_new(&cfg, &srv) != DTLSGATE_OK)
        return 1;
    static const uint8_t key[] = {0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f};
    dtlsgate_server_set_psk(srv, (const uint8_t *)"me", 2, key, sizeof key);
    if (dtlsgate_server_listen(srv, "127.0.0.1:5684") != DTLSGATE_OK) {
        fprintf(stderr, "echo_server: cannot use 127.0.0.1:5684: %s\n",
                dtlsgate_last_error_message());
        return 1;
    }
    printf("listening on 127.0.0.1:5684\n");
    fflush(stdout);

    for (;;) {
        dtlsgate_server_event events[64];
        int n = dtlsgate_server_poll(srv, events, 64, -1); /* waits for the next events */
        for (int i = 0; i < n; i++) {
            const dtlsgate_server_event *ev = &events[i];
            if (ev->type == DTLSGATE_SERVER_EVENT_CONNECTED) {
                printf("connected: %.*s\n", (int)ev->identity_len, (const char *)ev->identity);
                fflush(stdout);
            } else if (ev->type == DTLSGATE_SERVER_EVENT_DATA) {
                uint8_t reply[16384] = "echo: "; /* one record at most */
                size_t len = ev->data_len < sizeof reply - 6 ? ev->data_len : sizeof reply - 6;
                memcpy(reply + 6, ev->data, len);
                dtlsgate_server_send(srv, (const struct sockaddr *)&ev->peer, ev->peer_len, reply,
                                     6 + len);
            }
        }
    }
}
/* README: end */
