package server

import (
	"net"
	"net/netip"
	"testing"
	"time"
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
