# SPDX-License-Identifier: MIT
# The Python quick start of README.md (between the markers): tests/readme/run.py
# saves the README's copy as echo_server.py, runs it from a virtual environment
# as the README says and tries it with openssl s_client, a wrong key first;
# scripts/check-readme.py keeps the copy equal to this.
# README: begin
# echo_server.py: a DTLS 1.2 echo server with a pre-shared key on 127.0.0.1:5684
import sys

from dtlsgate import DtlsgateError, DtlsServer, NotFoundError

server = DtlsServer(keys={b"me": bytes.fromhex("1a2b3c4d5e6f")},
                    handshake_deadline=10)  # a client with a wrong key is dropped then
try:
    server.listen("127.0.0.1:5684")
except DtlsgateError as e:
    sys.exit(f"echo_server.py: cannot use 127.0.0.1:5684: {e}")
print("listening on 127.0.0.1:5684", flush=True)

for event in server:  # waits for the next event; `async for` under asyncio
    if event.kind == "connected":
        print(f"connected: {event.identity.decode(errors='replace')}", flush=True)
    elif event.kind == "data":
        try:
            server.send(event.peer, (b"echo: " + event.data)[:16384])  # one record at most
        except NotFoundError:
            pass  # the client has gone since
# README: end
