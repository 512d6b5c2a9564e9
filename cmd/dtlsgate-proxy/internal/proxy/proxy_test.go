// SPDX-License-Identifier: MIT

package proxy

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dtlsgate/dtlsgate/core/psk"
	"github.com/dtlsgate/dtlsgate/core/server"
	"github.com/dtlsgate/dtlsgate/core/session"
	"github.com/dtlsgate/dtlsgate/internal/dtlsnet"
)

const netLimit = 10 * time.Second // a step on loopback that takes longer has failed

// backend is a plain UDP service: it answers every datagram with its name,
// the sender's address and the datagram, and remembers who sent what.
type backend struct {
	name string
	conn *net.UDPConn
	mu   sync.Mutex
	from map[netip.AddrPort][]string
	done chan struct{}
}

func startBackend(t *testing.T, name string) *backend {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{name: name, conn: conn, from: map[netip.AddrPort][]string{}, done: make(chan struct{})}
	go func() {
		defer close(b.done)
		buf := make([]byte, 65535)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				continue
			}
			msg := string(buf[:n])
			b.mu.Lock()
			b.from[from] = append(b.from[from], msg)
			b.mu.Unlock()
			switch {
			case msg == "silence":
			case strings.HasPrefix(msg, "send "): // "send N": a reply of N bytes
				var size int
				fmt.Sscan(msg[5:], &size)
				conn.WriteToUDPAddrPort(make([]byte, size), from)
			default:
				conn.WriteToUDPAddrPort(fmt.Appendf(nil, "%s %v %s", name, from, msg), from)
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-b.done })
	return b
}

func (b *backend) addr() string { return b.conn.LocalAddr().String() }

// sources returns the addresses the backend heard from.
func (b *backend) sources() []netip.AddrPort {
	b.mu.Lock()
	defer b.mu.Unlock()
	var s []netip.AddrPort
	for a := range b.from {
		s = append(s, a)
	}
	return s
}

// recorder is an Observer that keeps everything.
type recorder struct {
	mu        sync.Mutex
	connected []Session
	closed    []string // "identity reason"
	moved     []netip.AddrPort
	datagrams map[Direction]int
	bytes     map[Direction]int
	drops     map[DropReason]int
	errs      []string
	handshake []time.Duration
}

func newRecorder() *recorder {
	return &recorder{datagrams: map[Direction]int{}, bytes: map[Direction]int{}, drops: map[DropReason]int{}}
}

func (r *recorder) Connected(s Session, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.connected = append(r.connected, s)
	r.handshake = append(r.handshake, d)
}

func (r *recorder) Closed(s Session, reason string, _ time.Duration, _, _ uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = append(r.closed, s.Identity+" "+reason)
}

func (r *recorder) Moved(s Session, from netip.AddrPort) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.moved = append(r.moved, from, s.Peer)
}

func (r *recorder) Datagram(d Direction, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.datagrams[d]++
	r.bytes[d] += n
}

func (r *recorder) Dropped(reason DropReason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.drops[reason]++
}

func (r *recorder) BackendError(op string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, op+": "+err.Error())
}

// waitFor polls cond (under the recorder's lock) until it holds, and
// shows what the recorder holds if it never does.
func (r *recorder) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(netLimit); ; time.Sleep(5 * time.Millisecond) {
		r.mu.Lock()
		ok := cond()
		if !ok && time.Now().After(end) {
			defer r.mu.Unlock()
			t.Fatalf("waited in vain for %s: connected %v, closed %v, moved %v, datagrams %v, bytes %v, drops %v, errors %v, handshakes %v",
				what, r.connected, r.closed, r.moved, r.datagrams, r.bytes, r.drops, r.errs, r.handshake)
		}
		r.mu.Unlock()
		if ok {
			return
		}
	}
}

var keys = map[string]string{"alice": "a11ce0a11ce0a11ce0", "bob": "b0bb0bb0bb0b", "carol": "ca201ca201"}

// writeFile writes lines to a file in dir and returns its path.
func writeFile(t *testing.T, dir, name string, lines ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func keyLines(ids ...string) []string {
	var l []string
	for _, id := range ids {
		l = append(l, id+":"+keys[id])
	}
	return l
}

type running struct {
	*Proxy
	obs  *recorder
	stop context.CancelFunc
	dir  string
	log  *syncBuffer
}

// start runs a proxy on loopback with two workers and the keys of ids;
// edit adjusts its Config first.
func start(t *testing.T, b *backend, ids []string, edit func(c *Config)) *running {
	t.Helper()
	dir := t.TempDir()
	logBuf := &syncBuffer{}
	cfg := Config{
		Listen:  "127.0.0.1:0",
		PSKFile: writeFile(t, dir, "keys.txt", keyLines(ids...)...),
		Logger:  slog.New(slog.NewTextHandler(logBuf, nil)),
		Serve:   server.ServeConfig{Workers: 2},
	}
	if b != nil {
		cfg.Backend = b.addr()
	}
	obs := newRecorder()
	cfg.Observer = obs
	if edit != nil {
		edit(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	if err := p.Start(ctx); err != nil {
		stop()
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(); p.Wait() })
	return &running{Proxy: p, obs: obs, stop: stop, dir: dir, log: logBuf}
}

// syncBuffer is a log destination for many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Buffer.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Buffer.String()
}

// dial connects a client with identity id (and its key unless key is
// given) to the proxy; cid asks for connection IDs.
func dial(t *testing.T, p *running, id string, cid bool, key ...string) (*dtlsnet.Conn, error) {
	t.Helper()
	return dialTo(t, p.Addr(), id, cid, key...)
}

// dialTo is dial to any address (one standing in for the proxy).
func dialTo(t *testing.T, addr netip.AddrPort, id string, cid bool, key ...string) (*dtlsnet.Conn, error) {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	k := keys[id]
	if len(key) > 0 {
		k = key[0]
	}
	raw, _ := hex.DecodeString(k)
	cfg := session.Config{PSK: func(a *psk.Authenticator) {
		a.SetIdentity([]byte(id))
		a.SetPreSharedKey(raw)
	}}
	if cid {
		cfg.ConnectionIDLength = session.EmptyConnectionID
	}
	return dtlsnet.Dial(conn, addr, cfg, time.Now().Add(netLimit))
}

func mustDial(t *testing.T, p *running, id string) *dtlsnet.Conn {
	t.Helper()
	c, err := dial(t, p, id, false)
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	return c
}

// ask sends msg through the proxy and returns the backend's answer.
func ask(t *testing.T, c *dtlsnet.Conn, msg string) string {
	t.Helper()
	if err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	got, err := c.Read(time.Now().Add(netLimit))
	if err != nil {
		t.Fatalf("reply to %q: %v", msg, err)
	}
	return string(got)
}

// closedByProxy reports whether the proxy ended c's session: the next
// read meets its close_notify.
func closedByProxy(c *dtlsnet.Conn) bool {
	_, err := c.Read(time.Now().Add(netLimit))
	return err != nil && c.Session.DtlsErrorString() != "" && !strings.Contains(err.Error(), "deadline")
}

// Each device gets a socket of its own towards the backend, so the backend
// sees one address per device and each reply reaches the device it answers.
func TestOneBackendSocketPerDevice(t *testing.T) {
	b := startBackend(t, "svc")
	p := start(t, b, []string{"alice", "bob"}, nil)
	a, bo := mustDial(t, p, "alice"), mustDial(t, p, "bob")
	ra, rb := ask(t, a, "from alice"), ask(t, bo, "from bob")
	ra2 := ask(t, a, "again")
	srcs := b.sources()
	if len(srcs) != 2 {
		t.Fatalf("the backend heard from %v, want two addresses", srcs)
	}
	// The backend's answer names the address it saw: alice's two
	// datagrams came from one, bob's from the other.
	var fa, fb string
	fmt.Sscanf(ra, "svc %s", &fa)
	fmt.Sscanf(rb, "svc %s", &fb)
	if !strings.HasSuffix(ra, " from alice") || !strings.HasSuffix(rb, " from bob") ||
		ra2 != "svc "+fa+" again" || fa == fb {
		t.Fatalf("replies %q, %q, %q", ra, rb, ra2)
	}
	p.obs.waitFor(t, "two connects, six datagrams, their bytes", func() bool {
		for _, hs := range p.obs.handshake {
			if hs <= 0 || hs > netLimit {
				return false
			}
		}
		return len(p.obs.connected) == 2 && p.obs.datagrams[ToBackend] == 3 && p.obs.datagrams[FromBackend] == 3 &&
			p.obs.bytes[ToBackend] == len("from alice")+len("from bob")+len("again") &&
			p.obs.bytes[FromBackend] == len(ra)+len(rb)+len(ra2)
	})
	a.Close()
	p.obs.waitFor(t, "alice's close", func() bool { return len(p.obs.closed) == 1 && p.obs.closed[0] == "alice ClosedByPeer" })
	if ask(t, bo, "still here") == "" {
		t.Fatal("bob lost his session")
	}
	log := p.log.String()
	for _, want := range []string{"msg=connect identity=alice peer=" + a.UDP.LocalAddr().String() + " cipher=PSK-AES128-GCM-SHA256",
		"msg=close identity=alice", "reason=ClosedByPeer"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
}

// The route file sends identities to their own backends; the others go to
// the default backend, or are refused with RefuseUnrouted.
func TestRoutes(t *testing.T) {
	def, one, two := startBackend(t, "default"), startBackend(t, "one"), startBackend(t, "two")
	for _, refuse := range []bool{false, true} {
		t.Run(fmt.Sprint("refuse=", refuse), func(t *testing.T) {
			p := start(t, def, []string{"alice", "bob", "carol"}, func(c *Config) {
				c.RouteFile = writeFile(t, t.TempDir(), "routes", "# who goes where",
					"alice "+one.addr(), "", "bob\t"+two.addr())
				c.RefuseUnrouted = refuse
			})
			for id, want := range map[string]string{"alice": "one", "bob": "two"} {
				if got := ask(t, mustDial(t, p, id), "hi"); !strings.HasPrefix(got, want+" ") {
					t.Errorf("%s reached %q, want backend %s", id, got, want)
				}
			}
			c, err := dial(t, p, "carol", false)
			if refuse {
				if err == nil {
					t.Fatal("carol, without a route, got in")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ask(t, c, "hi"); !strings.HasPrefix(got, "default ") {
				t.Errorf("carol reached %q, want the default backend", got)
			}
		})
	}
}

// Without a default backend, only routed identities get in.
func TestNoDefaultBackendRefusesUnrouted(t *testing.T) {
	one := startBackend(t, "one")
	p := start(t, nil, []string{"alice", "bob"}, func(c *Config) {
		c.RouteFile = writeFile(t, t.TempDir(), "routes", "alice "+one.addr())
	})
	if got := ask(t, mustDial(t, p, "alice"), "hi"); !strings.HasPrefix(got, "one ") {
		t.Fatalf("alice reached %q", got)
	}
	if _, err := dial(t, p, "bob", false); err == nil {
		t.Fatal("bob, without a route or a default backend, got in")
	}
}

// Reload: a new identity gets in, a removed one's session ends, a changed
// key ends its sessions too, the others go on.
func TestReload(t *testing.T) {
	b := startBackend(t, "svc")
	p := start(t, b, []string{"alice", "bob", "carol"}, nil)
	a, bo, ca := mustDial(t, p, "alice"), mustDial(t, p, "bob"), mustDial(t, p, "carol")
	for _, c := range []*dtlsnet.Conn{a, bo, ca} {
		ask(t, c, "before")
	}
	keys["dave"] = "da7eda7e"
	defer delete(keys, "dave")
	// bob is gone, carol has a new key, dave is new.
	writeFile(t, p.dir, "keys.txt", "alice:"+keys["alice"], "carol:0123456789", "dave:"+keys["dave"])
	if err := p.Reload(); err != nil {
		t.Fatal(err)
	}
	if !closedByProxy(bo) || !closedByProxy(ca) {
		t.Fatal("bob's or carol's session went on after the reload")
	}
	if got := ask(t, a, "after"); !strings.HasSuffix(got, " after") {
		t.Fatalf("alice: %q", got)
	}
	ask(t, mustDial(t, p, "dave"), "new")
	if _, err := dial(t, p, "bob", false); err == nil {
		t.Fatal("bob got in after his key was removed")
	}
	if _, err := dial(t, p, "carol", false, "0123456789"); err != nil {
		t.Fatalf("carol with her new key: %v", err)
	}
	p.obs.waitFor(t, "two closes", func() bool { return len(p.obs.closed) == 2 })
	if !strings.Contains(p.log.String(), "msg=reloaded keys=3 routes=0 sessions_ended=2") {
		t.Fatalf("log:\n%s", p.log)
	}
}

// A reload that meets a broken file changes nothing.
func TestReloadBrokenFileKeepsTheOld(t *testing.T) {
	b := startBackend(t, "svc")
	p := start(t, b, []string{"alice"}, nil)
	a := mustDial(t, p, "alice")
	writeFile(t, p.dir, "keys.txt", "alice:"+keys["alice"], "bob:nothex")
	err := p.Reload()
	if err == nil || !strings.Contains(err.Error(), "keys.txt:2: ") {
		t.Fatalf("reload of a broken file: %v", err)
	}
	ask(t, a, "still")
	ask(t, mustDial(t, p, "alice"), "new")
}

// The idle timeout ends the session and closes its backend socket.
func TestIdleTimeoutClosesBackendSocket(t *testing.T) {
	b := startBackend(t, "svc")
	p := start(t, b, []string{"alice"}, func(c *Config) { c.Serve.Server.IdleTimeout = 300 * time.Millisecond })
	a := mustDial(t, p, "alice")
	ask(t, a, "hello")
	local := b.sources()[0]
	if !closedByProxy(a) {
		t.Fatal("the idle session was not closed")
	}
	p.obs.waitFor(t, "the idle close", func() bool { return len(p.obs.closed) == 1 && p.obs.closed[0] == "alice ClosedIdle" })
	// Its port is free again: the socket is closed.
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(local))
	if err != nil {
		t.Fatalf("the backend socket %v is still open: %v", local, err)
	}
	c.Close()
}

// A device with a connection ID (its first byte the node id) that comes
// back from a new address keeps its session and its backend socket;
// replies follow it.
func TestMovedRepliesFollow(t *testing.T) {
	b := startBackend(t, "svc")
	p := start(t, b, []string{"alice"}, func(c *Config) { c.Serve.Server.NodeID = 7 })
	a, err := dial(t, p, "alice", true)
	if err != nil {
		t.Fatal(err)
	}
	first := ask(t, a, "one")
	old := a.UDP
	fresh, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fresh.Close() })
	a.UDP = fresh
	second := ask(t, a, "two")
	old.Close()
	var s1, s2 string
	fmt.Sscanf(first, "svc %s", &s1)
	fmt.Sscanf(second, "svc %s", &s2)
	if s1 != s2 || len(b.sources()) != 1 {
		t.Fatalf("the backend saw %q then %q: want one socket", first, second)
	}
	p.obs.waitFor(t, "the move to the new socket, an 8-byte ID from node 7", func() bool {
		id := p.obs.connected[0].ConnectionID
		return len(p.obs.moved) == 2 && p.obs.moved[1] == fresh.LocalAddr().(*net.UDPAddr).AddrPort() && len(id) == 8 && id[0] == 7
	})
}

// Stopping sends close_notify to every device and closes every backend
// socket.
func TestStopSendsCloseNotify(t *testing.T) {
	b := startBackend(t, "svc")
	p := start(t, b, []string{"alice", "bob"}, nil)
	a, bo := mustDial(t, p, "alice"), mustDial(t, p, "bob")
	ask(t, a, "x")
	ask(t, bo, "y")
	p.stop()
	p.Wait()
	if !closedByProxy(a) || !closedByProxy(bo) {
		t.Fatal("no close_notify")
	}
	if len(p.obs.closed) != 2 || !strings.HasSuffix(p.obs.closed[0], " ClosedShutdown") {
		t.Fatalf("closed %v", p.obs.closed)
	}
	n := 0
	p.flows.Range(func(any, any) bool { n++; return true })
	if n != 0 {
		t.Fatalf("%d flows left", n)
	}
}

// What the backend sends that DTLS cannot carry is dropped and counted;
// a backend that is not there is a backend error.
func TestBackendTroubles(t *testing.T) {
	b := startBackend(t, "svc")
	p := start(t, b, []string{"alice"}, nil)
	a := mustDial(t, p, "alice")
	if err := a.Write([]byte("send 20000")); err != nil {
		t.Fatal(err)
	}
	p.obs.waitFor(t, "the drop", func() bool { return p.obs.drops[DropTooLarge] == 1 })
	if got := ask(t, a, "send 16384"); len(got) != 16384 {
		t.Fatalf("a full record: %d bytes", len(got))
	}

	gone := startBackend(t, "gone")
	addr := gone.addr()
	gone.conn.Close()
	<-gone.done
	p2 := start(t, gone, []string{"alice"}, func(c *Config) { c.Backend = addr })
	a2 := mustDial(t, p2, "alice")
	for i := 0; i < 3; i++ {
		if err := a2.Write([]byte("anyone?")); err != nil {
			t.Fatal(err)
		}
	}
	p2.obs.waitFor(t, "a backend error: connection refused", func() bool {
		return len(p2.obs.errs) > 0 && strings.Contains(p2.obs.errs[0], "connection refused")
	})
}

// crossCookie asks mint for a cookie and sends the ClientHello with it to
// verify, from a new client; it returns the handshake type of verify's
// answer: 2, a ServerHello (the cookie held), or 3, a HelloVerifyRequest.
func crossCookie(t *testing.T, mint, verify netip.AddrPort) byte {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s, _ := session.New(session.Client, session.Config{})
	s.SetPeer(mint)
	s.DoHandshake(nil)
	send := func(to netip.AddrPort, d []byte) ([]byte, byte) {
		conn.WriteToUDPAddrPort(d, to)
		conn.SetReadDeadline(time.Now().Add(netLimit))
		buf := make([]byte, 2048)
		n, _, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil || n < 14 {
			t.Fatalf("no answer from %v: %v", to, err)
		}
		return buf[:n], buf[13]
	}
	hvr, typ := send(mint, s.Outgoing()[0])
	if typ != 3 {
		t.Fatalf("answer type %d, want a HelloVerifyRequest", typ)
	}
	s.DoHandshake(hvr)
	_, typ = send(verify, s.Outgoing()[0])
	return typ
}

// Nodes with the same fleet key accept each other's cookies; a node with
// another key does not. A reload with the same key keeps the cookies in
// flight good; one with a new key moves to it.
func TestFleetKey(t *testing.T) {
	b := startBackend(t, "svc")
	dir := t.TempDir()
	k1 := writeFile(t, dir, "k1", "# fleet", "00112233445566778899aabbccddeeff", "0011")
	k2 := writeFile(t, dir, "k2", "ffeeddccbbaa99887766554433221100")
	withKey := func(path string) func(*Config) { return func(c *Config) { c.FleetKeyFile = path } }
	n1, n2, other := start(t, b, []string{"alice"}, withKey(k1)), start(t, b, []string{"alice"}, withKey(k1)), start(t, b, []string{"alice"}, withKey(k2))
	if typ := crossCookie(t, n1.Addr(), n2.Addr()); typ != 2 {
		t.Fatalf("a node with the same fleet key answered type %d, want a ServerHello", typ)
	}
	if typ := crossCookie(t, n1.Addr(), other.Addr()); typ != 3 {
		t.Fatalf("a node with another fleet key took the cookie (answer type %d)", typ)
	}
	if err := n2.Reload(); err != nil {
		t.Fatal(err)
	}
	if typ := crossCookie(t, n1.Addr(), n2.Addr()); typ != 2 {
		t.Fatalf("after a reload with the same key: answer type %d", typ)
	}
	writeFile(t, dir, "k1", "ffeeddccbbaa99887766554433221100")
	if err := n2.Reload(); err != nil {
		t.Fatal(err)
	}
	if typ := crossCookie(t, n1.Addr(), n2.Addr()); typ != 3 {
		t.Fatalf("after a reload with a new key, the old key's cookie held (type %d)", typ)
	}
	if typ := crossCookie(t, other.Addr(), n2.Addr()); typ != 2 {
		t.Fatalf("after a reload with a new key, that key's cookie: type %d", typ)
	}
}

func TestNewRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "keys", "alice:00ff")
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.PSKFile = filepath.Join(dir, "none") }, "no such file"},
		{func(c *Config) { c.PSKFile = writeFile(t, dir, "bad", "alice:00ff", "bob") }, "bad:2: no ':'"},
		{func(c *Config) { c.RouteFile = writeFile(t, dir, "r1", "alice") }, "r1:1: want `identity host:port`"},
		{func(c *Config) { c.RouteFile = writeFile(t, dir, "r2", "a 127.0.0.1:1", "a 127.0.0.1:2") }, "r2:2: identity \"a\" listed twice"},
		{func(c *Config) { c.RouteFile = writeFile(t, dir, "r3", "a 127.0.0.1:0") }, "r3:1: backend \"127.0.0.1:0\": need a host and a port"},
		{func(c *Config) { c.Backend = "nowhere.invalid:1" }, "backend \"nowhere.invalid:1\""},
		{func(c *Config) { c.FleetKeyFile = writeFile(t, dir, "f1", "0011") }, "2 bytes, at least 16"},
		{func(c *Config) { c.FleetKeyFile = writeFile(t, dir, "f2", "xyz") }, "not hexadecimal"},
		{func(c *Config) { c.Backend = "" }, "no backend"},
	} {
		cfg := Config{Listen: "127.0.0.1:0", PSKFile: good, Backend: "127.0.0.1:9"}
		tc.edit(&cfg)
		_, err := New(cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one with %q", err, tc.want)
		}
	}
}

var _ io.Writer = (*syncBuffer)(nil)
