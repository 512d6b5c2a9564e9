// SPDX-License-Identifier: MIT

package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// ccm is AES-CCM (RFC 3610) as TLS uses it (RFC 6655): a 12-byte nonce, so
// a 3-byte length field, and a 16- or 8-byte tag. It keeps its working
// blocks in itself so that sealing and opening a record allocate nothing,
// which makes it, unlike the standard library's AEADs, unsafe for
// concurrent use: each protection has its own, used by one session.
type ccm struct {
	b      cipher.Block
	mac    cipher.BlockMode // CBC over b from a zero IV: its last block is the CBC-MAC
	tagLen int
	chunk  [256]byte // blocks on their way through the CBC-MAC
	ctr    [aes.BlockSize]byte
	stream [aes.BlockSize]byte
	tag    [aes.BlockSize]byte // the CBC-MAC so far, then the tag
}

const (
	ccmNonceLen = 12
	ccmLenBytes = 15 - ccmNonceLen
	ccmMaxLen   = 1<<(8*ccmLenBytes) - 1
)

var errCCMOpen = errors.New("session: CCM message failed authentication")

// zeroBlock is the CBC-MAC's IV; a global, so that handing it to the CBC
// mode does not move a local to the heap for every record.
var zeroBlock [aes.BlockSize]byte

func newCCMAEAD(key []byte, tagLen int) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return &ccm{b: b, mac: cipher.NewCBCEncrypter(b, zeroBlock[:]), tagLen: tagLen}, nil
}

func (c *ccm) NonceSize() int { return ccmNonceLen }
func (c *ccm) Overhead() int  { return c.tagLen }

// counter sets c.ctr to the counter block i for nonce.
func (c *ccm) counter(nonce []byte, i uint32) {
	c.ctr[0] = ccmLenBytes - 1
	copy(c.ctr[1:], nonce)
	c.ctr[13], c.ctr[14], c.ctr[15] = byte(i>>16), byte(i>>8), byte(i)
}

// crypt XORs src with the key stream from counter 1 into dst.
func (c *ccm) crypt(nonce, dst, src []byte) {
	for i := uint32(1); len(src) > 0; i++ {
		c.counter(nonce, i)
		c.b.Encrypt(c.stream[:], c.ctr[:])
		n := subtle.XORBytes(dst, src, c.stream[:])
		dst, src = dst[n:], src[n:]
	}
}

// macFeed runs data, zero-padded to whole blocks, through the CBC-MAC.
func (c *ccm) macFeed(data []byte) {
	for len(data) > 0 {
		n := copy(c.chunk[:], data)
		data = data[n:]
		padded := (n + aes.BlockSize - 1) &^ (aes.BlockSize - 1)
		clear(c.chunk[n:padded])
		c.mac.CryptBlocks(c.chunk[:padded], c.chunk[:padded])
		copy(c.tag[:], c.chunk[padded-aes.BlockSize:padded])
	}
}

// authTag computes the encrypted tag of plaintext into c.tag.
func (c *ccm) authTag(nonce, plaintext, ad []byte) []byte {
	c.mac.(ivSetter).SetIV(zeroBlock[:])
	var b0 [aes.BlockSize]byte
	flags := byte((c.tagLen-2)/2)<<3 | (ccmLenBytes - 1)
	if len(ad) > 0 {
		flags |= 1 << 6
	}
	b0[0] = flags
	copy(b0[1:], nonce)
	n := len(plaintext)
	b0[13], b0[14], b0[15] = byte(n>>16), byte(n>>8), byte(n)
	c.macFeed(b0[:])
	if len(ad) > 0 {
		// Additional data under 0xFF00 bytes: a 2-byte length, then the
		// data, padded along with it (RFC 3610 section 2.2).
		var head [aes.BlockSize]byte
		binary.BigEndian.PutUint16(head[:], uint16(len(ad)))
		k := copy(head[2:], ad)
		c.macFeed(head[:2+k])
		c.macFeed(ad[k:])
	}
	c.macFeed(plaintext)
	// c.tag holds the last block out of the CBC, the MAC; it is sent
	// encrypted with counter 0.
	c.counter(nonce, 0)
	c.b.Encrypt(c.stream[:], c.ctr[:])
	subtle.XORBytes(c.tag[:], c.tag[:], c.stream[:])
	return c.tag[:c.tagLen]
}

func (c *ccm) check(nonce, ad []byte, n int) {
	if len(nonce) != ccmNonceLen || len(ad) >= 0xFF00 || n > ccmMaxLen {
		panic("session: CCM used outside its parameters")
	}
}

func (c *ccm) Seal(dst, nonce, plaintext, ad []byte) []byte {
	c.check(nonce, ad, len(plaintext))
	tag := c.authTag(nonce, plaintext, ad)
	head, out := sliceForAppend(dst, len(plaintext)+c.tagLen)
	c.crypt(nonce, out, plaintext)
	copy(out[len(plaintext):], tag)
	return head
}

func (c *ccm) Open(dst, nonce, ciphertext, ad []byte) ([]byte, error) {
	if len(ciphertext) < c.tagLen {
		return nil, errCCMOpen
	}
	n := len(ciphertext) - c.tagLen
	c.check(nonce, ad, n)
	// Kept aside: decrypting in place overwrites nothing past n, but dst
	// may end where the tag starts.
	var got [aes.BlockSize]byte
	copy(got[:], ciphertext[n:])
	head, out := sliceForAppend(dst, n)
	c.crypt(nonce, out, ciphertext[:n])
	if subtle.ConstantTimeCompare(c.authTag(nonce, out, ad), got[:c.tagLen]) != 1 {
		clear(out)
		return nil, errCCMOpen
	}
	return head, nil
}

// sliceForAppend extends in by n bytes, reusing its capacity when it can,
// and returns the whole and the new part.
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	return head, head[len(in):]
}
