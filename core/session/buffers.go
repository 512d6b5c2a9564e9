// SPDX-License-Identifier: MIT

package session

import (
	"hash"
	"slices"
	"sync"
)

// buffers holds what a handshake fills and then throws away, kept from one
// handshake to the next so that a handshake allocates little of its own:
// the messages it builds, the bytes it holds for the transcript before the
// suite is known, the peer's last message, the premaster secret and a
// transcript hash of each kind. A handshake takes one when it starts and a
// completed one gives it back, cleared (release); a failed one drops it.
type buffers struct {
	// arena holds our handshake messages (and a client's hello body) back
	// to back. It is only appended to during a handshake: a message built
	// stays where it is, and the flight items, the transcript and the
	// retransmissions read it there. When an append outgrows it, the
	// messages already built stay valid in the old array.
	arena     []byte
	held      []byte // the transcript's bytes before the suite's hash is known
	peerLast  []byte // the peer's last message of a flight (Session.peerLast)
	preMaster []byte // secret while in use; cleared once the keys are derived
	hashes    [hashKinds]hash.Hash
}

// maxKeptBuffer bounds the capacity of a buffer kept for the next
// handshake: one that an unusual handshake made large (a long identity
// hint or identity, many hellos) is left to the collector instead.
const maxKeptBuffer = 1024

var spareBuffers = sync.Pool{New: func() any { return new(buffers) }}

// bufs returns the handshake's buffers, taking them from the pool the
// first time.
func (hs *handshake) bufs() *buffers {
	if hs.buf == nil {
		hs.buf = spareBuffers.Get().(*buffers)
		hs.transcript.buf = hs.buf.held[:0]
	}
	return hs.buf
}

// release clears what a completed handshake left in b, so that nothing of
// it reaches the next one, and hands b back to the pool with held, the
// transcript's buffer.
func (b *buffers) release(held []byte) {
	b.held = held
	for _, p := range []*[]byte{&b.arena, &b.held, &b.peerLast, &b.preMaster} {
		// Whole capacity: a shorter message may have replaced a longer
		// one, and the transcript's bytes were let go of once hashed.
		clear((*p)[:cap(*p)])
		*p = (*p)[:0]
		if cap(*p) > maxKeptBuffer {
			*p = nil
		}
	}
	for _, h := range b.hashes {
		if h != nil {
			h.Reset()
		}
	}
	spareBuffers.Put(b)
}

// beginMessage starts our next handshake message at the end of the arena
// and returns the arena with room for its header: the caller appends the
// body and passes the result to addMessage, before anything else is put
// in the arena.
func (hs *handshake) beginMessage() []byte {
	return append(hs.bufs().arena, make([]byte, handshakeHeaderLen)...)
}

// reserve makes room for n more bytes in the arena.
func (hs *handshake) reserve(n int) {
	b := hs.bufs()
	b.arena = slices.Grow(b.arena, n)
}

// hold makes grown, the arena with bytes appended, the arena, and returns
// the bytes appended, which stay valid for the rest of the handshake.
func (hs *handshake) hold(grown []byte) []byte {
	b := hs.bufs()
	start := len(b.arena)
	b.arena = grown
	return grown[start:len(grown):len(grown)]
}

// transcriptHash returns a hash of the given kind for the transcript, reset:
// the one kept from an earlier handshake, or a new one.
func (hs *handshake) transcriptHash(kind hashKind) hash.Hash {
	b := hs.bufs()
	if b.hashes[kind] == nil {
		b.hashes[kind] = kind.new()
	}
	h := b.hashes[kind]
	h.Reset()
	return h
}
