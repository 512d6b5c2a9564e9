package session

import (
	"crypto/ecdh"
	"crypto/subtle"
	"time"

	"github.com/dtlsgate/dtlsgate/core/psk"
	"github.com/pion/dtls/v2/pkg/crypto/prf"
)

// step is where a handshake stands.
type step int

const (
	stepWaitServerHello       step = iota // client: ClientHello sent; HelloVerifyRequest or ServerHello next
	stepWaitServerHelloDone               // client: ServerHello received; ServerKeyExchange or ServerHelloDone next
	stepWaitClientKeyExchange             // server: its hello flight sent
	stepWaitFinished                      // both: own Finished sent (client) or keys ready (server)
)

// handshake is the state that lives only while a handshake is in progress.
type handshake struct {
	step       step
	transcript []byte // every handshake message so far, as RFC 6347 section 4.2.6 prescribes
	reasm      reassembler
	writeSeq   uint16 // message_seq of our next handshake message

	flight      []flightItem // our last flight, for retransmission
	timeout     time.Duration
	deadline    time.Time // zero: no timer running
	retransmits int

	clientRandom []byte
	serverRandom []byte
	clientHello  []byte // client: the body of our ClientHello, to send again with a cookie
	ems          bool   // extended master secret negotiated (RFC 7627)
	secureReneg  bool   // the peer signalled renegotiation_info support
	hint         []byte // client: the identity hint received
	peerPoint    []byte // client: the server's ECDH share

	ecdhKey  *ecdh.PrivateKey
	group    uint16
	master   []byte
	pendRead protection // epoch-1 keys for reading, installed at the peer's ChangeCipherSpec
	peerCCS  bool       // the peer's ChangeCipherSpec arrived before its keys were ready
	early    [][]byte   // epoch-1 records that arrived before the ChangeCipherSpec
}

func (hs *handshake) wipe() {
	clear(hs.master)
	hs.ecdhKey = nil
}

// flightItem is one message of a flight: a handshake message or a
// ChangeCipherSpec (msg nil), and the epoch it is sent in.
type flightItem struct {
	epoch uint16
	msg   message
}

// addMessage builds our next handshake message, records it in the
// transcript and returns it as a flight item.
func (s *Session) addMessage(epoch uint16, typ uint8, body []byte) flightItem {
	hs := s.hs
	m := newMessage(typ, hs.writeSeq, body)
	hs.writeSeq++
	hs.transcript = append(hs.transcript, m...)
	return flightItem{epoch: epoch, msg: m}
}

// sendFlight makes items the current flight, sends it and, when an answer
// is expected, starts the retransmission timer at its initial value.
func (s *Session) sendFlight(items []flightItem, expectAnswer bool) {
	s.hs.flight = items
	s.hs.retransmits = 0
	s.hs.timeout = InitialTimeout
	s.hs.deadline = time.Time{}
	if expectAnswer {
		s.hs.deadline = s.cfg.Now().Add(s.hs.timeout)
	}
	s.transmit(items)
}

// transmit sends a flight, fragmenting messages and packing records into
// datagrams of at most the MTU. Records get fresh sequence numbers each
// time, as RFC 6347 section 4.2.4 requires.
func (s *Session) transmit(items []flightItem) {
	mtu := s.cfg.MTU
	var dgram []byte
	emit := func(typ uint8, epoch uint16, payload []byte) {
		size := recordHeaderLen + len(payload)
		if epoch == 1 {
			size += s.writeProt.overhead()
		}
		if len(dgram) > 0 && len(dgram)+size > mtu {
			s.out = append(s.out, dgram)
			dgram = nil
		}
		var err error
		if dgram, err = s.sealRecord(dgram, typ, epoch, payload); err != nil {
			return
		}
		if typ == contentChangeCipherSpec {
			s.writeEpoch = 1
		}
	}
	for _, it := range items {
		if it.msg == nil {
			emit(contentChangeCipherSpec, it.epoch, []byte{1})
			continue
		}
		room := mtu - recordHeaderLen - handshakeHeaderLen
		if it.epoch == 1 {
			room -= s.writeProt.overhead()
		}
		// Every message has at least one fragment, even an empty one.
		body := it.msg.body()
		for off := 0; ; {
			n := min(room, len(body)-off)
			frag := appendHandshakeHeader(make([]byte, 0, handshakeHeaderLen+n), it.msg.typ(), len(body), it.msg.seq(), off, n)
			emit(contentHandshake, it.epoch, append(frag, body[off:off+n]...))
			if off += n; off >= len(body) {
				break
			}
		}
	}
	if len(dgram) > 0 {
		s.out = append(s.out, dgram)
	}
}

// handleHandshakeRecord feeds the fragments of a handshake record to the
// reassembler and processes every message that becomes complete. It
// reports whether the record repeated the last message of the peer's
// previous flight, which means the peer did not get our last flight.
func (s *Session) handleHandshakeRecord(epoch uint16, b []byte) (repeated bool) {
	for len(b) > 0 && s.code == 0 {
		h, ok := parseHandshakeHeader(b)
		if !ok {
			return repeated
		}
		frag := b[handshakeHeaderLen : handshakeHeaderLen+h.fragLen]
		b = b[handshakeHeaderLen+h.fragLen:]
		if s.hs == nil {
			repeated = s.afterHandshake(epoch, h) || repeated
			continue
		}
		switch s.hs.reasm.add(h, frag, epoch) {
		case fragmentOld:
			// Only the last message of the peer's previous flight counts
			// (RFC 6347 section 4.2.4), so stale fragments of earlier
			// messages cannot make us send whole flights again.
			repeated = repeated || h.seq == s.hs.reasm.next-1
		case fragmentNew:
			for s.hs != nil {
				m, epoch, ok := s.hs.reasm.pop()
				if !ok {
					break
				}
				s.handleMessage(m, epoch)
			}
		}
	}
	return repeated
}

// afterHandshake deals with a handshake fragment that arrives once the
// connection is up: a repeat of the client's last flight, or an attempt to
// renegotiate, which is refused (RFC 5746 does not require supporting it).
func (s *Session) afterHandshake(epoch uint16, h handshakeHeader) (repeated bool) {
	if !s.encrypted {
		return false
	}
	if h.seq < s.peerSeq {
		return s.lastFlight != nil && h.seq == s.peerSeq-1 // the client's Finished again
	}
	if epoch == 1 && h.fragOff == 0 &&
		(s.mode == Server && h.typ == msgClientHello || s.mode == Client && h.typ == msgHelloRequest) {
		s.sendAlert(alertWarning, alertNoRenegotiation)
	}
	return false
}

// handleMessage dispatches one whole handshake message.
func (s *Session) handleMessage(m message, epoch uint16) {
	if (m.typ() == msgFinished) != (epoch == 1) {
		s.failAlert(alertUnexpectedMessage, "Handshake message in the wrong epoch")
		return
	}
	if s.mode == Client {
		s.clientMessage(m)
	} else {
		s.serverMessage(m)
	}
}

// handleChangeCipherSpec takes the peer's ChangeCipherSpec where one can
// come: after our flight that asks for it (the client's Finished flight, or
// the server's hello flight, which a reordered ChangeCipherSpec may follow
// before the ClientKeyExchange). Anywhere else it is dropped.
func (s *Session) handleChangeCipherSpec() {
	hs := s.hs
	switch {
	case s.readEpoch == 1:
	case hs.step == stepWaitFinished:
		s.switchReadEpoch()
	case hs.step == stepWaitClientKeyExchange:
		hs.peerCCS = true
	}
}

// switchReadEpoch installs the peer's epoch-1 keys and replays the records
// that arrived early.
func (s *Session) switchReadEpoch() {
	hs := s.hs
	s.readProt, hs.pendRead, s.readEpoch = hs.pendRead, nil, 1
	early := hs.early
	hs.early = nil
	for _, raw := range early {
		if s.hs == nil {
			return
		}
		s.input(raw)
	}
}

// keysReady installs the keys derived from the master secret: ours for
// writing at once (they are used after our ChangeCipherSpec), the peer's
// at its ChangeCipherSpec (handleChangeCipherSpec).
func (s *Session) keysReady(preMaster []byte) bool {
	hs := s.hs
	var err error
	if hs.ems {
		sum := s.suite.prf()
		sum.Write(hs.transcript)
		hs.master, err = prf.ExtendedMasterSecret(preMaster, sum.Sum(nil), s.suite.prf)
	} else {
		hs.master, err = prf.MasterSecret(preMaster, hs.clientRandom, hs.serverRandom, s.suite.prf)
	}
	clear(preMaster)
	if err != nil {
		s.failAlert(alertInternalError, "Cannot derive the master secret: "+err.Error())
		return false
	}
	// One protection holds both directions: it writes from now on and reads
	// once the peer's ChangeCipherSpec arrives.
	keys, err := deriveKeys(s.suite, hs.master, hs.clientRandom, hs.serverRandom)
	if err == nil {
		s.writeProt, err = newProtection(s.suite, keys, s.mode == Client)
		hs.pendRead = s.writeProt
		keys.wipe()
	}
	if err != nil {
		s.failAlert(alertInternalError, "Cannot set up the record keys: "+err.Error())
		return false
	}
	return true
}

// finishedData computes the verify_data of a Finished message over the
// transcript so far (RFC 5246 section 7.4.9).
func (s *Session) finishedData(fromClient bool) []byte {
	f := prf.VerifyDataServer
	if fromClient {
		f = prf.VerifyDataClient
	}
	v, err := f(s.hs.master, s.hs.transcript, s.suite.prf)
	if err != nil {
		return nil
	}
	return v
}

// checkPeerFinished verifies the peer's Finished against our transcript
// and adds it to the transcript.
func (s *Session) checkPeerFinished(m message) bool {
	want := s.finishedData(s.mode == Server)
	if want == nil || subtle.ConstantTimeCompare(want, m.body()) != 1 {
		s.failAlert(alertDecryptError, "The peer's Finished message does not match the handshake")
		return false
	}
	s.hs.transcript = append(s.hs.transcript, m...)
	return true
}

// complete ends a successful handshake.
func (s *Session) complete() {
	s.peerSeq = s.hs.reasm.next
	s.hs.wipe()
	s.hs = nil
	s.state = HandshakeComplete
	s.encrypted = true
}

// askPSK asks the application for the key (and identity), as Qt's
// pskRequired signal. A panic in the callback counts as no answer.
func (s *Session) askPSK(a *psk.Authenticator) {
	if s.cfg.PSK == nil {
		return
	}
	defer func() { _ = recover() }()
	s.cfg.PSK(a)
}
