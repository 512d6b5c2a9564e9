// SPDX-License-Identifier: MIT

package proxy

import (
	"bytes"
	"net"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// A few backends that keep their sockets full of the largest replies
// must not starve the other flows of their poller: epoll hands ready
// sockets back in the same order pass after pass, so a pass that stopped
// at the arena's room would read the same busy ones every time.
func TestReview8FindingBusyBackendsStarvePoller(t *testing.T) {
	pl, err := newPoller(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pl.epfd.Close()
	const busy = arenaSize / maxRecordPlaintext
	const queued = 4 // datagrams each busy socket holds
	open := func() (*flow, *net.UDPConn, netip.AddrPort) {
		f, svc := backendPair(t)
		t.Cleanup(func() { unix.Close(f.fd) })
		if err := pl.add(f); err != nil {
			t.Fatal(err)
		}
		return f, svc, netip.MustParseAddrPort(localAddr(f.fd))
	}
	for range busy {
		_, svc, to := open()
		for range queued {
			if _, err := svc.WriteToUDPAddrPort(bytes.Repeat([]byte{1}, maxRecordPlaintext), to); err != nil {
				t.Fatal(err)
			}
		}
	}
	readyFlows(t, pl, busy) // the busy ones head epoll's ready list
	quiet := map[*flow]bool{}
	for range 4 {
		f, svc, to := open()
		quiet[f] = true
		svc.WriteToUDPAddrPort([]byte("q"), to)
	}
	arena := make([]byte, arenaSize)
	events := make([]unix.EpollEvent, pollEvents)
	got := map[*flow]int{}
	for range queued - 1 { // the busy sockets are never empty meanwhile
		n, err := unix.EpollWait(pl.fd, events, 0)
		if err != nil {
			t.Fatal(err)
		}
		pl.pass(events[:n], arena, nil, func(r *reply) { got[r.f]++ })
	}
	for f := range quiet {
		if got[f] != 1 {
			t.Errorf("a quiet flow got %d replies in %d passes, want 1", got[f], queued-1)
		}
	}
}
