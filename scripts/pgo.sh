#!/bin/sh
# SPDX-License-Identifier: MIT
# Writes capi/default.pgo, the CPU profile the Go compiler optimises the
# library with (profile-guided optimisation: `go build` picks up default.pgo
# in the main package's directory by itself). The profile is of the work the
# library is there for: cookie checks with and without a cookie, records of
# each suite and size, handshakes, and the server endpoint's echo loop, run
# as the packages' own Go benchmarks. Regenerate it (`make pgo`) after a
# change that moves the hot paths; a stale profile costs speed, never
# correctness.
#
# Usage: scripts/pgo.sh [GO]
set -eu

go=${1:-go}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# profile NAME PACKAGE BENCHMARKS: one package's benchmarks under the profiler.
profile() {
	echo "profiling $2: $3"
	"$go" test -run='^$' -bench="$3" -benchtime=1s -cpuprofile="$tmp/$1.prof" \
		-o "$tmp/$1.test" "$2" >"$tmp/$1.log" || {
		cat "$tmp/$1.log" >&2
		exit 1
	}
}

profile verifier ./core/verifier '^BenchmarkCheck(NoCookie|ValidCookie)$'
profile session ./core/session '^Benchmark(Record|Handshake)$'
profile server ./core/server '^Benchmark(Echo|Handshake|SpoofedHello)$'

"$go" tool pprof -proto "$tmp/verifier.prof" "$tmp/session.prof" "$tmp/server.prof" >capi/default.pgo
echo "wrote capi/default.pgo"
