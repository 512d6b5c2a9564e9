// SPDX-License-Identifier: MIT

package proxy

import (
	"net/netip"
	"time"
)

// Session describes a device's session as the Observer sees it. The
// Observer must not keep ConnectionID beyond the call.
type Session struct {
	Identity     string
	Peer         netip.AddrPort // where the device is now
	Cipher       string         // OpenSSL's name of the negotiated suite
	Backend      netip.AddrPort // where its datagrams go
	ConnectionID []byte         // nil without connection IDs
}

// Direction says which way a datagram went through the proxy.
type Direction uint8

const (
	ToBackend   Direction = iota + 1 // from the device, decrypted, to the backend
	FromBackend                      // from the backend, encrypted, to the device
)

func (d Direction) String() string {
	switch d {
	case ToBackend:
		return "to_backend"
	case FromBackend:
		return "from_backend"
	}
	return "direction(?)"
}

// DropReason says why the proxy itself dropped a datagram. The endpoint's
// own drops (limits, strangers, unknown connection IDs, data the proxy was
// too slow to take) are counted in Proxy.Stats.
type DropReason uint8

const (
	// DropNoBackend: an authenticated device whose identity has no
	// backend (refused unrouted identities), or whose backend socket could
	// not be opened; its session is closed.
	DropNoBackend DropReason = iota + 1
	// DropBackendWrite: the backend socket refused the datagram (ICMP
	// port unreachable reported on it, a full buffer).
	DropBackendWrite
	// DropDeviceGone: the backend answered a session that had already
	// ended.
	DropDeviceGone
	// DropTooLarge: the backend sent a datagram that no DTLS record can
	// carry: longer than 16384 bytes, or empty.
	DropTooLarge
	// DropKeyChanged: a device completed its handshake with a key that a
	// reload removed or changed meanwhile; its session is closed.
	DropKeyChanged
)

func (r DropReason) String() string {
	switch r {
	case DropNoBackend:
		return "no_backend"
	case DropBackendWrite:
		return "backend_write"
	case DropDeviceGone:
		return "device_gone"
	case DropTooLarge:
		return "too_large"
	case DropKeyChanged:
		return "key_changed"
	}
	return "drop(?)"
}

// Observer hears what the proxy does, for metrics. Its methods are called
// from many goroutines at once (every worker, every backend reader) and
// must be quick and safe for concurrent use. Embed NopObserver to
// implement only some.
//
// What the endpoint counts by itself (handshakes started, completed,
// failed and timed out, HelloVerifyRequests, sessions and half-open
// handshakes now, the limits, unknown connection IDs, moves) is in
// Proxy.Stats, to be read when scraped.
type Observer interface {
	// Connected: a device finished its handshake and has a backend
	// socket; handshake is how long the handshake took.
	Connected(s Session, handshake time.Duration)
	// Closed: a device's session ended (reason as the endpoint names it:
	// ClosedByPeer, ClosedIdle, ...), with the bytes each way.
	Closed(s Session, reason string, lasted time.Duration, toBackend, fromBackend uint64)
	// Moved: a device with a connection ID came back from a new address.
	Moved(s Session, from netip.AddrPort)
	// Datagram: one datagram of n bytes (payload) went through.
	Datagram(d Direction, n int)
	// Dropped: the proxy dropped a datagram.
	Dropped(r DropReason)
	// BackendError: a backend socket failed (op "dial", "read" or
	// "write"); the datagram, if any, is dropped as well.
	BackendError(op string, err error)
}

// NopObserver ignores everything.
type NopObserver struct{}

func (NopObserver) Connected(Session, time.Duration)                      {}
func (NopObserver) Closed(Session, string, time.Duration, uint64, uint64) {}
func (NopObserver) Moved(Session, netip.AddrPort)                         {}
func (NopObserver) Datagram(Direction, int)                               {}
func (NopObserver) Dropped(DropReason)                                    {}
func (NopObserver) BackendError(string, error)                            {}
