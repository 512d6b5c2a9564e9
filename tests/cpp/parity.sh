#!/bin/sh
# SPDX-License-Identifier: MIT
# Parity of the Qt adapter, in two steps:
#  1. tests/parity/parity_qt.cpp, built once on Qt's QDtlsClientVerifier
#     (PARITY_QT) and once, unchanged, on dtlsgate's through the adapter
#     (PARITY_QT_ADAPTER, see tests/cpp/qt_include/), agrees with itself
#     case by case: tests/parity/run.sh.
#  2. The adapter decides nothing of its own: its output is line for line
#     that of the C API run (PARITY_DTLSGATE), including the cases where
#     dtlsgate differs from Qt on purpose, which parity_dtlsgate asserts.
#
# Usage: tests/cpp/parity.sh PARITY_QT PARITY_QT_ADAPTER PARITY_DTLSGATE [CORPUS_DIR]
set -eu

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
	echo "usage: $0 PARITY_QT PARITY_QT_ADAPTER PARITY_DTLSGATE [CORPUS_DIR]" >&2
	exit 2
fi
here=$(dirname "$0")
corpus=${4:-$here/../corpus}

"$here/../parity/run.sh" "$1" "$2" "$corpus"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
"$2" "$corpus" >"$tmp/adapter.out" 2>"$tmp/adapter.err" ||
	{ cat "$tmp/adapter.err" >&2; echo "parity: $2 failed" >&2; exit 1; }
"$3" "$corpus" >"$tmp/capi.out" 2>"$tmp/capi.err" ||
	{ cat "$tmp/capi.err" >&2; echo "parity: $3 failed" >&2; exit 1; }
if ! diff -u --label "Qt adapter" --label "C API" "$tmp/adapter.out" "$tmp/capi.out" >&2; then
	echo "parity: the Qt adapter and the C API disagree" >&2
	exit 1
fi
echo "parity: the Qt adapter and the C API agree on all $(wc -l <"$tmp/capi.out") cases," \
	"$(grep -c '^differs ' "$tmp/capi.out") of them where dtlsgate differs from Qt on purpose"
