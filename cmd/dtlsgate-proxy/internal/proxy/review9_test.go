// SPDX-License-Identifier: MIT

package proxy

import (
	"net/netip"
	"testing"

	"github.com/dtlsgate/dtlsgate/internal/dtlstest"
	"golang.org/x/sys/unix"
)

// The raw write and recvfrom on backend sockets tell the race detector
// what the kernel reads and writes, as unix.Write did (see
// TestReview9FindingRaceBlind in core/server): a reply read into the
// arena while an earlier one there is still in use is a race.
func TestReview9FindingBackendRaceBlind(t *testing.T) {
	dtlstest.WantRace(t, "TestReview9BackendRaceRead", "TestReview9BackendRaceWrite")
}

// TestReview9BackendRaceRead reads a reply into a buffer another
// goroutine is reading: a race.
func TestReview9BackendRaceRead(t *testing.T) {
	dtlstest.Child(t)
	f, svc := backendPair(t)
	defer unix.Close(f.fd)
	if _, err := svc.WriteToUDPAddrPort([]byte("reply"), netip.MustParseAddrPort(localAddr(f.fd))); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Poll([]unix.PollFd{{Fd: int32(f.fd), Events: unix.POLLIN}}, int(netLimit.Milliseconds())); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	done := make(chan byte)
	go func() { done <- buf[0] }()
	if n, err := recvTrunc(f.fd, buf); n != len("reply") || err != nil {
		t.Fatal(n, err)
	}
	<-done
}

// TestReview9BackendRaceWrite sends a datagram another goroutine is
// changing: a race.
func TestReview9BackendRaceWrite(t *testing.T) {
	dtlstest.Child(t)
	f, _ := backendPair(t)
	defer unix.Close(f.fd)
	data := []byte("request")
	done := make(chan struct{})
	go func() { data[0] = 'R'; close(done) }()
	if err := writeBackend(f.fd, data); err != nil {
		t.Fatal(err)
	}
	<-done
}
