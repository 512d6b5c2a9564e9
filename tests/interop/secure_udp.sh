#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interop test for a port of the secure UDP examples (examples/CONTRACT.md):
# the example server against the example client and against real openssl and
# gnutls clients; the example client against real openssl and gnutls
# servers. Loopback only (127.0.0.1 and ::1), every port picked by the system.
#
#   tests/interop/secure_udp.sh [--diy] 'SERVER COMMAND' 'CLIENT COMMAND'
#   e.g. tests/interop/secure_udp.sh build/examples/secure_udp_server_c \
#                                    build/examples/secure_udp_client_c
#
# The server is a secure_udp_server, on the library's endpoint; --diy says
# it is the "do it yourself" server, which also prints each handshake's
# steps (cookie sent, cookie verified, handshake failed, started over), and
# those are checked too. Both take --deadline (the wrong-key case uses it).
#
# Prints one PASS/FAIL line per case and "N passed, M failed"; exits 1 if
# any failed, keeping the logs.
set -u

diy=0
if [ "${1:-}" = --diy ]; then
	diy=1
	shift
fi
server_cmd=${1:?usage: secure_udp.sh [--diy] 'SERVER COMMAND' 'CLIENT COMMAND'}
client_cmd=${2:?usage: secure_udp.sh [--diy] 'SERVER COMMAND' 'CLIENT COMMAND'}
read -r -a server_argv <<<"$server_cmd"
read -r -a client_argv <<<"$client_cmd"

KEY=1a2b3c4d5e6f
WAIT=15 # seconds any one step may take at most (wait_for's default too)
. "$(dirname "$0")/common.sh" # wait_for, cases_start

cases_start secure-udp # pass, fail, count, stop_all

# start_server HOST [OPTION...]: the example server on HOST port 0; sets
# server_pid, server_port and server_out.
start_server() {
	server_out=$work/server-$1-$RANDOM.out
	"${server_argv[@]}" "$1" 0 "${@:2}" >"$server_out" 2>&1 &
	server_pid=$!
	pids="$pids $server_pid"
	server_port=""
	if wait_for "$server_out" '^server: listening on ' 10; then
		server_port=$(sed -n 's/^server: listening on .*:\([0-9][0-9]*\)$/\1/p' "$server_out" | head -n 1)
	fi
	[ -n "$server_port" ]
}

# stop_server: SIGTERM; the server must say how many it closed and exit 0.
stop_server() {
	kill -TERM "$server_pid"
	local status=0
	wait "$server_pid" || status=$?
	pids=${pids// $server_pid/}
	[ "$status" -eq 0 ] && grep -qE '^server: shutting down, closed [0-9]+ connection\(s\)$' "$server_out"
}

# --- the example client against the example server, several at once -------
for host in 127.0.0.1 ::1; do
	name="example client x3 -> example server on $host"
	if ! start_server "$host"; then
		fail "$name" "the server did not start" "$server_out"
		continue
	fi
	out=$work/client-$host.out
	timeout $WAIT "${client_argv[@]}" "$host" "$server_port" --clients 3 --count 2 --name ex >"$out" 2>&1
	status=$?
	wait_for "$server_out" 'closed the connection' 3
	sleep 0.2
	if [ "$status" -ne 0 ]; then
		fail "$name" "client exit status $status" "$out" "$server_out"
	elif [ "$(count "$out" '^client ex-[123]: got "echo: ping [12] from ex-[123]"$')" -ne 6 ] ||
		[ "$(count "$out" '^client ex-[123]: shut down$')" -ne 3 ] ||
		[ "$(count "$out" '^client ex-[123]: server.s identity hint "dtlsgate example server"$')" -ne 3 ]; then
		fail "$name" "the client's lines are not all there" "$out"
	elif [ "$diy" = 1 ] && { [ "$(count "$server_out" 'no cookie yet, sent HelloVerifyRequest$')" -ne 3 ] ||
		[ "$(count "$server_out" 'cookie verified, starting handshake$')" -ne 3 ]; }; then
		fail "$name" "the server's handshake steps are not all there" "$server_out"
	elif [ "$(count "$server_out" 'PSK identity "dtlsgate example client"$')" -ne 3 ] ||
		[ "$(count "$server_out" 'handshake complete \(PSK-AES128-GCM-SHA256, DTLSv1.2\)$')" -ne 3 ] ||
		[ "$(count "$server_out" 'says "ping [12] from ex-[123]"$')" -ne 6 ] ||
		[ "$(count "$server_out" 'closed the connection$')" -ne 3 ]; then
		fail "$name" "the server's lines are not all there" "$server_out"
	elif ! stop_server; then
		fail "$name" "SIGTERM did not end the server cleanly" "$server_out"
	else
		pass "$name"
	fi
	stop_all
done

# --- a client with another key is refused, and others are served meanwhile --
# Neither side can read the other's Finished and the engine drops what it
# cannot read, so the client gives up only when its 15 s are over and the
# server at its handshake deadline (3 s here, 30 s by default). Meanwhile a
# client with the right key gets in. The endpoint reports no failed
# handshake (it counts it); the DIY server prints "handshake failed".
name="example client with a wrong key -> example server, a right one meanwhile"
if start_server 127.0.0.1 --deadline 3; then
	out=$work/client-wrong-key.out
	timeout $((WAIT + 5)) "${client_argv[@]}" 127.0.0.1 "$server_port" --psk 0badc0de --name wrong >"$out" 2>&1 &
	wpid=$!
	pids="$pids $wpid"
	sleep 0.5
	right=$work/client-right-key.out
	timeout $WAIT "${client_argv[@]}" 127.0.0.1 "$server_port" --count 1 --name right >"$right" 2>&1
	rstatus=$?
	wait "$wpid"
	status=$?
	pids=${pids// $wpid/}
	if [ "$rstatus" -ne 0 ] || ! grep -q '^client right: got "echo: ping 1 from right"$' "$right"; then
		fail "$name" "the right-key client did not get its echo (status $rstatus)" "$right" "$server_out"
	elif [ "$status" -ne 1 ] || ! grep -q '^client wrong: failed: ' "$out"; then
		fail "$name" "client exit status $status, want 1 and a failed line" "$out"
	elif [ "$(count "$server_out" 'handshake complete')" -ne 1 ]; then
		fail "$name" "want one completed handshake, the right client's" "$server_out"
	elif [ "$diy" = 1 ] && ! wait_for "$server_out" 'handshake failed: ' 5; then
		fail "$name" "the server did not report the failure" "$server_out"
	else
		pass "$name"
	fi
else
	fail "$name" "the server did not start" "$server_out"
fi
stop_all

# --- a client that starts before the server: its timer must carry it --------
free_port() { python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
name="example client started 1.5 s before the example server"
port=$(free_port)
out=$work/client-early.out
timeout $WAIT "${client_argv[@]}" 127.0.0.1 "$port" --count 1 --name early >"$out" 2>&1 &
cpid=$!
pids="$pids $cpid"
sleep 1.5
server_out=$work/server-late.out
"${server_argv[@]}" 127.0.0.1 "$port" >"$server_out" 2>&1 &
server_pid=$!
pids="$pids $server_pid"
wait "$cpid"
status=$?
pids=${pids// $cpid/}
if [ "$status" -ne 0 ] || ! grep -q '^client early: got "echo: ping 1 from early"$' "$out"; then
	fail "$name" "client exit status $status" "$out" "$server_out"
else
	pass "$name"
fi
stop_all

# --- a client that restarts on the same port without closing ----------------
# The server must not keep the dead session in the way (RFC 6347, 4.2.8).
name="openssl s_client restarted on the same port -> example server"
if start_server 127.0.0.1; then
	cport=$(free_port)
	for round in 1 2; do
		fifo=$work/restart-$round.in
		mkfifo "$fifo"
		timeout $WAIT openssl s_client -dtls1_2 -psk "$KEY" -psk_identity "restarted $round" -quiet \
			-bind "127.0.0.1:$cport" -connect "127.0.0.1:$server_port" <"$fifo" >"$work/restart-$round.out" 2>&1 &
		rpid=$!
		pids="$pids $rpid"
		exec 3>"$fifo"
		wait_for "$server_out" "PSK identity \"restarted $round\"" 10 && wait_for "$server_out" 'handshake complete' 5 &&
			echo "round $round" >&3 && wait_for "$work/restart-$round.out" "echo: round $round" 5
		# SIGTERM to timeout(1), which passes it on: s_client dies without
		# close_notify, so the server still has the session. (SIGKILL would
		# end timeout alone and leave s_client running.)
		kill "$rpid" 2>/dev/null
		wait "$rpid" 2>/dev/null
		pids=${pids// $rpid/}
		exec 3>&-
	done
	replaced='session ended \(replaced\)$'
	[ "$diy" = 1 ] && replaced='started over$'
	if grep -q "echo: round 2" "$work/restart-2.out" && grep -qE "$replaced" "$server_out"; then
		pass "$name"
	else
		fail "$name" "the restarted client did not get in" "$server_out" "$work/restart-2.out"
	fi
else
	fail "$name" "the server did not start" "$server_out"
fi
stop_all

# --- a replayed ClientHello must not end an established session -------------
# Security issue 7 (RFC 6347, 4.2.8); tests/interop/replay.py has the steps.
name="ClientHello replayed 5 s after the handshake -> example server"
if start_server 127.0.0.1; then
	out=$work/replay.out
	if timeout 30 python3 "$(dirname "$0")/replay.py" --server 127.0.0.1 "$server_port" \
		--server-out "$server_out" --delay 5 >"$out" 2>&1; then
		pass "$name"
	else
		fail "$name" "$(tail -n 1 "$out")" "$out" "$server_out"
	fi
else
	fail "$name" "the server did not start" "$server_out"
fi
stop_all

# --- real clients against the example server --------------------------------
# Each keeps its stdin open until the echo has come back, then the server
# is stopped while the connection is still up: it must close it.
real_client() {
	local name=$1 text=$2
	shift 2
	if ! start_server 127.0.0.1; then
		fail "$name" "the server did not start" "$server_out"
		return
	fi
	local out=$work/real-client-$RANDOM.out fifo=$work/fifo-$RANDOM
	mkfifo "$fifo"
	local args=() arg
	for arg in "$@"; do args+=("${arg//\{port\}/$server_port}"); done
	timeout $WAIT "${args[@]}" <"$fifo" >"$out" 2>&1 &
	pids="$pids $!"
	exec 3>"$fifo"
	if ! wait_for "$server_out" 'handshake complete' 10; then
		fail "$name" "no handshake" "$server_out" "$out"
	else
		echo "$text" >&3
		if ! wait_for "$out" "echo: $text" 5; then
			fail "$name" "no echo" "$out" "$server_out"
		elif ! grep -q "says \"$text\"" "$server_out"; then
			fail "$name" "the server did not print the message" "$server_out"
		elif ! stop_server || ! grep -q 'closed 1 connection(s)' "$server_out"; then
			fail "$name" "the server did not close the open connection on SIGTERM" "$server_out"
		else
			pass "$name"
		fi
	fi
	exec 3>&-
	stop_all
}
real_client "openssl s_client -> example server" "hello from openssl" \
	openssl s_client -dtls1_2 -psk "$KEY" -psk_identity "openssl client" -quiet \
	-connect '127.0.0.1:{port}'
real_client "gnutls-cli -> example server" "hello from gnutls" \
	gnutls-cli --udp --pskusername "gnutls client" --pskkey "$KEY" -p '{port}' 127.0.0.1 \
	--priority 'NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK'

# --- the example client against real servers --------------------------------

# openssl s_server prints what it gets and sends its stdin: the test types
# the echo in for it.
name="example client -> openssl s_server"
port=$(free_port)
sout=$work/s_server.out
fifo=$work/s_server.in
mkfifo "$fifo"
timeout $WAIT openssl s_server -dtls1_2 -nocert -psk "$KEY" -psk_hint "openssl server" \
	-naccept 1 -accept "127.0.0.1:$port" <"$fifo" >"$sout" 2>&1 &
pids="$pids $!"
exec 3>"$fifo"
if wait_for "$sout" '^ACCEPT' 10; then
	out=$work/client-s_server.out
	timeout $WAIT "${client_argv[@]}" 127.0.0.1 "$port" --count 1 --name ossl >"$out" 2>&1 &
	cpid=$!
	pids="$pids $cpid"
	if wait_for "$sout" 'ping 1 from ossl' 10; then
		echo "echo: ping 1 from ossl" >&3
	fi
	wait "$cpid"
	status=$?
	pids=${pids// $cpid/}
	if [ "$status" -ne 0 ] || ! grep -q '^client ossl: server.s identity hint "openssl server"$' "$out" ||
		! grep -q '^client ossl: got "echo: ping 1 from ossl' "$out" || ! grep -q '^client ossl: shut down$' "$out"; then
		fail "$name" "client exit status $status or lines missing" "$out" "$sout"
	else
		pass "$name"
	fi
else
	fail "$name" "s_server did not start" "$sout"
fi
exec 3>&-
stop_all

# gnutls-serv --echo sends every record back as it came.
name="example client -> gnutls-serv --echo"
port=$(free_port)
sout=$work/gnutls-serv.out
echo "dtlsgate example client:$KEY" >"$work/psk.txt"
timeout $WAIT gnutls-serv --udp --echo -p "$port" --pskpasswd "$work/psk.txt" --pskhint "gnutls server" \
	--priority 'NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK' >"$sout" 2>&1 &
pids="$pids $!"
if wait_for "$sout" 'done' 10; then
	out=$work/client-gnutls-serv.out
	timeout $WAIT "${client_argv[@]}" 127.0.0.1 "$port" --count 2 --name gnu >"$out" 2>&1
	status=$?
	if [ "$status" -ne 0 ] || ! grep -q '^client gnu: server.s identity hint "gnutls server"$' "$out" ||
		[ "$(count "$out" '^client gnu: got "ping [12] from gnu"$')" -ne 2 ]; then
		fail "$name" "client exit status $status or lines missing" "$out" "$sout"
	else
		pass "$name"
	fi
else
	fail "$name" "gnutls-serv did not start" "$sout"
fi
stop_all

cases_end
