// SPDX-License-Identifier: MIT

package server

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/dtlsgate/dtlsgate/core/cookie"
	"github.com/dtlsgate/dtlsgate/internal/dtlstest"
)

// The application's goroutine that reads Events also sends: here, 2000
// records to a connected peer before it reads again. Meanwhile the worker
// holds a Connected event that finds the Events channel full, and waits.
// Endpoint.Send promises to return without waiting for the worker; if the
// worker served nothing while it waited, its command queue would fill, the
// application would block in Send, never read Events again, and both would
// wait for each other for ever.
func TestServeSendWhileEventsFull(t *testing.T) {
	e, _ := listen(t, "127.0.0.1:0", ServeConfig{Workers: 1, EventQueue: 1})
	a := dialUDP(t, loopback4, e.Addr(), plainPSK)
	// Connected(a) fills the queue; b's Connected has to wait for room.
	b := dialUDP(t, loopback4, e.Addr(), plainPSK)
	peer := a.UDP.LocalAddr().(*net.UDPAddr).AddrPort()
	sent := make(chan error, 1)
	go func() {
		for range 2000 {
			if err := e.Send(peer, []byte("x")); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	select {
	case err := <-sent:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(netLimit):
		t.Fatal("Endpoint.Send blocked: the worker waits for room in Events, the application for room in the worker's queue")
	}
	if ev := next(t, e); ev.Kind != Connected || ev.Peer != peer {
		t.Fatalf("first event %+v", ev)
	}
	if ev := next(t, e); ev.Kind != Connected {
		t.Fatalf("second event %+v", ev)
	}
	// a's socket is full of x: b, which got none, shows the endpoint
	// still answers.
	if err := b.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	ev := next(t, e)
	if ev.Kind != Data || string(ev.Data) != "ping" {
		t.Fatalf("third event %+v", ev)
	}
	if err := e.Send(ev.Peer, []byte("pong")); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Read(time.Now().Add(netLimit)); err != nil || string(got) != "pong" {
		t.Fatalf("%q %v", got, err)
	}
}

// The unspecified address (:: or 0.0.0.0) is no peer: Linux delivers a
// datagram from [::]:port off the wire and routes a reply to it to the
// loopback interface, so answering would reflect HelloVerifyRequests from
// anybody onto the server's own host, at any port. The verifier lets it
// through (as Qt's does), the server must not; nor may a hello from it
// evict a session before the engine refuses the address.
func TestUnspecifiedSourceDropped(t *testing.T) {
	h := newHarness(t, Config{MaxSessions: 1, IdleAfter: time.Second})
	c := h.connect(addr(1, false))
	h.now = h.now.Add(time.Minute) // c is idle: evictable
	sq := h.squatters()
	sent := h.sent
	for i, a := range []string{"[::]:53", "0.0.0.0:53", "[::ffff:0.0.0.0]:53"} {
		from := netip.MustParseAddrPort(a)
		h.input(from, sq.template)
		h.input(from, sq.hello(t, netip.AddrPortFrom(from.Addr().Unmap(), from.Port())))
		if st := h.srv.Stats(); st.DroppedBadPeer != uint64(2*(i+1)) || h.sent != sent {
			t.Fatalf("from %v: %d datagrams sent, stats %+v", a, h.sent-sent, st)
		}
	}
	if st := h.srv.Stats(); st.Sessions != 1 || st.EvictedIdle != 0 || len(h.events) != 1 {
		t.Fatalf("stats %+v, events %+v", st, h.events)
	}
	h.echoes(c, "still here")
}

// withSuites returns a ClientHello datagram offering n/2 more cipher
// suites, unknown ones, after its own: a longer hello that still starts a
// handshake (its lengths are fixed up when a cookie is put in).
func withSuites(tb testing.TB, hello []byte, n int) []byte {
	off := dtlstest.CookieOffset(tb, hello)
	off += 1 + int(hello[off])
	k := int(binary.BigEndian.Uint16(hello[off:]))
	out := append([]byte(nil), hello[:off+2+k]...)
	out = append(out, bytes.Repeat([]byte{0x0a, 0x0a}, n/2)...) // GREASE values
	out = append(out, hello[off+2+k:]...)
	binary.BigEndian.PutUint16(out[off:], uint16(k+n/2*2))
	return out
}

// A squatter past the cookie exchange sends the largest ClientHello a
// datagram holds. Each half-open handshake keeps its hello (twice: in the
// transcript, and as the message whose copy asks for our flight again), so
// unless the server refuses hellos no real client sends, the 1000 half-open
// handshakes the default allows would hold some 130 KB each, not the 26 KB
// the package documentation promised.
func TestBigHelloBounded(t *testing.T) {
	const n = 200
	h := newHarness(t, Config{MaxHalfOpen: n})
	sq := h.squatters()
	template := sq.template
	sq.template = withSuites(t, template, 65000-len(template))
	h.squat(sq, 0, false)
	if st := h.srv.Stats(); st.DroppedTooLarge != 1 || st.HandshakesStarted != 0 {
		t.Fatalf("a 65 KB hello: stats %+v", st)
	}
	// The longest hello taken costs what the documentation says.
	sq.template = withSuites(t, template, MaxHello-len(template)-cookie.MaxSize)
	if len(sq.hello(t, addr(0, false))) != MaxHello {
		t.Fatal("the test's hello is not MaxHello long")
	}
	before := heapInUse()
	for i := range n {
		h.squat(sq, i, false)
	}
	perSession := (int64(heapInUse()) - int64(before)) / n
	if st := h.srv.Stats(); st.HalfOpen != n {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("%d bytes per half-open handshake with a %d-byte hello", perSession, MaxHello)
	if perSession > 8<<10 {
		t.Errorf("%d bytes per half-open handshake", perSession)
	}
}

// clientKeyExchange is an epoch-0 record holding a whole plain-PSK
// ClientKeyExchange (message_seq 1) for identity.
func clientKeyExchange(recordSeq uint64, identity []byte) []byte {
	body := binary.BigEndian.AppendUint16(nil, uint16(len(identity)))
	body = append(body, identity...)
	n := len(body)
	msg := []byte{16, byte(n >> 16), byte(n >> 8), byte(n), 0, 1, 0, 0, 0, byte(n >> 16), byte(n >> 8), byte(n)}
	msg = append(msg, body...)
	rec := []byte{22, 0xfe, 0xfd, 0, 0, 0, 0, byte(recordSeq >> 24), byte(recordSeq >> 16), byte(recordSeq >> 8), byte(recordSeq)}
	rec = binary.BigEndian.AppendUint16(rec, uint16(len(msg)))
	return append(rec, msg...)
}

// A squatter whose identity the PSKFunc looks up later (or one that knows
// an identity of the key table) fills its half-open handshake as far as it
// can while the answer is awaited: the longest ClientKeyExchange
// MaxBufferedBytes lets through, fragments of a next message, and four
// early records. The fragments used to fit in MaxBufferedBytes again: the
// engine released a message's bytes once delivered, though it keeps it
// (see core/session TestReview3FindingHandshakeBufferRefilled).
func TestPendingPSKBufferBounded(t *testing.T) {
	const n = 100
	asked := 0
	h := newHarness(t, Config{MaxHalfOpen: n, PSK: func(netip.AddrPort, []byte) ([]byte, bool) {
		asked++
		return nil, true
	}})
	sq := h.squatters()
	before := heapInUse()
	for i := range n {
		h.squat(sq, i, false)
		a := addr(i, false)
		h.out = h.srv.Input(h.now, a, clientKeyExchange(5, bytes.Repeat([]byte{'i'}, DefaultMaxBufferedBytes-14)), h.out[:0])
		h.out = h.srv.Input(h.now, a, handshakeFragment(6, 2, DefaultMaxBufferedBytes), h.out[:0])
		early := make([]byte, 13+2000)
		copy(early, []byte{23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 1, 2000 >> 8, 2000 & 0xff})
		for range 4 {
			h.out = h.srv.Input(h.now, a, early, h.out[:0])
		}
	}
	perSession := (int64(heapInUse()) - int64(before)) / n
	if st := h.srv.Stats(); st.HalfOpen != n || asked != n {
		t.Fatalf("stats %+v, %d asked", st, asked)
	}
	t.Logf("%d bytes per half-open handshake awaiting its key, filled", perSession)
	// The messages, and the server's copy of the identity for its events,
	// each within MaxBufferedBytes; 8 KB of early records; the rest.
	if perSession > 2*DefaultMaxBufferedBytes+16<<10 {
		t.Errorf("%d bytes per half-open handshake awaiting its key", perSession)
	}
}

// A client starts a handshake, gives up and starts over from the same
// address (a new client random); then a late copy of its first
// cookie-bearing ClientHello arrives (the network's, or a replay by anyone
// who saw it). Taken as "the client started over", it replaced the fresh
// handshake with the stale one, whose client is gone: the real client's
// key exchange then met the wrong transcript, and it failed after the
// whole deadline. The same for a restart (RFC 6347 4.2.8) that replaced
// another beside an established session.
func TestLateHelloCopyIgnored(t *testing.T) {
	h := newHarness(t, Config{})
	a := addr(1, false)
	first := h.dial(a, plainPSK)
	h.exchange(2) // its hello with a cookie reached the server
	stale := h.helloWithCookie(first)
	delete(h.clients, a)
	h.queue = nil
	c := h.dial(a, plainPSK) // started over
	h.exchange(2)            // hello, verify request, hello with cookie, server flight
	h.input(a, stale)
	h.exchange(8)
	if !c.s.IsConnectionEncrypted() {
		t.Fatalf("client %v; stats %+v", c.s.HandshakeState(), h.srv.Stats())
	}
	h.input(a, stale) // nor does it restart the connected client
	if st := h.srv.Stats(); st.DuplicateHellos != 2 || st.Restarts != 0 || st.HalfOpen != 0 {
		t.Fatalf("stats %+v", st)
	}
	h.echoes(c, "connected")

	// A restart replaced by another restart.
	h.dial(a, plainPSK)
	h.exchange(2)
	stale = h.seen[len(h.seen)-1].data
	delete(h.clients, a)
	h.queue = nil
	r := h.dial(a, plainPSK)
	h.exchange(2)
	h.input(a, stale)
	h.exchange(8)
	if !r.s.IsConnectionEncrypted() || h.countEvents(Closed, ClosedReplaced) != 1 {
		t.Fatalf("restarted client %v; stats %+v", r.s.HandshakeState(), h.srv.Stats())
	}
	h.checkTables()
}
