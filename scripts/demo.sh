#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make demo: the C echo server on the library's endpoint
# (examples/c/secure_udp_server.c) on 127.0.0.1,
# then three different clients, one after the other: the Python example
# client, the C example client and a real `openssl s_client -dtls1_2 -psk`.
# Each goes through the cookie exchange and the PSK handshake and gets its
# message echoed. Prints what everyone said, stops every process it started,
# and exits 0 only if all three got their echo.
#
#   scripts/demo.sh build/examples/secure_udp_server_c build/examples/secure_udp_client_c
set -u

server=${1:?usage: scripts/demo.sh SERVER CLIENT}
client=${2:?usage: scripts/demo.sh SERVER CLIENT}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tests/interop/common.sh" # wait_for
export PYTHONDONTWRITEBYTECODE=1
KEY=1a2b3c4d5e6f

work=$(mktemp -d "${TMPDIR:-/tmp}/dtlsgate-demo.XXXXXX")
pids=""
finish() {
	local pid
	for pid in $pids; do kill "$pid" 2>/dev/null || true; done
	for pid in $pids; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$work"
}
trap finish EXIT
trap 'echo "demo: interrupted" >&2; exit 130' INT TERM

# The server's lines since the last call, indented.
server_seen=0
server_news() {
	local total
	total=$(wc -l <"$work/server.out")
	sed -n "$((server_seen + 1)),${total}p" "$work/server.out" | sed 's/^/    /'
	server_seen=$total
}

echo "dtlsgate demo: a DTLS 1.2 echo server with pre-shared keys. A client gets a"
echo "session only after it has sent back the server's cookie (RFC 6347, 4.2.1);"
echo "then comes the PSK handshake and the echo."
echo

"$server" 127.0.0.1 0 >"$work/server.out" 2>&1 &
server_pid=$!
pids=" $server_pid"
if ! wait_for "$work/server.out" '^server: listening on ' 10; then
	echo "demo FAILED: the server did not start:"
	sed 's/^/    /' "$work/server.out"
	exit 1
fi
port=$(sed -n 's/^server: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/server.out")
echo "Server: $server 127.0.0.1 0   (examples/c/secure_udp_server.c)"
server_news
echo

ok=0
step() { # step NUMBER TITLE COMMAND-LINE-TO-SHOW
	echo "$1. $2"
	echo "  \$ $3"
}
report() { # report OUTPUT-FILE SUCCESS-PATTERN
	sed 's/^/    /' "$1"
	wait_for "$work/server.out" 'closed the connection$' 2 || true
	echo "  what the server printed meanwhile:"
	server_news
	if grep -qE -- "$2" "$1"; then
		ok=$((ok + 1))
	else
		echo "  -> this client did NOT get its echo"
	fi
	echo
}

step 1 "The Python example client (examples/python/secure_udp_client.py)" \
	"python3 examples/python/secure_udp_client.py 127.0.0.1 $port --name python --count 2"
timeout 20 python3 "$root/examples/python/secure_udp_client.py" 127.0.0.1 "$port" \
	--name python --count 2 >"$work/python.out" 2>&1
report "$work/python.out" '^client python: got "echo: ping 2 from python"$'

step 2 "The C example client (examples/c/secure_udp_client.c)" \
	"$client 127.0.0.1 $port --name c --count 2"
timeout 20 "$client" 127.0.0.1 "$port" --name c --count 2 >"$work/c.out" 2>&1
report "$work/c.out" '^client c: got "echo: ping 2 from c"$'

step 3 "A real OpenSSL client, which nobody here wrote" \
	"openssl s_client -dtls1_2 -psk $KEY -psk_identity 'openssl s_client' -connect 127.0.0.1:$port"
# s_client sends the lines of its stdin and prints what comes back; its
# stdin stays open until the echo is in.
mkfifo "$work/openssl.in"
timeout 20 openssl s_client -dtls1_2 -psk "$KEY" -psk_identity "openssl s_client" -quiet \
	-connect "127.0.0.1:$port" <"$work/openssl.in" >"$work/openssl.raw" 2>&1 &
pids="$pids $!"
exec 3>"$work/openssl.in"
if wait_for "$work/server.out" 'PSK identity "openssl s_client"' 10 &&
	wait_for "$work/server.out" 'handshake complete' 5; then
	echo "hello from openssl" >&3
	wait_for "$work/openssl.raw" '^echo: hello from openssl' 5
fi
exec 3>&-
sleep 0.3
# Only the lines s_client typed and got: its stderr chatter is left out.
{
	echo "sent \"hello from openssl\""
	sed -n 's/^\(echo: .*\)$/got "\1"/p' "$work/openssl.raw"
} >"$work/openssl.out"
report "$work/openssl.out" '^got "echo: hello from openssl"$'

echo "Stopping the server with SIGTERM: it closes what is still open."
kill -TERM "$server_pid"
wait "$server_pid"
status=$?
pids=${pids// $server_pid/} # the rest (s_client -quiet outlives its input) goes in finish
server_news
echo

if [ "$ok" -ne 3 ] || [ "$status" -ne 0 ]; then
	echo "demo FAILED: $ok of 3 clients got their echo; server exit status $status."
	exit 1
fi
echo "All 3 clients passed the cookie check, completed the PSK handshake and got"
echo "their echo. Every process the demo started has stopped."
