// SPDX-License-Identifier: MIT

package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
)

func TestParseRecordHeader(t *testing.T) {
	b := []byte{0x16, 0xFE, 0xFD, 0x12, 0x34, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x01, 0x02, 0xFF}
	want := RecordHeader{ContentType: 22, Version: 0xFEFD, Epoch: 0x1234, SequenceNumber: 0xA1B2C3D4E5F6, Length: 0x0102}
	got, err := ParseRecordHeader(b)
	if err != nil || got != want {
		t.Fatalf("ParseRecordHeader = %+v, %v; want %+v", got, err, want)
	}
	for n := range RecordHeaderSize {
		if _, err := ParseRecordHeader(b[:n]); err != ErrShort {
			t.Errorf("ParseRecordHeader(%d bytes) error = %v, want ErrShort", n, err)
		}
	}
}

func TestParseHandshakeHeader(t *testing.T) {
	b := []byte{0x01, 0xA1, 0xB2, 0xC3, 0x12, 0x34, 0xD4, 0xE5, 0xF6, 0x0A, 0x0B, 0x0C, 0xFF}
	want := HandshakeHeader{Type: 1, Length: 0xA1B2C3, MessageSeq: 0x1234, FragmentOffset: 0xD4E5F6, FragmentLength: 0x0A0B0C}
	got, err := ParseHandshakeHeader(b)
	if err != nil || got != want {
		t.Fatalf("ParseHandshakeHeader = %+v, %v; want %+v", got, err, want)
	}
	for n := range HandshakeHeaderSize {
		if _, err := ParseHandshakeHeader(b[:n]); err != ErrLength {
			t.Errorf("ParseHandshakeHeader(%d bytes) error = %v, want ErrLength", n, err)
		}
	}
}

// What each capture holds. The client version follows from the command
// line that made it (tests/corpus/README.md); the suite counts and extension
// types were read off the captures once and are pinned so that any change in
// what the parser reports shows up (pion checks the suites themselves).
var corpusWant = map[string]struct {
	version uint16
	suites  int
	exts    []uint16
}{
	"gnutls_psk.bin":        {VersionDTLS12, 35, []uint16{5, 10, 11, 13, 22, 23, 35, 65281, 28}},
	"gnutls_udp.bin":        {VersionDTLS12, 25, []uint16{5, 10, 11, 13, 22, 23, 35, 65281, 28}},
	"openssl_dtls10.bin":    {VersionDTLS10, 9, []uint16{11, 10, 35, 22, 23}},
	"openssl_dtls12.bin":    {VersionDTLS12, 28, []uint16{11, 10, 35, 22, 23, 13}},
	"openssl_dtls12_v6.bin": {VersionDTLS12, 28, []uint16{11, 10, 35, 22, 23, 13}},
	"openssl_psk.bin":       {VersionDTLS12, 54, []uint16{11, 10, 35, 22, 23, 13}},
}

// extensionTypes lists the types in an extensions block, walking it here
// rather than with the code under test.
func extensionTypes(t *testing.T, exts []byte) []uint16 {
	t.Helper()
	var types []uint16
	for len(exts) > 0 {
		if len(exts) < 4 {
			t.Fatalf("extensions block ends inside a header")
		}
		types = append(types, binary.BigEndian.Uint16(exts))
		n := 4 + int(binary.BigEndian.Uint16(exts[2:]))
		if n > len(exts) {
			t.Fatalf("extension %d overruns the block", types[len(types)-1])
		}
		exts = exts[n:]
	}
	return types
}

func TestCorpusAgreesWithPion(t *testing.T) {
	files := loadCorpus(t)
	if len(files) != len(corpusWant) {
		t.Errorf("%d corpus files, want %d", len(files), len(corpusWant))
	}
	for _, f := range files {
		t.Run(f.Name, func(t *testing.T) {
			want, known := corpusWant[f.Name]
			if !known {
				t.Fatalf("unexpected corpus file")
			}
			ch, err := ParseClientHello(f.Data)
			if err != nil {
				t.Fatalf("ParseClientHello: %v", err)
			}
			p, err := parseWithPion(f.Data)
			if err != nil {
				t.Fatalf("pion: %v", err)
			}
			compareWithPion(t, ch, p)

			if !ch.Complete {
				t.Errorf("Complete = false")
			}
			if int(ch.Record.Length) != len(f.Data)-RecordHeaderSize {
				t.Errorf("record length %d, datagram holds %d", ch.Record.Length, len(f.Data)-RecordHeaderSize)
			}
			if ch.Handshake.Length != ch.Handshake.FragmentLength || ch.Handshake.FragmentOffset != 0 || ch.Handshake.MessageSeq != 0 {
				t.Errorf("handshake header %+v is not a first unfragmented message", ch.Handshake)
			}
			if ch.Version != want.version {
				t.Errorf("client version %#04x, want %#04x", ch.Version, want.version)
			}
			if len(ch.Random) != 32 || len(ch.SessionID) != 0 || len(ch.Cookie) != 0 {
				t.Errorf("random/session id/cookie lengths %d/%d/%d, want 32/0/0", len(ch.Random), len(ch.SessionID), len(ch.Cookie))
			}
			if got := len(ch.CipherSuites) / 2; got != want.suites {
				t.Errorf("%d cipher suites, want %d", got, want.suites)
			}
			if !bytes.Equal(ch.CompressionMethods, []byte{0}) {
				t.Errorf("compression methods %x, want 00", ch.CompressionMethods)
			}
			if got := extensionTypes(t, ch.Extensions); !reflect.DeepEqual(got, want.exts) {
				t.Errorf("extension types %v, want %v", got, want.exts)
			}
			for _, typ := range want.exts {
				if _, ok := FindExtension(ch.Extensions, typ); !ok {
					t.Errorf("FindExtension(%d) not found", typ)
				}
			}
			for _, s := range [][]byte{ch.Random, ch.SessionID, ch.Cookie, ch.CipherSuites, ch.CompressionMethods, ch.Extensions} {
				if !within(f.Data, s) {
					t.Errorf("a field does not alias the datagram")
				}
			}
		})
	}
}

// TestVariantsAgreeWithPion re-encodes each capture with cookies and session
// ids of various sizes, as a client's second ClientHello would carry.
func TestVariantsAgreeWithPion(t *testing.T) {
	for _, f := range loadCorpus(t) {
		for _, v := range []struct{ sid, cookie int }{
			{0, 1}, {0, 20}, {0, 32}, {0, 255}, {32, 0}, {32, 32}, {1, 255},
		} {
			sid, cookie := pattern(v.sid, 0x11), pattern(v.cookie, 0x5A)
			d := withSessionAndCookie(t, f.Data, sid, cookie)
			ch, err := ParseClientHello(d)
			if err != nil {
				t.Fatalf("%s sid %d cookie %d: %v", f.Name, v.sid, v.cookie, err)
			}
			p, err := parseWithPion(d)
			if err != nil {
				t.Fatalf("%s sid %d cookie %d: pion: %v", f.Name, v.sid, v.cookie, err)
			}
			compareWithPion(t, ch, p)
			base, _ := ParseClientHello(f.Data)
			if !ch.Complete || !bytes.Equal(ch.Cookie, cookie) || !bytes.Equal(ch.SessionID, sid) ||
				!bytes.Equal(ch.CipherSuites, base.CipherSuites) || !bytes.Equal(ch.Extensions, base.Extensions) {
				t.Errorf("%s sid %d cookie %d: parsed %+v", f.Name, v.sid, v.cookie, ch)
			}
		}
	}
}

// mutation edits a copy of a valid, unfragmented, single-record ClientHello.
type mutation func(tb testing.TB, d []byte) []byte

func put16(off int, v uint16) mutation {
	return func(tb testing.TB, d []byte) []byte { binary.BigEndian.PutUint16(d[off:], v); return d }
}

func put8(off int, v byte) mutation {
	return func(tb testing.TB, d []byte) []byte { d[off] = v; return d }
}

// firstFragment turns d into the first fragment of itself, carrying the
// bytes of the message up to end (relative to the datagram).
func firstFragment(d []byte, end int) []byte {
	d = d[:end]
	binary.BigEndian.PutUint16(d[11:], uint16(end-RecordHeaderSize))
	putUint24(d[22:], uint32(end-RecordHeaderSize-HandshakeHeaderSize))
	return d
}

// wholeMessage truncates d at end and makes that the whole message.
func wholeMessage(d []byte, end int) []byte { return refit(d[:end]) }

var cookie20 = pattern(20, 0xC0)

// dropTests each make one rule break on an otherwise valid ClientHello.
var dropTests = []struct {
	name   string
	mutate mutation
	want   error
}{
	{"empty", func(tb testing.TB, d []byte) []byte { return nil }, ErrShort},
	{"12 bytes", func(tb testing.TB, d []byte) []byte { return d[:12] }, ErrShort},
	{"content type 23", put8(0, 23), ErrNotHandshake},
	{"content type 20", put8(0, 20), ErrNotHandshake},
	{"major 0xFD", put8(1, 0xFD), ErrRecordVersion},
	{"TLS 1.2 record version", put16(1, 0x0303), ErrRecordVersion},
	{"epoch 1", put16(3, 1), ErrEpoch},
	{"epoch 0x0100", put16(3, 0x0100), ErrEpoch},
	{"record length one past the datagram", func(tb testing.TB, d []byte) []byte {
		binary.BigEndian.PutUint16(d[11:], uint16(len(d)-RecordHeaderSize+1))
		return d
	}, ErrLength},
	{"datagram cut by one byte", func(tb testing.TB, d []byte) []byte { return d[:len(d)-1] }, ErrLength},
	{"bytes in the record after the fragment", func(tb testing.TB, d []byte) []byte {
		d = append(d, 1, 2, 3, 4, 5) // as OpenSSL, and so Qt, this is a length mismatch
		binary.BigEndian.PutUint16(d[11:], uint16(len(d)-RecordHeaderSize))
		return d
	}, ErrLength},
	{"header only, record length 0", func(tb testing.TB, d []byte) []byte {
		d = d[:RecordHeaderSize]
		binary.BigEndian.PutUint16(d[11:], 0)
		return d
	}, ErrLength},
	{"payload shorter than a handshake header", func(tb testing.TB, d []byte) []byte {
		d = d[:RecordHeaderSize+11]
		binary.BigEndian.PutUint16(d[11:], 11)
		return d
	}, ErrLength},
	{"ServerHello", put8(13, 2), ErrNotClientHello},
	{"HelloVerifyRequest", put8(13, TypeHelloVerifyRequest), ErrNotClientHello},
	{"message_seq 2", put16(17, 2), ErrMessageSeq},
	{"message_seq 0xFFFF", put16(17, 0xFFFF), ErrMessageSeq},
	{"fragment offset 1", put8(21, 1), ErrFragment},
	{"fragment offset 0x010000", put8(19, 1), ErrFragment},
	{"fragment longer than message", func(tb testing.TB, d []byte) []byte {
		d = append(d, 0)
		binary.BigEndian.PutUint16(d[11:], uint16(len(d)-RecordHeaderSize))
		putUint24(d[22:], uint24(d[14:])+1)
		return d
	}, ErrFragment},
	{"fragment longer than record", func(tb testing.TB, d []byte) []byte {
		putUint24(d[14:], uint24(d[14:])+1)
		putUint24(d[22:], uint24(d[22:])+1)
		return d
	}, ErrLength},
	{"empty first fragment", func(tb testing.TB, d []byte) []byte { return firstFragment(d, 25) }, ErrFragment},
	{"first fragment holding only client_version", func(tb testing.TB, d []byte) []byte { return firstFragment(d, 27) }, ErrFragment},
	{"first fragment ending in random", func(tb testing.TB, d []byte) []byte { return firstFragment(d, 40) }, ErrFragment},
	{"first fragment ending before cookie length", func(tb testing.TB, d []byte) []byte {
		d = withCookie(tb, d, cookie20)
		return firstFragment(d, offsetsOf(tb, d).cookie)
	}, ErrFragment},
	{"first fragment ending inside cookie", func(tb testing.TB, d []byte) []byte {
		d = withCookie(tb, d, cookie20)
		return firstFragment(d, offsetsOf(tb, d).cookie+1+10)
	}, ErrFragment},
	{"first fragment one byte short of cookie end", func(tb testing.TB, d []byte) []byte {
		d = withCookie(tb, d, cookie20)
		return firstFragment(d, offsetsOf(tb, d).suites-1)
	}, ErrFragment},
	{"whole message ending inside cookie", func(tb testing.TB, d []byte) []byte {
		d = withCookie(tb, d, cookie20)
		return wholeMessage(d, offsetsOf(tb, d).cookie+1+10)
	}, ErrLength},
	{"whole message of 1 byte", func(tb testing.TB, d []byte) []byte { return wholeMessage(d, 26) }, ErrLength},
	{"session id overruns message", func(tb testing.TB, d []byte) []byte {
		d[offsetsOf(tb, d).sessionID] = 255
		return d
	}, ErrLength},
	{"cookie overruns message", func(tb testing.TB, d []byte) []byte {
		d[offsetsOf(tb, d).cookie] = 255
		return d
	}, ErrLength},
}

func TestParseClientHelloDrops(t *testing.T) {
	for _, f := range loadCorpus(t) {
		for _, tt := range dropTests {
			t.Run(f.Name+"/"+tt.name, func(t *testing.T) {
				d := tt.mutate(t, bytes.Clone(f.Data))
				ch, err := ParseClientHello(d)
				if err != tt.want {
					t.Fatalf("error = %v, want %v", err, tt.want)
				}
				if !reflect.DeepEqual(ch, ClientHello{}) {
					t.Errorf("dropped hello not zero: %+v", ch)
				}
				checkHead(t, d, ch, err)
			})
		}
	}
}

// check judges got, the parse of a mutated datagram, against base, the
// parse of the datagram it came from.
type check func(t *testing.T, base, got ClientHello)

// complete wants Complete to be want, the tail fields to match it, and the
// fields before the cookie to be unchanged.
func complete(want bool) check {
	return func(t *testing.T, base, got ClientHello) {
		t.Helper()
		if got.Complete != want {
			t.Errorf("Complete = %v, want %v", got.Complete, want)
		}
		if !want && (got.CipherSuites != nil || got.CompressionMethods != nil || got.Extensions != nil) {
			t.Errorf("incomplete hello has tail fields set")
		}
		if !bytes.Equal(got.Random, base.Random) || !bytes.Equal(got.SessionID, base.SessionID) {
			t.Errorf("random or session id changed")
		}
	}
}

// same wants got to be exactly base.
func same(t *testing.T, base, got ClientHello) {
	if !reflect.DeepEqual(got, base) {
		t.Errorf("got %+v\nwant %+v", got, base)
	}
}

// cookieKept is for mutations made on withCookie(cookie20).
func cookieKept(c check) check {
	return func(t *testing.T, base, got ClientHello) {
		c(t, base, got)
		if !bytes.Equal(got.Cookie, cookie20) {
			t.Errorf("cookie = %x, want %x", got.Cookie, cookie20)
		}
	}
}

// clientVersion wants a complete hello reporting version v.
func clientVersion(v uint16) check {
	return both(complete(true), func(t *testing.T, _, got ClientHello) {
		if got.Version != v {
			t.Errorf("Version = %#04x, want %#04x", got.Version, v)
		}
	})
}

// both runs every check.
func both(cs ...check) check {
	return func(t *testing.T, base, got ClientHello) {
		for _, c := range cs {
			c(t, base, got)
		}
	}
}

// acceptTests each make a change that must not get the datagram dropped.
var acceptTests = []struct {
	name   string
	mutate mutation
	check  check
}{
	{"message_seq 1", put16(17, 1), both(complete(true), func(t *testing.T, _, got ClientHello) {
		if got.Handshake.MessageSeq != 1 {
			t.Errorf("MessageSeq = %d", got.Handshake.MessageSeq)
		}
	})},
	{"record version 0xFE00", put16(1, 0xFE00), both(complete(true), func(t *testing.T, _, got ClientHello) {
		if got.Record.Version != 0xFE00 {
			t.Errorf("record version = %#04x", got.Record.Version)
		}
	})},
	{"record version DTLS 1.2", put16(1, VersionDTLS12), complete(true)},
	// client_version is the handshake's business, as in OpenSSL and Qt.
	{"client_version 0xFEFC", put16(25, 0xFEFC), clientVersion(0xFEFC)},
	{"client_version 0xFEFE", put16(25, 0xFEFE), clientVersion(0xFEFE)},
	{"client_version 0x0303", put16(25, 0x0303), clientVersion(0x0303)},
	{"client_version 0xFFFF", put16(25, 0xFFFF), clientVersion(0xFFFF)},
	{"sequence number 0xFFFFFFFFFFFF", func(tb testing.TB, d []byte) []byte {
		putUint48(d[5:], 1<<48-1)
		return d
	}, func(t *testing.T, _, got ClientHello) {
		if got.Record.SequenceNumber != 1<<48-1 {
			t.Errorf("sequence number = %#x", got.Record.SequenceNumber)
		}
	}},
	{"second record ignored", func(tb testing.TB, d []byte) []byte { return append(d, d...) }, same},
	{"trailing junk ignored", func(tb testing.TB, d []byte) []byte { return append(d, 0xFF, 0x00, 0x17) }, same},
	{"cookie of 255 bytes", func(tb testing.TB, d []byte) []byte { return withCookie(tb, d, pattern(255, 1)) },
		both(complete(true), func(t *testing.T, _, got ClientHello) {
			if !bytes.Equal(got.Cookie, pattern(255, 1)) {
				t.Errorf("cookie = %x", got.Cookie)
			}
		})},
	{"first fragment holding the cookie", func(tb testing.TB, d []byte) []byte {
		d = withCookie(tb, d, cookie20)
		return firstFragment(d, offsetsOf(tb, d).suites+3)
	}, cookieKept(complete(false))},
	{"first fragment ending where the extensions start", func(tb testing.TB, d []byte) []byte {
		// The bytes held would pass for a whole hello without extensions,
		// but the message goes on, so they are not the whole tail.
		d = withCookie(tb, d, cookie20)
		return firstFragment(d, offsetsOf(tb, d).exts)
	}, cookieKept(complete(false))},
	{"first fragment ending at the cookie", func(tb testing.TB, d []byte) []byte {
		d = withCookie(tb, d, cookie20)
		return firstFragment(d, offsetsOf(tb, d).suites)
	}, cookieKept(complete(false))},
	{"whole message ending at the cookie", func(tb testing.TB, d []byte) []byte {
		d = withCookie(tb, d, cookie20)
		return wholeMessage(d, offsetsOf(tb, d).suites)
	}, cookieKept(complete(false))},
	{"cipher suites overrun", func(tb testing.TB, d []byte) []byte {
		d = withCookie(tb, d, cookie20)
		binary.BigEndian.PutUint16(d[offsetsOf(tb, d).suites:], 0xFFFE)
		return d
	}, cookieKept(complete(false))},
	{"odd cipher suites length", func(tb testing.TB, d []byte) []byte {
		// Shorten the list by one byte and turn its last byte into the
		// compression methods count, one larger so that it swallows
		// the old count: only the odd length is wrong.
		d = withCookie(tb, d, cookie20)
		o := offsetsOf(tb, d)
		binary.BigEndian.PutUint16(d[o.suites:], binary.BigEndian.Uint16(d[o.suites:])-1)
		d[o.methods-1] = d[o.methods] + 1
		return d
	}, cookieKept(complete(false))},
	{"compression methods overrun", func(tb testing.TB, d []byte) []byte {
		d = withCookie(tb, d, cookie20)
		d[offsetsOf(tb, d).methods] = 0xFF
		return d
	}, cookieKept(complete(false))},
	{"extensions length too long", func(tb testing.TB, d []byte) []byte {
		d = withCookie(tb, d, cookie20)
		o := offsetsOf(tb, d)
		binary.BigEndian.PutUint16(d[o.exts:], binary.BigEndian.Uint16(d[o.exts:])+1)
		return d
	}, cookieKept(complete(false))},
	{"extensions length too short", func(tb testing.TB, d []byte) []byte {
		d = withCookie(tb, d, cookie20)
		o := offsetsOf(tb, d)
		binary.BigEndian.PutUint16(d[o.exts:], binary.BigEndian.Uint16(d[o.exts:])-1)
		return d
	}, cookieKept(complete(false))},
	{"extension entry overruns the block", func(tb testing.TB, d []byte) []byte {
		d = withCookie(tb, d, cookie20)
		first := offsetsOf(tb, d).exts + 2
		binary.BigEndian.PutUint16(d[first+2:], binary.BigEndian.Uint16(d[first+2:])+1)
		return d
	}, cookieKept(complete(false))},
	{"byte after the extensions", func(tb testing.TB, d []byte) []byte {
		return refit(append(withCookie(tb, d, cookie20), 0))
	}, cookieKept(complete(false))},
	{"one-byte extensions block", func(tb testing.TB, d []byte) []byte {
		d = withCookie(tb, d, cookie20)
		return wholeMessage(d, offsetsOf(tb, d).exts+1)
	}, cookieKept(complete(false))},
	{"no extensions", func(tb testing.TB, d []byte) []byte {
		return wholeMessage(d, offsetsOf(tb, d).exts)
	}, both(complete(true), func(t *testing.T, base, got ClientHello) {
		if got.Extensions != nil || !bytes.Equal(got.CipherSuites, base.CipherSuites) {
			t.Errorf("Extensions = %x (want nil), suites changed: %v", got.Extensions, !bytes.Equal(got.CipherSuites, base.CipherSuites))
		}
	})},
	{"empty extensions block", func(tb testing.TB, d []byte) []byte {
		d = d[:offsetsOf(tb, d).exts]
		return refit(append(d, 0, 0))
	}, both(complete(true), func(t *testing.T, _, got ClientHello) {
		if got.Extensions == nil || len(got.Extensions) != 0 {
			t.Errorf("Extensions = %#v, want empty and non-nil", got.Extensions)
		}
	})},
}

func TestParseClientHelloAccepts(t *testing.T) {
	for _, f := range loadCorpus(t) {
		base, err := ParseClientHello(f.Data)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range acceptTests {
			t.Run(f.Name+"/"+tt.name, func(t *testing.T) {
				d := tt.mutate(t, bytes.Clone(f.Data))
				got, err := ParseClientHello(d)
				if err != nil {
					t.Fatalf("error = %v, want none", err)
				}
				tt.check(t, base, got)
				checkHead(t, d, got, nil)
				// Whatever was accepted, pion must agree on every field it
				// could decode.
				if p, err := parseWithPion(d); err == nil {
					compareWithPion(t, got, p)
				}
			})
		}
	}
}

func TestFindExtension(t *testing.T) {
	exts := []byte{
		0x00, 0x0A, 0x00, 0x02, 0xAA, 0xBB, // type 10, body aabb
		0x00, 0x17, 0x00, 0x00, // type 23, empty body
		0x00, 0x0A, 0x00, 0x01, 0xCC, // type 10 again
	}
	tests := []struct {
		name string
		exts []byte
		typ  uint16
		body []byte
		ok   bool
	}{
		{"first of a repeated type", exts, 10, []byte{0xAA, 0xBB}, true},
		{"empty body", exts, 23, []byte{}, true},
		{"absent", exts, 11, nil, false},
		{"nil block", nil, 0, nil, false},
		{"truncated header", append(bytes.Clone(exts), 0x00, 0x0B, 0x00), 10, nil, false},
		{"last entry overruns", append(bytes.Clone(exts), 0x00, 0x0B, 0x00, 0x02, 0x01), 10, nil, false},
		{"overrun before the match", []byte{0x00, 0x01, 0x00, 0x09, 0x00, 0x0A, 0x00, 0x00}, 10, nil, false},
	}
	for _, tt := range tests {
		body, ok := FindExtension(tt.exts, tt.typ)
		if ok != tt.ok || !bytes.Equal(body, tt.body) || (ok && body == nil) {
			t.Errorf("%s: FindExtension = %x, %v; want %x, %v", tt.name, body, ok, tt.body, tt.ok)
		}
		if ok && cap(body) != len(body) {
			t.Errorf("%s: body capacity %d exceeds its length %d", tt.name, cap(body), len(body))
		}
	}
}

func TestCipherSuite(t *testing.T) {
	suites := []byte{0xC0, 0x2B, 0x00, 0xA8, 0x13, 0x01}
	for i, want := range []uint16{0xC02B, 0x00A8, 0x1301} {
		if got := CipherSuite(suites, i); got != want {
			t.Errorf("CipherSuite(%d) = %#04x, want %#04x", i, got, want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Errorf("CipherSuite out of range did not panic")
		}
	}()
	CipherSuite(suites[:5], 2)
}

// TestFieldsDoNotGrowIntoTheDatagram checks that appending to a parsed field
// copies it instead of overwriting the bytes after it.
func TestFieldsDoNotGrowIntoTheDatagram(t *testing.T) {
	d := withCookie(t, loadCorpus(t)[0].Data, cookie20)
	orig := bytes.Clone(d)
	ch, err := ParseClientHello(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range [][]byte{ch.Random, ch.SessionID, ch.Cookie, ch.CipherSuites, ch.CompressionMethods, ch.Extensions} {
		_ = append(s, 0xEE)
	}
	if !bytes.Equal(d, orig) {
		t.Errorf("append to a field wrote into the datagram")
	}
}

func TestParseClientHelloDoesNotAllocate(t *testing.T) {
	var inputs [][]byte
	for _, f := range loadCorpus(t) {
		inputs = append(inputs, f.Data, withCookie(t, f.Data, pattern(32, 9)), f.Data[:12], f.Data[:60])
	}
	var sink ClientHello
	var sinkErr error
	allocs := testing.AllocsPerRun(100, func() {
		for _, d := range inputs {
			sink, sinkErr = ParseClientHello(d)
			FindExtension(sink.Extensions, 23)
		}
	})
	if allocs != 0 {
		t.Errorf("ParseClientHello allocates: %v per run", allocs)
	}
	_ = sinkErr
}

func TestErrorsAreDistinct(t *testing.T) {
	all := []error{ErrShort, ErrNotHandshake, ErrRecordVersion, ErrEpoch, ErrLength, ErrNotClientHello,
		ErrMessageSeq, ErrFragment, ErrBufferTooSmall, ErrCookieTooLong, ErrSequenceNumber}
	seen := map[string]bool{}
	for _, e := range all {
		if seen[e.Error()] {
			t.Errorf("duplicate error text %q", e)
		}
		seen[e.Error()] = true
		for _, o := range all {
			if o != e && errors.Is(e, o) {
				t.Errorf("%v matches %v", e, o)
			}
		}
	}
}
