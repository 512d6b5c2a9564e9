// SPDX-License-Identifier: MIT

package session

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"github.com/pion/dtls/v2/pkg/crypto/prf"
)

// Regression tests from an independent review of the engine: each pins a
// bug that review found, now fixed.

// recordsOf returns the raw records of a datagram.
func recordsOf(d []byte) []record {
	var out []record
	splitRecords(d, func(r record) bool { out = append(out, r); return true })
	return out
}

// The client's final flight (ClientKeyExchange, ChangeCipherSpec, Finished)
// may reach the server out of order when its records travel in separate
// datagrams (RFC 6347 section 4.1.2.6: DTLS must tolerate reordering). A
// ChangeCipherSpec and Finished that arrive before the ClientKeyExchange
// are kept and take effect once the keys exist.
func TestReviewServerFinishedOvertakesKeyExchange(t *testing.T) {
	l := newLink(t, Config{PSK: keyFor("id", "k", nil)}, Config{PSK: keyFor("", "k", nil)})
	done := false
	l.filter = func(toServer bool, d []byte) []byte {
		if !toServer || done {
			return d
		}
		var cke, ccs, fin []byte
		for _, r := range recordsOf(d) {
			switch {
			case r.typ == contentHandshake && r.epoch == 0 && len(r.payload) > 0 && r.payload[0] == msgClientKeyExchange:
				cke = r.raw
			case r.typ == contentChangeCipherSpec:
				ccs = r.raw
			case r.typ == contentHandshake && r.epoch == 1:
				fin = r.raw
			}
		}
		if cke == nil || ccs == nil || fin == nil {
			return d
		}
		done = true
		// The same three records, each in its own datagram, reordered.
		l.toServer = append(l.toServer, ccs, fin, cke)
		return nil
	}
	l.run()
	if !done {
		t.Fatal("the client's final flight was never seen")
	}
	expectEstablished(t, l, TLS_PSK_WITH_AES_128_GCM_SHA256)
}

// pion's CBC.Decrypt returns a ChangeCipherSpec record as it is, without
// checking a MAC. An epoch-1 ChangeCipherSpec (which never exists) must not
// count as authenticated: one forged datagram with sequence number 2^48-1
// would otherwise move the replay window past every genuine record
// (RFC 6347 section 4.1.2.6: the window moves only after the MAC check).
func TestReviewCBCForgedChangeCipherSpecPoisonsReplayWindow(t *testing.T) {
	for _, suite := range []uint16{TLS_PSK_WITH_AES_128_CBC_SHA256, TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256} {
		l := newLink(t, Config{Suites: []uint16{suite}, PSK: keyFor("id", "k", nil)}, Config{Suites: []uint16{suite}, PSK: keyFor("", "k", nil)})
		l.run()
		expectEstablished(t, l, suite)

		forged := appendRecordHeader(nil, contentChangeCipherSpec, versionDTLS12, 1, maxSequence, 1)
		forged = append(forged, 1)
		if got := l.server.DecryptDatagram(forged); got != nil {
			t.Fatalf("forged record gave data %q", got)
		}
		if l.server.replay[1].top == maxSequence {
			t.Errorf("suite 0x%04X: an unauthenticated epoch-1 record moved the replay window to %#x", suite, l.server.replay[1].top)
		}
		msg := []byte("after the forged record")
		l.client.WriteDatagramEncrypted(msg)
		if got := l.server.DecryptDatagram(l.client.Outgoing()[0]); string(got) != string(msg) {
			t.Fatalf("suite 0x%04X: genuine record dropped after a forged ChangeCipherSpec: got %q", suite, got)
		}
	}
}

// A server that sends ChangeCipherSpec and an epoch-1 handshake message
// before ServerHelloDone (buggy, or hostile and knowing the PSK: with plain
// PSK and no extended master secret it can derive the keys early) once made
// the client replay the early record in the middle of building its own
// flight and dereference a reset handshake. The premature ChangeCipherSpec
// is now dropped; the buffered record is replayed only after a
// ChangeCipherSpec the client can expect.
func TestReviewClientEarlyEpoch1RecordPanics(t *testing.T) {
	suite, _ := LookupSuite(TLS_PSK_WITH_AES_128_GCM_SHA256)
	c, _ := New(Client, Config{Suites: []uint16{suite.ID}, PSK: keyFor("id", "k", nil)})
	c.SetPeer(serverAddr)
	if !c.DoHandshake(nil) {
		t.Fatal(c.DtlsErrorString())
	}
	c.Outgoing()
	clientRandom := append([]byte(nil), c.hs.clientRandom...)

	// The server's side, built by hand: no HelloVerifyRequest, no extended
	// master secret, so the keys depend only on the randoms and the PSK.
	serverRandom := make([]byte, 32)
	serverRandom[0] = 7
	sh := binary.BigEndian.AppendUint16(nil, versionDTLS12)
	sh = append(sh, serverRandom...)
	sh = append(sh, 0)
	sh = binary.BigEndian.AppendUint16(sh, suite.ID)
	sh = append(sh, 0)
	master, err := prf.MasterSecret(prf.PSKPreMasterSecret([]byte("k")), clientRandom, serverRandom, sha256.New)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := deriveKeys(suite, master, clientRandom, serverRandom)
	if err != nil {
		t.Fatal(err)
	}
	serverProt, err := newProtection(suite, keys, false)
	if err != nil {
		t.Fatal(err)
	}

	var d []byte
	add := func(typ uint8, seq uint64, payload []byte) {
		d = appendRecordHeader(d, typ, versionDTLS12, 0, seq, len(payload))
		d = append(d, payload...)
	}
	add(contentHandshake, 0, newMessage(msgServerHello, 0, sh))
	add(contentChangeCipherSpec, 1, []byte{1})
	d, _ = serverProt.seal(d, contentHandshake, 1, 0, newMessage(msgFinished, 2, make([]byte, 12)))
	add(contentHandshake, 2, newMessage(msgServerHelloDone, 1, nil))

	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("DoHandshake panicked: %v", r)
		}
	}()
	// The ChangeCipherSpec came before the client could expect one: it is
	// dropped, the client sends its own Finished flight and keeps waiting.
	ok := c.DoHandshake(d)
	if !ok || c.HandshakeState() != HandshakeInProgress || c.hs.step != stepWaitFinished || c.readEpoch != 0 {
		t.Fatalf("ok=%v state %v error %v %q", ok, c.HandshakeState(), c.DtlsError(), c.DtlsErrorString())
	}
	// A ChangeCipherSpec now is taken; the Finished buffered earlier is
	// replayed and, not matching the transcript, ends the handshake.
	var ccs []byte
	ccs = appendRecordHeader(ccs, contentChangeCipherSpec, versionDTLS12, 0, 3, 1)
	ccs = append(ccs, 1)
	ok = c.DoHandshake(ccs)
	if ok || c.HandshakeState() != HandshakeNotStarted || c.DtlsErrorString() != "The peer's Finished message does not match the handshake (sent alert decrypt_error)" {
		t.Fatalf("ok=%v state %v error %v %q", ok, c.HandshakeState(), c.DtlsError(), c.DtlsErrorString())
	}
}

// RFC 5746 section 3.4: a ServerHello whose renegotiation_info carries a
// non-empty renegotiated_connection in an initial handshake MUST abort the
// handshake with a fatal handshake_failure alert.
func TestReviewClientRenegotiationInfoAlert(t *testing.T) {
	c, _ := New(Client, Config{Suites: []uint16{TLS_PSK_WITH_AES_128_GCM_SHA256}, PSK: keyFor("id", "k", nil)})
	c.SetPeer(serverAddr)
	c.DoHandshake(nil)
	c.Outgoing()
	sh := binary.BigEndian.AppendUint16(nil, versionDTLS12)
	sh = append(sh, make([]byte, 32)...)
	sh = append(sh, 0)
	sh = binary.BigEndian.AppendUint16(sh, TLS_PSK_WITH_AES_128_GCM_SHA256)
	sh = append(sh, 0)
	sh = appendVec16(sh, appendExtension(nil, extRenegotiationInfo, []byte{2, 0xAA, 0xBB}))
	msg := newMessage(msgServerHello, 0, sh)
	d := appendRecordHeader(nil, contentHandshake, versionDTLS12, 0, 0, len(msg))
	d = append(d, msg...)
	c.DoHandshake(d)
	var alert []byte
	for _, out := range c.Outgoing() {
		for _, r := range recordsOf(out) {
			if r.typ == contentAlert {
				alert = r.payload
			}
		}
	}
	if string(alert) != string([]byte{alertFatal, alertHandshakeFailure}) {
		t.Fatalf("alert %v, want fatal handshake_failure", alert)
	}
}
