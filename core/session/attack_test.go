// SPDX-License-Identifier: MIT

package session

import (
	"bytes"
	"testing"
	"time"

	"github.com/dtlsgate/dtlsgate/core/dtlserror"
	"github.com/dtlsgate/dtlsgate/core/psk"
)

// Tests for what an unauthenticated peer that can spoof the client's
// address, or an on-path attacker, can make a session do.

// serverWaiting returns a link whose server has sent its hello flight
// (lost on the way) and waits for the client's key exchange, with the
// cookie-bearing ClientHello the verifier accepted.
func serverWaiting(t *testing.T, hint []byte) (*link, []byte) {
	t.Helper()
	l := newLink(t, Config{PSK: keyFor("id", "k", nil)}, Config{PSK: keyFor("", "k", nil), IdentityHint: hint})
	var hello []byte
	l.filter = func(toServer bool, d []byte) []byte {
		switch {
		case toServer && l.server == nil:
			hello = d // the last one before the server exists is the verified one
		case !toServer && l.server != nil:
			return nil
		}
		return d
	}
	// The cookie exchange only: pump would fire timers until the end.
	l.client.DoHandshake(nil)
	l.send(true, l.client.Outgoing())
	l.exchange(4)
	if l.server == nil || l.server.hs == nil || l.server.hs.step != stepWaitClientKeyExchange {
		t.Fatal("the server is not waiting for the key exchange")
	}
	return l, hello
}

// withRecordSeq returns a copy of a one-record datagram under another
// record sequence number, as a retransmission or a replay would have it.
func withRecordSeq(d []byte, seq uint64) []byte {
	d = bytes.Clone(d)
	d[5], d[6] = byte(seq>>40), byte(seq>>32)
	d[7], d[8], d[9], d[10] = byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq)
	return d
}

func outBytes(s *Session) (n int) {
	for _, d := range s.Outgoing() {
		n += len(d)
	}
	return n
}

// Spoofed handshake fragments carrying the message_seq of the client's last
// message (empty, any type) used to make the server send its whole flight
// for each one, a reflection worth up to 45 times the bytes with a large
// hint. Only a true copy of the ClientHello counts now, and a stream of
// copies gets one flight per retransmission period.
func TestSpoofedRepeatsDoNotAmplify(t *testing.T) {
	for _, hintLen := range []int{0, 7, 1000} {
		l, hello := serverWaiting(t, bytes.Repeat([]byte("h"), hintLen))
		s := l.server
		helloSeq := s.peerLast.seq()
		in, out := 0, 0
		for i := range 1000 {
			d := appendRecordHeader(nil, contentHandshake, versionDTLS12, 0, uint64(1000+i), handshakeHeaderLen)
			d = appendHandshakeHeader(d, uint8(i), 0, helloSeq, 0, 0)
			in += len(d)
			s.DoHandshake(d)
			out += outBytes(s)
		}
		if out > in || out != 0 {
			t.Errorf("hint %d: %d bytes of spoofed fragments drew %d bytes", hintLen, in, out)
		}
		// Copies of the real hello, replayed as fast as the attacker can:
		// one flight per period however many.
		in, out = 0, 0
		for i := range 1000 {
			d := withRecordSeq(hello, uint64(5000+i))
			in += len(d)
			s.DoHandshake(d)
			out += outBytes(s)
		}
		flight := out
		if flight == 0 || out > in {
			t.Errorf("hint %d: %d bytes of replayed hellos drew %d bytes", hintLen, in, out)
		}
		// A true copy with another type, length or content is no copy.
		for _, change := range []func([]byte){
			func(d []byte) { d[13] = msgClientKeyExchange },
			func(d []byte) { d[len(d)-1] ^= 1 },
		} {
			d := withRecordSeq(hello, 9000)
			change(d)
			s.DoHandshake(d)
			if n := outBytes(s); n != 0 {
				t.Errorf("hint %d: an altered hello drew %d bytes", hintLen, n)
			}
		}
		if s.HandshakeState() != HandshakeInProgress {
			t.Fatalf("hint %d: the handshake ended: %s", hintLen, s.DtlsErrorString())
		}
	}
}

// A client that retransmits its ClientHello because the server's flight was
// lost gets the flight again at once, and again one period later.
func TestRetransmittedHelloGetsTheFlightAgain(t *testing.T) {
	l, hello := serverWaiting(t, []byte("hint"))
	s := l.server
	s.DoHandshake(withRecordSeq(hello, 100))
	first := s.Outgoing()
	if len(first) == 0 {
		t.Fatal("a retransmitted ClientHello drew nothing")
	}
	s.DoHandshake(withRecordSeq(hello, 101))
	if n := outBytes(s); n != 0 {
		t.Fatalf("a second copy within the period drew %d bytes", n)
	}
	l.clock.advance(s.hs.timeout)
	s.DoHandshake(withRecordSeq(hello, 102))
	if again := s.Outgoing(); len(again) != len(first) {
		t.Fatalf("a copy one period later drew %d datagrams, want %d", len(again), len(first))
	}
	// The client, getting the flight, completes the handshake: the copies,
	// under sequence numbers far above the client's, did not move the
	// replay window past its next records.
	l.filter = nil
	l.send(false, first)
	l.pump()
	expectEstablished(t, l, TLS_PSK_WITH_AES_128_GCM_SHA256)
}

// One epoch-0 record with the highest sequence number, before the client's
// final flight, used to make every genuine record look old: the handshake
// stalled until the retransmission limit. Records that were of no use
// (an unknown type, an empty or malformed handshake record, a stale
// fragment) no longer move the replay window.
func TestReplayWindowPoisonIgnored(t *testing.T) {
	poisons := map[string][]byte{
		"unknown type":           appendRecordHeader(nil, 0x63, versionDTLS12, 0, maxSequence, 0),
		"empty":                  appendRecordHeader(nil, contentHandshake, versionDTLS12, 0, maxSequence, 0),
		"alert type, wrong size": append(appendRecordHeader(nil, contentAlert, versionDTLS12, 0, maxSequence, 1), 1),
		"stale fragment": append(appendRecordHeader(nil, contentHandshake, versionDTLS12, 0, maxSequence, handshakeHeaderLen+1),
			appendHandshakeHeader(nil, msgClientHello, 5, 0, 0, 1)...),
	}
	for name, poison := range poisons {
		for _, toServer := range []bool{true, false} {
			l := newLink(t, Config{PSK: keyFor("id", "k", nil)}, Config{PSK: keyFor("", "k", nil)})
			sent := false
			l.filter = func(ts bool, d []byte) []byte {
				if ts == toServer && l.server != nil && !sent {
					sent = true
					l.send(ts, [][]byte{poison})
				}
				return d
			}
			start := l.clock.now()
			l.run()
			expectEstablished(t, l, TLS_PSK_WITH_AES_128_GCM_SHA256)
			if !sent {
				t.Fatal("the poison was never sent")
			}
			if took := l.clock.now().Sub(start); took != 0 {
				t.Errorf("%s towards the server %v: the handshake needed %v of retransmissions", name, toServer, took)
			}
		}
	}
}

// garbageEpoch1 is a record that cannot authenticate under any key.
func garbageEpoch1(seq uint64) []byte {
	d := appendRecordHeader(nil, contentHandshake, versionDTLS12, 1, seq, 48)
	return append(d, bytes.Repeat([]byte{0xA5}, 48)...)
}

// One garbage epoch-1 record, before or after the ChangeCipherSpec, used to
// end the handshake with bad_record_mac (the one before it was kept and
// replayed at the ChangeCipherSpec). RFC 6347 section 4.1.2.7: such records
// are dropped, and the handshake completes.
func TestGarbageEpoch1RecordDoesNotEndHandshake(t *testing.T) {
	for _, toServer := range []bool{true, false} {
		for _, beforeCCS := range []bool{true, false} {
			l := newLink(t, Config{PSK: keyFor("id", "k", nil)}, Config{PSK: keyFor("", "k", nil)})
			done := false
			l.filter = func(ts bool, d []byte) []byte {
				if ts != toServer || done {
					return d
				}
				var ccsAt int = -1
				recs := recordsOf(d)
				for i, r := range recs {
					if r.typ == contentChangeCipherSpec {
						ccsAt = i
					}
				}
				if ccsAt < 0 {
					return d
				}
				done = true
				// Each record in its own datagram, the garbage before or
				// right after the ChangeCipherSpec.
				for i, r := range recs {
					if i == ccsAt && beforeCCS {
						l.toServerOrClient(ts, garbageEpoch1(7))
					}
					l.toServerOrClient(ts, r.raw)
					if i == ccsAt && !beforeCCS {
						l.toServerOrClient(ts, garbageEpoch1(7))
					}
				}
				return nil
			}
			start := l.clock.now()
			l.run()
			if !done {
				t.Fatal("no ChangeCipherSpec seen")
			}
			expectEstablished(t, l, TLS_PSK_WITH_AES_128_GCM_SHA256)
			if took := l.clock.now().Sub(start); took != 0 {
				t.Errorf("towards the server %v, before the CCS %v: the handshake needed %v of retransmissions", toServer, beforeCCS, took)
			}
		}
	}
}

// toServerOrClient queues a datagram as it is, past the filter.
func (l *link) toServerOrClient(toServer bool, d []byte) {
	if toServer {
		l.toServer = append(l.toServer, bytes.Clone(d))
	} else {
		l.toClient = append(l.toClient, bytes.Clone(d))
	}
}

// The handshake ends when its deadline passes, whatever the retransmission
// limit would allow, on both sides, and Timeout counts down to it.
func TestHandshakeDeadline(t *testing.T) {
	t.Run("client, server silent", func(t *testing.T) {
		c := &clock{t: time.Unix(0, 0)}
		s, _ := New(Client, Config{Now: c.now, HandshakeDeadline: 5 * time.Second, MaxRetransmits: 100})
		s.SetPeer(serverAddr)
		s.DoHandshake(nil)
		var at []time.Duration
		for s.HandshakeState() == HandshakeInProgress {
			d, ok := s.Timeout()
			if !ok {
				t.Fatal("no timer during the handshake")
			}
			c.advance(d)
			at = append(at, c.now().Sub(time.Unix(0, 0)))
			s.HandleTimeout()
		}
		// Retransmissions at 1 s and 3 s, then the deadline at 5 s rather
		// than a retransmission at 7 s.
		if want := []time.Duration{time.Second, 3 * time.Second, 5 * time.Second}; len(at) != 3 || at[0] != want[0] || at[1] != want[1] || at[2] != want[2] {
			t.Fatalf("timers fired at %v, want %v", at, want)
		}
		expectError(t, s, false, dtlserror.TlsFatalError, "The handshake did not complete within 5s")
		if _, ok := s.Timeout(); ok {
			t.Fatal("timer still running after the deadline")
		}
	})
	t.Run("server, client vanished after its hello", func(t *testing.T) {
		l := newLink(t, Config{PSK: keyFor("id", "k", nil)}, Config{PSK: keyFor("", "k", nil), HandshakeDeadline: 10 * time.Second})
		l.filter = func(toServer bool, d []byte) []byte {
			if toServer && l.server != nil {
				return nil
			}
			return d
		}
		start := l.clock.now()
		l.run()
		if l.server.HandshakeState() != HandshakeNotStarted || l.server.DtlsErrorString() != "The handshake did not complete within 10s" {
			t.Fatalf("server: %v %q", l.server.HandshakeState(), l.server.DtlsErrorString())
		}
		// The client (default deadline) outlives it; the server was freed at 10 s.
		if took := l.clock.now().Sub(start); took != DefaultHandshakeDeadline {
			t.Fatalf("the link ran for %v", took)
		}
	})
	t.Run("bad values", func(t *testing.T) {
		if _, err := New(Client, Config{HandshakeDeadline: -time.Second}); err == nil {
			t.Fatal("a negative deadline was taken")
		}
		s, _ := New(Client, Config{})
		if s.Config().HandshakeDeadline != DefaultHandshakeDeadline {
			t.Fatalf("default %v", s.Config().HandshakeDeadline)
		}
	})
}

// linkWithPSKCallback returns a link, not yet run, whose side in mode
// answers the PSK callback with identity "id" and key "k" and then hands
// its own session to then, from inside the callback.
func linkWithPSKCallback(t *testing.T, mode Mode, then func(self *Session)) *link {
	var l *link
	cb := func(a *psk.Authenticator) {
		a.SetIdentity([]byte("id"))
		a.SetPreSharedKey([]byte("k"))
		then(l.side(mode))
	}
	ccfg, scfg := Config{PSK: keyFor("id", "k", nil)}, Config{PSK: keyFor("", "k", nil)}
	if mode == Client {
		ccfg.PSK = cb
	} else {
		scfg.PSK = cb
	}
	l = newLink(t, ccfg, scfg)
	return l
}

// side returns the link's session in mode.
func (l *link) side(mode Mode) *Session {
	if mode == Server {
		return l.server
	}
	return l.client
}

// Calls that change a session, made from inside its PSK callback, used to
// reset the handshake under the engine's feet and panic it. They are
// refused there, and Close takes effect once the callback returns.
func TestPSKCallbackCannotChangeItsSession(t *testing.T) {
	for _, mode := range []Mode{Client, Server} {
		var refused []string
		l := linkWithPSKCallback(t, mode, func(self *Session) {
			check := func(name string, ok bool) {
				if !ok && self.DtlsError() == dtlserror.InvalidOperation {
					refused = append(refused, name)
				}
			}
			check("AbortHandshake", self.AbortHandshake())
			check("DoHandshake", self.DoHandshake([]byte{1}))
			check("HandleTimeout", self.HandleTimeout())
			check("Shutdown", self.Shutdown())
			check("SetConfig", self.SetConfig(Config{}))
			check("SetPeer", self.SetPeer(clientAddr))
			check("WriteDatagramEncrypted", self.WriteDatagramEncrypted([]byte("x")) != -1)
			check("DecryptDatagram", self.DecryptDatagram([]byte{1}) != nil)
		})
		l.run()
		expectEstablished(t, l, TLS_PSK_WITH_AES_128_GCM_SHA256)
		if len(refused) != 8 {
			t.Fatalf("%v: refused only %v", mode, refused)
		}
	}
}

func TestCloseFromPSKCallback(t *testing.T) {
	for _, mode := range []Mode{Client, Server} {
		l := linkWithPSKCallback(t, mode, (*Session).Close)
		l.run()
		s := l.side(mode)
		if s.HandshakeState() != HandshakeNotStarted || s.hs != nil || s.DtlsErrorString() != "The session was closed from inside the PSK callback" {
			t.Fatalf("%v: %v %q", mode, s.HandshakeState(), s.DtlsErrorString())
		}
	}
}

// The key the application handed over, the key block and the protections'
// own key material are wiped once used or when the session closes.
func TestSecretsWiped(t *testing.T) {
	for _, id := range []uint16{TLS_PSK_WITH_AES_128_GCM_SHA256, TLS_PSK_WITH_AES_128_CBC_SHA256} {
		var handed []*psk.Authenticator
		keep := func(a *psk.Authenticator) {
			a.SetIdentity([]byte("id"))
			a.SetPreSharedKey([]byte("secret key"))
			handed = append(handed, a)
		}
		l := newLink(t, Config{Suites: []uint16{id}, PSK: keep}, Config{Suites: []uint16{id}, PSK: keep})
		l.run()
		expectEstablished(t, l, id)
		if len(handed) != 2 {
			t.Fatalf("the callback ran %d times", len(handed))
		}
		for _, a := range handed {
			if len(a.PreSharedKey()) != 0 {
				t.Errorf("suite 0x%04X: the authenticator still holds the key", id)
			}
		}
		var held [][]byte
		switch p := l.server.readProt.(type) {
		case *aeadProtection:
			held = [][]byte{p.readIV(), p.writeIV()}
		case *cbcProtection:
			held = [][]byte{p.readMAC.ipad, p.readMAC.opad, p.writeMAC.ipad, p.writeMAC.opad}
		}
		l.server.Close()
		for _, b := range held {
			if len(b) == 0 || !bytes.Equal(b, make([]byte, len(b))) {
				t.Errorf("suite 0x%04X: key material not wiped on Close: %x", id, b)
			}
		}
		if l.server.IsConnectionEncrypted() {
			t.Error("still encrypted after Close")
		}
	}
}
