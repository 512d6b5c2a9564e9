// SPDX-License-Identifier: MIT

package session

import (
	"cmp"
	"encoding/binary"
	"errors"
)

// Handshake message types (RFC 5246 section 7.4, RFC 6347 section 4.3.2).
const (
	msgHelloRequest       = 0
	msgClientHello        = 1
	msgServerHello        = 2
	msgHelloVerifyRequest = 3
	msgServerKeyExchange  = 12
	msgServerHelloDone    = 14
	msgClientKeyExchange  = 16
	msgFinished           = 20
)

const (
	handshakeHeaderLen = 12
	// maxMessageLen bounds what is reassembled: the largest message of a PSK
	// handshake is a key exchange carrying an identity or hint of up to 2^16-1
	// bytes plus an ECDH point.
	maxMessageLen = 1<<16 + 512
	// maxAhead is how many messages past the next expected one are buffered.
	maxAhead = 8
	// maxPending bounds the bytes of the messages of one handshake:
	// enough for the largest flight a PSK handshake has.
	maxPending = 2 * maxMessageLen
	// maxRanges bounds the bookkeeping of one message's fragments; real
	// peers cut a message into a few pieces, not hundreds.
	maxRanges = 64
)

var errDecode = errors.New("session: malformed handshake message")

// handshakeHeader is the 12-byte DTLS handshake header.
type handshakeHeader struct {
	typ     uint8
	length  int
	seq     uint16
	fragOff int
	fragLen int
}

func parseHandshakeHeader(b []byte) (handshakeHeader, bool) {
	if len(b) < handshakeHeaderLen {
		return handshakeHeader{}, false
	}
	u24 := func(p []byte) int { return int(p[0])<<16 | int(p[1])<<8 | int(p[2]) }
	h := handshakeHeader{
		typ:     b[0],
		length:  u24(b[1:4]),
		seq:     binary.BigEndian.Uint16(b[4:6]),
		fragOff: u24(b[6:9]),
		fragLen: u24(b[9:12]),
	}
	ok := h.fragOff+h.fragLen <= h.length && h.fragLen <= len(b)-handshakeHeaderLen
	return h, ok
}

func appendUint24(b []byte, v int) []byte { return append(b, byte(v>>16), byte(v>>8), byte(v)) }

// appendHandshakeHeader appends the header of the fragment [off, off+n) of a
// message of the given length.
func appendHandshakeHeader(b []byte, typ uint8, length int, seq uint16, off, n int) []byte {
	b = append(b, typ)
	b = appendUint24(b, length)
	b = binary.BigEndian.AppendUint16(b, seq)
	b = appendUint24(b, off)
	return appendUint24(b, n)
}

// message is a whole handshake message, header included, in the form it
// takes in the transcript (RFC 6347 section 4.2.6: as one fragment).
type message []byte

func newMessage(typ uint8, seq uint16, body []byte) message {
	m := appendHandshakeHeader(make([]byte, 0, handshakeHeaderLen+len(body)), typ, len(body), seq, 0, len(body))
	return append(m, body...)
}

func (m message) typ() uint8   { return m[0] }
func (m message) seq() uint16  { return binary.BigEndian.Uint16(m[4:6]) }
func (m message) body() []byte { return m[handshakeHeaderLen:] }

// partial is a message being reassembled from fragments.
type partial struct {
	typ    uint8
	epoch  uint16
	data   []byte   // the body, length bytes
	filled [][2]int // sorted, disjoint [start, end) ranges received
}

func (p *partial) add(off int, frag []byte) {
	copy(p.data[off:], frag)
	start, end := off, off+len(frag)
	var out [][2]int
	for _, r := range p.filled {
		switch {
		case r[1] < start || r[0] > end:
			out = append(out, r)
		default:
			start, end = min(start, r[0]), max(end, r[1])
		}
	}
	out = append(out, [2]int{start, end})
	// Keep the ranges sorted so completeness is one comparison.
	for i := len(out) - 1; i > 0 && out[i][0] < out[i-1][0]; i-- {
		out[i], out[i-1] = out[i-1], out[i]
	}
	p.filled = out
}

func (p *partial) complete() bool {
	return len(p.data) == 0 || len(p.filled) == 1 && p.filled[0] == [2]int{0, len(p.data)}
}

// reassembler turns handshake fragments, in any order and duplicated, into
// whole messages in message_seq order.
type reassembler struct {
	next    uint16 // message_seq of the next message to deliver
	pending map[uint16]*partial
	bytes   int // total length of the messages taken, pending or delivered: one budget per handshake
	limit   int // bound on bytes; 0 means maxPending
}

// fragmentResult says what a fragment was.
type fragmentResult int

const (
	fragmentNew fragmentResult = iota // part of a message not yet delivered
	fragmentOld                       // part of a message already delivered: the peer retransmitted
	fragmentBad                       // inconsistent with what was received, or out of bounds
)

// whole returns the message in a fragment that carries all of the next
// message expected, of which nothing is buffered, and moves on to the
// message after it: the usual case, which needs no copy. The message is
// the fragment itself (its header says offset 0 and the full length, the
// form the transcript takes), so it lives in the caller's datagram and must
// be copied to be kept.
func (r *reassembler) whole(h handshakeHeader, fragment []byte) (message, bool) {
	if h.seq != r.next || h.fragOff != 0 || h.fragLen != h.length || r.pending[h.seq] != nil ||
		r.bytes+h.length > cmp.Or(r.limit, maxPending) {
		return nil, false // add refuses one over the limit
	}
	r.bytes += h.length
	r.next++
	return message(fragment[:handshakeHeaderLen+h.fragLen]), true
}

func (r *reassembler) add(h handshakeHeader, frag []byte, epoch uint16) fragmentResult {
	switch {
	case h.seq < r.next:
		return fragmentOld
	case h.seq-r.next >= maxAhead || h.length > maxMessageLen || h.fragLen == 0 && h.length > 0:
		return fragmentBad
	}
	p := r.pending[h.seq]
	if p == nil {
		if r.bytes+h.length > cmp.Or(r.limit, maxPending) {
			return fragmentBad
		}
		r.bytes += h.length
		if r.pending == nil {
			r.pending = make(map[uint16]*partial)
		}
		p = &partial{typ: h.typ, epoch: epoch, data: make([]byte, h.length)}
		r.pending[h.seq] = p
	} else if p.typ != h.typ || p.epoch != epoch || len(p.data) != h.length || len(p.filled) >= maxRanges {
		return fragmentBad
	}
	p.add(h.fragOff, frag[:h.fragLen])
	return fragmentNew
}

// pop returns the next message, and the epoch it came in, if it is complete.
func (r *reassembler) pop() (message, uint16, bool) {
	p := r.pending[r.next]
	if p == nil || !p.complete() {
		return nil, 0, false
	}
	delete(r.pending, r.next)
	m := newMessage(p.typ, r.next, p.data)
	r.next++
	return m, p.epoch, true
}

// reader walks the fields of a handshake message body.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) bytes(n int) []byte {
	if r.bad || n > len(r.b) {
		r.bad = true
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() int {
	b := r.bytes(1)
	if b == nil {
		return 0
	}
	return int(b[0])
}

func (r *reader) u16() int {
	b := r.bytes(2)
	if b == nil {
		return 0
	}
	return int(binary.BigEndian.Uint16(b))
}

func (r *reader) vec8() []byte  { return r.bytes(r.u8()) }
func (r *reader) vec16() []byte { return r.bytes(r.u16()) }

// done reports whether every byte was read and every read fitted.
func (r *reader) done() bool { return !r.bad && len(r.b) == 0 }

func appendVec8(b, v []byte) []byte { return append(append(b, byte(len(v))), v...) }
func appendVec16(b, v []byte) []byte {
	return append(binary.BigEndian.AppendUint16(b, uint16(len(v))), v...)
}

// appendExtension appends one extension (type, length, body).
func appendExtension(b []byte, typ uint16, body []byte) []byte {
	return appendVec16(binary.BigEndian.AppendUint16(b, typ), body)
}
