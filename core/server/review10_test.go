// SPDX-License-Identifier: MIT

package server

import "testing"

// One worker's batch closes the session at an address and moves another of
// its sessions there (a connection-ID record from that address). While
// the Closed is handed out, the address is still this worker's: another
// worker's session must not be able to claim it, or both end up there
// (the dispatch of the Moved that follows would overwrite its claim).
func TestReview10FindingClosedThenMovedIn(t *testing.T) {
	h := cidHarness(t, Config{})
	ep := &Endpoint{}
	a, b := &worker{ep: ep, srv: h.srv}, &worker{ep: ep}
	h.srv.fleet = a
	p, q := addr(0, false), addr(1, false)
	leaving, moving := h.connect(p), h.connect(q)
	if _, ok := ep.owners.Load(p); !ok {
		t.Fatal("the handshake claimed no address")
	}

	leaving.s.Shutdown() // close_notify from p
	out := h.srv.Input(h.now, p, leaving.s.Outgoing()[0], nil)
	moving.s.WriteDatagramEncrypted([]byte("from p now"))
	out = h.srv.Input(h.now, p, moving.s.Outgoing()[0], out)
	if st := h.srv.Stats(); st.Moves != 1 {
		t.Fatalf("stats %+v", st)
	}
	clear(out)

	var claimed, saw bool
	ep.handler = func(_ *Worker, e Event) {
		if e.Kind == Closed && e.Peer == p {
			saw, claimed = true, b.claimPeer(p)
		}
	}
	a.dispatch(&Worker{a})
	if !saw {
		t.Fatal("no Closed event for p")
	}
	if claimed {
		t.Fatal("another worker claimed an address a session of this worker holds")
	}
	if v, _ := ep.owners.Load(p); v != a {
		t.Fatalf("owner of p %v, want the worker holding its session", v)
	}
}
