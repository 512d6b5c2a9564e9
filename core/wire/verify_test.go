// SPDX-License-Identifier: MIT

package wire

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/pion/dtls/v2/pkg/protocol"
	"github.com/pion/dtls/v2/pkg/protocol/handshake"
	"github.com/pion/dtls/v2/pkg/protocol/recordlayer"
)

func TestPutHelloVerifyRequestBytes(t *testing.T) {
	want := []byte{
		22, 0xFE, 0xFF, // handshake record, DTLS 1.0
		0x01, 0x02, // epoch
		0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // sequence number
		0x00, 0x12, // record length 18
		3,                // HelloVerifyRequest
		0x00, 0x00, 0x06, // message length
		0x00, 0x00, // message_seq
		0x00, 0x00, 0x00, // fragment offset
		0x00, 0x00, 0x06, // fragment length
		0xFE, 0xFF, // server_version
		3, 0xAA, 0xBB, 0xCC, // cookie
	}
	dst := bytes.Repeat([]byte{0x55}, len(want)+4)
	n, err := PutHelloVerifyRequest(dst, 0x0102, 0x030405060708, []byte{0xAA, 0xBB, 0xCC})
	if err != nil || n != len(want) {
		t.Fatalf("PutHelloVerifyRequest = %d, %v; want %d, nil", n, err, len(want))
	}
	if !bytes.Equal(dst[:n], want) {
		t.Errorf("wrote\n%x\nwant\n%x", dst[:n], want)
	}
	if !bytes.Equal(dst[n:], []byte{0x55, 0x55, 0x55, 0x55}) {
		t.Errorf("wrote past the request: %x", dst[n:])
	}
}

// checkWithPion decodes a HelloVerifyRequest datagram with pion and compares.
func checkWithPion(t *testing.T, b []byte, epoch uint16, seq uint64, cookie []byte) {
	t.Helper()
	recs, err := recordlayer.UnpackDatagram(b)
	if err != nil || len(recs) != 1 || len(recs[0]) != len(b) {
		t.Fatalf("pion framing: %d records, %v", len(recs), err)
	}
	var rl recordlayer.RecordLayer
	if err := rl.Unmarshal(b); err != nil { // also checks the handshake lengths agree
		t.Fatalf("pion: %v", err)
	}
	h := rl.Header
	if h.ContentType != protocol.ContentTypeHandshake || !h.Version.Equal(protocol.Version1_0) ||
		h.Epoch != epoch || h.SequenceNumber != seq {
		t.Errorf("pion record header %+v, want epoch %d seq %d", h, epoch, seq)
	}
	hs, ok := rl.Content.(*handshake.Handshake)
	if !ok {
		t.Fatalf("pion content %T", rl.Content)
	}
	want := handshake.Header{
		Type:           handshake.TypeHelloVerifyRequest,
		Length:         uint32(3 + len(cookie)),
		FragmentLength: uint32(3 + len(cookie)),
	}
	if hs.Header != want {
		t.Errorf("pion handshake header %+v, want %+v", hs.Header, want)
	}
	m, ok := hs.Message.(*handshake.MessageHelloVerifyRequest)
	if !ok {
		t.Fatalf("pion message %T", hs.Message)
	}
	if !m.Version.Equal(protocol.Version1_0) || !bytes.Equal(m.Cookie, cookie) {
		t.Errorf("pion message version %v cookie %x, want 1.0 and %x", m.Version, m.Cookie, cookie)
	}
}

func TestHelloVerifyRequestAgreesWithPion(t *testing.T) {
	for _, size := range []int{0, 1, 20, 32, 255} {
		for _, epoch := range []uint16{0, 1, 0xFFFF} {
			for _, seq := range []uint64{0, 1, 0x123456789ABC, 1<<48 - 1} {
				t.Run(fmt.Sprintf("cookie%d/epoch%d/seq%x", size, epoch, seq), func(t *testing.T) {
					cookie := pattern(size, byte(size))
					dst := make([]byte, 600)
					n, err := PutHelloVerifyRequest(dst, epoch, seq, cookie)
					if err != nil {
						t.Fatal(err)
					}
					if n != 28+size || n != HelloVerifyRequestSize(size) {
						t.Fatalf("length %d, want %d", n, 28+size)
					}
					checkWithPion(t, dst[:n], epoch, seq, cookie)

					rec, err := ParseRecordHeader(dst[:n])
					if err != nil || rec != (RecordHeader{ContentTypeHandshake, VersionDTLS10, epoch, seq, uint16(n - RecordHeaderSize)}) {
						t.Errorf("record header %+v, %v", rec, err)
					}
				})
			}
		}
	}
}

func TestPutHelloVerifyRequestErrors(t *testing.T) {
	tests := []struct {
		name   string
		dstLen int
		seq    uint64
		cookie int
		want   error
	}{
		{"cookie of 256 bytes", 1000, 0, 256, ErrCookieTooLong},
		{"sequence number of 49 bits", 1000, 1 << 48, 32, ErrSequenceNumber},
		{"buffer one byte short", 28 + 31, 0, 32, ErrBufferTooSmall},
		{"nil buffer", 0, 0, 0, ErrBufferTooSmall},
		{"exact buffer", 28 + 32, 0, 32, nil},
	}
	for _, tt := range tests {
		dst := bytes.Repeat([]byte{0x55}, tt.dstLen)
		n, err := PutHelloVerifyRequest(dst, 0, tt.seq, make([]byte, tt.cookie))
		if err != tt.want {
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.want)
		}
		if err != nil && (n != 0 || !bytes.Equal(dst, bytes.Repeat([]byte{0x55}, tt.dstLen))) {
			t.Errorf("%s: failed call returned %d or wrote to dst", tt.name, n)
		}
	}
}

func TestPutHelloVerifyRequestCookieInDst(t *testing.T) {
	cookie := pattern(32, 0x80)
	for _, at := range []int{0, 5, HelloVerifyRequestOverhead, 40} {
		dst := make([]byte, 100)
		copy(dst[at:], cookie)
		n, err := PutHelloVerifyRequest(dst, 7, 9, dst[at:at+len(cookie)])
		if err != nil {
			t.Fatal(err)
		}
		checkWithPion(t, dst[:n], 7, 9, cookie)
	}
}

func TestPutHelloVerifyRequestDoesNotAllocate(t *testing.T) {
	dst := make([]byte, HelloVerifyRequestSize(MaxCookieSize))
	cookie := pattern(32, 3)
	big := make([]byte, 300)
	allocs := testing.AllocsPerRun(100, func() {
		PutHelloVerifyRequest(dst, 1, 42, cookie)
		PutHelloVerifyRequest(dst[:10], 1, 42, cookie) // error path too
		PutHelloVerifyRequest(dst, 1, 42, big)
	})
	if allocs != 0 {
		t.Errorf("PutHelloVerifyRequest allocates: %v per run", allocs)
	}
}

// RecordConnectionID reads the ID at byte 11 of a tls12_cid record, as long
// as the receiver says it is, and refuses anything shorter than a header.
func TestRecordConnectionID(t *testing.T) {
	rec := []byte{25, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 7, 0xA7, 1, 2, 3, 0, 0}
	if id, ok := RecordConnectionID(rec, 4); !ok || string(id) != "\xa7\x01\x02\x03" {
		t.Fatalf("%x, %v", id, ok)
	}
	for _, c := range []struct {
		d []byte
		n int
	}{{rec[:16], 4}, {rec, 0}, {append([]byte{23}, rec[1:]...), 4}, {nil, 4}} {
		if id, ok := RecordConnectionID(c.d, c.n); ok {
			t.Errorf("% x with length %d: %x", c.d, c.n, id)
		}
	}
}
