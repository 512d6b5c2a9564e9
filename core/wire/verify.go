// SPDX-License-Identifier: MIT

package wire

import "encoding/binary"

// HelloVerifyRequestSize returns the size of a HelloVerifyRequest datagram
// carrying a cookie of cookieLen bytes.
func HelloVerifyRequestSize(cookieLen int) int {
	return HelloVerifyRequestOverhead + cookieLen
}

// PutHelloVerifyRequest writes into dst a datagram holding one record with
// one unfragmented HelloVerifyRequest carrying cookie, and returns its
// length, HelloVerifyRequestSize(len(cookie)). epoch and seq become the
// record's epoch and sequence number; a server answers with the values of
// the ClientHello's record, so the client can match the reply to its
// message without the server keeping any state.
//
// Both the record version and server_version are DTLS 1.0 whatever version
// the client offered: the request comes before any version is agreed, and
// DTLS 1.2 asks for 1.0 here so that 1.0-only clients understand it too.
//
// It returns ErrCookieTooLong if cookie is longer than MaxCookieSize,
// ErrSequenceNumber if seq does not fit in 48 bits (rather than silently
// sending a different number), and ErrBufferTooSmall if dst is too short.
// On error dst is left untouched. cookie may overlap dst, for example when
// it was minted in place at dst[HelloVerifyRequestOverhead:].
func PutHelloVerifyRequest(dst []byte, epoch uint16, seq uint64, cookie []byte) (int, error) {
	if len(cookie) > MaxCookieSize {
		return 0, ErrCookieTooLong
	}
	if seq > maxSequenceNumber {
		return 0, ErrSequenceNumber
	}
	n := HelloVerifyRequestSize(len(cookie))
	if len(dst) < n {
		return 0, ErrBufferTooSmall
	}
	b := dst[:n]

	// Copy the cookie before writing the headers, so that a cookie lying
	// anywhere in dst is read before it can be overwritten (copy handles
	// overlap between its own source and destination).
	copy(b[HelloVerifyRequestOverhead:], cookie)

	bodyLen := 2 + 1 + len(cookie) // server_version, cookie length, cookie

	b[0] = ContentTypeHandshake
	binary.BigEndian.PutUint16(b[1:], VersionDTLS10)
	binary.BigEndian.PutUint16(b[3:], epoch)
	putUint48(b[5:], seq)
	binary.BigEndian.PutUint16(b[11:], uint16(HandshakeHeaderSize+bodyLen))

	h := b[RecordHeaderSize:]
	h[0] = TypeHelloVerifyRequest
	putUint24(h[1:], uint32(bodyLen))    // message length
	binary.BigEndian.PutUint16(h[4:], 0) // message_seq
	putUint24(h[6:], 0)                  // fragment offset
	putUint24(h[9:], uint32(bodyLen))    // fragment length: the whole message

	m := h[HandshakeHeaderSize:]
	binary.BigEndian.PutUint16(m, VersionDTLS10)
	m[2] = byte(len(cookie))
	return n, nil
}
