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
for f in include/dtlsgate.h bin/dtlsgate-proxy share/man/man1/dtlsgate-proxy.1 lib/libdtlsgate.so.0 lib/libdtlsgate.so lib/libdtlsgate.a \
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
[ -x "$stage/opt/dtlsgate/bin/dtlsgate-proxy" ] || fail "DESTDIR install put no dtlsgate-proxy under $stage/opt/dtlsgate/bin"
grep -qx 'prefix=/opt/dtlsgate' "$stage/opt/dtlsgate/lib/pkgconfig/dtlsgate.pc" ||
	fail "DESTDIR install: dtlsgate.pc prefix is not /opt/dtlsgate"

grep -qx 'set(PACKAGE_VERSION "'"$version"'")' \
	"$stage/opt/dtlsgate/lib/cmake/dtlsgate/dtlsgateConfigVersion.cmake" ||
	fail "DESTDIR install: no CMake package version file"

# 6. C and C++ programs outside the tree, built against it and run.
scripts/test-consumers.sh "" "$prefix" "$prefix/lib" "$tmp"

echo "test-install: OK: version $version installed, pkg-config found it, shared and static programs ran;" \
	"programs outside the tree built against it and ran"
