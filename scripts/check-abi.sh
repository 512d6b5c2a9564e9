#!/bin/sh
# SPDX-License-Identifier: MIT
# Compares a built libdtlsgate.so.0 with the committed ABI baseline (abidw
# output) and fails on anything but additions: a removed function, a changed
# parameter or return type, a struct that changed size, a new soname.
# Usage: scripts/check-abi.sh BASELINE.abi LIBRARY.so
set -u
ref=${1:?usage: scripts/check-abi.sh BASELINE.abi LIBRARY.so}
lib=${2:?usage: scripts/check-abi.sh BASELINE.abi LIBRARY.so}

report=$(abidiff "$ref" "$lib")
status=$?
# abidiff's status is a bit set: 1 error, 2 usage, 4 a change, 8 an incompatible change.
if [ "$status" -eq 0 ]; then
	echo "check-abi: $lib has the ABI of $ref"
	exit 0
fi
if [ $((status & 3)) -ne 0 ]; then
	echo "check-abi: abidiff could not compare $ref and $lib (status $status):" >&2
	echo "$report" >&2
	exit 1
fi
# A change: the same comparison with additions left out tells whether
# anything else changed (libabigail flags only some breaks as incompatible,
# so a changed parameter type is "a change" like an addition).
if [ $((status & 8)) -eq 0 ] && abidiff --no-added-syms "$ref" "$lib" >/dev/null; then
	echo "check-abi: $lib adds to the ABI of $ref (compatible):"
	echo "$report" | sed 's/^/  /'
	echo "check-abi: when this is released, record it with make abi-baseline"
	exit 0
fi
echo "check-abi: FAIL: $lib breaks the ABI of $ref (status $status):" >&2
echo "$report" | sed 's/^/  /' >&2
cat >&2 <<'MSG'
check-abi: an incompatible change needs a new soname (README.md, "Versioning and
compatibility"); if this is only how the library is built (a new Go or compiler)
and the header is unchanged, look at the report and run `make abi-baseline`.
MSG
exit 1
