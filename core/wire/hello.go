// SPDX-License-Identifier: MIT

package wire

import "encoding/binary"

// ClientHello is a parsed ClientHello. Every slice points into the datagram
// given to ParseClientHello; nothing is copied. The slices are capped at
// their length, so appending to one copies it instead of overwriting the
// bytes that follow it in the datagram.
type ClientHello struct {
	Record    RecordHeader
	Handshake HandshakeHeader
	Version   uint16 // client_version
	Random    []byte // always 32 bytes
	SessionID []byte
	Cookie    []byte // empty in a first flight

	// The fields below are set, and Complete is true, only when the fragment
	// is the whole message and everything after the cookie is well formed:
	// each length prefix fits, the cipher suite list has an even length and
	// the extensions, if present, fill the rest of the message exactly. A
	// cookie check needs nothing beyond the cookie, so a broken tail is not
	// an error; it only leaves Complete false and these fields nil.
	Complete           bool
	CipherSuites       []byte // 2 bytes per suite; see CipherSuite
	CompressionMethods []byte // 1 byte per method
	Extensions         []byte // without its 2-byte length prefix; nil when absent, empty when present but empty
}

// ParseClientHello parses the first record of a datagram as the start of a
// ClientHello. Bytes after that record are ignored: a client may pack more
// records into the datagram, and only the first is needed.
//
// It returns an error, meaning "drop the datagram", when the record is not a
// handshake record with a DTLS major version (0xFE) and epoch 0, when any
// length points past the data that holds it, when the message is not a
// ClientHello with message_seq 0 or 1, when the fragment does not start at
// offset 0, claims more than the message length or does not fill its record
// exactly, when the fields up to and including the cookie are not all inside
// the fragment. The rules are modelled on OpenSSL's DTLSv1_listen, which Qt
// uses; like it, they leave client_version to the handshake.
//
// A first fragment of a larger ClientHello is accepted as long as it holds
// the cookie; Complete is then false.
func ParseClientHello(dgram []byte) (ClientHello, error) {
	var ch ClientHello
	tail, err := ch.parseHead(dgram)
	if err == nil && ch.Handshake.FragmentLength == ch.Handshake.Length {
		ch.parseTail(tail)
	}
	return ch, err
}

// ParseClientHelloHead is ParseClientHello without the look past the cookie,
// into *ch: it accepts and refuses the same datagrams, and leaves Complete
// false and the fields after the cookie nil (all of *ch zero on an error). A
// cookie check needs nothing more, and a verifier answering a flood of
// ClientHellos should not spend more, not even on copying the struct.
func ParseClientHelloHead(dgram []byte, ch *ClientHello) error {
	_, err := ch.parseHead(dgram)
	return err
}

// parseHead sets *ch from dgram up to the cookie, or zeroes it on an error,
// and returns what follows the cookie in the fragment.
func (ch *ClientHello) parseHead(dgram []byte) ([]byte, error) {
	*ch = ClientHello{}
	rec, err := ParseRecordHeader(dgram)
	if err != nil {
		return nil, err
	}
	switch {
	case rec.ContentType != ContentTypeHandshake:
		return nil, ErrNotHandshake
	case rec.Version>>8 != 0xFE:
		// Only the major byte is checked: the record version of a first
		// ClientHello is not bound to the version the client asks for.
		return nil, ErrRecordVersion
	case rec.Epoch != 0:
		return nil, ErrEpoch
	case int(rec.Length) > len(dgram)-RecordHeaderSize:
		return nil, ErrLength
	}
	payload := dgram[RecordHeaderSize : RecordHeaderSize+int(rec.Length)]

	hs, err := ParseHandshakeHeader(payload)
	if err != nil {
		return nil, err
	}
	switch {
	case hs.Type != TypeClientHello:
		return nil, ErrNotClientHello
	case hs.MessageSeq > 1:
		// 0 for the first ClientHello, 1 for the one that answers a
		// HelloVerifyRequest; anything later is not a fresh handshake.
		return nil, ErrMessageSeq
	case hs.FragmentOffset != 0 || hs.FragmentLength > hs.Length:
		// Reassembling fragments would need per-client state, which is what
		// the cookie exchange exists to avoid; only a first fragment is usable.
		return nil, ErrFragment
	case int(hs.FragmentLength) != len(payload)-HandshakeHeaderSize:
		// The record holds this one fragment, nothing more and nothing less.
		return nil, ErrLength
	}
	body := payload[HandshakeHeaderSize : HandshakeHeaderSize+int(hs.FragmentLength)]

	// A message that does not reach its cookie is malformed when the fragment
	// is all of it, and a fragment we cannot use when more of it is to come.
	truncated := ErrLength
	if hs.FragmentLength < hs.Length {
		truncated = ErrFragment
	}

	if len(body) < 2 {
		return nil, truncated
	}
	// client_version is reported, not judged: a server must accept a
	// version above its own and answer with the one it chooses (RFC 6347
	// 4.2.1 and TLS version negotiation), and OpenSSL's DTLSv1_listen, so
	// Qt, lets any value through to the handshake.
	version := binary.BigEndian.Uint16(body)
	const randomEnd = 2 + 32
	if len(body) < randomEnd {
		return nil, truncated
	}
	sessionID, off, ok := vector8(body, randomEnd)
	if !ok {
		return nil, truncated
	}
	cookie, off, ok := vector8(body, off)
	if !ok {
		return nil, truncated
	}

	ch.Record, ch.Handshake, ch.Version = rec, hs, version
	ch.Random, ch.SessionID, ch.Cookie = body[2:randomEnd:randomEnd], sessionID, cookie
	return body[off:], nil
}

// parseTail fills the fields after the cookie from b, the rest of a complete
// message, and sets Complete, or leaves them all unset if b is malformed.
func (ch *ClientHello) parseTail(b []byte) {
	suites, off, ok := vector16(b, 0)
	if !ok || len(suites)%2 != 0 {
		return
	}
	methods, off, ok := vector8(b, off)
	if !ok {
		return
	}
	var exts []byte
	if off < len(b) {
		// The extensions block is optional, but when present it must be the
		// last thing in the message.
		exts, off, ok = vector16(b, off)
		if !ok || off != len(b) {
			return
		}
		if _, _, ok := walkExtensions(exts, 0); !ok { // only the shape matters here
			return
		}
	}
	ch.CipherSuites = suites
	ch.CompressionMethods = methods
	ch.Extensions = exts
	ch.Complete = true
}

// CipherSuite returns the i-th cipher suite id of a CipherSuites block. Like
// an index expression, it panics unless 0 <= i < len(suites)/2.
func CipherSuite(suites []byte, i int) uint16 {
	// Index rather than slice: a slice expression may reach past len into
	// spare capacity, and an odd trailing byte must not pass for a suite.
	return uint16(suites[2*i])<<8 | uint16(suites[2*i+1])
}

// FindExtension returns the body of the first extension of type typ in exts,
// an extensions block laid out as ClientHello.Extensions. ok is false when
// there is no such extension or when the block is malformed anywhere, so a
// true result always comes from a block that parses from end to end.
func FindExtension(exts []byte, typ uint16) (body []byte, ok bool) {
	body, found, ok := walkExtensions(exts, typ)
	if !ok || !found {
		return nil, false
	}
	return body, true
}

// walkExtensions checks that exts is a sequence of extensions (2-byte type,
// 2-byte length, body) that ends exactly at the end of exts, and returns the
// body of the first one of type typ.
func walkExtensions(exts []byte, typ uint16) (body []byte, found, ok bool) {
	for len(exts) > 0 {
		if len(exts) < 4 {
			return nil, false, false
		}
		t := binary.BigEndian.Uint16(exts)
		v, next, ok := vector16(exts, 2)
		if !ok {
			return nil, false, false
		}
		if t == typ && !found {
			body, found = v, true
		}
		exts = exts[next:]
	}
	return body, found, true
}

// vector8 reads the vector with a 1-byte length prefix at b[off:] and
// returns it with the offset just past it. off must be at most len(b).
func vector8(b []byte, off int) (v []byte, next int, ok bool) {
	if off >= len(b) {
		return nil, 0, false
	}
	start := off + 1
	end := start + int(b[off])
	if end > len(b) {
		return nil, 0, false
	}
	return b[start:end:end], end, true
}

// vector16 reads the vector with a 2-byte length prefix at b[off:] and
// returns it with the offset just past it. off must be at most len(b).
func vector16(b []byte, off int) (v []byte, next int, ok bool) {
	if len(b)-off < 2 {
		return nil, 0, false
	}
	start := off + 2
	end := start + int(binary.BigEndian.Uint16(b[off:]))
	if end > len(b) {
		return nil, 0, false
	}
	return b[start:end:end], end, true
}
