// SPDX-License-Identifier: MIT

package server

import (
	"bytes"
	"crypto/rand"
	"errors"
	"net/netip"
	"slices"
	"time"

	"github.com/dtlsgate/dtlsgate/core/dtlserror"
	"github.com/dtlsgate/dtlsgate/core/psk"
	"github.com/dtlsgate/dtlsgate/core/session"
	"github.com/dtlsgate/dtlsgate/core/verifier"
	"github.com/dtlsgate/dtlsgate/core/wire"
)

// Datagram is one datagram to send.
type Datagram struct {
	To   netip.AddrPort
	Data []byte
}

// EventKind says what an Event reports.
type EventKind uint8

const (
	Connected EventKind = iota + 1 // a handshake completed
	Data                           // application data arrived
	Closed                         // a connected session ended
	// Moved: a connected peer's address changed (RFC 9146 section 6): a
	// record with its connection ID came from Peer, authenticated, and
	// was newer than any before; OldPeer is where it was. Data goes to
	// Peer from now on.
	Moved
)

func (k EventKind) String() string {
	switch k {
	case Connected:
		return "Connected"
	case Data:
		return "Data"
	case Closed:
		return "Closed"
	case Moved:
		return "Moved"
	}
	return "EventKind(?)"
}

// CloseReason says why a connected session ended.
type CloseReason uint8

const (
	ClosedByPeer   CloseReason = iota + 1 // the peer sent close_notify
	ClosedFatal                           // a fatal alert, or an error that ended the connection
	ClosedByApp                           // Server.Close
	ClosedIdle                            // IdleTimeout
	ClosedEvicted                         // made room for a newcomer under MaxSessions
	ClosedReplaced                        // the client restarted: a new handshake from its address completed
	ClosedShutdown                        // Server.Shutdown
)

func (r CloseReason) String() string {
	return [...]string{"CloseReason(?)", "ClosedByPeer", "ClosedFatal", "ClosedByApp", "ClosedIdle",
		"ClosedEvicted", "ClosedReplaced", "ClosedShutdown"}[min(int(r), 7)]
}

// Event is what the application hears about its peers. Only a peer that
// got Connected gets Closed: handshakes that never completed are counted in
// Stats, not reported.
type Event struct {
	Kind     EventKind
	Peer     netip.AddrPort
	Identity []byte         // Connected: the client's PSK identity
	Cipher   session.Suite  // Connected: the negotiated suite
	Data     []byte         // Data: the application's to keep
	Reason   CloseReason    // Closed
	Err      string         // Closed: what the session said, if anything
	OldPeer  netip.AddrPort // Moved: the address the peer had before
	// ConnectionID is, on Connected, the connection ID the server gave
	// the session (nil without one; the application's to keep).
	ConnectionID []byte
	// Handshake is, on Connected, how long the handshake took: from the
	// verified ClientHello that started it to its completion, by the
	// server's clock.
	Handshake time.Duration
}

// Errors of the calls that name a peer.
var (
	ErrNoSession = errors.New("server: no connected session with this peer")
	ErrStopped   = errors.New("server: the endpoint has stopped")
	ErrNoRequest = errors.New("server: no PSK request from this peer for this identity")
)

// Server is a DTLS server endpoint without I/O: the caller passes in every
// datagram with its source (Input) and sends every datagram the calls
// return, serves timers (NextDeadline, HandleTimers), and takes events
// (Events). A Server is not safe for concurrent use: one goroutine drives
// it. Datagram.Data slices returned are the caller's once returned.
type Server struct {
	cfg  Config
	scfg session.Config // for every session: the server's clock and PSK lookup
	now  time.Time

	conns map[netip.AddrPort]*conn // by address; a restart hangs off its primary
	cids  map[string]*conn         // by connection ID, restarts included
	// fleet, when the server is one of the workers of an Endpoint, keeps
	// connection IDs unique across them and passes a record to the worker
	// holding its ID; alone otherwise.
	fleet       fleet
	count       int                  // every conn, restarts included
	halfOpen    list                 // handshakes in progress, oldest first
	established list                 // least recently active first
	perIP       map[netip.Addr]*list // half-open handshakes by source (sourceOf)
	timers      timers

	events []Event
	dirty  []*conn // conns with buffered bytes, reset by Events
	stats  Stats
	curr   *conn // the conn whose session is being driven: the PSK lookup's client
}

// New returns a Server with cfg, defaults filled in.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:   cfg,
		conns: make(map[netip.AddrPort]*conn),
		cids:  make(map[string]*conn),
		perIP: make(map[netip.Addr]*list),
		fleet: alone{},
	}
	s.scfg = cfg.Session
	s.scfg.Now = s.clock
	s.scfg.PSK = s.lookupKey
	if _, err := session.New(session.Server, s.scfg); err != nil {
		return nil, err
	}
	return s, nil
}

// Config returns the configuration in effect, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Stats returns the counters.
func (s *Server) Stats() Stats {
	st := s.stats
	st.Sessions, st.HalfOpen = s.count, s.halfOpen.n
	return st
}

func (s *Server) clock() time.Time { return s.now }

// Input handles one datagram from a peer at time now and appends what to
// send to out. The datagram is not kept: its buffer is the caller's again
// when Input returns.
func (s *Server) Input(now time.Time, from netip.AddrPort, dgram []byte, out []Datagram) []Datagram {
	s.now = now
	s.stats.Datagrams++
	s.stats.BytesIn += uint64(len(dgram))
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	if from.Addr().IsUnspecified() {
		// The verifier lets it through, as Qt's does; but Linux routes a
		// reply to :: to loopback, onto this very host.
		s.stats.DroppedBadPeer++
		return out
	}
	if len(dgram) > 0 && dgram[0] == wire.ContentTypeConnectionID && s.cfg.ConnectionIDLength > 0 {
		return s.inputCID(from, dgram, out)
	}
	var reply [verifier.MaxReplySize]byte
	res, n, err := s.cfg.Verifier.Check(dgram, from, reply[:])
	switch {
	case err != nil:
		s.stats.DroppedBadPeer++
		return out
	case res == verifier.SendReply:
		// Stateless: nothing is kept for a hello without a valid cookie.
		s.stats.HelloVerifies++
		return appendCopy(out, from, reply[:n])
	case res == verifier.Verified:
		return s.hello(from, dgram, out)
	}
	c := s.conns[from]
	if c == nil {
		s.stats.DroppedStranger++
		return out
	}
	return s.deliver(c, dgram, out)
}

// inputCID handles a datagram that starts with a tls12_cid record: its
// session is found by connection ID, whatever the address. A record from a
// new address moves an established session there only if the session says
// it authenticated and was the newest of its epoch (RFC 9146 section 6).
func (s *Server) inputCID(from netip.AddrPort, dgram []byte, out []Datagram) []Datagram {
	id, ok := wire.RecordConnectionID(dgram, s.cfg.ConnectionIDLength)
	c := s.cids[string(id)]
	switch {
	// Not routed from an address this server holds: the session would
	// move onto it, and the others know only of connected sessions, not
	// of a handshake here.
	case c == nil && ok && s.conns[from] == nil && s.fleet.route(id, from, dgram):
		s.stats.RoutedCID++
		return out
	case c == nil:
		s.stats.DroppedUnknownCID++
		return out
	case c.peer == from:
		return s.deliver(c, dgram, out)
	case !c.open:
		// A handshake stays where it started.
		s.stats.RefusedMoves++
		return out
	}
	base := len(s.events)
	out = s.drive(c, dgram, out)
	// The session decides first: a record it does not accept (forged,
	// replayed, older) must not take the address from the others even for
	// a moment.
	if s.cids[c.cid] != c || s.conns[from] != nil || !c.s.MovePeer(from) {
		s.stats.RefusedMoves++
		return out
	}
	if !s.fleet.claimPeer(from) {
		c.s.MovePeer(c.peer) // back: the same record allows it
		s.stats.RefusedMoves++
		return out
	}
	s.move(c, from, base)
	return out
}

// move makes to the address of c, which the session accepted and no other
// session holds. The events from base on came from the record that moved
// c: the Moved event goes before them, and the data they carry is from the
// new address.
func (s *Server) move(c *conn, to netip.AddrPort, base int) {
	if c.restart != nil {
		s.remove(c.restart) // a handshake from the address c left
	}
	old := c.peer
	delete(s.conns, old)
	s.conns[to], c.peer = c, to
	s.stats.Moves++
	base = min(base, len(s.events))
	s.events = slices.Insert(s.events, base, Event{Kind: Moved, Peer: to, OldPeer: old})
	for i := base + 1; i < len(s.events); i++ {
		if s.events[i].Peer == old {
			s.events[i].Peer = to
		}
	}
}

// newCID draws a connection ID that no session of this server (or of its
// fleet) holds, with the node byte first; "" when a few tries all
// collided, which only short IDs on a full server make likely: the client
// then goes without.
func (s *Server) newCID() string {
	b := make([]byte, s.cfg.ConnectionIDLength)
	for range 8 {
		if _, err := rand.Read(b); err != nil {
			return ""
		}
		if s.cfg.NodeID != 0 {
			b[0] = byte(s.cfg.NodeID)
		}
		id := string(b)
		if s.cids[id] == nil && s.fleet.claim(id) {
			return id
		}
	}
	return ""
}

// appendCopy appends a datagram holding a copy of b, reusing the buffer a
// previous use of out's next slot left there.
func appendCopy(out []Datagram, to netip.AddrPort, b []byte) []Datagram {
	var buf []byte
	if len(out) < cap(out) {
		buf = out[:len(out)+1][len(out)].Data[:0]
	}
	return append(out, Datagram{To: to, Data: append(buf, b...)})
}

// MaxHello is the longest ClientHello datagram the server starts a
// handshake from. A real one is a few hundred bytes (suites, a few
// extensions, the cookie); a handshake keeps its hello twice, so without
// this bound one peer past the cookie exchange could park 130 KB in each.
const MaxHello = 2048

// hello handles a ClientHello with a valid cookie.
func (s *Server) hello(from netip.AddrPort, dgram []byte, out []Datagram) []Datagram {
	if len(dgram) > MaxHello {
		s.stats.DroppedTooLarge++
		return out
	}
	ch, err := wire.ParseClientHello(dgram)
	if err != nil || len(ch.Random) != 32 {
		return out // the verifier parsed it: cannot happen
	}
	random := [32]byte(ch.Random)
	c := s.conns[from]
	switch {
	case c == nil && s.fleet.holds(from):
		// A session of another server moved here (connection IDs): two
		// sessions must not share an address, and this server cannot
		// replace the other's as a restart would.
		s.stats.DroppedBadPeer++
		return out
	case c == nil:
		return s.start(from, random, [32]byte{}, dgram, nil, out, ch)
	case c.random == random:
		// A copy (the network's, or the client's retransmission): never a
		// restart. A handshake in progress answers it as a retransmission.
		s.stats.DuplicateHellos++
		if c.open {
			return out
		}
		return s.deliver(c, dgram, out)
	case c.restart != nil && c.restart.random == random:
		s.stats.DuplicateHellos++
		return s.drive(c.restart, dgram, out)
	case random != [32]byte{} && (random == c.older || c.restart != nil && random == c.restart.older):
		// A late copy of the hello of a handshake that a newer one from
		// this address replaced: taken back, it would kill the newer one,
		// whose client is past its hello and would never connect.
		s.stats.DuplicateHellos++
		return out
	case c.open:
		// RFC 6347 4.2.8: the client restarted. The old session stays
		// until the new handshake completes.
		s.stats.Restarts++
		return s.start(from, random, [32]byte{}, dgram, c, out, ch)
	}
	// A new hello during a handshake: the client started over.
	older := c.random
	s.remove(c)
	return s.start(from, random, older, dgram, nil, out, ch)
}

// start creates a session for a verified hello, making room first; older
// is the random of the handshake it replaces, if any.
func (s *Server) start(from netip.AddrPort, random, older [32]byte, dgram []byte, primary *conn, out []Datagram, ch wire.ClientHello) []Datagram {
	out, ok := s.makeRoom(sourceOf(from), primary, out)
	if !ok {
		s.stats.RefusedFull++
		return out
	}
	cfg, cid := s.scfg, ""
	if _, offered := wire.FindExtension(ch.Extensions, wire.ExtensionConnectionID); offered && s.cfg.ConnectionIDLength > 0 {
		// The ID is drawn here, not by the session, so that it is unique
		// and carries the node byte.
		if cid = s.newCID(); cid != "" {
			cfg.ConnectionID = []byte(cid)
		}
	}
	sess, err := session.New(session.Server, cfg)
	if err != nil || !sess.SetPeer(from) {
		s.releaseCID(cid)
		s.stats.DroppedBadPeer++
		return out
	}
	c := &conn{peer: from, s: sess, random: random, older: older, primary: primary, hidx: -1, cid: cid, active: s.now}
	if cid != "" {
		s.cids[cid] = c
	}
	if primary != nil {
		if primary.restart != nil {
			c.older = primary.restart.random
			s.remove(primary.restart)
		}
		primary.restart = c
	} else {
		s.conns[from] = c
	}
	s.count++
	s.halfOpen.pushBack(c)
	ip := s.perIP[sourceOf(from)]
	if ip == nil {
		ip = &list{k: 1}
		s.perIP[sourceOf(from)] = ip
	}
	ip.pushBack(c)
	s.stats.HandshakesStarted++
	return s.drive(c, dgram, out)
}

// makeRoom applies the limits before a new handshake from ip; keep is a
// session that must not be chosen (the one a restart would replace). It
// reports false when the newcomer must be refused.
func (s *Server) makeRoom(ip netip.Addr, keep *conn, out []Datagram) ([]Datagram, bool) {
	if l := s.perIP[ip]; l != nil && l.n >= s.cfg.MaxHalfOpenPerIP {
		s.stats.EvictedHalfOpenPerIP++
		s.remove(l.head)
	}
	if s.halfOpen.n >= s.cfg.MaxHalfOpen {
		s.stats.EvictedHalfOpen++
		s.remove(s.halfOpen.head)
	}
	if s.count < s.cfg.MaxSessions {
		return out, true
	}
	if e := s.established.head; e != nil && e != keep && !e.active.After(s.now.Add(-s.cfg.IdleAfter)) {
		s.stats.EvictedIdle++
		return s.closeConn(e, ClosedEvicted, out), true
	}
	if h := s.halfOpen.head; h != nil {
		s.stats.EvictedForSession++
		s.remove(h)
		return out, true
	}
	return out, false
}

// deliver hands a datagram to the session of its address and to the
// handshake that would replace it, if any: each authenticates what it
// takes, so what is not its own it drops.
func (s *Server) deliver(c *conn, dgram []byte, out []Datagram) []Datagram {
	if r := c.restart; r != nil {
		// The engine may decrypt in place: each gets its own copy.
		out = s.drive(r, bytes.Clone(dgram), out)
		if s.conns[c.peer] != c {
			return out // the new session replaced c
		}
	}
	return s.drive(c, dgram, out)
}

// drive passes a datagram to one session and acts on the outcome.
func (s *Server) drive(c *conn, dgram []byte, out []Datagram) []Datagram {
	s.curr = c
	if !c.open {
		c.s.DoHandshake(dgram)
		return s.progress(c, false, out)
	}
	data := c.s.DecryptDatagram(dgram)
	out = s.flush(c, out)
	if len(data) > 0 {
		s.touch(c)
		s.queueData(c, data)
	}
	if !c.s.IsConnectionEncrypted() {
		reason := ClosedFatal
		if c.s.DtlsError() == dtlserror.RemoteClosedConnectionError {
			reason = ClosedByPeer
		}
		s.emit(Event{Kind: Closed, Peer: c.peer, Reason: reason, Err: c.s.DtlsErrorString()})
		s.remove(c)
	}
	return out
}

// flush appends what c's session queued.
func (s *Server) flush(c *conn, out []Datagram) []Datagram {
	for _, d := range c.s.Outgoing() {
		out = append(out, Datagram{To: c.peer, Data: d})
	}
	return out
}

// progress sends what a handshake queued and acts on its state after a
// call; byTimer says the call was HandleTimeout, whose failures are
// timeouts.
func (s *Server) progress(c *conn, byTimer bool, out []Datagram) []Datagram {
	if c.s.HandshakeState() == session.HandshakeComplete && c.primary == nil && !s.fleet.claimPeer(c.peer) {
		// A session of another server moved here during the handshake
		// (connection IDs; a record routed before this handshake began):
		// two sessions must not share an address. The client is not
		// told it is in.
		c.s.Outgoing()
		s.stats.HandshakesFailed++
		s.remove(c)
		return out
	}
	out = s.flush(c, out)
	switch c.s.HandshakeState() {
	case session.HandshakeInProgress:
		d, _ := c.s.Timeout()
		s.timers.set(c, s.now.Add(max(d, time.Millisecond)))
	case session.HandshakeComplete:
		s.connected(c)
	default:
		if byTimer {
			s.stats.HandshakeTimeouts++
		} else {
			s.stats.HandshakesFailed++
		}
		s.remove(c)
	}
	return out
}

// connected moves a completed handshake to the established sessions, in
// place of the session it restarts, if any.
func (s *Server) connected(c *conn) {
	s.stats.HandshakesCompleted++
	s.halfOpen.remove(c)
	s.leaveIP(c)
	c.open = true
	if p := c.primary; p != nil {
		c.primary, p.restart = nil, nil
		s.emit(Event{Kind: Closed, Peer: p.peer, Reason: ClosedReplaced})
		s.remove(p)
		s.conns[c.peer] = c
	}
	took := s.now.Sub(c.active)
	c.active = s.now
	s.established.pushBack(c)
	s.setIdleTimer(c)
	suite, _ := c.s.SessionCipher()
	e := Event{Kind: Connected, Peer: c.peer, Identity: c.identity, Cipher: suite, Handshake: took}
	if id, ok := c.s.ConnectionID(); ok && len(id) > 0 {
		e.ConnectionID = bytes.Clone(id)
	}
	s.emit(e)
}

func (s *Server) setIdleTimer(c *conn) {
	if s.cfg.IdleTimeout > 0 {
		s.timers.set(c, c.active.Add(s.cfg.IdleTimeout))
	} else {
		s.timers.set(c, time.Time{})
	}
}

// touch records activity on an established session. Its idle timer is
// moved lazily, when it fires.
func (s *Server) touch(c *conn) {
	c.active = s.now
	s.established.remove(c)
	s.established.pushBack(c)
}

func (s *Server) queueData(c *conn, data []byte) {
	if c.buffered+len(data) > s.cfg.MaxBufferedBytes {
		s.stats.DroppedBuffered++
		return
	}
	if c.buffered == 0 {
		s.dirty = append(s.dirty, c)
	}
	c.buffered += len(data)
	s.emit(Event{Kind: Data, Peer: c.peer, Data: data})
}

func (s *Server) emit(e Event) { s.events = append(s.events, e) }

// sourceOf is what MaxHalfOpenPerIP counts by: an IPv4 address, or an
// IPv6 /64, which one host usually has whole.
func sourceOf(peer netip.AddrPort) netip.Addr {
	a := peer.Addr()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

func (s *Server) leaveIP(c *conn) {
	ip := sourceOf(c.peer)
	if l := s.perIP[ip]; l != nil {
		l.remove(c)
		if l.n == 0 {
			delete(s.perIP, ip)
		}
	}
}

// remove forgets c (and the handshake that would replace it), wiping its
// keys, without telling the peer or the application.
func (s *Server) remove(c *conn) {
	if c.restart != nil {
		s.remove(c.restart)
	}
	if c.open {
		s.established.remove(c)
	} else {
		s.halfOpen.remove(c)
		s.leaveIP(c)
	}
	s.timers.set(c, time.Time{})
	switch {
	case c.primary != nil:
		c.primary.restart = nil
	case s.conns[c.peer] == c:
		delete(s.conns, c.peer)
	}
	if s.cids[c.cid] == c {
		delete(s.cids, c.cid)
		s.releaseCID(c.cid)
	}
	s.count--
	c.s.Close()
}

// releaseCID gives a connection ID back to the fleet.
func (s *Server) releaseCID(id string) {
	if id != "" {
		s.fleet.release(id)
	}
}

// closeConn ends a connected session with close_notify and reports it.
func (s *Server) closeConn(c *conn, reason CloseReason, out []Datagram) []Datagram {
	c.s.Shutdown()
	out = s.flush(c, out)
	s.emit(Event{Kind: Closed, Peer: c.peer, Reason: reason})
	s.remove(c)
	return out
}

// Events appends the events that happened since the last call to dst and
// returns it. Data slices are the application's.
func (s *Server) Events(dst []Event) []Event {
	dst = append(dst, s.events...)
	clear(s.events)
	s.events = s.events[:0]
	for _, c := range s.dirty {
		c.buffered = 0
	}
	clear(s.dirty)
	s.dirty = s.dirty[:0]
	return dst
}

// NextDeadline returns when HandleTimers must next be called; false when
// no timer runs.
func (s *Server) NextDeadline() (time.Time, bool) {
	if len(s.timers) == 0 {
		return time.Time{}, false
	}
	return s.timers[0].due, true
}

// HandleTimers serves every timer due at now, in order: retransmissions,
// handshake deadlines and idle timeouts. It appends what to send to out.
func (s *Server) HandleTimers(now time.Time, out []Datagram) []Datagram {
	s.now = now
	for len(s.timers) > 0 && !s.timers[0].due.After(now) {
		c := s.timers[0]
		if !c.open {
			s.curr = c
			c.s.HandleTimeout()
			out = s.progress(c, true, out)
			continue
		}
		if !c.active.Add(s.cfg.IdleTimeout).After(now) {
			s.stats.IdleTimeouts++
			out = s.closeConn(c, ClosedIdle, out)
			continue
		}
		s.setIdleTimer(c) // active since the timer was set
	}
	return out
}

// session returns the connected session with peer.
func (s *Server) session(peer netip.AddrPort) (*conn, error) {
	c := s.conns[netip.AddrPortFrom(peer.Addr().Unmap(), peer.Port())]
	if c == nil || !c.open {
		return nil, ErrNoSession
	}
	return c, nil
}

// Send encrypts data as one record to a connected peer and appends the
// datagram to out. It counts as activity at the time of the last Input or
// HandleTimers.
func (s *Server) Send(peer netip.AddrPort, data []byte, out []Datagram) ([]Datagram, error) {
	c, err := s.session(peer)
	if err != nil {
		return out, err
	}
	if c.s.WriteDatagramEncrypted(data) < 0 {
		return out, errors.New("server: " + c.s.DtlsErrorString())
	}
	s.touch(c)
	return s.flush(c, out), nil
}

// Close ends the connection with peer with close_notify; a Closed event
// (ClosedByApp) follows.
func (s *Server) Close(peer netip.AddrPort, out []Datagram) ([]Datagram, error) {
	c, err := s.session(peer)
	if err != nil {
		return out, err
	}
	return s.closeConn(c, ClosedByApp, out), nil
}

// Shutdown sends close_notify to every connected peer and forgets every
// session and handshake; each connected peer gets a Closed event
// (ClosedShutdown).
func (s *Server) Shutdown(out []Datagram) []Datagram {
	for s.established.head != nil {
		out = s.closeConn(s.established.head, ClosedShutdown, out)
	}
	for s.halfOpen.head != nil {
		s.remove(s.halfOpen.head)
	}
	return out
}

// lookupKey is every session's PSK callback: the key table first, then
// the application's PSKFunc, which may answer later.
func (s *Server) lookupKey(a *psk.Authenticator) {
	c := s.curr
	c.identity = a.Identity()
	if key, ok := s.cfg.Keys.Lookup(c.identity); ok {
		a.SetPreSharedKey(key)
		clear(key)
		return
	}
	if s.cfg.PSK == nil {
		return
	}
	key, pending := s.cfg.PSK(c.peer, c.identity)
	if pending {
		c.pskPending = c.s.DeferPSK()
		return
	}
	a.SetPreSharedKey(key)
}

// ResolvePSK answers a PSKFunc that returned pending for (peer, identity)
// with the key; an empty key refuses the client. ErrNoRequest means no
// such request waits (it timed out, or the handshake was evicted).
func (s *Server) ResolvePSK(peer netip.AddrPort, identity, key []byte, out []Datagram) ([]Datagram, error) {
	peer = netip.AddrPortFrom(peer.Addr().Unmap(), peer.Port())
	c := s.conns[peer]
	if c != nil && c.restart != nil {
		c = c.restart
	}
	if c == nil || !c.pskPending || !bytes.Equal(c.identity, identity) {
		return out, ErrNoRequest
	}
	c.pskPending = false
	s.curr = c
	c.s.ResolvePSK(key)
	return s.progress(c, false, out), nil
}

// RefusePSK refuses the client of a pending PSK request.
func (s *Server) RefusePSK(peer netip.AddrPort, identity []byte, out []Datagram) ([]Datagram, error) {
	return s.ResolvePSK(peer, identity, nil, out)
}

// fleet is what a Server needs from the other workers of its Endpoint for
// connection IDs: the kernel spreads datagrams by source address, so after
// a NAT rebinding a client's records may reach a worker that does not hold
// its session.
type fleet interface {
	// claim reserves id for this server; false when another holds it.
	claim(id string) bool
	release(id string)
	// route passes a datagram with a tls12_cid record whose ID this
	// server does not hold to the server that does; false when none does.
	route(id []byte, from netip.AddrPort, dgram []byte) bool
	// holds reports whether another server holds a connected session
	// at a.
	holds(a netip.AddrPort) bool
	// claimPeer takes the address a for a session of this server (a
	// move, or a handshake completing there) unless another server's
	// session holds it. A record proves which client made it, not where
	// it came from (its source may be spoofed), so a move never takes an
	// address from a session: that one ends by itself (idle timeout, or
	// its own move) if its client really lost the address, and the next
	// record moves it then. The claim is atomic across the servers, so a
	// move and a handshake there on another worker cannot both win.
	claimPeer(a netip.AddrPort) bool
}

// alone is the fleet of a Server that is no Endpoint's worker: it holds
// every ID and address it meets, and has no one to route to.
type alone struct{}

func (alone) claim(string) bool                         { return true }
func (alone) release(string)                            {}
func (alone) route([]byte, netip.AddrPort, []byte) bool { return false }
func (alone) holds(netip.AddrPort) bool                 { return false }
func (alone) claimPeer(netip.AddrPort) bool             { return true }
