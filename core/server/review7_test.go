// SPDX-License-Identifier: MIT

package server

import (
	"context"
	"testing"

	"github.com/dtlsgate/dtlsgate/core/verifier"
)

// Two workers of one Endpoint, each a harness: a key holder's session on
// worker A, with a connection ID, sends a record spoofed from address X,
// where a device's handshake is under way on worker B (X's datagrams land
// on B's socket). B routes the record to A, which moves the session to X:
// holds(X) knew only connected sessions. The device then completes its
// handshake at X, and two sessions hold one address: the proxy then sent
// the key holder's data into the device's backend flow (one map entry per
// address), and closed the device's backend socket when the key holder's
// session ended. B now keeps such records, from an address it holds.
func TestReview7FindingCIDMoveOntoOtherWorkersHandshake(t *testing.T) {
	hA, hB, wA := twoWorkers(t)
	attacker := hA.connect(addr(1, false))
	wA.ep.owners.Store(attacker.addr, wA) // as dispatch does on Connected

	x := addr(2, false)
	device := hB.dial(x, plainPSK)
	hB.exchange(2) // cookie exchange and the server's flight; the device's last flight waits
	if hB.srv.Stats().HalfOpen != 1 {
		t.Fatalf("stats %+v", hB.srv.Stats())
	}

	attacker.s.WriteDatagramEncrypted([]byte("spoofed"))
	rec := attacker.s.Outgoing()[0]
	hB.out = hB.srv.Input(hB.now, x, rec, hB.out[:0]) // lands on B, routed to A
	select {
	case f := <-wA.cmds:
		f(&Worker{wA})
	default: // not routed
	}
	moved := hA.srv.conns[x] != nil
	hB.exchange(4)
	if moved && device.s.IsConnectionEncrypted() {
		t.Fatal("a key holder's session moved onto the address of another worker's handshake; both now hold it")
	}
}

// twoWorkers returns two harnesses made the workers of one Endpoint
// (sockets aside), and worker A.
func twoWorkers(t *testing.T) (hA, hB *harness, wA *worker) {
	v := verifier.New()
	hA, hB = cidHarness(t, Config{Verifier: v}), cidHarness(t, Config{Verifier: v})
	e := &Endpoint{done: make(chan struct{}), ctx: context.Background()}
	wA = &worker{ep: e, srv: hA.srv, cmds: make(chan func(*Worker), 16)}
	hA.srv.fleet, hB.srv.fleet = wA, &worker{ep: e, srv: hB.srv, cmds: make(chan func(*Worker), 16)}
	return hA, hB, wA
}

// The other order: the key holder's session on A moves to X first (a
// record spoofed from X, routed from B), then the device at X starts its
// handshake, on B, which knew nothing of A's session there and completed
// it: two sessions at X again. B now refuses a handshake at an address
// another worker's session holds.
func TestReview7FindingHandshakeOntoOtherWorkersMovedSession(t *testing.T) {
	hA, hB, wA := twoWorkers(t)
	attacker := hA.connect(addr(1, false))
	wA.ep.owners.Store(attacker.addr, wA)
	x := addr(2, false)
	attacker.s.WriteDatagramEncrypted([]byte("spoofed"))
	hB.out = hB.srv.Input(hB.now, x, attacker.s.Outgoing()[0], hB.out[:0])
	(<-wA.cmds)(&Worker{wA})
	if hA.srv.conns[x] == nil {
		t.Fatal("the session did not move to the free address")
	}
	wA.ep.owners.Delete(attacker.addr) // as dispatch does on Moved
	wA.ep.owners.Store(x, wA)
	device := hB.dial(x, plainPSK)
	hB.exchange(8)
	if device.s.IsConnectionEncrypted() {
		t.Fatal("a handshake completed at an address another worker's session holds; both now hold it")
	}
}
