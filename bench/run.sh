#!/bin/sh
# Runs bench_dtlsgate and bench_qt on the same ClientHello (default
# tests/corpus/openssl_dtls12.bin) and prints one table: ns per call of
# each operation for Qt 6's QDtlsClientVerifier and for dtlsgate's C ABI,
# and the ratio Qt / dtlsgate (above 1: dtlsgate is faster). Each figure is
# the best of 3 runs of about BENCH_SECONDS (default 1) seconds.
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

echo "Running $ours and $qt on $dgram (3 runs of ${BENCH_SECONDS:-1} s per operation)..."
"$ours" "$dgram" >"$tmp/ours" 2>"$tmp/ours.log" || {
	cat "$tmp/ours.log" >&2
	exit 1
}
"$qt" "$dgram" >"$tmp/qt" 2>"$tmp/qt.log" || {
	cat "$tmp/qt.log" >&2
	exit 1
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo
echo "CPU:      ${cpu:-unknown} ($(nproc) online), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "Versions: $(sed -n 's/^info dtlsgate //p' "$tmp/ours"); $(sed -n 's/^info qt //p' "$tmp/qt")"
echo "Datagram: $dgram ($(wc -c <"$dgram") bytes), peer and server on 127.0.0.1"
echo

# Join on the operation name; operations only dtlsgate has get "-".
awk '
	FNR == NR { if ($1 == "bench") qt[$2] = $3; next }
	$1 == "bench" {
		name[++n] = $2; ours[$2] = $3
	}
	END {
		printf "%-42s %12s %12s %8s\n", "operation", "Qt ns/op", "dtlsgate", "Qt/ours"
		for (i = 1; i <= n; i++) {
			op = name[i]
			if (op in qt)
				printf "%-42s %12.1f %12.1f %7.2fx\n", op, qt[op], ours[op], qt[op] / ours[op]
			else
				printf "%-42s %12s %12.1f %8s\n", op, "-", ours[op], "-"
		}
	}
' "$tmp/qt" "$tmp/ours"

echo
echo "valid_cookie: a ClientHello carrying the cookie the implementation minted (returns true)."
echo "no_cookie_send_hvr: the first flight; each call sends a HelloVerifyRequest over loopback."
echo "sockaddr: the peer given as the sockaddr recvfrom() fills in instead of a string."
echo "check: dtlsgate_verifier_check(), no socket; the reply goes into a caller buffer."
