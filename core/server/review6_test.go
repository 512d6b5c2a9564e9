// SPDX-License-Identifier: MIT

package server

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/dtlsgate/dtlsgate/core/session"
)

// A record proves which session's client made it, never where it came
// from: its source address may be spoofed. Mallory, a client with a key of
// her own and connection IDs, sends one of her own fresh records with the
// address of Bob (who uses no IDs, like an OpenSSL client) as its source.
// Her session moved there, and Bob's live session was ended and forgotten
// ("another session moved to its address"): anyone with a key could end
// anybody's session, and the application's sends to Bob's address went
// out under Mallory's keys. A session now never takes an address a live
// session holds: the move is refused and counted, Bob is untouched, and
// Mallory stays where she was.
func TestReview6FindingSpoofedMoveEndsAnotherSession(t *testing.T) {
	h := cidHarness(t, Config{})
	bob := addr(1, false)
	h.cid = session.NoConnectionID
	b := h.connect(bob)
	h.cid = session.EmptyConnectionID
	m := h.connect(addr(0, false))

	m.s.WriteDatagramEncrypted([]byte("from Bob, really"))
	h.input(bob, m.s.Outgoing()[0]) // spoofed source; what is sent there Bob drops
	h.exchange(4)
	if st := h.srv.Stats(); st.Moves != 0 || st.RefusedMoves != 1 || st.Sessions != 2 || h.countEvents(Closed, ClosedReplaced) != 0 {
		t.Fatalf("stats %+v, events %+v", st, h.events)
	}
	h.echoes(b, "Bob still here")
	h.echoes(m, "Mallory where she was")
	h.checkTables()
}

// otherWorker is the rest of an Endpoint as one worker sees it: another
// worker holds a connected session at each address of held.
type otherWorker struct{ held map[netip.AddrPort]bool }

func (o otherWorker) claim(string) bool                         { return true }
func (o otherWorker) release(string)                            {}
func (o otherWorker) route([]byte, netip.AddrPort, []byte) bool { return false }
func (o otherWorker) holds(a netip.AddrPort) bool               { return o.held[a] }

// The same across the workers of an Endpoint: Bob's session lives on
// another worker (the kernel spread them by address). Mallory's move to
// his address succeeded on her worker, which then became the owner of
// Bob's address for the Endpoint's Send and Close: the application's data
// for Bob went out under Mallory's keys, and her session's end made Bob
// unreachable. A worker now refuses a move to an address another holds.
func TestReview6FindingSpoofedMoveAcrossWorkers(t *testing.T) {
	h := cidHarness(t, Config{})
	bob := addr(1, false)
	h.srv.fleet = otherWorker{held: map[netip.AddrPort]bool{bob: true}}
	m := h.connect(addr(0, false))
	m.s.WriteDatagramEncrypted([]byte("from Bob, really"))
	h.input(bob, m.s.Outgoing()[0])
	if _, moved := h.lastEvent(Moved); moved || h.srv.Stats().RefusedMoves != 1 {
		t.Fatalf("moved to an address another worker holds: %+v", h.srv.Stats())
	}
	h.echoes(m, "Mallory where she was")
}

// A flood of tls12_cid records with IDs nobody holds is what an attacker
// sends for free: each must be dropped at the cost of a lookup, without
// the verifier and without allocating, on an Endpoint's worker too (which
// also asks the other workers).
func TestReview6HoldsUnknownIDFloodCostsNoAllocation(t *testing.T) {
	h := cidHarness(t, Config{})
	c := h.connect(addr(0, false))
	c.s.WriteDatagramEncrypted([]byte("x"))
	rec := bytes.Clone(c.s.Outgoing()[0])
	rec[12] ^= 0xff
	h.srv.fleet = &worker{ep: &Endpoint{}}
	out := h.out[:0]
	allocs := testing.AllocsPerRun(1000, func() {
		out = h.srv.Input(h.now, addr(7, false), rec, out[:0])
	})
	if allocs != 0 || len(out) != 0 || h.srv.Stats().DroppedUnknownCID < 1000 {
		t.Fatalf("%v allocations per unknown-ID datagram, %d answers, stats %+v", allocs, len(out), h.srv.Stats())
	}
}

// Records with a session's ID (on the wire in clear, or the attacker's own
// session's) sent from source ports the kernel gives other workers are
// each copied and queued on the owner's command queue, which the
// application's Send, Close and ResolvePSK share. A flood filled it, and
// those calls, which promise not to wait for the worker, then waited
// behind the attacker's datagrams. Routed datagrams now take at most half
// of the queue: the rest stays the application's.
func TestReview6FindingRoutedFloodFillsCommandQueue(t *testing.T) {
	e := &Endpoint{}
	owner := &worker{ep: e, cmds: make(chan func(*Worker), 1024)}
	reader := &worker{ep: e}
	e.cids.Store("someone's", owner)
	dgram := make([]byte, 1200)
	for i := range 2 * cap(owner.cmds) {
		if !reader.route([]byte("someone's"), addr(i, false), dgram) {
			t.Fatal("not routed")
		}
	}
	for range cap(owner.cmds) / 4 {
		select {
		case owner.cmds <- func(*Worker) {}:
		default:
			t.Fatalf("the application's command waits: %d of %d queued by the network", len(owner.cmds), cap(owner.cmds))
		}
	}
}

// A session's connection ID is in clear in every record its client sends,
// so anyone can reach the session from anywhere, no spoofing needed: a
// datagram that starts with a tls12_cid record naming it is handed to it
// whole. What follows that record must get no further than it would from
// the client's own address: an unauthenticated fatal alert, a
// ChangeCipherSpec, a ClientHello and a copy of the client's Finished in
// epoch 0, a tls12_cid record in epoch 0, and one with the ID but a wrong
// MAC end nothing, move nothing and send nothing to the stranger.
func TestReview6HoldsAnyoneCanReachASessionByID(t *testing.T) {
	h := cidHarness(t, Config{})
	c := h.connect(addr(0, false))
	c.s.WriteDatagramEncrypted([]byte("x"))
	rec := bytes.Clone(c.s.Outgoing()[0])
	forged := bytes.Clone(rec)
	forged[len(forged)-1] ^= 1
	epoch0 := bytes.Clone(forged)
	epoch0[3], epoch0[4] = 0, 0
	plain := func(typ byte, body ...byte) []byte {
		return append([]byte{typ, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0, byte(len(body))}, body...)
	}
	hello := plain(22, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	stranger := addr(9, false)
	for i, tail := range [][]byte{plain(21, 2, 40), plain(20, 1), hello, epoch0, forged} {
		d := append(bytes.Clone(forged), tail...)
		h.out = h.srv.Input(h.now, stranger, d, h.out[:0])
		for _, o := range h.out {
			if o.To == stranger {
				t.Fatalf("datagram %d: %d bytes sent to the stranger", i, len(o.Data))
			}
		}
		h.afterServer()
	}
	if st := h.srv.Stats(); st.Moves != 0 || st.Sessions != 1 {
		t.Fatalf("stats %+v", st)
	}
	if _, closed := h.lastEvent(Closed); closed {
		t.Fatal("the session ended")
	}
	h.echoes(c, "unharmed")
}
