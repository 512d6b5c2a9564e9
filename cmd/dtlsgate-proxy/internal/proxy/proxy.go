// SPDX-License-Identifier: MIT

// Package proxy is dtlsgate-proxy's engine: DTLS-PSK in front of a plain
// UDP service. Devices talk DTLS to a server endpoint (core/server); every
// device that completes a handshake gets a UDP socket of its own, connected
// to its backend, so the backend sees one flow per device and its replies
// go back, encrypted, to that device alone.
//
// Goroutines: the endpoint's workers call the proxy on every event (a
// handshake completed, a datagram from a device, a session ended or moved)
// and write to the backend sockets; one poller per worker reads the
// replies of its share of the backend sockets and hands them to the
// endpoint (see backend.go). A backend socket lives exactly as long as its
// session: the session's idle timeout ends both.
package proxy

import (
	"bytes"
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dtlsgate/dtlsgate/core/cookie"
	"github.com/dtlsgate/dtlsgate/core/server"
	"github.com/dtlsgate/dtlsgate/core/verifier"
	"golang.org/x/sys/unix"
)

// Defaults of the fleet cookie settings.
const (
	DefaultFleetWindow  = time.Hour
	DefaultFleetMaxSkew = 10 * time.Second // well below the cookie lifetime of 60 s
)

// maxRecordPlaintext is the most a DTLS record carries (RFC 6347 section
// 4.1, from TLS 1.2): a larger backend datagram cannot reach its device.
const maxRecordPlaintext = 16384

// Config is what the proxy serves and how.
type Config struct {
	// Listen is the DTLS address, "host:port" ("[::]:5684" is dual stack).
	Listen string
	// Backend is the default backend, "host:port", for identities that
	// Routes does not list; "" means none: such identities are refused.
	Backend string
	// PSKFile holds the keys, `identity:hexkey` lines (GnuTLS psktool's
	// format); Reload reads it again.
	PSKFile string
	// RouteFile, if set, maps identities to backends (see ParseRoutes);
	// Reload reads it again.
	RouteFile string
	// RefuseUnrouted refuses identities that RouteFile does not list,
	// even with a Backend: their keys are not loaded, so their handshakes
	// fail as with an unknown identity.
	RefuseUnrouted bool
	// FleetKeyFile, if set, holds the fleet master key (see LoadFleetKey):
	// every node given the same key accepts the others' cookies. Reload
	// reads it again and switches to a changed key.
	FleetKeyFile string
	FleetWindow  time.Duration // 0: DefaultFleetWindow
	FleetMaxSkew time.Duration // 0: DefaultFleetMaxSkew
	// Serve holds the endpoint's settings: workers, limits, handshake
	// deadline, idle timeout, connection IDs. Its Handler, Verifier, Keys
	// and PSK are the proxy's.
	Serve server.ServeConfig
	// Logger gets one line per connect and close, and the proxy's
	// warnings; nil means slog.Default().
	Logger *slog.Logger
	// Observer hears everything the proxy does, for metrics; nil means
	// none.
	Observer Observer
}

// Proxy is a running (or ready to run) dtlsgate-proxy.
type Proxy struct {
	cfg      Config
	log      *slog.Logger
	obs      Observer
	keys     *server.KeyTable
	verifier *verifier.ClientVerifier
	fallback netip.AddrPort // the default backend; invalid when none
	routes   atomic.Pointer[map[string]netip.AddrPort]

	reload sync.Mutex // one Reload at a time
	// A handshake may look its key up before a reload and complete after
	// it, when the reload has already closed the sessions it saw. So each
	// load is a generation: a lookup notes the generation it read, and a
	// handshake whose identity lost or changed its key in a later one is
	// refused. keyGen only changes with the key table, under keyMu held to
	// write; lookups, and connects with their check and their flow, hold it
	// to read, so a reload either sees the flow or the flow sees the reload.
	keyMu   sync.RWMutex
	keyGen  uint64
	known   map[string]bool   // the identities of the table
	changed map[string]uint64 // identity -> the generation that removed or changed its key
	lookMu  sync.Mutex
	lookups map[netip.AddrPort]lookup
	maxLive int // the most handshakes the endpoint holds past their key lookup
	ep      *server.Endpoint
	ready   chan struct{} // closed once ep is set
	flows   sync.Map      // netip.AddrPort (the device now) -> *flow
	pollers []*poller
	spread  atomic.Uint64 // picks the poller of the next worker
	// workerPoller: *server.Worker -> *poller, the poller of each worker's
	// flows
	workerPoller sync.Map
}

// flow is one device's session and its backend socket.
type flow struct {
	identity string
	cipher   string
	cid      []byte
	backend  netip.AddrPort
	fd       int // the backend socket
	poller   *poller
	peer     atomic.Pointer[netip.AddrPort]
	started  time.Time

	toBackend, fromBackend atomic.Uint64 // bytes
}

func (f *flow) session() Session {
	return Session{Identity: f.identity, Peer: *f.peer.Load(), Cipher: f.cipher, Backend: f.backend, ConnectionID: f.cid}
}

// New checks cfg and reads its files; the proxy starts with Start or Run.
// Errors name the file and line at fault.
func New(cfg Config) (*Proxy, error) {
	if cfg.Listen == "" {
		return nil, errors.New("proxy: no listen address")
	}
	if cfg.PSKFile == "" {
		return nil, errors.New("proxy: no PSK file")
	}
	if cfg.Backend == "" && cfg.RouteFile == "" {
		return nil, errors.New("proxy: no backend: give a default backend, a route file, or both")
	}
	if cfg.FleetWindow == 0 {
		cfg.FleetWindow = DefaultFleetWindow
	}
	if cfg.FleetMaxSkew == 0 {
		cfg.FleetMaxSkew = DefaultFleetMaxSkew
	}
	cfg.Serve.Workers = cmp.Or(cfg.Serve.Workers, runtime.NumCPU()) // as Listen would
	p := &Proxy{cfg: cfg, log: cfg.Logger, obs: cfg.Observer, keys: server.NewKeyTable(), ready: make(chan struct{}),
		known: map[string]bool{}, changed: map[string]uint64{}, lookups: map[netip.AddrPort]lookup{}}
	p.maxLive = cfg.Serve.Workers * cmp.Or(cfg.Serve.Server.MaxHalfOpen, server.DefaultMaxHalfOpen)
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.obs == nil {
		p.obs = NopObserver{}
	}
	p.verifier = cfg.Serve.Server.Verifier
	if p.verifier == nil {
		p.verifier = verifier.New()
	}
	if cfg.Backend != "" {
		a, err := ResolveBackend(cfg.Backend)
		if err != nil {
			return nil, fmt.Errorf("proxy: %v", err)
		}
		p.fallback = a
	}
	if _, _, err := p.load(); err != nil {
		return nil, err
	}
	return p, nil
}

// load reads the route, key and fleet key files and puts them in place;
// on error nothing changes. It returns the keys that the sessions of each
// identity were not established with any more (removed or changed), and
// how many keys it loaded.
func (p *Proxy) load() (gone map[string]bool, loaded int, err error) {
	routes := map[string]netip.AddrPort{}
	if p.cfg.RouteFile != "" {
		if routes, err = LoadRoutes(p.cfg.RouteFile); err != nil {
			return nil, 0, fmt.Errorf("proxy: route file %v", err)
		}
	}
	keys, err := server.ReadKeyFile(p.cfg.PSKFile)
	if err != nil {
		return nil, 0, fmt.Errorf("proxy: PSK file %v", err)
	}
	defer func() {
		for _, k := range keys {
			clear(k)
		}
	}()
	for id, k := range keys {
		if _, ok := p.routeIn(routes, id); !ok {
			clear(k)
			delete(keys, id)
		}
	}
	var fleetKey []byte
	if p.cfg.FleetKeyFile != "" {
		if fleetKey, err = LoadFleetKey(p.cfg.FleetKeyFile); err != nil {
			return nil, 0, fmt.Errorf("proxy: fleet key file: %v", err)
		}
		defer clear(fleetKey)
	}

	if fleetKey != nil {
		if err := p.setFleet(fleetKey); err != nil {
			return nil, 0, err
		}
	}
	p.keyMu.Lock()
	defer p.keyMu.Unlock()
	gone = map[string]bool{}
	for id := range p.known {
		old, _ := p.keys.Lookup([]byte(id))
		k, ok := keys[id]
		if !ok || subtle.ConstantTimeCompare(old, k) != 1 {
			gone[id] = true
		}
		clear(old)
	}
	if err := p.keys.Replace(keys); err != nil {
		return nil, 0, fmt.Errorf("proxy: PSK file %s: %v", p.cfg.PSKFile, err)
	}
	p.keyGen++
	for id := range gone {
		p.changed[id] = p.keyGen
	}
	clear(p.known)
	for id := range keys {
		p.known[id] = true
	}
	p.routes.Store(&routes)
	return gone, len(keys), nil
}

// setFleet puts the verifier in fleet mode with key, unless it already is
// with this very key (a reload of an unchanged file).
func (p *Proxy) setFleet(key []byte) error {
	g := p.verifier.Generator()
	if cur, ok := g.Fleet(); ok {
		same := bytes.Equal(cur.MasterKey, key)
		clear(cur.MasterKey)
		if same {
			return nil
		}
	}
	if err := g.SetFleet(cookie.FleetConfig{MasterKey: key, Window: p.cfg.FleetWindow, MaxSkew: p.cfg.FleetMaxSkew}); err != nil {
		return fmt.Errorf("proxy: fleet key: %v", err)
	}
	return nil
}

// Reload reads the files again (SIGHUP): sessions go on, except those
// whose identity lost its key, got a different one or goes to another
// backend now, which are closed (close_notify). On error nothing changes and the old files stay in
// force.
func (p *Proxy) Reload() error {
	p.reload.Lock()
	defer p.reload.Unlock()
	gone, loaded, err := p.load()
	if err != nil {
		return err
	}
	ended := 0
	p.flows.Range(func(k, v any) bool {
		// A session whose identity now goes elsewhere ends too: the
		// operator moved it off its backend.
		f := v.(*flow)
		if backend, ok := p.route(f.identity); gone[f.identity] || !ok || backend != f.backend {
			if p.ep.Close(k.(netip.AddrPort)) == nil {
				ended++
			}
		}
		return true
	})
	p.log.Info("reloaded", "keys", loaded, "routes", len(*p.routes.Load()), "sessions_ended", ended)
	return nil
}

// Start opens the sockets and starts serving; the proxy runs until ctx
// is done, then sends close_notify to every device (Wait returns once it
// has).
func (p *Proxy) Start(ctx context.Context) error {
	sc := p.cfg.Serve
	sc.Server.Verifier, sc.Server.Keys, sc.Server.PSK = p.verifier, nil, p.lookupKey
	sc.Handler = p.handle
	if budget, ok := descriptorBudget(sc.Workers); ok {
		if budget < 1 {
			return errors.New("proxy: the file descriptor limit (ulimit -n) leaves no room for sessions")
		}
		if asked := cmp.Or(sc.Server.MaxSessions, server.DefaultMaxSessions); asked > budget {
			p.log.Warn("fewer sessions than asked: each needs a backend socket; raise the file descriptor limit (LimitNOFILE=) for more",
				"max_sessions", budget, "asked", asked)
			sc.Server.MaxSessions = budget
		}
	}
	if err := p.makePollers(sc.Workers); err != nil {
		return err
	}
	ep, err := server.Listen(ctx, p.cfg.Listen, sc)
	if err != nil {
		p.stopPollers()
		return fmt.Errorf("proxy: %v", err)
	}
	p.ep = ep
	close(p.ready)
	p.runPollers()
	attrs := []any{"address", ep.Addr().String(), "read_buffer", ep.ReadBuffer(), "keys", p.keys.Len()}
	if p.fallback.IsValid() {
		attrs = append(attrs, "backend", p.fallback.String())
	}
	p.log.Info("listening", attrs...)
	return nil
}

// fdReserve is the descriptors kept from sessions: reloads open files,
// the metrics endpoint accepts connections, the logs may go to a file.
const fdReserve = 64

// descriptorBudget returns how many backend sockets the process's file
// descriptor limit leaves room for, besides those open now, each worker's
// socket and poller, and fdReserve; ok is false where it cannot tell.
func descriptorBudget(workers int) (budget int, ok bool) {
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) != nil || lim.Cur == unix.RLIM_INFINITY {
		return 0, false
	}
	open, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, false
	}
	return int(min(lim.Cur, 1<<30)) - len(open) - 2*workers - fdReserve, true
}

// Wait returns once the proxy has stopped and every backend socket is
// closed.
func (p *Proxy) Wait() {
	p.ep.Wait()
	// The endpoint reports every session's end before it stops; this is
	// for sessions it could not report (the context ended while it waited).
	p.flows.Clear()
	p.stopPollers()
}

// Run is Start, then Wait.
func (p *Proxy) Run(ctx context.Context) error {
	if err := p.Start(ctx); err != nil {
		return err
	}
	p.Wait()
	return nil
}

// Addr returns the address the proxy listens on (once started).
func (p *Proxy) Addr() netip.AddrPort { return p.ep.Addr() }

// Stats returns the endpoint's counters (zero before Start).
func (p *Proxy) Stats() server.Stats {
	select {
	case <-p.ready:
		return p.ep.Stats()
	default:
		return server.Stats{}
	}
}

// route returns the backend of identity.
func (p *Proxy) route(identity string) (netip.AddrPort, bool) {
	return p.routeIn(*p.routes.Load(), identity)
}

// routeIn returns the backend of identity by routes: its own, the default
// one, or none when unrouted identities are refused or there is no default.
func (p *Proxy) routeIn(routes map[string]netip.AddrPort, identity string) (netip.AddrPort, bool) {
	if a, ok := routes[identity]; ok {
		return a, true
	}
	if p.cfg.RefuseUnrouted || !p.fallback.IsValid() {
		return netip.AddrPort{}, false
	}
	return p.fallback, true
}

// handle runs on the worker that owns e.Peer, in order for each peer.
func (p *Proxy) handle(w *server.Worker, e server.Event) {
	switch e.Kind {
	case server.Connected:
		p.connected(w, e)
	case server.Data:
		v, ok := p.flows.Load(e.Peer)
		if !ok {
			p.obs.Dropped(DropNoBackend)
			return
		}
		f := v.(*flow)
		if err := writeBackend(f.fd, e.Data); err != nil {
			p.obs.BackendError("write", err)
			p.obs.Dropped(DropBackendWrite)
			return
		}
		f.toBackend.Add(uint64(len(e.Data)))
		p.obs.Datagram(ToBackend, len(e.Data))
	case server.Moved:
		v, ok := p.flows.LoadAndDelete(e.OldPeer)
		if !ok {
			return
		}
		f := v.(*flow)
		peer := e.Peer
		f.peer.Store(&peer)
		p.flows.Store(e.Peer, f)
		p.log.Info("moved", "identity", f.identity, "peer", e.Peer.String(), "from", e.OldPeer.String())
		p.obs.Moved(f.session(), e.OldPeer)
	case server.Closed:
		v, ok := p.flows.LoadAndDelete(e.Peer)
		if !ok {
			return // refused at Connected: logged there
		}
		f := v.(*flow)
		f.poller.close(f)
		lasted := time.Since(f.started)
		attrs := []any{"identity", f.identity, "peer", e.Peer.String(), "cipher", f.cipher,
			"reason", e.Reason.String(), "duration", lasted.Round(time.Millisecond).String(),
			"bytes_to_backend", f.toBackend.Load(), "bytes_from_backend", f.fromBackend.Load()}
		if e.Err != "" && e.Reason != server.ClosedByPeer { // a close_notify's "error" says nothing new
			attrs = append(attrs, "error", e.Err)
		}
		p.log.Info("close", attrs...)
		p.obs.Closed(f.session(), e.Reason.String(), lasted, f.toBackend.Load(), f.fromBackend.Load())
	}
}

// lookup is a key handed to a handshake: the generation it came from,
// when, and the copy the endpoint was given, wiped once the handshake
// is over.
type lookup struct {
	gen uint64
	at  time.Time
	key []byte
}

// lookupKey is the endpoint's PSKFunc: the key table's key, noted with
// its generation for connected.
func (p *Proxy) lookupKey(peer netip.AddrPort, identity []byte) ([]byte, bool) {
	p.keyMu.RLock()
	defer p.keyMu.RUnlock()
	key, ok := p.keys.Lookup(identity)
	if !ok {
		return nil, false
	}
	p.lookMu.Lock()
	defer p.lookMu.Unlock()
	clear(p.lookups[peer].key)
	p.lookups[peer] = lookup{gen: p.keyGen, at: time.Now(), key: key}
	if len(p.lookups) >= 2*p.maxLive {
		p.trimLookups()
	}
	return key, false
}

// trimLookups keeps the newest maxLive lookups. A handshake that fails
// leaves its lookup behind (the endpoint reports only those that
// complete), and anyone who knows an identity can make one; the live
// ones are at most maxLive, and the endpoint itself evicts the oldest
// handshakes under a flood. lookMu is held.
func (p *Proxy) trimLookups() {
	times := make([]time.Time, 0, len(p.lookups))
	for _, l := range p.lookups {
		times = append(times, l.at)
	}
	slices.SortFunc(times, time.Time.Compare)
	oldest := times[len(times)-p.maxLive]
	for a, l := range p.lookups {
		if l.at.Before(oldest) {
			clear(l.key)
			delete(p.lookups, a)
		}
	}
}

// current reports whether the key that peer's handshake looked up for
// identity is still the identity's key; keyMu is held to read.
func (p *Proxy) current(peer netip.AddrPort, identity string) bool {
	p.lookMu.Lock()
	l, ok := p.lookups[peer]
	delete(p.lookups, peer)
	p.lookMu.Unlock()
	clear(l.key)
	return ok && p.changed[identity] <= l.gen
}

func (p *Proxy) connected(w *server.Worker, e server.Event) {
	id := string(e.Identity)
	p.keyMu.RLock()
	defer p.keyMu.RUnlock()
	refuse := func(drop DropReason, why string, err error) {
		attrs := []any{"identity", id, "peer", e.Peer.String(), "reason", why}
		if err != nil {
			attrs = append(attrs, "error", err.Error())
		}
		p.log.Warn("refused", attrs...)
		p.obs.Dropped(drop)
		w.Close(e.Peer)
	}
	if !p.current(e.Peer, id) {
		refuse(DropKeyChanged, "its key was removed or changed during the handshake", nil)
		return
	}
	backend, ok := p.route(id)
	if !ok {
		// Possible only when a reload removed the route during the
		// handshake: the key table holds routed identities alone.
		refuse(DropNoBackend, "no backend for this identity", nil)
		return
	}
	fd, err := dialBackend(backend)
	if err != nil {
		p.obs.BackendError("dial", err)
		refuse(DropNoBackend, "backend socket", err)
		return
	}
	f := &flow{identity: id, cipher: e.Cipher.Name, cid: e.ConnectionID, backend: backend, fd: fd, started: time.Now()}
	peer := e.Peer
	f.peer.Store(&peer) // before its poller can read a reply for it
	if err := p.pollerOf(w).add(f); err != nil {
		unix.Close(fd)
		p.obs.BackendError("dial", err)
		refuse(DropNoBackend, "backend socket", err)
		return
	}
	if afterAdd != nil {
		afterAdd(w, f)
	}
	p.flows.Store(e.Peer, f)
	if p.log.Enabled(context.Background(), slog.LevelInfo) { // the attributes cost a getsockname
		attrs := []any{"identity", id, "peer", e.Peer.String(), "cipher", f.cipher, "backend", backend.String(),
			"local", localAddr(fd), "handshake", e.Handshake.Round(time.Microsecond).String()}
		if len(e.ConnectionID) > 0 {
			attrs = append(attrs, "cid", fmt.Sprintf("%x", e.ConnectionID))
		}
		p.log.Info("connect", attrs...)
	}
	p.obs.Connected(f.session(), e.Handshake)
}

// afterAdd, set by tests, runs once a flow's socket is in its poller,
// which may read it from then on.
var afterAdd func(*server.Worker, *flow)

// deliver sends a datagram the backend sent to its device.
func (p *Proxy) deliver(r *reply) {
	switch {
	case r.err != nil:
		p.obs.BackendError("read", r.err)
	case r.n == 0 || r.n > maxRecordPlaintext:
		p.obs.Dropped(DropTooLarge)
	case p.ep.Send(*r.f.peer.Load(), r.data) != nil:
		p.obs.Dropped(DropDeviceGone)
	default:
		r.f.fromBackend.Add(uint64(r.n))
		p.obs.Datagram(FromBackend, r.n)
	}
}
