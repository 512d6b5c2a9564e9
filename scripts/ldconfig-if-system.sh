#!/bin/sh
# SPDX-License-Identifier: MIT
# Run by `make install` when DESTDIR is empty: if DIR is one of the
# directories the dynamic loader searches (ldconfig's own list), refresh its
# cache so that programs find libdtlsgate.so.0 at once. Any other prefix is
# left alone: programs find the library there by rpath or LD_LIBRARY_PATH
# (README.md, "Installing").
# Usage: scripts/ldconfig-if-system.sh DIR   ($LDCONFIG: the ldconfig to use)
set -eu
dir=$(realpath -m "${1:?usage: scripts/ldconfig-if-system.sh DIR}")
ldconfig=${LDCONFIG:-ldconfig}
command -v "$ldconfig" >/dev/null 2>&1 || ldconfig=/sbin/ldconfig
# `ldconfig -v -N` lists each directory it searches as "DIR: (from ...)".
for d in $("$ldconfig" -v -N 2>/dev/null | sed -n 's|^\(/[^:]*\):.*|\1|p'); do
	if [ "$(realpath -m "$d")" = "$dir" ]; then
		echo "$dir is a system library directory: running $ldconfig"
		exec "$ldconfig"
	fi
done
