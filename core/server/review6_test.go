// SPDX-License-Identifier: MIT

package server

import (
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
