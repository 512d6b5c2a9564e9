#!/bin/sh
# SPDX-License-Identifier: MIT
# make deb: Debian packages from the source as `make dist` packs it, with
# packaging/debian/ as its debian/ directory (kept out of the top level so
# that the tree stays a plain upstream tree: nothing treats it as a Debian
# source package by accident, and `debian/` at the top is free for a
# distribution's own packaging). The version is the header's, written into
# debian/changelog here; the maintainer is $DEBFULLNAME <$DEBEMAIL> when set.
# Then lintian, whose report (apart from what packaging/lintian-expected
# explains) fails the build.
# Usage: packaging/build-deb.sh OUTDIR
set -eu
out=${1:?usage: packaging/build-deb.sh OUTDIR}
root=$(cd "$(dirname "$0")/.." && pwd)
case $out in /*) ;; *) out=$root/$out ;; esac
cd "$root"
version=$(sed -n 's/^#define DTLSGATE_VERSION "\(.*\)"$/\1/p' include/dtlsgate.h)
maintainer="${DEBFULLNAME:-dtlsgate authors} <${DEBEMAIL:-dtlsgate@users.noreply.github.com}>"
work=$root/build/deb
rm -rf "$work"
mkdir -p "$work" "$out"

packaging/dist.sh "$work/dtlsgate-$version.tar.gz" >/dev/null
tar -xzf "$work/dtlsgate-$version.tar.gz" -C "$work"
src=$work/dtlsgate-$version
rm "$work/dtlsgate-$version.tar.gz" # a native package: the tree is the source
cp -r packaging/debian "$src/debian"
sed -i "s|@MAINTAINER@|$maintainer|" "$src/debian/control"
# The time of the last change, not of this build, so that packages repeat.
when=$(date -R -d "@$(stat -c %Y "$src/CHANGELOG.md")")
cat >"$src/debian/changelog" <<CHANGELOG
dtlsgate ($version) unstable; urgency=medium

  * Version $version; CHANGELOG.md (in /usr/share/doc/libdtlsgate0) says
    what it holds.

 -- $maintainer  $when
CHANGELOG

# -d: Go 1.26 comes from PATH, not from a Debian package (debian/rules).
(cd "$src" && dpkg-buildpackage -us -uc -b -d) >"$work/build.log" 2>&1 ||
	{ tail -n 40 "$work/build.log" >&2; echo "deb: dpkg-buildpackage failed; the log: $work/build.log" >&2; exit 1; }
rm -f "$out"/*.deb
for f in "$work"/*.deb; do cp "$f" "$out/"; done
echo "deb: built in $out:"
ls -1 "$out"/*.deb | sed 's|.*/|  |'

lintian --display-info --suppress-tags-from-file packaging/lintian-expected \
	"$work"/dtlsgate_"$version"_*.changes >"$work/lintian.log" 2>&1 || true
sed 's/^/  lintian: /' "$work/lintian.log"
if grep -qE '^[EW]: ' "$work/lintian.log"; then
	echo "deb: lintian reports errors or warnings not in packaging/lintian-expected" >&2
	exit 1
fi
echo "deb: lintian: no errors or warnings beyond packaging/lintian-expected"
