// SPDX-License-Identifier: MIT

package session

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/dtlsgate/dtlsgate/core/psk"
	"github.com/dtlsgate/dtlsgate/core/verifier"
)

var (
	clientAddr = netip.MustParseAddrPort("127.0.0.1:40000")
	serverAddr = netip.MustParseAddrPort("127.0.0.1:50000")
)

// keyFor returns a PSK callback that gives identity and key, and records
// what the engine passed in.
func keyFor(identity, key string, seen *psk.Authenticator) func(*psk.Authenticator) {
	return func(a *psk.Authenticator) {
		if seen != nil {
			*seen = *a.Clone()
		}
		if identity != "" && a.MaximumIdentityLength() > 0 {
			a.SetIdentity([]byte(identity))
		}
		a.SetPreSharedKey([]byte(key))
	}
}

// clock is a fake time source shared by both ends.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// link carries datagrams between a client and a server (with a verifier in
// front, as a real server has), optionally losing, duplicating and
// reordering them.
type link struct {
	t        testing.TB
	clock    *clock
	rng      *rand.Rand
	loss     float64 // probability a datagram is dropped
	dup      float64 // probability a datagram is delivered twice
	reorder  bool    // deliver each batch in random order
	verifier *verifier.ClientVerifier
	client   *Session
	server   *Session
	scfg     Config
	toServer [][]byte
	toClient [][]byte
	// filter, if set, may change or drop a datagram: return nil to drop.
	filter func(toServer bool, d []byte) []byte
}

func newLink(t testing.TB, ccfg, scfg Config) *link {
	t.Helper()
	l := &link{t: t, clock: &clock{t: time.Unix(1_700_000_000, 0)}, rng: rand.New(rand.NewPCG(1, 2)), verifier: verifier.New()}
	ccfg.Now, scfg.Now = l.clock.now, l.clock.now
	scfg.Cookies = l.verifier.Generator()
	l.scfg = scfg
	var err error
	if l.client, err = New(Client, ccfg); err != nil {
		t.Fatal(err)
	}
	if !l.client.SetPeer(serverAddr) {
		t.Fatal(l.client.DtlsErrorString())
	}
	return l
}

func (l *link) send(toServer bool, out [][]byte) {
	for _, d := range out {
		if l.filter != nil {
			if d = l.filter(toServer, d); d == nil {
				continue
			}
		}
		if l.rng.Float64() < l.loss {
			continue
		}
		n := 1
		if l.rng.Float64() < l.dup {
			n = 2
		}
		for range n {
			if toServer {
				l.toServer = append(l.toServer, bytes.Clone(d))
			} else {
				l.toClient = append(l.toClient, bytes.Clone(d))
			}
		}
	}
}

func (l *link) take(q *[][]byte) [][]byte {
	b := *q
	*q = nil
	if l.reorder {
		l.rng.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
	}
	return b
}

// deliverToServer hands a datagram to the verifier until a session exists,
// then to the session.
func (l *link) deliverToServer(d []byte) {
	if l.server == nil {
		reply := make([]byte, verifier.MaxReplySize)
		res, n, err := l.verifier.Check(d, clientAddr, reply)
		if err != nil {
			l.t.Fatalf("verifier: %v", err)
		}
		switch res {
		case verifier.SendReply:
			l.send(false, [][]byte{reply[:n]})
		case verifier.Verified:
			s, err := New(Server, l.scfg)
			if err != nil {
				l.t.Fatal(err)
			}
			s.SetPeer(clientAddr)
			l.server = s
			s.DoHandshake(d)
			l.send(false, s.Outgoing())
		}
		return
	}
	if l.server.HandshakeState() == HandshakeInProgress {
		l.server.DoHandshake(d)
	} else if l.server.IsConnectionEncrypted() {
		l.server.DecryptDatagram(d)
	}
	l.send(false, l.server.Outgoing())
}

func (l *link) deliverToClient(d []byte) {
	if l.client.HandshakeState() == HandshakeInProgress {
		l.client.DoHandshake(d)
	} else if l.client.IsConnectionEncrypted() {
		l.client.DecryptDatagram(d)
	}
	l.send(true, l.client.Outgoing())
}

// run starts the client and moves datagrams, firing timers on the fake
// clock when the network goes quiet, until both ends finished or failed.
func (l *link) run() {
	l.t.Helper()
	if !l.client.DoHandshake(nil) {
		l.t.Fatalf("client start: %s", l.client.DtlsErrorString())
	}
	l.send(true, l.client.Outgoing())
	l.pump()
}

// exchange moves datagrams both ways for some rounds, firing no timer.
// Each datagram is overwritten once delivered, as a caller that reads every
// datagram into the same buffer does: the engine must have copied whatever
// it keeps of one.
func (l *link) exchange(rounds int) {
	for range rounds {
		for _, d := range l.take(&l.toServer) {
			l.deliverToServer(d)
			scribble(d)
			l.checkCopied()
		}
		for _, d := range l.take(&l.toClient) {
			l.deliverToClient(d)
			scribble(d)
			l.checkCopied()
		}
	}
}

func scribble(d []byte) {
	for i := range d {
		d[i] = 0xEE
	}
}

// checkCopied fails when a session's record of the peer's last message (the
// one the engine keeps across calls to spot repeats) is a view of a
// datagram scribble overwrote.
func (l *link) checkCopied() {
	for _, s := range []*Session{l.client, l.server} {
		if s != nil && len(s.peerLast) > 0 && s.peerLast[0] == 0xEE {
			l.t.Fatal("the session kept a view of a delivered datagram, not a copy")
		}
	}
}

// pump moves datagrams and fires timers until both ends finished or failed.
func (l *link) pump() {
	l.t.Helper()
	for round := 0; round < 10000; round++ {
		if len(l.toServer) == 0 && len(l.toClient) == 0 {
			if l.done() {
				return
			}
			if !l.fireTimers() {
				return
			}
			continue
		}
		l.exchange(1)
	}
	l.t.Fatal("no progress after 10000 rounds")
}

func (l *link) done() bool {
	inProgress := func(s *Session) bool { return s != nil && s.HandshakeState() == HandshakeInProgress }
	return !inProgress(l.client) && !inProgress(l.server) && (l.server != nil || l.client.HandshakeState() != HandshakeInProgress)
}

// fireTimers advances the clock to the earliest timer and handles it.
func (l *link) fireTimers() bool {
	next := time.Duration(-1)
	for _, s := range []*Session{l.client, l.server} {
		if s == nil {
			continue
		}
		if d, ok := s.Timeout(); ok && (next < 0 || d < next) {
			next = d
		}
	}
	if next < 0 {
		return false
	}
	l.clock.advance(next)
	for _, s := range []*Session{l.client, l.server} {
		if s != nil && s.HandshakeState() == HandshakeInProgress {
			s.HandleTimeout()
			l.send(s == l.client, s.Outgoing())
		}
	}
	return true
}
