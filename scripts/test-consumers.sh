#!/bin/sh
# SPDX-License-Identifier: MIT
# Programs outside the tree built against an installed dtlsgate and run:
#  - the README's C quick start (built) and the C secure UDP example server
#    and client (built, then a DTLS-PSK handshake and echoes between them),
#    with pkg-config;
#  - tests/cpp/consumer: a Makefile project with pkg-config, and a CMake
#    project with find_package(dtlsgate) on the shared and on the static
#    library, each answering a real ClientHello; find_package refuses a
#    version this one does not satisfy.
# Used by scripts/test-install.sh (make install) and packaging/test-deb.sh
# (the .deb files unpacked into a scratch root).
# Usage: scripts/test-consumers.sh ROOT PREFIX LIBDIR WORKDIR
#   ROOT: where the tree is unpacked ("" for an installed prefix), PREFIX and
#   LIBDIR as installed (/usr, /usr/lib/x86_64-linux-gnu), WORKDIR: scratch.
set -eu
root=$1 prefix=$2 libdir=$3 tmp=$4
src=$(cd "$(dirname "$0")/.." && pwd)
make=${MAKE:-make}
cc=${CC:-cc}
fail() {
	echo "test-consumers: FAIL: $*" >&2
	exit 1
}
version=$(sed -n 's/^#define DTLSGATE_VERSION "\(.*\)"$/\1/p' "$src/include/dtlsgate.h")
export PKG_CONFIG_LIBDIR="$root$libdir/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$root"
unset PKG_CONFIG_PATH
rpath=-Wl,-rpath,$root$libdir
server=
cleanup() {
	if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# C, with pkg-config.
# shellcheck disable=SC2046 # pkg-config output is meant to be split
python3 "$src/tests/readme/run.py" "$src/README.md" --print c >"$tmp/quickstart.c"
$cc -std=c11 -Wall -Werror -o "$tmp/quickstart" "$tmp/quickstart.c" \
	$(pkg-config --cflags --libs dtlsgate) "$rpath" || fail "the README's C quick start does not build"
for prog in server client; do
	# shellcheck disable=SC2046
	$cc -std=c11 -Wall -Wextra -Werror -I"$src/examples/c" -o "$tmp/$prog" \
		"$src/examples/c/secure_udp_$prog.c" $(pkg-config --cflags --libs dtlsgate) "$rpath" ||
		fail "examples/c/secure_udp_$prog.c does not build"
	ldd "$tmp/$prog" | grep -q "$root$libdir/libdtlsgate.so.0" || fail "$prog does not load $root$libdir"
done
port=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
env -u LD_LIBRARY_PATH "$tmp/server" 127.0.0.1 "$port" >"$tmp/server.log" 2>&1 &
server=$!
out=$(env -u LD_LIBRARY_PATH timeout 20 "$tmp/client" 127.0.0.1 "$port" --name installed --count 2 2>&1) ||
	{ echo "$out" >&2; cat "$tmp/server.log" >&2; fail "the C example client and server"; }
echo "$out" | grep -q 'got "echo: ping 2 from installed"' || { echo "$out" >&2; fail "no echo"; }
cleanup
server=

# C++.
for f in include/dtlsgate.hpp include/dtlsgate_qt.hpp; do
	[ -e "$root$prefix/$f" ] || fail "$prefix/$f not installed"
done
for f in dtlsgateConfig.cmake dtlsgateConfigVersion.cmake; do
	[ -e "$root$libdir/cmake/dtlsgate/$f" ] || fail "$libdir/cmake/dtlsgate/$f not installed"
done
hello=$src/tests/corpus/openssl_dtls12.bin
cp -r "$src/tests/cpp/consumer" "$tmp/pc"
$make --no-print-directory -C "$tmp/pc" CXX="${CXX:-c++}" LDFLAGS="$rpath" \
	>"$tmp/pc.log" 2>&1 || { cat "$tmp/pc.log" >&2; fail "the pkg-config C++ project does not build"; }
got=$(env -u LD_LIBRARY_PATH "$tmp/pc/consumer" "$hello") || fail "run the pkg-config C++ program"
case $got in "$version HelloVerifyRequest "*) ;; *) fail "pkg-config C++ program printed '$got'" ;; esac

command -v cmake >/dev/null || fail "cmake is not installed (scripts/ensure-deps.sh test)"
mm=$(echo "$version" | cut -d. -f1-2)
cmake -S "$src/tests/cpp/consumer" -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$root$prefix" \
	-DDTLSGATE_WANT="$mm" >"$tmp/cmake.log" 2>&1 && cmake --build "$tmp/cmake" >>"$tmp/cmake.log" 2>&1 ||
	{ cat "$tmp/cmake.log" >&2; fail "the CMake C++ project does not build"; }
for prog in consumer consumer_static; do
	got=$(env -u LD_LIBRARY_PATH "$tmp/cmake/$prog" "$hello") || fail "run the CMake program $prog"
	case $got in "$version HelloVerifyRequest "*) ;; *) fail "CMake program $prog printed '$got'" ;; esac
done
readelf -d "$tmp/cmake/consumer" | grep -q "RUNPATH.*$root$libdir\|RPATH.*$root$libdir" ||
	fail "the CMake program is not linked to $root$libdir"
readelf -d "$tmp/cmake/consumer_static" | grep -q libdtlsgate &&
	fail "dtlsgate::dtlsgate_static still links libdtlsgate.so"
if cmake -S "$src/tests/cpp/consumer" -B "$tmp/cmake-too-new" -DCMAKE_PREFIX_PATH="$root$prefix" \
	-DDTLSGATE_WANT="$(echo "$version" | cut -d. -f1).999" >"$tmp/cmake2.log" 2>&1; then
	fail "find_package(dtlsgate $(echo "$version" | cut -d. -f1).999) accepted version $version"
fi
# An older minor version of the same major is met (releases within it only add).
cmake -S "$src/tests/cpp/consumer" -B "$tmp/cmake-older" -DCMAKE_PREFIX_PATH="$root$prefix" \
	-DDTLSGATE_WANT="$(echo "$version" | cut -d. -f1).0" >"$tmp/cmake3.log" 2>&1 ||
	{ cat "$tmp/cmake3.log" >&2; fail "find_package(dtlsgate $(echo "$version" | cut -d. -f1).0) refused $version"; }
echo "test-consumers: the C quick start built; the C example server and client echoed;" \
	"C++ programs built with pkg-config and with CMake (shared and static) ran"
