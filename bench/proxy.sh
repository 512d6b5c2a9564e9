#!/bin/bash
# SPDX-License-Identifier: MIT
# CoAP over DTLS-PSK, two ways an operator could serve it, on this machine:
#   libcoap      coap-server-openssl -k KEY: libcoap's CoAP server doing DTLS
#                itself, with OpenSSL (one thread, as libcoap's servers are)
#   proxy x1     dtlsgate-proxy --workers 1 in front of coap-server-notls,
#                libcoap's server without DTLS: the proxy's extra hop included
#   proxy xN     the same with one proxy worker per core
# The load generator (bench/loadgen, on dtlsgate's client engine) measures
# handshakes/s (each client connects, says close_notify, connects again)
# and requests/s (each client keeps its session and has -window confirmable
# GETs of / in flight, each answer checked to be the 2.05 for it). The
# three take turns, LOAD_ROUNDS times; each figure is the best of its
# rounds, and each ratio the median of the rounds' own ratios (a round
# runs the three within seconds of each other, so a busy machine slows
# them alike).
#
# Nothing is pinned: the servers and the load generator share the cores.
# "server cores" is what the serving processes used (the proxy and
# coap-server-notls together), "us/op" their processor time per operation.
#
# Usage: bench/proxy.sh LOADGEN PROXY
#   LOAD_SECONDS (default 3) measured seconds per figure, LOAD_ROUNDS (3),
#   LOAD_CLIENTS (64), LOAD_WINDOW (4).
#   LOAD_SMOKE=1: one short round, no table; fails if a program does.
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 LOADGEN PROXY" >&2
	exit 2
fi
loadgen=$1
proxy=$2
seconds=${LOAD_SECONDS:-3}
rounds=${LOAD_ROUNDS:-3}
clients=${LOAD_CLIENTS:-64}
window=${LOAD_WINDOW:-4}
if [ "${LOAD_SMOKE:-0}" = 1 ]; then
	seconds=0.3 rounds=1 clients=4
fi
cores=$(nproc)
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tests/interop/common.sh" # interop_stop
. "$root/scripts/coap.sh"         # free_udp_ports, wait_coap, hexof

# libcoap takes the key as text, the proxy and the load generator in hex.
identity=bench
key=bench-secret
key_hex=$(hexof "$key")

tmp=$(mktemp -d)
# Every process started goes in INTEROP_PIDS; interop_stop ends them.
trap 'interop_stop; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
printf '%s:%s\n' "$identity" "$key_hex" >"$tmp/keys.txt"

die() {
	echo "$0: $1" >&2
	shift
	for f in "$@"; do sed 's/^/    /' "$f" >&2; done
	exit 1
}

# start_libcoap: coap-server-openssl, DTLS on $port; sets server_pids.
start_libcoap() {
	local p
	p=$(free_udp_ports 2)
	coap-server-openssl -A 127.0.0.1 -p "$p" -k "$key" >"$tmp/libcoap.out" 2>&1 &
	INTEROP_PIDS="$INTEROP_PIDS $!" server_pids=$! port=$((p + 1))
	wait_coap "$p" || die "coap-server-openssl did not start:" "$tmp/libcoap.out"
}

# start_proxy WORKERS: coap-server-notls and the proxy in front of it; sets
# server_pids (both) and port.
start_proxy() {
	local p backend_pid
	p=$(free_udp_ports 1)
	coap-server-notls -A 127.0.0.1 -p "$p" >"$tmp/backend.out" 2>&1 &
	backend_pid=$!
	INTEROP_PIDS="$INTEROP_PIDS $backend_pid"
	wait_coap "$p" || die "coap-server-notls did not start:" "$tmp/backend.out"
	: >"$tmp/proxy.out"
	"$proxy" --listen 127.0.0.1:0 --backend "127.0.0.1:$p" --psk-file "$tmp/keys.txt" --workers "$1" \
		--log-level warn >"$tmp/proxy.out" 2>&1 &
	INTEROP_PIDS="$INTEROP_PIDS $!" server_pids="$!,$backend_pid"
	# At warn, the one line is the listening address, logged at info: ask
	# the kernel instead.
	port=""
	for _ in $(seq 100); do
		port=$(ss -Hlunp 2>/dev/null | awk -v pid="pid=${server_pids%%,*}," \
			'index($0, pid) { n = split($4, a, ":"); print a[n]; exit }')
		[ -n "$port" ] && break
		sleep 0.05
	done
	[ -n "$port" ] || die "dtlsgate-proxy did not start:" "$tmp/proxy.out"
}

# stop: ends the servers of the last start and waits for them.
stop() {
	local p
	for p in ${server_pids//,/ }; do kill -TERM "$p" 2>/dev/null || true; done
	for p in ${server_pids//,/ }; do
		wait "$p" 2>/dev/null || true
		INTEROP_PIDS=${INTEROP_PIDS// $p/}
	done
}

# measure KEY START...: starts a server, runs both loads, stops it. Result
# lines go to $tmp/results: "KEY ROUND MODE rate R ... server_cpu S".
measure() {
	local label=$1 mode
	shift
	"$@"
	for mode in handshake coap; do
		if ! "$loadgen" -addr "127.0.0.1:$port" -server-pid "$server_pids" -duration "${seconds}s" \
			-mode "$mode" -clients "$clients" -window "$window" -identity "$identity" -psk "$key_hex" \
			>"$tmp/run" 2>&1; then
			die "loadgen -mode $mode against $label failed:" "$tmp/run"
		fi
		awk -v k="$label" -v r="$round" '$1 == "result" { print k, r, $0 }' "$tmp/run" >>"$tmp/results"
	done
	stop
}

echo "CoAP over DTLS-PSK: $rounds round(s) of ${seconds} s per figure, $clients clients, $window requests in flight each..."
for round in $(seq "$rounds"); do
	measure libcoap start_libcoap
	measure one start_proxy 1
	measure all start_proxy 0
done

if [ "${LOAD_SMOKE:-0}" = 1 ]; then
	cat "$tmp/results"
	exit 0
fi

echo
. "$root/bench/machine.sh"
machine_lines
echo "libcoap:  $(dpkg-query -W -f '${Version}' libcoap3-bin 2>/dev/null || echo '?')"
echo "Nothing pinned: the servers and the load generator share the $cores cores; \"server cores\": what the"
echo "serving processes used (for the proxy: it and coap-server-notls), \"us/op\": their processor time per operation."
echo

# Result lines: KEY ROUND result MODE rate R p50_ms P p90_ms Q ops N errors E cpu C server_cpu S idle I
awk -v n="$cores" '
{
	k = $1 "_" $4; r = $2
	at[k, r] = $6
	if (!(k in rate) || $6 > rate[k]) {
		rate[k] = $6; lost[k] = $14; srv[k] = $18
		us[k] = $6 > 0 ? $18 / $6 * 1e6 : 0
	}
	rounds = r > rounds ? r : rounds
}
function shown(k) { return sprintf("%.0f", rate[k]) (lost[k] > 0 ? " (" lost[k] " failed or lost)" : "") }
function row(label, k) {
	printf "| %s | %s | %.0f | %.2f | %s | %.1f | %.2f |\n", label, shown(k "_handshake"), us[k "_handshake"], \
		srv[k "_handshake"], shown(k "_coap"), us[k "_coap"], srv[k "_coap"]
}
# The median over the rounds of a / b in the same round.
function ratio(a, b,    i, j, m, v, t) {
	m = 0
	for (i = 1; i <= rounds; i++)
		if (at[b, i] > 0) v[++m] = at[a, i] / at[b, i]
	for (i = 2; i <= m; i++)
		for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
	return m == 0 ? 0 : m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
}
function verdict(ok) { return ok ? "met" : "NOT met" }
END {
	printf "| CoAP over DTLS-PSK | handshakes/s | us/handshake | server cores | requests/s | us/request | server cores |\n|---|---|---|---|---|---|---|\n"
	row("libcoap + OpenSSL (coap-server-openssl -k)", "libcoap")
	row("dtlsgate-proxy, 1 worker + coap-server-notls", "one")
	row("dtlsgate-proxy, " n " workers + coap-server-notls", "all")
	printf "\n| ratio (median of %d rounds) | value | goal |\n|---|---|---|\n", rounds
	h1 = ratio("one_handshake", "libcoap_handshake"); q1 = ratio("one_coap", "libcoap_coap")
	hn = ratio("all_handshake", "libcoap_handshake"); qn = ratio("all_coap", "libcoap_coap")
	printf "| handshakes/s, proxy 1 worker / libcoap | %.2fx | >= 1x: %s |\n", h1, verdict(h1 >= 1)
	printf "| requests/s, proxy 1 worker / libcoap | %.2fx | >= 1x: %s |\n", q1, verdict(q1 >= 1)
	printf "| handshakes/s, proxy %d workers / libcoap | %.2fx | > 1x: %s |\n", n, hn, verdict(hn > 1)
	printf "| requests/s, proxy %d workers / libcoap | %.2fx | > 1x: %s |\n", n, qn, verdict(qn > 1)
	printf "| processor time per request, libcoap / proxy 1 worker (both processes) | %.2fx | |\n", us["libcoap_coap"] / us["one_coap"]
	printf "| processor time per handshake, libcoap / proxy 1 worker (both processes) | %.2fx | |\n", us["libcoap_handshake"] / us["one_handshake"]
}' "$tmp/results"
