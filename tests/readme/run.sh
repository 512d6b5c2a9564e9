#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs each README quick-start server on 127.0.0.1:5684 (the port the README
# uses) and the example C client against it: the handshake must complete
# and the echoes come back. Then, on a fresh server, tests/interop/replay.py
# replays the client's verified ClientHello: the session must keep working.
# One PASS/FAIL line per server and check.
#
#   tests/readme/run.sh CLIENT SERVER-COMMAND...
set -u
client=${1:?usage: tests/readme/run.sh CLIENT 'SERVER COMMAND'...}
shift
failed=0
export PYTHONDONTWRITEBYTECODE=1 # keep __pycache__ out of the source tree

port_taken() {
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.bind(("127.0.0.1", 5684))
except OSError:
    sys.exit(0)
sys.exit(1)'
}

# start SERVER-COMMAND: runs it in the background (pid in $pid) until 5684 is bound.
start() {
	read -r -a argv <<<"$1"
	PYTHONPATH=bindings/python "${argv[@]}" >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 100); do port_taken && break; sleep 0.05; done
}

stop() {
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	for _ in $(seq 100); do port_taken || break; sleep 0.05; done
}

if port_taken; then
	echo "tests/readme/run.sh: 127.0.0.1:5684 is in use; cannot run the quick starts" >&2
	exit 1
fi
for server in "$@"; do
	start "$server"
	out=$(timeout 15 "$client" 127.0.0.1 5684 --count 2 2>&1)
	status=$?
	stop
	if [ "$status" -eq 0 ] && grep -qE 'got "(echo: )?ping 2 from client"' <<<"$out"; then
		echo "PASS README quick start: $server"
	else
		echo "FAIL README quick start: $server (client exit status $status)"
		sed 's/^/    /' <<<"$out"
		failed=1
	fi

	# A fresh server, as the C quick start serves one client only. A 1 s
	# delay is enough here: the quick starts keep no timer once the
	# handshake is done and the cookie lives 60 s (secure_udp.sh waits 5 s
	# on the example servers).
	start "$server"
	out=$(timeout 30 python3 tests/interop/replay.py --server 127.0.0.1 5684 --delay 1 2>&1)
	status=$?
	stop
	if [ "$status" -eq 0 ]; then
		echo "PASS README quick start, ClientHello replayed: $server"
	else
		echo "FAIL README quick start, ClientHello replayed: $server"
		sed 's/^/    /' <<<"$out"
		failed=1
	fi
done
exit "$failed"
