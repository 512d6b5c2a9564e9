#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the in-memory DTLS 1.2 PSK harnesses (dtlsgate, OpenSSL, GnuTLS; see
# bench/inmem.h), dtlsgate's harness again with a dirty upper vector state,
# and the Qt server loop of bench/qt_inprocess.cpp, taking turns (one run of
# every program per turn, 3 turns, so that a change in machine load hits
# all alike), and prints one table: the best of the 3 runs of each figure,
# and ratios that are above 1 when dtlsgate does better.
#
# dtlsgate's memory per session is its Go heap (core/session's
# BenchmarkSessionMemory); the others' is what malloc holds (mallinfo2).
#
# Usage: bench/inmem.sh BUILD_DIR [GO [DATAGRAM.bin]]
#   BUILD_DIR holds bench_inmem_{dtlsgate,openssl,gnutls} and bench_qt_inprocess.
#   BENCH_SECONDS (default 0.5): timed seconds per operation and run.
set -eu

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
	echo "usage: $0 BUILD_DIR [GO [DATAGRAM.bin]]" >&2
	exit 2
fi
build=$1
go=${2:-go}
dgram=${3:-$(dirname "$0")/../tests/corpus/openssl_dtls12.bin}
dirty_ops="cookie_check handshake_psk record_aes128gcm_64 record_aes128gcm_1400"

unset QT_QPA_PLATFORM
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# run LOG COMMAND...: the result and info lines go to $tmp/out; on a
# failure the program's messages are shown and the benchmark stops.
run() {
	log=$tmp/$1.log
	shift
	"$@" >>"$tmp/out" 2>"$log" || {
		echo "$0: $* failed:" >&2
		cat "$log" >&2
		exit 1
	}
}

echo "Running the in-memory harnesses and the Qt server loop, taking turns (3 runs of ${BENCH_SECONDS:-0.5} s per operation)..."
for round in 1 2 3; do
	run dtlsgate "$build/bench_inmem_dtlsgate"
	# shellcheck disable=SC2086 # one argument per operation
	run dirty "$build/bench_inmem_dtlsgate" dirty $dirty_ops
	run batch "$build/bench_inmem_dtlsgate" batch
	run openssl "$build/bench_inmem_openssl"
	run gnutls "$build/bench_inmem_gnutls"
	run qt "$build/bench_qt_inprocess" "$dgram"
done
"$go" test -run='^$' -bench='^BenchmarkSessionMemory$' -benchtime=1x ./core/session >"$tmp/go" || {
	cat "$tmp/go" >&2
	exit 1
}
awk '/^BenchmarkSessionMemory/ { for (i = 1; i < NF; i++) if ($(i + 1) == "bytes/session") print "result dtlsgate session_memory", $i, "bytes" }' \
	"$tmp/go" >>"$tmp/out"

. "$(dirname "$0")/machine.sh"
echo
machine_lines
echo "Versions: $(awk '$1 == "info" { $1 = $2 = ""; sub(/^  /, ""); if (!seen[$0]++) { printf "%s%s", sep, $0; sep = "; " } }' "$tmp/out")"
echo

awk '
$1 == "result" {
	k = $2 SUBSEP $3
	if (!(k in best) || $4 < best[k]) best[k] = $4
}
function has(impl, op) { return (impl SUBSEP op) in best }
function get(impl, op) { return best[impl SUBSEP op] }
# A figure as shown: per second for handshakes and records, else as measured.
function shown(impl, op) {
	if (!has(impl, op)) return "-"
	if (op ~ /^(handshake|record)/) return sprintf("%.0f", 1e9 / get(impl, op))
	return sprintf("%.0f", get(impl, op))
}
# Above 1: dtlsgate does better (every measured value is lower-is-better).
function ratio(anchor, op, impl) {
	if (!has(anchor, op) || !has(impl, op) || get(impl, op) == 0) return "-"
	return sprintf("%.2fx", get(anchor, op) / get(impl, op))
}
# row LABEL UNIT OP [IMPL]: dtlsgate (or IMPL, a variant of it) against the others.
function row(label, unit, op, impl) {
	if (impl == "") impl = "dtlsgate"
	printf "%-44s %-13s %10s %10s %10s %9s %9s\n", label, unit, shown(impl, op),
		shown("openssl", op), shown("gnutls", op), ratio("openssl", op, impl), ratio("gnutls", op, impl)
}
function records(impl) {
	for (i = 1; i < n; i += 2) {
		row("record " s[i + 1] " 64 B", "records/s", "record_" s[i] "_64", impl)
		row("record " s[i + 1] " 1000 B", "records/s", "record_" s[i] "_1000", impl)
		row("record " s[i + 1] " 1400 B", "records/s", "record_" s[i] "_1400", impl)
	}
}
END {
	printf "%-44s %-13s %10s %10s %10s %9s %9s\n", "DTLS 1.2 PSK in memory (best of 3)", "unit",
		"dtlsgate", "OpenSSL", "GnuTLS", "vs OpenSSL", "vs GnuTLS"
	row("handshake PSK-AES128-GCM-SHA256", "handshakes/s", "handshake_psk")
	row("handshake ECDHE-PSK-AES128-CBC-SHA256", "handshakes/s", "handshake_ecdhe_psk")
	n = split("aes128gcm PSK-AES128-GCM-SHA256 aes256gcm PSK-AES256-GCM-SHA384 chacha20 PSK-CHACHA20-POLY1305", s, " ")
	records("dtlsgate")
	row("cookie check, valid ClientHello", "ns", "cookie_check")
	row("memory per established session", "bytes", "session_memory")

	printf "\n%-44s %-13s %10s %10s %10s %9s %9s\n", "dtlsgate batch calls, 16 records a call", "unit",
		"dtlsgate", "OpenSSL", "GnuTLS", "vs OpenSSL", "vs GnuTLS"
	records("dtlsgate-batch")

	printf "\n%-44s %10s %10s %12s\n", "dtlsgate with a dirty upper vector state", "clean ns", "dirty ns", "dirty/clean"
	m = split("cookie_check handshake_psk record_aes128gcm_64 record_aes128gcm_1400", d, " ")
	for (i = 1; i <= m; i++) {
		if (!has("dtlsgate-dirty", d[i])) { printf "%-44s %10s\n", d[i], "not measured (no AVX2)"; continue }
		printf "%-44s %10.1f %10.1f %11.2fx\n", d[i], get("dtlsgate", d[i]), get("dtlsgate-dirty", d[i]),
			get("dtlsgate-dirty", d[i]) / get("dtlsgate", d[i])
	}

	printf "\n%-44s %10s %10s %12s\n", "Qt 6 server loop, one process (median)", "Qt ns", "dtlsgate ns", "Qt/dtlsgate"
	m = split("qt_loop_verify_valid_cookie qt_loop_send_hvr", q, " ")
	for (i = 1; i <= m; i++)
		printf "%-44s %10.1f %10.1f %11.2fx\n", q[i], get("qt", q[i]), get("dtlsgate", q[i]),
			get("qt", q[i]) / get("dtlsgate", q[i])
}' "$tmp/out"

echo
echo "Handshakes: from nothing to an established pair and back (both sessions made, the cookie"
echo "exchange, the handshake, both freed). Records: one datagram encrypted by the client and"
echo "decrypted by the server, checked. vs OpenSSL/GnuTLS above 1: dtlsgate does better."
echo "Batch calls: dtlsgate_session_encrypt_batch() and _decrypt_batch(), 16 records each way per"
echo "call, against the others' one record per call (they have no batch form)."
echo "Dirty: a 256-bit AVX2 instruction before each call into dtlsgate (goal: within 1.1x)."
echo "Qt loop: datagrams arrive on a bound QUdpSocket through Qt's event loop; only"
echo "verifyClient() is timed (goal: Qt/dtlsgate >= 3x for the valid cookie, >= 2x for the HVR)."
