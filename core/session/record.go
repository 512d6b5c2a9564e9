// SPDX-License-Identifier: MIT

package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"hash"
	"unsafe"

	"github.com/dtlsgate/dtlsgate/core/wire"

	"github.com/pion/dtls/v2/pkg/crypto/prf"
)

// Record content types (RFC 6347 section 4.1).
const (
	contentChangeCipherSpec = 20
	contentAlert            = 21
	contentHandshake        = 22
	contentApplicationData  = 23
	// contentCID is tls12_cid (RFC 9146): a record with the connection
	// ID in its header, its real type inside the encryption.
	contentCID = wire.ContentTypeConnectionID
)

const (
	recordHeaderLen = 13
	versionDTLS12   = 0xFEFD
	maxPlaintext    = 1 << 14 // RFC 6347 section 4.1: a record carries at most 2^14 bytes
	maxSequence     = 1<<48 - 1
)

var errRecordAuth = errors.New("session: record failed authentication")

// record is one record of a datagram, its payload still protected.
type record struct {
	typ     uint8
	version uint16
	epoch   uint16
	seq     uint64
	cid     []byte // a tls12_cid record's connection ID, nil for others
	raw     []byte // header and payload
	payload []byte
}

// splitRecordsCID calls fn for each well-formed record of a datagram, whose
// tls12_cid records carry connection IDs of cidLen bytes (0: none are
// expected, and one cannot be framed). A header whose length runs past the
// datagram ends the walk: what follows cannot be framed, so it is dropped
// as RFC 6347 section 4.1.2.7 allows.
func splitRecordsCID(dgram []byte, cidLen int, fn func(record) bool) {
	for {
		r, ok := firstRecordCID(dgram, cidLen)
		if !ok || !fn(r) {
			return
		}
		dgram = dgram[len(r.raw):]
	}
}

// firstRecordCID frames the record at the start of dgram, reading the
// connection ID of a tls12_cid record as cidLen bytes: the header does not
// say how long it is, only the receiver knows (RFC 9146 section 4).
func firstRecordCID(dgram []byte, cidLen int) (record, bool) {
	if len(dgram) < recordHeaderLen {
		return record{}, false
	}
	var cid []byte
	hdr := recordHeaderLen
	if dgram[0] == contentCID {
		id, ok := wire.RecordConnectionID(dgram, cidLen)
		if !ok {
			return record{}, false
		}
		cid, hdr = id, recordHeaderLen+len(id)
	}
	n := int(binary.BigEndian.Uint16(dgram[hdr-2 : hdr]))
	if hdr+n > len(dgram) {
		return record{}, false
	}
	return record{
		typ:     dgram[0],
		version: binary.BigEndian.Uint16(dgram[1:3]),
		epoch:   binary.BigEndian.Uint16(dgram[3:5]),
		seq:     uint64(binary.BigEndian.Uint16(dgram[5:7]))<<32 | uint64(binary.BigEndian.Uint32(dgram[7:11])),
		cid:     cid,
		raw:     dgram[:hdr+n],
		payload: dgram[hdr : hdr+n],
	}, true
}

// appendCIDRecordHeader appends the header of a tls12_cid record with a
// payload of n bytes.
func appendCIDRecordHeader(b []byte, version, epoch uint16, seq uint64, cid []byte, n int) []byte {
	b = appendRecordHeader(b, contentCID, version, epoch, seq, 0)
	b = append(b[:len(b)-2], cid...)
	return binary.BigEndian.AppendUint16(b, uint16(n))
}

// headerFor appends the header of a record that a protection seals: a
// tls12_cid one carries cid.
func headerFor(b []byte, typ uint8, epoch uint16, seq uint64, cid []byte, n int) []byte {
	if typ == contentCID {
		return appendCIDRecordHeader(b, versionDTLS12, epoch, seq, cid, n)
	}
	return appendRecordHeader(b, typ, versionDTLS12, epoch, seq, n)
}

// innerPlaintext splits the decrypted payload of a tls12_cid record into
// content and real type: the type is the last byte that is not zero, the
// zeros after it padding (RFC 9146 section 4). False when it is all zeros.
func innerPlaintext(b []byte) ([]byte, uint8, bool) {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0 {
			return b[:i], b[i], true
		}
	}
	return nil, 0, false
}

// cidHeaderLen is the length of the pseudo-header a tls12_cid record
// authenticates besides its connection ID (RFC 9146 section 5): the
// sequence number placeholder, tls12_cid, the ID's length, tls12_cid,
// version, epoch and sequence number, and the inner plaintext's length.
const cidHeaderLen = 8 + 1 + 1 + 1 + 2 + 2 + 6 + 2

// The pseudo-header of a tls12_cid record up to its connection ID is
// written in two parts, each within a MAC's 13-byte scratch: putCIDPrefix
// writes the sequence number placeholder, tls12_cid, the ID's length and
// tls12_cid again (11 bytes), putVersionEpochSeq the version, epoch and
// sequence number (10 bytes). Each returns what it wrote.
func putCIDPrefix(b []byte, cidLen int) []byte {
	binary.BigEndian.PutUint64(b, ^uint64(0))
	b[8], b[9], b[10] = contentCID, byte(cidLen), contentCID
	return b[:11]
}

func putVersionEpochSeq(b []byte, version, epoch uint16, seq uint64) []byte {
	binary.BigEndian.PutUint16(b, version)
	binary.BigEndian.PutUint64(b[2:], uint64(epoch)<<48|seq)
	return b[:10]
}

// appendRecordHeader appends a record header for a payload of n bytes.
func appendRecordHeader(b []byte, typ uint8, version, epoch uint16, seq uint64, n int) []byte {
	b = append(b, typ, byte(version>>8), byte(version))
	b = binary.BigEndian.AppendUint16(b, epoch)
	b = binary.BigEndian.AppendUint16(b, uint16(seq>>32))
	b = binary.BigEndian.AppendUint32(b, uint32(seq))
	return binary.BigEndian.AppendUint16(b, uint16(n))
}

// protection encrypts and authenticates the records of one epoch. Sealing
// into a buffer with room and opening into a caller's buffer allocate
// nothing: the record path runs once per datagram.
type protection interface {
	// seal appends the protected record for plaintext to b. plaintext may
	// sit exactly where its encryption goes (b's spare capacity, past the
	// header and prefix bytes) or apart from b, nowhere else.
	seal(b []byte, typ uint8, epoch uint16, seq uint64, plaintext []byte) ([]byte, error)
	// open returns the plaintext of r, or errRecordAuth.
	open(r record) ([]byte, error)
	// openTo is open writing the plaintext at the start of dst, which is
	// nil (a new buffer is made) or at least openRoom bytes long and may
	// overlap r's bytes anywhere; when it does, r's bytes are overwritten.
	openTo(dst []byte, r record) ([]byte, error)
	// openRoom is the room openTo needs in dst for a payload of n bytes,
	// or -1 when no record of that length can authenticate.
	openRoom(n int) int
	// prefix is how many bytes come between the header and the encrypted
	// plaintext (explicit nonce or IV).
	prefix() int
	// sealedLen is the payload length of the record sealing n bytes gives.
	sealedLen(n int) int
	// overhead is the most a record grows when sealed.
	overhead() int
	// wipe clears the key material the protection holds itself. (Keys
	// expanded inside the standard library's ciphers are out of reach.)
	wipe()
	// useCID makes records sealed as tls12_cid carry write, and gets
	// ready for opening tls12_cid records with IDs of readLen bytes.
	useCID(write []byte, readLen int)
}

// keyBlock holds the keys of both directions, derived from the master secret.
type keyBlock struct {
	clientMAC, serverMAC, clientKey, serverKey, clientIV, serverIV []byte
}

func (k keyBlock) wipe() {
	for _, b := range [][]byte{k.clientMAC, k.serverMAC, k.clientKey, k.serverKey, k.clientIV, k.serverIV} {
		clear(b)
	}
}

func deriveKeys(s Suite, master, clientRandom, serverRandom []byte) (keyBlock, error) {
	k, err := prf.GenerateEncryptionKeys(master, clientRandom, serverRandom, s.macLen, s.keyLen, s.ivLen, s.hash.new)
	if err != nil {
		return keyBlock{}, err
	}
	return keyBlock{k.ClientMACKey, k.ServerMACKey, k.ClientWriteKey, k.ServerWriteKey, k.ClientWriteIV, k.ServerWriteIV}, nil
}

// newProtection builds the epoch-1 protection for one side; client says
// which side writes with the client keys.
func newProtection(s Suite, k keyBlock, client bool) (protection, error) {
	wKey, wIV, wMAC, rKey, rIV, rMAC := k.serverKey, k.serverIV, k.serverMAC, k.clientKey, k.clientIV, k.clientMAC
	if client {
		wKey, wIV, wMAC, rKey, rIV, rMAC = rKey, rIV, rMAC, wKey, wIV, wMAC
	}
	if s.seal == nil {
		return newCBCProtection(s, wKey, wMAC, rKey, rMAC)
	}
	w, err := s.seal(wKey)
	if err != nil {
		return nil, err
	}
	r, err := s.seal(rKey)
	if err != nil {
		return nil, err
	}
	p := &aeadProtection{write: w, read: r, ivLen: uint8(len(wIV))}
	copy(p.ivs[0][:], wIV)
	copy(p.ivs[1][:], rIV)
	return p, nil
}

// aeadProtection follows RFC 5288 and RFC 6655 when the implicit IV is 4 bytes
// (an 8-byte explicit nonce, which is the epoch and sequence number, travels
// with the record) and RFC 7905 when it is 12 (the nonce is the IV XORed
// with the epoch and sequence number, nothing travels).
type aeadProtection struct {
	write, read cipher.AEAD
	// The implicit IVs, writing and reading, ivLen bytes each: held in
	// the state rather than as slices, the state is one allocation and
	// smaller.
	ivs   [2][12]byte
	ivLen uint8
	// Scratch for one seal or open at a time (a session is used by one
	// goroutine at a time): kept here, the nonce and the additional data
	// handed to the AEAD do not move to the heap for every record.
	nonce [12]byte
	ad    [13]byte
	cid   *cidWriting // nil without connection IDs
}

// cidWriting is what a protection needs for connection IDs, apart so that
// one without them pays a pointer: the ID of the records it seals as
// tls12_cid, and for an AEAD scratch for their longer additional data.
type cidWriting struct {
	id, ad []byte
}

// writeID is the ID sealed records carry; nil without one.
func (c *cidWriting) writeID() []byte {
	if c == nil {
		return nil
	}
	return c.id
}

func (p *aeadProtection) useCID(write []byte, readLen int) {
	p.cid = &cidWriting{id: write, ad: make([]byte, cidHeaderLen+max(len(write), readLen))}
}

func (p *aeadProtection) explicit() int {
	if p.ivLen == 12 {
		return 0
	}
	return 8
}

func (p *aeadProtection) overhead() int { return p.explicit() + p.write.Overhead() }
func (p *aeadProtection) prefix() int   { return p.explicit() }
func (p *aeadProtection) sealedLen(n int) int {
	return p.explicit() + n + p.write.Overhead()
}

func (p *aeadProtection) openRoom(n int) int {
	return max(n-p.explicit()-p.read.Overhead(), -1)
}

func (p *aeadProtection) wipe() {
	clear(p.ivs[:])
}

func (p *aeadProtection) writeIV() []byte { return p.ivs[0][:p.ivLen] }
func (p *aeadProtection) readIV() []byte  { return p.ivs[1][:p.ivLen] }

// setNonce fills p.nonce for a record and returns it.
func (p *aeadProtection) setNonce(iv []byte, epochSeq uint64, explicit []byte) []byte {
	nonce := p.nonce[:]
	if len(iv) == 12 {
		copy(nonce, iv)
		var es [8]byte
		binary.BigEndian.PutUint64(es[:], epochSeq)
		subtle.XORBytes(nonce[4:], nonce[4:], es[:])
		return nonce
	}
	copy(nonce[:4], iv)
	copy(nonce[4:], explicit)
	return nonce
}

// setAdditionalData fills p.ad with what an AEAD record authenticates
// besides its content: epoch and sequence number, type, version and
// plaintext length; for a tls12_cid record, the longer form of RFC 9146
// section 5.2 with its connection ID.
func (p *aeadProtection) setAdditionalData(typ uint8, version, epoch uint16, seq uint64, cid []byte, n int) []byte {
	if typ == contentCID {
		ad := p.cid.ad[:cidHeaderLen+len(cid)]
		putCIDPrefix(ad, len(cid))
		putVersionEpochSeq(ad[11:], version, epoch, seq)
		copy(ad[21:], cid)
		binary.BigEndian.PutUint16(ad[21+len(cid):], uint16(n))
		return ad
	}
	ad := p.ad[:]
	binary.BigEndian.PutUint64(ad, uint64(epoch)<<48|seq)
	ad[8] = typ
	binary.BigEndian.PutUint16(ad[9:], version)
	binary.BigEndian.PutUint16(ad[11:], uint16(n))
	return ad
}

func (p *aeadProtection) seal(b []byte, typ uint8, epoch uint16, seq uint64, plaintext []byte) ([]byte, error) {
	epochSeq := uint64(epoch)<<48 | seq
	var explicit [8]byte
	binary.BigEndian.PutUint64(explicit[:], epochSeq)
	b = headerFor(b, typ, epoch, seq, p.cid.writeID(), p.sealedLen(len(plaintext)))
	b = append(b, explicit[:p.explicit()]...)
	nonce := p.setNonce(p.writeIV(), epochSeq, explicit[:])
	return p.write.Seal(b, nonce, plaintext, p.setAdditionalData(typ, versionDTLS12, epoch, seq, p.cid.writeID(), len(plaintext))), nil
}

func (p *aeadProtection) open(r record) ([]byte, error) { return p.openTo(nil, r) }

func (p *aeadProtection) openTo(dst []byte, r record) ([]byte, error) {
	n := p.openRoom(len(r.payload))
	if n < 0 {
		return nil, errRecordAuth
	}
	ex := p.explicit()
	nonce := p.setNonce(p.readIV(), uint64(r.epoch)<<48|r.seq, r.payload[:ex])
	if r.typ == contentCID && (p.cid == nil || len(r.cid) > len(p.cid.ad)-cidHeaderLen) {
		return nil, errRecordAuth // not an ID this connection uses
	}
	ad := p.setAdditionalData(r.typ, r.version, r.epoch, r.seq, r.cid, n)
	body := r.payload[ex:]
	if dst != nil && overlap(dst[:n], body) {
		// An AEAD decrypts in place only onto its own input: do that, then
		// move the plaintext where the caller wants it.
		plain, err := p.read.Open(body[:0], nonce, body, ad)
		if err != nil {
			return nil, errRecordAuth
		}
		return dst[:copy(dst, plain)], nil
	}
	if dst != nil {
		dst = dst[:0]
	}
	plain, err := p.read.Open(dst, nonce, body, ad)
	if err != nil {
		return nil, errRecordAuth
	}
	return plain, nil
}

// overlap reports whether a and b share memory.
func overlap(a, b []byte) bool {
	return len(a) > 0 && len(b) > 0 &&
		uintptr(unsafe.Pointer(&a[0])) <= uintptr(unsafe.Pointer(&b[len(b)-1])) &&
		uintptr(unsafe.Pointer(&b[0])) <= uintptr(unsafe.Pointer(&a[len(a)-1]))
}

// cbcProtection is MAC-then-encrypt with an explicit IV (RFC 5246 section
// 6.2.3.2). Opening a record takes the same time whatever its padding says:
// no early return between decryption and the verdict, padding and MAC judged
// together, and the MAC fed the same number of bytes for every record of a
// given length, so neither a crash nor a timing difference tells an attacker
// whether the padding was good (the Lucky Thirteen and POODLE family).
type cbcProtection struct {
	write, read       cipher.Block
	enc, dec          cipher.BlockMode // over write and read, the IV set per record
	writeMAC, readMAC *keyedHash       // reset before each use
	sum               [64]byte         // the MAC a record should carry
	cid               *cidWriting      // nil without connection IDs
}

func (p *cbcProtection) useCID(write []byte, _ int) { p.cid = &cidWriting{id: write} }

// ivSetter is what the standard library's CBC modes implement so that one
// mode serves every record; making a mode per record would allocate.
type ivSetter interface{ SetIV([]byte) }

func newCBCProtection(s Suite, wKey, wMAC, rKey, rMAC []byte) (*cbcProtection, error) {
	w, err := aes.NewCipher(wKey)
	if err != nil {
		return nil, err
	}
	r, err := aes.NewCipher(rKey)
	if err != nil {
		return nil, err
	}
	var zero [aes.BlockSize]byte
	return &cbcProtection{write: w, read: r, enc: cipher.NewCBCEncrypter(w, zero[:]), dec: cipher.NewCBCDecrypter(r, zero[:]),
		writeMAC: newKeyedHash(s.hash.new, wMAC), readMAC: newKeyedHash(s.hash.new, rMAC)}, nil
}

// keyedHash is HMAC (RFC 2104) holding its key pads itself, unlike the
// standard library's, so that wipe can clear them.
type keyedHash struct {
	inner, outer hash.Hash
	ipad, opad   []byte
	// Scratch handed to the hashes, which as interfaces would make any
	// local buffer escape to the heap.
	innerSum [64]byte
	header   [13]byte
}

func newKeyedHash(h func() hash.Hash, key []byte) *keyedHash {
	k := &keyedHash{inner: h(), outer: h()}
	bs := k.inner.BlockSize()
	if len(key) > bs {
		k.outer.Write(key)
		key = k.outer.Sum(nil)
		defer clear(key)
	}
	k.ipad, k.opad = make([]byte, bs), make([]byte, bs)
	copy(k.ipad, key)
	copy(k.opad, key)
	for i := range bs {
		k.ipad[i] ^= 0x36
		k.opad[i] ^= 0x5c
	}
	k.Reset()
	return k
}

func (k *keyedHash) Reset() {
	k.inner.Reset()
	k.inner.Write(k.ipad)
}

func (k *keyedHash) Write(p []byte) (int, error) { return k.inner.Write(p) }
func (k *keyedHash) Size() int                   { return k.outer.Size() }

// Sum appends the MAC of what was written since Reset; writing may go on,
// as with any hash.Hash.
func (k *keyedHash) Sum(b []byte) []byte {
	k.outer.Reset()
	k.outer.Write(k.opad)
	k.outer.Write(k.inner.Sum(k.innerSum[:0]))
	return k.outer.Sum(b)
}

func (k *keyedHash) wipe() {
	clear(k.ipad)
	clear(k.opad)
	k.inner.Reset()
	k.outer.Reset()
}

func (p *cbcProtection) overhead() int {
	bs := p.write.BlockSize()
	return bs + p.writeMAC.Size() + bs // explicit IV, MAC, at most a block of padding
}

func (p *cbcProtection) prefix() int { return p.write.BlockSize() }

func (p *cbcProtection) sealedLen(n int) int {
	bs := p.write.BlockSize()
	return bs + n + p.writeMAC.Size() + p.padLen(n)
}

// padLen is the padding of a record of n bytes: 1..bs bytes, the length
// byte included.
func (p *cbcProtection) padLen(n int) int {
	bs := p.write.BlockSize()
	return bs - (n+p.writeMAC.Size())%bs
}

// openRoom is the ciphertext's length: the plaintext, MAC and padding are
// all decrypted into dst before the verdict.
func (p *cbcProtection) openRoom(n int) int {
	bs := p.read.BlockSize()
	if n < bs || (n-bs)%bs != 0 || n-bs < p.readMAC.Size()+1 {
		return -1
	}
	return n - bs
}

func (p *cbcProtection) wipe() {
	p.writeMAC.wipe()
	p.readMAC.wipe()
}

// macHeaderCID writes the MAC's pseudo-header: epoch and sequence number,
// type, version and content length (RFC 6347 section 4.1.2.1); a tls12_cid
// record's takes the form of RFC 9146 section 5.1, with its connection ID.
func macHeaderCID(h *keyedHash, typ uint8, version, epoch uint16, seq uint64, cid []byte, n int) {
	hdr := &h.header
	if typ == contentCID {
		h.Write(putCIDPrefix(hdr[:], len(cid)))
		h.Write(putVersionEpochSeq(hdr[:], version, epoch, seq))
		h.Write(cid)
		binary.BigEndian.PutUint16(hdr[:2], uint16(n))
		h.Write(hdr[:2])
		return
	}
	binary.BigEndian.PutUint64(hdr[:8], uint64(epoch)<<48|seq)
	hdr[8] = typ
	binary.BigEndian.PutUint16(hdr[9:11], version)
	binary.BigEndian.PutUint16(hdr[11:13], uint16(n))
	h.Write(hdr[:])
}

func (p *cbcProtection) seal(b []byte, typ uint8, epoch uint16, seq uint64, plaintext []byte) ([]byte, error) {
	bs := p.write.BlockSize()
	padLen := p.padLen(len(plaintext))
	b = headerFor(b, typ, epoch, seq, p.cid.writeID(), p.sealedLen(len(plaintext)))
	start := len(b)
	var zero [aes.BlockSize]byte
	b = append(b, zero[:bs]...)
	if _, err := rand.Read(b[start:]); err != nil {
		return nil, err
	}
	b = append(b, plaintext...) // in place when plaintext is already there
	p.writeMAC.Reset()
	macHeaderCID(p.writeMAC, typ, versionDTLS12, epoch, seq, p.cid.writeID(), len(plaintext))
	p.writeMAC.Write(plaintext)
	b = p.writeMAC.Sum(b)
	for range padLen {
		b = append(b, byte(padLen-1))
	}
	body := b[start+bs:]
	p.enc.(ivSetter).SetIV(b[start : start+bs])
	p.enc.CryptBlocks(body, body)
	return b, nil
}

func (p *cbcProtection) open(r record) ([]byte, error) { return p.openTo(nil, r) }

func (p *cbcProtection) openTo(dst []byte, r record) ([]byte, error) {
	bs := p.read.BlockSize()
	macLen := p.readMAC.Size()
	// The length is public: this check may return early.
	room := p.openRoom(len(r.payload))
	if room < 0 {
		return nil, errRecordAuth
	}
	iv, ct := r.payload[:bs], r.payload[bs:]
	var plain []byte
	switch {
	case dst == nil:
		plain = make([]byte, room) // the datagram belongs to the caller
	case overlap(dst[:room], r.payload):
		plain = ct // the caller gave the datagram's bytes up: decrypt in place, move after
	default:
		plain = dst[:room]
	}
	p.dec.(ivSetter).SetIV(iv)
	p.dec.CryptBlocks(plain, ct)

	padLen, padOK := checkPadding(plain, macLen)
	// From here on, nothing branches on padLen or padOK.
	n := len(plain) - macLen - padLen
	h := p.readMAC
	h.Reset()
	macHeaderCID(h, r.typ, r.version, r.epoch, r.seq, r.cid, n)
	h.Write(plain[:n])
	want := h.Sum(p.sum[:0])
	// Feed the bytes the padding covered too, so the MAC hashes as many
	// bytes for this record as for any other record of its length.
	h.Write(plain[n+macLen:])
	got := plain[n : n+macLen]
	if subtle.ConstantTimeCompare(want, got)&padOK != 1 {
		return nil, errRecordAuth
	}
	if dst != nil {
		return dst[:copy(dst, plain[:n])], nil
	}
	return plain[:n], nil
}

// checkPadding reads the CBC padding at the end of plain in constant time.
// It returns how many bytes the padding takes (its length byte included) and
// 1 when every padding byte holds the padding length and the padding leaves
// room for a MAC of macLen bytes, 0 otherwise. On bad padding the length is
// taken as 1, so the MAC check runs over nearly the whole record and fails.
func checkPadding(plain []byte, macLen int) (padLen, ok int) {
	last := int(plain[len(plain)-1])
	// Room for the padding, its length byte and the MAC.
	ok = subtle.ConstantTimeLessOrEq(last+1+macLen, len(plain))
	// Every one of the last 256 bytes (or all of plain, if shorter) is looked
	// at; those inside the claimed padding must equal its length.
	for i := 1; i <= min(256, len(plain)); i++ {
		inPadding := subtle.ConstantTimeLessOrEq(i, last+1)
		same := subtle.ConstantTimeByteEq(plain[len(plain)-i], uint8(last))
		ok &= same | (inPadding ^ 1)
	}
	padLen = subtle.ConstantTimeSelect(ok, last+1, 1)
	return padLen, ok
}

// replayWindow remembers which of the last 64 sequence numbers of an epoch
// have been accepted (RFC 6347 section 4.1.2.6).
type replayWindow struct {
	top  uint64 // highest sequence number accepted
	bits uint64 // bit i set: top-i was accepted
	used bool
}

// fresh reports whether seq is new and inside the window; it does not record it.
func (w *replayWindow) fresh(seq uint64) bool {
	switch {
	case !w.used || seq > w.top:
		return true
	case w.top-seq >= 64:
		return false
	default:
		return w.bits&(1<<(w.top-seq)) == 0
	}
}

// accept records seq, which must have been authenticated.
func (w *replayWindow) accept(seq uint64) {
	switch {
	case !w.used:
		w.top, w.bits, w.used = seq, 1, true
	case seq > w.top:
		shift := seq - w.top
		if shift >= 64 {
			w.bits = 0
		} else {
			w.bits <<= shift
		}
		w.bits |= 1
		w.top = seq
	default:
		w.bits |= 1 << (w.top - seq)
	}
}
