#!/bin/sh
# SPDX-License-Identifier: MIT
# The server endpoint under load over loopback, from another process: the
# load generator (bench/loadgen, dtlsgate's client engine, core/session)
# against
#   endpoint x1  bench/endpoint_server.c with 1 worker (C, managed mode)
#   endpoint xN  the same with one worker per core
#   example      examples/c/diy_udp_server.c, the hand-written loop
#                (one datagram per system call, a line printed per message)
# handshakes/s (connect, close_notify, again) and echoes/s (sessions kept,
# -window messages in flight each), then a legitimate client's connect time
# with and without a flood of squatters (clients that pass the cookie
# exchange and vanish) from a third process. Servers take turns, LOAD_ROUNDS
# times, and each figure is the best of its rounds.
#
# Nothing is pinned (taskset): the server and the load generator share the
# machine's cores, as they would on one host. Each figure comes with the
# cores the server and the generator used and those left idle: what the
# generator (and, in the flood, the squatters) take is not left to the
# server, so on a machine with few cores the ratios between servers are
# lower bounds, and the connect time under flood includes waiting for a
# processor.
#
# Usage: bench/load.sh BUILD_DIR
#   BUILD_DIR holds bench_endpoint_server, bench_loadgen and
#   examples/diy_udp_server_c.
#   LOAD_SECONDS (default 3) measured seconds per figure, LOAD_ROUNDS (2),
#   LOAD_CLIENTS (64), LOAD_WINDOW (4), LOAD_PAYLOAD (64 bytes),
#   LOAD_SQUAT_RATE (2000 squatters/s).
#   LOAD_SMOKE=1: one short round, no table; fails if a program does.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
build=$1
seconds=${LOAD_SECONDS:-3}
rounds=${LOAD_ROUNDS:-2}
clients=${LOAD_CLIENTS:-64}
window=${LOAD_WINDOW:-4}
payload=${LOAD_PAYLOAD:-64}
squat_rate=${LOAD_SQUAT_RATE:-2000}
if [ "${LOAD_SMOKE:-0}" = 1 ]; then
	seconds=0.3 rounds=1 clients=4 squat_rate=300
fi
cores=$(nproc)
loadgen=$build/bench_loadgen

tmp=$(mktemp -d)
server_pid=
squat_pid=
cleanup() {
	for p in $squat_pid $server_pid; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# start NAME PROGRAM [ARGS...]: runs PROGRAM 127.0.0.1 0 ARGS in the
# background and sets port from its first line ("server: listening on
# 127.0.0.1:PORT").
start() {
	name=$1
	program=$2
	shift 2
	"$program" 127.0.0.1 0 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	server_pid=$!
	for _ in $(seq 100); do
		port=$(sed -n '1s/^server: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/$name.out")
		[ -n "$port" ] && return 0
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "$0: $program $* did not start:" >&2
	cat "$tmp/$name.err" >&2
	exit 1
}

# stop: SIGTERM, which every server answers with close_notify to all and exit 0.
stop() {
	kill -TERM "$server_pid"
	status=0
	wait "$server_pid" || status=$?
	server_pid=
	if [ "$status" != 0 ]; then
		echo "$0: the server exited with status $status:" >&2
		cat "$tmp/$name.err" >&2
		exit 1
	fi
}

# load KEY LOADGEN_ARGS...: one run of the load generator against the
# server on $port; its result line goes to $tmp/results after KEY. The
# generator reads the server's processor time itself, over its window.
load() {
	key=$1
	shift
	if ! "$loadgen" -addr "127.0.0.1:$port" -server-pid "$server_pid" -duration "${seconds}s" "$@" \
		>"$tmp/run" 2>&1; then
		case $key in
		example_flood) ;; # a server that locks everybody out completes nothing
		*)
			echo "$0: loadgen $* against $name failed:" >&2
			cat "$tmp/run" >&2
			exit 1
			;;
		esac
	fi
	awk -v k="$key" '$1 == "result" { print k, $0 }' "$tmp/run" >>"$tmp/results"
}

# throughput NAME PROGRAM [ARGS...]: handshakes/s and echoes/s against one server.
throughput() {
	label=$1
	shift
	start "$label" "$@"
	load "${label}_handshake" -mode handshake -clients "$clients"
	load "${label}_echo" -mode echo -clients "$clients" -window "$window" -payload "$payload"
	stop
}

# flood NAME PROGRAM [ARGS...]: the legitimate client's connect times alone, then
# while squatters come from a third process at squat_rate per second (they
# start a second early to fill the server's table of half-open handshakes).
flood() {
	label=$1
	shift
	start "$label" "$@"
	load "${label}_alone" -mode connect
	"$loadgen" -addr "127.0.0.1:$port" -mode squat -rate "$squat_rate" -clients 16 -warmup 0 \
		-duration "$(awk -v s="$seconds" 'BEGIN { print s + 1.5 }')s" >"$tmp/squat" 2>&1 &
	squat_pid=$!
	sleep 1
	load "${label}_flood" -mode connect
	wait "$squat_pid" || true
	squat_pid=
	awk -v k="${label}_squat" '$1 == "result" { print k, $0 }' "$tmp/squat" >>"$tmp/results"
	stop
	sed -n 's/^server: stopped: .*, \([0-9]*\) half-open evicted.*/\1/p' "$tmp/$label.out" >"$tmp/${label}_evicted"
}

endpoint=$build/bench_endpoint_server
example=$build/examples/diy_udp_server_c
echo "Loading the servers over loopback: $rounds round(s) of ${seconds} s per figure, $clients clients, window $window, $payload-byte messages..."
for round in $(seq "$rounds"); do
	throughput one "$endpoint" 1
	throughput all "$endpoint" "$cores"
	throughput example "$example"
done
flood endpoint "$endpoint" "$cores"
flood example "$example"

if [ "${LOAD_SMOKE:-0}" = 1 ]; then
	cat "$tmp/results"
	exit 0
fi

echo
. "$(dirname "$0")/machine.sh"
machine_lines
echo "Nothing pinned: server and load generator share the $cores cores. \"server / loadgen / idle\": the cores"
echo "each used, and those left idle, while the figure was measured (the rest went to other processes);"
echo "\"server us/op\": the server's processor time per handshake or echo."
echo

# Result lines: KEY result MODE rate R p50_ms P p90_ms Q ops N errors E cpu C server_cpu S idle I
awk -v n="$cores" -v evicted="$(cat "$tmp/endpoint_evicted")" '
{
	k = $1
	if (!(k in rate) || $5 > rate[k]) {
		rate[k] = $5; lost[k] = $13; use[k] = $17 " / " $15 " / " $19
		us[k] = $5 > 0 ? $17 / $5 * 1e6 : 0
	}
	p50[k] = $7; ops[k] = $11; errs[k] = $13; self[k] = $15
}
# A rate, with the failed handshakes or echoes sent again of its run.
function shown(k) { return sprintf("%.0f", rate[k]) (lost[k] > 0 ? " (" lost[k] " failed or lost)" : "") }
function row(label, k) {
	printf "| %s | %s | %.1f | %s | %s | %.1f | %s |\n", label, shown(k "_handshake"), us[k "_handshake"], \
		use[k "_handshake"], shown(k "_echo"), us[k "_echo"], use[k "_echo"]
}
function connect(k) { return ops[k] > 0 ? sprintf("%.2f ms (%d connects, %d failed)", p50[k], ops[k], errs[k]) : sprintf("none completed (%d failed, the rest still waiting at the end)", errs[k]) }
function verdict(ok) { return ok ? "met" : "NOT met" }
END {
	printf "| server | handshakes/s | server us/op | server / loadgen / idle | echoes/s | server us/op | server / loadgen / idle |\n|---|---|---|---|---|---|---|\n"
	row("endpoint, 1 worker (C, managed)", "one")
	row("endpoint, " n " workers (C, managed)", "all")
	row("example server (hand-written C)", "example")
	hs = rate["all_handshake"] / rate["one_handshake"]
	ec = rate["all_echo"] / rate["one_echo"]
	vs = rate["all_echo"] / rate["example_echo"]
	vs1 = rate["one_echo"] / rate["example_echo"]
	fl = p50["endpoint_flood"] / p50["endpoint_alone"]
	printf "\n| ratio | value | goal |\n|---|---|---|\n"
	printf "| handshakes/s, %d workers / 1 worker | %.2fx | >= 1.7x: %s |\n", n, hs, verdict(hs >= 1.7)
	printf "| echoes/s, %d workers / 1 worker | %.2fx | >= 1.7x: %s |\n", n, ec, verdict(ec >= 1.7)
	printf "| echoes/s, endpoint (%d workers) / example server | %.2fx | >= 2x: %s |\n", n, vs, verdict(vs >= 2)
	printf "| echoes/s, endpoint (1 worker) / example server | %.2fx | |\n", vs1
	printf "| server processor time per echo, example server / endpoint (1 worker) | %.2fx | |\n", us["example_echo"] / us["one_echo"]
	printf "| server processor time per handshake, example server / endpoint (1 worker) | %.2fx | |\n", us["example_handshake"] / us["one_handshake"]
	printf "| legitimate connect (median), squatter flood / none, endpoint | %.2fx | < 2x: %s |\n", fl, verdict(fl < 2)
	printf "\nLegitimate client, one connect + one echo after another (median connect time):\n"
	printf "  endpoint (%d workers), alone:            %s\n", n, connect("endpoint_alone")
	printf "  endpoint, %.0f squatters/s flooding:     %s; the server evicted %s half-open handshakes, the squatters used %s cores\n", rate["endpoint_squat"], connect("endpoint_flood"), evicted, self["endpoint_squat"]
	printf "  example server, alone:                  %s\n", connect("example_alone")
	printf "  example server, %.0f squatters/s flooding: %s\n", rate["example_squat"], connect("example_flood")
}' "$tmp/results"
