// SPDX-License-Identifier: MIT

package session

import (
	"testing"

	"github.com/dtlsgate/dtlsgate/core/verifier"
)

// TestHandshakeAllocations holds the allocations of a full in-memory
// handshake, cookie exchange included, at what they were brought down to:
// a change that brings some back (a buffer made per message, a hash made
// per handshake, a closure that escapes) fails here. The count covers both
// sessions and the test's own driving (handshakeInMemory), which is the
// same for every suite; what is left is mostly the record protections
// (cipher objects for each direction) and the datagrams handed out.
func TestHandshakeAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	for _, c := range []struct {
		suite uint16
		limit float64
	}{
		{TLS_PSK_WITH_AES_128_GCM_SHA256, 39},
		{TLS_PSK_WITH_AES_128_CCM, 43},
		{TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256, 78},
	} {
		suite, _ := LookupSuite(c.suite)
		t.Run(suite.Name, func(t *testing.T) {
			v := verifier.New()
			ccfg := Config{Suites: []uint16{c.suite}, PSK: keyFor("client", "0123456789abcdef", nil)}
			scfg := Config{PSK: keyFor("", "0123456789abcdef", nil), Cookies: v.Generator()}
			handshakeInMemory(t, v, ccfg, scfg) // fills the pools
			n := testing.AllocsPerRun(50, func() { handshakeInMemory(t, v, ccfg, scfg) })
			if n > c.limit {
				t.Errorf("%v allocations per handshake, at most %v expected", n, c.limit)
			}
		})
	}
}
