// SPDX-License-Identifier: MIT

package session

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"testing"

	"github.com/pion/dtls/v2/pkg/crypto/prf"
)

// TestPRF checks our PRF against pion's, an independent implementation, for
// both suite hashes, keys shorter and longer than a block (then hashed
// first), outputs shorter than, equal to and longer than one digest, and a
// state keyed again and again as a handshake keys it.
func TestPRF(t *testing.T) {
	for _, h := range []struct {
		name string
		kind hashKind
		new  func() hash.Hash
	}{{"SHA-256", sha256Kind, sha256.New}, {"SHA-384", sha384Kind, sha512.New384}} {
		var p prfState
		p.init(h.kind)
		for _, keyLen := range []int{0, 1, 20, 48, 64, 65, 128, 129, 1028} {
			secret := bytes.Repeat([]byte{byte(keyLen)}, keyLen)
			seed1 := bytes.Repeat([]byte{1}, keyLen%40)
			seed2 := bytes.Repeat([]byte{2}, 32)
			p.setKey(secret)
			for _, n := range []int{1, 12, 32, 48, 49, 97, 160} {
				t.Run(fmt.Sprintf("%s/key%d/out%d", h.name, keyLen, n), func(t *testing.T) {
					got := make([]byte, n+1)
					p.derive(got[:n], labelKeyExpansion, seed1, seed2)
					seed := append(append(append([]byte(nil), labelKeyExpansion...), seed1...), seed2...)
					want, err := prf.PHash(secret, seed, n, h.new)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got[:n], want) {
						t.Fatalf("got %x\nwant %x", got[:n], want)
					}
					if got[n] != 0 {
						t.Fatal("derive wrote past the output")
					}
				})
			}
		}
		p.wipe()
		if p.istate != nil || p.ostate != nil || !bytes.Equal(p.states[0][:], make([]byte, maxState)) {
			t.Errorf("%s: wipe left the key's states", h.name)
		}
	}
}

// A handshake that fails after deriving its keys leaves none of its secrets
// behind: with different keys on each side, both ends reach the Finished
// step holding a master secret, a key block and the PRF's keyed states, and
// aborting wipes them all.
func TestHandshakeSecretsWipedOnFailure(t *testing.T) {
	l := newLink(t, Config{PSK: keyFor("id", "one key", nil)}, Config{PSK: keyFor("", "another key", nil)})
	l.client.DoHandshake(nil)
	l.send(true, l.client.Outgoing())
	l.exchange(4)
	zero := make([]byte, maxState)
	for _, s := range []*Session{l.client, l.server} {
		hs := s.hs
		if hs == nil || hs.step != stepWaitFinished || bytes.Equal(hs.master, zero[:48]) || hs.prf == nil || hs.prf.istate == nil {
			t.Fatalf("mode %d: not at the Finished step with keys derived", s.Mode())
		}
		prf := hs.prf
		if !s.AbortHandshake() {
			t.Fatal(s.DtlsErrorString())
		}
		if !bytes.Equal(hs.secrets[:], zero[:len(hs.secrets)]) {
			t.Errorf("mode %d: master secret or key block left: %x", s.Mode(), hs.secrets)
		}
		if hs.prf != nil || prf.istate != nil || !bytes.Equal(prf.states[0][:], zero) || !bytes.Equal(prf.states[1][:], zero) {
			t.Errorf("mode %d: the PRF's keyed states left", s.Mode())
		}
	}
}
