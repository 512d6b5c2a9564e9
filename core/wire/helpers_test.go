// SPDX-License-Identifier: MIT

package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"unsafe"

	"github.com/dtlsgate/dtlsgate/internal/dtlstest"
	"github.com/pion/dtls/v2/pkg/protocol/handshake"
	"github.com/pion/dtls/v2/pkg/protocol/recordlayer"
)

// loadCorpus returns the captured ClientHello datagrams, sorted by name.
func loadCorpus(tb testing.TB) []dtlstest.Datagram { return dtlstest.Corpus(tb) }

// Offsets into an unfragmented single-record ClientHello datagram, found by
// walking the bytes here rather than with the code under test.
type helloOffsets struct {
	sessionID, cookie, suites, methods, exts int // position of each length prefix
	end                                      int // end of the message
}

func offsetsOf(tb testing.TB, d []byte) helloOffsets {
	tb.Helper()
	var o helloOffsets
	o.sessionID = RecordHeaderSize + HandshakeHeaderSize + 2 + 32
	o.cookie = o.sessionID + 1 + int(d[o.sessionID])
	o.suites = o.cookie + 1 + int(d[o.cookie])
	o.methods = o.suites + 2 + int(binary.BigEndian.Uint16(d[o.suites:]))
	o.exts = o.methods + 1 + int(d[o.methods])
	o.end = RecordHeaderSize + HandshakeHeaderSize + int(uint24(d[14:]))
	if o.exts > o.end {
		tb.Fatalf("offsets: malformed base datagram")
	}
	return o
}

// refit rewrites the record length, message length and fragment length so
// that d is one record holding one unfragmented message.
func refit(d []byte) []byte {
	binary.BigEndian.PutUint16(d[11:], uint16(len(d)-RecordHeaderSize))
	n := uint32(len(d) - RecordHeaderSize - HandshakeHeaderSize)
	putUint24(d[14:], n)
	putUint24(d[22:], n)
	return d
}

// withSessionAndCookie rebuilds an unfragmented ClientHello datagram with the
// given session id and cookie, fixing every length that depends on them.
func withSessionAndCookie(tb testing.TB, d, sessionID, cookie []byte) []byte {
	tb.Helper()
	o := offsetsOf(tb, d)
	out := append([]byte(nil), d[:o.sessionID]...)
	out = append(out, byte(len(sessionID)))
	out = append(out, sessionID...)
	out = append(out, byte(len(cookie)))
	out = append(out, cookie...)
	out = append(out, d[o.suites:o.end]...)
	return refit(out)
}

func withCookie(tb testing.TB, d, cookie []byte) []byte {
	tb.Helper()
	o := offsetsOf(tb, d)
	return withSessionAndCookie(tb, d, d[o.sessionID+1:o.cookie], cookie)
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)*7
	}
	return b
}

// pionHello is what pion makes of a datagram.
type pionHello struct {
	rec    recordlayer.Header
	recLen int // payload length of the first record as framed by UnpackDatagram
	hs     handshake.Header
	msg    handshake.MessageClientHello
}

// parseWithPion runs pion's record framing, record header, handshake header
// and ClientHello decoders over d.
//
// Notes on pion v2.2.12, from its source:
//   - recordlayer.Header.Unmarshal does not fill ContentLen, so the record
//     length is taken from UnpackDatagram, pion's only code that reads it.
//     UnpackDatagram rejects the datagram if any later record is malformed,
//     so trailing junk makes pion refuse inputs we accept.
//   - recordlayer.Header.Unmarshal accepts only versions 0xFEFF and 0xFEFD,
//     where we accept any minor byte.
//   - handshake.Header.Unmarshal checks nothing but size, so the fragment is
//     cut out here; Handshake.Unmarshal (not used) would also insist that the
//     record holds exactly one unfragmented message.
//   - MessageClientHello.Unmarshal needs at least one byte after the cookie.
//
// A panic inside pion is reported as an error: this tests our code, not pion.
func parseWithPion(d []byte) (p pionHello, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pion panicked: %v", r)
		}
	}()
	recs, err := recordlayer.UnpackDatagram(d)
	if err != nil {
		return p, err
	}
	if len(recs) == 0 {
		return p, errors.New("no records")
	}
	rec := recs[0]
	if err := p.rec.Unmarshal(rec); err != nil {
		return p, err
	}
	p.recLen = len(rec) - recordlayer.HeaderSize
	payload := rec[recordlayer.HeaderSize:]
	if err := p.hs.Unmarshal(payload); err != nil {
		return p, err
	}
	body := payload[handshake.HeaderLength:]
	if int(p.hs.FragmentLength) > len(body) {
		return p, errors.New("fragment longer than record")
	}
	if err := p.msg.Unmarshal(body[:p.hs.FragmentLength]); err != nil {
		return p, err
	}
	return p, nil
}

// compareWithPion reports every field on which ch and p disagree. The fields
// after the cookie are compared only when ch.Complete.
func compareWithPion(t *testing.T, ch ClientHello, p pionHello) {
	t.Helper()
	check := func(field string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, pion says %v", field, got, want)
		}
	}
	checkBytes := func(field string, got, want []byte) {
		t.Helper()
		if !bytes.Equal(got, want) {
			t.Errorf("%s = %x, pion says %x", field, got, want)
		}
	}
	check("record content type", ch.Record.ContentType, uint8(p.rec.ContentType))
	check("record version", ch.Record.Version, uint16(p.rec.Version.Major)<<8|uint16(p.rec.Version.Minor))
	check("record epoch", ch.Record.Epoch, p.rec.Epoch)
	check("record sequence number", ch.Record.SequenceNumber, p.rec.SequenceNumber)
	check("record length", int(ch.Record.Length), p.recLen)
	check("handshake type", ch.Handshake.Type, uint8(p.hs.Type))
	check("handshake length", ch.Handshake.Length, p.hs.Length)
	check("message_seq", ch.Handshake.MessageSeq, p.hs.MessageSequence)
	check("fragment offset", ch.Handshake.FragmentOffset, p.hs.FragmentOffset)
	check("fragment length", ch.Handshake.FragmentLength, p.hs.FragmentLength)
	check("client version", ch.Version, uint16(p.msg.Version.Major)<<8|uint16(p.msg.Version.Minor))
	random := p.msg.Random.MarshalFixed()
	checkBytes("random", ch.Random, random[:])
	checkBytes("session id", ch.SessionID, p.msg.SessionID)
	checkBytes("cookie", ch.Cookie, p.msg.Cookie)
	if !ch.Complete {
		return
	}
	if len(ch.CipherSuites) != 2*len(p.msg.CipherSuiteIDs) {
		t.Errorf("%d cipher suites, pion says %d", len(ch.CipherSuites)/2, len(p.msg.CipherSuiteIDs))
	} else {
		for i, id := range p.msg.CipherSuiteIDs {
			check(fmt.Sprintf("cipher suite %d", i), CipherSuite(ch.CipherSuites, i), id)
		}
	}
	// pion keeps only the compression methods it implements (null), so
	// compare against ours with the others left out.
	var ours, theirs []byte
	for _, m := range ch.CompressionMethods {
		if m == 0 {
			ours = append(ours, m)
		}
	}
	for _, m := range p.msg.CompressionMethods {
		theirs = append(theirs, byte(m.ID))
	}
	checkBytes("compression methods (null only)", ours, theirs)
	// pion decodes only the extension types it knows; each must be there.
	for _, e := range p.msg.Extensions {
		if _, ok := FindExtension(ch.Extensions, uint16(e.TypeValue())); !ok {
			t.Errorf("extension %d decoded by pion not found", e.TypeValue())
		}
	}
}

// within reports whether s lies inside d, capacity included. An empty slice
// is always fine: it refers to no bytes.
func within(d, s []byte) bool {
	if len(s) == 0 {
		return true
	}
	if len(d) == 0 {
		return false
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(d)))
	start := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	return start >= base && start+uintptr(cap(s)) <= base+uintptr(len(d))
}
