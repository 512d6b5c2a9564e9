// SPDX-License-Identifier: MIT

package server

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dtlsgate/dtlsgate/core/psk"
	"github.com/dtlsgate/dtlsgate/core/session"
	"github.com/dtlsgate/dtlsgate/internal/dtlsnet"
	"github.com/dtlsgate/dtlsgate/internal/dtlstest"
)

// Generous: the race detector on two busy cores; a pass needs a fraction.
const netLimit = 20 * time.Second

// listen starts an endpoint with the test key for alice; it is stopped,
// and waited for, when the test ends.
func listen(t *testing.T, address string, cfg ServeConfig) (*Endpoint, context.CancelFunc) {
	t.Helper()
	if cfg.Server.Keys == nil {
		cfg.Server.Keys = NewKeyTable()
		cfg.Server.Keys.Set([]byte("alice"), testKey)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e, err := Listen(ctx, address, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		e.Wait()
	})
	return e, cancel
}

// echoHandler answers every Data event with the same bytes.
func echoHandler(w *Worker, e Event) {
	if e.Kind == Data {
		w.Send(e.Peer, e.Data)
	}
}

// dial connects our client engine from local to the endpoint; safe from
// any goroutine.
func dial(local netip.Addr, to netip.AddrPort, suites []uint16) (*dtlsnet.Conn, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(local, 0)))
	if err != nil {
		return nil, err
	}
	c, err := dtlsnet.Dial(conn, to, session.Config{Suites: suites, PSK: func(a *psk.Authenticator) {
		a.SetIdentity([]byte("alice"))
		a.SetPreSharedKey(testKey)
	}}, time.Now().Add(netLimit))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("dial %v from %v: %v", to, local, err)
	}
	return c, nil
}

func dialUDP(t *testing.T, local netip.Addr, to netip.AddrPort, suites []uint16) *dtlsnet.Conn {
	t.Helper()
	c, err := dial(local, to, suites)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.UDP.Close() })
	return c
}

// echo sends msg and reads it back.
func echo(c *dtlsnet.Conn, msg string) error {
	if err := c.Write([]byte(msg)); err != nil {
		return err
	}
	got, err := c.Read(time.Now().Add(netLimit))
	if err == nil && string(got) != msg {
		err = fmt.Errorf("echo %q of %q", got, msg)
	}
	return err
}

func roundTrip(t *testing.T, c *dtlsnet.Conn, msg string) {
	t.Helper()
	if err := echo(c, msg); err != nil {
		t.Fatal(err)
	}
}

var (
	loopback4 = netip.MustParseAddr("127.0.0.1")
	loopback6 = netip.MustParseAddr("::1")
)

// One dual-stack endpoint, two workers: IPv4 and IPv6 clients get in.
func TestServeDualStack(t *testing.T) {
	e, _ := listen(t, "[::]:0", ServeConfig{Workers: 2, Handler: echoHandler})
	port := e.Addr().Port()
	roundTrip(t, dialUDP(t, loopback4, netip.AddrPortFrom(loopback4, port), nil), "over IPv4")
	roundTrip(t, dialUDP(t, loopback6, netip.AddrPortFrom(loopback6, port), nil), "over IPv6")
	if st := e.Stats(); st.HandshakesCompleted != 2 || st.Sessions != 2 {
		t.Errorf("stats %+v", st)
	}
}

// Two hundred clients at once, each from its own loopback address (one
// address would meet MaxHalfOpenPerIP).
// A second endpoint on a port in use fails as a plain bind does, though
// its sockets use SO_REUSEPORT: it must not silently share the clients.
func TestServePortInUse(t *testing.T) {
	for _, workers := range []int{1, 2} {
		e, _ := listen(t, "127.0.0.1:0", ServeConfig{Workers: workers})
		_, err := Listen(context.Background(), e.Addr().String(), ServeConfig{Workers: workers})
		if err == nil || !strings.Contains(err.Error(), "address already in use") {
			t.Errorf("%d worker(s): a second Listen on %v: %v, want address already in use", workers, e.Addr(), err)
		}
	}
}

func TestServeTwoHundredClients(t *testing.T) {
	e, _ := listen(t, "127.0.0.1:0", ServeConfig{Workers: 2, Handler: echoHandler})
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			c, err := dial(netip.AddrFrom4([4]byte{127, 0, 1, byte(i)}), e.Addr(), plainPSK)
			if err == nil {
				err = echo(c, msg(i))
				c.UDP.Close()
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if st := e.Stats(); st.HandshakesCompleted != 200 {
		t.Errorf("stats %+v", st)
	}
}

// Without a Handler, events come through a channel and the application
// answers with the Endpoint's methods from its own goroutine.
func TestServeEventsChannel(t *testing.T) {
	e, _ := listen(t, "127.0.0.1:0", ServeConfig{Workers: 2})
	c := dialUDP(t, loopback4, e.Addr(), nil)
	ev := next(t, e)
	if ev.Kind != Connected || string(ev.Identity) != "alice" {
		t.Fatalf("%+v", ev)
	}
	if err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if ev = next(t, e); ev.Kind != Data || string(ev.Data) != "ping" {
		t.Fatalf("%+v", ev)
	}
	if err := e.Send(ev.Peer, []byte("pong")); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Read(time.Now().Add(netLimit)); err != nil || string(got) != "pong" {
		t.Fatalf("%q %v", got, err)
	}
	if err := e.Send(netip.MustParseAddrPort("127.0.0.1:9"), []byte("x")); !errors.Is(err, ErrNoSession) {
		t.Errorf("Send to a stranger: %v", err)
	}
	if err := e.Close(ev.Peer); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(time.Now().Add(netLimit)); err == nil || !strings.Contains(err.Error(), "shutdown") {
		t.Errorf("after Close the client read %v", err)
	}
	if ev = next(t, e); ev.Kind != Closed || ev.Reason != ClosedByApp {
		t.Fatalf("%+v", ev)
	}
}

func next(t *testing.T, e *Endpoint) Event {
	t.Helper()
	select {
	case ev, ok := <-e.Events():
		if !ok {
			t.Fatal("events closed")
		}
		return ev
	case <-time.After(netLimit):
		t.Fatal("no event")
	}
	return Event{}
}

// Cancelling the context sends close_notify to every client, closes the
// events channel and stops every goroutine.
func TestServeStopsWithCloseNotify(t *testing.T) {
	e, cancel := listen(t, "127.0.0.1:0", ServeConfig{Workers: 2})
	var cs []*dtlsnet.Conn
	for range 3 {
		cs = append(cs, dialUDP(t, loopback4, e.Addr(), plainPSK))
		next(t, e)
	}
	cancel()
	for i, c := range cs {
		if _, err := c.Read(time.Now().Add(netLimit)); err == nil || !strings.Contains(err.Error(), "shutdown") {
			t.Errorf("client %d: %v", i, err)
		}
	}
	closed := 0
	for ev := range e.Events() {
		if ev.Kind == Closed && ev.Reason == ClosedShutdown {
			closed++
		}
	}
	e.Wait()
	if closed != 3 {
		t.Errorf("%d Closed events", closed)
	}
}

// The receive buffer is what was asked, or what the kernel allows.
func TestServeReadBuffer(t *testing.T) {
	e, _ := listen(t, "127.0.0.1:0", ServeConfig{Workers: 1, Handler: echoHandler})
	got := e.ReadBuffer()
	b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		t.Skip(err)
	}
	max, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if got != DefaultReadBuffer && got != max {
		t.Errorf("receive buffer %d, want %d or rmem_max %d", got, DefaultReadBuffer, max)
	}
	if _, err := Listen(context.Background(), "127.0.0.1:0", ServeConfig{Batch: -1}); err == nil {
		t.Error("a negative batch was taken")
	}
	if err := Serve(context.Background(), "127.0.0.1:0", ServeConfig{}); err == nil {
		t.Error("Serve without a Handler was taken")
	}
}

// The PSK is looked up on another goroutine and given later.
func TestServeAsyncPSK(t *testing.T) {
	type req struct {
		peer     netip.AddrPort
		identity []byte
	}
	reqs := make(chan req, 1)
	var e *Endpoint
	e, _ = listen(t, "127.0.0.1:0", ServeConfig{Workers: 2, Handler: echoHandler, Server: Config{
		Keys: NewKeyTable(), // empty: every identity goes to the PSKFunc
		PSK: func(peer netip.AddrPort, identity []byte) ([]byte, bool) {
			reqs <- req{peer, identity}
			return nil, true
		},
	}})
	go func() {
		r := <-reqs
		time.Sleep(10 * time.Millisecond) // a database, say
		e.ResolvePSK(r.peer, r.identity, testKey)
	}()
	roundTrip(t, dialUDP(t, loopback4, e.Addr(), nil), "looked up later")
}

// Real clients, openssl s_client and gnutls-cli, against the endpoint.
// The endpoint gives connection IDs (with a node byte) to clients that
// offer the extension; these two do not, and get plain records.
func TestServeInterop(t *testing.T) {
	const identity = "dtlsgate-client"
	keys := NewKeyTable()
	keys.Set([]byte(identity), testKey)
	var mu sync.Mutex
	var withID int
	handler := func(w *Worker, e Event) {
		if e.Kind == Connected && e.ConnectionID != nil {
			mu.Lock()
			withID++
			mu.Unlock()
		}
		echoHandler(w, e)
	}
	e, _ := listen(t, "127.0.0.1:0", ServeConfig{Workers: 2, Handler: handler,
		Server: Config{Keys: keys, ConnectionIDLength: session.DefaultConnectionIDLength, NodeID: 9}})
	hexKey := hex.EncodeToString(testKey)
	port := strconv.Itoa(int(e.Addr().Port()))
	for _, c := range []struct {
		args      []string
		connected string
	}{
		{[]string{"openssl", "s_client", "-dtls1_2", "-connect", e.Addr().String(), "-psk", hexKey,
			"-psk_identity", identity, "-cipher", "PSK-AES128-GCM-SHA256"}, "Cipher is PSK-AES128-GCM-SHA256"},
		{[]string{"openssl", "s_client", "-dtls1_2", "-connect", e.Addr().String(), "-psk", hexKey,
			"-psk_identity", identity, "-cipher", "ECDHE-PSK-AES128-CBC-SHA256"}, "Cipher is ECDHE-PSK-AES128-CBC-SHA256"},
		{[]string{"gnutls-cli", "--udp", "-p", port, "127.0.0.1", "--pskusername", identity, "--pskkey", hexKey,
			"--priority", "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK"}, "Handshake was completed"},
	} {
		t.Run(c.args[0]+" "+c.args[len(c.args)-1], func(t *testing.T) {
			p := dtlstest.StartPeer(t, c.args...)
			p.WaitFor(t, c.connected)
			line := "hello through the endpoint from " + c.args[0]
			if _, err := io.WriteString(p.Stdin, line+"\n"); err != nil {
				t.Fatal(err)
			}
			p.WaitFor(t, line) // neither program prints what it reads from stdin: this is the echo
			p.Stdin.Close()
		})
	}
	if st := e.Stats(); st.HandshakesCompleted != 3 || st.Datagrams == 0 {
		t.Errorf("stats %+v", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if withID != 0 {
		t.Errorf("%d clients without the extension got a connection ID", withID)
	}
}

// A datagram longer than MaxDatagram arrives cut short: it is dropped and
// counted, and the endpoint goes on.
func TestServeDropsOversized(t *testing.T) {
	e, _ := listen(t, "127.0.0.1:0", ServeConfig{Workers: 1, Handler: echoHandler, MaxDatagram: 1000})
	conn, err := net.ListenUDP("udp", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.WriteToUDPAddrPort(make([]byte, 1001), e.Addr())
	roundTrip(t, dialUDP(t, loopback4, e.Addr(), plainPSK), "after")
	if st := e.Stats(); st.DroppedTooLarge != 1 {
		t.Errorf("stats %+v", st)
	}
}

// Endpoint.Stats adds up every counter of the workers.
func TestStatsAddCoversEveryField(t *testing.T) {
	var one Stats
	v := reflect.ValueOf(&one).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.CanUint() {
			f.SetUint(uint64(i + 1))
		} else {
			f.SetInt(int64(i + 1))
		}
	}
	var sum Stats
	sum.add(one)
	if sum != one {
		t.Errorf("add misses a field: %+v", sum)
	}
}

// An application that does not take its events loses Data, counted, and
// never Connected or Closed.
func TestServeSlowApplication(t *testing.T) {
	e, _ := listen(t, "127.0.0.1:0", ServeConfig{Workers: 1, EventQueue: 2})
	c := dialUDP(t, loopback4, e.Addr(), plainPSK)
	for i := range 10 {
		c.Write([]byte(msg(i)))
	}
	deadline := time.Now().Add(netLimit)
	for e.Stats().DroppedBuffered < 9 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if ev := next(t, e); ev.Kind != Connected {
		t.Fatalf("first event %+v", ev)
	}
	if ev := next(t, e); ev.Kind != Data || string(ev.Data) != msg(0) {
		t.Fatalf("second event %+v", ev)
	}
	if st := e.Stats(); st.DroppedBuffered != 9 {
		t.Errorf("stats %+v", st)
	}
}

// The endpoint counts the bytes each way, exactly: a ClientHello without a
// cookie in, its HelloVerifyRequest out. A handshake then says how long it
// took on its Connected event.
func TestServeCountsBytesAndHandshakeTime(t *testing.T) {
	e, _ := listen(t, "127.0.0.1:0", ServeConfig{Workers: 1})
	conn, err := net.ListenUDP("udp", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hello, err := os.ReadFile(filepath.Join(dtlstest.CorpusDir(), "openssl_dtls12.bin"))
	if err != nil {
		t.Fatal(err)
	}
	conn.WriteToUDPAddrPort(hello, e.Addr())
	conn.SetReadDeadline(time.Now().Add(netLimit))
	reply := make([]byte, 2048)
	n, err := conn.Read(reply)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(netLimit)
	for e.Stats().DatagramsOut == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	st := e.Stats()
	if st.Datagrams != 1 || st.BytesIn != uint64(len(hello)) || st.DatagramsOut != 1 || st.BytesOut != uint64(n) || st.HelloVerifies != 1 {
		t.Fatalf("after one hello of %d bytes and a reply of %d: %+v", len(hello), n, st)
	}
	dialUDP(t, loopback4, e.Addr(), nil)
	if ev := next(t, e); ev.Kind != Connected || ev.Handshake <= 0 || ev.Handshake > netLimit {
		t.Fatalf("%+v", ev)
	}
}

// busyWorker is a one-worker endpoint whose Handler is stuck in a Data
// event from c until release is closed.
type busyWorker struct {
	e       *Endpoint
	cancel  context.CancelFunc
	c       *dtlsnet.Conn
	peer    netip.AddrPort // c, as the endpoint sees it
	release chan struct{}
}

func holdWorker(t *testing.T) *busyWorker {
	t.Helper()
	busy, release := make(chan Event, 1), make(chan struct{})
	e, cancel := listen(t, "127.0.0.1:0", ServeConfig{Workers: 1, Handler: func(w *Worker, ev Event) {
		if ev.Kind == Data {
			busy <- ev
			<-release
		}
	}})
	c := dialUDP(t, loopback4, e.Addr(), nil)
	if err := c.Write([]byte("hold on")); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-busy:
		return &busyWorker{e: e, cancel: cancel, c: c, peer: ev.Peer, release: release}
	case <-time.After(netLimit):
		t.Fatal("no Data event")
	}
	return nil
}

// Sends queued while the worker is busy leave together: one sendmmsg, not
// one each.
func TestServeBatchesQueuedSends(t *testing.T) {
	b := holdWorker(t)
	const n = 20
	for i := range n {
		if err := b.e.Send(b.peer, fmt.Appendf(nil, "reply %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	w := b.e.workers[0]
	before := w.writeCalls.Load()
	close(b.release)
	for i := range n {
		got, err := b.c.Read(time.Now().Add(netLimit))
		if err != nil || string(got) != fmt.Sprintf("reply %d", i) {
			t.Fatalf("reply %d: %q %v", i, got, err)
		}
	}
	if calls := w.writeCalls.Load() - before; calls > 2 {
		t.Errorf("%d queued sends took %d sendmmsg calls, want one batch", n, calls)
	}
}

// Once the endpoint is stopping, Send says so instead of queueing work no
// worker will do.
func TestServeSendAfterStop(t *testing.T) {
	b := holdWorker(t)
	b.cancel()
	err := b.e.Send(b.peer, []byte("too late"))
	close(b.release)
	if !errors.Is(err, ErrStopped) {
		t.Fatalf("Send while stopping: %v, want ErrStopped", err)
	}
}

// A client that restarts from its address keeps it on its worker while
// the old session's Closed and the new one's Connected are handed out:
// another worker (a connection-ID move, say) could otherwise claim it in
// between and put a second session there.
func TestServeRestartKeepsTheAddress(t *testing.T) {
	claimed := make(chan bool, 1)
	// The Handler finds the workers through its own: the Endpoint that
	// listen returns is written after they start (a data race).
	e, _ := listen(t, "127.0.0.1:0", ServeConfig{Workers: 2, Handler: func(h *Worker, ev Event) {
		if ev.Kind != Closed || ev.Reason != ClosedReplaced {
			return
		}
		for _, other := range h.w.ep.workers {
			if other != h.w {
				claimed <- other.claimPeer(ev.Peer)
			}
		}
	}})
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cfg := session.Config{PSK: func(a *psk.Authenticator) {
		a.SetIdentity([]byte("alice"))
		a.SetPreSharedKey(testKey)
	}}
	for range 2 { // the second handshake, from the same address, replaces the first
		if _, err := dtlsnet.Dial(conn, e.Addr(), cfg, time.Now().Add(netLimit)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case ok := <-claimed:
		if ok {
			t.Fatal("another worker claimed the address of a session being replaced")
		}
	case <-time.After(netLimit):
		t.Fatal("no ClosedReplaced event")
	}
}
