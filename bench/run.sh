#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs bench_dtlsgate and bench_qt on the same ClientHello (default
# tests/corpus/openssl_dtls12.bin) and prints one table: ns per call of
# each operation for Qt 6's QDtlsClientVerifier and for dtlsgate's C ABI,
# and the ratio Qt / dtlsgate (above 1: dtlsgate is faster). Each figure is
# the best of 3 runs of about BENCH_SECONDS (default 1) seconds. The two
# programs take turns (one run of each operation per turn, 3 turns each), so
# a change in machine load during the benchmark hits both alike.
#
# Usage: bench/run.sh BENCH_DTLSGATE BENCH_QT [DATAGRAM.bin]
set -eu

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	echo "usage: $0 BENCH_DTLSGATE BENCH_QT [DATAGRAM.bin]" >&2
	exit 2
fi
ours=$1
qt=$2
dgram=${3:-$(dirname "$0")/../tests/corpus/openssl_dtls12.bin}

unset QT_QPA_PLATFORM
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "Running $ours and $qt on $dgram, taking turns (3 runs of ${BENCH_SECONDS:-1} s per operation)..."
run_one() { # run_one NAME BINARY: one run of each operation, appended to $tmp/NAME
	BENCH_RUNS=1 "$2" "$dgram" >>"$tmp/$1" 2>>"$tmp/$1.log" || {
		cat "$tmp/$1.log" >&2
		exit 1
	}
}
for round in 1 2 3; do
	run_one ours "$ours"
	run_one qt "$qt"
done

. "$(dirname "$0")/machine.sh"
echo
machine_lines
echo "Versions: $(sed -n '1s/^info dtlsgate //p' "$tmp/ours"); $(sed -n '1s/^info qt //p' "$tmp/qt")"
echo "Datagram: $dgram ($(wc -c <"$dgram") bytes), peer and server on 127.0.0.1"
echo

# Best (lowest) ns/op per operation and program, joined on the operation
# name; operations only dtlsgate has get "-".
awk '
	$1 != "bench" { next }
	FILENAME ~ /qt$/ { if (!($2 in qt) || $3 < qt[$2]) qt[$2] = $3; next }
	!($2 in ours) { name[++n] = $2; ours[$2] = $3 }
	$3 < ours[$2] { ours[$2] = $3 }
	END {
		printf "%-42s %12s %12s %8s\n", "operation (best of 3)", "Qt ns/op", "dtlsgate", "Qt/ours"
		for (i = 1; i <= n; i++) {
			op = name[i]
			if (op in qt)
				printf "%-42s %12.1f %12.1f %7.2fx\n", op, qt[op], ours[op], qt[op] / ours[op]
			else
				printf "%-42s %12s %12.1f %8s\n", op, "-", ours[op], "-"
		}
	}
' "$tmp/qt" "$tmp/ours"


# Each call of a send_hvr operation must have put a HelloVerifyRequest on
# the client socket (the driver counts them while draining).
lost=$(cat "$tmp/ours.log" "$tmp/qt.log" |
	awk '/send_hvr/ && / calls, / { if ($(NF-4) != $(NF-2)) print }')
if [ -n "$lost" ]; then
	echo "warning: some HelloVerifyRequests did not reach the client socket:"
	echo "$lost"
fi

echo
echo "valid_cookie: a ClientHello carrying the cookie the implementation minted (returns true)."
echo "no_cookie_send_hvr: the first flight; each call sends a HelloVerifyRequest over loopback."
echo "sockaddr: the peer given as the sockaddr recvfrom() fills in instead of a string."
echo "check: dtlsgate_verifier_check(), no socket; the reply goes into a caller buffer."
