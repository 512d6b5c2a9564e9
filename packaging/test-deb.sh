#!/bin/sh
# SPDX-License-Identifier: MIT
# The packages `make deb` built, as a system gets them: unpacked with
# dpkg -x into a scratch root (nothing is installed on this machine), their
# names, versions, dependencies and files checked, then programs outside
# the tree built against the unpacked files and run (scripts/test-consumers.sh),
# and the Python package used with the library of libdtlsgate0.
# Usage: packaging/test-deb.sh DIR   (DIR holds the .deb files)
set -eu
dir=$(realpath "${1:?usage: packaging/test-deb.sh DIR}")
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "test-deb: FAIL: $*" >&2; exit 1; }
version=$(sed -n 's/^#define DTLSGATE_VERSION "\(.*\)"$/\1/p' "$src/include/dtlsgate.h")
arch=$(dpkg --print-architecture)
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
libdir=/usr/lib/$triplet
root=$tmp/root
mkdir -p "$root" "$tmp/work"

for pkg in libdtlsgate0:$arch libdtlsgate-dev:$arch python3-dtlsgate:all dtlsgate-proxy:$arch; do
	deb=$dir/${pkg%:*}_${version}_${pkg#*:}.deb
	[ -f "$deb" ] || fail "no $deb (make deb)"
	[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "$deb is not version $version"
	dpkg-deb -x "$deb" "$root"
	for f in copyright changelog.gz; do
		[ -f "$root/usr/share/doc/${pkg%:*}/$f" ] || fail "${pkg%:*} has no /usr/share/doc/${pkg%:*}/$f"
	done
done
dpkg-deb -f "$dir/libdtlsgate-dev_${version}_$arch.deb" Depends | grep -qx "libdtlsgate0 (= $version)" ||
	fail "libdtlsgate-dev does not depend on libdtlsgate0 (= $version)"
dpkg-deb -f "$dir/python3-dtlsgate_${version}_all.deb" Depends | grep -q "libdtlsgate0 (>= $version)" ||
	fail "python3-dtlsgate does not depend on libdtlsgate0"
for f in $libdir/libdtlsgate.so.0 $libdir/libdtlsgate.a $libdir/pkgconfig/dtlsgate.pc \
	/usr/include/dtlsgate.h /usr/share/doc/libdtlsgate0/THIRD_PARTY_NOTICES \
	/usr/lib/python3/dist-packages/dtlsgate/__init__.py /usr/share/man/man1/dtlsgate-proxy.1.gz \
	/lib/systemd/system/dtlsgate-proxy.service /usr/lib/sysusers.d/dtlsgate-proxy.conf \
	/usr/share/doc/dtlsgate-proxy/examples/dtlsgate-proxy.conf /usr/share/doc/dtlsgate-proxy/THIRD_PARTY_NOTICES.gz; do
	[ -e "$root$f" ] || fail "$f is in no package"
done
[ "$("$root/usr/bin/dtlsgate-proxy" --version)" = "dtlsgate-proxy $version" ] || fail "dtlsgate-proxy --version"
[ "$(readlink "$root$libdir/libdtlsgate.so")" = libdtlsgate.so.0 ] || fail "libdtlsgate.so does not point to the soname"
readelf -d "$root$libdir/libdtlsgate.so.0" | grep -q 'SONAME.*\[libdtlsgate.so.0\]' || fail "soname"
readelf -d "$root$libdir/libdtlsgate.so.0" | grep -q 'BIND_NOW\|FLAGS.*NOW' || fail "not linked with -z now"

"$src/scripts/test-consumers.sh" "$root" /usr "$libdir" "$tmp/work"

# The Python package with the packaged library: from a scratch root the
# loader cannot find it in ld.so's cache, so it is named.
cd "$tmp"
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$root/usr/lib/python3/dist-packages" \
	DTLSGATE_LIBRARY="$root$libdir/libdtlsgate.so.0" /usr/bin/python3 -s - \
	"$version" "$root" "$src/tests/corpus/openssl_dtls12.bin" <<'PY' || fail "python3-dtlsgate"
import sys
import dtlsgate
version, root, hello_file = sys.argv[1:]
assert dtlsgate.__file__.startswith(root), dtlsgate.__file__
assert dtlsgate.__version__ == version == dtlsgate.library_version(), dtlsgate.__version__
assert dtlsgate.library_path().startswith(root), dtlsgate.library_path()
with open(hello_file, "rb") as f, dtlsgate.QDtlsClientVerifier() as v:
    assert v.check(f.read(), "192.0.2.1", 5684).verdict == dtlsgate.CheckVerdict.SendReply
PY
echo "test-deb: OK: libdtlsgate0, libdtlsgate-dev, python3-dtlsgate and dtlsgate-proxy $version unpacked into a" \
	"scratch root; C and C++ programs built against it ran; the Python package checked a ClientHello"
