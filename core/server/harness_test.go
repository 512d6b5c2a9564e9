// SPDX-License-Identifier: MIT

package server

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/dtlsgate/dtlsgate/core/psk"
	"github.com/dtlsgate/dtlsgate/core/session"
	"github.com/dtlsgate/dtlsgate/core/verifier"
	"github.com/dtlsgate/dtlsgate/internal/dtlstest"
)

var (
	serverAddr = netip.MustParseAddrPort("192.0.2.1:4433")
	testKey    = []byte("the test key, 32 bytes long.....")
)

// plainPSK is the suite of the tests that start many handshakes: no ECDH
// key to make per handshake.
var plainPSK = []uint16{session.TLS_PSK_WITH_AES_128_GCM_SHA256}

// addr returns the i-th client address: 198.51.x.y:port, one address per
// i when perIP is false, one address for all when true.
func addr(i int, perIP bool) netip.AddrPort {
	if perIP {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, 113, 7}), uint16(1024+i))
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}), 5000)
}

type packet struct {
	from netip.AddrPort
	data []byte
}

// client is one of the harness's peers, our own session engine.
type client struct {
	addr netip.AddrPort
	s    *session.Session
	got  [][]byte // application data received
}

// harness runs a Server and its clients on a simulated clock, moving
// datagrams by hand: every test counts exchanges, never wall time.
type harness struct {
	t       testing.TB
	now     time.Time
	srv     *Server
	clients map[netip.AddrPort]*client
	queue   []packet // to the server
	seen    []packet // every datagram the server got, in order
	out     []Datagram
	events  []Event
	echo    bool // the application echoes every Data event
	cid     int  // the clients' session.Config.ConnectionIDLength
	sent    int  // datagrams the server sent, to anybody
}

func newHarness(t testing.TB, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, now: time.Unix(1_700_000_000, 0), clients: map[netip.AddrPort]*client{}, echo: true}
	if cfg.Verifier == nil {
		cfg.Verifier = verifier.New()
	}
	cfg.Verifier.Generator().SetClock(func() time.Time { return h.now })
	if cfg.Keys == nil && cfg.PSK == nil {
		cfg.Keys = NewKeyTable()
		cfg.Keys.Set([]byte("alice"), testKey)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	return h
}

// dial starts a client at a with identity alice and the test key.
func (h *harness) dial(a netip.AddrPort, suites []uint16) *client {
	h.t.Helper()
	return h.dialWith(a, suites, "alice", testKey)
}

func (h *harness) dialWith(a netip.AddrPort, suites []uint16, identity string, key []byte) *client {
	h.t.Helper()
	s, err := session.New(session.Client, session.Config{
		Suites:             suites,
		ConnectionIDLength: h.cid,
		Now:                func() time.Time { return h.now },
		PSK: func(p *psk.Authenticator) {
			p.SetIdentity([]byte(identity))
			p.SetPreSharedKey(key)
		},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	s.SetPeer(serverAddr)
	c := &client{addr: a, s: s}
	h.clients[a] = c
	if !s.DoHandshake(nil) {
		h.t.Fatal(s.DtlsErrorString())
	}
	h.fromClient(c)
	return c
}

func (h *harness) fromClient(c *client) {
	for _, d := range c.s.Outgoing() {
		h.queue = append(h.queue, packet{c.addr, d})
	}
}

// input hands one datagram to the server and the server's answers to the
// clients.
func (h *harness) input(from netip.AddrPort, d []byte) {
	h.seen = append(h.seen, packet{from, d})
	h.out = h.srv.Input(h.now, from, d, h.out[:0])
	h.afterServer()
}

// afterServer delivers what the server sent and runs the application.
func (h *harness) afterServer() {
	out := h.out
	h.out = nil
	h.sent += len(out)
	for _, d := range out {
		if c := h.clients[d.To]; c != nil {
			h.toClient(c, d.Data)
		}
	}
	h.out = out[:0]
	base := len(h.events)
	h.events = h.srv.Events(h.events)
	for _, e := range h.events[base:] {
		if e.Kind == Data && h.echo {
			var err error
			if h.out, err = h.srv.Send(e.Peer, e.Data, h.out[:0]); err != nil {
				h.t.Errorf("echo to %v: %v", e.Peer, err)
			}
			h.afterServer()
		}
	}
}

func (h *harness) toClient(c *client, d []byte) {
	switch {
	case c.s.HandshakeState() == session.HandshakeInProgress:
		c.s.DoHandshake(d)
	case c.s.IsConnectionEncrypted():
		if data := c.s.DecryptDatagram(d); len(data) > 0 {
			c.got = append(c.got, data)
		}
	}
	h.fromClient(c)
}

// exchange moves datagrams until the network is quiet or rounds run out;
// it returns how many rounds it took.
func (h *harness) exchange(rounds int) int {
	for r := 1; r <= rounds; r++ {
		q := h.queue
		h.queue = nil
		if len(q) == 0 {
			return r - 1
		}
		for _, p := range q {
			h.input(p.from, p.data)
		}
	}
	return rounds
}

// advance moves the clock by d and fires the server's and the clients'
// timers that are due.
func (h *harness) advance(d time.Duration) {
	h.now = h.now.Add(d)
	h.out = h.srv.HandleTimers(h.now, h.out[:0])
	h.afterServer()
	for _, c := range h.clients {
		if t, ok := c.s.Timeout(); ok && t == 0 {
			c.s.HandleTimeout()
			h.fromClient(c)
		}
	}
}

// connect dials from a and requires the handshake to complete within a
// few exchanges, without any timer.
func (h *harness) connect(a netip.AddrPort) *client {
	h.t.Helper()
	c := h.dial(a, plainPSK)
	h.exchange(8)
	if !c.s.IsConnectionEncrypted() {
		h.t.Fatalf("client %v not connected: %v %s (stats %+v)", a, c.s.HandshakeState(), c.s.DtlsErrorString(), h.srv.Stats())
	}
	return c
}

// connectMany connects clients from the first n addresses.
func (h *harness) connectMany(n int) []*client {
	h.t.Helper()
	var cs []*client
	for i := range n {
		cs = append(cs, h.connect(addr(i, false)))
	}
	return cs
}

// echoes sends msg from c and requires the echo back.
func (h *harness) echoes(c *client, msg string) {
	h.t.Helper()
	n := len(c.got)
	if c.s.WriteDatagramEncrypted([]byte(msg)) < 0 {
		h.t.Fatalf("client %v write: %s", c.addr, c.s.DtlsErrorString())
	}
	h.fromClient(c)
	h.exchange(4)
	if len(c.got) != n+1 || string(c.got[n]) != msg {
		h.t.Fatalf("client %v: no echo of %q (got %q)", c.addr, msg, c.got[n:])
	}
}

// countEvents returns how many events of kind (and, for Closed, reason)
// were seen.
func (h *harness) countEvents(kind EventKind, reason CloseReason) int {
	n := 0
	for _, e := range h.events {
		if e.Kind == kind && (kind != Closed || e.Reason == reason) {
			n++
		}
	}
	return n
}

// squatter is a ClientHello with a valid cookie for each address, from
// clients that pass the cookie exchange and vanish.
type squatter struct {
	template []byte
	gen      interface {
		Mint([]byte, netip.AddrPort) int
	}
	n int
}

func (h *harness) squatters() *squatter {
	s, _ := session.New(session.Client, session.Config{Suites: plainPSK, Now: func() time.Time { return h.now }})
	s.SetPeer(serverAddr)
	s.DoHandshake(nil)
	return &squatter{template: s.Outgoing()[0], gen: h.srv.cfg.Verifier.Generator()}
}

// hello returns a fresh hello (its own client random) with a cookie for a.
func (sq *squatter) hello(tb testing.TB, a netip.AddrPort) []byte {
	var c [32]byte
	n := sq.gen.Mint(c[:], a)
	d := dtlstest.WithCookie(tb, sq.template, c[:n])
	sq.n++
	binary.BigEndian.PutUint64(d[13+12+2:], uint64(sq.n)) // the client random
	return d
}

// heap returns the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func (h *harness) checkTables() {
	h.t.Helper()
	st := h.srv.Stats()
	n := 0
	for _, c := range h.srv.conns {
		n++
		if c.restart != nil {
			n++
		}
	}
	ip := 0
	for _, l := range h.srv.perIP {
		ip += l.n
	}
	withID := 0
	for id, c := range h.srv.cids {
		withID++
		if c.cid != id {
			h.t.Fatalf("connection ID %x indexes the session of %x", id, c.cid)
		}
	}
	if withID > st.Sessions {
		h.t.Fatalf("%d connection IDs for %d sessions", withID, st.Sessions)
	}
	if n != st.Sessions || st.HalfOpen+h.srv.established.n != st.Sessions || ip != st.HalfOpen || len(h.srv.timers) > st.Sessions {
		h.t.Fatalf("tables disagree: %d conns, stats %+v, %d established, %d per-IP, %d timers",
			n, st, h.srv.established.n, ip, len(h.srv.timers))
	}
}

func msg(i int) string { return fmt.Sprintf("message %d", i) }
