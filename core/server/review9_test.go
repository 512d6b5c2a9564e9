// SPDX-License-Identifier: MIT

package server

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/dtlsgate/dtlsgate/internal/dtlstest"
	"golang.org/x/sys/unix"
)

// recvmmsg and sendmmsg are raw system calls, which the race detector
// cannot see. Told nothing, it lets pass a datagram buffer that the next
// read fills while the bytes of the last are still in use, or a datagram
// changed while sendmmsg reads it: the bugs `go test -race` is there to
// catch (x/net's batch calls, which the workers used before, told it).
func TestReview9FindingRaceBlind(t *testing.T) {
	dtlstest.WantRace(t, "TestReview9RaceRead", "TestReview9RaceWrite")
}

// batchPair returns a batch reader and writer on a socket of their own,
// and the socket.
func batchPair(t *testing.T) (*batchReader, *batchWriter, *net.UDPConn) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	raw, err := pc.(*net.UDPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return newBatchReader(raw, 1, 64), newBatchWriter(raw, 1), pc.(*net.UDPConn)
}

// TestReview9RaceRead reads into a buffer whose last datagram another
// goroutine is still reading: a race.
func TestReview9RaceRead(t *testing.T) {
	dtlstest.Child(t)
	r, _, conn := batchPair(t)
	for range 2 {
		if _, err := conn.WriteTo([]byte("datagram"), conn.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := r.read(); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	data, _, _, _ := r.received(0)
	done := make(chan byte)
	go func() { done <- data[0] }()
	if n, err := r.read(); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	<-done
}

// TestReview9RaceWrite sends a datagram another goroutine is changing: a
// race.
func TestReview9RaceWrite(t *testing.T) {
	dtlstest.Child(t)
	_, w, conn := batchPair(t)
	data := []byte("datagram")
	done := make(chan struct{})
	go func() { data[0] = 'D'; close(done) }()
	if n, err := w.write([]Datagram{{To: conn.LocalAddr().(*net.UDPAddr).AddrPort(), Data: data}}); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	<-done
}

// linkLocal returns an IPv6 link-local address of an interface that is
// up, with its zone, or skips t.
func linkLocal(t *testing.T) netip.Addr {
	ifs, _ := net.Interfaces()
	for _, ifi := range ifs {
		addrs, _ := ifi.Addrs()
		for _, a := range addrs {
			p, ok := a.(*net.IPNet)
			ip, _ := netip.AddrFromSlice(p.IP)
			if ok && ifi.Flags&net.FlagUp != 0 && ip.Is6() && ip.IsLinkLocalUnicast() {
				return ip.WithZone(ifi.Name)
			}
		}
	}
	t.Skip("no link-local IPv6 address")
	return netip.Addr{}
}

// A client at a link-local address gets in; its address carries the scope
// as a numeric zone, as the C API writes it, and the Endpoint reaches it
// under that address. (On one host the kernel delivers to its own
// link-local address with or without a scope: TestReview9Sockaddr checks
// that the scope goes out.)
func TestReview9LinkLocal(t *testing.T) {
	ll := linkLocal(t)
	e, _ := listen(t, "[::]:0", ServeConfig{Workers: 2})
	c := dialUDP(t, ll, netip.AddrPortFrom(ll, e.Addr().Port()), nil)
	ev := next(t, e)
	if ev.Kind != Connected || ev.Peer.Addr().WithZone("") != ll.WithZone("") {
		t.Fatalf("event %+v", ev)
	}
	if ifi, err := net.InterfaceByName(ll.Zone()); err != nil || ev.Peer.Addr().Zone() != fmt.Sprint(ifi.Index) {
		t.Fatalf("peer %v: want the zone of %s as a number (%v)", ev.Peer, ll.Zone(), err)
	}
	if err := e.Send(ev.Peer, []byte("to a link-local peer")); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Read(time.Now().Add(netLimit)); string(got) != "to a link-local peer" || err != nil {
		t.Fatalf("read %q, %v", got, err)
	}
}

// Destinations are written as the kernel takes them, and read back as
// they were: IPv4 and IPv4-mapped peers as AF_INET, a numeric zone as the
// IPv6 scope.
func TestReview9Sockaddr(t *testing.T) {
	for _, c := range []struct {
		to, back string
		family   uint16
		size     uint32
	}{
		{"192.0.2.1:5684", "192.0.2.1:5684", unix.AF_INET, unix.SizeofSockaddrInet4},
		{"[::ffff:192.0.2.1]:5684", "192.0.2.1:5684", unix.AF_INET, unix.SizeofSockaddrInet4},
		{"[fe80::1%7]:5684", "[fe80::1%7]:5684", unix.AF_INET6, unix.SizeofSockaddrInet6},
		{"[fe80::1%eth0]:5684", "[fe80::1]:5684", unix.AF_INET6, unix.SizeofSockaddrInet6}, // no number, no scope
		{"[2001:db8::1]:1", "[2001:db8::1]:1", unix.AF_INET6, unix.SizeofSockaddrInet6},
	} {
		var sa unix.RawSockaddrInet6
		sa.Scope_id = 99 // what the last destination left
		size := toSockaddr(&sa, netip.MustParseAddrPort(c.to))
		back, ok := fromSockaddr(&sa)
		if sa.Family != c.family || size != c.size || !ok || back.String() != c.back {
			t.Errorf("%s: family %d size %d read back %v %v", c.to, sa.Family, size, back, ok)
		}
	}
	if _, ok := fromSockaddr(&unix.RawSockaddrInet6{Family: unix.AF_UNIX}); ok {
		t.Error("an address of no IP family was taken")
	}
}
