#!/bin/sh
# SPDX-License-Identifier: MIT
# Parity with Qt 6: runs the same cases (tests/parity/harness.c) through Qt's
# QDtlsClientVerifier and through dtlsgate's C ABI and compares, case by
# case: verifyClient's return value, the error code and string, whether a
# HelloVerifyRequest was sent and its layout (record type and version,
# echoed epoch and sequence number, handshake type, message_seq, fragment,
# body version, consistent lengths), and what became of verifiedHello().
#
# Usage: tests/parity/run.sh PARITY_QT PARITY_DTLSGATE [CORPUS_DIR]
#
# Where dtlsgate deliberately does better than Qt (DESIGN.md), the cases are
# printed with the prefix "differs ", shown side by side below and left out
# of the comparison; parity_dtlsgate asserts its own side of them and exits
# non-zero if dtlsgate does not keep its promise:
#   - port 0: dtlsgate refuses it (false, InvalidInputParameters, the usual
#     message, verifiedHello kept); Qt goes ahead and its send fails silently.
#   - a HelloVerifyRequest that cannot be sent (here: an IPv6 peer, "::1"
#     or "::", on a socket bound to 127.0.0.1, and an IPv4 peer on a socket
#     bound to ::1): dtlsgate reports UnderlyingSocketError with the
#     operating system's text; Qt returns false with NoError.
#   - never amplifying: parity_dtlsgate fails if any reply is larger than
#     the datagram that caused it (Qt makes no such promise; not compared).
set -u

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	echo "usage: $0 PARITY_QT PARITY_DTLSGATE [CORPUS_DIR]" >&2
	exit 2
fi
qt=$1
ours=$2
corpus=${3:-$(dirname "$0")/../corpus}

# Cases per corpus datagram and cases that do not depend on the corpus;
# change these with the case list in harness.c.
PER_FILE=86
FIXED=73

# No GUI: QCoreApplication only.
unset QT_QPA_PLATFORM

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

status=0
"$qt" "$corpus" >"$tmp/qt.out" 2>"$tmp/qt.err" || {
	echo "parity: $qt failed (exit $?):" >&2
	cat "$tmp/qt.err" >&2
	status=1
}
"$ours" "$corpus" >"$tmp/ours.out" 2>"$tmp/ours.err" || {
	echo "parity: $ours failed (exit $?):" >&2
	cat "$tmp/ours.err" >&2
	status=1
}
sed 's/^/  /' "$tmp/qt.err" "$tmp/ours.err"

files=$(find "$corpus" -maxdepth 1 -name '*.bin' | wc -l)
expected=$((files * PER_FILE + FIXED))
for out in qt ours; do
	lines=$(wc -l <"$tmp/$out.out")
	if [ "$lines" -ne "$expected" ]; then
		echo "parity: $out printed $lines cases, expected $expected ($files corpus files)" >&2
		status=1
	fi
	# Not trivially agreeing on nothing: every corpus datagram's second
	# flight, carrying the implementation's own cookie, must verify.
	for f in "$corpus"/*.bin; do
		name=$(basename "$f" .bin)
		if ! grep -q "^$name/cookie ret=1 err=0 .* vh=datagram\$" "$tmp/$out.out"; then
			echo "parity: $out did not verify $name with its own cookie" >&2
			status=1
		fi
	done
done

grep -v '^differs ' "$tmp/qt.out" >"$tmp/qt.same"
grep -v '^differs ' "$tmp/ours.out" >"$tmp/ours.same"
if ! diff -u --label "Qt $(basename "$qt")" --label "dtlsgate $(basename "$ours")" \
	"$tmp/qt.same" "$tmp/ours.same" >"$tmp/diff"; then
	echo "parity: Qt and dtlsgate disagree:" >&2
	cat "$tmp/diff" >&2
	disagree=$(grep -c '^+[^+]' "$tmp/diff")
	echo "parity: $disagree of $(wc -l <"$tmp/qt.same") cases disagree" >&2
	status=1
fi

echo "Deliberate differences (not compared; dtlsgate's side asserted by $(basename "$ours")):"
grep '^differs ' "$tmp/qt.out" | while IFS= read -r line; do
	name=$(echo "$line" | cut -d' ' -f2)
	echo "  $name"
	echo "    Qt:       $(echo "$line" | cut -d' ' -f3-)"
	echo "    dtlsgate: $(grep "^differs $name " "$tmp/ours.out" | cut -d' ' -f3-)"
done

if [ "$status" -eq 0 ]; then
	total=$(wc -l <"$tmp/qt.same")
	hvr=$(grep -c ' sent=1 ' "$tmp/qt.same")
	verified=$(grep -c ' ret=1 ' "$tmp/qt.same")
	invalid=$(grep -c ' err=1 ' "$tmp/qt.same")
	dropped=$(grep -c ' ret=0 err=0 errstr="" sent=0 ' "$tmp/qt.same")
	echo "parity: all $total cases agree ($files corpus datagrams; $hvr HelloVerifyRequests," \
		"$verified verified, $dropped dropped, $invalid invalid-input errors)"
fi
exit "$status"
