#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# examples/cpp/qt_echo_server, a Qt-style program (Q_OBJECT, AUTOMOC,
# parents, signals), built with CMake twice against a scratch install of
# dtlsgate: on dtlsgate's Qt adapter (find_package(dtlsgate), dtlsgate::qt)
# and on Qt's own QDtls (-DUSE_QT_DTLS=ON). The source must be one for both
# but for the include block that USE_QT_DTLS selects. Both builds then meet
# a wrong-key client followed by right ones
# (tests/interop/wrong_key_then_right.sh).
#
#   tests/cpp/qt_echo.sh      (from the repository; uses its Makefile)
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
src=examples/cpp/qt_echo_server
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dtlsgate-qt-echo.XXXXXX")
builds=""
finish() { # a build still running is waited for (killing its shell would leave cmake running)
	local pid
	for pid in $builds; do wait "$pid" 2>/dev/null; done
	rm -rf "$tmp"
}
trap finish EXIT
trap 'exit 130' INT TERM
failed=0

# 1. USE_QT_DTLS appears in the sources once, in a block of includes and
# using-declarations only.
block=$(awk '/^#ifdef USE_QT_DTLS$/ { inside = 1 } inside { print } inside && /^#endif/ { inside = 0 }' \
	"$src"/*.h "$src"/*.cpp)
uses=$(grep -c USE_QT_DTLS "$src"/*.h "$src"/*.cpp | awk -F: '{ n += $2 } END { print n }')
other=$(grep -vE '^(#ifdef USE_QT_DTLS|#else|#endif|#include <[A-Za-z_.]+>|using dtlsgate::qt::[A-Za-z]+;)$' <<<"$block")
if [ "$uses" -eq 1 ] && [ -n "$block" ] && [ -z "$other" ]; then
	echo "PASS the two builds differ only in the include block:"
	sed 's/^/    /' <<<"$block"
else
	echo "FAIL the sources differ beyond one include block (USE_QT_DTLS used $uses times; other lines: $other)"
	failed=1
fi

# 2. Build both against an installed dtlsgate.
make --no-print-directory install PREFIX="$tmp/prefix" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; echo "FAIL make install PREFIX=$tmp/prefix"; exit 1; }
# The two builds share nothing but the installed prefix: side by side.
for variant in adapter qt; do
	flag=OFF
	[ "$variant" = qt ] && flag=ON
	cmake -S "$src" -B "$tmp/$variant" -DCMAKE_PREFIX_PATH="$tmp/prefix" -DUSE_QT_DTLS=$flag \
		>"$tmp/$variant.log" 2>&1 && cmake --build "$tmp/$variant" >>"$tmp/$variant.log" 2>&1 &
	builds="$builds $!"
done
for variant in adapter qt; do
	pid=${builds# }
	pid=${pid%% *}
	builds=${builds# $pid}
	if wait "$pid"; then
		echo "PASS builds with CMake and AUTOMOC on $variant"
	else
		tail -n 30 "$tmp/$variant.log"
		echo "FAIL builds with CMake and AUTOMOC on $variant"
		exit 1
	fi
done
ldd "$tmp/adapter/qt_echo_server" | grep -q "$tmp/prefix/lib/libdtlsgate.so.0" ||
	{ echo "FAIL the adapter build does not load the installed libdtlsgate"; failed=1; }
ldd "$tmp/qt/qt_echo_server" | grep -q libdtlsgate &&
	{ echo "FAIL the build on Qt's QDtls links libdtlsgate"; failed=1; }

# 3. Real clients, wrong key first.
port=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for variant in adapter qt; do
	echo "qt_echo_server on $variant:"
	tests/interop/wrong_key_then_right.sh "$port" "$tmp/$variant/qt_echo_server" 127.0.0.1 "$port" ||
		failed=1
done
exit "$failed"
