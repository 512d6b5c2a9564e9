// SPDX-License-Identifier: MIT

package session

import (
	"encoding/binary"
	"io"
	"slices"
	"time"

	"github.com/dtlsgate/dtlsgate/core/psk"
)

// clientStart sends the first ClientHello; now is when the handshake
// started.
func (s *Session) clientStart(now time.Time) bool {
	hs := s.hs
	if _, err := io.ReadFull(s.cfg.Rand, hs.clientRandom); err != nil {
		s.fail(0, "No randomness: "+err.Error())
		return false
	}
	// s.cid not nil: the extension is offered; the server's answer
	// decides whether connection IDs are used.
	cid, offer, err := s.chooseCID()
	if err != nil {
		s.fail(0, "No randomness: "+err.Error())
		return false
	}
	if offer {
		s.cid = &connIDs{own: cid}
	}
	hs.clientHello = hs.hold(s.appendClientHelloBody(hs.bufs().arena))
	s.sendClientHello(nil, now)
	return true
}

// appendClientHelloBody appends our ClientHello without the cookie to b:
// what goes before it and what goes after it, which stay the same when the
// cookie is added.
func (s *Session) appendClientHelloBody(b []byte) []byte {
	hs := s.hs
	ecdhe := false
	for _, id := range s.cfg.Suites {
		suite, _ := LookupSuite(id)
		ecdhe = ecdhe || suite.ecdhe
	}
	b = binary.BigEndian.AppendUint16(b, versionDTLS12)
	b = append(b, hs.clientRandom...)
	b = append(b, 0) // no session id
	// The cookie goes here; see sendClientHello.
	b = binary.BigEndian.AppendUint16(b, uint16(2*len(s.cfg.Suites)))
	for _, id := range s.cfg.Suites {
		b = binary.BigEndian.AppendUint16(b, id)
	}
	b = append(b, 1, 0) // null compression only
	exts := len(b)
	b = append(b, 0, 0) // the extensions' length, set below
	b = appendExtension(b, extRenegotiationInfo, []byte{0})
	b = appendExtension(b, extExtendedMasterSecret, nil)
	if ecdhe {
		b = binary.BigEndian.AppendUint16(b, extSupportedGroups)
		b = binary.BigEndian.AppendUint16(b, uint16(2+2*len(groups)))
		b = binary.BigEndian.AppendUint16(b, uint16(2*len(groups)))
		for _, g := range groups {
			b = binary.BigEndian.AppendUint16(b, g.id)
		}
		b = appendExtension(b, extECPointFormats, []byte{1, 0})
	}
	if s.cid != nil {
		b = appendExtension(b, extConnectionID, appendVec8(nil, s.cid.own))
	}
	binary.BigEndian.PutUint16(b[exts:], uint16(len(b)-exts-2))
	return b
}

// sendClientHello sends our ClientHello with cookie as a new flight; the
// transcript starts again with it (RFC 6347 section 4.2.6).
func (s *Session) sendClientHello(cookie []byte, now time.Time) {
	hs := s.hs
	const cookieAt = 2 + 32 + 1
	m := append(hs.beginMessage(), hs.clientHello[:cookieAt]...)
	m = appendVec8(m, cookie)
	m = append(m, hs.clientHello[cookieAt:]...)
	hs.transcript.restart()
	hs.step = stepWaitServerHello
	if cookie != nil {
		// Every hello with a cookie is the second one (RFC 6347 section
		// 4.2.2); a verifier drops a higher message_seq.
		hs.writeSeq = 1
	}
	s.sendFlight(append(hs.items[:0], s.addMessage(0, msgClientHello, m)), now)
}

// clientMessage handles a message from the server.
func (s *Session) clientMessage(m message) {
	hs := s.hs
	switch {
	case m.typ() == msgServerHello && hs.step == stepWaitServerHello:
		if s.clientServerHello(m) {
			hs.useSuite(s.suite)
			hs.transcript.add(m)
			hs.step = stepWaitServerHelloDone
		}
	case m.typ() == msgServerKeyExchange && hs.step == stepWaitServerHelloDone && hs.hint == nil:
		// hs.hint becomes non-nil here, so a second one is unexpected.
		if s.clientServerKeyExchange(m) {
			hs.transcript.add(m)
		}
	case m.typ() == msgServerHelloDone && hs.step == stepWaitServerHelloDone:
		if len(m.body()) != 0 {
			s.failAlert(alertDecodeError, "Malformed ServerHelloDone")
			return
		}
		if s.suite.ecdhe && hs.ecdhKey == nil {
			s.failAlert(alertUnexpectedMessage, "The server sent no ECDH key")
			return
		}
		hs.transcript.add(m)
		s.clientKeyExchange()
	case m.typ() == msgFinished && hs.step == stepWaitFinished:
		if s.checkPeerFinished(m) {
			s.complete()
		}
	default:
		s.failAlert(alertUnexpectedMessage, "Unexpected handshake message from the server")
	}
}

func (s *Session) clientServerHello(m message) bool {
	hs := s.hs
	r := reader{b: m.body()}
	version := uint16(r.u16())
	random := r.bytes(32)
	sessionID := r.vec8() // resumption is not offered, so it is not kept
	id := uint16(r.u16())
	compression := r.u8()
	var exts []byte
	if len(r.b) > 0 {
		exts = r.vec16()
	}
	if !r.done() || len(sessionID) > 32 {
		s.failAlert(alertDecodeError, "Malformed ServerHello")
		return false
	}
	if version != versionDTLS12 {
		s.failAlert(alertProtocolVersion, "The server did not choose DTLS 1.2")
		return false
	}
	suite, ok := LookupSuite(id)
	if !ok || !containsSuite(s.cfg.Suites, id) || compression != 0 {
		s.failAlert(alertIllegalParameter, "The server chose a cipher suite or compression we did not offer")
		return false
	}
	s.suite = suite
	copy(hs.serverRandom, random)
	var seenTypes [8]uint16 // a map costs more than a look through the few we accept
	seen := seenTypes[:0]
	for e := (reader{b: exts}); len(e.b) > 0; {
		typ := uint16(e.u16())
		body := e.vec16()
		switch {
		case e.bad || slices.Contains(seen, typ):
			s.failAlert(alertDecodeError, "Malformed ServerHello extensions")
			return false
		case typ == extExtendedMasterSecret && len(body) == 0:
			hs.ems = true
		case typ == extRenegotiationInfo && !(len(body) == 1 && body[0] == 0):
			// RFC 5746 section 3.4: an initial handshake carries no
			// renegotiation data.
			s.failAlert(alertHandshakeFailure, "The server sent renegotiation data in an initial handshake")
			return false
		case typ == extRenegotiationInfo:
		case typ == extECPointFormats && suite.ecdhe:
		case typ == extConnectionID && s.cid != nil:
			c := reader{b: body}
			cid := c.vec8()
			if !c.done() {
				s.failAlert(alertDecodeError, "Malformed connection_id extension")
				return false
			}
			if !s.peerIDFits(len(cid)) {
				s.failAlert(alertIllegalParameter, "The server's connection ID leaves no room for a record in the MTU")
				return false
			}
			s.cid.on, s.cid.peer = true, append([]byte{}, cid...)
		default:
			s.failAlert(alertUnsupportedExtension, "The server sent an extension we did not offer")
			return false
		}
		seen = append(seen, typ)
	}
	return true
}

func (s *Session) clientServerKeyExchange(m message) bool {
	hs := s.hs
	r := reader{b: m.body()}
	hint := r.vec16()
	var group uint16
	var point []byte
	if s.suite.ecdhe {
		curveType := r.u8()
		group = uint16(r.u16())
		point = r.vec8()
		if curveType != 3 && !r.bad {
			s.failAlert(alertIllegalParameter, "The server's ECDH parameters do not name a curve")
			return false
		}
	}
	if !r.done() {
		s.failAlert(alertDecodeError, "Malformed ServerKeyExchange")
		return false
	}
	hs.hint = append([]byte{}, hint...)
	if !s.suite.ecdhe {
		return true
	}
	curve := curveOf(group)
	if curve == nil {
		s.failAlert(alertIllegalParameter, "The server chose a group we did not offer")
		return false
	}
	key, err := curve.GenerateKey(s.cfg.Rand)
	if err != nil {
		s.failAlert(alertInternalError, "Cannot make an ECDH key: "+err.Error())
		return false
	}
	hs.ecdhKey, hs.group = key, group
	hs.peerPoint = append([]byte(nil), point...)
	return true
}

// clientKeyExchange asks the application for identity and key, then sends
// ClientKeyExchange, ChangeCipherSpec and Finished.
func (s *Session) clientKeyExchange() {
	hs := s.hs
	auth := new(psk.Authenticator)
	auth.SetIdentityHint(hs.hint)
	auth.SetMaximumIdentityLength(MaxIdentityLength)
	auth.SetMaximumPreSharedKeyLength(MaxPreSharedKeyLength)
	if !s.askPSK(auth) {
		auth.Wipe()
		return
	}
	identity := auth.Identity()
	key := s.pskFrom(auth)
	if key == nil {
		s.failAlert(alertHandshakeFailure, "No pre-shared key was provided")
		return
	}
	identity = identity[:min(len(identity), MaxIdentityLength)]
	preMaster, ok := s.preMaster(key, hs.peerPoint)
	clear(key)
	if !ok {
		return
	}
	m := appendVec16(hs.beginMessage(), identity)
	if s.suite.ecdhe {
		m = appendVec8(m, hs.ecdhKey.PublicKey().Bytes())
	}
	flight := append(hs.items[:0], s.addMessage(0, msgClientKeyExchange, m))
	if !s.keysReady(preMaster) {
		return
	}
	flight = append(flight, flightItem{epoch: 0}, s.addFinished())
	hs.step = stepWaitFinished
	s.sendFlight(flight, s.cfg.Now()) // the PSK callback ran since the datagram came
}

func containsSuite(list []uint16, id uint16) bool {
	for _, x := range list {
		if x == id {
			return true
		}
	}
	return false
}
