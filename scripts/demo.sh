#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make demo: the C echo server on the library's endpoint
# (examples/c/secure_udp_server.c) on 127.0.0.1,
# then three different clients, one after the other: the Python example
# client, the C example client and a real `openssl s_client -dtls1_2 -psk`.
# Each goes through the cookie exchange and the PSK handshake and gets its
# message echoed. Then, given PROXY, a second act: dtlsgate-proxy in front
# of libcoap's coap-server-notls (a CoAP server without DTLS), and
# libcoap's coap-client-openssl fetching / through it over coaps://.
# Prints what everyone said (the proxy's log and metrics too), stops every
# process it started, and exits 0 only if all three got their echo and the
# CoAP client its page.
#
#   scripts/demo.sh build/examples/secure_udp_server_c build/examples/secure_udp_client_c [bin/dtlsgate-proxy]
set -u

server=${1:?usage: scripts/demo.sh SERVER CLIENT [PROXY]}
client=${2:?usage: scripts/demo.sh SERVER CLIENT [PROXY]}
proxy=${3:-}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tests/interop/common.sh" # wait_for
. "$root/scripts/coap.sh"         # free_udp_ports, wait_coap
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
# up OUTPUT PATTERN WHAT: waits until a line of OUTPUT matches PATTERN, or
# fails the demo with what WHAT printed.
up() {
	wait_for "$1" "$2" 10 && return 0
	echo "demo FAILED: $3 did not start:"
	sed 's/^/    /' "$1"
	exit 1
}
up "$work/server.out" '^server: listening on ' "the server"
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
echo "their echo."
[ -n "$proxy" ] || exit 0
echo

echo "Second act: dtlsgate-proxy puts DTLS-PSK in front of a UDP service that has none,"
echo "libcoap's plain CoAP server; libcoap's own DTLS client fetches / through it."
echo
# libcoap takes the key as text; the proxy's key file holds it in hex.
coap_key=demo-secret
coap_port=$(free_udp_ports 1)
printf 'sensor-1:%s\n' "$(hexof "$coap_key")" >"$work/keys.txt"
echo "  \$ coap-server-notls -A 127.0.0.1 -p $coap_port"
coap-server-notls -A 127.0.0.1 -p "$coap_port" >"$work/coap.out" 2>&1 &
coap_pid=$!
pids="$pids $coap_pid"
if ! wait_coap "$coap_port"; then
	echo "demo FAILED: coap-server-notls did not answer on port $coap_port:"
	sed 's/^/    /' "$work/coap.out"
	exit 1
fi
echo "  \$ dtlsgate-proxy --listen 127.0.0.1:0 --backend 127.0.0.1:$coap_port --psk-file keys.txt --metrics 127.0.0.1:0"
echo "    (keys.txt: sensor-1:$(cut -d: -f2 "$work/keys.txt"), \"$coap_key\" in hex)"
"$proxy" --listen 127.0.0.1:0 --backend "127.0.0.1:$coap_port" --psk-file "$work/keys.txt" \
	--metrics 127.0.0.1:0 >"$work/proxy.out" 2>&1 &
proxy_pid=$!
pids="$pids $proxy_pid"
up "$work/proxy.out" 'msg=metrics ' "the proxy"
proxy_port=$(sed -n 's/.*msg=listening address=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/proxy.out")
metrics=$(sed -n 's/.*msg=metrics url=\(.*\)$/\1/p' "$work/proxy.out")
echo "  the proxy's log:"
sed 's/^/    /' "$work/proxy.out"
proxy_seen=$(wc -l <"$work/proxy.out")
echo

echo "4. libcoap's DTLS client through the proxy"
echo "  \$ coap-client-openssl -u sensor-1 -k $coap_key -m get coaps://127.0.0.1:$proxy_port/"
timeout 20 coap-client-openssl -u sensor-1 -k "$coap_key" -m get "coaps://127.0.0.1:$proxy_port/" \
	>"$work/coap-client.out" 2>&1
coap_status=$?
sed 's/^/    /' "$work/coap-client.out"
wait_for "$work/proxy.out" 'msg=close ' 5 || true
echo "  what the proxy logged meanwhile:"
sed -n "$((proxy_seen + 1)),\$p" "$work/proxy.out" | sed 's/^/    /'
echo "  what its metrics say ($metrics):"
python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' \
	"$metrics" >"$work/metrics.txt" 2>&1
# The proxy's own lines, without the histogram's buckets and the counters
# still at 0.
grep '^dtlsgate_proxy_' "$work/metrics.txt" | grep -v '_bucket{' | grep -E -v '_total(\{.*\})? 0$' | sed 's/^/    /'
metric() { sed -n "s/^dtlsgate_proxy_$1 //p" "$work/metrics.txt"; }
echo "  (sessions is back to 0: the client said close_notify once it had its page.)"
echo

echo "Stopping the proxy and the CoAP server."
kill -TERM "$proxy_pid"
wait "$proxy_pid"
proxy_status=$?
kill "$coap_pid"
wait "$coap_pid" 2>/dev/null
pids=${pids// $proxy_pid/}
pids=${pids// $coap_pid/}
if [ "$coap_status" -ne 0 ] || ! grep -q 'libcoap' "$work/coap-client.out" ||
	[ "$(metric handshakes_completed_total)" != 1 ] || [ "$(metric handshake_duration_seconds_count)" != 1 ] ||
	[ "$proxy_status" -ne 0 ]; then
	echo "demo FAILED: coap-client-openssl exit status $coap_status; the proxy counted" \
		"$(metric handshakes_completed_total) handshake(s) and exited with status $proxy_status."
	exit 1
fi
echo "coap-client-openssl got the CoAP server's page through dtlsgate-proxy, which"
echo "counted 1 handshake and exited 0. Every process the demo started has stopped."
