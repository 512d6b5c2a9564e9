package session

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"

	"github.com/pion/dtls/v2/pkg/crypto/ciphersuite"
	"github.com/pion/dtls/v2/pkg/crypto/prf"
	"github.com/pion/dtls/v2/pkg/protocol"
	"github.com/pion/dtls/v2/pkg/protocol/recordlayer"
)

// Record content types (RFC 6347 section 4.1).
const (
	contentChangeCipherSpec = 20
	contentAlert            = 21
	contentHandshake        = 22
	contentApplicationData  = 23
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
	raw     []byte // header and payload
	payload []byte
}

// splitRecords calls fn for each well-formed record of a datagram. A header
// whose length runs past the datagram ends the walk: what follows cannot be
// framed, so it is dropped as RFC 6347 section 4.1.2.7 allows.
func splitRecords(dgram []byte, fn func(record) bool) {
	for len(dgram) >= recordHeaderLen {
		n := int(binary.BigEndian.Uint16(dgram[11:13]))
		if recordHeaderLen+n > len(dgram) {
			return
		}
		r := record{
			typ:     dgram[0],
			version: binary.BigEndian.Uint16(dgram[1:3]),
			epoch:   binary.BigEndian.Uint16(dgram[3:5]),
			seq:     uint64(binary.BigEndian.Uint16(dgram[5:7]))<<32 | uint64(binary.BigEndian.Uint32(dgram[7:11])),
			raw:     dgram[:recordHeaderLen+n],
			payload: dgram[recordHeaderLen : recordHeaderLen+n],
		}
		if !fn(r) {
			return
		}
		dgram = dgram[recordHeaderLen+n:]
	}
}

// appendRecordHeader appends a record header for a payload of n bytes.
func appendRecordHeader(b []byte, typ uint8, version, epoch uint16, seq uint64, n int) []byte {
	b = append(b, typ, byte(version>>8), byte(version))
	b = binary.BigEndian.AppendUint16(b, epoch)
	b = binary.BigEndian.AppendUint16(b, uint16(seq>>32))
	b = binary.BigEndian.AppendUint32(b, uint32(seq))
	return binary.BigEndian.AppendUint16(b, uint16(n))
}

// protection encrypts and authenticates the records of one epoch.
type protection interface {
	// seal appends the protected record for plaintext to b.
	seal(b []byte, typ uint8, epoch uint16, seq uint64, plaintext []byte) ([]byte, error)
	// open returns the plaintext of r, or errRecordAuth.
	open(r record) ([]byte, error)
	// overhead is the most a record grows when sealed.
	overhead() int
}

// keyBlock holds the keys of both directions, derived from the master secret.
type keyBlock struct {
	clientMAC, serverMAC, clientKey, serverKey, clientIV, serverIV []byte
}

func deriveKeys(s Suite, master, clientRandom, serverRandom []byte) (keyBlock, error) {
	k, err := prf.GenerateEncryptionKeys(master, clientRandom, serverRandom, s.macLen, s.keyLen, s.ivLen, s.prf)
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
		c, err := ciphersuite.NewCBC(wKey, wIV, wMAC, rKey, rIV, rMAC, s.prf)
		if err != nil {
			return nil, err
		}
		return &cbcProtection{c: c, macLen: s.macLen}, nil
	}
	w, err := s.seal(wKey)
	if err != nil {
		return nil, err
	}
	r, err := s.seal(rKey)
	if err != nil {
		return nil, err
	}
	return &aeadProtection{write: w, read: r, writeIV: wIV, readIV: rIV}, nil
}

// aeadProtection follows RFC 5288 and RFC 6655 when the implicit IV is 4 bytes
// (an 8-byte explicit nonce, which is the epoch and sequence number, travels
// with the record) and RFC 7905 when it is 12 (the nonce is the IV XORed
// with the epoch and sequence number, nothing travels).
type aeadProtection struct {
	write, read     cipher.AEAD
	writeIV, readIV []byte
}

func (p *aeadProtection) explicit() int {
	if len(p.writeIV) == 12 {
		return 0
	}
	return 8
}

func (p *aeadProtection) overhead() int { return p.explicit() + p.write.Overhead() }

func aeadNonce(iv []byte, epochSeq uint64, explicit []byte) []byte {
	var nonce [12]byte
	if len(iv) == 12 {
		copy(nonce[:], iv)
		var es [8]byte
		binary.BigEndian.PutUint64(es[:], epochSeq)
		subtle.XORBytes(nonce[4:], nonce[4:], es[:])
		return nonce[:]
	}
	copy(nonce[:4], iv)
	copy(nonce[4:], explicit)
	return nonce[:]
}

// additionalData is what an AEAD record authenticates besides its content:
// epoch and sequence number, type, version and plaintext length.
func additionalData(typ uint8, version, epoch uint16, seq uint64, n int) []byte {
	ad := make([]byte, 13)
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
	n := p.explicit() + len(plaintext) + p.write.Overhead()
	b = appendRecordHeader(b, typ, versionDTLS12, epoch, seq, n)
	b = append(b, explicit[:p.explicit()]...)
	nonce := aeadNonce(p.writeIV, epochSeq, explicit[:])
	return p.write.Seal(b, nonce, plaintext, additionalData(typ, versionDTLS12, epoch, seq, len(plaintext))), nil
}

func (p *aeadProtection) open(r record) ([]byte, error) {
	ex := p.explicit()
	if len(r.payload) < ex+p.read.Overhead() {
		return nil, errRecordAuth
	}
	nonce := aeadNonce(p.readIV, uint64(r.epoch)<<48|r.seq, r.payload[:ex])
	body := r.payload[ex:]
	n := len(body) - p.read.Overhead()
	out, err := p.read.Open(nil, nonce, body, additionalData(r.typ, r.version, r.epoch, r.seq, n))
	if err != nil {
		return nil, errRecordAuth
	}
	return out, nil
}

// cbcProtection is MAC-then-encrypt with an explicit IV (RFC 5246 section
// 6.2.3.2), done by pion's implementation, which checks the padding and the
// MAC in constant time.
type cbcProtection struct {
	c      *ciphersuite.CBC
	macLen int
}

func (p *cbcProtection) overhead() int { return 16 + p.macLen + 16 }

func (p *cbcProtection) seal(b []byte, typ uint8, epoch uint16, seq uint64, plaintext []byte) ([]byte, error) {
	raw := appendRecordHeader(make([]byte, 0, recordHeaderLen+len(plaintext)+p.overhead()), typ, versionDTLS12, epoch, seq, len(plaintext))
	raw = append(raw, plaintext...)
	pkt := &recordlayer.RecordLayer{Header: recordlayer.Header{
		ContentType:    protocol.ContentType(typ),
		Version:        protocol.Version1_2,
		Epoch:          epoch,
		SequenceNumber: seq,
	}}
	out, err := p.c.Encrypt(pkt, raw)
	if err != nil {
		return nil, err
	}
	return append(b, out...), nil
}

func (p *cbcProtection) open(r record) ([]byte, error) {
	// pion would return a ChangeCipherSpec record as it is, unauthenticated;
	// openRecord drops epoch-1 ones before they get here.
	// pion decrypts in place; the datagram belongs to the caller.
	in := append([]byte(nil), r.raw...)
	out, err := p.c.Decrypt(in)
	if err != nil {
		return nil, errRecordAuth
	}
	return out[recordHeaderLen:], nil
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
