// SPDX-License-Identifier: MIT

package server

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/dtlsgate/dtlsgate/core/cookie"
	"github.com/dtlsgate/dtlsgate/core/dtlserror"
	"github.com/dtlsgate/dtlsgate/core/session"
	"github.com/dtlsgate/dtlsgate/core/verifier"
	"github.com/dtlsgate/dtlsgate/internal/dtlstest"
)

func TestConnectEchoClose(t *testing.T) {
	for _, suite := range []uint16{session.TLS_PSK_WITH_AES_128_GCM_SHA256, session.TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256} {
		h := newHarness(t, Config{})
		c := h.dial(addr(1, false), []uint16{suite})
		h.exchange(8)
		if h.countEvents(Connected, 0) != 1 {
			t.Fatalf("events %+v", h.events)
		}
		e := h.events[0]
		if e.Peer != c.addr || string(e.Identity) != "alice" || e.Cipher.ID != suite {
			t.Errorf("Connected %+v", e)
		}
		h.echoes(c, "hello")
		c.s.Shutdown()
		h.fromClient(c)
		h.exchange(2)
		if h.countEvents(Closed, ClosedByPeer) != 1 || h.srv.Stats().Sessions != 0 {
			t.Fatalf("close_notify: events %+v, stats %+v", h.events, h.srv.Stats())
		}
		h.checkTables()
	}
}

func TestTwoHundredClients(t *testing.T) {
	h := newHarness(t, Config{})
	var cs []*client
	for i := range 200 {
		cs = append(cs, h.dial(addr(i, false), nil))
	}
	if r := h.exchange(20); r > 8 {
		t.Errorf("200 handshakes took %d rounds", r)
	}
	for i, c := range cs {
		if !c.s.IsConnectionEncrypted() {
			t.Fatalf("client %d: %s", i, c.s.DtlsErrorString())
		}
		c.s.WriteDatagramEncrypted([]byte(msg(i)))
		h.fromClient(c)
	}
	h.exchange(4)
	for i, c := range cs {
		if len(c.got) != 1 || string(c.got[0]) != msg(i) {
			t.Fatalf("client %d got %q", i, c.got)
		}
	}
	if st := h.srv.Stats(); st.Sessions != 200 || st.HandshakesCompleted != 200 || st.HalfOpen != 0 {
		t.Errorf("stats %+v", st)
	}
	h.checkTables()
}

func TestWrongKeyRefused(t *testing.T) {
	h := newHarness(t, Config{})
	c := h.dialWith(addr(1, false), plainPSK, "mallory", testKey)
	h.exchange(8)
	if c.s.IsConnectionEncrypted() || h.srv.Stats().HandshakesFailed != 1 || h.srv.Stats().Sessions != 0 {
		t.Fatalf("unknown identity: client %v, stats %+v", c.s.HandshakeState(), h.srv.Stats())
	}
	if len(h.events) != 0 {
		t.Errorf("events for a failed handshake: %+v", h.events)
	}
}

// A ClientHello without a valid cookie gets a HelloVerifyRequest and no
// state, however many arrive: a million (a tenth under the race detector,
// which `make test-go` runs first; the Alloc run without it does them all).
func TestSpoofedHellosAllocateNothing(t *testing.T) {
	h := newHarness(t, Config{})
	established := h.connect(addr(0, false))
	sq := h.squatters()
	n := 1_000_000
	if dtlstest.RaceEnabled || testing.Short() {
		n = 100_000
	}
	before, verifies := heapInUse(), h.srv.Stats().HelloVerifies
	out := make([]Datagram, 0, 1)
	for i := range n {
		from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), uint16(1+i%65535))
		out = h.srv.Input(h.now, from, sq.template, out[:0])
		if len(out) != 1 || len(out[0].Data) > len(sq.template) {
			t.Fatalf("hello %d: %d replies", i, len(out))
		}
	}
	grew := int64(heapInUse()) - int64(before)
	st := h.srv.Stats()
	if st.Sessions != 1 || st.HalfOpen != 0 || len(h.srv.conns) != 1 || len(h.srv.perIP) != 0 || st.HelloVerifies-verifies != uint64(n) {
		t.Fatalf("state after %d spoofed hellos: %+v", n, st)
	}
	if grew > 64<<10 {
		t.Errorf("heap grew by %d bytes over %d spoofed hellos", grew, n)
	}
	h.echoes(established, "still here")
	if !dtlstest.RaceEnabled {
		from := addr(3, false)
		if a := testing.AllocsPerRun(1000, func() { out = h.srv.Input(h.now, from, sq.template, out[:0]) }); a != 0 {
			t.Errorf("%v allocations per spoofed hello", a)
		}
	}
}

func TestHalfOpenLimitEvictsOldest(t *testing.T) {
	h := newHarness(t, Config{MaxHalfOpen: 50})
	old := h.connect(addr(0, false))
	sq := h.squatters()
	for i := 1; i <= 200; i++ {
		a := addr(i, false)
		h.input(a, sq.hello(t, a))
	}
	st := h.srv.Stats()
	if st.HalfOpen != 50 || st.EvictedHalfOpen != 150 || st.Sessions != 51 {
		t.Fatalf("stats %+v", st)
	}
	// The survivors are the newest.
	if c := h.srv.conns[addr(151, false)]; c == nil || c.open {
		t.Error("the newest half-open handshake was evicted")
	}
	if h.srv.conns[addr(150, false)] != nil {
		t.Error("an old half-open handshake survived")
	}
	h.checkTables()
	h.echoes(old, "established survives")
	h.connect(addr(500, false))
	h.checkTables()
}

func TestHalfOpenPerIPLimit(t *testing.T) {
	h := newHarness(t, Config{})
	sq := h.squatters()
	for i := range 20 {
		a := addr(i, true)
		h.input(a, sq.hello(t, a))
	}
	other := addr(77, false)
	h.input(other, sq.hello(t, other))
	st := h.srv.Stats()
	if st.HalfOpen != 9 || st.EvictedHalfOpenPerIP != 12 || h.srv.perIP[addr(0, true).Addr()].n != 8 {
		t.Fatalf("stats %+v", st)
	}
	// A real client behind the same address still gets in: it evicts a
	// squatter and finishes before the squatters come back.
	c := h.connect(addr(100, true))
	h.echoes(c, "behind the same address")
	h.checkTables()

	// IPv6: one /64 counts as one source.
	h = newHarness(t, Config{})
	sq = h.squatters()
	for i := range 20 {
		a := netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)}), 5000)
		h.input(a, sq.hello(t, a))
	}
	other6 := netip.MustParseAddrPort("[2001:db8:0:1::1]:5000")
	h.input(other6, sq.hello(t, other6))
	if st := h.srv.Stats(); st.HalfOpen != 9 || st.EvictedHalfOpenPerIP != 12 {
		t.Fatalf("IPv6 stats %+v", st)
	}
	h.checkTables()
}

func TestMaxSessions(t *testing.T) {
	h := newHarness(t, Config{MaxSessions: 10})
	cs := h.connectMany(10)
	// All active: the newcomer is refused, nobody is evicted.
	late := h.dial(addr(10, false), plainPSK)
	h.exchange(8)
	if late.s.IsConnectionEncrypted() || h.srv.Stats().RefusedFull == 0 {
		t.Fatalf("a newcomer got in past MaxSessions: %+v", h.srv.Stats())
	}
	for i, c := range cs {
		h.echoes(c, msg(i))
	}
	// Later, all but cs[3] have been quiet for IdleAfter: the least
	// recently active idle session (cs[0]) makes room.
	h.now = h.now.Add(DefaultIdleAfter)
	h.echoes(cs[3], "keep me")
	delete(h.clients, late.addr)
	c := h.connect(addr(11, false))
	h.echoes(c, "in")
	st := h.srv.Stats()
	if st.EvictedIdle != 1 || h.countEvents(Closed, ClosedEvicted) != 1 || h.events[len(h.events)-3].Peer != cs[0].addr {
		t.Fatalf("stats %+v, events %+v", st, h.events)
	}
	if cs[0].s.IsConnectionEncrypted() {
		t.Error("the evicted client got no close_notify")
	}
	h.echoes(cs[3], "still active")
	h.checkTables()
}

func TestIdleTimeout(t *testing.T) {
	h := newHarness(t, Config{IdleTimeout: 5 * time.Minute})
	quiet := h.connect(addr(1, false))
	busy := h.connect(addr(2, false))
	for range 9 {
		h.advance(time.Minute)
		h.echoes(busy, "tick")
	}
	if quiet.s.IsConnectionEncrypted() || quiet.s.DtlsError() != dtlserror.RemoteClosedConnectionError {
		t.Fatalf("quiet client: %v %s", quiet.s.IsConnectionEncrypted(), quiet.s.DtlsErrorString())
	}
	if st := h.srv.Stats(); st.IdleTimeouts != 1 || st.Sessions != 1 || h.countEvents(Closed, ClosedIdle) != 1 {
		t.Fatalf("stats %+v", st)
	}
	// No idle timeout at all.
	h = newHarness(t, Config{IdleTimeout: NoIdleTimeout})
	c := h.connect(addr(1, false))
	if _, ok := h.srv.NextDeadline(); ok {
		t.Error("a timer runs for an established session without idle timeout")
	}
	h.advance(48 * time.Hour)
	h.echoes(c, "still here")
}

func TestHandshakeDeadline(t *testing.T) {
	h := newHarness(t, Config{Session: session.Config{HandshakeDeadline: 10 * time.Second}})
	established := h.connect(addr(100, false))
	sq := h.squatters()
	for i := range 5 {
		a := addr(i, false)
		h.input(a, sq.hello(t, a))
		h.advance(time.Second)
	}
	// Retransmissions, then each handshake ends at its own deadline, served
	// in order.
	for h.srv.Stats().HalfOpen > 0 {
		at, ok := h.srv.NextDeadline()
		if !ok {
			t.Fatal("half-open handshakes without a timer")
		}
		h.advance(at.Sub(h.now))
	}
	if st := h.srv.Stats(); st.HandshakeTimeouts != 5 || st.Sessions != 1 {
		t.Fatalf("stats %+v", st)
	}
	if h.sent <= 3+5+5 {
		t.Errorf("%d datagrams sent: no retransmission", h.sent)
	}
	h.echoes(established, "unaffected")
	h.checkTables()
}

// Under MaxSessions with no idle session, a half-open handshake makes room
// before a newcomer is refused.
func TestMaxSessionsEvictsHalfOpenFirst(t *testing.T) {
	h := newHarness(t, Config{MaxSessions: 4})
	cs := h.connectMany(3)
	sq := h.squatters()
	h.squat(sq, 10, false)
	c := h.connect(addr(11, false))
	if st := h.srv.Stats(); st.EvictedForSession != 1 || st.Sessions != 4 || st.HalfOpen != 0 {
		t.Fatalf("stats %+v", st)
	}
	for i, c := range append(cs, c) {
		h.echoes(c, msg(i))
	}
	h.checkTables()
}

func TestMaxBufferedBytes(t *testing.T) {
	h := newHarness(t, Config{MaxBufferedBytes: 1000})
	h.echo = false
	c := h.connect(addr(1, false))
	big := bytes.Repeat([]byte{'x'}, 400)
	for range 3 {
		c.s.WriteDatagramEncrypted(big)
		h.fromClient(c)
	}
	// Delivered one by one, with the application not taking events.
	for _, p := range h.queue {
		h.out = h.srv.Input(h.now, p.from, p.data, h.out[:0])
	}
	h.queue = nil
	if st := h.srv.Stats(); st.DroppedBuffered != 1 {
		t.Fatalf("stats %+v", st)
	}
	evs := h.srv.Events(nil)
	if len(evs) != 2 {
		t.Fatalf("%d events", len(evs))
	}
	// Taken: room again.
	c.s.WriteDatagramEncrypted(big)
	h.fromClient(c)
	h.exchange(1)
	if h.countEvents(Data, 0) != 1 {
		t.Errorf("data after the application caught up: %+v", h.events)
	}
}

func TestGarbageToEstablished(t *testing.T) {
	h := newHarness(t, Config{})
	c := h.connect(addr(1, false))
	h.echoes(c, "before")
	garbage := [][]byte{
		{0},
		bytes.Repeat([]byte{0xff}, 100),
		{23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 5, 1, 2, 3, 4, 5},     // app data, epoch 1, bad tag
		{21, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 2, 2, 40},             // "fatal alert" unauthenticated
		{21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0, 2, 1, 0},              // close_notify in epoch 0
		{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0, 12, 1, 0, 0, 0, 0, 0}, // truncated handshake
	}
	active := h.srv.conns[c.addr].active
	h.now = h.now.Add(time.Minute)
	for i := range 1000 {
		h.input(c.addr, garbage[i%len(garbage)])
	}
	if len(h.events) != 2 || h.srv.Stats().Sessions != 1 {
		t.Fatalf("garbage changed something: %+v", h.events[1:])
	}
	// Forged records do not make a session look active (and so safe from
	// eviction).
	if !h.srv.conns[c.addr].active.Equal(active) {
		t.Error("garbage counted as activity")
	}
	h.echoes(c, "after")
}

func TestShutdownSendsCloseNotify(t *testing.T) {
	h := newHarness(t, Config{})
	cs := h.connectMany(5)
	sq := h.squatters()
	h.input(addr(9, false), sq.hello(t, addr(9, false)))
	h.out = h.srv.Shutdown(h.out[:0])
	h.afterServer()
	for i, c := range cs {
		if c.s.IsConnectionEncrypted() || c.s.DtlsError() != dtlserror.RemoteClosedConnectionError {
			t.Errorf("client %d: %v %s", i, c.s.IsConnectionEncrypted(), c.s.DtlsErrorString())
		}
	}
	if h.countEvents(Closed, ClosedShutdown) != 5 || h.srv.Stats().Sessions != 0 || len(h.srv.timers) != 0 {
		t.Fatalf("events %+v stats %+v", h.events, h.srv.Stats())
	}
	h.checkTables()
}

func TestCloseAndSendErrors(t *testing.T) {
	h := newHarness(t, Config{})
	c := h.connect(addr(1, false))
	if _, err := h.srv.Send(addr(2, false), []byte("x"), nil); !errors.Is(err, ErrNoSession) {
		t.Errorf("Send to a stranger: %v", err)
	}
	if _, err := h.srv.Send(c.addr, nil, nil); err == nil {
		t.Error("an empty Send was taken")
	}
	var err error
	h.out, err = h.srv.Close(c.addr, h.out[:0])
	if err != nil {
		t.Fatal(err)
	}
	h.afterServer()
	if c.s.IsConnectionEncrypted() || h.countEvents(Closed, ClosedByApp) != 1 {
		t.Fatalf("Close: client %v, events %+v", c.s.IsConnectionEncrypted(), h.events)
	}
	if _, err := h.srv.Close(c.addr, nil); !errors.Is(err, ErrNoSession) {
		t.Errorf("second Close: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{MaxSessions: -1}, {MaxHalfOpen: -1}, {MaxHalfOpenPerIP: -2}, {MaxBufferedBytes: -1},
		{IdleTimeout: -5}, {IdleAfter: -1}, {Session: session.Config{MTU: 10}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%+v was taken", cfg)
		}
	}
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Config()
	if c.MaxSessions != 100000 || c.MaxHalfOpen != 1000 || c.MaxHalfOpenPerIP != 8 || c.IdleTimeout != 10*time.Minute ||
		c.Session.HandshakeDeadline != 30*time.Second || c.MaxBufferedBytes != DefaultMaxBufferedBytes {
		t.Errorf("defaults %+v", c)
	}
}

// Servers sharing a verifier (Serve's workers), or with verifiers in fleet
// mode (nodes behind one load balancer), take each other's cookies; a
// server with a secret of its own does not.
func TestCookiesAcrossServers(t *testing.T) {
	own := func(secret string) *verifier.ClientVerifier {
		v := verifier.New()
		v.SetCookieGeneratorParameters(cookie.Parameters{Hash: cookie.Sha256, Secret: []byte(secret)})
		return v
	}
	from := addr(1, false)
	started := func(minter, checker *harness) bool {
		checker.now = minter.now
		checker.input(from, minter.squatters().hello(t, from))
		return checker.srv.Stats().HandshakesStarted == 1
	}
	shared := own("worker secret")
	a, b := newHarness(t, Config{Verifier: shared}), newHarness(t, Config{Verifier: shared})
	if !started(a, b) {
		t.Error("a cookie of a shared verifier was refused")
	}
	if started(a, newHarness(t, Config{Verifier: own("another secret")})) {
		t.Error("a cookie under another secret was taken")
	}
	fleet := cookie.FleetConfig{MasterKey: []byte("sixteen byte key"), Window: time.Minute}
	var nodes []*harness
	for _, secret := range []string{"node 1", "node 2"} {
		n := newHarness(t, Config{Verifier: own(secret)})
		if err := n.srv.cfg.Verifier.Generator().SetFleet(fleet); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
	}
	if !started(nodes[0], nodes[1]) {
		t.Error("a cookie of another fleet node was refused")
	}
}
