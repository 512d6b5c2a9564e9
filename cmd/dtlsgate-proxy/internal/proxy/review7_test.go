// SPDX-License-Identifier: MIT

package proxy

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dtlsgate/dtlsgate/core/server"
	"github.com/dtlsgate/dtlsgate/internal/dtlsnet"
	"golang.org/x/sys/unix"
)

// splitter stands between a client and the proxy: it passes datagrams
// both ways, except the client's datagram holding its ClientKeyExchange,
// which it cuts in two: the records up to the ClientKeyExchange go on at
// once (the proxy looks the key up), the rest (ChangeCipherSpec,
// Finished) only once release is closed.
type splitter struct {
	conn    *net.UDPConn
	sent    chan struct{} // closed once the ClientKeyExchange went on
	release chan struct{}
	done    chan struct{}
}

func startSplitter(t *testing.T, proxyAddr netip.AddrPort) *splitter {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &splitter{conn: conn, sent: make(chan struct{}), release: make(chan struct{}), done: make(chan struct{})}
	to := net.UDPAddrFromAddrPort(proxyAddr)
	var client netip.AddrPort
	go func() {
		defer close(s.done)
		buf := make([]byte, 65535)
		split := false
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				continue
			}
			d := append([]byte(nil), buf[:n]...)
			if from == proxyAddr {
				conn.WriteToUDPAddrPort(d, client)
				continue
			}
			client = from
			if cut := afterClientKeyExchange(d); !split && cut > 0 && cut < len(d) {
				split = true
				conn.WriteToUDP(d[:cut], to)
				close(s.sent)
				go func() {
					<-s.release
					conn.WriteToUDP(d[cut:], to)
				}()
				continue
			}
			conn.WriteToUDP(d, to)
		}
	}()
	t.Cleanup(func() { conn.Close(); <-s.done })
	return s
}

// afterClientKeyExchange returns the offset just past the epoch-0
// handshake record carrying a ClientKeyExchange in datagram d, or 0.
func afterClientKeyExchange(d []byte) int {
	for off := 0; off+13 <= len(d); {
		end := off + 13 + (int(d[off+11])<<8 | int(d[off+12]))
		if end > len(d) {
			return 0
		}
		if d[off] == 22 && d[off+3] == 0 && d[off+4] == 0 && end > off+13 && d[off+13] == 16 {
			return end
		}
		off = end
	}
	return 0
}

// A key removed or changed by a reload (SIGHUP) while its device was in
// the middle of a handshake, past the key lookup, used to leave that
// device with a running session and a backend socket for good: the reload
// closed the sessions it saw, and this one was not there yet. An attacker
// whose key was revoked only had to time a handshake with the reload.
func TestReview7FindingReloadDuringHandshakeKeepsRemovedKey(t *testing.T) {
	for _, change := range []string{"removed", "changed"} {
		t.Run(change, func(t *testing.T) {
			b := startBackend(t, "svc")
			p := start(t, b, []string{"alice", "bob"}, nil)
			s := startSplitter(t, p.Addr())
			type dialed struct {
				c   *dtlsnet.Conn
				err error
			}
			done := make(chan dialed, 1)
			go func() {
				c, err := dialTo(t, s.conn.LocalAddr().(*net.UDPAddr).AddrPort(), "alice", false)
				done <- dialed{c, err}
			}()
			select {
			case <-s.sent:
			case <-time.After(netLimit):
				t.Fatal("no ClientKeyExchange")
			}
			time.Sleep(200 * time.Millisecond) // the proxy looks alice's key up
			lines := keyLines("bob")
			if change == "changed" {
				lines = append(lines, "alice:0123456789")
			}
			writeFile(t, p.dir, "keys.txt", lines...)
			if err := p.Reload(); err != nil {
				t.Fatal(err)
			}
			close(s.release)
			d := <-done
			if d.err == nil && !closedByProxy(d.c) {
				t.Fatal("alice's session, begun with the key the reload took away, goes on")
			}
			p.obs.waitFor(t, "no flow left, the refusal counted as key_changed", func() bool {
				n := 0
				p.flows.Range(func(any, any) bool { n++; return true })
				return n == 0 && (d.err != nil || p.obs.drops[DropKeyChanged] == 1 && p.obs.drops[DropNoBackend] == 0)
			})
		})
	}
}

// Every session holds a backend socket, and the endpoint's MaxSessions
// (100000 by default) knew nothing of the process's file descriptor
// limit (often 1024 to 65536): one key holder, opening sessions from many
// source ports, could take every descriptor, after which other devices'
// backend sockets failed and a reload (SIGHUP) could not even open the
// PSK file, so the attacker's key could not be revoked. The proxy now
// holds no more sessions than the limit leaves room for, with a reserve.
func TestReview7FindingSessionsExhaustDescriptors(t *testing.T) {
	open, limit, restore := lowerFDLimit(t, 100)
	b := startBackend(t, "svc")
	p := start(t, b, []string{"alice"}, func(c *Config) { c.Serve.Server.IdleAfter = time.Millisecond })
	// The clients of this test live in the same process: give them room.
	restore()
	for range 90 {
		mustDial(t, p, "alice")
	}
	n := 0
	p.flows.Range(func(any, any) bool { n++; return true })
	if free := limit - open - n; free < 32 {
		t.Fatalf("%d sessions under a limit of %d descriptors (%d open before): %d left for files and metrics", n, limit, open, free)
	}
}

// lowerFDLimit sets the descriptor limit to room more than are open now,
// which it returns with the limit, until restore (or the test's end).
func lowerFDLimit(t *testing.T, room int) (open, limit int, restore func()) {
	t.Helper()
	var saved unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &saved); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	low := saved
	low.Cur = uint64(len(entries) + room)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	restore = func() {
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &saved); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(restore)
	return len(entries), int(low.Cur), restore
}

// A reload that sent an identity to another backend (or took its route
// away, leaving it to the default one) used to leave its sessions on the
// old backend for as long as they lasted: a device the operator moved
// off a backend (a tenant moved, a backend retired) kept reaching it. Its
// sessions are now closed, and it reconnects to the new one.
func TestReview7FindingReloadedRouteKeepsOldBackend(t *testing.T) {
	def, one, two := startBackend(t, "default"), startBackend(t, "one"), startBackend(t, "two")
	var routes string
	p := start(t, def, []string{"alice", "bob"}, func(c *Config) {
		routes = writeFile(t, t.TempDir(), "routes", "alice "+one.addr(), "bob "+one.addr())
		c.RouteFile = routes
	})
	a, bo := mustDial(t, p, "alice"), mustDial(t, p, "bob")
	ask(t, a, "hi")
	ask(t, bo, "hi")
	writeFile(t, filepath.Dir(routes), "routes", "alice "+two.addr(), "bob "+one.addr())
	if err := p.Reload(); err != nil {
		t.Fatal(err)
	}
	if !closedByProxy(a) {
		t.Fatal("alice's session goes on to the backend she was moved off")
	}
	if got := ask(t, bo, "still"); !strings.HasPrefix(got, "one ") {
		t.Fatalf("bob, not moved: %q", got)
	}
	if got := ask(t, mustDial(t, p, "alice"), "again"); !strings.HasPrefix(got, "two ") {
		t.Fatalf("alice reconnected to %q, want backend two", got)
	}
}

// Anyone who knows an identity (no key needed) can get its key looked up,
// and a handshake that then fails is never reported: the lookups kept
// for the reload check must stay bounded by what the endpoint can hold
// live, keeping the newest.
func TestReview7HoldsFailedHandshakesLeaveBoundedLookups(t *testing.T) {
	dir := t.TempDir()
	p, err := New(Config{Listen: "127.0.0.1:0", Backend: "127.0.0.1:9", PSKFile: writeFile(t, dir, "keys", keyLines("alice")...),
		Serve: server.ServeConfig{Workers: 1, Server: server.Config{MaxHalfOpen: 10}}})
	if err != nil {
		t.Fatal(err)
	}
	var last netip.AddrPort
	for i := range 1000 {
		last = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 5684)
		if key, _ := p.lookupKey(last, []byte("alice")); key == nil {
			t.Fatal("no key for alice")
		}
	}
	if n := len(p.lookups); n > 20 {
		t.Fatalf("%d lookups kept for 10 live handshakes at most", n)
	}
	if _, ok := p.lookups[last]; !ok {
		t.Fatal("the newest lookup was dropped")
	}
}
