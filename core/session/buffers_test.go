// SPDX-License-Identifier: MIT

package session

import (
	"testing"

	"github.com/dtlsgate/dtlsgate/core/psk"
)

// A completed handshake hands its buffers back to the pool cleared, over
// their whole capacity: none of its messages (randoms, verify data), the
// peer's, or its premaster secret reaches the handshake that takes them
// next, and its transcript hashes start again empty.
func TestBuffersReleasedCleared(t *testing.T) {
	for _, suite := range []uint16{TLS_PSK_WITH_AES_128_GCM_SHA256, TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256} {
		var taken []*buffers // the client's, then the server's
		var l *link
		l = newLink(t, Config{Suites: []uint16{suite}, PSK: func(a *psk.Authenticator) {
			taken = append(taken, l.client.hs.buf)
			keyFor("id", "a key", nil)(a)
		}}, Config{PSK: func(a *psk.Authenticator) {
			taken = append(taken, l.server.hs.buf)
			keyFor("", "a key", nil)(a)
		}})
		l.run()
		expectEstablished(t, l, suite)
		if len(taken) != 2 {
			t.Fatalf("%d PSK callbacks, want 2", len(taken))
		}
		for side, b := range taken {
			kept := map[string][]byte{"arena": b.arena, "held": b.held, "peerLast": b.peerLast, "preMaster": b.preMaster}
			for name, p := range kept {
				if len(p) != 0 {
					t.Errorf("suite %04x, side %d: %s kept %d bytes", suite, side, name, len(p))
				}
				for i, c := range p[:cap(p)] {
					if c != 0 {
						t.Errorf("suite %04x, side %d: %s not cleared at %d of %d", suite, side, name, i, cap(p))
						break
					}
				}
			}
			if cap(b.arena) == 0 || cap(b.peerLast) == 0 || cap(b.preMaster) == 0 {
				t.Errorf("suite %04x, side %d: buffers not kept for the next handshake: %d, %d, %d", suite, side, cap(b.arena), cap(b.peerLast), cap(b.preMaster))
			}
			h := b.hashes[sha256Kind]
			if h == nil || string(h.Sum(nil)) != string(sha256Kind.new().Sum(nil)) {
				t.Errorf("suite %04x, side %d: the transcript hash was kept unreset", suite, side)
			}
		}
	}
}
