// SPDX-License-Identifier: MIT

package session

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"time"

	"github.com/dtlsgate/dtlsgate/core/cookie"
	"github.com/dtlsgate/dtlsgate/core/dtlserror"
	"github.com/dtlsgate/dtlsgate/core/psk"
)

// Mode says which side of the handshake a Session plays.
type Mode int

// The values are Qt's QSslSocket::SslMode numbers.
const (
	Client Mode = 1
	Server Mode = 2
)

// State is Qt's QDtls::HandshakeState.
type State int

const (
	HandshakeNotStarted State = iota
	HandshakeInProgress
	PeerVerificationFailed // never entered: a PSK handshake has no certificate to verify
	HandshakeComplete
)

func (s State) String() string {
	switch s {
	case HandshakeNotStarted:
		return "HandshakeNotStarted"
	case HandshakeInProgress:
		return "HandshakeInProgress"
	case PeerVerificationFailed:
		return "PeerVerificationFailed"
	case HandshakeComplete:
		return "HandshakeComplete"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Retransmission timer bounds (RFC 6347 section 4.2.4.1).
const (
	InitialTimeout = time.Second
	MaxTimeout     = 60 * time.Second
)

const (
	DefaultMTU            = 1400 // UDP payload bytes per datagram
	MinMTU                = 256
	DefaultMaxRetransmits = 12 // as OpenSSL, before it gives up
	// DefaultHandshakeDeadline bounds a whole handshake, as libcoap does, so
	// a vanished peer or a wrong key frees the session in bounded time.
	DefaultHandshakeDeadline = 30 * time.Second
	// The longest identity and key the engine sends or uses.
	MaxIdentityLength     = 256
	MaxPreSharedKeyLength = 512
)

// Connection IDs (RFC 9146), for Config.ConnectionIDLength.
const (
	// DefaultConnectionIDLength is the length of the ID a server asks for
	// when Config.ConnectionIDLength is 0.
	DefaultConnectionIDLength = 8
	// MaxConnectionIDLength is the longest ID this side asks for. The
	// peer's may be longer (RFC 9146 allows 255 bytes): a client takes
	// what the server names, a server answers IDs of up to
	// MaxPeerConnectionIDLength bytes.
	MaxConnectionIDLength = 16
	// MaxPeerConnectionIDLength is the longest ID a server agrees to put
	// in its records; a client asking for a longer one gets plain
	// records. Every record to the peer carries the ID, so a long one
	// would let a client make the server send up to 256 bytes more per
	// record, to wherever RFC 9146's address moves take it (mbedTLS caps
	// the same way, at 32).
	MaxPeerConnectionIDLength = 32
	// NoConnectionID turns connection IDs off: the connection_id extension
	// is neither offered (client) nor answered (server), and records are
	// plain DTLS 1.2.
	NoConnectionID = -1
	// EmptyConnectionID offers connection IDs with a zero-length ID for
	// this side: "I can send with your ID, send me none". The peer's
	// records stay plain while this side's carry the peer's ID, so the
	// peer finds this side's session whatever its address. The usual
	// choice of a device behind a NAT.
	EmptyConnectionID = -2
)

// Config holds what a Session needs besides its peer. The zero value is a
// usable configuration (default suites, MTU and retransmission limit, the
// process-wide default cookie parameters, no identity hint).
type Config struct {
	// Suites lists the cipher suites to offer (client) or accept (server), in
	// order of preference; nil means DefaultSuites. A server picks its own
	// most preferred suite among those the client offers.
	Suites []uint16
	// IdentityHint is what a server sends to help the client choose an
	// identity (RFC 4279). With a plain PSK suite an empty hint means no
	// ServerKeyExchange at all.
	IdentityHint []byte
	// MTU is the largest datagram the engine builds during the handshake;
	// 0 means DefaultMTU.
	MTU int
	// Cookies re-checks the cookie of the ClientHello a server starts from.
	// Use the verifier's generator; nil means the process-wide default
	// parameters, which default verifiers use too.
	Cookies *cookie.Generator
	// PSK is called when the handshake needs the key (and, on a client, the
	// identity), like Qt's pskRequired signal. Leaving the key empty fails
	// the handshake.
	PSK func(*psk.Authenticator)
	// MaxRetransmits is how many times a flight is sent again before the
	// handshake fails; 0 means DefaultMaxRetransmits.
	MaxRetransmits int
	// HandshakeDeadline is the longest a handshake may take from its start,
	// however many retransmissions that allows; 0 means
	// DefaultHandshakeDeadline.
	HandshakeDeadline time.Duration
	// MaxHandshakeBuffer bounds the bytes of the peer's handshake messages
	// held in one handshake, being reassembled or delivered, which a peer
	// that passed the cookie exchange decides by what it claims; 0 means
	// enough for the largest flight a PSK handshake can have (about 130
	// KB). A server with many half-open handshakes sets it lower.
	MaxHandshakeBuffer int
	// ConnectionIDLength says whether this side negotiates connection IDs
	// (RFC 9146) and how long the ID is that it asks the peer to put in
	// the records it sends here once the epoch changes; the ID is drawn
	// from Rand for each handshake. 1..MaxConnectionIDLength bytes,
	// EmptyConnectionID, NoConnectionID, or 0 for the role's default: a
	// server answers a client that offers the extension with an ID of
	// DefaultConnectionIDLength bytes; a client does not offer it, so its
	// ClientHello stays what it was without connection ID support.
	// Connection IDs are used only when both sides send the extension: a
	// peer without it gets plain records.
	ConnectionIDLength int
	// ConnectionID, when not nil, is the ID this side asks for instead of
	// a random one (ConnectionIDLength is then ignored; an empty, non-nil
	// slice is EmptyConnectionID). It suits one session: a server endpoint
	// sets it per session so that its IDs are unique and routable.
	ConnectionID []byte
	// Now and Rand replace the clock and the randomness source, for tests.
	Now  func() time.Time
	Rand io.Reader
}

// monotonicBase anchors monotonicNow.
var monotonicBase = time.Now()

// monotonicNow is the default clock. A session only measures durations
// (timeouts, deadlines), which Go takes from the monotonic clock alone;
// time.Now reads the wall clock too, and a handshake reads the clock about
// ten times, so this reads one clock instead of two.
func monotonicNow() time.Time {
	return monotonicBase.Add(time.Since(monotonicBase))
}

// Session is one DTLS 1.2 connection with a PSK, in the shape of Qt's QDtls,
// without any I/O: the application feeds in the datagrams it receives from
// the peer and sends what Outgoing returns. It is not safe for concurrent use.
type Session struct {
	mode Mode
	cfg  Config
	peer netip.AddrPort

	state     State
	encrypted bool
	// newest: the last datagram taken held a tls12_cid record that
	// authenticated with a sequence number above any before it in its
	// epoch (RFC 9146 section 6), which MovePeer requires.
	newest  bool
	code    dtlserror.Code
	message string
	out     [][]byte

	hs    *handshake // nil outside a handshake
	suite Suite

	// Records. Epoch 1 starts when each side sends its ChangeCipherSpec.
	readEpoch  uint16
	writeEpoch uint16
	writeSeq   [2]uint64
	replay     [2]replayWindow
	readProt   protection
	writeProt  protection
	// lastFinished is the Finished of the server's final flight (a
	// ChangeCipherSpec and it), kept until the client shows the flight
	// arrived by sending data, in case the client's Finished is repeated.
	// Only the message is kept: an established session stays small.
	lastFinished message
	peerSeq      uint16 // message_seq the peer's next handshake message would have
	// peerLast is the message that ended the peer's latest flight, and its
	// epoch (nil once a message that ends no flight came after it): a true
	// copy of it asks for our last flight again.
	peerLast      message
	peerLastEpoch uint16
	resentAt      time.Time // when a repeat last made us send a flight again

	cid *connIDs // nil: connection IDs neither offered nor negotiated

	inPSK      bool // the PSK callback is running
	closeLater bool // Close was called from inside the PSK callback
}

// New returns a Session for mode (Client or Server) with a copy of cfg.
func New(mode Mode, cfg Config) (*Session, error) {
	if mode != Client && mode != Server {
		return nil, fmt.Errorf("session: unknown mode %d", mode)
	}
	s := &Session{mode: mode}
	if err := s.setConfig(cfg); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Session) setConfig(cfg Config) error {
	if cfg.Suites == nil {
		cfg.Suites = DefaultSuites()
	} else {
		if len(cfg.Suites) == 0 {
			return errors.New("session: empty cipher suite list")
		}
		for _, id := range cfg.Suites {
			if _, ok := LookupSuite(id); !ok {
				return fmt.Errorf("session: cipher suite 0x%04X is not supported", id)
			}
		}
		cfg.Suites = append([]uint16(nil), cfg.Suites...)
	}
	if cfg.MTU == 0 {
		cfg.MTU = DefaultMTU
	}
	if cfg.MTU < MinMTU || cfg.MTU > 65507 {
		return fmt.Errorf("session: MTU %d is outside %d..65507", cfg.MTU, MinMTU)
	}
	if len(cfg.IdentityHint) > 65535 {
		return errors.New("session: identity hint longer than 65535 bytes")
	}
	cfg.IdentityHint = append([]byte(nil), cfg.IdentityHint...)
	// With no generator, the default one is made when first needed
	// (cookies): a client never checks a cookie, and a server is usually
	// given its verifier's generator right after New, so a generator made
	// here would cost every session a random secret and a dozen
	// allocations for nothing.
	if cfg.MaxRetransmits <= 0 {
		cfg.MaxRetransmits = DefaultMaxRetransmits
	}
	if cfg.HandshakeDeadline < 0 {
		return fmt.Errorf("session: negative handshake deadline %v", cfg.HandshakeDeadline)
	}
	if cfg.HandshakeDeadline == 0 {
		cfg.HandshakeDeadline = DefaultHandshakeDeadline
	}
	if cfg.MaxHandshakeBuffer < 0 {
		return fmt.Errorf("session: negative handshake buffer limit %d", cfg.MaxHandshakeBuffer)
	}
	switch l := cfg.ConnectionIDLength; {
	case cfg.ConnectionID != nil && len(cfg.ConnectionID) > MaxConnectionIDLength:
		return fmt.Errorf("session: connection ID of %d bytes, more than %d", len(cfg.ConnectionID), MaxConnectionIDLength)
	case cfg.ConnectionID != nil:
		cfg.ConnectionID = append([]byte{}, cfg.ConnectionID...)
	case l > MaxConnectionIDLength || l < EmptyConnectionID:
		return fmt.Errorf("session: connection ID length %d is outside 1..%d (0: default, -1: none, -2: empty)", l, MaxConnectionIDLength)
	}
	if cfg.Now == nil {
		cfg.Now = monotonicNow
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	s.cfg = cfg
	return nil
}

// SetConfig replaces the configuration; only before the handshake starts.
func (s *Session) SetConfig(cfg Config) bool {
	s.clearError()
	if s.inCallback() {
		return false
	}
	if s.state != HandshakeNotStarted {
		return s.setError(dtlserror.InvalidOperation, "Cannot set configuration after handshake started")
	}
	if err := s.setConfig(cfg); err != nil {
		return s.setError(dtlserror.InvalidInputParameters, err.Error())
	}
	return true
}

// Reconfigure sets the configuration to the one in effect changed by
// change, as SetConfig would. Unlike Config then SetConfig, it leaves a
// configuration without a cookie generator without one, rather than make
// the default generator only to have it replaced.
func (s *Session) Reconfigure(change func(cfg *Config)) bool {
	cfg := s.cfg
	change(&cfg)
	return s.SetConfig(cfg)
}

// Config returns the configuration in effect, defaults filled in.
func (s *Session) Config() Config {
	s.cookies()
	return s.cfg
}

// Mode returns Client or Server.
func (s *Session) Mode() Mode { return s.mode }

// SetPeer sets the address the session talks to; only before the handshake.
// The server uses it to re-check the cookie.
func (s *Session) SetPeer(peer netip.AddrPort) bool {
	s.clearError()
	if s.inCallback() {
		return false
	}
	switch {
	case s.state != HandshakeNotStarted:
		return s.setError(dtlserror.InvalidOperation, "Cannot set peer after handshake started")
	case addressProblem(peer) != "":
		return s.setError(dtlserror.InvalidInputParameters, addressProblem(peer))
	}
	s.peer = peer
	return true
}

// addressProblem says what makes peer unusable as the peer's address; ""
// when nothing does.
func addressProblem(peer netip.AddrPort) string {
	a := peer.Addr()
	switch {
	case !a.IsValid() || a.IsUnspecified() || peer.Port() == 0:
		return "Invalid address"
	case a.IsMulticast() || a.Unmap() == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "Multicast and broadcast addresses are not supported"
	}
	return ""
}

// Peer returns the peer's address, invalid until SetPeer.
func (s *Session) Peer() netip.AddrPort { return s.peer }

// ConnectionID returns the connection ID this side asked the peer to use,
// which the peer's records carry, and whether connection IDs were
// negotiated (both sides sent the extension; the ID may then be empty).
// It is known from the hello exchange on, until the connection ends. The
// slice is the session's: do not change it.
func (s *Session) ConnectionID() ([]byte, bool) {
	if !s.cidsOn() {
		return nil, false
	}
	return s.cid.own, true
}

// PeerConnectionID returns the connection ID the peer asked for, which
// this side's records carry, and whether connection IDs were negotiated.
// The slice is the session's: do not change it.
func (s *Session) PeerConnectionID() ([]byte, bool) {
	if !s.cidsOn() {
		return nil, false
	}
	return s.cid.peer, true
}

// connIDs holds a session's connection IDs (RFC 9146), apart from the
// session so that one without them pays a pointer.
type connIDs struct {
	on   bool   // negotiated: both sides sent the extension
	own  []byte // what the peer's records carry; a client's offer until on
	peer []byte // what ours carry
}

// cidsOn reports whether connection IDs were negotiated; an empty ID then
// means plain records in that direction.
func (s *Session) cidsOn() bool { return s.cid != nil && s.cid.on }

// ConnectionIDSetting returns what this side asks for, Config's
// ConnectionIDLength and ConnectionID with the role's default resolved: a
// length of 1 to MaxConnectionIDLength, EmptyConnectionID or
// NoConnectionID.
func (s *Session) ConnectionIDSetting() int {
	switch n := s.cfg.ConnectionIDLength; {
	case s.cfg.ConnectionID != nil && len(s.cfg.ConnectionID) == 0:
		return EmptyConnectionID
	case s.cfg.ConnectionID != nil:
		return len(s.cfg.ConnectionID)
	case n == 0 && s.mode == Server:
		return DefaultConnectionIDLength
	case n == 0:
		return NoConnectionID
	default:
		return n
	}
}

// chooseCID returns the connection ID this side asks for, drawn now, and
// whether it takes part in connection IDs at all (ConnectionIDSetting).
func (s *Session) chooseCID() ([]byte, bool, error) {
	n := s.ConnectionIDSetting()
	switch {
	case s.cfg.ConnectionID != nil:
		return s.cfg.ConnectionID, true, nil
	case n == NoConnectionID:
		return nil, false, nil
	case n == EmptyConnectionID:
		return []byte{}, true, nil
	}
	cid := make([]byte, n)
	if _, err := io.ReadFull(s.cfg.Rand, cid); err != nil {
		return nil, false, err
	}
	return cid, true, nil
}

// maxRecordExpansion is the most protection adds to a record's content with
// any of our suites: a CBC suite's explicit IV, SHA-256 MAC and a block of
// padding.
const maxRecordExpansion = 16 + 32 + 16

// peerIDFits reports whether a record carrying a peer's connection ID of n
// bytes (RFC 9146 allows up to 255) still holds a Finished message within
// the MTU, whatever the suite: a longer ID leaves no room for a handshake
// fragment at a small MTU.
func (s *Session) peerIDFits(n int) bool {
	const finished = handshakeHeaderLen + len(handshake{}.verifyData)
	return recordHeaderLen+n+1+maxRecordExpansion+finished <= s.cfg.MTU
}

// readCIDLen is the length of the connection ID in the peer's tls12_cid
// records; 0 when none may come.
func (s *Session) readCIDLen() int {
	if !s.cidsOn() {
		return 0
	}
	return len(s.cid.own)
}

// writesCID reports whether our protected records are tls12_cid ones.
func (s *Session) writesCID() bool { return s.cidsOn() && len(s.cid.peer) > 0 }

// writeHeaderLen is the header length of our protected records.
func (s *Session) writeHeaderLen() int {
	if s.writesCID() {
		return recordHeaderLen + len(s.cid.peer)
	}
	return recordHeaderLen
}

// innerLen is what the inner plaintext of our tls12_cid records adds to
// their content: the real type (no padding is sent).
func (s *Session) innerLen() int {
	if s.writesCID() {
		return 1
	}
	return 0
}

// cidFits reports whether an epoch-1 record has the form this connection
// expects of the peer: a tls12_cid record with our ID when we asked for a
// non-empty one, a plain record otherwise.
func (s *Session) cidFits(r record) bool {
	if r.typ != contentCID {
		return s.readCIDLen() == 0
	}
	return s.readCIDLen() > 0 && bytes.Equal(r.cid, s.cid.own)
}

// MovePeer changes the peer's address on an established connection with
// connection IDs, as RFC 9146 section 6 allows: only when the last
// datagram passed to DecryptDatagram or Open, which the caller says came
// from to, held a record with this side's connection ID that
// authenticated and carried a sequence number higher than any before it
// in its epoch. A replayed, reordered or forged record never moves the
// peer. It returns false with InvalidOperation, changing nothing, when
// that does not hold. Records are then meant for to; the application may
// want to check the new address answers (a return-routability check)
// before it sends much there.
func (s *Session) MovePeer(to netip.AddrPort) bool {
	s.clearError()
	if s.inCallback() {
		return false
	}
	switch {
	case !s.encrypted || !s.cidsOn():
		return s.setError(dtlserror.InvalidOperation, "Cannot move the peer: no connection with connection IDs")
	case !s.newest:
		return s.setError(dtlserror.InvalidOperation, "Cannot move the peer: the last datagram held no new authenticated record with our connection ID")
	case addressProblem(to) != "":
		return s.setError(dtlserror.InvalidInputParameters, addressProblem(to))
	}
	s.peer = to
	return true
}

// HandshakeState returns the state of the handshake.
func (s *Session) HandshakeState() State { return s.state }

// IsConnectionEncrypted reports whether the handshake completed and the
// connection is open: application data can flow.
func (s *Session) IsConnectionEncrypted() bool { return s.encrypted }

// SessionCipher returns the negotiated suite; ok is false before the
// handshake completes.
func (s *Session) SessionCipher() (Suite, bool) { return s.suite, s.encrypted }

// SessionProtocol returns "DTLSv1.2" once encrypted, "" before.
func (s *Session) SessionProtocol() string {
	if s.encrypted {
		return "DTLSv1.2"
	}
	return ""
}

// DtlsError returns the error left by the last call, or NoError.
func (s *Session) DtlsError() dtlserror.Code { return s.code }

// DtlsErrorString describes DtlsError; empty for NoError.
func (s *Session) DtlsErrorString() string { return s.message }

// Outgoing returns the datagrams to send to the peer, in order, and forgets
// them. Call it after every other call.
func (s *Session) Outgoing() [][]byte {
	out := s.out
	s.out = nil
	return out
}

// SetDriverError records an error found by the code that drives the
// session rather than by the engine: a send of what Outgoing returned that
// failed (UnderlyingSocketError), an unusable socket handed to the driver
// (InvalidInputParameters). DtlsError then reports it, as Qt's QDtls
// reports its own socket's failures; the next call clears it.
func (s *Session) SetDriverError(code dtlserror.Code, msg string) {
	s.setError(code, msg)
}

// Timeout returns how long until HandleTimeout should be called, for a
// retransmission or the handshake deadline, and false when no handshake is
// in progress.
func (s *Session) Timeout() (time.Duration, bool) {
	if s.hs == nil {
		return 0, false
	}
	at := s.hs.giveUpAt
	if !s.hs.retransmitAt.IsZero() && s.hs.retransmitAt.Before(at) {
		at = s.hs.retransmitAt
	}
	return max(at.Sub(s.cfg.Now()), 0), true
}

// inCallback refuses a call made from inside the PSK callback, which runs
// in the middle of building a flight: a change of state there would pull
// the handshake from under the engine.
func (s *Session) inCallback() bool {
	if s.inPSK {
		s.setError(dtlserror.InvalidOperation, "Not allowed from inside the PSK callback (leave the key empty to refuse the handshake)")
	}
	return s.inPSK
}

// Close forgets the connection without telling the peer and wipes the
// secrets the session holds. Called from inside the PSK callback, it takes
// effect when the callback returns, ending the handshake.
func (s *Session) Close() {
	if s.inPSK {
		s.closeLater = true
		return
	}
	s.resetConnection()
	s.out = nil
}

func (s *Session) clearError() { s.code, s.message = dtlserror.NoError, "" }

// setError records an error and returns false, so callers can return it.
func (s *Session) setError(code dtlserror.Code, msg string) bool {
	s.code, s.message = code, msg
	return false
}

// DoHandshake starts or continues the handshake, as Qt's doHandshake. A
// client starts with an empty datagram; a server starts with the
// ClientHello its verifier accepted. Later calls pass each datagram the
// peer sends. It returns false when the handshake failed or the call was
// wrong; DtlsError says why.
func (s *Session) DoHandshake(dgram []byte) bool {
	hs := s.hs
	ok := s.doHandshake(dgram)
	if hs != nil && s.hs == nil && s.state == HandshakeComplete {
		hs.release()
	}
	return ok
}

func (s *Session) doHandshake(dgram []byte) bool {
	s.clearError()
	if s.inCallback() {
		return false
	}
	switch s.state {
	case HandshakeNotStarted:
		return s.startHandshake(dgram)
	case HandshakeInProgress:
		if len(dgram) == 0 {
			return s.setError(dtlserror.InvalidInputParameters, "A non-empty datagram is needed to continue the handshake")
		}
		if !s.cfg.Now().Before(s.hs.giveUpAt) {
			// A driver busy with datagrams may serve timers late; a
			// stream of them must not keep a handshake past its deadline.
			return s.HandleTimeout()
		}
		s.input(dgram)
		return s.code == dtlserror.NoError
	}
	return s.setError(dtlserror.InvalidOperation, "Cannot start/continue handshake, invalid handshake state")
}

func (s *Session) startHandshake(dgram []byte) bool {
	if !s.peer.IsValid() {
		return s.setError(dtlserror.InvalidOperation, "To start a handshake you must set peer's address and port first")
	}
	if s.mode == Server && len(dgram) == 0 {
		return s.setError(dtlserror.InvalidInputParameters, "To start a handshake, DTLS server requires non-empty datagram (client hello)")
	}
	s.resetConnection()
	s.hs = newHandshake()
	now := s.cfg.Now()
	s.hs.giveUpAt = now.Add(s.cfg.HandshakeDeadline)
	s.hs.reasm.limit = s.cfg.MaxHandshakeBuffer
	s.state = HandshakeInProgress
	if s.mode == Client {
		return s.clientStart(now)
	}
	return s.serverStart(dgram, now)
}

// resetConnection forgets every record and handshake state, wiping the
// secrets it can reach.
func (s *Session) resetConnection() {
	if s.hs != nil {
		s.hs.wipe()
	}
	for _, p := range []protection{s.readProt, s.writeProt} {
		if p != nil {
			p.wipe()
		}
	}
	*s = Session{mode: s.mode, cfg: s.cfg, peer: s.peer, code: s.code, message: s.message, out: s.out}
}

// HandleTimeout retransmits the last flight if its timer has expired, as
// Qt's handleTimeout; called early it does nothing. The handshake fails
// after MaxRetransmits retransmissions or once HandshakeDeadline has passed
// since it started, whichever comes first.
func (s *Session) HandleTimeout() bool {
	s.clearError()
	if s.inCallback() {
		return false
	}
	if s.state != HandshakeInProgress {
		return s.setError(dtlserror.InvalidOperation, "Cannot handle timeout, no handshake in progress")
	}
	hs, now := s.hs, s.cfg.Now()
	if !now.Before(hs.giveUpAt) {
		s.fail(0, s.giveUpMessage(fmt.Sprintf("The handshake did not complete within %v", s.cfg.HandshakeDeadline)))
		return false
	}
	if hs.retransmitAt.IsZero() || now.Before(hs.retransmitAt) {
		return true
	}
	if hs.retransmits >= s.cfg.MaxRetransmits {
		s.fail(0, s.giveUpMessage(fmt.Sprintf("The handshake timed out: no answer after %d retransmissions", hs.retransmits)))
		return false
	}
	hs.retransmits++
	hs.timeout = min(2*hs.timeout, MaxTimeout)
	s.transmit(hs.flight)
	hs.retransmitAt = now.Add(hs.timeout)
	return true
}

// giveUpMessage adds to why a handshake is abandoned what the engine saw
// that points at a cause. With different pre-shared keys each side derives
// other record keys, so the peer's Finished never authenticates (and is
// dropped like any record that fails, RFC 6347 section 4.1.2.7); a peer
// that checked ours and found it wrong stays silent the same way.
func (s *Session) giveUpMessage(why string) string {
	switch {
	case s.hs.step != stepWaitFinished:
		return why
	case s.hs.unauthenticated > 0:
		return why + ": the peer's Finished never authenticated (most likely the pre-shared keys differ)"
	case s.mode == Client:
		// A server that cannot authenticate our Finished says nothing.
		return why + ": the server never sent its Finished (most likely the pre-shared keys differ)"
	default:
		return why + ": the client's Finished never arrived"
	}
}

// AbortHandshake drops a handshake in progress without telling the peer.
func (s *Session) AbortHandshake() bool {
	s.clearError()
	if s.inCallback() {
		return false
	}
	if s.state != HandshakeInProgress && s.state != PeerVerificationFailed {
		return s.setError(dtlserror.InvalidOperation, "No handshake in progress, nothing to abort")
	}
	s.resetConnection()
	return true
}

// Shutdown sends close_notify and closes the connection.
func (s *Session) Shutdown() bool {
	s.clearError()
	if s.inCallback() {
		return false
	}
	if !s.encrypted {
		return s.setError(dtlserror.InvalidOperation, "Cannot send shutdown alert, not encrypted")
	}
	s.sendAlert(alertWarning, alertCloseNotify)
	s.resetConnection()
	return true
}

// WriteDatagramEncrypted encrypts data as one record and queues it; it
// returns len(data), or -1 with DtlsError set.
func (s *Session) WriteDatagramEncrypted(data []byte) int {
	s.clearError()
	if !s.canWrite(len(data)) {
		return -1
	}
	rec, err := s.sealRecord(nil, contentApplicationData, 1, data)
	if err != nil {
		s.setError(dtlserror.TlsFatalError, "Error while writing: "+err.Error())
		return -1
	}
	s.out = append(s.out, rec)
	return len(data)
}

// canWrite checks that n bytes of application data may be sent now,
// setting DtlsError when not.
func (s *Session) canWrite(n int) bool {
	switch {
	case s.inCallback():
		return false
	case !s.encrypted:
		return s.setError(dtlserror.InvalidOperation, "Cannot write a datagram, not in encrypted state")
	case n == 0:
		return s.setError(dtlserror.InvalidInputParameters, "Cannot write an empty datagram")
	case n > maxPlaintext:
		return s.setError(dtlserror.InvalidInputParameters, fmt.Sprintf("Cannot write %d bytes: a record holds at most %d", n, maxPlaintext))
	}
	return true
}

// RecordResult says what Seal or Open did with a record.
type RecordResult int

const (
	// RecordOK: the record was sealed, or opened and its data delivered.
	RecordOK RecordResult = iota
	// RecordError: nothing was done; DtlsError says why.
	RecordError
	// RecordShortBuffer: out is too small; the length returned is the size
	// needed. Nothing changed: the call can be made again.
	RecordShortBuffer
	// RecordDropped: the datagram was dropped as RFC 6347 section 4.1.2.7
	// says, silently: it failed authentication, was replayed, was too old
	// for the replay window, or could not be framed.
	RecordDropped
	// RecordNotData: the datagram is not one application-data record (an
	// alert, a handshake message the peer repeated, several records). It
	// was not looked into: pass it to DecryptDatagram, which handles them.
	RecordNotData
)

// SealedLen is the length of the record Seal makes of n bytes of
// application data, 0 while not encrypted.
func (s *Session) SealedLen(n int) int {
	if !s.encrypted {
		return 0
	}
	return s.writeHeaderLen() + s.writeProt.sealedLen(n+s.innerLen())
}

// Seal writes plaintext as one application-data record at the start of out
// and returns its length, without queueing anything: the caller sends it.
// out may overlap plaintext anywhere (in place). On RecordShortBuffer the
// length is the size needed; on RecordError DtlsError says why (not
// encrypted, plaintext empty or over 2^14 bytes, sequence numbers
// exhausted). Once warmed up it allocates nothing.
func (s *Session) Seal(out, plaintext []byte) (int, RecordResult) {
	s.clearError()
	if !s.canWrite(len(plaintext)) {
		return 0, RecordError
	}
	n := s.SealedLen(len(plaintext))
	if len(out) < n {
		return n, RecordShortBuffer
	}
	if overlap(out[:n], plaintext) {
		// Move the plaintext to where its encryption goes, so the header
		// written first cannot overwrite it.
		at := s.writeHeaderLen() + s.writeProt.prefix()
		plaintext = out[at : at+copy(out[at:], plaintext)]
	}
	rec, err := s.sealRecord(out[:0], contentApplicationData, 1, plaintext)
	if err != nil {
		s.setError(dtlserror.TlsFatalError, "Error while writing: "+err.Error())
		return 0, RecordError
	}
	return len(rec), RecordOK
}

// Open authenticates and decrypts a datagram holding one application-data
// record, writing the data at the start of out, and returns its length.
// out may overlap dgram anywhere (in place); dgram's bytes are then
// overwritten, unless the result is RecordShortBuffer or RecordNotData.
// Anything else than a lone application-data record is RecordNotData,
// left for DecryptDatagram. With connection IDs a record's real type is
// inside its encryption: one that turns out to hold something else (an
// alert) is handled here as DecryptDatagram would, and is RecordNotData
// too, with nothing left for DecryptDatagram to do. On RecordShortBuffer
// the length is the size needed. Once warmed up it allocates nothing.
func (s *Session) Open(out, dgram []byte) (int, RecordResult) {
	s.clearError()
	s.newest = false // whatever becomes of this datagram, MovePeer looks at it
	switch {
	case s.inCallback():
		return 0, RecordError
	case !s.encrypted:
		s.setError(dtlserror.InvalidOperation, "Cannot read a datagram, not in encrypted state")
		return 0, RecordError
	case len(dgram) == 0:
		s.setError(dtlserror.InvalidInputParameters, "Cannot decrypt an empty datagram")
		return 0, RecordError
	}
	r, ok := firstRecordCID(dgram, s.readCIDLen())
	switch {
	case ok && r.typ != contentApplicationData && r.typ != contentCID, ok && len(r.raw) != len(dgram):
		return 0, RecordNotData
	case !ok, r.version>>8 != 0xFE, r.epoch != 1, !s.cidFits(r):
		// Unframable, or what DecryptDatagram drops too.
		return 0, RecordDropped
	}
	room := s.readProt.openRoom(len(r.payload))
	switch {
	case room < 0:
		return 0, RecordDropped
	case len(out) < room:
		return room, RecordShortBuffer
	}
	plain, typ, ok := s.openProtected(out, r)
	if !ok {
		return 0, RecordDropped
	}
	if typ != contentApplicationData {
		if _, repeated := s.take(r, typ, plain, nil); repeated && s.code == dtlserror.NoError {
			s.resendOnRequest()
		}
		return 0, RecordNotData
	}
	s.dataArrived()
	return len(plain), RecordOK
}

// DecryptDatagram returns the application data in dgram, handling any
// alert or repeated handshake message it carries. Records that fail
// authentication or are replayed are dropped silently.
func (s *Session) DecryptDatagram(dgram []byte) []byte {
	s.clearError()
	s.newest = false // whatever becomes of this datagram, MovePeer looks at it
	if s.inCallback() {
		return nil
	}
	switch {
	case !s.encrypted:
		s.setError(dtlserror.InvalidOperation, "Cannot read a datagram, not in encrypted state")
		return nil
	case len(dgram) == 0:
		s.setError(dtlserror.InvalidInputParameters, "Cannot decrypt an empty datagram")
		return nil
	}
	return s.input(dgram)
}

// fail ends the handshake or connection after a fatal problem: it sends
// the alert (unless desc is 0, meaning none) and resets.
func (s *Session) fail(desc uint8, msg string) {
	if desc != 0 {
		s.sendAlert(alertFatal, desc)
	}
	s.resetConnection()
	s.setError(dtlserror.TlsFatalError, msg)
}

// failAlert is fail with a message naming the alert.
func (s *Session) failAlert(desc uint8, why string) {
	s.fail(desc, fmt.Sprintf("%s (sent alert %s)", why, AlertName(desc)))
}

func (s *Session) sendAlert(level, desc uint8) {
	rec, err := s.sealRecord(nil, contentAlert, s.writeEpoch, []byte{level, desc})
	if err == nil {
		s.out = append(s.out, rec)
	}
}

// sealRecord appends one record of the given epoch to b.
func (s *Session) sealRecord(b []byte, typ uint8, epoch uint16, payload []byte) ([]byte, error) {
	seq := s.writeSeq[epoch]
	if seq > maxSequence {
		return nil, errors.New("record sequence numbers exhausted")
	}
	s.writeSeq[epoch]++
	if epoch == 0 {
		b = appendRecordHeader(b, typ, versionDTLS12, 0, seq, len(payload))
		return append(b, payload...), nil
	}
	if !s.writesCID() {
		return s.writeProt.seal(b, typ, epoch, seq, payload)
	}
	// A tls12_cid record: the real type follows the content inside the
	// encryption, so both go where the encryption will be, in b's spare
	// capacity (where Seal may have put the payload already).
	at := len(b) + s.writeHeaderLen() + s.writeProt.prefix()
	b = slices.Grow(b, s.writeHeaderLen()+s.writeProt.sealedLen(len(payload)+1))
	inner := b[at : at+len(payload)+1]
	copy(inner, payload)
	inner[len(payload)] = typ
	return s.writeProt.seal(b, contentCID, epoch, seq, inner)
}

// input processes every record of a datagram and returns the application
// data it carried.
func (s *Session) input(dgram []byte) []byte {
	var data []byte
	retransmit := false
	s.newest = false
	splitRecordsCID(dgram, s.readCIDLen(), func(r record) bool {
		plain, typ, ok := s.openRecord(r)
		if !ok {
			return s.code == dtlserror.NoError
		}
		var repeated bool
		data, repeated = s.take(r, typ, plain, data)
		retransmit = retransmit || repeated
		// Stop at an error that ended the connection.
		return s.code == dtlserror.NoError
	})
	if retransmit && s.code == dtlserror.NoError {
		s.resendOnRequest()
	}
	return data
}

// take acts on one record that opened, of real type typ, appending the
// application data it carries to data. It reports whether the record
// repeated the last message of the peer's previous flight.
func (s *Session) take(r record, typ uint8, plain, data []byte) ([]byte, bool) {
	used, repeated := false, false
	switch typ {
	case contentHandshake:
		used, repeated = s.handleHandshakeRecord(r.epoch, plain)
	case contentChangeCipherSpec:
		if s.hs != nil && len(plain) == 1 && plain[0] == 1 && r.epoch == 0 {
			s.handleChangeCipherSpec()
		}
	case contentAlert:
		s.handleAlert(r.epoch, plain)
	case contentApplicationData:
		if r.epoch == 1 && s.encrypted {
			data = append(data, plain...)
			s.dataArrived()
		}
	}
	// An epoch-0 record is not authenticated: it moves the replay
	// window only once it completed a handshake message, so that one
	// forged record with a huge sequence number cannot make every
	// genuine one look old (epoch-1 records moved it when they
	// authenticated). A ChangeCipherSpec or an alert never moves it.
	if used && r.epoch == 0 && s.state == HandshakeInProgress {
		s.replay[0].accept(r.seq)
	}
	return data, repeated
}

// openRecord authenticates and decrypts one record, enforcing epochs and the
// replay window. It reports false for a record to drop: a record that fails
// authentication is dropped silently whatever the step (RFC 6347 section
// 4.1.2.7), so that garbage cannot end a handshake or a connection.
func (s *Session) openRecord(r record) ([]byte, uint8, bool) {
	if r.version>>8 != 0xFE {
		return nil, 0, false
	}
	switch {
	case r.epoch == 0:
		return r.payload, r.typ, r.typ != contentCID && s.replay[0].fresh(r.seq)
	case r.epoch != 1 || r.typ == contentChangeCipherSpec || !s.cidFits(r):
		// ChangeCipherSpec is only ever sent in epoch 0; with connection
		// IDs negotiated, a record without ours is not the peer's.
		return nil, 0, false
	case s.readEpoch == 0:
		// An epoch-1 record that overtook the ChangeCipherSpec: keep a few
		// small ones (a Finished is), so a peer cannot park big datagrams.
		if s.hs != nil && len(s.hs.early) < 4 && len(r.raw) <= maxEarlyRecord {
			s.hs.early = append(s.hs.early, append([]byte(nil), r.raw...))
		}
		return nil, 0, false
	}
	return s.openProtected(nil, r)
}

// openProtected authenticates and decrypts an epoch-1 record into dst (nil:
// a new buffer), checking and then moving the replay window. It returns
// the content and its real type, which a tls12_cid record carries inside.
func (s *Session) openProtected(dst []byte, r record) ([]byte, uint8, bool) {
	w := &s.replay[1]
	if !w.fresh(r.seq) {
		return nil, 0, false
	}
	plain, err := s.readProt.openTo(dst, r)
	if err != nil {
		if s.hs != nil {
			s.hs.unauthenticated++ // a hint for the error should the handshake time out
		}
		return nil, 0, false
	}
	typ := r.typ
	if typ == contentCID {
		var ok bool
		if plain, typ, ok = innerPlaintext(plain); !ok || typ == contentCID {
			return nil, 0, false
		}
		// RFC 9146 section 6: only such a record may move the peer.
		s.newest = s.newest || !w.used || r.seq > w.top
	}
	if len(plain) > maxPlaintext {
		return nil, 0, false
	}
	w.accept(r.seq)
	return plain, typ, true
}

// dataArrived notes authenticated application data from the peer: a
// client that sends it has our Finished, so there is nothing to send again.
func (s *Session) dataArrived() { s.lastFinished, s.peerLast = nil, nil }

func (s *Session) handleAlert(epoch uint16, b []byte) {
	if len(b) != 2 || (s.encrypted && epoch == 0) {
		// After the handshake only authenticated alerts count.
		return
	}
	level, desc := b[0], b[1]
	switch {
	case desc == alertCloseNotify:
		s.resetConnection()
		s.setError(dtlserror.RemoteClosedConnectionError, "The DTLS connection has been shutdown")
	case level == alertFatal:
		s.resetConnection()
		s.setError(dtlserror.TlsFatalError, "The peer sent a fatal alert: "+AlertName(desc))
	default:
		// Warnings, such as no_renegotiation, change nothing here.
	}
}
