#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs dtlsgate into a scratch prefix and builds a program against it
# with pkg-config, linked to the shared library and then to the static one.
# Also checks that DESTDIR staging works. Exits non-zero on any failure.
# Usage: scripts/test-install.sh   (from anywhere; uses the repository's Makefile)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
make=${MAKE:-make}
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

fail() {
	echo "test-install: FAIL: $*" >&2
	exit 1
}

# The version the header promises; the installed library must report it.
version=$(sed -n 's/^#define DTLSGATE_VERSION "\(.*\)"$/\1/p' include/dtlsgate.h)
[ -n "$version" ] || fail "no DTLSGATE_VERSION in include/dtlsgate.h"

# 1. Install into a scratch prefix.
prefix=$tmp/usr
$make --no-print-directory install PREFIX="$prefix" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log" >&2; fail "make install PREFIX=$prefix"; }
for f in include/dtlsgate.h lib/libdtlsgate.so.0 lib/libdtlsgate.so lib/libdtlsgate.a \
	lib/pkgconfig/dtlsgate.pc lib/pkgconfig/dtlsgate-static.pc share/doc/dtlsgate/LICENSE \
	share/doc/dtlsgate/THIRD_PARTY_NOTICES share/doc/dtlsgate/CHANGELOG.md; do
	[ -e "$prefix/$f" ] || fail "$f not installed"
done
[ -L "$prefix/lib/libdtlsgate.so" ] || fail "lib/libdtlsgate.so is not a symlink"
[ "$(readlink "$prefix/lib/libdtlsgate.so")" = libdtlsgate.so.0 ] ||
	fail "lib/libdtlsgate.so does not point to libdtlsgate.so.0"

# 2. pkg-config sees it.
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
got=$(pkg-config --modversion dtlsgate) || fail "pkg-config --modversion dtlsgate"
[ "$got" = "$version" ] || fail "pkg-config --modversion says '$got', expected '$version'"
[ "$(pkg-config --variable=prefix dtlsgate)" = "$prefix" ] || fail "prefix in dtlsgate.pc"
pkg-config --validate dtlsgate || fail "pkg-config --validate dtlsgate"
case " $(pkg-config --cflags dtlsgate) " in
*" -I$prefix/include "*) ;;
*) fail "pkg-config --cflags lacks -I$prefix/include" ;;
esac

# 3. A program built with pkg-config against the shared library.
cat >"$tmp/prog.c" <<'PROG'
#include <stdio.h>
#include <string.h>
#include <dtlsgate.h>

int main(void)
{
    dtlsgate_verifier *v = dtlsgate_verifier_new();
    int ok = v != NULL && dtlsgate_verifier_dtls_error(v) == DTLSGATE_NO_ERROR &&
             strcmp(dtlsgate_version(), DTLSGATE_VERSION) == 0;
    dtlsgate_verifier_free(v);
    printf("%s\n", dtlsgate_version());
    return ok ? 0 : 1;
}
PROG
# shellcheck disable=SC2046 # pkg-config output is meant to be split
$cc -std=c11 -Wall -Wextra -Werror -o "$tmp/prog_shared" "$tmp/prog.c" \
	$(pkg-config --cflags --libs dtlsgate) -Wl,-rpath,"$prefix/lib" ||
	fail "compile against the shared library"
got=$(env -u LD_LIBRARY_PATH "$tmp/prog_shared") || fail "run the shared-linked program"
[ "$got" = "$version" ] || fail "shared-linked program printed '$got', expected '$version'"
ldd "$tmp/prog_shared" | grep -q "$prefix/lib/libdtlsgate.so.0" ||
	fail "shared-linked program does not load $prefix/lib/libdtlsgate.so.0"

# 4. A static link with the documented line, pkg-config --libs dtlsgate-static
# (dtlsgate.pc's -ldtlsgate takes the .so even with --static: checked too).
for f in "--libs dtlsgate-static" "--static --libs dtlsgate-static"; do
	# shellcheck disable=SC2046,SC2086
	$cc -std=c11 -Wall -Wextra -Werror -o "$tmp/prog_static" "$tmp/prog.c" \
		$(pkg-config --cflags dtlsgate-static) $(pkg-config $f) ||
		fail "compile against the static library (pkg-config $f)"
	if readelf -d "$tmp/prog_static" | grep -q 'libdtlsgate'; then
		fail "linked with pkg-config $f, the program still needs libdtlsgate.so"
	fi
	got=$(env -u LD_LIBRARY_PATH "$tmp/prog_static") || fail "run the static-linked program"
	[ "$got" = "$version" ] || fail "static-linked program printed '$got', expected '$version'"
done
pkg-config --validate dtlsgate-static || fail "pkg-config --validate dtlsgate-static"
[ "$(pkg-config --modversion dtlsgate-static)" = "$version" ] || fail "dtlsgate-static.pc version"
# shellcheck disable=SC2046
$cc -std=c11 -o "$tmp/prog_pc_static" "$tmp/prog.c" $(pkg-config --cflags --static --libs dtlsgate) \
	-Wl,-rpath,"$prefix/lib" || fail "compile with pkg-config --static --libs dtlsgate"
readelf -d "$tmp/prog_pc_static" | grep -q 'NEEDED.*libdtlsgate.so.0' ||
	fail "pkg-config --static --libs dtlsgate no longer links the .so: update README.md's Installing section"

# 4b. make install runs ldconfig only for a directory the loader searches,
# and never with DESTDIR. A stand-in ldconfig lists $fake_dir as searched.
fake=$tmp/bin/ldconfig
mkdir -p "$tmp/bin"
cat >"$fake" <<FAKE
#!/bin/sh
if [ "\$#" -gt 0 ]; then echo "\$FAKE_DIR: (from a test)"; else echo run >>"$tmp/ldconfig.log"; fi
FAKE
chmod +x "$fake"
ldconfig_runs() { # ldconfig_runs FAKE_DIR MAKE-ARGS...: how many times install ran ldconfig
	rm -f "$tmp/ldconfig.log"
	dir=$1
	shift
	FAKE_DIR=$dir LDCONFIG=$fake $make --no-print-directory install "$@" >"$tmp/install3.log" 2>&1 ||
		{ cat "$tmp/install3.log" >&2; fail "make install $*"; }
	if [ -e "$tmp/ldconfig.log" ]; then wc -l <"$tmp/ldconfig.log"; else echo 0; fi
}
[ "$(ldconfig_runs /usr/lib PREFIX="$prefix")" = 0 ] || fail "make install ran ldconfig for a private prefix"
[ "$(ldconfig_runs "$prefix/lib" PREFIX="$prefix")" = 1 ] ||
	fail "make install did not run ldconfig for a directory the loader searches"
[ "$(ldconfig_runs "$prefix/lib" PREFIX="$prefix" DESTDIR="$tmp/stage0")" = 0 ] ||
	fail "make install ran ldconfig with DESTDIR set"

# 5. DESTDIR staging: files under DESTDIR, the .pc names the final prefix.
stage=$tmp/stage
$make --no-print-directory install DESTDIR="$stage" PREFIX=/opt/dtlsgate >"$tmp/install2.log" 2>&1 ||
	{ cat "$tmp/install2.log" >&2; fail "make install DESTDIR=$stage PREFIX=/opt/dtlsgate"; }
[ -e "$stage/opt/dtlsgate/lib/libdtlsgate.so.0" ] || fail "DESTDIR install put no library under $stage"
grep -qx 'prefix=/opt/dtlsgate' "$stage/opt/dtlsgate/lib/pkgconfig/dtlsgate.pc" ||
	fail "DESTDIR install: dtlsgate.pc prefix is not /opt/dtlsgate"

grep -qx 'set(PACKAGE_VERSION "'"$version"'")' \
	"$stage/opt/dtlsgate/lib/cmake/dtlsgate/dtlsgateConfigVersion.cmake" ||
	fail "DESTDIR install: no CMake package version file"

# 6. C++ consumers of the installed tree (tests/cpp/consumer/): a Makefile
# project with pkg-config, and a CMake project with find_package(dtlsgate)
# on the shared and on the static library. Each answers a real ClientHello.
for f in include/dtlsgate.hpp include/dtlsgate_qt.hpp lib/cmake/dtlsgate/dtlsgateConfig.cmake \
	lib/cmake/dtlsgate/dtlsgateConfigVersion.cmake; do
	[ -e "$prefix/$f" ] || fail "$f not installed"
done
hello=$root/tests/corpus/openssl_dtls12.bin
cp -r tests/cpp/consumer "$tmp/pc"
$make --no-print-directory -C "$tmp/pc" CXX="${CXX:-c++}" LDFLAGS="-Wl,-rpath,$prefix/lib" \
	>"$tmp/pc.log" 2>&1 || { cat "$tmp/pc.log" >&2; fail "the pkg-config C++ project does not build"; }
got=$(env -u LD_LIBRARY_PATH "$tmp/pc/consumer" "$hello") || fail "run the pkg-config C++ program"
case $got in "$version HelloVerifyRequest "*) ;; *) fail "pkg-config C++ program printed '$got'" ;; esac

command -v cmake >/dev/null || fail "cmake is not installed (scripts/ensure-deps.sh test)"
mm=$(echo "$version" | cut -d. -f1-2)
cmake -S tests/cpp/consumer -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DDTLSGATE_WANT="$mm" \
	>"$tmp/cmake.log" 2>&1 && cmake --build "$tmp/cmake" >>"$tmp/cmake.log" 2>&1 ||
	{ cat "$tmp/cmake.log" >&2; fail "the CMake C++ project does not build"; }
for prog in consumer consumer_static; do
	got=$(env -u LD_LIBRARY_PATH "$tmp/cmake/$prog" "$hello") || fail "run the CMake program $prog"
	case $got in "$version HelloVerifyRequest "*) ;; *) fail "CMake program $prog printed '$got'" ;; esac
done
readelf -d "$tmp/cmake/consumer_static" | grep -q libdtlsgate &&
	fail "dtlsgate::dtlsgate_static still links libdtlsgate.so"
# find_package refuses a version this one does not satisfy.
if cmake -S tests/cpp/consumer -B "$tmp/cmake-too-new" -DCMAKE_PREFIX_PATH="$prefix" \
	-DDTLSGATE_WANT="$(echo "$version" | cut -d. -f1).999" >"$tmp/cmake2.log" 2>&1; then
	fail "find_package(dtlsgate $(echo "$version" | cut -d. -f1).999) accepted version $version"
fi

echo "test-install: OK: version $version installed, pkg-config found it, shared and static programs ran;" \
	"C++ projects built with pkg-config and with CMake (shared and static) ran"
