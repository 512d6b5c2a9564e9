// SPDX-License-Identifier: MIT

// Package wire reads and writes the few DTLS wire structures that a
// stateless cookie exchange needs: the record header, the handshake header,
// the ClientHello up to its cookie (and, when it is all there, the rest of
// it), and the HelloVerifyRequest a server sends back.
//
// Nothing in this package allocates. Parsed values are returned by value and
// every byte slice they hold points into the caller's datagram, so the
// datagram must not be reused while those slices are in use. Errors are
// fixed sentinel values that callers compare with errors.Is (or ==).
//
// The package knows DTLS 1.0 (RFC 4347) and DTLS 1.2 (RFC 6347) framing. It
// does no cryptography and keeps no state.
package wire

import (
	"encoding/binary"
	"errors"
)

// Sizes and code points used on the wire.
const (
	RecordHeaderSize    = 13 // type, version, epoch, 48-bit sequence number, length
	HandshakeHeaderSize = 12 // type, 24-bit length, message_seq, 24-bit offset and fragment length

	ContentTypeHandshake uint8 = 22
	// ContentTypeConnectionID is tls12_cid (RFC 9146): a protected record
	// with a connection ID in its header.
	ContentTypeConnectionID uint8 = 25
	// ExtensionConnectionID is the connection_id extension (RFC 9146).
	ExtensionConnectionID  uint16 = 54
	TypeClientHello        uint8  = 1
	TypeHelloVerifyRequest uint8  = 3
	VersionDTLS10          uint16 = 0xFEFF
	VersionDTLS12          uint16 = 0xFEFD

	// MaxCookieSize is the largest cookie the one-byte length prefix can describe.
	MaxCookieSize = 255

	// HelloVerifyRequestOverhead is the size of a HelloVerifyRequest datagram
	// without its cookie: record header, handshake header, server_version and
	// the cookie length byte.
	HelloVerifyRequestOverhead = RecordHeaderSize + HandshakeHeaderSize + 2 + 1

	// maxSequenceNumber is the largest record sequence number: the field is
	// 48 bits wide.
	maxSequenceNumber = 1<<48 - 1
)

// Errors returned by the parsers and by PutHelloVerifyRequest. Any error from
// ParseClientHello means the datagram is not a first-flight ClientHello this
// package can handle, and a server doing a stateless cookie exchange should
// drop it without answering.
var (
	ErrShort          = errors.New("dtls: datagram shorter than a record header")
	ErrNotHandshake   = errors.New("dtls: record is not a handshake record")
	ErrRecordVersion  = errors.New("dtls: record version is not DTLS")
	ErrEpoch          = errors.New("dtls: ClientHello record has a non-zero epoch")
	ErrLength         = errors.New("dtls: inconsistent record or handshake lengths")
	ErrNotClientHello = errors.New("dtls: handshake message is not a ClientHello")
	ErrMessageSeq     = errors.New("dtls: ClientHello message_seq greater than 1")
	ErrFragment       = errors.New("dtls: ClientHello fragment is not the first one or does not hold the cookie")
	ErrBufferTooSmall = errors.New("dtls: buffer too small for a HelloVerifyRequest")
	ErrCookieTooLong  = errors.New("dtls: cookie longer than 255 bytes")
	ErrSequenceNumber = errors.New("dtls: record sequence number does not fit in 48 bits")
)

// RecordHeader is the fixed header in front of every DTLS record.
type RecordHeader struct {
	ContentType    uint8
	Version        uint16 // major byte first: 0xFEFF is DTLS 1.0
	Epoch          uint16
	SequenceNumber uint64 // 48 bits on the wire
	Length         uint16 // bytes of payload that follow the header
}

// HandshakeHeader is the fixed header in front of every DTLS handshake
// message fragment.
type HandshakeHeader struct {
	Type           uint8
	Length         uint32 // length of the whole message; 24 bits
	MessageSeq     uint16
	FragmentOffset uint32 // 24 bits
	FragmentLength uint32 // 24 bits
}

// ParseRecordHeader decodes the record header at the start of b. It checks
// only that b holds RecordHeaderSize bytes; judging the values is left to
// the caller.
func ParseRecordHeader(b []byte) (RecordHeader, error) {
	if len(b) < RecordHeaderSize {
		return RecordHeader{}, ErrShort
	}
	return RecordHeader{
		ContentType:    b[0],
		Version:        binary.BigEndian.Uint16(b[1:]),
		Epoch:          binary.BigEndian.Uint16(b[3:]),
		SequenceNumber: uint48(b[5:]),
		Length:         binary.BigEndian.Uint16(b[11:]),
	}, nil
}

// ParseHandshakeHeader decodes the handshake header at the start of b, which
// is normally a record's payload. It returns ErrLength when b is shorter than
// HandshakeHeaderSize and checks nothing else.
func ParseHandshakeHeader(b []byte) (HandshakeHeader, error) {
	if len(b) < HandshakeHeaderSize {
		return HandshakeHeader{}, ErrLength
	}
	return HandshakeHeader{
		Type:           b[0],
		Length:         uint24(b[1:]),
		MessageSeq:     binary.BigEndian.Uint16(b[4:]),
		FragmentOffset: uint24(b[6:]),
		FragmentLength: uint24(b[9:]),
	}, nil
}

// encoding/binary has no 24- or 48-bit helpers; these mirror its style.

func uint24(b []byte) uint32 {
	_ = b[2] // one bounds check instead of three
	return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
}

func putUint24(b []byte, v uint32) {
	_ = b[2]
	b[0] = byte(v >> 16)
	b[1] = byte(v >> 8)
	b[2] = byte(v)
}

func uint48(b []byte) uint64 {
	_ = b[5]
	return uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(b[2])<<24 |
		uint64(b[3])<<16 | uint64(b[4])<<8 | uint64(b[5])
}

func putUint48(b []byte, v uint64) {
	_ = b[5]
	b[0] = byte(v >> 40)
	b[1] = byte(v >> 32)
	b[2] = byte(v >> 24)
	b[3] = byte(v >> 16)
	b[4] = byte(v >> 8)
	b[5] = byte(v)
}

// RecordConnectionID returns the connection ID of the tls12_cid record at
// the start of dgram, taking it to be n bytes long: the header does not
// say, the receiver knows the length of the IDs it gives (RFC 9146 section
// 4). It reports false when dgram does not start with such a record's
// header. The ID is a view of dgram.
func RecordConnectionID(dgram []byte, n int) ([]byte, bool) {
	const at = RecordHeaderSize - 2 // type, version, epoch, sequence number
	if n <= 0 || len(dgram) < at+n+2 || dgram[0] != ContentTypeConnectionID {
		return nil, false
	}
	return dgram[at : at+n : at+n], true
}
