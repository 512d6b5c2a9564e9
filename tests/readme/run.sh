#!/usr/bin/env bash
# Runs each README quick-start server on 127.0.0.1:5684 (the port the README
# uses) and the example C client against it: the handshake must complete
# and the echoes come back. One PASS/FAIL line per server.
#
#   tests/readme/run.sh CLIENT SERVER-COMMAND...
set -u
client=${1:?usage: tests/readme/run.sh CLIENT 'SERVER COMMAND'...}
shift
failed=0

port_taken() {
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.bind(("127.0.0.1", 5684))
except OSError:
    sys.exit(0)
sys.exit(1)'
}

if port_taken; then
	echo "tests/readme/run.sh: 127.0.0.1:5684 is in use; cannot run the quick starts" >&2
	exit 1
fi
for server in "$@"; do
	read -r -a argv <<<"$server"
	PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=bindings/python "${argv[@]}" >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 100); do port_taken && break; sleep 0.05; done
	out=$(timeout 15 "$client" 127.0.0.1 5684 --count 2 2>&1)
	status=$?
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if [ "$status" -eq 0 ] && grep -qE 'got "(echo: )?ping 2 from client"' <<<"$out"; then
		echo "PASS README quick start: $server"
	else
		echo "FAIL README quick start: $server (client exit status $status)"
		sed 's/^/    /' <<<"$out"
		failed=1
	fi
	for _ in $(seq 100); do port_taken || break; sleep 0.05; done
done
exit "$failed"
