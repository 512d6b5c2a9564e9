// SPDX-License-Identifier: MIT

package server

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/dtlsgate/dtlsgate/core/session"
)

// moveClient gives c another address, as its NAT would: what the server
// sends to the old one is lost from now on.
func (h *harness) moveClient(c *client, to netip.AddrPort) {
	delete(h.clients, c.addr)
	c.addr = to
	h.clients[to] = c
}

// cidHarness is a harness whose clients offer connection IDs the way a
// device does: an empty one of their own.
func cidHarness(t *testing.T, cfg Config) *harness {
	h := newHarness(t, cfg)
	h.cid = session.EmptyConnectionID
	return h
}

func (h *harness) lastEvent(kind EventKind) (Event, bool) {
	for i := len(h.events) - 1; i >= 0; i-- {
		if h.events[i].Kind == kind {
			return h.events[i], true
		}
	}
	return Event{}, false
}

// A client that offers connection IDs gets one of the default length,
// reported on Connected; its records carry it; from a new address its
// next record moves the session there (a Moved event), and the echo and
// the application's sends follow it, without a new handshake.
func TestCIDSessionFollowsClient(t *testing.T) {
	h := cidHarness(t, Config{})
	c := h.connect(addr(0, false))
	e, _ := h.lastEvent(Connected)
	id, _ := c.s.PeerConnectionID()
	if len(e.ConnectionID) != session.DefaultConnectionIDLength || !bytes.Equal(e.ConnectionID, id) {
		t.Fatalf("Connected carries ID %x, the client uses %x", e.ConnectionID, id)
	}
	h.echoes(c, "before")
	c.s.WriteDatagramEncrypted([]byte("x"))
	if rec := c.s.Outgoing()[0]; rec[0] != 25 || !bytes.Equal(rec[11:19], id) {
		t.Fatalf("the client's record is not tls12_cid with its ID: % x", rec[:21])
	}

	h.moveClient(c, addr(1, false))
	h.echoes(c, "after the move")
	m, ok := h.lastEvent(Moved)
	if !ok || m.Peer != addr(1, false) || m.OldPeer != addr(0, false) {
		t.Fatalf("Moved event %+v", m)
	}
	var err error
	if h.out, err = h.srv.Send(addr(1, false), []byte("pushed"), h.out[:0]); err != nil {
		t.Fatal(err)
	}
	h.afterServer()
	if got := c.got[len(c.got)-1]; string(got) != "pushed" {
		t.Fatalf("the application's send did not reach the new address: %q", got)
	}
	if _, err := h.srv.Send(addr(0, false), []byte("x"), nil); err != ErrNoSession {
		t.Fatalf("the old address still has a session: %v", err)
	}
	st := h.srv.Stats()
	if st.Moves != 1 || st.HandshakesStarted != 1 || st.Sessions != 1 {
		t.Fatalf("stats %+v", st)
	}
	h.checkTables()
}

// A forged record (valid ID, bad MAC), a replayed one and an older one the
// network delayed, each from a new address, leave the session where it was
// (RFC 9146 section 6). The older one is genuine: its data is delivered.
func TestCIDForgedOrReplayedDoNotMove(t *testing.T) {
	h := cidHarness(t, Config{})
	h.echo = false
	c := h.connect(addr(0, false))
	record := func(msg string) []byte {
		c.s.WriteDatagramEncrypted([]byte(msg))
		return c.s.Outgoing()[0]
	}
	older, newest := record("older"), record("newest")
	h.input(addr(0, false), bytes.Clone(newest))
	forged := bytes.Clone(newest)
	forged[len(forged)-1] ^= 1
	stranger := addr(9, false)
	for i, d := range [][]byte{forged, newest, older} {
		h.input(stranger, bytes.Clone(d))
		if st := h.srv.Stats(); st.RefusedMoves != uint64(i+1) || st.Moves != 0 {
			t.Fatalf("datagram %d: stats %+v", i, st)
		}
		if _, err := h.srv.session(addr(0, false)); err != nil || h.srv.conns[stranger] != nil {
			t.Fatalf("datagram %d moved the session", i)
		}
	}
	if e, _ := h.lastEvent(Data); string(e.Data) != "older" || e.Peer != addr(0, false) {
		t.Fatalf("the delayed genuine record: %+v", e)
	}
	if _, ok := h.lastEvent(Moved); ok {
		t.Fatal("a Moved event")
	}
	h.echo = true
	h.echoes(c, "still at the old address")
}

// A tls12_cid record with an ID no session holds is dropped and counted,
// without an answer and without reaching the verifier; so is one too short
// to hold an ID.
func TestCIDUnknownDropped(t *testing.T) {
	h := cidHarness(t, Config{})
	c := h.connect(addr(0, false))
	c.s.WriteDatagramEncrypted([]byte("x"))
	rec := c.s.Outgoing()[0]
	before := h.srv.Stats()
	unknown := bytes.Clone(rec)
	unknown[12] ^= 0xff
	for _, d := range [][]byte{unknown, rec[:15], {25}} {
		h.out = h.srv.Input(h.now, addr(5, false), d, h.out[:0])
		if len(h.out) != 0 {
			t.Fatalf("answered %d bytes", len(h.out[0].Data))
		}
	}
	st := h.srv.Stats()
	if st.DroppedUnknownCID-before.DroppedUnknownCID != 3 || st.HelloVerifies != before.HelloVerifies ||
		st.DroppedStranger != before.DroppedStranger || st.DroppedBadPeer != before.DroppedBadPeer {
		t.Fatalf("stats %+v, before %+v", st, before)
	}
	h.echoes(c, "unharmed")
}

// IDs carry the node byte first and are distinct; clients that do not
// offer the extension get none, and neither does anybody when the server
// turns them off.
func TestCIDNodeIDAndSettings(t *testing.T) {
	h := cidHarness(t, Config{ConnectionIDLength: 4, NodeID: 0xA7})
	seen := map[string]bool{}
	for i := range 50 {
		c := h.connect(addr(i, false))
		id, _ := c.s.PeerConnectionID()
		if len(id) != 4 || id[0] != 0xA7 || seen[string(id)] {
			t.Fatalf("ID %x (seen before: %v)", id, seen[string(id)])
		}
		seen[string(id)] = true
	}
	h.checkTables()

	plain := newHarness(t, Config{})
	plain.connect(addr(0, false))
	if e, _ := plain.lastEvent(Connected); e.ConnectionID != nil || len(plain.srv.cids) != 0 {
		t.Fatalf("a client without the extension got ID %x", e.ConnectionID)
	}
	off := cidHarness(t, Config{ConnectionIDLength: session.NoConnectionID})
	c := off.connect(addr(0, false))
	if _, on := c.s.PeerConnectionID(); on || len(off.srv.cids) != 0 {
		t.Fatal("connection IDs negotiated with the server's turned off")
	}
	off.echoes(c, "plain records")

	for _, cfg := range []Config{
		{NodeID: 256}, {NodeID: -1}, {ConnectionIDLength: 17}, {ConnectionIDLength: -2},
		{ConnectionIDLength: 1, NodeID: 3}, {ConnectionIDLength: session.NoConnectionID, NodeID: 3},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("length %d, node %d accepted", cfg.ConnectionIDLength, cfg.NodeID)
		}
	}
}

// A session does not move to an address another session holds, even when
// the other's client has lost it to the NAT (the server cannot tell that
// from a spoofed source): the other ends by its idle timeout, and the next
// record moves the session then.
func TestCIDMoveWaitsForAddress(t *testing.T) {
	h := cidHarness(t, Config{IdleTimeout: time.Minute})
	a := h.connect(addr(0, false))
	b := h.connect(addr(1, false))
	delete(h.clients, b.addr)
	h.moveClient(a, addr(1, false))
	h.fromClient(a)
	a.s.WriteDatagramEncrypted([]byte("refused"))
	h.fromClient(a)
	h.exchange(4)
	if st := h.srv.Stats(); st.Moves != 0 || st.RefusedMoves != 1 || st.Sessions != 2 {
		t.Fatalf("stats %+v", st)
	}
	h.advance(40 * time.Second)
	a.s.WriteDatagramEncrypted([]byte("keeps a active"))
	h.fromClient(a)
	h.exchange(4)
	h.advance(30 * time.Second) // b has been idle a minute, a not
	h.echoes(a, "at b's old address")
	if h.countEvents(Closed, ClosedIdle) != 1 || h.srv.Stats().Sessions != 1 || h.srv.Stats().Moves != 1 {
		t.Fatalf("events %+v, stats %+v", h.events, h.srv.Stats())
	}
	h.checkTables()
}

// Item 6 of the issue on the fake clock: a device behind a NAT that forgets
// a mapping after 30 s of silence reports every 20 s, then sleeps 45 s
// every third report, so the report after a sleep leaves from a new port.
// For 20 minutes of simulated time the one session follows it: every
// report is echoed, the server pushes data to wherever it is, and no
// second handshake ever starts.
func TestCIDNATRebindingSimulated(t *testing.T) {
	h := cidHarness(t, Config{})
	port := uint16(20000)
	outside := func() netip.AddrPort { port++; return netip.AddrPortFrom(netip.MustParseAddr("203.0.113.50"), port) }
	c := h.connect(outside())
	start, moves := h.now, 0
	for i := 0; h.now.Sub(start) < 20*time.Minute; i++ {
		gap := 20 * time.Second
		if i%3 == 2 {
			gap = 45 * time.Second
		}
		h.advance(gap)
		if gap > 30*time.Second {
			h.moveClient(c, outside())
			moves++
		}
		h.echoes(c, msg(i))
		var err error
		if h.out, err = h.srv.Send(c.addr, []byte("push "+msg(i)), h.out[:0]); err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
		h.afterServer()
		if string(c.got[len(c.got)-1]) != "push "+msg(i) {
			t.Fatalf("report %d: the push did not arrive", i)
		}
	}
	st := h.srv.Stats()
	_, closed := h.lastEvent(Closed)
	if st.HandshakesStarted != 1 || st.Moves != uint64(moves) || moves < 10 || st.Sessions != 1 || closed {
		t.Fatalf("after %v and %d moves: stats %+v", h.now.Sub(start), moves, st)
	}
}
