#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# README.md's C++/Qt quick start as a reader meets it: tests/readme/qt/
# (main.cpp and CMakeLists.txt, the README's blocks) copied out of the tree,
# built against `make install PREFIX=...` with the README's commands (CMake
# with find_package, then pkg-config with the moc step), and run on
# 127.0.0.1:5684: it must refuse a taken port, give a wrong-key client no
# echo and then echo for openssl s_client and gnutls-cli
# (tests/interop/wrong_key_then_right.sh). The same main.cpp with Qt's
# <QDtls> in place of the dtlsgate lines must build on Qt alone and pass
# the same, so the quick start is a Qt program indeed.
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

# On Qt's own QDtls: the include line swapped, the using-declarations gone.
sed -e 's|^#include <dtlsgate_qt.hpp>.*|#include <QDtls>|' -e '/^using dtlsgate::qt::/d' main.cpp >qt_main.cpp
# shellcheck disable=SC2046
if [ "$(diff main.cpp qt_main.cpp | grep -c '^[<>]')" -eq 5 ] &&
	c++ -std=c++17 -fPIC -Wall -Wextra -Werror qt_main.cpp -o qt_echo \
		$(pkg-config --cflags --libs Qt6Network) >"$tmp/qt.log" 2>&1; then
	echo "PASS the Qt quick start builds on Qt's QDtls with its 4 dtlsgate lines replaced by #include <QDtls>"
else
	cat "$tmp/qt.log"
	echo "FAIL the Qt quick start does not build on Qt's QDtls with its dtlsgate lines replaced"
	failed=1
fi

cd "$root"
echo "the quick start on dtlsgate:"
env -u LD_LIBRARY_PATH tests/interop/wrong_key_then_right.sh 5684 "$tmp/echo/build/echo" || failed=1
if [ -x "$tmp/echo/qt_echo" ]; then
	echo "the same on Qt's QDtls:"
	tests/interop/wrong_key_then_right.sh 5684 "$tmp/echo/qt_echo" || failed=1
fi
exit "$failed"
