#!/bin/sh
# SPDX-License-Identifier: MIT
# Every Go module linked into the library (as `go version -m` lists them)
# has its license in THIRD_PARTY_NOTICES, at the version linked, and so
# does the Go standard library. A program (bin/dtlsgate-proxy) may have
# its notices in more than one file: each module must be in one of them.
# Usage: scripts/check-notices.sh LIBRARY NOTICES...
set -eu
lib=${1:?usage: scripts/check-notices.sh LIBRARY NOTICES...}
notices=${2:?usage: scripts/check-notices.sh LIBRARY NOTICES...}
shift
go=${GO:-go}

deps=$($go version -m "$lib" | awk '$1 == "dep" { print $2 " (" $3 ")" }')
[ -n "$deps" ] || { echo "check-notices: go version -m $lib lists no modules" >&2; exit 1; }
missing=0
for dep in "Go runtime and standard library" $(echo "$deps" | tr ' ' '@'); do
	want=$(echo "$dep" | tr '@' ' ')
	if ! cat "$@" | grep -qF "$want"; then
		echo "check-notices: $* do(es) not name $want, which $lib links" >&2
		missing=1
	fi
done
[ "$missing" -eq 0 ] || exit 1
echo "check-notices: $* cover(s) the $(echo "$deps" | wc -l) modules in $lib and the Go standard library"
