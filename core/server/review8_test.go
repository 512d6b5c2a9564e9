// SPDX-License-Identifier: MIT

package server

import "testing"

// A record a key holder spoofs from address X, routed from worker B to
// worker A, waits in A's queue (behind a batch of commands: a backend's
// replies). Meanwhile a device starts its handshake at X on B: B holds no
// record any more and holds(X) knows nothing of A's session. When A
// serves the record, its session must not move to X, where B's handshake
// is under way: the handshake would complete there too, and two sessions
// would hold one address.
func TestReview8FindingQueuedMoveOntoOtherWorkersHandshake(t *testing.T) {
	hA, hB, wA := twoWorkers(t)
	attacker := hA.connect(addr(1, false))
	wA.ep.owners.Store(attacker.addr, wA) // as dispatch does on Connected
	x := addr(2, false)
	attacker.s.WriteDatagramEncrypted([]byte("spoofed"))
	hB.out = hB.srv.Input(hB.now, x, attacker.s.Outgoing()[0], hB.out[:0]) // routed to A, queued
	device := hB.dial(x, plainPSK)
	hB.exchange(2) // cookie exchange and the server's flight; the device's last flight waits
	select {
	case f := <-wA.cmds:
		f(&Worker{wA})
	default:
		t.Fatal("the record was not routed")
	}
	moved := hA.srv.conns[x] != nil
	hB.exchange(4)
	if moved && device.s.IsConnectionEncrypted() {
		t.Fatal("a key holder's session moved onto the address of another worker's handshake; both now hold it")
	}
}
