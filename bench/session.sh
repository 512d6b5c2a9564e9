#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the session benchmarks (core/session) and prints full PSK handshakes
# per second for dtlsgate's engine and for pion/dtls, both engine against
# engine in memory with the cookie exchange, measured in the same run, with
# the ratio (above 1: dtlsgate is faster), and the heap an established
# session keeps.
#
# Usage: bench/session.sh [GO]
set -eu
go=${1:-go}
out=$(mktemp)
trap 'rm -f "$out"' EXIT INT TERM

echo "Running the session benchmarks (engine against engine, in memory)..."
"$go" test -run='^$' -bench='Handshake|SessionMemory' -benchtime="${BENCH_SECONDS:-2}s" ./core/session >"$out"

# Lines look like: BenchmarkHandshake/PSK-AES128-GCM-SHA256-2  N  ns/op  X handshakes/s ...
awk '
/^BenchmarkHandshake\//     { split($1, p, "/"); sub(/-[0-9]+$/, "", p[2]); ours[p[2]] = $5; order[++n] = p[2] }
/^BenchmarkPionHandshake\// { split($1, p, "/"); sub(/-[0-9]+$/, "", p[2]); pion[p[2]] = $5 }
/^BenchmarkSessionMemory/   { mem = $5 }
END {
	if (n == 0) { print "no benchmark output" > "/dev/stderr"; exit 1 }
	printf "\n| suite | pion handshakes/s | dtlsgate handshakes/s | dtlsgate/pion |\n|---|---|---|---|\n"
	for (i = 1; i <= n; i++) {
		s = order[i]
		printf "| %s | %.0f | %.0f | %.1fx |\n", s, pion[s], ours[s], ours[s] / pion[s]
	}
	printf "\nHeap kept per established session: %.0f bytes\n", mem
}' "$out"

echo
echo "Opening a 16 KB PSK-AES128-CBC-SHA256 record (fastest of ${BENCH_COUNT:-10} runs)..."
"$go" test -run='^$' -bench='CBCOpen' -count="${BENCH_COUNT:-10}" ./core/session >"$out"
# Lines look like: BenchmarkCBCOpen/bad-MAC-2  N  ns/op  MB/s
awk '
/^BenchmarkCBCOpen\// {
	split($1, p, "/"); sub(/-[0-9]+$/, "", p[2])
	if (!(p[2] in best)) order[++n] = p[2]
	if (!(p[2] in best) || $3 < best[p[2]]) best[p[2]] = $3
}
END {
	if (n == 0) { print "no benchmark output" > "/dev/stderr"; exit 1 }
	printf "\n| record | fastest ns/op | against bad-MAC |\n|---|---|---|\n"
	for (i = 1; i <= n; i++) printf "| %s | %.0f | %.2fx |\n", order[i], best[order[i]], best[order[i]] / best["bad-MAC"]
}' "$out"

echo
echo "Records with and without connection IDs (device to server, PSK-AES128-GCM-SHA256, best of ${BENCH_COUNT:-3} runs)..."
"$go" test -run='^$' -bench='RecordCID' -benchtime="${BENCH_SECONDS:-1}s" -count="${BENCH_COUNT:-3}" ./core/session >"$out"
# Lines look like: BenchmarkRecordCID/cid-8/64-2  N  ns/op  MB/s  R records/s  W wire-bytes/record ...
awk '
/^BenchmarkRecordCID\// {
	split($1, p, "/"); sub(/-[0-9]+$/, "", p[3]); k = p[2] " " p[3]
	for (i = 4; i < NF; i++) {
		if ($(i + 1) == "records/s" && (!(k in rate) || $i > rate[k])) rate[k] = $i
		if ($(i + 1) == "wire-bytes/record") wire[k] = $i
	}
	if (!(k in seen)) { seen[k] = 1; order[++n] = k; id[k] = p[2]; size[k] = p[3] }
}
END {
	if (n == 0) { print "no benchmark output" > "/dev/stderr"; exit 1 }
	printf "\n| connection ID | payload bytes | records/s | bytes on the wire | bytes added | records/s against none |\n|---|---|---|---|---|---|\n"
	for (i = 1; i <= n; i++) {
		k = order[i]; base = "none " size[k]
		printf "| %s | %s | %.0f | %d | %d | %.2fx |\n", id[k], size[k], rate[k], wire[k], wire[k] - wire[base], rate[k] / rate[base]
	}
}' "$out"
