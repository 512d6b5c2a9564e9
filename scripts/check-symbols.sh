#!/bin/sh
# SPDX-License-Identifier: MIT
# Checks that a shared library exports exactly the dtlsgate_* functions its
# public header declares: nothing missing, nothing extra (no Go runtime or
# _cgo_ symbols), and that its soname is SONAME (default libdtlsgate.so.0).
# Usage: scripts/check-symbols.sh HEADER SO [SONAME]
set -eu

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	echo "usage: $0 HEADER SO [SONAME]" >&2
	exit 2
fi
header=$1
so=$2
want_soname=${3:-libdtlsgate.so.0}
for f in "$header" "$so"; do
	[ -r "$f" ] || { echo "check-symbols: cannot read $f" >&2; exit 2; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# Declared: the header run through the preprocessor (no comments, no
# inactive branches), then every dtlsgate_* name that is followed by "(" (a
# prototype) or is an extern object.
${CC:-cc} -E -P -x c "$header" >"$tmp/pp" 2>"$tmp/cpp.err" || {
	echo "check-symbols: cannot preprocess $header:" >&2
	cat "$tmp/cpp.err" >&2
	exit 2
}
{
	grep -o 'dtlsgate_[A-Za-z0-9_]*[[:space:]]*(' "$tmp/pp" | sed 's/[[:space:](]*$//'
	grep -E '^[[:space:]]*extern[^(]*dtlsgate_[A-Za-z0-9_]*[[:space:]]*(\[[^]]*\])?[[:space:]]*;' "$tmp/pp" |
		grep -o 'dtlsgate_[A-Za-z0-9_]*[[:space:]]*\(\[[^]]*\]\)\{0,1\}[[:space:]]*;' |
		sed 's/[^A-Za-z0-9_].*$//'
} | sort -u >"$tmp/declared"

# Exported: every symbol the library defines in its dynamic symbol table,
# code or data, without symbol versions.
nm -D --defined-only "$so" | awk 'NF >= 3 { print $3 }' | sed 's/@.*$//' | sort -u >"$tmp/exported"

status=0
ndecl=$(wc -l <"$tmp/declared" | tr -d ' ')
nexp=$(wc -l <"$tmp/exported" | tr -d ' ')
if [ "$ndecl" -eq 0 ]; then
	echo "check-symbols: no dtlsgate_* function found in $header" >&2
	status=1
fi

comm -23 "$tmp/declared" "$tmp/exported" >"$tmp/missing"
comm -13 "$tmp/declared" "$tmp/exported" >"$tmp/extra"
if [ -s "$tmp/missing" ]; then
	echo "check-symbols: declared in $header but not exported by $so:" >&2
	sed 's/^/  - /' "$tmp/missing" >&2
	status=1
fi
if [ -s "$tmp/extra" ]; then
	echo "check-symbols: exported by $so but not declared in $header:" >&2
	sed 's/^/  + /' "$tmp/extra" >&2
	status=1
fi

soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [ "$soname" != "$want_soname" ]; then
	echo "check-symbols: soname of $so is '${soname:-none}', expected $want_soname" >&2
	status=1
fi

if [ $status -eq 0 ]; then
	echo "check-symbols: OK: $ndecl functions declared, $nexp symbols exported, all equal; soname $soname"
else
	echo "check-symbols: FAILED: $ndecl declared, $nexp exported, $(wc -l <"$tmp/missing" | tr -d ' ') missing, $(wc -l <"$tmp/extra" | tr -d ' ') extra; soname '${soname:-none}'" >&2
fi
exit $status
