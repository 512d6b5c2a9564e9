// SPDX-License-Identifier: MIT

package session

import (
	"bytes"
	"crypto/aes"
	"math/rand/v2"
	"testing"

	pionccm "github.com/pion/dtls/v2/pkg/crypto/ccm"
)

// The engine's CCM agrees with pion's, a separate implementation that
// interoperates with OpenSSL and GnuTLS, on every length class, both tag
// sizes, with and without additional data, in place and not; and refuses
// any change to what it sealed.
func TestCCMMatchesPion(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	key := make([]byte, 16)
	for i := range key {
		key[i] = byte(rng.Uint32())
	}
	block, _ := aes.NewCipher(key)
	for _, tagLen := range []int{8, 16} {
		ours, _ := newCCMAEAD(key, tagLen)
		theirs, _ := pionccm.NewCCM(block, tagLen, 12)
		for _, n := range []int{0, 1, 15, 16, 17, 255, 256, 257, 1400, maxPlaintext} {
			for _, adLen := range []int{0, 13, 14, 40} {
				nonce, ad, plain := make([]byte, 12), make([]byte, adLen), make([]byte, n)
				for _, b := range [][]byte{nonce, ad, plain} {
					for i := range b {
						b[i] = byte(rng.Uint32())
					}
				}
				want := theirs.Seal(nil, nonce, plain, ad)
				got := ours.Seal(nil, nonce, plain, ad)
				if !bytes.Equal(got, want) {
					t.Fatalf("tag %d, %d bytes, %d of ad: Seal differs from pion's", tagLen, n, adLen)
				}
				buf := append(bytes.Clone(plain), make([]byte, tagLen)...)
				if inPlace := ours.Seal(buf[:0], nonce, buf[:n], ad); !bytes.Equal(inPlace, want) {
					t.Fatalf("tag %d, %d bytes: in-place Seal differs", tagLen, n)
				}
				if opened, err := ours.Open(buf[:0], nonce, buf, ad); err != nil || !bytes.Equal(opened, plain) {
					t.Fatalf("tag %d, %d bytes: in-place Open: %v", tagLen, n, err)
				}
				for _, i := range []int{0, len(want) / 2, len(want) - 1} {
					forged := bytes.Clone(want)
					forged[i] ^= 4
					if _, err := ours.Open(nil, nonce, forged, ad); err == nil {
						t.Fatalf("tag %d, %d bytes: byte %d changed, still opens", tagLen, n, i)
					}
				}
				if adLen > 0 {
					ad[0] ^= 1
					if _, err := ours.Open(nil, nonce, want, ad); err == nil {
						t.Fatalf("tag %d, %d bytes: other additional data, still opens", tagLen, n)
					}
				}
			}
		}
	}
}
