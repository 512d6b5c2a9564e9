// SPDX-License-Identifier: MIT

package server

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/dtlsgate/dtlsgate/core/session"
	"github.com/dtlsgate/dtlsgate/core/verifier"
)

// Defaults of the limits; each applies when its Config field is 0.
const (
	DefaultMaxSessions      = 100000
	DefaultMaxHalfOpen      = 1000 // as OpenSSL's listener
	DefaultMaxHalfOpenPerIP = 8
	DefaultIdleTimeout      = 10 * time.Minute
	DefaultIdleAfter        = time.Minute
	// DefaultMaxBufferedBytes is room for any real PSK handshake (an
	// identity of a few hundred bytes and an ECDH share) and for a burst of
	// data the application has not taken yet.
	DefaultMaxBufferedBytes = 16 << 10
)

// NoIdleTimeout in Config.IdleTimeout keeps quiet sessions for ever.
const NoIdleTimeout time.Duration = -1

// PSKFunc looks up the key for a client's identity when the KeyTable has
// none. It answers at once with the key (nil: refuse the client), or
// returns pending true and answers later with Server.ResolvePSK or
// Server.RefusePSK; the handshake waits until then, within its deadline.
// It runs on the goroutine that called Input and must not call the Server.
// The key is copied.
type PSKFunc func(peer netip.AddrPort, identity []byte) (key []byte, pending bool)

// Config holds a Server's settings. The zero value is a usable server with
// the default limits, a verifier of its own, and no keys.
type Config struct {
	// Session holds the settings of every session: Suites, IdentityHint,
	// MTU, HandshakeDeadline, MaxRetransmits. Its Cookies, PSK, Now and
	// MaxHandshakeBuffer are the server's to set.
	Session session.Config
	// Verifier answers strangers with cookies; nil means a verifier of the
	// server's own. Servers sharing one (the workers of Serve, or nodes in
	// fleet mode through its generator) accept each other's cookies.
	Verifier *verifier.ClientVerifier
	// Keys is looked up first for a client's identity; PSK is asked for
	// identities it does not hold. With neither, every client is refused.
	Keys *KeyTable
	PSK  PSKFunc

	// MaxSessions bounds every session the server holds, half-open or
	// established. A newcomer beyond it takes the place of the least
	// recently active idle session, else of the oldest half-open handshake,
	// else it is refused: an active session is never evicted.
	MaxSessions int
	// MaxHalfOpen bounds handshakes in progress (past the cookie exchange,
	// not complete), and MaxHalfOpenPerIP those from one IPv4 address or
	// IPv6 /64 (a host usually gets a whole /64). A
	// newcomer beyond either takes the place of the oldest handshake in the
	// same bound: a real client finishes in a few round trips, a squatter
	// never does.
	MaxHalfOpen      int
	MaxHalfOpenPerIP int
	// IdleTimeout closes (with close_notify) an established session that
	// has been inactive that long; NoIdleTimeout turns it off. Active means
	// application data received from the peer or sent by the application.
	IdleTimeout time.Duration
	// IdleAfter is how long a session must have been inactive to count as
	// idle, that is evictable to make room under MaxSessions.
	IdleAfter time.Duration
	// MaxBufferedBytes bounds what one session holds for its peer: handshake
	// messages being reassembled, and data received but not yet taken by
	// the application with Events. Data beyond it is dropped.
	MaxBufferedBytes int

	// ConnectionIDLength is the length of the connection IDs (RFC 9146)
	// the server gives the sessions of clients that offer the extension,
	// node byte included: 0 means session.DefaultConnectionIDLength (8),
	// session.NoConnectionID turns them off (the extension goes
	// unanswered), else 1..session.MaxConnectionIDLength (at least 2 with
	// a NodeID). Clients that do not offer it get plain records. All of a
	// server's IDs have this length: the record header does not carry it.
	// Session.ConnectionIDLength and Session.ConnectionID are the
	// server's to set.
	ConnectionIDLength int
	// NodeID, 1..255, is the first byte of every connection ID this server
	// gives, so that a load balancer or a peer node can route a record to
	// the node holding its session (the format is in the package
	// documentation); 0 means none, every byte random.
	NodeID int
}

// withDefaults returns c with every zero field set to its default, or an
// error naming a field out of range.
func (c Config) withDefaults() (Config, error) {
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxSessions", &c.MaxSessions, DefaultMaxSessions},
		{"MaxHalfOpen", &c.MaxHalfOpen, DefaultMaxHalfOpen},
		{"MaxHalfOpenPerIP", &c.MaxHalfOpenPerIP, DefaultMaxHalfOpenPerIP},
		{"MaxBufferedBytes", &c.MaxBufferedBytes, DefaultMaxBufferedBytes},
	} {
		if *f.v < 0 {
			return c, fmt.Errorf("server: negative %s %d", f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	switch {
	case c.IdleTimeout == 0:
		c.IdleTimeout = DefaultIdleTimeout
	case c.IdleTimeout < 0 && c.IdleTimeout != NoIdleTimeout:
		return c, errors.New("server: negative IdleTimeout (use NoIdleTimeout to turn it off)")
	}
	if c.IdleAfter < 0 {
		return c, errors.New("server: negative IdleAfter")
	}
	if c.IdleAfter == 0 {
		c.IdleAfter = DefaultIdleAfter
	}
	if c.Verifier == nil {
		c.Verifier = verifier.New()
	}
	if c.Session.HandshakeDeadline == 0 {
		c.Session.HandshakeDeadline = session.DefaultHandshakeDeadline
	}
	switch l := c.ConnectionIDLength; {
	case l == 0:
		c.ConnectionIDLength = session.DefaultConnectionIDLength
	case l == session.NoConnectionID:
	case l < 1 || l > session.MaxConnectionIDLength:
		return c, fmt.Errorf("server: ConnectionIDLength %d is outside 1..%d (0: default, session.NoConnectionID: off)", l, session.MaxConnectionIDLength)
	}
	switch {
	case c.NodeID < 0 || c.NodeID > 255:
		return c, fmt.Errorf("server: NodeID %d is outside 0..255", c.NodeID)
	case c.NodeID != 0 && c.ConnectionIDLength == session.NoConnectionID:
		return c, errors.New("server: a NodeID needs connection IDs")
	case c.NodeID != 0 && c.ConnectionIDLength < 2:
		return c, errors.New("server: a NodeID needs a ConnectionIDLength of at least 2")
	}
	c.Session.ConnectionIDLength, c.Session.ConnectionID = session.NoConnectionID, nil
	c.Session.Cookies = c.Verifier.Generator()
	c.Session.MaxHandshakeBuffer = c.MaxBufferedBytes
	return c, nil
}

// Stats counts what the server did, and each limit every time it bit.
type Stats struct {
	Datagrams       uint64 // received through Input
	BytesIn         uint64 // the bytes of those datagrams
	DatagramsOut    uint64 // Serve: written to the socket (a Server alone returns them, counts none)
	BytesOut        uint64 // Serve: the bytes of those
	HelloVerifies   uint64 // HelloVerifyRequests sent
	DroppedStranger uint64 // from a peer without a session, not a ClientHello
	DroppedBadPeer  uint64 // from an address no reply can go to
	DroppedTooLarge uint64 // longer than ServeConfig.MaxDatagram (Serve), or a ClientHello longer than MaxHello

	HandshakesStarted   uint64 // a verified ClientHello created state
	HandshakesCompleted uint64
	HandshakesFailed    uint64 // refused or failed with an alert
	HandshakeTimeouts   uint64 // HandshakeDeadline (or the retransmissions) ran out
	Restarts            uint64 // a new handshake from an established session's address (RFC 6347 4.2.8)
	DuplicateHellos     uint64 // a copy of the ClientHello a session started from

	// The limits.
	EvictedHalfOpen      uint64 // MaxHalfOpen: the oldest handshake made room
	EvictedHalfOpenPerIP uint64 // MaxHalfOpenPerIP: the same address's oldest made room
	EvictedIdle          uint64 // MaxSessions: an idle session made room
	EvictedForSession    uint64 // MaxSessions: a half-open handshake made room
	RefusedFull          uint64 // MaxSessions: only active sessions, newcomer refused
	IdleTimeouts         uint64 // IdleTimeout closed a session
	DroppedBuffered      uint64 // MaxBufferedBytes: data dropped, application too slow

	// Connection IDs (RFC 9146).
	DroppedUnknownCID uint64 // a tls12_cid record whose connection ID no session holds
	Moves             uint64 // a session moved to the address its newest record came from
	RefusedMoves      uint64 // from a new address with a known ID, but not authenticated or not the newest record
	RoutedCID         uint64 // Serve: passed to the worker holding its ID (a NAT rebinding moved the client to another worker), which counts it in Datagrams again

	Sessions int // held now, half-open included
	HalfOpen int // handshakes in progress now
}
