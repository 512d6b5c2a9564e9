// SPDX-License-Identifier: MIT

package wire

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"

	"github.com/pion/dtls/v2/pkg/protocol"
	"github.com/pion/dtls/v2/pkg/protocol/handshake"
)

// FuzzParseClientHello checks, for any input, that ParseClientHello does not
// panic, that what it accepts obeys the drop rules and lies inside the
// input, and that it accepts whatever pion decodes and the rules allow.
func FuzzParseClientHello(f *testing.F) {
	for _, c := range loadCorpus(f) {
		f.Add(c.Data)
		f.Add(withCookie(f, c.Data, pattern(32, 1)))
		for _, tt := range dropTests {
			f.Add(tt.mutate(f, bytes.Clone(c.Data)))
		}
		for _, tt := range acceptTests {
			f.Add(tt.mutate(f, bytes.Clone(c.Data)))
		}
	}
	f.Fuzz(func(t *testing.T, d []byte) {
		ch, err := ParseClientHello(d)
		if err != nil {
			if !reflect.DeepEqual(ch, ClientHello{}) {
				t.Fatalf("error %v with non-zero hello %+v", err, ch)
			}
		} else {
			checkAccepted(t, d, ch)
		}
		checkHead(t, d, ch, err)

		p, perr := parseWithPion(d)
		if perr != nil || !rulesAllow(p) {
			return
		}
		if err != nil {
			t.Fatalf("pion decodes a ClientHello the rules allow, but we drop it: %v", err)
		}
		compareWithPion(t, ch, p)
	})
}

// rulesAllow applies the drop rules to pion's view of a datagram that pion
// decoded. pion has already checked that the record fits in the datagram,
// the fragment in the record and the cookie in the fragment.
func rulesAllow(p pionHello) bool {
	return p.rec.ContentType == protocol.ContentTypeHandshake &&
		p.rec.Version.Major == 0xFE &&
		p.rec.Epoch == 0 &&
		p.hs.Type == handshake.TypeClientHello &&
		p.hs.MessageSequence <= 1 &&
		p.hs.FragmentOffset == 0 &&
		p.hs.FragmentLength == p.hs.Length &&
		int(p.hs.FragmentLength) == p.recLen-handshake.HeaderLength
}

// checkAccepted re-derives from the raw bytes what an accepted ClientHello
// must look like.
func checkAccepted(t *testing.T, d []byte, ch ClientHello) {
	t.Helper()
	rec, _ := ParseRecordHeader(d)
	if len(d) < RecordHeaderSize+HandshakeHeaderSize || ch.Record != rec {
		t.Fatalf("record header %+v, bytes say %+v", ch.Record, rec)
	}
	hs, _ := ParseHandshakeHeader(d[RecordHeaderSize:])
	if ch.Handshake != hs {
		t.Fatalf("handshake header %+v, bytes say %+v", ch.Handshake, hs)
	}
	recLen, fragLen := int(rec.Length), int(hs.FragmentLength)
	switch {
	case rec.ContentType != 22, rec.Version>>8 != 0xFE, rec.Epoch != 0:
		t.Fatalf("accepted record header %+v", rec)
	case recLen > len(d)-RecordHeaderSize, fragLen != recLen-HandshakeHeaderSize:
		t.Fatalf("accepted lengths record %d, fragment %d, datagram %d", recLen, fragLen, len(d))
	case hs.Type != 1, hs.MessageSeq > 1, hs.FragmentOffset != 0, hs.FragmentLength > hs.Length:
		t.Fatalf("accepted handshake header %+v", hs)
	case ch.Version != binary.BigEndian.Uint16(d[25:]):
		t.Fatalf("client version %#04x, bytes say %#04x", ch.Version, binary.BigEndian.Uint16(d[25:]))
	}

	// Every field must lie inside the fragment, not just the datagram, and
	// end where its length prefix says.
	frag := d[RecordHeaderSize+HandshakeHeaderSize:][:fragLen]
	fields := [][]byte{ch.Random, ch.SessionID, ch.Cookie, ch.CipherSuites, ch.CompressionMethods, ch.Extensions}
	for i, s := range fields {
		if !within(frag, s) || cap(s) != len(s) {
			t.Fatalf("field %d (len %d cap %d) is not inside the fragment", i, len(s), cap(s))
		}
	}
	if len(ch.Random) != 32 || !bytes.Equal(ch.Random, frag[2:34]) {
		t.Fatalf("random %x", ch.Random)
	}
	if !bytes.Equal(ch.SessionID, frag[35:][:frag[34]]) {
		t.Fatalf("session id %x", ch.SessionID)
	}
	cookieAt := 35 + len(ch.SessionID)
	if !bytes.Equal(ch.Cookie, frag[cookieAt+1:][:frag[cookieAt]]) {
		t.Fatalf("cookie %x", ch.Cookie)
	}

	if !ch.Complete {
		if ch.CipherSuites != nil || ch.CompressionMethods != nil || ch.Extensions != nil {
			t.Fatalf("incomplete hello with tail fields")
		}
		return
	}
	if hs.FragmentLength != hs.Length || len(ch.CipherSuites)%2 != 0 {
		t.Fatalf("complete hello: fragment %d of %d, %d bytes of suites", hs.FragmentLength, hs.Length, len(ch.CipherSuites))
	}
	size := 2 + 32 + 1 + len(ch.SessionID) + 1 + len(ch.Cookie) + 2 + len(ch.CipherSuites) + 1 + len(ch.CompressionMethods)
	if ch.Extensions != nil {
		size += 2 + len(ch.Extensions)
		extensionTypes(t, ch.Extensions) // fails the test if the block does not parse
	}
	if size != fragLen {
		t.Fatalf("complete hello fields add up to %d bytes, message has %d", size, fragLen)
	}
}

// FuzzPutHelloVerifyRequest builds requests from arbitrary inputs and reads
// them back with this package and with pion.
func FuzzPutHelloVerifyRequest(f *testing.F) {
	f.Add(uint16(0), uint64(0), []byte{}, uint8(0))
	f.Add(uint16(1), uint64(1), pattern(32, 7), uint8(3))
	f.Add(uint16(0xFFFF), uint64(1<<48-1), pattern(255, 1), uint8(0))
	f.Add(uint16(2), uint64(1<<48), pattern(20, 2), uint8(0))
	f.Add(uint16(3), uint64(5), pattern(256, 3), uint8(0))
	f.Fuzz(func(t *testing.T, epoch uint16, seq uint64, cookie []byte, slack uint8) {
		// slack 0 also tries a buffer one byte short.
		size := HelloVerifyRequestOverhead + len(cookie) + int(slack) - 1
		if size < 0 {
			size = 0
		}
		dst := make([]byte, size)
		n, err := PutHelloVerifyRequest(dst, epoch, seq, cookie)
		switch {
		case len(cookie) > MaxCookieSize:
			if err != ErrCookieTooLong {
				t.Fatalf("cookie of %d bytes: error %v", len(cookie), err)
			}
			return
		case seq > 1<<48-1:
			if err != ErrSequenceNumber {
				t.Fatalf("sequence number %#x: error %v", seq, err)
			}
			return
		case slack == 0:
			if err != ErrBufferTooSmall {
				t.Fatalf("short buffer: error %v", err)
			}
			return
		case err != nil || n != HelloVerifyRequestSize(len(cookie)):
			t.Fatalf("PutHelloVerifyRequest = %d, %v", n, err)
		}
		b := dst[:n]

		rec, err := ParseRecordHeader(b)
		want := RecordHeader{ContentTypeHandshake, VersionDTLS10, epoch, seq, uint16(n - RecordHeaderSize)}
		if err != nil || rec != want {
			t.Fatalf("record header %+v, %v; want %+v", rec, err, want)
		}
		hs, err := ParseHandshakeHeader(b[RecordHeaderSize:])
		body := uint32(3 + len(cookie))
		if err != nil || hs != (HandshakeHeader{TypeHelloVerifyRequest, body, 0, 0, body}) {
			t.Fatalf("handshake header %+v, %v", hs, err)
		}
		wantErr := ErrNotClientHello
		if epoch != 0 {
			wantErr = ErrEpoch
		}
		if _, err := ParseClientHello(b); err != wantErr {
			t.Fatalf("ParseClientHello of a HelloVerifyRequest: %v, want %v", err, wantErr)
		}
		checkWithPion(t, b, epoch, seq, cookie)
	})
}

// checkHead fails unless ParseClientHelloHead decides as ParseClientHello
// did (full and err) and gives the same fields up to the cookie, with the
// tail left unset.
func checkHead(t *testing.T, d []byte, full ClientHello, err error) {
	t.Helper()
	var head ClientHello
	herr := ParseClientHelloHead(d, &head)
	if herr != err {
		t.Fatalf("ParseClientHelloHead: error %v, ParseClientHello: %v", herr, err)
	}
	want := full
	want.Complete, want.CipherSuites, want.CompressionMethods, want.Extensions = false, nil, nil, nil
	if !reflect.DeepEqual(head, want) {
		t.Fatalf("ParseClientHelloHead gave %+v, want %+v", head, want)
	}
}
