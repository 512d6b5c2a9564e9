// SPDX-License-Identifier: MIT

package session

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// A completed server keeps its Finished and the client's (to answer a
// repeated client flight) after its handshake buffers went back to the
// pool: later handshakes that take those buffers, and clear them, leave
// both as they were.
func TestReview11PinCompletedKeepsOwnCopies(t *testing.T) {
	a := newLink(t, Config{PSK: keyFor("id", "k", nil)}, Config{PSK: keyFor("", "k", nil)})
	a.run() // no data yet: once some arrives, the server lets both go
	finished, peerLast := message(bytes.Clone(a.server.lastFinished)), message(bytes.Clone(a.server.peerLast))
	if finished.typ() != msgFinished || peerLast.typ() != msgFinished {
		t.Fatalf("kept %v and %v, want two Finished", finished.typ(), peerLast.typ())
	}
	for _, suite := range []uint16{TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256, TLS_PSK_WITH_AES_256_GCM_SHA384, TLS_PSK_WITH_AES_128_GCM_SHA256} {
		b := newLink(t, Config{Suites: []uint16{suite}, PSK: keyFor("other", "another key", nil)}, Config{PSK: keyFor("", "another key", nil)})
		b.run()
		expectEstablished(t, b, suite)
	}
	if !bytes.Equal(a.server.lastFinished, finished) || !bytes.Equal(a.server.peerLast, peerLast) {
		t.Fatal("a completed session's kept messages changed when later handshakes reused the buffers")
	}
	expectEstablished(t, a, TLS_PSK_WITH_AES_128_GCM_SHA256)
}

// Handshakes run in parallel take and give back the same pooled buffers,
// PRF states and handshake states, some completing over a bad network,
// some abandoned half-way, some closed in the middle. Under -race a buffer
// still written by one handshake after it went back to the pool shows as
// a race with the handshake that took it; without, every completed pair
// still talks.
func TestReview11PinParallelHandshakesSharePools(t *testing.T) {
	suites := []uint16{TLS_PSK_WITH_AES_128_GCM_SHA256, TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256, TLS_PSK_WITH_AES_256_GCM_SHA384}
	for w := range 4 {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			for i := range 12 {
				suite := suites[(w+i)%len(suites)]
				key := fmt.Sprintf("key %d %d", w, i)
				l := newLink(t, Config{Suites: []uint16{suite}, PSK: keyFor("id", key, nil)}, Config{PSK: keyFor("", key, nil)})
				l.rng = rand.New(rand.NewPCG(uint64(w), uint64(i)))
				switch i % 3 {
				case 0: // completes over a bad network
					l.loss, l.dup, l.reorder = 0.2, 0.3, true
					l.run()
					expectEstablished(t, l, suite)
				case 1: // abandoned half-way: dropped without a word
					if !l.client.DoHandshake(nil) {
						t.Fatal(l.client.DtlsErrorString())
					}
					l.send(true, l.client.Outgoing())
					l.exchange(1 + rng.IntN(3))
				case 2: // closed half-way by the application
					if !l.client.DoHandshake(nil) {
						t.Fatal(l.client.DtlsErrorString())
					}
					l.send(true, l.client.Outgoing())
					l.exchange(1 + rng.IntN(3))
					l.client.Close()
					if l.server != nil {
						l.server.Close()
					}
				}
			}
		})
	}
}
