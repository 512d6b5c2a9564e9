#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# README.md's C++/Qt quick start as a reader meets it: tests/readme/qt/
# (main.cpp and CMakeLists.txt, the README's blocks) copied out of the tree,
# built against `make install PREFIX=...` with the README's commands (CMake
# with find_package, then pkg-config with the moc step), and run on
# 127.0.0.1:5684: it must refuse a taken port, give a wrong-key client no
# echo and then echo for openssl s_client and gnutls-cli
# (tests/interop/wrong_key_then_right.sh), and print one "connected:" line
# per right-key client (none for the wrong key). The program is on
# dtlsgate::qt::DtlsServer, which Qt has no counterpart of; the Qt program
# ported by its include alone is examples/cpp/qt_echo_server/ (qt_echo.sh).
#
#   tests/readme/qt.sh      (from the repository; uses its Makefile)
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dtlsgate-readme-qt.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failed=0
prefix=$tmp/prefix

make --no-print-directory install PREFIX="$prefix" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; echo "FAIL make install PREFIX=$prefix"; exit 1; }
mkdir "$tmp/echo"
cp tests/readme/qt/main.cpp tests/readme/qt/CMakeLists.txt "$tmp/echo/"
cd "$tmp/echo"

# The README's CMake commands.
if cmake -B build -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/cmake.log" 2>&1 &&
	cmake --build build >>"$tmp/cmake.log" 2>&1; then
	echo "PASS the Qt quick start builds with CMake (find_package, AUTOMOC)"
else
	tail -n 30 "$tmp/cmake.log"
	echo "FAIL the Qt quick start builds with CMake"
	exit 1
fi

# The README's commands without CMake: moc, then pkg-config.
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
# shellcheck disable=SC2046 # pkg-config output is meant to be split
if "$(pkg-config --variable=libexecdir Qt6Core)/moc" $(pkg-config --cflags-only-I Qt6Network) \
	"$prefix/include/dtlsgate_qt.hpp" -o moc_dtlsgate_qt.cpp >"$tmp/pc.log" 2>&1 &&
	c++ -std=c++17 -fPIC main.cpp moc_dtlsgate_qt.cpp -o echo \
		$(pkg-config --cflags --libs dtlsgate Qt6Network) -Wl,-rpath,"$prefix/lib" >>"$tmp/pc.log" 2>&1 &&
	env -u LD_LIBRARY_PATH ldd ./echo | grep -q "$prefix/lib/libdtlsgate.so.0"; then
	echo "PASS the Qt quick start builds with moc and pkg-config"
else
	tail -n 30 "$tmp/pc.log"
	echo "FAIL the Qt quick start builds with moc and pkg-config"
	failed=1
fi

cd "$root"
echo "the quick start, built with CMake:"
# The server's standard output goes to $tmp/lines, to be read afterwards
# (exec: the process the script ends is the server itself).
printf '#!/bin/sh\nexec "%s" >>"%s"\n' "$tmp/echo/build/echo" "$tmp/lines" >"$tmp/run-echo"
chmod +x "$tmp/run-echo"
env -u LD_LIBRARY_PATH tests/interop/wrong_key_then_right.sh 5684 "$tmp/run-echo" || failed=1
connected=$(grep -c '^connected: ' "$tmp/lines")
if grep -qx 'connected: openssl client' "$tmp/lines" && grep -qx 'connected: gnutls client' "$tmp/lines" &&
	[ "$connected" -eq 2 ]; then
	echo "PASS the server printed a connected: line for each right-key client and none for the wrong key"
else
	sed 's/^/    /' "$tmp/lines"
	echo "FAIL want connected: lines for the openssl and gnutls clients alone, got $connected"
	failed=1
fi
exit "$failed"
