// SPDX-License-Identifier: MIT

package session

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// Loss, duplication and reordering only slow the handshake down.
func TestHandshakeOverBadNetwork(t *testing.T) {
	for seed := uint64(0); seed < 40; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			suite := suites[int(seed)%len(suites)].ID
			l := newLink(t,
				// A third of the datagrams lost takes some handshakes past
				// the default deadline on the fake clock.
				Config{Suites: []uint16{suite}, PSK: keyFor("id", "k3y", nil), MaxRetransmits: 30, HandshakeDeadline: time.Hour},
				Config{Suites: []uint16{suite}, IdentityHint: []byte("h"), PSK: keyFor("", "k3y", nil), HandshakeDeadline: time.Hour})
			l.rng = rand.New(rand.NewPCG(seed, seed*7+1))
			l.loss, l.dup, l.reorder = 0.3, 0.3, true
			l.run()
			expectEstablished(t, l, suite)
		})
	}
}

// With a small MTU every message larger than a datagram is cut into
// fragments; delivered out of order, they are put back together.
func TestFragmentationToMTU(t *testing.T) {
	hint := bytes.Repeat([]byte("h"), 1500)
	identity := string(bytes.Repeat([]byte("i"), MaxIdentityLength))
	l := newLink(t,
		Config{MTU: MinMTU, PSK: keyFor(identity, "k", nil), Suites: []uint16{TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256}},
		Config{MTU: MinMTU, IdentityHint: hint, PSK: keyFor("", "k", nil)})
	l.reorder = true
	largest := 0
	l.filter = func(_ bool, d []byte) []byte {
		largest = max(largest, len(d))
		return d
	}
	l.run()
	expectEstablished(t, l, TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256)
	if largest > MinMTU {
		t.Errorf("a handshake datagram has %d bytes, MTU %d", largest, MinMTU)
	}
}

// A Finished that decrypts but does not match the transcript fails the
// handshake with decrypt_error, on the server (RFC 5246 section 7.4.9).
func TestTamperedFinished(t *testing.T) {
	l := newLink(t, Config{PSK: keyFor("id", "k", nil)}, Config{PSK: keyFor("", "k", nil)})
	var alert []byte
	l.filter = func(toServer bool, d []byte) []byte {
		if !toServer {
			splitRecords(d, func(r record) bool {
				if r.typ == contentAlert && r.epoch == 0 {
					alert = r.payload
				}
				return true
			})
			return d
		}
		var out []byte
		splitRecords(d, func(r record) bool {
			if r.epoch == 1 && r.typ == contentHandshake {
				// The server's side of the client's keys opens the record.
				hs := l.client.hs
				keys, _ := deriveKeys(l.client.suite, hs.master, hs.clientRandom, hs.serverRandom)
				serverSide, _ := newProtection(l.client.suite, keys, false)
				plain, err := serverSide.open(r)
				if err != nil {
					t.Fatalf("cannot open the client's Finished: %v", err)
				}
				plain[len(plain)-1] ^= 1 // last byte of verify_data
				out, _ = l.client.writeProt.seal(out, r.typ, r.epoch, r.seq, plain)
				return true
			}
			out = append(out, r.raw...)
			return true
		})
		return out
	}
	l.run()
	if st, code := l.server.HandshakeState(), l.server.DtlsError(); st != HandshakeNotStarted || code.String() != "TlsFatalError" {
		t.Fatalf("server: %v %v %q", st, code, l.server.DtlsErrorString())
	}
	if !bytes.Equal(alert, []byte{alertFatal, alertDecryptError}) {
		t.Fatalf("alert to the client: %v, want fatal decrypt_error", alert)
	}
	if l.client.HandshakeState() != HandshakeNotStarted || l.client.DtlsErrorString() != "The peer sent a fatal alert: decrypt_error" {
		t.Fatalf("client: %v %q", l.client.HandshakeState(), l.client.DtlsErrorString())
	}
}

// The timer starts at 1 s, doubles up to 60 s, and the handshake fails
// after MaxRetransmits retransmissions (RFC 6347 section 4.2.4.1).
func TestRetransmissionTimer(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	s, _ := New(Client, Config{Now: c.now, MaxRetransmits: 9, HandshakeDeadline: time.Hour})
	s.SetPeer(serverAddr)
	s.DoHandshake(nil)
	first := s.Outgoing()
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
	for i, w := range want {
		d, ok := s.Timeout()
		if !ok || d != w*time.Second {
			t.Fatalf("timeout %d: %v %v, want %v", i, d, ok, w*time.Second)
		}
		c.advance(d - time.Millisecond)
		if !s.HandleTimeout() || len(s.Outgoing()) != 0 {
			t.Fatalf("retransmitted before the timer expired")
		}
		c.advance(time.Millisecond)
		if !s.HandleTimeout() {
			t.Fatal(s.DtlsErrorString())
		}
		again := s.Outgoing()
		if len(again) != 1 || bytes.Equal(again[0], first[0]) || !bytes.Equal(again[0][13:], first[0][13:]) {
			t.Fatalf("retransmission %d: want the same ClientHello in a record with a new sequence number", i)
		}
	}
	c.advance(60 * time.Second)
	if s.HandleTimeout() || s.HandshakeState() != HandshakeNotStarted || s.DtlsError().String() != "TlsFatalError" {
		t.Fatalf("after the last retransmission: %v %v %q", s.HandshakeState(), s.DtlsError(), s.DtlsErrorString())
	}
	if _, ok := s.Timeout(); ok {
		t.Fatal("timer still running after the handshake failed")
	}
}

// When the server's last flight is lost, the client's retransmitted flight
// makes the completed server send it again.
func TestServerRepeatsLastFlight(t *testing.T) {
	l := newLink(t, Config{PSK: keyFor("id", "k", nil)}, Config{PSK: keyFor("", "k", nil)})
	dropped := 0
	l.filter = func(toServer bool, d []byte) []byte {
		if !toServer && l.server != nil && l.server.IsConnectionEncrypted() && dropped == 0 {
			dropped++
			return nil
		}
		return d
	}
	l.run()
	if dropped != 1 {
		t.Fatal("the server's final flight was never dropped")
	}
	expectEstablished(t, l, TLS_PSK_WITH_AES_128_GCM_SHA256)
}

// Only a repeat of the last message of the peer's previous flight makes the
// server send its own flight again; older messages are ignored.
func TestRepeatTriggersOnlyOnLastMessage(t *testing.T) {
	l := newLink(t, Config{PSK: keyFor("id", "k", nil)}, Config{PSK: keyFor("", "k", nil)})
	var hello, finishedFlight []byte
	l.filter = func(toServer bool, d []byte) []byte {
		if toServer && l.server == nil {
			hello = d
		}
		if toServer && l.server != nil && l.server.hs != nil && l.server.hs.step == stepWaitClientKeyExchange {
			finishedFlight = d
		}
		return d
	}
	l.run()
	expectEstablished(t, l, TLS_PSK_WITH_AES_128_GCM_SHA256)
	var keyExchange []byte
	splitRecords(finishedFlight, func(r record) bool { keyExchange = r.raw; return false })
	if h, _ := parseHandshakeHeader(keyExchange[recordHeaderLen:]); h.typ != msgClientKeyExchange {
		t.Fatalf("first record of the client's last flight is message type %d", h.typ)
	}
	// Fresh record sequence numbers, as a real retransmission has.
	resend := func(d []byte, seq uint64) []byte {
		d = bytes.Clone(d)
		d[10] = byte(seq)
		return d
	}
	l.server.DecryptDatagram(resend(keyExchange, 200))
	if out := l.server.Outgoing(); len(out) != 0 {
		t.Fatalf("a repeated ClientKeyExchange alone made the server send %d datagrams", len(out))
	}
	l.server.DecryptDatagram(resend(hello, 201))
	if out := l.server.Outgoing(); len(out) != 0 {
		t.Fatalf("a repeated ClientHello made the server send %d datagrams", len(out))
	}
	// A replayed Finished record (same epoch-1 sequence number) is dropped
	// by the replay window, so it cannot trigger a retransmission either;
	// TestServerRepeatsLastFlight shows a genuine one does.
	var flight []byte
	seq := uint64(202)
	splitRecords(finishedFlight, func(r record) bool {
		if r.epoch == 0 {
			flight = append(flight, resend(r.raw, seq)...)
			seq++
		} else {
			flight = append(flight, r.raw...) // epoch 1 keeps its sequence number: replay protection drops it
		}
		return true
	})
	l.server.DecryptDatagram(flight)
	if out := l.server.Outgoing(); len(out) != 0 {
		t.Fatalf("a replayed Finished record made the server send %d datagrams", len(out))
	}
}
