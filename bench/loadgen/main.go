// SPDX-License-Identifier: MIT

// Command loadgen puts a DTLS 1.2 PSK echo server (examples/CONTRACT.md:
// every message comes back as "echo: MESSAGE") under load with dtlsgate's
// own client engine, core/session, from a process of its own. Each client
// has its own UDP socket, bound to its own loopback address (127.0.x.y) so
// that a server's limit per source address does not count them together.
//
// Modes:
//
//	handshake  each client connects, closes (close_notify) and connects again
//	echo       each client connects once, then sends a message, waits for
//	           its echo and sends the next (-window messages in flight)
//	coap       as echo, but each message is a CoAP confirmable GET of /
//	           (RFC 7252) and each answer must be its piggybacked 2.05
//	           Content: a CoAP server behind DTLS, or behind dtlsgate-proxy
//	squat      a flood of clients that pass the cookie exchange, take the
//	           server's first flight and vanish, each from a new address,
//	           at -rate per second
//	connect    one legitimate client connecting, echoing once and closing,
//	           one connection after another: its connect times
//
// It prints what it measured in words, and on the last line, for scripts:
//
//	result MODE rate R p50_ms P p90_ms Q ops N errors E cpu C server_cpu S idle I
//
// R is operations per second over -duration after -warmup; the connect
// times are those of the connect mode (0 elsewhere). C, S and I are
// processor time over the same window, in cores: what this process used,
// what the server (-server-pid, Linux's /proc; a server of several
// processes, such as a proxy and its backend, is their sum) used, and what the machine
// left idle. On a machine where the load generator and the server share
// the cores, they say how much was left to the server. It exits 1 when
// nothing completed or an echo came back wrong, 2 on bad flags.
package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/dtlsgate/dtlsgate/core/psk"
	"github.com/dtlsgate/dtlsgate/core/session"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// The examples' defaults (examples/CONTRACT.md).
const (
	defaultIdentity = "dtlsgate example client"
	defaultKey      = "1a2b3c4d5e6f"
	echoPrefix      = "echo: "
)

// A squatter waits this long for the server's answers, then moves on.
const lossTimeout = 500 * time.Millisecond

// An echo client that heard nothing for 50 to 100 ms takes what it still
// awaits as lost (a server's full receive buffer drops datagrams) and
// fills its window again.
const echoSilence = 100 * time.Millisecond

type options struct {
	server  netip.AddrPort
	mode    string
	clients int
	window  int
	payload int
	// serverPID holds the server's processes, none when unknown.
	serverPID []int
	rate      float64
	duration  time.Duration
	warmup    time.Duration
	suites    []uint16
	identity  []byte
	key       []byte
	// first is the source address of client 0; client i has the i-th
	// address after it.
	first netip.Addr
}

func main() {
	var o options
	var server, suites, key, first, pids string
	flag.StringVar(&server, "addr", "127.0.0.1:4433", "the server's `address:port`")
	flag.StringVar(&o.mode, "mode", "echo", "handshake, echo, coap, squat or connect")
	flag.IntVar(&o.clients, "clients", 32, "concurrent clients (squat: goroutines)")
	flag.StringVar(&pids, "server-pid", "", "the server's processes, `PID[,PID...]`, whose processor time is reported")
	flag.IntVar(&o.window, "window", 1, "echo, coap: messages in flight per client")
	flag.IntVar(&o.payload, "payload", 64, "echo: bytes per message")
	flag.Float64Var(&o.rate, "rate", 2000, "squat: squatters per second")
	flag.DurationVar(&o.duration, "duration", 2*time.Second, "measured time")
	flag.DurationVar(&o.warmup, "warmup", 200*time.Millisecond, "time before measuring")
	flag.StringVar(&suites, "ciphers", "PSK-AES128-GCM-SHA256", "cipher suites to offer")
	flag.StringVar(&key, "psk", defaultKey, "the key, in hex")
	flag.StringVar(&first, "local", "", "source address of the first client (default: 127.0.1.1; squat 127.2.0.1; connect 127.0.0.1)")
	identity := flag.String("identity", defaultIdentity, "PSK identity")
	flag.Parse()
	err := o.check(server, suites, key, first)
	for p := range strings.SplitSeq(pids, ",") {
		if n, e := strconv.Atoi(p); e == nil && n > 0 {
			o.serverPID = append(o.serverPID, n)
		} else if p != "" && err == nil {
			err = fmt.Errorf("-server-pid: %q is not a process id", p)
		}
	}
	if err != nil || flag.NArg() > 0 {
		if err == nil {
			err = fmt.Errorf("unexpected argument %q", flag.Arg(0))
		}
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	o.identity = []byte(*identity)

	r, err := run(o)
	fmt.Printf("loadgen: %s against %v, %d clients, %v: %s\n", o.mode, o.server, o.clients, o.duration, r.summary(o.mode, o.duration))
	fmt.Printf("result %s rate %.1f p50_ms %.2f p90_ms %.2f ops %d errors %d cpu %.2f server_cpu %.2f idle %.2f\n",
		o.mode, r.rate(o.duration), r.percentile(50), r.percentile(90), r.ops, r.errors,
		r.cores.self, r.cores.server, r.cores.idle)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// usage is processor time in seconds: used by this process, by the
// server, and left idle by the machine.
type usage struct{ self, server, idle float64 }

// Linux's clock tick for /proc, USER_HZ, is 100 on every architecture.
const userHZ = 100

func usageNow(serverPID []int) usage {
	var u usage
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		u.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	for _, pid := range serverPID {
		// utime and stime are the 12th and 13th fields after the
		// parenthesised command name.
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])); len(f) > 12 {
				u.server += (atof(f[11]) + atof(f[12])) / userHZ
			}
		}
	}
	// The first line: cpu user nice system idle iowait ...
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 5 && f[0] == "cpu" {
			u.idle = (atof(f[4]) + atof(f[5])) / userHZ
		}
	}
	return u
}

func atof(s string) float64 {
	v, _ := strconv.ParseFloat(s, 64)
	return v
}

// perSecond is the usage between a and b over d, in cores.
func perSecond(a, b usage, d time.Duration) usage {
	t := d.Seconds()
	return usage{(b.self - a.self) / t, (b.server - a.server) / t, (b.idle - a.idle) / t}
}

func (o *options) check(server, suites, key, first string) error {
	var err error
	if o.server, err = netip.ParseAddrPort(server); err != nil {
		return fmt.Errorf("-addr: %v", err)
	}
	if o.suites, err = session.ParseSuites(suites); err != nil {
		return fmt.Errorf("-ciphers: %v", err)
	}
	if o.key, err = hex.DecodeString(key); err != nil || len(o.key) == 0 {
		return fmt.Errorf("-psk: want the key in hex")
	}
	if first == "" {
		first = map[string]string{"squat": "127.2.0.1", "connect": "127.0.0.1"}[o.mode]
		if first == "" {
			first = "127.0.1.1"
		}
	}
	if o.first, err = netip.ParseAddr(first); err != nil || o.first.Is4() != o.server.Addr().Is4() {
		return fmt.Errorf("-local: want an address of the server's family")
	}
	switch {
	case !slices.Contains([]string{"handshake", "echo", "coap", "squat", "connect"}, o.mode):
		return fmt.Errorf("-mode: unknown %q", o.mode)
	case o.clients < 1 || o.window < 1 || o.payload < 1 || o.payload > 16000 || o.rate <= 0:
		return errors.New("-clients, -window, -payload and -rate want positive numbers (payload up to 16000)")
	case o.duration <= 0 || o.warmup < 0:
		return errors.New("-duration wants a positive time, -warmup one not negative")
	}
	return nil
}

// nth is the n-th address after a, counting only those whose last byte
// is 1 to 254 (IPv6: in the last 32 bits).
func nth(a netip.Addr, n int) netip.Addr {
	b := a.As16()
	v := uint32(b[12])<<24 | uint32(b[13])<<16 | uint32(b[14])<<8 | uint32(b[15])
	p := (v>>8)*254 + max(v&0xff, 1) - 1 + uint32(n)
	v = (p/254)<<8 | (p%254 + 1)
	b[12], b[13], b[14], b[15] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	if a.Is4() {
		return netip.AddrFrom4([4]byte(b[12:]))
	}
	return netip.AddrFrom16(b)
}

// results is what the clients counted; the measurement window is set
// before they start.
type results struct {
	start, end time.Time
	ops        atomic.Int64 // in the window
	errors     atomic.Int64
	mu         sync.Mutex
	times      []time.Duration // connect mode
	wrong      error           // an echo that came back wrong
}

// counted reports whether an operation that finished now falls in the window.
func (r *results) counted() bool {
	now := time.Now()
	return !now.Before(r.start) && now.Before(r.end)
}

// count tallies an operation that ended with err, unless the run ended
// it: a failure, or a success in the window.
func (r *results) count(ctx context.Context, err error) {
	switch {
	case ctx.Err() != nil:
	case err != nil:
		r.errors.Add(1)
	case r.counted():
		r.ops.Add(1)
	}
}

type report struct {
	ops, errors int64
	times       []time.Duration
	cores       usage // in the window, in cores
}

func (r report) rate(d time.Duration) float64 { return float64(r.ops) / d.Seconds() }

func (r report) percentile(p int) float64 {
	if len(r.times) == 0 {
		return 0
	}
	return float64(r.times[(len(r.times)-1)*p/100]) / float64(time.Millisecond)
}

func (r report) summary(mode string, d time.Duration) string {
	if mode == "connect" {
		return fmt.Sprintf("%d connects, median %.2f ms, 90th percentile %.2f ms, %d failed",
			r.ops, r.percentile(50), r.percentile(90), r.errors)
	}
	unit := map[string]string{"handshake": "handshakes", "echo": "echoes", "coap": "requests", "squat": "squatters"}[mode]
	return fmt.Sprintf("%d %s (%.0f/s), %d errors or losses", r.ops, unit, r.rate(d), r.errors)
}

func run(o options) (report, error) {
	res := &results{}
	ready := sync.WaitGroup{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	start := make(chan struct{})
	n := o.clients
	if o.mode == "connect" {
		n = 1
	}
	ready.Add(n)
	for i := range n {
		wg.Go(func() { o.client(ctx, i, res, &ready, start) })
	}
	// Echo clients connect first: the window measures echoes alone.
	ready.Wait()
	res.start = time.Now().Add(o.warmup)
	res.end = res.start.Add(o.duration)
	close(start)
	time.Sleep(time.Until(res.start))
	before := usageNow(o.serverPID)
	time.Sleep(time.Until(res.end))
	after := usageNow(o.serverPID)
	cancel()
	wg.Wait()

	r := report{ops: res.ops.Load(), errors: res.errors.Load(), times: res.times,
		cores: perSecond(before, after, o.duration)}
	slices.Sort(r.times)
	if o.mode == "connect" {
		r.ops = int64(len(r.times))
	}
	switch {
	case res.wrong != nil:
		return r, res.wrong
	case r.ops == 0:
		return r, errors.New("nothing completed")
	}
	return r, nil
}

// client is the i-th client's life in mode o.mode.
func (o *options) client(ctx context.Context, i int, res *results, ready *sync.WaitGroup, start chan struct{}) {
	local := nth(o.first, i)
	if o.mode == "echo" || o.mode == "coap" {
		c, err := o.connect(ctx, local)
		ready.Done()
		if err != nil {
			res.errors.Add(1)
			return
		}
		defer c.close()
		<-start
		if err := c.echo(ctx, o, res); err != nil {
			res.mu.Lock()
			res.wrong = err
			res.mu.Unlock()
		}
		return
	}
	ready.Done()
	<-start
	switch o.mode {
	case "handshake":
		o.handshakes(ctx, local, res)
	case "connect":
		o.connects(ctx, local, res)
	case "squat":
		o.squat(ctx, i, res)
	}
}

// conn is one client session on a connected UDP socket.
type conn struct {
	udp *net.UDPConn
	s   *session.Session
	buf []byte
	// deadline is the socket's read deadline, moved only now and then:
	// setting it costs more than a read on the fast path.
	deadline time.Time
}

// newConn opens a socket from local to the server, with a fresh session.
func (o *options) newConn(local netip.Addr) (*conn, error) {
	udp, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(local, 0)),
		net.UDPAddrFromAddrPort(o.server))
	if err != nil {
		return nil, err
	}
	c := &conn{udp: udp, buf: make([]byte, 65536)}
	if err := o.renew(c); err != nil {
		udp.Close()
		return nil, err
	}
	return c, nil
}

// renew gives c a fresh client session, for a new connection from the
// same port.
func (o *options) renew(c *conn) error {
	s, err := session.New(session.Client, session.Config{Suites: o.suites, PSK: func(a *psk.Authenticator) {
		a.SetIdentity(o.identity)
		a.SetPreSharedKey(o.key)
	}})
	if err == nil && !s.SetPeer(o.server) {
		err = errors.New(s.DtlsErrorString())
	}
	c.s = s
	return err
}

// hangUp says close_notify when the connection is up.
func (c *conn) hangUp() {
	if c.s.IsConnectionEncrypted() {
		c.s.Shutdown()
		c.flush()
	}
}

func (c *conn) close() {
	c.hangUp()
	c.udp.Close()
}

func (c *conn) flush() error {
	for _, d := range c.s.Outgoing() {
		if _, err := c.udp.Write(d); err != nil {
			return err
		}
	}
	return nil
}

// read waits for a datagram until t; ok is false when t passed first.
func (c *conn) read(t time.Time) (n int, ok bool, err error) {
	if !t.Equal(c.deadline) {
		c.deadline = t
		if err := c.udp.SetReadDeadline(t); err != nil {
			return 0, false, err
		}
	}
	n, err = c.udp.Read(c.buf)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return 0, false, nil
	}
	return n, err == nil, err
}

// step runs the handshake until it completes, or, with stopAfter > 0,
// until the client has taken that many datagrams from the server.
func (c *conn) step(ctx context.Context, stopAfter int) error {
	if !c.s.DoHandshake(nil) {
		return errors.New(c.s.DtlsErrorString())
	}
	taken := 0
	for c.s.HandshakeState() == session.HandshakeInProgress {
		if err := c.flush(); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait, _ := c.s.Timeout()
		n, ok, err := c.read(time.Now().Add(min(wait, 100*time.Millisecond)))
		switch {
		case err != nil:
			return err
		case ok:
			if taken++; stopAfter > 0 && taken == stopAfter {
				return nil
			}
			ok = c.s.DoHandshake(c.buf[:n])
		default:
			ok = c.s.HandleTimeout()
		}
		if !ok {
			return errors.New(c.s.DtlsErrorString())
		}
	}
	if !c.s.IsConnectionEncrypted() {
		return errors.New(c.s.DtlsErrorString())
	}
	return c.flush()
}

// connect makes a client at local and runs its handshake.
func (o *options) connect(ctx context.Context, local netip.Addr) (*conn, error) {
	c, err := o.newConn(local)
	if err != nil {
		return nil, err
	}
	if err := c.step(ctx, 0); err != nil {
		c.udp.Close()
		return nil, err
	}
	return c, nil
}

// handshakes connects again and again from one socket: each connection
// says close_notify before the next starts, so the server sees a peer
// that comes back, not a restart.
func (o *options) handshakes(ctx context.Context, local netip.Addr, res *results) {
	c, err := o.newConn(local)
	if err != nil {
		res.errors.Add(1)
		return
	}
	defer c.udp.Close()
	for ctx.Err() == nil {
		err := c.step(ctx, 0)
		res.count(ctx, err)
		c.hangUp()
		if err := o.renew(c); err != nil {
			res.errors.Add(1)
			return
		}
	}
}

// batchConn reads and writes many datagrams per system call
// (recvmmsg, sendmmsg): with -window above 1 the load generator then costs
// less per echo than a server that reads one datagram per call.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

func (c *conn) batch() batchConn {
	if c.udp.LocalAddr().(*net.UDPAddr).IP.To4() != nil {
		return ipv4.NewPacketConn(c.udp)
	}
	return ipv6.NewPacketConn(c.udp)
}

// echo sends messages and checks their answers (echoes, or CoAP
// responses) until ctx ends, with o.window in flight; those lost are
// counted as errors and replaced.
func (c *conn) echo(ctx context.Context, o *options, res *results) error {
	var ex exchange = newEchoExchange(o.payload)
	if o.mode == "coap" {
		ex = newCoAPExchange()
	}
	bc := c.batch()
	in, out := make([]ipv4.Message, o.window), make([]ipv4.Message, o.window)
	recs := make([][]byte, o.window)
	for j := range o.window {
		in[j].Buffers = [][]byte{make([]byte, 4096+o.payload)}
		recs[j] = make([]byte, c.s.SealedLen(ex.size()))
		out[j].Buffers = [][]byte{recs[j]}
	}
	// send seals k fresh records (the server's replay window drops copies).
	send := func(k int) error {
		for j := range k {
			if _, r := c.s.Seal(recs[j], ex.request()); r != session.RecordOK {
				return fmt.Errorf("seal: %s", c.s.DtlsErrorString())
			}
		}
		for sent := 0; sent < k; {
			n, err := bc.WriteBatch(out[sent:k], 0)
			if err != nil {
				return err
			}
			sent += n
		}
		return nil
	}
	if err := send(o.window); err != nil {
		return err
	}
	inFlight := o.window
	plain := make([]byte, 65536)
	for ctx.Err() == nil {
		// Moved only when half spent: one deadline serves many reads.
		if time.Until(c.deadline) < echoSilence/2 {
			c.deadline = time.Now().Add(echoSilence)
			if err := c.udp.SetReadDeadline(c.deadline); err != nil {
				return err
			}
		}
		n, err := bc.ReadBatch(in, 0)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if ctx.Err() == nil {
				res.errors.Add(int64(inFlight))
			}
			if err := send(o.window); err != nil {
				return err
			}
			inFlight = o.window
			continue
		}
		if err != nil {
			return err
		}
		echoes := 0
		for _, m := range in[:n] {
			got, ok, err := c.open(plain, m.Buffers[0][:m.N])
			if err != nil || !ok {
				continue
			}
			if err := ex.check(plain[:got]); err != nil {
				return err
			}
			echoes++
		}
		if res.counted() {
			res.ops.Add(int64(echoes))
		}
		// An echo taken for lost that comes late does not grow the window.
		inFlight = max(inFlight-echoes, 0)
		if err := send(o.window - inFlight); err != nil {
			return err
		}
		inFlight = o.window
	}
	return nil
}

// open decrypts an echo into plain; ok is false for a datagram that
// carried none (dropped as the RFC says, or an alert or handshake repeat
// handled on the way).
func (c *conn) open(plain, dgram []byte) (n int, ok bool, err error) {
	n, r := c.s.Open(plain, dgram)
	if r == session.RecordNotData {
		data := c.s.DecryptDatagram(dgram)
		return copy(plain, data), len(data) > 0, c.flush()
	}
	return n, r == session.RecordOK, nil
}

// connects is the legitimate client: connect, one echo, close, again,
// each time from a new port.
func (o *options) connects(ctx context.Context, local netip.Addr, res *results) {
	for ctx.Err() == nil {
		began := time.Now()
		c, err := o.connect(ctx, local)
		took := time.Since(began)
		if err == nil {
			err = c.echoOnce(ctx, o)
			c.close()
		}
		switch {
		case ctx.Err() != nil:
		case err != nil:
			res.errors.Add(1)
		case res.counted():
			res.mu.Lock()
			res.times = append(res.times, took)
			res.mu.Unlock()
		}
		// Not a load of its own: the flood is the other process.
		time.Sleep(10 * time.Millisecond)
	}
}

func (c *conn) echoOnce(ctx context.Context, o *options) error {
	msg := []byte("legitimate")
	if c.s.WriteDatagramEncrypted(msg) < 0 {
		return errors.New(c.s.DtlsErrorString())
	}
	if err := c.flush(); err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Second)
	for ctx.Err() == nil {
		n, ok, err := c.read(deadline)
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("no echo")
		}
		if data := c.s.DecryptDatagram(c.buf[:n]); len(data) > 0 {
			if string(data) != echoPrefix+string(msg) {
				return fmt.Errorf("echo came back as %q", data)
			}
			return nil
		}
	}
	return ctx.Err()
}

// squat is goroutine g of o.clients: it brings its share of o.rate
// squatters per second, each from the next address of its own, so the
// server's limit per address never meets them but its total limit does.
func (o *options) squat(ctx context.Context, g int, res *results) {
	every := time.Duration(float64(time.Second) * float64(o.clients) / o.rate)
	next := time.Now().Add(every * time.Duration(g) / time.Duration(o.clients))
	for k := 0; ctx.Err() == nil; k++ {
		time.Sleep(time.Until(next))
		next = next.Add(every)
		c, err := o.newConn(nth(o.first, (k*o.clients+g)%(1<<20)))
		if err != nil {
			res.errors.Add(1)
			continue
		}
		// The HelloVerifyRequest, then the server's first flight: the
		// server now holds a handshake for it, which it never finishes.
		sctx, cancel := context.WithTimeout(ctx, lossTimeout)
		err = c.step(sctx, 2)
		cancel()
		c.udp.Close()
		res.count(ctx, err)
	}
}
