#!/bin/sh
# SPDX-License-Identifier: MIT
# make dist: the source tree as TARBALL (dtlsgate-VERSION.tar.gz holding
# dtlsgate-VERSION/). In a git checkout the tracked files (as they are in
# the working tree); elsewhere, such as an unpacked tarball, every file but
# build outputs. Reproducible: sorted, owner 0, the time of the last commit
# (or of the newest file).
# Usage: packaging/dist.sh TARBALL
set -eu
out=${1:?usage: packaging/dist.sh TARBALL}
root=$(cd "$(dirname "$0")/.." && pwd)
base=$(basename "$out" .tar.gz)
case $out in /*) ;; *) out=$PWD/$out ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
cd "$root"

if git rev-parse --is-inside-work-tree >/dev/null 2>&1 &&
	[ "$(git rev-parse --show-toplevel)" = "$root" ]; then
	git ls-files -z >"$tmp/files"
	stamp=$(git log -1 --format=%ct)
else
	find . \( -name build -o -name lib -o -path ./bin -o -name .git -o -name __pycache__ \) -prune -o \
		\( -type f -o -type l \) -print0 | sed -z 's|^\./||' >"$tmp/files"
	stamp=$(date +%s)
fi
mkdir -p "$(dirname "$out")"
tar --null --files-from="$tmp/files" --transform="s|^|$base/|S" --sort=name \
	--mtime="@$stamp" --owner=0 --group=0 --numeric-owner -cf - | gzip -n9 >"$out.tmp"
mv "$out.tmp" "$out"
echo "dist: $out ($(tr -cd '\0' <"$tmp/files" | wc -c) files)"
