// SPDX-License-Identifier: MIT

package server

import (
	"testing"
	"time"
)

// The Connected event says how long the handshake took, from the verified
// ClientHello to the client's Finished: a proxy's handshake histogram
// rests on it.
func TestConnectedCarriesHandshakeTime(t *testing.T) {
	h := newHarness(t, Config{})
	c := h.dial(addr(1, false), plainPSK)
	h.exchange(1) // hello without a cookie: a HelloVerifyRequest
	h.exchange(1) // hello with the cookie: the handshake starts
	h.now = h.now.Add(1500 * time.Millisecond)
	h.exchange(8)
	if !c.s.IsConnectionEncrypted() {
		t.Fatalf("not connected: %s", c.s.DtlsErrorString())
	}
	var got []time.Duration
	for _, e := range h.events {
		if e.Kind == Connected {
			got = append(got, e.Handshake)
		}
	}
	if len(got) != 1 || got[0] != 1500*time.Millisecond {
		t.Fatalf("Connected handshake times %v, want [1.5s]", got)
	}
}
