#!/bin/sh
# SPDX-License-Identifier: MIT
# The version is written once, as DTLSGATE_VERSION in include/dtlsgate.h;
# everything else that states one must give the same: the header's other
# macros, the built library, the Python package (from the tree and in the
# wheel's metadata), the installed dtlsgate.pc and CMake package, and
# CHANGELOG.md (a section for it). When dtlsgate-proxy exists, its
# --version joins the list.
# Usage: scripts/check-version.sh   (from the repository, after `make`)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
bad=0
check() { # check WHAT GOT
	if [ "$2" = "$version" ]; then
		echo "check-version: $1: $2"
	else
		echo "check-version: FAIL: $1 says '$2', the header $version" >&2
		bad=1
	fi
}
macro() { sed -n "s/^#define DTLSGATE_VERSION_$1 \\(.*\\)$/\\1/p" include/dtlsgate.h; }

version=$(sed -n 's/^#define DTLSGATE_VERSION "\(.*\)"$/\1/p' include/dtlsgate.h)
[ -n "$version" ] || { echo "check-version: no DTLSGATE_VERSION in include/dtlsgate.h" >&2; exit 1; }
check "DTLSGATE_VERSION_MAJOR.MINOR.PATCH" "$(macro MAJOR).$(macro MINOR).$(macro PATCH)"
number=$(macro NUMBER)
check "DTLSGATE_VERSION_NUMBER ($number)" \
	"$((number / 1000000)).$((number / 1000 % 1000)).$((number % 1000))"

export PYTHONDONTWRITEBYTECODE=1
check "lib/libdtlsgate.so.0 dtlsgate_version()" "$(python3 -c 'import ctypes, sys
lib = ctypes.CDLL(sys.argv[1]); lib.dtlsgate_version.restype = ctypes.c_char_p
print(lib.dtlsgate_version().decode())' lib/libdtlsgate.so.0)"
check "Python dtlsgate.__version__" \
	"$(DTLSGATE_LIBRARY=lib/libdtlsgate.so.0 PYTHONPATH=bindings/python python3 -c 'import dtlsgate; print(dtlsgate.__version__)')"
check "Python wheel metadata" "$(cd bindings/python && python3 -c 'import sys
sys.path.insert(0, "build_backend"); import dtlsgate_build; print(dtlsgate_build._project()["version"])')"

make --no-print-directory install DESTDIR="$tmp" PREFIX=/usr >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log" >&2; echo "check-version: make install failed" >&2; exit 1; }
check "installed dtlsgate.pc" "$(PKG_CONFIG_SYSROOT_DIR=$tmp PKG_CONFIG_LIBDIR=$tmp/usr/lib/pkgconfig pkg-config --modversion dtlsgate)"
check "installed CMake package" \
	"$(sed -n 's/^set(PACKAGE_VERSION "\(.*\)")$/\1/p' "$tmp/usr/lib/cmake/dtlsgate/dtlsgateConfigVersion.cmake")"
check "CHANGELOG.md's latest release" "$(sed -n 's/^## \[\([0-9][^]]*\)\].*/\1/p' CHANGELOG.md | head -n 1)"

[ "$bad" -eq 0 ] || exit 1
echo "check-version: OK: every place gives $version"
