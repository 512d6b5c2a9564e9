// SPDX-License-Identifier: MIT

package server

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

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
func (o otherWorker) claimPeer(a netip.AddrPort) bool           { return !o.held[a] }

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

// fleetLedger is an Endpoint's shared ID table as one worker sees it.
type fleetLedger struct{ claimed map[string]bool }

func (f *fleetLedger) claim(id string) bool {
	if f.claimed[id] {
		return false
	}
	f.claimed[id] = true
	return true
}
func (f *fleetLedger) release(id string)                         { delete(f.claimed, id) }
func (f *fleetLedger) route([]byte, netip.AddrPort, []byte) bool { return false }
func (f *fleetLedger) holds(netip.AddrPort) bool                 { return false }
func (f *fleetLedger) claimPeer(netip.AddrPort) bool             { return true }

// A session's ID leaves the server's table and the fleet's with the
// session, however it ends: closed by the peer or the application, timed
// out, replaced by a restart from its address, or moved and then closed.
// A stale entry would route records to nobody, or let the ID be claimed
// twice.
func TestReview6HoldsIDsLeaveWithTheirSession(t *testing.T) {
	h := cidHarness(t, Config{IdleTimeout: time.Minute})
	ledger := &fleetLedger{claimed: map[string]bool{}}
	h.srv.fleet = ledger
	check := func(when string) {
		t.Helper()
		h.checkTables()
		live := 0
		for id, c := range h.srv.cids {
			if h.srv.conns[c.peer] != c && (h.srv.conns[c.peer] == nil || h.srv.conns[c.peer].restart != c) {
				t.Fatalf("%s: ID %x names a session the server no longer holds", when, id)
			}
			live++
		}
		if len(ledger.claimed) != live {
			t.Fatalf("%s: the fleet holds %d IDs, the server %d", when, len(ledger.claimed), live)
		}
	}
	byPeer := h.connect(addr(0, false))
	byApp := h.connect(addr(1, false))
	h.connect(addr(2, false)) // to be restarted
	mover := h.connect(addr(3, false))
	check("connected")

	byPeer.s.Shutdown()
	h.fromClient(byPeer)
	h.exchange(4)
	check("closed by the peer")
	var err error
	if h.out, err = h.srv.Close(byApp.addr, h.out[:0]); err != nil {
		t.Fatal(err)
	}
	h.afterServer()
	check("closed by the application")
	h.connect(addr(2, false))
	if h.srv.Stats().Restarts != 1 {
		t.Fatalf("no restart: %+v", h.srv.Stats())
	}
	check("replaced by a restart")
	h.moveClient(mover, addr(4, false))
	h.echoes(mover, "moved")
	check("moved")
	h.advance(2 * time.Minute)
	check("timed out")
	if len(h.srv.cids) != 0 || h.srv.Stats().Sessions != 0 {
		t.Fatalf("%d IDs, stats %+v", len(h.srv.cids), h.srv.Stats())
	}
}

// claimCounter is a fleet that counts the addresses claimed for moves.
type claimCounter struct {
	fleetLedger
	claims int
}

func (f *claimCounter) claimPeer(netip.AddrPort) bool { f.claims++; return true }

// A record the session does not accept as a move (a replay from another
// address) claims nothing in the fleet: the claim, shared by the workers,
// would keep a handshake completing at that address on another worker
// out for as long as it stood.
func TestRefusedMoveClaimsNoAddress(t *testing.T) {
	h := cidHarness(t, Config{})
	f := &claimCounter{fleetLedger: fleetLedger{claimed: map[string]bool{}}}
	h.srv.fleet = f
	c := h.connect(addr(0, false))
	f.claims = 0 // the handshake's own
	c.s.WriteDatagramEncrypted([]byte("once"))
	rec := c.s.Outgoing()[0]
	h.input(addr(0, false), rec)
	h.input(addr(1, false), rec) // the same record again, from elsewhere
	if st := h.srv.Stats(); st.Moves != 0 || st.RefusedMoves != 1 || f.claims != 0 {
		t.Fatalf("stats %+v, %d claims", st, f.claims)
	}
}
