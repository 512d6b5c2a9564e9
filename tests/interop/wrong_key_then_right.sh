#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A DTLS-PSK echo server (key 1a2b3c4d5e6f, answers "echo: TEXT") as a
# user tries it: it refuses to start on a port that is taken, saying so;
# an openssl s_client with a wrong key gets no echo; then openssl s_client
# and gnutls-cli with the right key each get theirs, from the same server.
#
#   tests/interop/wrong_key_then_right.sh PORT SERVER-COMMAND...
#
# SERVER-COMMAND must serve 127.0.0.1:PORT. One PASS/FAIL line per step;
# exits 1 if any failed. Every process it starts is ended and waited for.
set -u
port=${1:?usage: wrong_key_then_right.sh PORT SERVER-COMMAND...}
shift
[ $# -gt 0 ] || { echo "usage: wrong_key_then_right.sh PORT SERVER-COMMAND..." >&2; exit 2; }
KEY=1a2b3c4d5e6f
. "$(dirname "$0")/common.sh" # wait_for

work=$(mktemp -d "${TMPDIR:-/tmp}/dtlsgate-wrong-key.XXXXXX")
pids=""
failed=0
finish() {
	local pid
	exec 3>&-
	for pid in $pids; do kill "$pid" 2>/dev/null; done
	for pid in $pids; do wait "$pid" 2>/dev/null; done
	if [ "$failed" -eq 0 ]; then rm -rf "$work"; else echo "logs kept in $work"; fi
}
trap finish EXIT
trap 'exit 130' INT TERM

pass() { echo "PASS $1"; }
fail() {
	failed=1
	echo "FAIL $1: $2"
	local f
	for f in "${@:3}"; do
		[ -s "$f" ] && { echo "  --- $f"; tail -n 12 "$f" | sed 's/^/    /'; }
	done
}

bound() { # whether 127.0.0.1:$port is taken
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)
sys.exit(1)' "$port"
}

if bound; then
	echo "wrong_key_then_right.sh: 127.0.0.1:$port is in use" >&2
	exit 1
fi
"$@" >"$work/server.out" 2>"$work/server.err" &
server=$!
pids="$server"
for _ in $(seq 200); do bound && break; kill -0 "$server" 2>/dev/null || break; sleep 0.05; done
if ! bound; then
	fail "server starts on 127.0.0.1:$port" "it does not listen" "$work/server.out" "$work/server.err"
	exit 1
fi

# A second server on the same port must fail at once and say why.
timeout 10 "$@" >"$work/second.out" 2>"$work/second.err"
status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 124 ] && grep -qiE 'bind|address|in use' "$work/second.err"; then
	pass "a second server on port $port fails (status $status) and says so"
else
	fail "a second server on port $port fails and says so" "exit status $status" "$work/second.err"
fi

# client NAME TEXT COMMAND...: runs COMMAND with its input from a pipe,
# types TEXT once its handshake may be done, leaves its output in
# $work/NAME.out, then ends it. Sets client_out.
client() {
	local name=$1 text=$2
	shift 2
	client_out=$work/$name.out
	mkfifo "$work/$name.in"
	"$@" <"$work/$name.in" >"$client_out" 2>&1 &
	local pid=$!
	pids="$pids $pid"
	exec 3>"$work/$name.in"
	# openssl prints nothing before its handshake ends with -quiet; gnutls-cli
	# says "Handshake was completed". Either way, type the line after a while
	# and again later (a line sent before the handshake ended is lost).
	sleep 1
	echo "$text" >&3
	wait_for "$client_out" "echo: $text" "${WAIT_ECHO:-5}"
	local got=$?
	exec 3>&-
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pids=${pids// $pid/}
	return $got
}

if WAIT_ECHO=3 client wrong "wrong key" openssl s_client -dtls1_2 -psk 0badc0de \
	-psk_identity "wrong" -quiet -connect "127.0.0.1:$port"; then
	fail "openssl s_client with a wrong key gets no echo" "it got one" "$client_out"
else
	pass "openssl s_client with a wrong key gets no echo"
fi
if client right "hello from openssl" openssl s_client -dtls1_2 -psk "$KEY" \
	-psk_identity "openssl client" -quiet -connect "127.0.0.1:$port"; then
	pass "then openssl s_client with the right key gets its echo"
else
	fail "then openssl s_client with the right key gets its echo" "no echo" "$client_out" "$work/server.out"
fi
if client gnutls "hello from gnutls" gnutls-cli --udp --pskusername "gnutls client" \
	--pskkey "$KEY" -p "$port" 127.0.0.1 --priority 'NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK'; then
	pass "then gnutls-cli with the right key gets its echo"
else
	fail "then gnutls-cli with the right key gets its echo" "no echo" "$client_out" "$work/server.out"
fi
if kill -0 "$server" 2>/dev/null; then
	pass "the server is still running"
else
	fail "the server is still running" "it exited" "$work/server.out" "$work/server.err"
fi
exit "$failed"
