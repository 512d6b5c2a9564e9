// SPDX-License-Identifier: MIT

package session

import (
	"encoding"
	"hash"

	"github.com/dtlsgate/dtlsgate/core/secret"
)

// Labels of the PRF outputs a handshake derives (RFC 5246 sections 6.3,
// 7.4.9 and 8.1, RFC 7627 section 4).
var (
	labelMaster         = []byte("master secret")
	labelExtended       = []byte("extended master secret")
	labelKeyExpansion   = []byte("key expansion")
	labelClientFinished = []byte("client finished")
	labelServerFinished = []byte("server finished")
)

const (
	maxHashSize = 64  // the largest digest of a suite's hash (SHA-384's is 48)
	maxState    = 216 // room for a marshaled SHA-256 (108 bytes) or SHA-384 (204) state
	maxBlock    = 128 // the largest block of a suite's hash
)

// hashState is a hash whose state can be saved and restored. Every suite's
// hash is one: the standard library's SHA-2 digests marshal.
type hashState interface {
	hash.Hash
	encoding.BinaryAppender
	encoding.BinaryUnmarshaler
}

// prfState is the TLS 1.2 PRF (RFC 5246 section 5) over one hash. Keyed
// once per secret, it keeps the HMAC's inner and outer states after the key
// pads, so an HMAC of a short input costs two compressions instead of four,
// and it keeps its buffers, so deriving allocates nothing. One lives in
// each handshake: keyed with the premaster secret for the master secret,
// then with the master secret for the key block and both Finished messages.
// One hash does the inner and the outer HMAC: each starts by restoring its
// saved state.
type prfState struct {
	h              hashState
	kind           hashKind
	istate, ostate []byte // the marshaled states after the key pads; secret
	states         [2][maxState]byte
	a, block, sum  [maxHashSize]byte // A(i), an output block, an inner digest
	pad            [maxBlock]byte
}

// init makes p a PRF over a hash of the given kind, not yet keyed. A state
// from the pool keeps its hash when it is of that kind.
func (p *prfState) init(kind hashKind) {
	if p.h == nil || p.kind != kind {
		p.h, p.kind = kind.new().(hashState), kind
	}
}

// setKey keys the HMAC with k, a secret.
func (p *prfState) setKey(k []byte) {
	bs := p.h.BlockSize()
	key := p.pad[:bs]
	clear(key)
	if len(k) > bs {
		// RFC 2104: a key longer than a block is hashed first. Our PSK
		// premaster secret is longer than a block when the key is longer
		// than 30 bytes. The hash reads whole blocks where they lie but
		// copies a last partial one, with memmove: that part goes in a
		// byte at a time (see package secret).
		whole := len(k) - len(k)%bs
		p.h.Reset()
		p.h.Write(k[:whole])
		for i := whole; i < len(k); i++ {
			p.h.Write(k[i : i+1])
		}
		p.h.Sum(key[:0])
	} else {
		secret.Copy(key, k)
	}
	afterKeyCopy()
	p.istate = p.keyState(p.states[0][:0], 0x36)
	// The inner pad becomes the outer one in place: one pass, and no pass
	// to get the key back, which is wiped next.
	p.ostate = p.keyState(p.states[1][:0], 0x36^0x5c)
	clear(key)
}

// keyState XORs p.pad (the key, or a pad of it) with x in place, hashes
// it, then saves the state in dst.
func (p *prfState) keyState(dst []byte, x byte) []byte {
	h := p.h
	key := p.pad[:h.BlockSize()]
	for i := range key {
		key[i] ^= x
	}
	h.Reset()
	h.Write(key)
	st, err := h.AppendBinary(dst)
	if err != nil {
		panic("session: a suite's hash cannot save its state: " + err.Error())
	}
	return st
}

// mac appends HMAC(key, parts joined) to dst.
func (p *prfState) mac(dst []byte, parts ...[]byte) []byte {
	p.restore(p.istate)
	for _, b := range parts {
		p.h.Write(b)
	}
	inner := p.h.Sum(p.sum[:0])
	p.restore(p.ostate)
	p.h.Write(inner)
	return p.h.Sum(dst)
}

func (p *prfState) restore(state []byte) {
	if err := p.h.UnmarshalBinary(state); err != nil {
		panic("session: a suite's hash cannot restore its state: " + err.Error())
	}
}

// derive fills out with PRF(secret, label, seed1 || seed2), the secret
// being the last key set. That is P_hash: the output is HMAC(A(1) || seed)
// || HMAC(A(2) || seed) || ..., where A(0) is the seed (the label included)
// and A(i) = HMAC(A(i-1)).
func (p *prfState) derive(out, label, seed1, seed2 []byte) {
	a := p.mac(p.a[:0], label, seed1, seed2)
	for {
		block := p.mac(p.block[:0], a, label, seed1, seed2)
		out = out[copy(out, block):]
		if len(out) == 0 {
			break
		}
		a = p.mac(p.a[:0], a)
	}
	clear(p.a[:])
	clear(p.block[:])
	clear(p.sum[:])
}

// wipe forgets the key: the saved states stand for it. A prfState never
// initialised has nothing to forget.
func (p *prfState) wipe() {
	clear(p.states[0][:])
	clear(p.states[1][:])
	p.istate, p.ostate = nil, nil
	if p.h != nil {
		p.h.Reset()
	}
}
