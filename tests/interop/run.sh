#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interop test: real DTLS clients against the example C server, on loopback.
#
#   tests/interop/run.sh build/server_c
#
# For each client, relay.py sits between it and the server and records every
# datagram; exchange.py then checks that the first ClientHello was answered
# with our HelloVerifyRequest, that the client came back with that cookie,
# and that the verifier returned true with verifiedHello equal to that second
# datagram. One PASS/FAIL line per client, then "N passed, M failed".
# Only 127.0.0.1 and ::1 are used; all ports are picked by the system.
set -eu

server=${1:?usage: tests/interop/run.sh PATH/TO/server_c}
[ -x "$server" ] || { echo "run.sh: $server is not an executable" >&2; exit 2; }
case $server in /*) ;; *) server=$PWD/$server ;; esac

. "$(dirname "$0")/common.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/dtlsgate-interop.XXXXXX")
passed=0
failed=0

finish() {
	interop_stop
	if [ "$failed" -eq 0 ]; then
		rm -rf "$work"
	else
		echo "logs kept in $work"
	fi
}
trap finish EXIT
trap 'echo "run.sh: interrupted" >&2; exit 130' INT TERM

# show_file FILE TITLE [head|tail]: the first or last lines of FILE,
# indented and cut short, for the details under a FAIL.
show_file() {
	[ -s "$1" ] || return 0
	echo "  --- $2"
	cut -c 1-160 "$1" | "${3:-tail}" -n 8 | sed 's/^/    /'
}

# interop NAME HOST CLIENT-COMMAND... ({port} = the relay's port)
interop() {
	local name=$1 host=$2
	shift 2
	local dir=$work/$name status=0 checked=0 verdict
	run_exchange "$dir" "$server" "$host" "$@" || status=$?
	if [ -s "$dir/problem" ]; then
		verdict=$(cat "$dir/problem")
		checked=1
	else
		verdict=$(python3 "$INTEROP_DIR/exchange.py" check "$dir/relay.log" "$dir/server.out") ||
			checked=$?
	fi
	if [ "$checked" -eq 0 ] && [ "$status" -eq 0 ]; then
		echo "PASS $name: $verdict"
		passed=$((passed + 1))
		return 0
	fi
	if [ "$checked" -eq 0 ]; then
		verdict="the exchange looks right, but the server exited with status $status"
	fi
	echo "FAIL $name: ${verdict#FAILED: }"
	echo "  client: $*   ({port}: the relay's port)"
	[ -s "$dir/problem" ] || echo "  server exit status: $status"
	show_file "$dir/server.out" "server stdout"
	show_file "$dir/server.err" "server stderr"
	show_file "$dir/relay.err" "relay stderr"
	show_file "$dir/client.out" "client output" head
	failed=$((failed + 1))
}

# First the checker's own tests (silent when they pass): a checker that
# cannot fail would make every PASS below meaningless.
if ! selftest=$(python3 "$INTEROP_DIR/test_exchange.py" 2>&1); then
	echo "FAIL exchange.py self-test:"
	echo "$selftest" | sed 's/^/  /'
	failed=$((failed + 1))
fi

interop openssl-dtls1_2 127.0.0.1 openssl s_client -dtls1_2 -connect '127.0.0.1:{port}'
interop openssl-dtls1 127.0.0.1 openssl s_client -dtls1 -connect '127.0.0.1:{port}'
interop gnutls-cli-udp 127.0.0.1 gnutls-cli --udp --insecure -p '{port}' 127.0.0.1

# The IPv6 case is required: a machine without ::1 fails it, loudly.
if python3 -c 'import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(("::1", 0))' \
	2>/dev/null; then
	interop openssl-dtls1_2-ipv6 ::1 openssl s_client -dtls1_2 -connect '[::1]:{port}'
else
	echo "FAIL openssl-dtls1_2-ipv6: ::1 (IPv6 loopback) is not available on this machine;" \
		"this test needs it and is not skipped"
	failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
