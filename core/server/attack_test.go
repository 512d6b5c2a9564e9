// SPDX-License-Identifier: MIT

package server

import (
	"net/netip"
	"testing"
	"time"

	"github.com/dtlsgate/dtlsgate/core/wire"
)

// squat sends a squatter's hello to the server and throws the answer away:
// the squatter has vanished.
func (h *harness) squat(sq *squatter, i int, perIP bool) {
	a := addr(i, perIP)
	h.out = h.srv.Input(h.now, a, sq.hello(h.t, a), h.out[:0])
}

// helloWithCookie returns the ClientHello a client sent with its cookie.
func (h *harness) helloWithCookie(c *client) []byte {
	h.t.Helper()
	for _, p := range h.seen {
		if ch, err := wire.ParseClientHello(p.data); p.from == c.addr && err == nil && len(ch.Cookie) > 0 {
			return p.data
		}
	}
	h.t.Fatal("no ClientHello with a cookie from", c.addr)
	return nil
}

// Twenty thousand clients pass the cookie exchange and vanish while real
// clients keep connecting and echoing; memory stays bounded by
// MaxHalfOpen.
func TestHalfOpenFlood(t *testing.T) {
	h := newHarness(t, Config{})
	early := h.connect(addr(60000, false))
	sq := h.squatters()
	for i := range 1000 { // fill the half-open table first, then measure
		h.squat(sq, i, false)
	}
	before := heapInUse()
	for i := 1000; i < 20000; i++ {
		h.squat(sq, i, false)
		if i%2000 == 0 {
			c := h.connect(addr(60001+i/2000, false))
			h.echoes(c, msg(i))
		}
	}
	grew := int64(heapInUse()) - int64(before)
	st := h.srv.Stats()
	if st.HalfOpen != 1000 || st.EvictedHalfOpen < 19000-1000 {
		t.Fatalf("stats %+v", st)
	}
	// The table was full before: 19000 more squatters cost nothing more
	// than the sessions the real clients added.
	if grew > 1<<20 {
		t.Errorf("heap grew by %d bytes during the flood", grew)
	}
	h.echoes(early, "survived the flood")
	h.checkTables()
}

// The scenarios that locked clients out of the hand-written example
// server: 600 half-open handshakes, then 600 idle sessions, from one source
// address and from many; after each, a real client connects at once.
func TestSquattersDoNotLockOut(t *testing.T) {
	for _, perIP := range []bool{true, false} {
		for _, maxSessions := range []int{0, 600} {
			h := newHarness(t, Config{MaxSessions: maxSessions})
			sq := h.squatters()
			for i := range 600 {
				h.squat(sq, i, perIP)
			}
			h.connect(addr(1000, perIP))
			// 600 clients that complete the handshake (they hold the key)
			// and go quiet.
			for i := range 600 {
				c := h.dial(addr(2000+i, perIP), plainPSK)
				h.exchange(8)
				if !c.s.IsConnectionEncrypted() && maxSessions == 0 {
					t.Fatalf("perIP %v: idle client %d not connected", perIP, i)
				}
				delete(h.clients, c.addr)
			}
			h.now = h.now.Add(DefaultIdleAfter)
			c := h.connect(addr(5000, perIP))
			h.echoes(c, "in")
			st := h.srv.Stats()
			if maxSessions != 0 && st.EvictedIdle == 0 {
				t.Errorf("perIP %v: MaxSessions %d never bit: %+v", perIP, maxSessions, st)
			}
			if perIP && st.EvictedHalfOpenPerIP == 0 {
				t.Errorf("perIP: MaxHalfOpenPerIP never bit: %+v", st)
			}
			h.checkTables()
		}
	}
}

// RFC 6347 4.2.8: a new handshake from the address of an established
// session; the old session keeps working until the new one completes.
func TestRestartedClient(t *testing.T) {
	h := newHarness(t, Config{})
	a := addr(1, false)
	old := h.connect(a)
	h.echoes(old, "old")
	fresh := h.dial(a, plainPSK) // takes a's place in the harness
	h.exchange(2)                // hello, verify request, hello with cookie, server flight
	if st := h.srv.Stats(); st.Restarts != 1 || st.Sessions != 2 || st.HalfOpen != 1 {
		t.Fatalf("stats %+v", st)
	}
	// The old session still carries data.
	old.s.WriteDatagramEncrypted([]byte("during"))
	for _, d := range old.s.Outgoing() {
		h.input(a, d)
	}
	if e := h.events[len(h.events)-1]; e.Kind != Data || string(e.Data) != "during" {
		t.Fatalf("old session's data during the restart: %+v", h.events)
	}
	h.exchange(8)
	if !fresh.s.IsConnectionEncrypted() {
		t.Fatal("the restarted client did not connect")
	}
	n := len(h.events)
	if h.events[n-2].Kind != Closed || h.events[n-2].Reason != ClosedReplaced || h.events[n-1].Kind != Connected {
		t.Fatalf("events %+v", h.events[n-2:])
	}
	h.echoes(fresh, "new")
	// The old client's records no longer authenticate: nothing comes of them.
	old.s.WriteDatagramEncrypted([]byte("late"))
	for _, d := range old.s.Outgoing() {
		h.input(a, d)
	}
	if len(h.events) != n+1 || h.srv.Stats().Sessions != 1 {
		t.Fatalf("old session's data after the restart: %+v", h.events[n:])
	}
	h.checkTables()
}

// A restart that never completes leaves the old session as it was.
func TestRestartThatFailsKeepsOldSession(t *testing.T) {
	h := newHarness(t, Config{})
	a := addr(1, false)
	old := h.connect(a)
	h.dial(a, plainPSK)
	h.exchange(2)
	delete(h.clients, a)
	h.clients[a] = old
	h.advance(time.Minute) // past the handshake deadline
	if st := h.srv.Stats(); st.HandshakeTimeouts != 1 || st.Sessions != 1 {
		t.Fatalf("stats %+v", st)
	}
	h.echoes(old, "still the old one")
	h.checkTables()
}

// A copy of the ClientHello that started a session (same client random) is
// ignored: it must not restart, and so kill, a fresh session.
func TestDuplicateHelloIgnored(t *testing.T) {
	h := newHarness(t, Config{})
	c := h.connect(addr(1, false))
	hello := h.helloWithCookie(c)
	sent := h.sent
	for range 10 {
		h.input(c.addr, hello)
	}
	st := h.srv.Stats()
	if st.DuplicateHellos != 10 || st.Restarts != 0 || st.Sessions != 1 || h.sent != sent || len(h.events) != 1 {
		t.Fatalf("stats %+v, %d sent, events %+v", st, h.sent-sent, h.events)
	}
	h.echoes(c, "unharmed")

	// During the handshake, the client's retransmission of its hello (same
	// random, new record number) makes the server send its flight again;
	// a network copy (same record number) is a replay and gets nothing.
	h = newHarness(t, Config{})
	a := addr(1, false)
	c = h.dial(a, plainPSK)
	h.exchange(1)
	delete(h.clients, a) // the server's flight is lost
	h.exchange(1)
	h.clients[a] = c
	copied := h.seen[len(h.seen)-1].data
	sent = h.sent
	for range 5 {
		h.input(a, copied)
	}
	if h.sent != sent {
		t.Fatalf("%d datagrams for 5 network copies", h.sent-sent)
	}
	h.now = h.now.Add(time.Second) // the client's timer fires first
	c.s.HandleTimeout()
	h.fromClient(c)
	h.exchange(8)
	if !c.s.IsConnectionEncrypted() || h.srv.Stats().HandshakesStarted != 1 || h.srv.Stats().DuplicateHellos != 6 {
		t.Fatalf("client %v; stats %+v", c.s.HandshakeState(), h.srv.Stats())
	}
	// A new hello (new random) from the same address starts over.
	h.dial(addr(1, false), plainPSK)
	h.exchange(8)
	if st := h.srv.Stats(); st.HandshakesStarted != 2 || st.HandshakesCompleted != 2 || st.Restarts != 1 || st.Sessions != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// Stale or forged traffic from an address without a session is dropped
// without an answer.
func TestStrangerDropped(t *testing.T) {
	h := newHarness(t, Config{})
	h.connect(addr(1, false))
	sent := h.sent
	h.input(addr(2, false), h.seen[len(h.seen)-1].data)
	if st := h.srv.Stats(); st.DroppedStranger != 1 || h.sent != sent {
		t.Fatalf("stats %+v, %d sent", st, h.sent-sent)
	}
	// No answer can go to port 0, a multicast or a broadcast address.
	hello := h.squatters().template
	for _, a := range []string{"198.51.100.1:0", "224.0.0.1:5000", "255.255.255.255:5000", "[ff02::1]:5000"} {
		h.input(netip.MustParseAddrPort(a), hello)
	}
	if st := h.srv.Stats(); st.DroppedBadPeer != 4 || h.sent != sent {
		t.Fatalf("stats %+v, %d sent", st, h.sent-sent)
	}
}

// handshakeFragment is an epoch-0 record holding the first 10 bytes of a
// handshake message (type 16, ClientKeyExchange) that claims length bytes.
func handshakeFragment(recordSeq uint64, msgSeq uint16, length int) []byte {
	frag := []byte{16, byte(length >> 16), byte(length >> 8), byte(length), byte(msgSeq >> 8), byte(msgSeq), 0, 0, 0, 0, 0, 10}
	frag = append(frag, make([]byte, 10)...)
	rec := []byte{22, 0xfe, 0xfd, 0, 0, 0, 0, byte(recordSeq >> 24), byte(recordSeq >> 16), byte(recordSeq >> 8), byte(recordSeq), 0, byte(len(frag))}
	return append(rec, frag...)
}

// A squatter past the cookie exchange claims long handshake messages: each
// half-open handshake holds at most MaxBufferedBytes of them, and epoch-1
// records that come before a ChangeCipherSpec are kept only when small.
func TestHalfOpenBufferBounded(t *testing.T) {
	const n = 200
	h := newHarness(t, Config{MaxHalfOpen: n})
	sq := h.squatters()
	before := heapInUse()
	for i := range n {
		h.squat(sq, i, false)
		a := addr(i, false)
		for m := range 8 {
			h.out = h.srv.Input(h.now, a, handshakeFragment(uint64(10+m), uint16(2+m), 15000), h.out[:0])
		}
		big := make([]byte, 13+8000)
		copy(big, []byte{23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 1, 8000 >> 8, 8000 & 0xff})
		for range 4 {
			h.out = h.srv.Input(h.now, a, big, h.out[:0])
		}
	}
	perSession := (int64(heapInUse()) - int64(before)) / n
	if st := h.srv.Stats(); st.HalfOpen != n {
		t.Fatalf("stats %+v", st)
	}
	// One 15000-byte message fits in MaxBufferedBytes, not two.
	if perSession > DefaultMaxBufferedBytes+8<<10 {
		t.Errorf("%d bytes per half-open handshake", perSession)
	}
	t.Logf("%d bytes per half-open handshake, filled", perSession)
}
