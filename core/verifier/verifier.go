// SPDX-License-Identifier: MIT

// Package verifier is the server side of DTLS's stateless cookie exchange
// (RFC 6347, section 4.2.1) in the shape of Qt's QDtlsClientVerifier.
//
// A ClientVerifier answers a ClientHello that carries no valid cookie with a
// HelloVerifyRequest and accepts one that does, without keeping any state
// per client: the cookie itself proves that the client received the
// server's earlier reply at the address it claims.
//
// VerifyClient is Qt's call: it writes the reply itself and remembers the
// last error and the last verified ClientHello. Check is the same decision
// for servers that do their own I/O: no state, no allocation, and safe to
// call from many goroutines at once.
package verifier

import (
	"errors"
	"net/netip"
	"sync"

	"github.com/dtlsgate/dtlsgate/core/cookie"
	"github.com/dtlsgate/dtlsgate/core/dtlserror"
	"github.com/dtlsgate/dtlsgate/core/wire"
)

// Qt's messages for refused input, kept word for word so that logs and
// tests written against Qt read the same.
const (
	MsgInvalidInput = "A valid UDP socket, non-empty datagram, and valid address/port were expected"
	MsgMulticast    = "Multicast and broadcast addresses are not supported"
)

// MaxReplySize is the size of the largest HelloVerifyRequest Check writes.
const MaxReplySize = wire.HelloVerifyRequestOverhead + cookie.MaxSize

// Errors returned by Check for input VerifyClient would refuse.
var (
	ErrEmptyDatagram = errors.New("verifier: empty datagram")
	ErrInvalidPeer   = errors.New("verifier: peer needs a valid address and a non-zero port")
	ErrMulticastPeer = errors.New("verifier: multicast and broadcast peers are not supported")
)

// Result is Check's verdict on a datagram.
type Result int

const (
	// Drop: not a ClientHello this verifier can answer; ignore it.
	Drop Result = iota
	// SendReply: send the HelloVerifyRequest Check wrote to the peer.
	SendReply
	// Verified: the ClientHello carries a valid cookie for this peer.
	Verified
)

func (r Result) String() string {
	switch r {
	case Drop:
		return "Drop"
	case SendReply:
		return "SendReply"
	case Verified:
		return "Verified"
	}
	return "Result(?)"
}

// DatagramWriter sends one datagram to peer; VerifyClient uses it to send
// the HelloVerifyRequest. The error's text is shown to the application as
// the UnderlyingSocketError message.
type DatagramWriter interface {
	WriteDatagram(b []byte, peer netip.AddrPort) error
}

// ClientVerifier is safe for concurrent use. VerifyClient calls are
// serialized; Check runs in parallel with everything.
type ClientVerifier struct {
	gen *cookie.Generator

	mu     sync.Mutex // guards the fields below
	err    dtlserror.Code
	errStr string
	hello  []byte // last verified ClientHello; storage reused across calls
	// reply is an allocation of its own, holding no pointers, so a
	// DatagramWriter may pass it to C (cgo refuses memory next to Go
	// pointers).
	reply []byte
}

// New returns a verifier using the process-wide default parameters
// (SHA-256 and a secret shared by every default verifier, so they accept
// each other's cookies).
func New() *ClientVerifier {
	return &ClientVerifier{gen: cookie.NewDefaultGenerator(), reply: make([]byte, MaxReplySize)}
}

// Generator gives access to the cookie lifetime, rotation and fleet
// settings, which Qt does not have.
func (v *ClientVerifier) Generator() *cookie.Generator { return v.gen }

// CookieGeneratorParameters returns the hash algorithm and secret in use.
func (v *ClientVerifier) CookieGeneratorParameters() cookie.Parameters {
	return v.gen.Parameters()
}

// SetCookieGeneratorParameters switches to p, as Qt's call of the same name.
// It reports false, leaving the parameters as they were and the error set to
// InvalidInputParameters, when p's secret is empty or its hash is not
// available. Cookies minted under the previous secret remain valid for one
// lifetime.
func (v *ClientVerifier) SetCookieGeneratorParameters(p cookie.Parameters) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.gen.SetParameters(p); err != nil {
		v.setError(dtlserror.InvalidInputParameters, err.Error())
		return false
	}
	v.setError(dtlserror.NoError, "")
	return true
}

// VerifyClient looks at a datagram that arrived from (addr, port), as Qt's
// verifyClient. It returns true when it is a ClientHello with a valid
// cookie; VerifiedHello then returns the datagram. Otherwise it returns
// false, having sent a HelloVerifyRequest through w if the datagram was a
// ClientHello without a valid cookie; DtlsError tells whether anything went
// wrong. A nil w, an empty datagram, an invalid address or port 0, and
// broadcast or multicast addresses are refused with InvalidInputParameters,
// leaving VerifiedHello unchanged.
func (v *ClientVerifier) VerifyClient(w DatagramWriter, dgram []byte, addr netip.Addr, port uint16) bool {
	v.mu.Lock()
	defer v.mu.Unlock()

	peer := netip.AddrPortFrom(addr, port)
	peerErr := checkPeer(peer)
	if w == nil || len(dgram) == 0 || peerErr == ErrInvalidPeer {
		v.setError(dtlserror.InvalidInputParameters, MsgInvalidInput)
		return false
	}
	if peerErr != nil {
		v.setError(dtlserror.InvalidInputParameters, MsgMulticast)
		return false
	}

	v.setError(dtlserror.NoError, "")
	v.hello = v.hello[:0]
	result, n, _ := v.decide(dgram, peer, v.reply) // v.reply always has room
	switch result {
	case Verified:
		v.hello = append(v.hello, dgram...)
		return true
	case SendReply:
		if err := w.WriteDatagram(v.reply[:n], peer); err != nil {
			v.setError(dtlserror.UnderlyingSocketError, err.Error())
		}
	}
	return false
}

// VerifiedHello returns a copy of the last datagram VerifyClient accepted,
// or nil.
func (v *ClientVerifier) VerifiedHello() []byte {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.hello) == 0 {
		return nil
	}
	return append([]byte(nil), v.hello...)
}

// DtlsError returns the error left by the last VerifyClient or
// SetCookieGeneratorParameters call.
func (v *ClientVerifier) DtlsError() dtlserror.Code {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.err
}

// DtlsErrorString returns the message that goes with DtlsError; empty for
// NoError.
func (v *ClientVerifier) DtlsErrorString() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.errStr
}

func (v *ClientVerifier) setError(code dtlserror.Code, msg string) {
	v.err, v.errStr = code, msg
}

// Check decides what to do with a datagram from peer without touching the
// verifier's error or VerifiedHello and without allocating. For SendReply
// the HelloVerifyRequest is written to reply (MaxReplySize bytes always
// suffice) and its length returned. Errors: ErrEmptyDatagram,
// ErrInvalidPeer, ErrMulticastPeer, and wire.ErrBufferTooSmall (with the
// size needed as n).
func (v *ClientVerifier) Check(dgram []byte, peer netip.AddrPort, reply []byte) (result Result, n int, err error) {
	if err := checkPeer(peer); err != nil {
		return Drop, 0, err
	}
	if len(dgram) == 0 {
		return Drop, 0, ErrEmptyDatagram
	}
	return v.decide(dgram, peer, reply)
}

// decide is Check for input already known to be acceptable: a non-empty
// datagram from a unicast peer with a port. VerifyClient validates with Qt's
// messages first, so it calls this directly rather than validating twice.
func (v *ClientVerifier) decide(dgram []byte, peer netip.AddrPort, reply []byte) (result Result, n int, err error) {
	var hello wire.ClientHello
	if err := wire.ParseClientHelloHead(dgram, &hello); err != nil {
		return Drop, 0, nil // not ours to answer; a stateless server stays silent
	}
	if len(hello.Cookie) > 0 && v.gen.Check(hello.Cookie, peer) == nil {
		return Verified, 0, nil
	}

	var c [cookie.MaxSize]byte
	cookieLen := v.gen.Mint(c[:], peer)
	size := wire.HelloVerifyRequestSize(cookieLen)
	if size > len(dgram) {
		// Never answer with more bytes than were received: a forged source
		// address must not turn this server into an amplifier. A hello that
		// parses is always larger than our reply, so this is a guard only.
		return Drop, 0, nil
	}
	if len(reply) < size {
		return Drop, size, wire.ErrBufferTooSmall
	}
	n, err = wire.PutHelloVerifyRequest(reply, hello.Record.Epoch, hello.Record.SequenceNumber, c[:cookieLen])
	if err != nil {
		return Drop, 0, err
	}
	return SendReply, n, nil
}

// checkPeer applies Qt's rules for a peer address, plus a non-zero port.
func checkPeer(peer netip.AddrPort) error {
	addr := peer.Addr().Unmap()
	switch {
	case !addr.IsValid() || peer.Port() == 0:
		return ErrInvalidPeer
	case addr.IsMulticast() || addr == broadcast:
		return ErrMulticastPeer
	}
	return nil
}

var broadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})
