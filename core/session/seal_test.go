// SPDX-License-Identifier: MIT

package session

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/dtlsgate/dtlsgate/core/dtlserror"
)

// connected returns a client and a server that completed a handshake on
// the suite id.
func connected(tb testing.TB, id uint16) (*Session, *Session) {
	tb.Helper()
	l := newLink(tb, Config{Suites: []uint16{id}, PSK: keyFor("id", "k", nil)}, Config{PSK: keyFor("", "k", nil)})
	l.run()
	if l.server == nil || !l.server.IsConnectionEncrypted() || !l.client.IsConnectionEncrypted() {
		tb.Fatalf("handshake failed: %s", l.client.DtlsErrorString())
	}
	return l.client, l.server
}

func seal(tb testing.TB, s *Session, plain []byte) []byte {
	tb.Helper()
	out := make([]byte, s.SealedLen(len(plain)))
	n, res := s.Seal(out, plain)
	if res != RecordOK || n != len(out) {
		tb.Fatalf("Seal: %d bytes, result %d (%s); want %d bytes", n, res, s.DtlsErrorString(), len(out))
	}
	return out
}

func open(tb testing.TB, s *Session, rec []byte) []byte {
	tb.Helper()
	out := make([]byte, len(rec))
	n, res := s.Open(out, rec)
	if res != RecordOK {
		tb.Fatalf("Open: result %d (%s)", res, s.DtlsErrorString())
	}
	return out[:n]
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + n)
	}
	return b
}

// Every suite, both directions: what Seal writes opens with Open and with
// DecryptDatagram, and what WriteDatagramEncrypted queues opens with Open.
func TestSealOpenRoundTrip(t *testing.T) {
	for _, suite := range Suites() {
		t.Run(suite.Name, func(t *testing.T) {
			c, s := connected(t, suite.ID)
			for _, pair := range [][2]*Session{{c, s}, {s, c}} {
				from, to := pair[0], pair[1]
				for _, size := range []int{1, 15, 16, 64, 1400, maxPlaintext} {
					plain := pattern(size)
					if got := open(t, to, seal(t, from, plain)); !bytes.Equal(got, plain) {
						t.Fatalf("%d bytes: Seal then Open gave %d different bytes", size, len(got))
					}
					if got := to.DecryptDatagram(seal(t, from, plain)); !bytes.Equal(got, plain) {
						t.Fatalf("%d bytes: Seal then DecryptDatagram gave %d bytes (%s)", size, len(got), to.DtlsErrorString())
					}
					from.WriteDatagramEncrypted(plain)
					queued := from.Outgoing()
					if len(queued) != 1 || !bytes.Equal(open(t, to, queued[0]), plain) {
						t.Fatalf("%d bytes: WriteDatagramEncrypted then Open failed", size)
					}
				}
			}
		})
	}
}

// The plaintext may share the output buffer anywhere, and a datagram may
// be opened onto itself or onto any overlapping part of its buffer.
func TestSealOpenInPlace(t *testing.T) {
	for _, suite := range Suites() {
		t.Run(suite.Name, func(t *testing.T) {
			c, s := connected(t, suite.ID)
			plain := pattern(1000)
			n := c.SealedLen(len(plain))
			at := recordHeaderLen + c.writeProt.prefix()
			for _, off := range []int{0, 1, at, at + 3, n - len(plain)} {
				buf := make([]byte, n)
				copy(buf[off:], plain)
				m, res := c.Seal(buf, buf[off:off+len(plain)])
				if res != RecordOK || m != n {
					t.Fatalf("plaintext at %d: Seal gave %d, %d", off, m, res)
				}
				if got := open(t, s, buf); !bytes.Equal(got, plain) {
					t.Fatalf("plaintext at %d: the record does not open to it", off)
				}
			}
			for _, off := range []int{0, 1, 13, 29} {
				rec := seal(t, c, plain)
				buf := make([]byte, len(rec)+off)
				copy(buf, rec)
				m, res := s.Open(buf[off:], buf[:len(rec)])
				if res != RecordOK || !bytes.Equal(buf[off:off+m], plain) {
					t.Fatalf("output at %d into the datagram: %d, %d", off, m, res)
				}
			}
			// The output starting before the datagram, overlapping it.
			rec := seal(t, c, plain)
			buf := make([]byte, len(rec)+7)
			copy(buf[7:], rec)
			if m, res := s.Open(buf, buf[7:]); res != RecordOK || !bytes.Equal(buf[:m], plain) {
				t.Fatalf("output before the datagram: %d, %d", m, res)
			}
		})
	}
}

// Too small a buffer gives the size needed and changes nothing: no
// sequence number is used up, the replay window does not move.
func TestSealOpenShortBuffer(t *testing.T) {
	for _, id := range []uint16{TLS_PSK_WITH_AES_128_GCM_SHA256, TLS_PSK_WITH_CHACHA20_POLY1305_SHA256, TLS_PSK_WITH_AES_128_CBC_SHA256} {
		suite, _ := LookupSuite(id)
		t.Run(suite.Name, func(t *testing.T) {
			c, s := connected(t, id)
			plain := pattern(100)
			need := c.SealedLen(len(plain))
			seq := c.writeSeq[1]
			for _, size := range []int{0, 1, need - 1} {
				if n, res := c.Seal(make([]byte, size), plain); res != RecordShortBuffer || n != need {
					t.Fatalf("Seal into %d bytes: %d, %d; want %d, RecordShortBuffer", size, n, res, need)
				}
			}
			if c.writeSeq[1] != seq {
				t.Fatalf("a refused Seal used sequence numbers up: %d, was %d", c.writeSeq[1], seq)
			}
			rec := seal(t, c, plain)
			if got := recordsOf(rec)[0].seq; got != seq {
				t.Fatalf("the record has sequence number %d, want %d", got, seq)
			}
			room := s.readProt.openRoom(len(recordsOf(rec)[0].payload))
			if room < len(plain) {
				t.Fatalf("openRoom %d is less than the plaintext", room)
			}
			window := s.replay[1]
			for _, size := range []int{0, room - 1} {
				if n, res := s.Open(make([]byte, size), rec); res != RecordShortBuffer || n != room {
					t.Fatalf("Open into %d bytes: %d, %d; want %d, RecordShortBuffer", size, n, res, room)
				}
			}
			if s.replay[1] != window {
				t.Fatal("a refused Open moved the replay window")
			}
			out := make([]byte, room)
			if n, res := s.Open(out, rec); res != RecordOK || !bytes.Equal(out[:n], plain) {
				t.Fatalf("Open into exactly %d bytes: %d, %d", room, n, res)
			}
		})
	}
}

// Forged, replayed, truncated, stale and misplaced records never give data,
// and a forged one does not move the replay window.
func TestOpenDropsBadRecords(t *testing.T) {
	for _, suite := range Suites() {
		t.Run(suite.Name, func(t *testing.T) {
			c, s := connected(t, suite.ID)
			out := make([]byte, 2048)
			first, second := seal(t, c, pattern(64)), seal(t, c, pattern(64))
			for i := range second {
				for _, bit := range []byte{1, 0x80} {
					forged := bytes.Clone(second)
					forged[i] ^= bit
					if n, res := s.Open(out, forged); res == RecordOK || n != 0 && res != RecordShortBuffer {
						t.Fatalf("byte %d bit %#x flipped: %d, %d", i, bit, n, res)
					}
				}
			}
			for i := range second {
				if _, res := s.Open(out, second[:i]); res == RecordOK || (i == 0) != (res == RecordError) {
					t.Fatalf("truncated to %d bytes: result %d", i, res)
				}
			}
			// Neither the forgeries nor the truncations moved the window.
			if !bytes.Equal(open(t, s, first), pattern(64)) || !bytes.Equal(open(t, s, second), pattern(64)) {
				t.Fatal("genuine records do not open after forgeries")
			}
			if _, res := s.Open(out, second); res != RecordDropped {
				t.Fatalf("replayed record: result %d", res)
			}
			old := seal(t, c, pattern(10))
			for range 64 {
				open(t, s, seal(t, c, pattern(10)))
			}
			if _, res := s.Open(out, old); res != RecordDropped {
				t.Fatalf("record older than the window: result %d", res)
			}
			epoch0 := appendRecordHeader(nil, contentApplicationData, versionDTLS12, 0, 99, 5)
			epoch0 = append(epoch0, "hello"...)
			if _, res := s.Open(out, epoch0); res != RecordDropped {
				t.Fatalf("plaintext application data in epoch 0: result %d", res)
			}
			if _, res := s.Open(out, []byte{contentApplicationData, 0xFE}); res != RecordDropped {
				t.Fatalf("2-byte datagram: result %d", res)
			}
			huge := append(appendRecordHeader(nil, contentApplicationData, versionDTLS12, 1, 500, 0xFFFF), make([]byte, 100)...)
			if _, res := s.Open(out, huge); res != RecordDropped {
				t.Fatalf("length past the datagram: result %d", res)
			}
		})
	}
}

// What is not a lone application-data record is left untouched for
// DecryptDatagram, which handles it: nothing is lost.
func TestOpenLeavesOtherRecords(t *testing.T) {
	// The server's final flight is lost, so the client sends its Finished
	// again: the first two of these repeats are kept aside.
	l := newLink(t, Config{PSK: keyFor("id", "k", nil)}, Config{PSK: keyFor("", "k", nil)})
	lost := false
	var repeats [][]byte
	l.filter = func(toServer bool, d []byte) []byte {
		switch {
		case l.server == nil || !l.server.IsConnectionEncrypted():
		case !toServer && !lost:
			lost = true
			return nil
		case toServer && len(repeats) < 2:
			repeats = append(repeats, bytes.Clone(d))
			return nil
		}
		return d
	}
	l.run()
	if len(repeats) != 2 || !l.client.IsConnectionEncrypted() {
		t.Fatalf("%d repeated Finished flights kept; client encrypted: %v", len(repeats), l.client.IsConnectionEncrypted())
	}
	c, s := l.client, l.server
	out := make([]byte, 4096)

	// A repeated Finished is left alone; passed on, it has the server send
	// its last flight again.
	l.clock.advance(2 * InitialTimeout)
	dgram := bytes.Clone(repeats[0])
	if _, res := s.Open(out, dgram); res != RecordNotData || !bytes.Equal(dgram, repeats[0]) {
		t.Fatalf("repeated Finished: result %d, or the datagram was changed", res)
	}
	s.DecryptDatagram(dgram)
	if len(s.Outgoing()) == 0 {
		t.Fatal("the repeated Finished, passed on, did not make the server send its flight again")
	}

	// Data through Open shows the client has the flight: no resend after.
	open(t, s, seal(t, c, []byte("data")))
	l.clock.advance(2 * InitialTimeout)
	s.DecryptDatagram(repeats[1])
	if len(s.Outgoing()) != 0 {
		t.Fatal("the server resent its last flight after Open delivered the client's data")
	}

	// Two records in one datagram.
	two := append(seal(t, c, []byte("one")), seal(t, c, []byte("two"))...)
	if _, res := s.Open(out, two); res != RecordNotData {
		t.Fatalf("two records: result %d", res)
	}
	if got := s.DecryptDatagram(two); string(got) != "onetwo" {
		t.Fatalf("two records through DecryptDatagram: %q", got)
	}

	// close_notify.
	c.Shutdown()
	alert := c.Outgoing()[0]
	if _, res := s.Open(out, alert); res != RecordNotData || !s.IsConnectionEncrypted() {
		t.Fatalf("close_notify: result %d", res)
	}
	s.DecryptDatagram(alert)
	if s.IsConnectionEncrypted() || s.DtlsError() != dtlserror.RemoteClosedConnectionError {
		t.Fatalf("close_notify passed on: %v %s", s.DtlsError(), s.DtlsErrorString())
	}
}

func TestSealOpenErrors(t *testing.T) {
	fresh, _ := New(Client, Config{})
	buf := make([]byte, 100)
	for name, f := range map[string]func() (int, RecordResult){
		"Seal": func() (int, RecordResult) { return fresh.Seal(buf, []byte("x")) },
		"Open": func() (int, RecordResult) { return fresh.Open(buf, buf) },
	} {
		if _, res := f(); res != RecordError || fresh.DtlsError() != dtlserror.InvalidOperation {
			t.Errorf("%s before the handshake: %d, %v", name, res, fresh.DtlsError())
		}
	}
	c, s := connected(t, TLS_PSK_WITH_AES_128_GCM_SHA256)
	big := make([]byte, 2*maxPlaintext)
	for _, plain := range [][]byte{nil, big[:maxPlaintext+1]} {
		if _, res := c.Seal(big, plain); res != RecordError || c.DtlsError() != dtlserror.InvalidInputParameters {
			t.Errorf("Seal of %d bytes: %d, %v", len(plain), res, c.DtlsError())
		}
	}
	if _, res := s.Open(buf, nil); res != RecordError || s.DtlsError() != dtlserror.InvalidInputParameters {
		t.Errorf("Open of nothing: %d, %v", res, s.DtlsError())
	}
	c.writeSeq[1] = maxSequence + 1
	if _, res := c.Seal(big, []byte("x")); res != RecordError || c.DtlsError() != dtlserror.TlsFatalError {
		t.Errorf("Seal with sequence numbers exhausted: %d, %v", res, c.DtlsError())
	}
	// The error of one call does not stay for the next.
	if n, res := s.Open(buf, []byte{contentAlert}); res != RecordDropped || n != 0 || s.DtlsError() != dtlserror.NoError {
		t.Errorf("Open after an error: %d, %d, %v", n, res, s.DtlsError())
	}
}

// Once warm, sealing and opening allocate nothing, whatever the outcome,
// with connection IDs (tls12_cid records) too.
func TestRecordNoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	for _, suite := range Suites() {
		t.Run(suite.Name, func(t *testing.T) {
			c, s := connected(t, suite.ID)
			recordNoAllocations(t, c, s)
		})
		t.Run(suite.Name+"/connection IDs", func(t *testing.T) {
			c, s := connectedCID(t, suite.ID, cidCases[1])
			recordNoAllocations(t, c, s)
		})
	}
}

// recordNoAllocations checks that c's Seal and s's Open allocate nothing.
func recordNoAllocations(t *testing.T, c, s *Session) {
	plain := pattern(1400)
	rec := make([]byte, 2048)
	out := make([]byte, 2048)
	forged := seal(t, c, plain)
	forged[len(forged)-1] ^= 1
	cases := map[string]func(){
		"Seal then Open": func() {
			n, _ := c.Seal(rec, plain)
			if _, res := s.Open(out, rec[:n]); res != RecordOK {
				t.Fatal(res)
			}
		},
		"in place": func() {
			copy(rec, plain)
			n, _ := c.Seal(rec, rec[:len(plain)])
			if _, res := s.Open(rec, rec[:n]); res != RecordOK {
				t.Fatal(res)
			}
		},
		"forged":       func() { s.Open(out, forged) },
		"short buffer": func() { c.Seal(rec[:10], plain) },
	}
	for name, f := range cases {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations", name, n)
		}
	}
}

// BenchmarkRecord: one datagram encrypted by the client and decrypted by
// the server, through Seal and Open ("direct") and through the queueing
// calls the C API used to need ("queued": WriteDatagramEncrypted,
// Outgoing, DecryptDatagram); "aead" is the cipher alone, the floor.
func BenchmarkRecord(b *testing.B) {
	for _, id := range []uint16{TLS_PSK_WITH_AES_128_GCM_SHA256, TLS_PSK_WITH_AES_256_GCM_SHA384, TLS_PSK_WITH_CHACHA20_POLY1305_SHA256, TLS_PSK_WITH_AES_128_CBC_SHA256} {
		suite, _ := LookupSuite(id)
		for _, size := range []int{64, 1000, 1400} {
			b.Run(fmt.Sprintf("%s/%d/direct", suite.Name, size), func(b *testing.B) {
				c, s := connected(b, id)
				plain, rec, out := pattern(size), make([]byte, 2048), make([]byte, 2048)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					n, _ := c.Seal(rec, plain)
					if _, res := s.Open(out, rec[:n]); res != RecordOK {
						b.Fatal(res)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			})
			b.Run(fmt.Sprintf("%s/%d/aead", suite.Name, size), func(b *testing.B) {
				// The floor: the suite's AEAD alone, sealing and opening
				// with the same nonce and additional data every time.
				c, s := connected(b, id)
				w, ok := c.writeProt.(*aeadProtection)
				if !ok {
					b.Skip("not an AEAD suite")
				}
				r := s.readProt.(*aeadProtection)
				plain, buf := pattern(size), make([]byte, 0, 2048)
				nonce, ad := make([]byte, 12), make([]byte, 13)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					sealed := w.write.Seal(buf, nonce, plain, ad)
					if _, err := r.read.Open(sealed[:0], nonce, sealed, ad); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			})
			b.Run(fmt.Sprintf("%s/%d/queued", suite.Name, size), func(b *testing.B) {
				c, s := connected(b, id)
				plain := pattern(size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					c.WriteDatagramEncrypted(plain)
					if got := s.DecryptDatagram(c.Outgoing()[0]); len(got) != size {
						b.Fatal(s.DtlsErrorString())
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}
