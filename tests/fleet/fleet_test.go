// SPDX-License-Identifier: MIT

//go:build fleet

// Package fleet runs dtlsgate-proxy as a fleet behind nginx's UDP load
// balancer, as docs/deploy.md describes, and checks what a fleet promises:
// a cookie from one node is good on every node, clients spread over the
// nodes, the clients of a node that dies get in again through the others
// with nobody touching the balancer, a node added later takes clients, and
// the node byte of each connection ID names the node holding the session.
//
//	go test -tags fleet ./tests/fleet -proxy "$PWD/bin/dtlsgate-proxy"
//
// It needs nginx with its stream module (scripts/ensure-deps.sh fleet). The
// balancer and the nodes are processes of their own on loopback ports; the
// UDP echo backend and the clients (core/session over internal/dtlsnet)
// run in the test.
package fleet

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dtlsgate/dtlsgate/core/psk"
	"github.com/dtlsgate/dtlsgate/core/session"
	"github.com/dtlsgate/dtlsgate/internal/dtlsnet"
)

var proxyPath = flag.String("proxy", "", "the dtlsgate-proxy binary (default: built from cmd/dtlsgate-proxy)")

const (
	nginxPath   = "/usr/sbin/nginx"
	streamPath  = "/usr/lib/nginx/modules/ngx_stream_module.so"
	clients     = 60
	failover    = 10 * time.Second // what the issue allows for a dead node's clients to be back
	echoWait    = 2 * time.Second  // a client that hears nothing for this long takes its node for gone
	dialTimeout = 3 * time.Second  // one handshake attempt
	nodeIDBase  = 1                // node i (0-based) runs with --node-id i+nodeIDBase
)

// fleet is what every test stage shares.
type fleet struct {
	dir     string
	proxy   string
	backend netip.AddrPort
	keys    string // the PSK file
	key     string // the fleet key file
	secrets map[string][]byte
	nodes   []*node
	lb      *balancer
}

func TestFleet(t *testing.T) {
	f := newFleet(t)
	for range 3 {
		f.addNode(t, f.key)
	}
	f.lb = startBalancer(t, f.dir, f.nodes)

	if !t.Run("CookieFromAnyNode", f.cookieFromAnyNode) {
		return
	}
	var all []*client
	if !t.Run("Spread", func(t *testing.T) { all = f.spread(t) }) {
		return
	}
	if !t.Run("NodeDies", func(t *testing.T) { f.nodeDies(t, all) }) {
		return
	}
	t.Run("NodeAdded", func(t *testing.T) { f.nodeAdded(t, all) })
}

func newFleet(t *testing.T) *fleet {
	for _, p := range []string{nginxPath, streamPath} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%v: run scripts/ensure-deps.sh fleet", err)
		}
	}
	f := &fleet{dir: t.TempDir(), secrets: map[string][]byte{}}
	f.proxy = *proxyPath
	if f.proxy == "" {
		f.proxy = filepath.Join(f.dir, "dtlsgate-proxy")
		out, err := exec.Command("go", "build", "-o", f.proxy, "github.com/dtlsgate/dtlsgate/cmd/dtlsgate-proxy").CombinedOutput()
		if err != nil {
			t.Fatalf("building dtlsgate-proxy: %v\n%s", err, out)
		}
	}
	f.backend = startEcho(t)
	// One identity per client, so that each node's log tells which
	// clients it holds; 100 covers the clients of every stage.
	var lines bytes.Buffer
	for i := range 100 {
		id, key := identity(i), random(16)
		f.secrets[id] = key
		fmt.Fprintf(&lines, "%s:%x\n", id, key)
	}
	f.keys = f.write(t, "keys.txt", lines.String())
	f.key = f.write(t, "fleet.key", hex.EncodeToString(random(32))+"\n")
	return f
}

func identity(i int) string { return fmt.Sprintf("device-%03d", i) }

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func (f *fleet) write(t *testing.T, name, content string) string {
	p := filepath.Join(f.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// freePort returns a loopback UDP address nothing listens on now.
func freePort(t *testing.T) netip.AddrPort {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// startEcho runs the plain UDP service the fleet fronts: every datagram
// goes back to where it came from.
func startEcho(t *testing.T) netip.AddrPort {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return // closed
			}
			c.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// process is a child the test ends however it ends: in a process group of
// its own, so that nginx's workers go with their master. What it prints
// goes to a file, which the child writes without the test's help.
type process struct {
	name   string
	cmd    *exec.Cmd
	output string // the file
	exited chan struct{}
}

func start(t *testing.T, dir, name string, args ...string) *process {
	p := &process{name: name, cmd: exec.Command(args[0], args[1:]...), exited: make(chan struct{})}
	p.output = filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".out")
	out, err := os.Create(p.output)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close() // the child has its own copy
	p.cmd.Stdout, p.cmd.Stderr = out, out
	// Pdeathsig: if the test binary dies (a -timeout panic), SIGTERM still
	// ends the child, and nginx's master takes its workers with it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.stop(syscall.SIGTERM)
		if t.Failed() {
			t.Logf("%s: %s\n----- its output -----\n%s-----", name, strings.Join(args, " "), p.out())
		}
	})
	return p
}

// out returns what the process printed so far.
func (p *process) out() string {
	b, _ := os.ReadFile(p.output)
	return string(b)
}

// stop sends sig and waits (nginx's master exits after its workers); if
// the process is still there after 5 s, its whole group is killed, while
// the unreaped leader keeps the group id from going to anyone else.
func (p *process) stop(sig syscall.Signal) {
	pid := p.cmd.Process.Pid
	syscall.Kill(pid, sig)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-p.exited
	}
}

// node is one dtlsgate-proxy process.
type node struct {
	*process
	id   int
	addr netip.AddrPort
}

func (f *fleet) addNode(t *testing.T, fleetKey string) *node {
	n := f.startNode(t, len(f.nodes)+nodeIDBase, fleetKey)
	f.nodes = append(f.nodes, n)
	return n
}

// startNode starts a node that ends with t.
func (f *fleet) startNode(t *testing.T, id int, fleetKey string) *node {
	addr := freePort(t)
	n := &node{id: id, addr: addr}
	n.process = start(t, f.dir, fmt.Sprintf("node %d", id), f.proxy,
		"--listen", addr.String(), "--backend", f.backend.String(),
		"--psk-file", f.keys, "--fleet-key-file", fleetKey,
		"--cid-length", "8", "--node-id", fmt.Sprint(id), "--log-format", "json",
		"--metrics", "127.0.0.1:0",
		// Behind nginx every client comes from nginx's address.
		"--max-half-open-per-ip", "1000")
	f.waitReady(t, n)
	return n
}

// metric returns the value of one series of the node's Prometheus
// metrics, written as the text format writes it (name{label="value"}).
func (n *node) metric(t *testing.T, series string) float64 {
	var url string
	for _, e := range n.log("metrics") {
		url, _ = e["url"].(string)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("node %d's metrics: %v", n.id, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("node %d's metrics: %v", n.id, err)
	}
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), series+" "); ok {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("node %d's metrics: %q: %v", n.id, line, err)
			}
			return x
		}
	}
	t.Fatalf("node %d's metrics have no %s:\n%s", n.id, series, body)
	return 0
}

// waitReady waits until the node completes a handshake.
func (f *fleet) waitReady(t *testing.T, n *node) {
	deadline := time.Now().Add(10 * time.Second)
	c := f.newClient(99)
	for {
		err := c.dial(n.addr, time.Now().Add(time.Second))
		if err == nil {
			c.close()
			return
		}
		select {
		case <-n.exited:
			t.Fatalf("node %d exited: %s", n.id, n.out())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %d does not answer: %v", n.id, err)
		}
	}
}

// client is one device: an identity, its key, and the session it holds.
type client struct {
	identity string
	key      []byte
	conn     *dtlsnet.Conn
	sent     int
}

func (f *fleet) newClient(i int) *client {
	id := identity(i)
	return &client{identity: id, key: f.secrets[id]}
}

// dial makes one handshake attempt with peer from a new socket, asking for
// connection IDs (an empty one of its own, as a device behind a NAT).
func (c *client) dial(peer netip.AddrPort, deadline time.Time) error {
	c.close()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	cfg := session.Config{
		ConnectionIDLength: session.EmptyConnectionID,
		PSK: func(a *psk.Authenticator) {
			a.SetIdentity([]byte(c.identity))
			a.SetPreSharedKey(c.key)
		},
	}
	conn, err := dtlsnet.Dial(udp, peer, cfg, deadline)
	if err != nil {
		udp.Close()
		return err
	}
	c.conn = conn
	return nil
}

// keepUp is what a device does to be served: it sends a datagram through
// its session and, if no echo comes back (or it has no session), dials
// again from a new socket until an echo comes back or deadline passes.
// It returns how many handshakes that took.
func (c *client) keepUp(peer netip.AddrPort, deadline time.Time) (dials int, err error) {
	for {
		if c.conn != nil {
			if err = c.echo(); err == nil {
				return dials, nil
			}
		}
		if time.Now().After(deadline) {
			return dials, err
		}
		attempt := time.Now().Add(dialTimeout)
		if attempt.After(deadline) {
			attempt = deadline
		}
		dials++
		err = c.dial(peer, attempt)
	}
}

// echo sends one datagram through the session and waits for the backend's
// echo of it.
func (c *client) echo() error {
	if c.conn == nil {
		return errors.New("no session")
	}
	c.sent++
	msg := fmt.Sprintf("%s says %d", c.identity, c.sent)
	if err := c.conn.Write([]byte(msg)); err != nil {
		return err
	}
	got, err := c.conn.Read(time.Now().Add(echoWait))
	if err != nil {
		return err
	}
	if string(got) != msg {
		return fmt.Errorf("sent %q, got %q back", msg, got)
	}
	return nil
}

// node returns the node byte of the connection ID the client puts in its
// records: the node that gave it.
func (c *client) node() int {
	id, ok := c.conn.Session.PeerConnectionID()
	if !ok || len(id) == 0 {
		return 0
	}
	return int(id[0])
}

func (c *client) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn.UDP.Close()
		c.conn = nil
	}
}
