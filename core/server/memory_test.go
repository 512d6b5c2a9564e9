// SPDX-License-Identifier: MIT

package server

import (
	"testing"

	"github.com/dtlsgate/dtlsgate/core/session"
	"github.com/dtlsgate/dtlsgate/internal/dtlstest"
)

// The figures in the package documentation come from this test (go test
// -v -run Memory ./core/server): the server's heap per half-open handshake
// and per established session, everything included (session, table entry,
// timer, lists). It fails if they grow past the bounds below. It is slow
// under the race detector, so it runs in the Alloc pass of make test-go.
func TestMemoryPerSessionAlloc(t *testing.T) {
	if dtlstest.RaceEnabled {
		t.Skip("taken without the race detector")
	}
	const n = 2000
	for _, c := range []struct {
		name   string
		suites []uint16
		cid    int // the clients' ConnectionIDLength
	}{
		{"PSK", plainPSK, 0},
		{"ECDHE_PSK", []uint16{session.TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256}, 0},
		{"PSK, connection IDs", plainPSK, session.EmptyConnectionID},
	} {
		h := newHarness(t, Config{MaxHalfOpen: n, MaxHalfOpenPerIP: n})
		h.cid = c.cid
		sq := h.squatters()
		h.dial(addr(65000, false), c.suites)
		sq.template, h.queue = h.queue[0].data, nil
		before := heapInUse()
		for i := range n {
			h.squat(sq, i, false)
		}
		halfOpen := (int64(heapInUse()) - int64(before)) / n
		h.out = h.srv.Shutdown(h.out[:0])

		h = newHarness(t, Config{})
		h.cid = c.cid
		before = heapInUse()
		for i := range n {
			h.dial(addr(i, false), c.suites)
			h.exchange(8)
			delete(h.clients, addr(i, false)) // client sessions are not the server's
			h.seen, h.events = nil, nil
		}
		established := (int64(heapInUse()) - int64(before)) / n
		if h.srv.Stats().Sessions != n {
			t.Fatalf("%d sessions", h.srv.Stats().Sessions)
		}
		t.Logf("%s: %d bytes per half-open handshake, %d per established session", c.name, halfOpen, established)
		if halfOpen > 4096 || established > 6144 {
			t.Errorf("%s: %d bytes per half-open handshake, %d per established session", c.name, halfOpen, established)
		}
	}
}
