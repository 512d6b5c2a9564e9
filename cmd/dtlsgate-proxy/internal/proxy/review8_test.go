// SPDX-License-Identifier: MIT

package proxy

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

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

// A datagram on a backend socket the moment its poller watches it (one a
// backend sent to the port an ended session had, or a forged one) is read
// at once: its flow must be complete by then, not wait for its device's
// address (a nil address made the poller panic, taking the proxy down).
func TestReview8FindingReplyBeforePeerKnown(t *testing.T) {
	b := startBackend(t, "b")
	early := make(chan bool, 1) // whether the poller handed it to the endpoint
	afterAdd = func(f *flow) {
		b.conn.WriteToUDPAddrPort([]byte("early"), netip.MustParseAddrPort(localAddr(f.fd)))
		for end := time.Now().Add(netLimit); time.Now().Before(end); time.Sleep(time.Millisecond) {
			if f.fromBackend.Load() > 0 {
				early <- true
				return
			}
		}
		early <- false
	}
	t.Cleanup(func() { afterAdd = nil })
	p := start(t, b, []string{"alice"}, nil)
	c := mustDial(t, p, "alice")
	select {
	case ok := <-early:
		if !ok {
			t.Fatal("the poller did not hand the early datagram to the endpoint")
		}
	case <-time.After(netLimit):
		t.Fatal("the session got no backend socket")
	}
	got, err := c.Read(time.Now().Add(netLimit))
	if err != nil || string(got) != "early" {
		t.Fatalf("device got %q, %v; want the early datagram", got, err)
	}
}
