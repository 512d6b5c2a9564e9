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
