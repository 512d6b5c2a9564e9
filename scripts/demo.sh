#!/usr/bin/env bash
# make demo: the example C server (examples/c/verify_server.c) on loopback,
# a real `openssl s_client -dtls1_2` against it, and the cookie exchange
# printed step by step. Exits 0 if the client got in, non-zero if not;
# every process it starts is stopped before it returns.
#
#   scripts/demo.sh build/server_c
set -eu

server=${1:?usage: scripts/demo.sh PATH/TO/server_c}
[ -x "$server" ] || { echo "demo: $server is not an executable (try: make demo)" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tests/interop/common.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/dtlsgate-demo.XXXXXX")
trap 'interop_stop; rm -rf "$work"' EXIT
trap 'echo "demo: interrupted" >&2; exit 130' INT TERM

echo "dtlsgate demo: a DTLS server lets a client in only after the client has"
echo "returned a cookie (stateless cookie exchange, RFC 6347 section 4.2.1)."
echo

status=0
run_exchange "$work" "$server" 127.0.0.1 \
	openssl s_client -dtls1_2 -connect '127.0.0.1:{port}' || status=$?

echo "  server: $server --once 127.0.0.1 0   (examples/c/verify_server.c)"
echo "          listening on 127.0.0.1:$INTEROP_SERVER_PORT"
echo "  relay:  tests/interop/relay.py on 127.0.0.1:$INTEROP_RELAY_PORT, recording every datagram;"
echo "          the server sees the relay as its peer"
echo "  client: openssl s_client -dtls1_2 -connect 127.0.0.1:$INTEROP_RELAY_PORT"
echo
echo "The exchange, step by step:"
python3 "$INTEROP_DIR/exchange.py" show "$work/relay.log" "$work/server.out" || status=1
echo
echo "What the server printed (hex cut short):"
sed -E 's/(hex=[0-9a-f]{40})[0-9a-f]+/\1.../; s/^/  /' "$work/server.out"
if [ -s "$work/server.err" ]; then
	sed 's/^/  stderr: /' "$work/server.err"
fi
if [ -s "$work/problem" ]; then
	sed 's/^/  problem: /' "$work/problem"
fi
echo

if [ "$status" -ne 0 ]; then
	echo "demo FAILED: the client was not verified (see above). Client output:"
	tail -n 5 "$work/client.out" | sed 's/^/  /'
	exit 1
fi
echo "The client proved it receives datagrams at its address; a real server would"
echo "now start its DTLS handshake from verifiedHello(). All processes stopped."
