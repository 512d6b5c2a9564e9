// SPDX-License-Identifier: MIT

package session

import (
	"bytes"
	"crypto/ecdh"
	"crypto/subtle"
	"hash"
	"sync"
	"time"

	"github.com/dtlsgate/dtlsgate/core/dtlserror"
	"github.com/dtlsgate/dtlsgate/core/psk"
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
	transcript transcript
	reasm      reassembler
	writeSeq   uint16 // message_seq of our next handshake message

	flight       []flightItem  // our last flight, for retransmission
	items        [3]flightItem // room for the largest flight
	buf          *buffers      // nil until bufs() takes them from the pool
	timeout      time.Duration
	retransmitAt time.Time // zero: no retransmission timer running
	cookieAt     time.Time // client: when the last HelloVerifyRequest was answered
	giveUpAt     time.Time // the handshake deadline
	retransmits  int

	clientRandom []byte // randoms[:32]
	serverRandom []byte // randoms[32:]
	randoms      [64]byte
	clientHello  []byte // client: the body of our ClientHello, to send again with a cookie
	ems          bool   // extended master secret negotiated (RFC 7627)
	secureReneg  bool   // the peer signalled renegotiation_info support
	group        uint16 // ecdhKey's group; with the small fields, so that the state fits a smaller size class
	hint         []byte // client: the identity hint received
	peerPoint    []byte // the peer's ECDH share (server: while the PSK is awaited)

	ecdhKey *ecdh.PrivateKey
	// prf is keyed with the premaster secret, then with the master secret
	// for the key block and both Finished messages. It is taken when the
	// keys are derived (keysReady), not before: a half-open handshake
	// waiting for the client's key exchange holds none (about 0.9 KB).
	prf        *prfState
	master     []byte // secrets[:48]
	secrets    [48 + maxKeyBlock]byte
	verifyData [12]byte   // a Finished message's body, ours or the one expected
	peerCCS    bool       // the peer's ChangeCipherSpec arrived before its keys were ready
	pendRead   protection // epoch-1 keys for reading, installed at the peer's ChangeCipherSpec
	early      [][]byte   // epoch-1 records that arrived before the ChangeCipherSpec
	// unauthenticated counts epoch-1 records that failed authentication:
	// during a handshake, most likely a Finished under another key.
	unauthenticated int
}

// maxKeyBlock is the longest key block a suite derives: two MAC keys, two
// cipher keys and two implicit IVs.
const maxKeyBlock = 2*32 + 2*32 + 2*16

// spareHandshakes holds the states of completed handshakes, wiped and
// zeroed, for the next ones: a handshake's state is its largest
// allocation (about 1.8 KB a side).
var spareHandshakes = sync.Pool{New: func() any { return new(handshake) }}

func newHandshake() *handshake {
	hs := spareHandshakes.Get().(*handshake)
	hs.timeout = InitialTimeout
	hs.clientRandom, hs.serverRandom = hs.randoms[:32:32], hs.randoms[32:]
	hs.master = hs.secrets[:48:48]
	hs.bufs()
	return hs
}

// useSuite starts the hashes of the suite the handshake has settled on.
func (hs *handshake) useSuite(suite Suite) {
	hs.transcript.start(hs.transcriptHash(suite.hash))
}

// sparePRFs holds wiped PRF states for the handshakes deriving keys.
var sparePRFs = sync.Pool{New: func() any { return new(prfState) }}

// release hands the state of a completed handshake back for reuse. Only
// DoHandshake calls it, once the call is over: no function that holds hs
// is then running.
func (hs *handshake) release() {
	hs.wipe()
	if hs.buf != nil {
		hs.buf.release(hs.transcript.buf)
	}
	*hs = handshake{}
	spareHandshakes.Put(hs)
}

func (hs *handshake) wipe() {
	clear(hs.secrets[:])
	if hs.prf != nil {
		hs.prf.wipe()
		sparePRFs.Put(hs.prf)
		hs.prf = nil
	}
	hs.ecdhKey = nil
}

// transcript hashes the handshake messages as they come and go, as RFC 6347
// section 4.2.6 prescribes their form, so that the Finished messages and the
// extended master secret never hash the whole handshake again. A client
// sends its hello before it knows the suite's hash: until then the
// messages are kept as they are.
type transcript struct {
	h   hash.Hash
	buf []byte // kept across handshakes (buffers.held)
	// summed says that sum holds the hash of the messages so far: the
	// extended master secret and the Finished message computed next hash
	// the same messages.
	summed bool
	sum    [maxHashSize]byte
}

func (t *transcript) add(m []byte) {
	t.summed = false
	if t.h != nil {
		t.h.Write(m)
		return
	}
	t.buf = append(t.buf, m...)
}

// start hashes with h, reset, from now on, beginning with the kept
// messages.
func (t *transcript) start(h hash.Hash) {
	t.h, t.summed = h, false
	t.h.Write(t.buf)
	t.buf = t.buf[:0]
}

// restart forgets every message; a client does so when it sends a new
// hello with a cookie, before any suite is chosen.
func (t *transcript) restart() {
	t.h, t.buf, t.summed = nil, t.buf[:0], false
}

// hash returns the hash of the messages so far; more can be added.
func (t *transcript) hash() []byte {
	if !t.summed {
		t.h.Sum(t.sum[:0])
		t.summed = true
	}
	return t.sum[:t.h.Size()]
}

// flightItem is one message of a flight: a handshake message or a
// ChangeCipherSpec (msg nil), and the epoch it is sent in.
type flightItem struct {
	epoch uint16
	msg   message
}

// addMessage ends our next handshake message: b is what beginMessage
// returned with the body appended. It writes the header, records the
// message in the transcript and returns it as a flight item; the message
// lives in the handshake's arena.
func (s *Session) addMessage(epoch uint16, typ uint8, b []byte) flightItem {
	hs := s.hs
	m := message(hs.hold(b))
	n := len(m) - handshakeHeaderLen
	appendHandshakeHeader(m[:0], typ, n, hs.writeSeq, 0, n)
	hs.writeSeq++
	hs.transcript.add(m)
	return flightItem{epoch: epoch, msg: m}
}

// sendFlight makes items the current flight, sends it and, when an answer
// is expected, starts the retransmission timer at its initial value. now
// is the time it goes out, zero when no answer is expected: a caller that
// read the clock with nothing slow (a PSK callback) run since passes that
// reading, and the clock is read once less.
func (s *Session) sendFlight(items []flightItem, now time.Time) {
	s.hs.flight = items
	s.resentAt = time.Time{}
	s.hs.retransmits = 0
	s.hs.timeout = InitialTimeout
	s.hs.retransmitAt = time.Time{}
	if !now.IsZero() {
		s.hs.retransmitAt = now.Add(s.hs.timeout)
	}
	s.transmit(items)
}

// transmit sends a flight, fragmenting messages and packing records into
// datagrams of at most the MTU. Records get fresh sequence numbers each
// time, as RFC 6347 section 4.2.4 requires.
func (s *Session) transmit(items []flightItem) {
	mtu := s.cfg.MTU
	// Each datagram is made once, with room for what is left to send up to
	// the MTU, rather than grown record by record.
	left := s.flightSize(items)
	var dgram, frag []byte
	emit := func(typ uint8, epoch uint16, payload []byte) {
		size := s.recordSize(epoch, len(payload))
		if len(dgram) > 0 && len(dgram)+size > mtu {
			s.out = append(s.out, dgram)
			dgram = nil
		}
		if dgram == nil {
			dgram = make([]byte, 0, min(mtu, left))
		}
		left -= size
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
			emit(contentChangeCipherSpec, it.epoch, changeCipherSpec)
			continue
		}
		room := s.fragmentRoom(it.epoch)
		body := it.msg.body()
		if len(body) <= room {
			// A message that fits is its own only fragment: its header
			// already says offset 0 and the full length.
			emit(contentHandshake, it.epoch, it.msg)
			continue
		}
		if frag == nil {
			frag = make([]byte, 0, handshakeHeaderLen+room)
		}
		for off := 0; off < len(body); off += room {
			n := min(room, len(body)-off)
			frag = appendHandshakeHeader(frag[:0], it.msg.typ(), len(body), it.msg.seq(), off, n)
			emit(contentHandshake, it.epoch, append(frag, body[off:off+n]...))
		}
	}
	if len(dgram) > 0 {
		s.out = append(s.out, dgram)
	}
}

var changeCipherSpec = []byte{1}

// recordSize is the most a record of the given epoch and payload length
// takes in a datagram.
func (s *Session) recordSize(epoch uint16, n int) int {
	if epoch == 1 {
		return s.writeHeaderLen() + n + s.innerLen() + s.writeProt.overhead()
	}
	return recordHeaderLen + n
}

// fragmentRoom is how many bytes of a message's body a record of the given
// epoch carries at most, so that the record fits the MTU.
func (s *Session) fragmentRoom(epoch uint16) int {
	return s.cfg.MTU - s.recordSize(epoch, handshakeHeaderLen)
}

// flightSize is the most the records of a flight take.
func (s *Session) flightSize(items []flightItem) int {
	size := 0
	for _, it := range items {
		if it.msg == nil {
			size += s.recordSize(it.epoch, len(changeCipherSpec))
			continue
		}
		n := len(it.msg.body())
		fragments := max(1, (n+s.fragmentRoom(it.epoch)-1)/s.fragmentRoom(it.epoch))
		size += n + fragments*s.recordSize(it.epoch, handshakeHeaderLen)
	}
	return size
}

// handleHandshakeRecord feeds the fragments of a handshake record to the
// reassembler and processes every message that becomes complete. It
// reports whether the record completed a message (or had a renegotiation
// refused), which is what lets an epoch-0 record move the replay window,
// and whether it repeated the last message of the peer's previous flight,
// which means the peer did not get our last flight.
func (s *Session) handleHandshakeRecord(epoch uint16, b []byte) (used, repeated bool) {
	for len(b) > 0 && s.code == 0 {
		h, ok := parseHandshakeHeader(b)
		if !ok {
			return used, repeated
		}
		fragment := b[:handshakeHeaderLen+h.fragLen]
		frag := fragment[handshakeHeaderLen:]
		b = b[len(fragment):]
		switch {
		case s.mode == Client && h.typ == msgHelloVerifyRequest:
			// Handled apart from the reassembler: the verifier always
			// sends message_seq 0, and there may be several. Not "used":
			// anybody can forge one.
			s.helloVerifyRequest(h, frag, epoch)
		case s.repeatsPeerLast(h, frag, epoch):
			// Not "used": anyone on the path can replay a copy, under a
			// sequence number that would push the window past every
			// genuine record.
			repeated = true
		case s.hs == nil:
			used = s.refuseRenegotiation(epoch, h) || used
		default:
			if m, ok := s.hs.reasm.whole(h, fragment); ok {
				used = true
				s.deliver(m, epoch)
			} else if s.hs.reasm.add(h, frag, epoch) != fragmentNew {
				continue
			}
			// Messages buffered ahead, or the one this fragment completed.
			for s.hs != nil {
				m, epoch, ok := s.hs.reasm.pop()
				if !ok {
					break
				}
				used = true
				s.deliver(m, epoch)
			}
		}
	}
	return used, repeated
}

// deliver handles a whole message from the peer, the next in order. m may
// live in the caller's datagram: whatever outlives the call is copied.
func (s *Session) deliver(m message, epoch uint16) {
	// Only the last message of a flight is repeated when ours was lost; a
	// copy of any other asks for nothing.
	s.peerLast, s.peerLastEpoch = nil, 0
	if t := m.typ(); t == msgServerHelloDone || t == msgFinished {
		s.setPeerLast(m, epoch)
	}
	s.handleMessage(m, epoch)
}

// setPeerLast copies m, the last message of a flight of the peer's, to
// s.peerLast. The copy lives in the handshake's buffers, which complete
// moves it out of.
func (s *Session) setPeerLast(m message, epoch uint16) {
	b := s.hs.bufs()
	b.peerLast = append(b.peerLast[:0], m...)
	s.peerLast, s.peerLastEpoch = message(b.peerLast), epoch
}

// repeatsPeerLast reports whether a fragment is a true copy of part of the
// last message the peer sent, in the epoch it came in. Only that asks for
// our last flight again (RFC 6347 section 4.2.4): a stray fragment with the
// right message_seq but another type, length or content, such as an empty
// one anybody can spoof, does not.
func (s *Session) repeatsPeerLast(h handshakeHeader, frag []byte, epoch uint16) bool {
	m := s.peerLast
	if m == nil || h.seq != m.seq() || h.typ != m.typ() || epoch != s.peerLastEpoch || h.length != len(m.body()) {
		return false
	}
	if h.fragLen == 0 && h.length > 0 {
		return false
	}
	return bytes.Equal(frag[:h.fragLen], m.body()[h.fragOff:h.fragOff+h.fragLen])
}

// helloVerifyRequest answers a HelloVerifyRequest with a ClientHello that
// carries its cookie. RFC 6347 section 4.2.1 allows several (a cookie may
// expire, or a forged one may arrive first), so any is taken while the
// client waits for the server's hello, but at most one per initial
// retransmission period: forged ones cannot make the client send a stream
// of hellos. A malformed one is dropped like any bad record.
func (s *Session) helloVerifyRequest(h handshakeHeader, frag []byte, epoch uint16) {
	hs := s.hs
	if hs == nil || epoch != 0 || hs.step != stepWaitServerHello || h.fragOff != 0 || h.fragLen != h.length {
		return
	}
	now := s.cfg.Now()
	if !hs.cookieAt.IsZero() && now.Before(hs.cookieAt.Add(InitialTimeout)) {
		return
	}
	r := reader{b: frag}
	r.u16() // server_version: RFC 6347 section 4.2.1 says not to rely on it
	cookie := r.vec8()
	if !r.done() {
		return
	}
	hs.cookieAt = now
	// The server's hello follows with message_seq 1, whatever this one had.
	hs.reasm = reassembler{next: 1, limit: hs.reasm.limit}
	s.sendClientHello(cookie, now)
}

// resendOnRequest sends our last flight again because the peer repeated
// its own, at most once per retransmission period however many repeats
// arrive, so a stream of copies cannot turn us into an amplifier.
func (s *Session) resendOnRequest() {
	var flight []flightItem
	period := InitialTimeout
	switch {
	case s.hs != nil:
		flight, period = s.hs.flight, s.hs.timeout
	case s.lastFinished != nil:
		var items [2]flightItem
		flight = serverFinalFlight(items[:0], s.lastFinished)
	}
	now := s.cfg.Now()
	if flight == nil || !s.resentAt.IsZero() && now.Before(s.resentAt.Add(period)) {
		return
	}
	s.resentAt = now
	s.transmit(flight)
}

// refuseRenegotiation answers a handshake message that starts a new
// handshake on an established connection with a no_renegotiation warning
// (RFC 5746 does not require supporting renegotiation).
func (s *Session) refuseRenegotiation(epoch uint16, h handshakeHeader) bool {
	if !s.encrypted || h.seq < s.peerSeq || epoch != 1 || h.fragOff != 0 ||
		!(s.mode == Server && h.typ == msgClientHello || s.mode == Client && h.typ == msgHelloRequest) {
		return false
	}
	s.sendAlert(alertWarning, alertNoRenegotiation)
	return true
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
	case hs.step == stepWaitClientKeyExchange || hs.step == stepWaitPSK:
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
// at its ChangeCipherSpec (handleChangeCipherSpec). It wipes preMaster.
func (s *Session) keysReady(preMaster []byte) bool {
	hs := s.hs
	if hs.prf == nil {
		hs.prf = sparePRFs.Get().(*prfState)
	}
	hs.prf.init(s.suite.hash)
	hs.prf.setKey(preMaster)
	clear(preMaster)
	if hs.ems {
		hs.prf.derive(hs.master, labelExtended, hs.transcript.hash(), nil)
	} else {
		hs.prf.derive(hs.master, labelMaster, hs.clientRandom, hs.serverRandom)
	}
	hs.prf.setKey(hs.master) // for the key block and the Finished messages
	suite := s.suite
	block := hs.secrets[48 : 48+2*(suite.macLen+suite.keyLen+suite.ivLen)]
	hs.prf.derive(block, labelKeyExpansion, hs.serverRandom, hs.clientRandom)
	take := func(n int) []byte {
		b := block[:n:n]
		block = block[n:]
		return b
	}
	var keys keyBlock
	keys.clientMAC, keys.serverMAC = take(suite.macLen), take(suite.macLen)
	keys.clientKey, keys.serverKey = take(suite.keyLen), take(suite.keyLen)
	keys.clientIV, keys.serverIV = take(suite.ivLen), take(suite.ivLen)
	// One protection holds both directions: it writes from now on and reads
	// once the peer's ChangeCipherSpec arrives.
	var err error
	s.writeProt, err = newProtection(suite, keys, s.mode == Client)
	keys.wipe()
	if err != nil {
		s.failAlert(alertInternalError, "Cannot set up the record keys: "+err.Error())
		return false
	}
	if s.cidsOn() {
		s.writeProt.useCID(s.cid.peer, len(s.cid.own))
	}
	hs.pendRead = s.writeProt
	return true
}

// finishedData computes the verify_data of a Finished message over the
// transcript so far (RFC 5246 section 7.4.9).
func (s *Session) finishedData(fromClient bool) []byte {
	label := labelServerFinished
	if fromClient {
		label = labelClientFinished
	}
	hs := s.hs
	hs.prf.derive(hs.verifyData[:], label, hs.transcript.hash(), nil)
	return hs.verifyData[:]
}

// addFinished builds our Finished message, in epoch 1, as addMessage does.
func (s *Session) addFinished() flightItem {
	return s.addMessage(1, msgFinished, append(s.hs.beginMessage(), s.finishedData(s.mode == Client)...))
}

// checkPeerFinished verifies the peer's Finished against our transcript
// and adds it to the transcript.
func (s *Session) checkPeerFinished(m message) bool {
	want := s.finishedData(s.mode == Server)
	if subtle.ConstantTimeCompare(want, m.body()) != 1 {
		s.failAlert(alertDecryptError, "The peer's Finished message does not match the handshake")
		return false
	}
	s.hs.transcript.add(m)
	return true
}

// complete ends a successful handshake.
func (s *Session) complete() {
	s.peerSeq = s.hs.reasm.next
	if s.lastFinished == nil {
		s.peerLast = nil // nothing to send again, so no repeat to watch for
	} else {
		// Both live in the handshake's buffers, which go back to the
		// pool: one allocation keeps the two.
		keep := make([]byte, 0, len(s.lastFinished)+len(s.peerLast))
		n := len(s.lastFinished)
		keep = append(append(keep, s.lastFinished...), s.peerLast...)
		s.lastFinished = message(keep[:n:n])
		if s.peerLast != nil {
			s.peerLast = message(keep[n:])
		}
	}
	s.hs.wipe()
	s.hs = nil
	s.state = HandshakeComplete
	s.encrypted = true
}

// askPSK asks the application for the key (and identity), as Qt's
// pskRequired signal. A panic in the callback counts as no answer. The
// callback may look at the session but not change it (inCallback); what it
// does to the error state is undone. It reports false when the callback
// closed the session, which has then ended.
func (s *Session) askPSK(a *psk.Authenticator) bool {
	if s.cfg.PSK == nil {
		return true
	}
	code, msg := s.code, s.message
	s.inPSK = true
	func() {
		defer func() {
			if recover() != nil {
				a.Wipe() // whatever it set before panicking is no answer
			}
		}()
		s.cfg.PSK(a)
	}()
	s.inPSK = false
	s.code, s.message = code, msg
	if s.closeLater {
		s.closeLater = false
		s.Close()
		s.setError(dtlserror.InvalidOperation, "The session was closed from inside the PSK callback")
		return false
	}
	return true
}
