#!/bin/sh
# SPDX-License-Identifier: MIT
# Every Go module linked into the library (as `go version -m` lists them)
# has its license in THIRD_PARTY_NOTICES, at the version linked, and so
# does the Go standard library.
# Usage: scripts/check-notices.sh LIBRARY NOTICES
set -eu
lib=${1:?usage: scripts/check-notices.sh LIBRARY NOTICES}
notices=${2:?usage: scripts/check-notices.sh LIBRARY NOTICES}
go=${GO:-go}

deps=$($go version -m "$lib" | awk '$1 == "dep" { print $2 " (" $3 ")" }')
[ -n "$deps" ] || { echo "check-notices: go version -m $lib lists no modules" >&2; exit 1; }
missing=0
for dep in "Go runtime and standard library" $(echo "$deps" | tr ' ' '@'); do
	want=$(echo "$dep" | tr '@' ' ')
	if ! grep -qF "$want" "$notices"; then
		echo "check-notices: $notices does not name $want, which $lib links" >&2
		missing=1
	fi
done
[ "$missing" -eq 0 ] || exit 1
echo "check-notices: $notices covers the $(echo "$deps" | wc -l) modules in $lib and the Go standard library"
