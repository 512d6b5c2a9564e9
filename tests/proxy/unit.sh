#!/bin/sh
# SPDX-License-Identifier: MIT
# The systemd unit and the example configuration of dtlsgate-proxy:
#  1. the example configuration's command line starts the proxy (read as
#     systemd's EnvironmentFile= reads that one line), which then stops
#     with exit status 0 on SIGTERM;
#  2. `systemd-analyze verify` has nothing to say about the unit (pointed at
#     the built binary and the example configuration; its manual page is
#     not installed here, so not looked for), and `systemd-analyze
#     security` rates its exposure 2.0 or lower. Skipped, saying so, where
#     systemd-analyze is not installed.
# Usage: tests/proxy/unit.sh PROXY
set -eu
proxy=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/dtlsgate-unit.XXXXXX")
pid=""
trap '[ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }; rm -rf "$work"' EXIT
fail() { echo "FAIL $*" >&2; exit 1; }

# 1. The example configuration, with a key file and port of the test's own
# (a flag given again takes the last value).
opts=$(sed -n 's/^DTLSGATE_PROXY_OPTS="\(.*\)"$/\1/p' "$root/packaging/dtlsgate-proxy.conf")
[ -n "$opts" ] || fail "packaging/dtlsgate-proxy.conf has no DTLSGATE_PROXY_OPTS line"
echo "device:00112233" >"$work/keys.txt"
# shellcheck disable=SC2086 # the options are split on blanks, as systemd does
"$proxy" $opts --listen 127.0.0.1:0 --psk-file "$work/keys.txt" 2>"$work/log" &
pid=$!
i=0
until grep -q '"msg":"listening"' "$work/log"; do
	i=$((i + 1))
	[ $i -lt 100 ] && kill -0 "$pid" 2>/dev/null || { cat "$work/log" >&2; fail "the example configuration did not start the proxy"; }
	sleep 0.05
done
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
[ "$status" -eq 0 ] || fail "exit status $status after SIGTERM"
echo "PASS the example configuration starts the proxy; SIGTERM stops it with 0"

# 2. systemd's own checks.
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "SKIP systemd-analyze is not installed: the unit is not verified"
	exit 0
fi
sed -e "s|^ExecStart=/usr/bin/dtlsgate-proxy |ExecStart=$proxy |" \
	-e "s|^EnvironmentFile=.*|EnvironmentFile=$root/packaging/dtlsgate-proxy.conf|" \
	"$root/packaging/dtlsgate-proxy.service" >"$work/dtlsgate-proxy.service"
grep -q "^ExecStart=$proxy " "$work/dtlsgate-proxy.service" || fail "no ExecStart=/usr/bin/dtlsgate-proxy line in the unit"
said=$(cd "$work" && systemd-analyze verify --man=no dtlsgate-proxy.service 2>&1) || fail "systemd-analyze verify: $said"
[ -z "$said" ] || fail "systemd-analyze verify: $said"
echo "PASS systemd-analyze verify packaging/dtlsgate-proxy.service"
exposure=$(cd "$work" && systemd-analyze security --offline=yes --threshold=20 dtlsgate-proxy.service 2>&1) ||
	fail "systemd-analyze security: above 2.0: $(echo "$exposure" | grep -E '✗|Overall')"
echo "PASS systemd-analyze security: $(echo "$exposure" | sed -n 's/.*Overall exposure level for [^:]*: //p')"
