// SPDX-License-Identifier: MIT

package verifier

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/dtlsgate/dtlsgate/core/wire"
	"github.com/dtlsgate/dtlsgate/internal/dtlstest"
)

// FuzzCheck feeds arbitrary datagrams to the whole verification path: it
// must never panic, never answer with more bytes than it was sent, and
// whatever it answers must be a well-formed HelloVerifyRequest echoing the
// datagram's epoch and sequence number. Forged cookies must never verify.
func FuzzCheck(f *testing.F) {
	v := New()
	for _, d := range dtlstest.Corpus(f) {
		f.Add(d.Data)
		f.Add(secondFlight(f, v, d.Data))
		f.Add(dtlstest.WithCookie(f, d.Data, bytes.Repeat([]byte{0xA5}, 32)))
	}
	reply := make([]byte, MaxReplySize)
	f.Fuzz(func(t *testing.T, dgram []byte) {
		res, n, err := v.Check(dgram, clientAP, reply)
		switch {
		case len(dgram) == 0:
			if err != ErrEmptyDatagram {
				t.Fatalf("empty datagram: %v", err)
			}
			return
		case err != nil:
			t.Fatalf("Check: %v", err)
		}
		hello, parseErr := wire.ParseClientHello(dgram)
		switch res {
		case Drop:
			if parseErr == nil {
				t.Fatalf("a parsable ClientHello was dropped")
			}
		case Verified:
			// Only a cookie this verifier minted can get here; the fuzzer
			// starts from such datagrams, so check that it is one.
			if parseErr != nil || len(hello.Cookie) == 0 || n != 0 {
				t.Fatalf("verified without a cookie: %v, %d", parseErr, n)
			}
		case SendReply:
			if parseErr != nil || n > len(dgram) || n < wire.HelloVerifyRequestOverhead {
				t.Fatalf("reply of %d bytes to a %d-byte datagram (%v)", n, len(dgram), parseErr)
			}
			rec, err := wire.ParseRecordHeader(reply[:n])
			if err != nil || rec.ContentType != wire.ContentTypeHandshake || rec.Version != wire.VersionDTLS10 ||
				rec.Epoch != hello.Record.Epoch || rec.SequenceNumber != hello.Record.SequenceNumber ||
				int(rec.Length) != n-wire.RecordHeaderSize {
				t.Fatalf("reply record header %+v (%v) for %+v", rec, err, hello.Record)
			}
			if reply[13] != wire.TypeHelloVerifyRequest || binary.BigEndian.Uint16(reply[17:]) != 0 ||
				int(reply[27]) != n-wire.HelloVerifyRequestOverhead {
				t.Fatalf("reply handshake % x", reply[13:n])
			}
		}
	})
}
