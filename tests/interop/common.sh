# SPDX-License-Identifier: MIT
# Shared by tests/interop/run.sh and scripts/demo.sh (bash, sourced).
#
# run_exchange starts the example server and relay.py on a loopback
# address, points a real DTLS client at the relay, waits until the server
# has verified a ClientHello (or given up), then stops everything it
# started. Every port is chosen by the system (port 0 + readiness line).

INTEROP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
INTEROP_PIDS=""
export PYTHONDONTWRITEBYTECODE=1 # keep __pycache__ out of the source tree
INTEROP_SERVER_PORT=""
INTEROP_RELAY_PORT=""

# Seconds the server waits for a verified ClientHello before giving up;
# the relay and the client get a little longer, as a backstop.
INTEROP_TIMEOUT=${INTEROP_TIMEOUT:-8}

# Stops every process run_exchange started and waits for them. Safe to call
# twice; meant for an EXIT trap too.
interop_stop() {
	local pid
	for pid in $INTEROP_PIDS; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in $INTEROP_PIDS; do
		wait "$pid" 2>/dev/null || true
	done
	INTEROP_PIDS=""
}

# wait_for FILE PATTERN [SECONDS]: waits until a line of FILE matches the
# extended regular expression PATTERN, at most SECONDS (default 15).
wait_for() {
	local i
	for i in $(seq $((${3:-15} * 20))); do
		grep -qE -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# ready_port FILE WORD PID: waits up to 5 s for a line "WORD ... port=N" in
# FILE and prints N; gives up at once if process PID has exited.
ready_port() {
	local file=$1 word=$2 pid=$3 port _
	for _ in $(seq 100); do
		port=$(sed -n "s/^$word .*port=\([0-9][0-9]*\).*/\1/p" "$file" | head -n 1)
		if [ -n "$port" ]; then
			echo "$port"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# run_exchange DIR SERVER HOST CLIENT-COMMAND...
# HOST is 127.0.0.1 or ::1. "{port}" in the client command is replaced by
# the relay's port. Leaves in DIR: server.out, server.err, relay.log,
# relay.out, relay.err, client.out, and "problem" if the setup failed.
# Returns the server's exit status (0: it verified a ClientHello).
run_exchange() {
	local dir=$1 server=$2 host=$3
	shift 3
	mkdir -p "$dir"
	: >"$dir/server.out"
	: >"$dir/relay.out"
	: >"$dir/relay.log"

	"$server" --once --timeout "$INTEROP_TIMEOUT" "$host" 0 >"$dir/server.out" 2>"$dir/server.err" &
	local server_pid=$!
	INTEROP_PIDS="$INTEROP_PIDS $server_pid"
	if ! INTEROP_SERVER_PORT=$(ready_port "$dir/server.out" listening "$server_pid"); then
		echo "the server did not start on $host" >"$dir/problem"
		interop_stop
		return 1
	fi

	python3 "$INTEROP_DIR/relay.py" --listen "$host" --server "$host" "$INTEROP_SERVER_PORT" \
		--log "$dir/relay.log" --timeout $((INTEROP_TIMEOUT + 5)) \
		>"$dir/relay.out" 2>"$dir/relay.err" &
	local relay_pid=$!
	INTEROP_PIDS="$INTEROP_PIDS $relay_pid"
	if ! INTEROP_RELAY_PORT=$(ready_port "$dir/relay.out" relay-ready "$relay_pid"); then
		echo "the relay did not start on $host" >"$dir/problem"
		interop_stop
		return 1
	fi

	local args=() arg
	for arg in "$@"; do
		args+=("${arg//\{port\}/$INTEROP_RELAY_PORT}")
	done
	# The client never completes its handshake (the server stops after the
	# cookie exchange): it is killed below, and by timeout(1) at the latest.
	timeout $((INTEROP_TIMEOUT + 5)) "${args[@]}" </dev/null >"$dir/client.out" 2>&1 &
	INTEROP_PIDS="$INTEROP_PIDS $!"

	local status=0
	wait "$server_pid" || status=$?
	interop_stop
	return "$status"
}

# A script of PASS/FAIL cases. cases_start NAME makes $work (removed at the
# end unless a case failed) and an EXIT trap that ends and waits for every
# process in $pids (stop_all does that at any time); pass NAME and fail NAME
# WHY [FILE...] report a case, fail with the last lines of each FILE; count
# FILE PATTERN says how many lines match; cases_end prints the totals and
# fails if a case did.
cases_start() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/dtlsgate-$1.XXXXXX")
	pids=""
	passed=0
	failed=0
	trap cases_finish EXIT
	trap 'exit 130' INT TERM
}
stop_all() {
	local pid
	for pid in $pids; do kill "$pid" 2>/dev/null || true; done
	for pid in $pids; do wait "$pid" 2>/dev/null || true; done
	pids=""
}
cases_finish() {
	stop_all
	if [ "$failed" -eq 0 ]; then rm -rf "$work"; else echo "logs kept in $work"; fi
}
pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() {
	failed=$((failed + 1))
	echo "FAIL $1: $2"
	local f
	for f in "${@:3}"; do
		[ -s "$f" ] && { echo "  --- $f"; tail -n 12 "$f" | cut -c 1-200 | sed 's/^/    /'; }
	done
}
count() { grep -cE -- "$2" "$1" 2>/dev/null || true; }
cases_end() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
