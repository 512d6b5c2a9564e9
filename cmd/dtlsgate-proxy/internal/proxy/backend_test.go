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

// backendPair opens a backend socket as the proxy does, connected to a
// plain UDP socket standing in for the backend, which it returns.
func backendPair(t *testing.T) (*flow, *net.UDPConn) {
	t.Helper()
	svc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	fd, err := dialBackend(svc.LocalAddr().(*net.UDPAddr).AddrPort())
	if err != nil {
		t.Fatal(err)
	}
	f := &flow{fd: fd}
	peer := netip.MustParseAddrPort("192.0.2.1:1")
	f.peer.Store(&peer)
	// The service learns the socket's address from a first datagram.
	if err := writeBackend(fd, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	svc.SetReadDeadline(time.Now().Add(netLimit))
	buf := make([]byte, 16)
	if _, _, err := svc.ReadFromUDPAddrPort(buf); err != nil {
		t.Fatal(err)
	}
	return f, svc
}

// testPoller returns a poller whose epoll set is closed when the test ends.
func testPoller(t *testing.T) *poller {
	t.Helper()
	pl, err := newPoller(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pl.epfd.Close() })
	return pl
}

// watchedPair is backendPair with the flow's socket added to pl, and the
// address the service reaches that socket at. Closing the socket is left
// to the caller: a test may close it through the poller.
func watchedPair(t *testing.T, pl *poller) (*flow, *net.UDPConn, netip.AddrPort) {
	t.Helper()
	f, svc := backendPair(t)
	if err := pl.add(f); err != nil {
		t.Fatal(err)
	}
	return f, svc, netip.MustParseAddrPort(localAddr(f.fd))
}

// readyFlows waits until n of pl's sockets are readable and returns their
// events, as a pass of run would get them.
func readyFlows(t *testing.T, pl *poller, n int) []unix.EpollEvent {
	t.Helper()
	events := make([]unix.EpollEvent, pollEvents)
	for end := time.Now().Add(netLimit); time.Now().Before(end); time.Sleep(time.Millisecond) {
		got, err := unix.EpollWait(pl.fd, events, 0)
		if err == nil && got == n {
			return events[:got]
		}
	}
	t.Fatalf("fewer than %d backend sockets became readable", n)
	return nil
}

// A read takes one datagram from each ready socket while the arena holds
// the largest; the rest wait, intact, for the next read.
func TestPollerPassFillsArena(t *testing.T) {
	pl := testPoller(t)
	const devices = arenaSize/maxRecordPlaintext + 4
	for i := range devices {
		f, svc, to := watchedPair(t, pl)
		defer unix.Close(f.fd)
		full := bytes.Repeat([]byte{byte(i)}, maxRecordPlaintext)
		if _, err := svc.WriteToUDPAddrPort(full, to); err != nil {
			t.Fatal(err)
		}
	}
	arena := make([]byte, arenaSize)
	seen := map[byte]bool{}
	check := func(replies []reply) {
		t.Helper()
		for _, r := range replies {
			if r.err != nil || r.n != maxRecordPlaintext || len(r.data) != maxRecordPlaintext {
				t.Fatalf("reply: %d bytes (%d kept), %v", r.n, len(r.data), r.err)
			}
			want := bytes.Repeat(r.data[:1], maxRecordPlaintext)
			if !bytes.Equal(r.data, want) || seen[r.data[0]] {
				t.Fatalf("reply from device %d overwritten or read twice", r.data[0])
			}
			seen[r.data[0]] = true
		}
	}
	first, rest := pl.read(readyFlows(t, pl, devices), arena, nil)
	if len(first) != arenaSize/maxRecordPlaintext || len(first)+len(rest) != devices {
		t.Fatalf("first read %d and left %d, want %d (the arena's room) and the rest", len(first), len(rest), arenaSize/maxRecordPlaintext)
	}
	check(first)
	// The first read's replies are still in the arena: a second gets its
	// own.
	second, rest := pl.read(rest, make([]byte, arenaSize), nil)
	if len(rest) != 0 {
		t.Fatalf("the second read left %d sockets", len(rest))
	}
	check(second)
	if len(seen) != devices {
		t.Fatalf("%d devices' replies read, want %d", len(seen), devices)
	}
}

// A socket closed after epoll_wait reported it is not read: its number
// may already be another socket's.
func TestPollerSkipsClosedFlow(t *testing.T) {
	pl := testPoller(t)
	f, svc, to := watchedPair(t, pl)
	svc.WriteToUDPAddrPort([]byte("late"), to)
	ready := readyFlows(t, pl, 1)
	pl.close(f)
	if got, _ := pl.read(ready, make([]byte, arenaSize), nil); len(got) != 0 {
		t.Fatalf("read %d replies from a closed socket", len(got))
	}
	if _, err := unix.FcntlInt(uintptr(f.fd), unix.F_GETFD, 0); err != unix.EBADF {
		t.Fatal("close left the socket open")
	}
}

// A backend socket that cannot take a datagram now drops it: the worker
// that writes serves every other device too and must not wait.
func TestWriteBackendDoesNotWait(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	d := make([]byte, 1024)
	var werr error
	for range 100000 {
		if werr = writeBackend(fds[0], d); werr != nil {
			break
		}
	}
	if werr == nil {
		t.Fatal("the peer's queue never filled")
	}
	if err := writeBackend(fds[0], d); err == nil || !bytes.Contains([]byte(err.Error()), []byte("write:")) {
		t.Fatalf("a write to a full socket: %v", err)
	}
}
