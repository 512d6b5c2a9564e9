// SPDX-License-Identifier: MIT

package server

import (
	"net"
	"testing"

	"github.com/dtlsgate/dtlsgate/internal/dtlstest"
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
