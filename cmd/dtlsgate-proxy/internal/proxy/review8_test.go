// SPDX-License-Identifier: MIT

package proxy

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dtlsgate/dtlsgate/core/server"
	"github.com/dtlsgate/dtlsgate/internal/dtlsnet"

	"golang.org/x/sys/unix"
)

// A few backends that keep their sockets full of the largest replies
// must not starve the other flows of their poller: epoll hands ready
// sockets back in the same order pass after pass, so a pass that stopped
// at the arena's room would read the same busy ones every time.
func TestReview8FindingBusyBackendsStarvePoller(t *testing.T) {
	pl := testPoller(t)
	const busy = arenaSize / maxRecordPlaintext
	const queued = 4 // datagrams each busy socket holds
	open := func() (*flow, *net.UDPConn, netip.AddrPort) {
		f, svc, to := watchedPair(t, pl)
		t.Cleanup(func() { unix.Close(f.fd) })
		return f, svc, to
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
	afterAdd = func(_ *server.Worker, f *flow) {
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

// stallObserver holds the worker that reports a datagram of stallSize to
// the backend until stall is closed: a worker too busy to take commands.
type stallObserver struct {
	*recorder
	stalled, stall chan struct{}
}

const stallSize = 777

func (o *stallObserver) Datagram(d Direction, n int) {
	if d == ToBackend && n == stallSize {
		close(o.stalled)
		<-o.stall
	}
	o.recorder.Datagram(d, n)
}

// A backend flooding the devices of one worker fills that worker's queue,
// and the poller handing their replies over waits for room. That poller
// must not also be the one of other workers' devices, whose replies would
// wait for a worker that has nothing to do with them.
func TestReview8FindingFloodedWorkerStallsOthersReplies(t *testing.T) {
	b := startBackend(t, "b")
	type added struct {
		w *server.Worker
		f *flow
	}
	var mu sync.Mutex
	var flows []added
	afterAdd = func(w *server.Worker, f *flow) {
		mu.Lock()
		defer mu.Unlock()
		flows = append(flows, added{w, f})
	}
	t.Cleanup(func() { afterAdd = nil })
	obs := &stallObserver{stalled: make(chan struct{}), stall: make(chan struct{})}
	p := start(t, b, []string{"alice"}, func(c *Config) {
		obs.recorder = c.Observer.(*recorder)
		c.Observer = obs
	})
	released := false
	release := func() {
		if !released {
			released = true
			close(obs.stall)
		}
	}
	t.Cleanup(release) // before the proxy stops
	const devices = 12
	conns := map[netip.AddrPort]*dtlsnet.Conn{}
	for range devices {
		c := mustDial(t, p, "alice")
		conns[c.UDP.LocalAddr().(*net.UDPAddr).AddrPort()] = c
	}
	p.obs.waitFor(t, "every device connected", func() bool { return len(p.obs.connected) == devices })
	mu.Lock()
	stalled := flows[0].w
	var flooded, others []*flow
	for _, a := range flows {
		if a.w == stalled {
			flooded = append(flooded, a.f)
		} else {
			others = append(others, a.f)
		}
	}
	mu.Unlock()
	if len(others) == 0 { // one chance in 2048
		t.Skip("the kernel put every device on one worker")
	}
	if err := conns[*flooded[0].peer.Load()].Write(make([]byte, stallSize)); err != nil {
		t.Fatal(err)
	}
	<-obs.stalled
	// Flood until the stalled worker's queue of commands (1024) is full.
	for round := 0; ; round++ {
		p.obs.mu.Lock()
		queued := p.obs.datagrams[FromBackend]
		p.obs.mu.Unlock()
		if queued >= 1024 {
			break
		}
		if round == 1000 {
			t.Fatalf("only %d replies queued for the stalled worker", queued)
		}
		for _, f := range flooded {
			for range 20 {
				b.conn.WriteToUDPAddrPort([]byte("flood"), netip.MustParseAddrPort(localAddr(f.fd)))
			}
		}
		time.Sleep(time.Millisecond)
	}
	for _, f := range flooded { // one more each, for the pollers to wait on
		b.conn.WriteToUDPAddrPort([]byte("flood"), netip.MustParseAddrPort(localAddr(f.fd)))
	}
	time.Sleep(20 * time.Millisecond)
	for _, f := range others {
		if _, err := b.conn.WriteToUDPAddrPort([]byte("news"), netip.MustParseAddrPort(localAddr(f.fd))); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range others {
		got, err := conns[*f.peer.Load()].Read(time.Now().Add(netLimit))
		if err != nil || string(got) != "news" {
			t.Fatalf("a device of another worker got %q, %v while the flooded worker was busy", got, err)
		}
	}
	release()
}

// The sessions' share of the descriptor limit must leave the reserve for
// reloads and metrics (review 7) whole: each worker now holds a poller's
// epoll descriptor besides its socket, and a budget that counted only the
// socket handed the pollers' descriptors out of the reserve (all of it on
// a machine of 64 cores, where SIGHUP could no longer open the PSK file
// once sessions were at their most).
func TestReview8FindingPollersEatDescriptorReserve(t *testing.T) {
	const workers = 48
	_, limit, _ := lowerFDLimit(t, 2*workers+fdReserve+100)
	b := startBackend(t, "svc")
	p := start(t, b, []string{"alice"}, func(c *Config) { c.Serve.Workers = workers })
	after, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`max_sessions=(\d+)`).FindStringSubmatch(p.log.String())
	if m == nil {
		t.Fatalf("no session budget logged: %s", p.log.String())
	}
	sessions, _ := strconv.Atoi(m[1])
	if left := limit - len(after) - sessions; left < fdReserve/2 {
		t.Fatalf("%d sessions, %d descriptors open, limit %d: %d left once sessions are at their most, want about %d",
			sessions, len(after), limit, left, fdReserve)
	}
}

// A socket closed after epoll_wait reported it, whose number a new
// session's socket took before the read, is read as the new session's:
// the old session's device never gets the new one's replies.
func TestReview8HoldsReusedDescriptorIsTheNewFlows(t *testing.T) {
	pl := testPoller(t)
	old, svc, to := watchedPair(t, pl)
	svc.WriteToUDPAddrPort([]byte("old"), to)
	ready := readyFlows(t, pl, 1)
	svc2, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer svc2.Close()
	pl.close(old)
	fd, err := dialBackend(svc2.LocalAddr().(*net.UDPAddr).AddrPort())
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if fd != old.fd {
		t.Skipf("the new socket got descriptor %d, not the closed %d", fd, old.fd)
	}
	f := &flow{fd: fd}
	if err := pl.add(f); err != nil {
		t.Fatal(err)
	}
	svc2.WriteToUDPAddrPort([]byte("new"), netip.MustParseAddrPort(localAddr(f.fd)))
	readyFlows(t, pl, 1)
	got, _ := pl.read(ready, make([]byte, arenaSize), nil)
	if len(got) != 1 || got[0].f != f || string(got[0].data) != "new" {
		t.Fatalf("stale event read %+v, want the new flow's datagram", got)
	}
}

// A backend at an IPv6 link-local address, named with its zone
// ("[fe80::1%eth0]:5683"), was reached through net.DialUDP, which honours
// the zone; the raw socket must too, or connect fails (EINVAL) and every
// device of that backend is refused.
func TestReview8FindingLinkLocalBackend(t *testing.T) {
	var svc *net.UDPConn
	ifaces, _ := net.Interfaces()
	for _, ifi := range ifaces {
		addrs, _ := ifi.Addrs()
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.To4() != nil || !ipn.IP.IsLinkLocalUnicast() {
				continue
			}
			if c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: ipn.IP, Zone: ifi.Name}); err == nil {
				svc = c
				break
			}
		}
		if svc != nil {
			break
		}
	}
	if svc == nil {
		t.Skip("no IPv6 link-local address here")
	}
	defer svc.Close()
	backend, err := ResolveBackend(svc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	fd, err := dialBackend(backend)
	if err != nil {
		t.Fatalf("backend %v: %v", backend, err)
	}
	defer unix.Close(fd)
	if err := writeBackend(fd, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	svc.SetReadDeadline(time.Now().Add(netLimit))
	buf := make([]byte, 16)
	if n, _, err := svc.ReadFromUDPAddrPort(buf); err != nil || string(buf[:n]) != "hi" {
		t.Fatalf("backend got %q, %v", buf[:n], err)
	}
}
