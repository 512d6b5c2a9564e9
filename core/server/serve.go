// SPDX-License-Identifier: MIT

package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/dtlsgate/dtlsgate/core/secret"
	"github.com/dtlsgate/dtlsgate/core/verifier"
	"golang.org/x/sys/unix"
)

// Defaults of ServeConfig.
const (
	DefaultReadBuffer  = 4 << 20 // so a burst of large garbage does not crowd out real datagrams
	DefaultBatch       = 32      // datagrams per recvmmsg and sendmmsg
	DefaultMaxDatagram = 9216    // larger datagrams arrive truncated and are dropped
	DefaultEventQueue  = 4096
)

// ServeConfig configures Listen and Serve.
type ServeConfig struct {
	// Server is every worker's configuration. Its Verifier (one is made
	// if nil), Keys and PSK are shared by the workers, so a cookie minted
	// by one verifies on all; the PSKFunc may run on several at once.
	Server Config
	// Workers is the number of sockets (SO_REUSEPORT) and goroutines, each
	// with its own Server; 0 means runtime.NumCPU().
	Workers int
	// ReadBuffer is each socket's receive buffer in bytes; 0 means
	// DefaultReadBuffer. The kernel may grant less (net.core.rmem_max):
	// Endpoint.ReadBuffer tells what it granted.
	ReadBuffer  int
	Batch       int // 0 means DefaultBatch
	MaxDatagram int // 0 means DefaultMaxDatagram
	// Handler, if set, receives every event on the goroutine of the worker
	// that owns the peer, in order, and answers through the Worker (which
	// is valid only during the call; the Endpoint's own Send could wait on
	// the very goroutine that runs the Handler). A worker passes the same
	// *Worker every time, so it may key what the Handler keeps per worker.
	// Nil sends events to Endpoint.Events.
	Handler func(w *Worker, e Event)
	// EventQueue is the capacity of Endpoint.Events; 0 means
	// DefaultEventQueue. When it is full, Data events are dropped (counted
	// in Stats.DroppedBuffered) and Connected and Closed wait.
	EventQueue int
}

// Endpoint is a running DTLS server on UDP sockets, made by Listen. Its
// methods are safe for concurrent use.
//
// Goroutines: each worker has two, one reading batches from its socket and
// one driving its Server (Input, timers, writes, events, the Handler and
// the PSKFunc). Send, Close, ResolvePSK and RefusePSK hand the work to the
// worker that owns the peer and return without waiting for it.
type Endpoint struct {
	addr       netip.AddrPort
	readBuffer int
	workers    []*worker
	owners     sync.Map // netip.AddrPort -> *worker, for connected peers
	cids       sync.Map // string -> *worker: who holds each connection ID
	events     chan Event
	dropped    atomic.Uint64 // Data events the queue had no room for
	done       chan struct{}
	handler    func(w *Worker, e Event)
	ctx        context.Context
}

// worker is one socket and the Server behind it.
type worker struct {
	ep     *Endpoint
	srv    *Server
	conn   *net.UDPConn
	writer *batchWriter
	in     chan *readBatch
	free   chan *readBatch
	cmds   chan func(*Worker)
	out    []Datagram
	batch  int // datagrams per recvmmsg and sendmmsg
	evs    []Event

	mu    sync.Mutex
	stats Stats

	writeCalls atomic.Uint64 // sendmmsg calls, for the tests of batching
}

// readBatch is one recvmmsg's datagrams, handed from the reader to run.
type readBatch struct {
	io *batchReader
	n  int
}

// Worker is a worker's Server as a Handler sees it: calls act at once, and
// what they send goes out with the worker's next batch.
type Worker struct{ w *worker }

// Send encrypts data to a connected peer of this worker.
func (h *Worker) Send(peer netip.AddrPort, data []byte) error {
	var err error
	h.w.out, err = h.w.srv.Send(peer, data, h.w.out)
	return err
}

// Close ends the connection with peer (close_notify).
func (h *Worker) Close(peer netip.AddrPort) error {
	var err error
	h.w.out, err = h.w.srv.Close(peer, h.w.out)
	return err
}

// ResolvePSK answers a pending PSK request this worker's PSKFunc made.
func (h *Worker) ResolvePSK(peer netip.AddrPort, identity, key []byte) error {
	var err error
	h.w.out, err = h.w.srv.ResolvePSK(peer, identity, key, h.w.out)
	return err
}

// Listen opens the sockets on address ("host:port"; "[::]:port" is dual
// stack) and starts the workers; they run until ctx is done, then send
// close_notify to every connected peer and close the sockets.
func Listen(ctx context.Context, address string, cfg ServeConfig) (*Endpoint, error) {
	if cfg.Workers < 0 || cfg.ReadBuffer < 0 || cfg.Batch < 0 || cfg.MaxDatagram < 0 || cfg.MaxDatagram > 65535 || cfg.EventQueue < 0 {
		return nil, errors.New("server: negative or oversized ServeConfig field")
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.NumCPU()
	}
	cfg.ReadBuffer = cmpOr(cfg.ReadBuffer, DefaultReadBuffer)
	cfg.Batch = cmpOr(cfg.Batch, DefaultBatch)
	cfg.MaxDatagram = cmpOr(cfg.MaxDatagram, DefaultMaxDatagram)
	cfg.EventQueue = cmpOr(cfg.EventQueue, DefaultEventQueue)
	if cfg.Server.Verifier == nil {
		cfg.Server.Verifier = verifier.New()
	}
	e := &Endpoint{done: make(chan struct{}), handler: cfg.Handler, ctx: ctx}
	if cfg.Handler == nil {
		e.events = make(chan Event, cfg.EventQueue)
	}
	// SO_REUSEPORT would let another process of the same user bind the
	// port too and silently take part of the clients (a second copy of the
	// server, started by mistake). A plain socket bound first fails, as
	// bind(2) does, when the port is in use; port 0 is resolved with it.
	probe, err := net.ListenPacket("udp", address)
	if err != nil {
		return nil, fmt.Errorf("server: %v", err)
	}
	address = probe.LocalAddr().String()
	probe.Close()
	lc := net.ListenConfig{Control: reusePort}
	for i := range cfg.Workers {
		if i == 1 { // the others bind the port the first one got
			address = net.JoinHostPort(e.addr.Addr().String(), fmt.Sprint(e.addr.Port()))
		}
		w, err := e.openWorker(ctx, lc, address, cfg)
		if err != nil {
			for _, w := range e.workers {
				w.conn.Close()
			}
			return nil, err
		}
		if i == 0 {
			e.addr = w.conn.LocalAddr().(*net.UDPAddr).AddrPort()
		}
		e.workers = append(e.workers, w)
	}
	var wg sync.WaitGroup
	for _, w := range e.workers {
		wg.Add(2)
		go func() { defer wg.Done(); w.read() }()
		go func() { defer wg.Done(); w.run(ctx) }()
	}
	go func() {
		wg.Wait()
		if e.events != nil {
			close(e.events)
		}
		close(e.done)
	}()
	return e, nil
}

// Serve runs an endpoint on address until ctx is done; cfg.Handler gets
// the events.
func Serve(ctx context.Context, address string, cfg ServeConfig) error {
	if cfg.Handler == nil {
		return errors.New("server: Serve needs a Handler (use Listen to take events from a channel)")
	}
	e, err := Listen(ctx, address, cfg)
	if err != nil {
		return err
	}
	e.Wait()
	return nil
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func reusePort(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	return errors.Join(err, serr)
}

func (e *Endpoint) openWorker(ctx context.Context, lc net.ListenConfig, address string, cfg ServeConfig) (*worker, error) {
	pc, err := lc.ListenPacket(ctx, "udp", address)
	if err != nil {
		return nil, fmt.Errorf("server: %v", err)
	}
	conn := pc.(*net.UDPConn)
	granted, err := setReadBuffer(conn, cfg.ReadBuffer)
	if err != nil {
		conn.Close()
		return nil, err
	}
	e.readBuffer = granted
	srv, err := New(cfg.Server)
	if err != nil {
		conn.Close()
		return nil, err
	}
	w := &worker{ep: e, srv: srv, conn: conn, in: make(chan *readBatch, 2), free: make(chan *readBatch, 2),
		cmds: make(chan func(*Worker), 1024)}
	srv.fleet = w
	raw, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, err
	}
	w.batch = cfg.Batch
	w.writer = newBatchWriter(raw, cfg.Batch)
	for range 2 {
		w.free <- &readBatch{io: newBatchReader(raw, cfg.Batch, cfg.MaxDatagram)}
	}
	return w, nil
}

// setReadBuffer asks for want bytes of receive buffer, forcing it past
// rmem_max where the process may (CAP_NET_ADMIN), and returns what the
// kernel granted (it reports twice the usable size).
func setReadBuffer(conn *net.UDPConn, want int) (int, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, err
	}
	var got int
	cerr := raw.Control(func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, want) != nil {
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, want)
		}
		got, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	})
	return got / 2, errors.Join(cerr, err)
}

// Addr returns the address the sockets are bound to.
func (e *Endpoint) Addr() netip.AddrPort { return e.addr }

// ReadBuffer returns the receive buffer each socket got, in bytes; less
// than ServeConfig.ReadBuffer means the kernel capped it (raise
// net.core.rmem_max, or run with CAP_NET_ADMIN).
func (e *Endpoint) ReadBuffer() int { return e.readBuffer }

// Events returns the events of every worker, when ServeConfig.Handler is
// nil; the channel is closed once the endpoint has stopped.
func (e *Endpoint) Events() <-chan Event { return e.events }

// Wait returns once the endpoint has stopped.
func (e *Endpoint) Wait() { <-e.done }

// Stats returns the workers' counters added up (as of their last batch).
func (e *Endpoint) Stats() Stats {
	var sum Stats
	for _, w := range e.workers {
		w.mu.Lock()
		sum.add(w.stats)
		w.mu.Unlock()
	}
	sum.DroppedBuffered += e.dropped.Load()
	return sum
}

// Send encrypts data to a connected peer, on the worker that owns it. It
// returns ErrNoSession for a peer not connected, ErrStopped once the
// endpoint has stopped; later failures (the peer left meanwhile) are not
// reported.
func (e *Endpoint) Send(peer netip.AddrPort, data []byte) error {
	if len(data) == 0 {
		return errors.New("server: cannot send an empty datagram")
	}
	data = append([]byte(nil), data...)
	return e.toOwner(peer, func(h *Worker) { h.Send(peer, data) })
}

// Close ends the connection with peer (close_notify); a Closed event
// follows.
func (e *Endpoint) Close(peer netip.AddrPort) error {
	return e.toOwner(peer, func(h *Worker) { h.Close(peer) })
}

// ResolvePSK answers a PSKFunc that returned pending; an empty key refuses
// the client. The request is looked for on every worker. The key is
// copied, and the copy wiped once every worker has looked.
func (e *Endpoint) ResolvePSK(peer netip.AddrPort, identity, key []byte) {
	identity, key = append([]byte(nil), identity...), secret.Clone(key)
	var left atomic.Int32
	left.Store(int32(len(e.workers)))
	looked := func() {
		if left.Add(-1) == 0 {
			clear(key)
		}
	}
	for _, w := range e.workers {
		if !w.post(func(h *Worker) {
			h.ResolvePSK(peer, identity, key)
			looked()
		}) {
			looked()
		}
	}
}

// RefusePSK refuses the client of a pending PSK request.
func (e *Endpoint) RefusePSK(peer netip.AddrPort, identity []byte) {
	e.ResolvePSK(peer, identity, nil)
}

func (e *Endpoint) toOwner(peer netip.AddrPort, f func(*Worker)) error {
	peer = netip.AddrPortFrom(peer.Addr().Unmap(), peer.Port())
	w, ok := e.owners.Load(peer)
	if !ok {
		return ErrNoSession
	}
	if !w.(*worker).post(f) {
		return ErrStopped
	}
	return nil
}

// post queues f for the worker's goroutine, unless the endpoint stopped;
// it reports whether f was queued.
func (w *worker) post(f func(*Worker)) bool {
	if w.ep.ctx.Err() != nil {
		return false // a select would take a free slot as readily as the end
	}
	select {
	case w.cmds <- f:
		return true
	case <-w.ep.done:
	case <-w.ep.ctx.Done():
	}
	return false
}

// read moves batches from the socket to the worker until the socket is
// closed.
func (w *worker) read() {
	defer close(w.in)
	for b := range w.free {
		n, err := b.io.read()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			n = 0 // a transient error (ICMP-reported): read on
		}
		b.n = n
		w.in <- b
	}
}

// run drives the worker's Server until ctx is done.
func (w *worker) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	h := &Worker{w}
	for {
		var due <-chan time.Time
		if at, ok := w.srv.NextDeadline(); ok {
			timer.Reset(time.Until(at))
			due = timer.C
		}
		select {
		case b := <-w.in:
			w.input(b)
		case f := <-w.cmds:
			f(h)
			w.drain(h)
		case <-due:
			w.out = w.srv.HandleTimers(time.Now(), w.out)
		case <-ctx.Done():
			w.out = w.srv.Shutdown(w.out)
			w.flush()
			w.dispatch(h)
			w.conn.Close()
			for b := range w.in { // until the reader has seen the socket closed
				w.free <- b
			}
			return
		}
		w.flush()
		w.dispatch(h)
		w.mu.Lock()
		w.stats = w.srv.Stats()
		w.mu.Unlock()
	}
}

// drain serves the commands queued behind the one just served, up to a
// batch's worth, so that what they send (the replies of a busy
// application) leaves in one sendmmsg rather than one each.
func (w *worker) drain(h *Worker) {
	for range w.batch - 1 {
		select {
		case f := <-w.cmds:
			f(h)
		default:
			return
		}
	}
}

func (w *worker) input(b *readBatch) {
	now := time.Now()
	for i := range b.n {
		data, from, ok, cut := b.io.received(i)
		if cut {
			w.srv.stats.DroppedTooLarge++
			continue
		}
		if !ok {
			continue
		}
		w.out = w.srv.Input(now, from, data, w.out)
	}
	w.free <- b
}

// flush writes what the Server returned, in batches.
func (w *worker) flush() {
	for len(w.out) > 0 {
		ds := w.out[:min(len(w.out), w.batch)]
		sent, err := w.writer.write(ds)
		w.writeCalls.Add(1)
		for _, d := range ds[:max(sent, 0)] {
			w.srv.stats.DatagramsOut++
			w.srv.stats.BytesOut += uint64(len(d.Data))
		}
		if err != nil || sent == 0 {
			sent = 1 // skip the datagram the kernel refused (UDP: as if lost)
		}
		clear(w.out[:sent])
		w.out = w.out[sent:]
	}
	w.out = w.out[:0]
}

// dispatch hands the Server's events to the Handler or the channel, and
// keeps the owners table up to date, until the answers they got (the
// Handler's, or commands served while waiting for room) raise no more.
func (w *worker) dispatch(h *Worker) {
	for {
		w.evs = w.srv.Events(w.evs[:0])
		if len(w.evs) == 0 {
			return
		}
		for _, e := range w.evs {
			// Addresses are claimed by the Server as it takes them
			// (claimPeer); here they are only given back.
			switch e.Kind {
			case Closed:
				w.releasePeer(e.Peer)
			case Moved:
				w.releasePeer(e.OldPeer)
			}
			if w.ep.handler != nil {
				w.ep.handler(h, e)
				continue
			}
			select {
			case w.ep.events <- e:
			default:
				if e.Kind == Data {
					w.ep.dropped.Add(1)
					continue
				}
				w.waitForRoom(h, e)
			}
		}
		clear(w.evs)
		w.flush()
	}
}

// waitForRoom queues a Connected or Closed event once the channel has
// room, unless the endpoint stops. Meanwhile it serves the application's
// commands: the goroutine that reads Events may be the one blocked queueing
// them, and would otherwise wait for this worker for ever.
func (w *worker) waitForRoom(h *Worker, e Event) {
	for {
		select {
		case w.ep.events <- e:
			return
		case f := <-w.cmds:
			f(h)
		case <-w.ep.ctx.Done():
			return
		}
	}
}

// claim, release and route make the workers of an Endpoint a fleet for
// connection IDs (see fleet in server.go).
func (w *worker) claim(id string) bool {
	_, taken := w.ep.cids.LoadOrStore(id, w)
	return !taken
}

func (w *worker) release(id string) { w.ep.cids.CompareAndDelete(id, w) }

func (w *worker) holds(a netip.AddrPort) bool {
	v, ok := w.ep.owners.Load(a)
	return ok && v != w
}

// claimPeer makes w the owner of a before dispatch reports the session
// there, so that two workers cannot both put one there meanwhile.
func (w *worker) claimPeer(a netip.AddrPort) bool {
	v, loaded := w.ep.owners.LoadOrStore(a, w)
	return !loaded || v == w
}

// releasePeer gives a back to the other workers unless a session of w is
// there now: the events lag behind the Server, which may have put another
// there since (a restart, a move in), and another worker's claim while a
// Handler runs would put a second session on the address.
func (w *worker) releasePeer(a netip.AddrPort) {
	if c := w.srv.conns[a]; c == nil || !c.open {
		w.ep.owners.CompareAndDelete(a, w)
	}
}

// route queues the datagram to the worker holding id, as if that worker
// had read it. The datagram is dropped, as UDP may, when that worker's
// queue is half full: waiting could deadlock two workers routing to each
// other, and the other half is kept for the application's commands, which
// a flood of records with a known ID would otherwise make wait.
func (w *worker) route(id []byte, from netip.AddrPort, dgram []byte) bool {
	v, ok := w.ep.cids.Load(string(id))
	if !ok || v == w {
		return false
	}
	owner := v.(*worker)
	if len(owner.cmds) >= cap(owner.cmds)/2 {
		return true
	}
	d := bytes.Clone(dgram)
	select {
	case owner.cmds <- func(*Worker) { owner.out = owner.srv.Input(time.Now(), from, d, owner.out) }:
	default:
	}
	return true
}

// add adds o's counters to st.
func (st *Stats) add(o Stats) {
	st.Datagrams += o.Datagrams
	st.BytesIn += o.BytesIn
	st.DatagramsOut += o.DatagramsOut
	st.BytesOut += o.BytesOut
	st.HelloVerifies += o.HelloVerifies
	st.DroppedStranger += o.DroppedStranger
	st.DroppedBadPeer += o.DroppedBadPeer
	st.DroppedTooLarge += o.DroppedTooLarge
	st.HandshakesStarted += o.HandshakesStarted
	st.HandshakesCompleted += o.HandshakesCompleted
	st.HandshakesFailed += o.HandshakesFailed
	st.HandshakeTimeouts += o.HandshakeTimeouts
	st.Restarts += o.Restarts
	st.DuplicateHellos += o.DuplicateHellos
	st.EvictedHalfOpen += o.EvictedHalfOpen
	st.EvictedHalfOpenPerIP += o.EvictedHalfOpenPerIP
	st.EvictedIdle += o.EvictedIdle
	st.EvictedForSession += o.EvictedForSession
	st.RefusedFull += o.RefusedFull
	st.IdleTimeouts += o.IdleTimeouts
	st.DroppedBuffered += o.DroppedBuffered
	st.DroppedUnknownCID += o.DroppedUnknownCID
	st.Moves += o.Moves
	st.RefusedMoves += o.RefusedMoves
	st.RoutedCID += o.RoutedCID
	st.Sessions += o.Sessions
	st.HalfOpen += o.HalfOpen
}
