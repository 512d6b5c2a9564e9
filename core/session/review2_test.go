// SPDX-License-Identifier: MIT

package session

import (
	"bytes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/dtlsgate/dtlsgate/core/dtlserror"
	"github.com/dtlsgate/dtlsgate/core/psk"
)

// A second attacker's review of core/session after the issue 11 fixes. The
// tests named TestReview2Finding... pin defects (they fail until fixed);
// the tests named TestReview2Holds... pin attacks the engine resists.

// epoch0Record is one plaintext record of the given type.
func epoch0Record(typ uint8, seq uint64, payload []byte) []byte {
	return append(appendRecordHeader(nil, typ, versionDTLS12, 0, seq, len(payload)), payload...)
}

// helloVerifyRequest is a HelloVerifyRequest message with the given
// message_seq and cookie, as anyone can make one.
func helloVerifyRequest(seq uint16, cookie []byte) []byte {
	return newMessage(msgHelloVerifyRequest, seq, appendVec8([]byte{0xFE, 0xFF}, cookie))
}

func sumLen(ds [][]byte) (n int) {
	for _, d := range ds {
		n += len(d)
	}
	return n
}

// Finding 1a (medium). Every HelloVerifyRequest whose message_seq is the
// next one makes a client waiting for the server's hello send a new
// ClientHello, with no limit. A spoofer of the server's address packs the
// 8 message_seq values the reassembler buffers ahead into one 133-byte
// datagram and gets 8 ClientHellos (~9x the bytes) sent to the server, and
// again for each such datagram, as fast as it sends them.
func TestReview2FindingForgedHelloVerifyRequestsAmplify(t *testing.T) {
	c, _ := New(Client, Config{PSK: keyFor("id", "k", nil)})
	c.SetPeer(serverAddr)
	c.DoHandshake(nil)
	c.Outgoing()
	in, out, hellos := 0, 0, 0
	next := uint16(0)
	for round := range 20 {
		var payload []byte
		for range maxAhead {
			payload = append(payload, helloVerifyRequest(next, nil)...)
			next++
		}
		d := epoch0Record(contentHandshake, uint64(1000+round), payload)
		in += len(d)
		c.DoHandshake(d)
		sent := c.Outgoing()
		hellos += len(sent)
		out += sumLen(sent)
	}
	if c.HandshakeState() != HandshakeInProgress {
		t.Fatalf("the handshake ended: %s", c.DtlsErrorString())
	}
	if out > in {
		t.Errorf("%d bytes of forged HelloVerifyRequests made the client send %d ClientHellos, %d bytes (x%.1f)",
			in, hellos, out, float64(out)/float64(in))
	}
}

// Finding 1b (medium). The verifier's HelloVerifyRequest always has
// message_seq 0 (DESIGN.md), and RFC 6347 4.2.1 expects a client to get
// more than one ("in case of multiple HelloVerifyRequests"). The client
// takes only message_seq == next: after one forged HelloVerifyRequest (any
// cookie) that wins the race, its ClientHello carries a bad cookie, the
// verifier answers with a new HelloVerifyRequest (message_seq 0) and the
// client drops it as old, forever: the handshake dies at the deadline. (A
// cookie that expires or a secret that rotates between the two hellos does
// the same without an attacker.) Taking the new HelloVerifyRequest is not
// enough: the next ClientHello must have message_seq 1 again, as the
// verifier drops message_seq > 1.
func TestReview2FindingForgedHelloVerifyRequestStallsClient(t *testing.T) {
	l := newLink(t, Config{PSK: keyFor("id", "k", nil)}, Config{PSK: keyFor("", "k", nil)})
	forged := false
	l.filter = func(toServer bool, d []byte) []byte {
		if !toServer && !forged {
			forged = true
			// Arrives just before the verifier's genuine one.
			l.toServerOrClient(false, epoch0Record(contentHandshake, 0, helloVerifyRequest(0, bytes.Repeat([]byte{0xEE}, 20))))
		}
		return d
	}
	l.run()
	if !forged {
		t.Fatal("no HelloVerifyRequest was ever sent")
	}
	expectEstablished(t, l, TLS_PSK_WITH_AES_128_GCM_SHA256)
}

// Finding 2 (low; item 4 of issue 11 not fully fixed). The epoch-0 replay
// window still moves for records that only look useful: a ChangeCipherSpec
// in any step (used is set whether or not it did anything), a warning
// alert, a fragment of a message ahead of the next one. One such record
// with sequence number 2^48-1, which a blind spoofer can make, makes every
// genuine epoch-0 record look old: the handshake stalls until the deadline.
func TestReview2FindingReplayWindowPoisonedByUsefulLookingRecords(t *testing.T) {
	poisons := map[string][]byte{
		"ChangeCipherSpec": epoch0Record(contentChangeCipherSpec, maxSequence, []byte{1}),
		"warning alert":    epoch0Record(contentAlert, maxSequence, []byte{alertWarning, alertNoRenegotiation}),
		"fragment of a future message": epoch0Record(contentHandshake, maxSequence,
			append(appendHandshakeHeader(nil, msgClientKeyExchange, 100, 5, 0, 1), 0)),
	}
	for _, name := range []string{"ChangeCipherSpec", "warning alert", "fragment of a future message"} {
		for _, toServer := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s to the server %v", name, toServer), func(t *testing.T) {
				l := newLink(t, Config{PSK: keyFor("id", "k", nil)}, Config{PSK: keyFor("", "k", nil)})
				sent := false
				l.filter = func(ts bool, d []byte) []byte {
					if ts == toServer && l.server != nil && !sent {
						sent = true
						l.toServerOrClient(ts, poisons[name])
					}
					return d
				}
				l.run()
				if !sent {
					t.Fatal("the poison was never sent")
				}
				expectEstablished(t, l, TLS_PSK_WITH_AES_128_GCM_SHA256)
			})
		}
	}
}

// Finding 3 (low, Go API). askPSK documents "A panic in the callback counts
// as no answer", but what the callback set before it panicked is used: a
// callback that fills in a default key and then panics (say, on a failed
// lookup of the identity) lets the handshake complete with that key.
func TestReview2FindingPSKCallbackPanicAfterSettingKeyIsNoAnswer(t *testing.T) {
	for _, mode := range []Mode{Client, Server} {
		t.Run(modeName(mode), func(t *testing.T) {
			half := func(a *psk.Authenticator) {
				if a.MaximumIdentityLength() > 0 {
					a.SetIdentity([]byte("id"))
				}
				a.SetPreSharedKey([]byte("k"))
				panic("application bug after setting the key")
			}
			ccfg, scfg := Config{PSK: keyFor("id", "k", nil)}, Config{PSK: keyFor("", "k", nil)}
			if mode == Client {
				ccfg.PSK = half
			} else {
				scfg.PSK = half
			}
			l := newLink(t, ccfg, scfg)
			l.run()
			s := l.client
			if mode == Server {
				s = l.server
			}
			if s.IsConnectionEncrypted() {
				t.Fatalf("%s: the handshake completed with the key set by a callback that panicked", modeName(mode))
			}
		})
	}
}

func modeName(m Mode) string {
	if m == Client {
		return "client"
	}
	return "server"
}

// Finding 4 (low, secrets). pskFrom cuts a key longer than
// MaxPreSharedKeyLength by reslicing, and its callers clear only the
// slice they got: the bytes past 512 of the key's copy are never wiped.
func TestReview2FindingLongKeyCopyWipedWhole(t *testing.T) {
	s, _ := New(Server, Config{})
	a := new(psk.Authenticator)
	a.SetPreSharedKey(bytes.Repeat([]byte{0xAB}, MaxPreSharedKeyLength+88))
	key := s.pskFrom(a)
	if len(key) != MaxPreSharedKeyLength {
		t.Fatalf("key of %d bytes", len(key))
	}
	clear(key) // what serverKeyExchange and clientKeyExchange do
	if whole := key[:cap(key)]; !bytes.Equal(whole, make([]byte, len(whole))) {
		t.Errorf("%d key bytes left in memory past the cut", len(whole)-bytes.Count(whole, []byte{0}))
	}
}

// Finding 4b (low, secrets). preMaster builds the ECDHE_PSK premaster
// secret with two appends: appendVec16(nil, shared) makes a 48-byte buffer
// holding the ECDH shared secret, and appending a key longer than 12 bytes
// moves everything to a new buffer. The first one, shared secret inside, is
// dropped without being wiped (only the final copy is cleared by
// keysReady). Seen here as one more allocation for a long key than for a
// short one.
func TestReview2FindingECDHEPremasterBuiltInOneBuffer(t *testing.T) {
	s, _ := New(Server, Config{})
	s.suite, _ = LookupSuite(TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256)
	priv, _ := ecdh.X25519().GenerateKey(rand.Reader)
	peer, _ := ecdh.X25519().GenerateKey(rand.Reader)
	s.hs = &handshake{ecdhKey: priv, group: 29}
	point := peer.PublicKey().Bytes()
	allocs := func(key []byte) float64 {
		return testing.AllocsPerRun(20, func() {
			pm, ok := s.preMaster(key, point)
			if !ok {
				t.Fatal(s.DtlsErrorString())
			}
			clear(pm)
		})
	}
	short, long := allocs([]byte{1}), allocs(bytes.Repeat([]byte{1}, 32))
	if long != short {
		t.Errorf("a 32-byte key takes %v allocations, a 1-byte key %v: a buffer holding the ECDH shared secret was dropped unwiped", long, short)
	}
}

// Finding 5 (low, secrets). cbcProtection.wipe clears its own copies of the
// MAC keys, but hmac.New copied each key into the HMAC's ipad/opad (key XOR
// a constant, i.e. the key itself) and never reads the copies again: after
// wipe the protection still authenticates records under the old MAC key.
// Unlike the AES key schedule, this key material is the engine's to hold.
func TestReview2FindingCBCWipeLeavesMACKey(t *testing.T) {
	suite, _ := LookupSuite(TLS_PSK_WITH_AES_128_CBC_SHA256)
	key, mac := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 32)
	sealer, _ := newCBCProtection(suite, key, mac, key, mac)
	opener, _ := newCBCProtection(suite, key, mac, key, mac)
	rec, _ := sealer.seal(nil, contentApplicationData, 1, 3, []byte("before the wipe"))
	if _, err := opener.open(recordsOf(rec)[0]); err != nil {
		t.Fatal(err)
	}
	opener.wipe()
	if _, err := opener.open(recordsOf(rec)[0]); err == nil {
		t.Error("after wipe the protection still verifies MACs under the old key (the HMAC pads hold it)")
	}
}

// Finding 6 (low). peerLast is the last message the peer sent, not the last
// of its previous flight: once a server has the ClientKeyExchange, a copy of
// it (which an on-path attacker reads in clear) makes the server resend its
// whole hello flight, which the client already has (it answered it). With
// a 1000-byte identity hint, 29 bytes draw ~1150, once per period.
func TestReview2FindingKeyExchangeCopyResendsHelloFlight(t *testing.T) {
	l := newLink(t, Config{PSK: keyFor("id", "k", nil)}, Config{PSK: keyFor("", "k", nil), IdentityHint: bytes.Repeat([]byte("h"), 1000)})
	var final []byte
	l.filter = func(toServer bool, d []byte) []byte {
		if toServer && l.server != nil {
			if final == nil {
				final = d
			}
			return nil // the client's last flight never arrives whole
		}
		return d
	}
	l.client.DoHandshake(nil)
	l.send(true, l.client.Outgoing())
	l.exchange(4)
	if final == nil {
		t.Fatal("the client never sent its last flight")
	}
	cke := recordsOf(final)[0].raw
	if h, _ := parseHandshakeHeader(cke[recordHeaderLen:]); h.typ != msgClientKeyExchange {
		t.Fatalf("first record is message type %d", h.typ)
	}
	s := l.server
	s.DoHandshake(cke)
	s.Outgoing()
	if s.hs == nil || s.hs.step != stepWaitFinished {
		t.Fatal("the server is not waiting for the Finished")
	}
	in, out := 0, 0
	for i := range 10 {
		d := withRecordSeq(cke, uint64(100+i))
		in += len(d)
		s.DoHandshake(d)
		out += outBytes(s)
		l.clock.advance(s.hs.timeout)
	}
	if out != 0 {
		t.Errorf("%d bytes of copies of the ClientKeyExchange drew %d bytes of the hello flight", in, out)
	}
}

// Holds: every padding length from 1 to 256 is accepted, whatever the data
// length that makes it legal, including the shortest record (no data, 256
// bytes of padding, nothing to spare for the MAC); a padding that needs one
// byte more than the MAC leaves is refused, as is any wrong padding byte.
func TestReview2HoldsCBCEveryPaddingLength(t *testing.T) {
	var n int
	_, opener := cbcPair(t, &n)
	for padLen := 1; padLen <= 256; padLen++ {
		// The shortest data making data+MAC+padding whole blocks, then one
		// block more.
		for _, extra := range []int{0, 16} {
			dataLen := (16-(32+padLen)%16)%16 + extra
			data := bytes.Repeat([]byte{'d'}, dataLen)
			rec := sealWithPadding(opener, data, padLen, -1)
			got, err := opener.open(recordsOf(rec)[0])
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("padding %d, data %d: %q, %v", padLen, dataLen, got, err)
			}
			if padLen > 1 {
				for _, wrong := range []int{0, padLen - 2} {
					if _, err := opener.open(recordsOf(sealWithPadding(opener, data, padLen, wrong))[0]); err == nil {
						t.Fatalf("padding %d, data %d, byte %d wrong: accepted", padLen, dataLen, wrong)
					}
				}
			}
		}
	}
	// Off by one against the MAC: a plaintext of MAC + 16 bytes whose last
	// byte claims 17 bytes of padding (all of them 16) is one byte short.
	sealer, _ := cbcPair(t, &n)
	plain := append(bytes.Repeat([]byte{0}, 31), bytes.Repeat([]byte{16}, 17)...)
	iv := make([]byte, 16)
	rec := appendRecordHeader(nil, contentApplicationData, versionDTLS12, 1, 9, 16+len(plain))
	rec = append(rec, iv...)
	start := len(rec)
	rec = append(rec, plain...)
	cipher.NewCBCEncrypter(sealer.write, iv).CryptBlocks(rec[start:], rec[start:])
	if _, err := opener.open(recordsOf(rec)[0]); err == nil {
		t.Fatal("padding that overlaps the MAC by one byte was accepted")
	}
	if p, ok := checkPadding(plain, 32); ok != 0 || p != 1 {
		t.Fatalf("checkPadding: %d, %d", p, ok)
	}
	if p, ok := checkPadding(plain, 31); ok != 1 || p != 17 {
		t.Fatalf("checkPadding with room exactly: %d, %d", p, ok)
	}
}

// Holds: an on-path attacker who recorded a whole handshake replays every
// datagram of it, truncated at every length and whole, into both ends of
// the established connection, and into sessions after Shutdown and Close
// (FuzzInput covers a server waiting for the key exchange): no panic,
// nothing sent in answer, and the connection still carries data.
func TestReview2HoldsReplayedHandshakeTraffic(t *testing.T) {
	for _, suite := range []uint16{TLS_PSK_WITH_AES_128_GCM_SHA256, TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256} {
		var seen [][]byte
		l := newLink(t, Config{Suites: []uint16{suite}, PSK: keyFor("id", "k", nil)}, Config{Suites: []uint16{suite}, PSK: keyFor("", "k", nil)})
		l.filter = func(_ bool, d []byte) []byte { seen = append(seen, d); return d }
		l.run()
		expectEstablished(t, l, suite)
		fed := 0
		feed := func(name string, s *Session, d []byte) {
			fed++
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("suite 0x%04X, %s: panic %v", suite, name, r)
				}
			}()
			switch {
			case s.HandshakeState() == HandshakeInProgress:
				s.DoHandshake(d)
			case s.IsConnectionEncrypted():
				if got := s.DecryptDatagram(d); got != nil {
					t.Fatalf("suite 0x%04X, %s: a replay gave data %q", suite, name, got)
				}
			default:
				s.DecryptDatagram(d)
				s.HandleTimeout()
			}
			if out := s.Outgoing(); len(out) != 0 && s.HandshakeState() != HandshakeInProgress {
				t.Fatalf("suite 0x%04X, %s: a replay drew %d datagrams", suite, name, len(out))
			}
		}
		for _, d := range seen {
			for cut := 1; cut <= len(d); cut++ {
				for _, s := range []*Session{l.client, l.server} {
					feed(modeName(s.Mode()), s, d[:cut])
				}
			}
			// Oversized: the datagram followed by a record that claims more
			// than is there.
			big := append(bytes.Clone(d), appendRecordHeader(nil, contentHandshake, versionDTLS12, 0, 7, 0xFFFF)...)
			feed("oversized", l.server, big)
			feed("oversized", l.client, big)
		}
		if len(seen) < 5 || fed < 1000 {
			t.Fatalf("suite 0x%04X: only %d datagrams seen, %d fed", suite, len(seen), fed)
		}
		for _, s := range []*Session{l.client, l.server} {
			if !s.IsConnectionEncrypted() {
				t.Fatalf("suite 0x%04X: %v closed by replays: %q", suite, s.Mode(), s.DtlsErrorString())
			}
		}
		echo(t, l.client, l.server, []byte("after the replays"))
		echo(t, l.server, l.client, []byte("and back"))
		l.client.Shutdown()
		l.client.Outgoing() // the close_notify
		l.server.Close()
		for _, d := range seen {
			feed("client after shutdown", l.client, d)
			feed("server after close", l.server, d)
		}
	}
}

// Holds: a stream of forged and copied records during the handshake does
// not push the deadline back, and Timeout never goes negative or stale: it
// counts down to the deadline, is 0 once it passed, and reports no timer
// once the handshake has failed.
func TestReview2HoldsDeadlineUnderSpoofedTraffic(t *testing.T) {
	l, hello := serverWaiting(t, []byte("hint"))
	s := l.server
	start := l.clock.now()
	for i := 0; s.HandshakeState() == HandshakeInProgress; i++ {
		// Every 300 ms, a copy of the hello, a forged CCS, a warning and
		// epoch-1 garbage.
		s.DoHandshake(withRecordSeq(hello, uint64(100+i)))
		s.DoHandshake(epoch0Record(contentChangeCipherSpec, uint64(100000+i), []byte{1}))
		s.DoHandshake(garbageEpoch1(uint64(i)))
		s.Outgoing()
		d, ok := s.Timeout()
		if !ok || d < 0 || d > start.Add(DefaultHandshakeDeadline).Sub(l.clock.now()) {
			t.Fatalf("Timeout %v %v at %v", d, ok, l.clock.now().Sub(start))
		}
		l.clock.advance(min(d, 300*time.Millisecond))
		if d <= 300*time.Millisecond {
			s.HandleTimeout()
			s.Outgoing()
		}
		if l.clock.now().Sub(start) > DefaultHandshakeDeadline {
			t.Fatal("the handshake outlived its deadline")
		}
	}
	if took := l.clock.now().Sub(start); took != DefaultHandshakeDeadline || s.DtlsError() != dtlserror.TlsFatalError {
		t.Fatalf("ended after %v: %v %q", took, s.DtlsError(), s.DtlsErrorString())
	}
	if d, ok := s.Timeout(); ok || d != 0 {
		t.Fatalf("Timeout after the handshake failed: %v %v", d, ok)
	}
}

// Holds: a PSK callback that closes its session and then panics, on either
// side, ends the handshake cleanly: no panic escapes, the guard is down.
func TestReview2HoldsPSKCallbackCloseThenPanic(t *testing.T) {
	for _, mode := range []Mode{Client, Server} {
		l := linkWithPSKCallback(t, mode, func(self *Session) {
			self.Close()
			panic("after Close")
		})
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("%v: panic escaped: %v", mode, r)
				}
			}()
			l.run()
		}()
		s := l.side(mode)
		if s.HandshakeState() != HandshakeNotStarted || s.hs != nil || s.inPSK || s.closeLater ||
			s.DtlsErrorString() != "The session was closed from inside the PSK callback" {
			t.Fatalf("%v: %v inPSK=%v closeLater=%v %q", mode, s.HandshakeState(), s.inPSK, s.closeLater, s.DtlsErrorString())
		}
	}
}
