// SPDX-License-Identifier: MIT

package session

import (
	"bytes"
	"crypto/ecdh"
	"encoding/binary"
	"io"
	"slices"
	"time"

	"github.com/dtlsgate/dtlsgate/core/dtlserror"
	"github.com/dtlsgate/dtlsgate/core/psk"
	"github.com/dtlsgate/dtlsgate/core/secret"
	"github.com/dtlsgate/dtlsgate/core/wire"
)

// Extension numbers the engine understands.
const (
	extSupportedGroups      = 10
	extECPointFormats       = 11
	extExtendedMasterSecret = 23
	extConnectionID         = 54 // RFC 9146
	extRenegotiationInfo    = 0xFF01
)

// Named groups for ECDHE_PSK, in our order of preference.
var groups = []struct {
	id    uint16
	curve func() ecdh.Curve
}{
	{29, ecdh.X25519}, // x25519
	{23, ecdh.P256},   // secp256r1
	{24, ecdh.P384},   // secp384r1
}

func curveOf(id uint16) ecdh.Curve {
	for _, g := range groups {
		if g.id == id {
			return g.curve()
		}
	}
	return nil
}

// serverStart begins a server handshake from the ClientHello the verifier
// accepted. The cookie is checked again, statelessly, as Qt does: the
// session must not start from a hello that never proved its address.
func (s *Session) serverStart(dgram []byte, now time.Time) bool {
	hs := s.hs
	ch, err := wire.ParseClientHello(dgram)
	if err != nil || !ch.Complete || s.cookies().Check(ch.Cookie, s.peer) != nil {
		s.resetConnection()
		return s.setError(dtlserror.TlsFatalError, "Cannot start the handshake, verified client hello expected")
	}
	// The ServerHello takes the ClientHello's record sequence number, and
	// message_seq 1 because the HelloVerifyRequest had 0 (RFC 6347 4.2.1).
	s.writeSeq[0] = ch.Record.SequenceNumber
	s.replay[0].accept(ch.Record.SequenceNumber)
	hs.writeSeq = 1
	hs.reasm.next = ch.Handshake.MessageSeq + 1
	msgLen := handshakeHeaderLen + int(ch.Handshake.Length)
	hello := dgram[recordHeaderLen : recordHeaderLen+msgLen]
	// A true copy of this hello means our hello flight was lost.
	s.setPeerLast(hello, 0)
	copy(hs.clientRandom, ch.Random)

	// A lower DTLS version has a higher number: 0xFEFF is DTLS 1.0. A
	// version that is not DTLS at all (major byte other than 0xFE) is
	// refused the same way.
	if ch.Version > versionDTLS12 || ch.Version>>8 != 0xFE {
		s.failAlert(alertProtocolVersion, "The client does not support DTLS 1.2")
		return false
	}
	if !containsByte(ch.CompressionMethods, 0) {
		s.failAlert(alertIllegalParameter, "The client does not offer the null compression method")
		return false
	}
	suite, group, ok := s.chooseSuite(ch)
	if !ok {
		s.failAlert(alertHandshakeFailure, "No cipher suite in common with the client")
		return false
	}
	s.suite = suite
	hs.useSuite(suite)
	hs.transcript.add(hello)
	_, hs.ems = wire.FindExtension(ch.Extensions, extExtendedMasterSecret)
	if ri, ok := wire.FindExtension(ch.Extensions, extRenegotiationInfo); ok {
		if len(ri) != 1 || ri[0] != 0 {
			s.failAlert(alertHandshakeFailure, "The client sent renegotiation data in an initial handshake")
			return false
		}
		hs.secureReneg = true
	}
	for i := 0; i < len(ch.CipherSuites)/2; i++ {
		if wire.CipherSuite(ch.CipherSuites, i) == tlsEmptyRenegotiationInfoSCSV {
			hs.secureReneg = true
		}
	}
	if !s.serverCID(ch) {
		return false
	}
	if _, err := io.ReadFull(s.cfg.Rand, hs.serverRandom); err != nil {
		s.failAlert(alertInternalError, "No randomness: "+err.Error())
		return false
	}

	// A half-open handshake holds its hello flight: room for all of it at
	// once rather than an arena grown (and over-grown) message by message.
	own, _ := s.ConnectionID()
	room := 3*handshakeHeaderLen + maxServerHelloBody + len(own)
	if suite.ecdhe || len(s.cfg.IdentityHint) > 0 {
		room += 2 + len(s.cfg.IdentityHint) + 4 + maxPointLen
	}
	hs.reserve(room)
	flight := append(hs.items[:0], s.addMessage(0, msgServerHello, s.appendServerHelloBody(hs.beginMessage(), ch)))
	if suite.ecdhe {
		key, err := curveOf(group).GenerateKey(s.cfg.Rand)
		if err != nil {
			s.failAlert(alertInternalError, "Cannot make an ECDH key: "+err.Error())
			return false
		}
		hs.ecdhKey, hs.group = key, group
		m := appendVec16(hs.beginMessage(), s.cfg.IdentityHint)
		m = append(m, 3) // named_curve
		m = binary.BigEndian.AppendUint16(m, group)
		m = appendVec8(m, key.PublicKey().Bytes())
		flight = append(flight, s.addMessage(0, msgServerKeyExchange, m))
	} else if len(s.cfg.IdentityHint) > 0 {
		flight = append(flight, s.addMessage(0, msgServerKeyExchange, appendVec16(hs.beginMessage(), s.cfg.IdentityHint)))
	}
	flight = append(flight, s.addMessage(0, msgServerHelloDone, hs.beginMessage()))
	hs.step = stepWaitClientKeyExchange
	s.sendFlight(flight, now)
	return true
}

// chooseSuite picks our most preferred suite the client offers; an ECDHE
// suite also needs a group both sides support.
func (s *Session) chooseSuite(ch wire.ClientHello) (Suite, uint16, bool) {
	offered := func(id uint16) bool {
		for i := 0; i < len(ch.CipherSuites)/2; i++ {
			if wire.CipherSuite(ch.CipherSuites, i) == id {
				return true
			}
		}
		return false
	}
	for _, id := range s.cfg.Suites {
		suite, _ := LookupSuite(id)
		if !offered(id) {
			continue
		}
		if !suite.ecdhe {
			return suite, 0, true
		}
		if g, ok := commonGroup(ch.Extensions); ok {
			return suite, g, true
		}
	}
	return Suite{}, 0, false
}

// commonGroup returns our preferred group among the client's. A client that
// sends no list is taken to support secp256r1 (RFC 8422 section 4).
func commonGroup(exts []byte) (uint16, bool) {
	list, ok := wire.FindExtension(exts, extSupportedGroups)
	if !ok {
		return 23, true
	}
	r := reader{b: list}
	ids := r.vec16()
	if !r.done() || len(ids)%2 != 0 {
		return 0, false
	}
	for _, g := range groups {
		for i := 0; i+1 < len(ids); i += 2 {
			if binary.BigEndian.Uint16(ids[i:]) == g.id {
				return g.id, true
			}
		}
	}
	return 0, false
}

// serverCID answers the client's connection_id extension, if any, with
// ours, unless connection IDs are off (RFC 9146 section 3).
func (s *Session) serverCID(ch wire.ClientHello) bool {
	ext, ok := wire.FindExtension(ch.Extensions, extConnectionID)
	if !ok {
		return true
	}
	r := reader{b: ext}
	peer := r.vec8()
	if !r.done() {
		s.failAlert(alertDecodeError, "Malformed connection_id extension")
		return false
	}
	own, on, err := s.chooseCID()
	if err != nil {
		s.failAlert(alertInternalError, "No randomness: "+err.Error())
		return false
	}
	if on && len(peer) <= MaxPeerConnectionIDLength && s.peerIDFits(len(peer)) {
		s.cid = &connIDs{on: true, own: own, peer: append([]byte{}, peer...)}
	}
	return true
}

// maxServerHelloBody is the longest ServerHello body we send, connection
// ID aside; maxPointLen is the longest ECDH share of our groups (P-384's).
const (
	maxServerHelloBody = 2 + 32 + 1 + 2 + 1 + 2 + 5 + 4 + 6 + 5
	maxPointLen        = 97
)

// appendServerHelloBody appends the body of our ServerHello to b.
func (s *Session) appendServerHelloBody(b []byte, ch wire.ClientHello) []byte {
	hs := s.hs
	own, _ := s.ConnectionID()
	b = binary.BigEndian.AppendUint16(b, versionDTLS12)
	b = append(b, hs.serverRandom...)
	b = append(b, 0) // no session id: sessions are not resumed
	b = binary.BigEndian.AppendUint16(b, s.suite.ID)
	b = append(b, 0) // null compression
	exts := len(b)
	b = append(b, 0, 0) // the extensions' length, set below
	if hs.secureReneg {
		b = appendExtension(b, extRenegotiationInfo, []byte{0})
	}
	if hs.ems {
		b = appendExtension(b, extExtendedMasterSecret, nil)
	}
	if _, ok := wire.FindExtension(ch.Extensions, extECPointFormats); ok && s.suite.ecdhe {
		b = appendExtension(b, extECPointFormats, []byte{1, 0}) // uncompressed only
	}
	if s.cidsOn() {
		b = appendExtension(b, extConnectionID, appendVec8(nil, own))
	}
	if len(b) == exts+2 {
		return b[:exts] // no extensions: no length either
	}
	binary.BigEndian.PutUint16(b[exts:], uint16(len(b)-exts-2))
	return b
}

// serverMessage handles a message from the client.
func (s *Session) serverMessage(m message) {
	hs := s.hs
	switch {
	case m.typ() == msgClientKeyExchange && hs.step == stepWaitClientKeyExchange:
		s.serverKeyExchange(m)
	case m.typ() == msgFinished && hs.step == stepWaitFinished:
		if !s.checkPeerFinished(m) {
			return
		}
		s.lastFinished = s.addFinished().msg
		s.sendFlight(serverFinalFlight(hs.items[:0], s.lastFinished), time.Time{})
		s.complete()
	default:
		s.failAlert(alertUnexpectedMessage, "Unexpected handshake message from the client")
	}
}

// serverFinalFlight appends the server's last flight to dst:
// ChangeCipherSpec, then its Finished.
func serverFinalFlight(dst []flightItem, finished message) []flightItem {
	return append(dst, flightItem{epoch: 0}, flightItem{epoch: 1, msg: finished})
}

// serverKeyExchange takes the client's identity (and ECDH share), asks the
// application for the key and derives the session keys.
func (s *Session) serverKeyExchange(m message) {
	hs := s.hs
	r := reader{b: m.body()}
	identity := r.vec16()
	var peerPoint []byte
	if s.suite.ecdhe {
		peerPoint = r.vec8()
	}
	if !r.done() {
		s.failAlert(alertDecodeError, "Malformed ClientKeyExchange")
		return
	}
	hs.transcript.add(m)

	auth := new(psk.Authenticator)
	auth.SetIdentity(identity)
	auth.SetIdentityHint(s.cfg.IdentityHint)
	auth.SetMaximumIdentityLength(0) // a server cannot choose the identity
	auth.SetMaximumPreSharedKeyLength(MaxPreSharedKeyLength)
	if !s.askPSK(auth) {
		auth.Wipe()
		return
	}
	if hs.step == stepWaitPSK { // the callback called DeferPSK
		auth.Wipe()
		// The point lies in the caller's datagram, which is gone by the
		// time the key comes.
		hs.peerPoint = bytes.Clone(peerPoint)
		return
	}
	s.serverUseKey(s.pskFrom(auth), peerPoint)
}

// serverUseKey goes on from the client's key exchange with the key the
// application gave (nil: none), now or later (ResolvePSK).
func (s *Session) serverUseKey(key, peerPoint []byte) {
	hs := s.hs
	if key == nil {
		s.failAlert(alertUnknownPSKIdentity, "No pre-shared key for the client's identity")
		return
	}
	preMaster, ok := s.preMaster(key, peerPoint)
	clear(key)
	if !ok {
		return
	}
	if !s.keysReady(preMaster) {
		return
	}
	hs.step = stepWaitFinished
	// A ChangeCipherSpec that overtook this message takes effect now; the
	// Finished it may have brought along is replayed, and can complete or
	// end the handshake.
	if hs.peerCCS {
		s.switchReadEpoch()
	}
}

// pskFrom returns the key the application set, cut to the maximum, or nil
// when it set none. The authenticator is wiped.
func (s *Session) pskFrom(auth *psk.Authenticator) []byte {
	key := auth.PreSharedKey()
	afterKeyCopy()
	auth.Wipe()
	if len(key) == 0 {
		return nil
	}
	if len(key) > MaxPreSharedKeyLength {
		clear(key[MaxPreSharedKeyLength:]) // callers wipe only what they get
		key = key[:MaxPreSharedKeyLength]
	}
	return key
}

// preMaster builds the premaster secret: RFC 4279 section 2 for plain PSK,
// RFC 5489 section 2 for ECDHE_PSK. Secrets go in with secret.Copy, which
// leaves them in no register (see package secret).
func (s *Session) preMaster(key, peerPoint []byte) ([]byte, bool) {
	// RFC 4279 section 2: without ECDHE, as many zero bytes as the key has
	// stand in for the other secret.
	var shared []byte
	otherLen := len(key)
	if s.suite.ecdhe {
		pub, err := curveOf(s.hs.group).NewPublicKey(peerPoint)
		if err != nil {
			s.failAlert(alertIllegalParameter, "Invalid ECDH public key from the peer")
			return nil, false
		}
		if shared, err = s.hs.ecdhKey.ECDH(pub); err != nil {
			s.failAlert(alertIllegalParameter, "ECDH with the peer's key failed")
			return nil, false
		}
		otherLen = len(shared)
	}
	// The handshake's buffer: keysReady clears it once the keys are derived.
	b := s.hs.bufs()
	b.preMaster = slices.Grow(b.preMaster[:0], 4+otherLen+len(key))[:4+otherLen+len(key)]
	out := b.preMaster
	clear(out) // the zeros standing for the other secret of plain PSK
	binary.BigEndian.PutUint16(out, uint16(otherLen))
	secret.Copy(out[2:], shared)
	binary.BigEndian.PutUint16(out[2+otherLen:], uint16(len(key)))
	secret.Copy(out[4+otherLen:], key)
	afterKeyCopy()
	clear(shared)
	return out, true
}

// keyCopied, set by tests only, runs right after the engine copied the
// key: a test signals the thread there, as a preemption can at any time,
// and looks for the key in the signal frame.
var keyCopied func()

func afterKeyCopy() {
	if keyCopied != nil {
		keyCopied()
	}
}

func containsByte(b []byte, v byte) bool {
	for _, x := range b {
		if x == v {
			return true
		}
	}
	return false
}
