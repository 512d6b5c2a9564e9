// SPDX-License-Identifier: MIT

package main

import (
	"sync"
	"sync/atomic"
)

// A handle given to C is a number, not an address: its object's slot in
// the table of its kind, the slot's generation and the kind, in the bits
//
//	| 0 | slot index | generation | kind | 0000 |
//
// Every call looks its handle up, so finding the object is a few loads with
// no lock: the slot is found by indexing, and the entry in it names the
// handle it was issued for, which must be the handle asked for. A freed
// handle finds its slot empty or holding a later generation, a handle of
// another kind has the other kind's bits, and a number the library never
// issued finds no entry or one with another number. A slot whose
// generations are used up is retired, so no handle value is ever issued
// twice.
//
// Slots are reused most recent first, so a program with few live objects
// of a kind keeps getting small handles: below 2^31 while the slot index
// is under 256, which the Python binding passes as a C int, its cheapest
// form. The low four bits stay zero so that handles are aligned like the
// pointers they pass for, for C and C++ code that might check.
const (
	handleAlign = 4
	kindBits    = 3
	// 16 bits of generation on 64-bit targets (a slot retires after 65536
	// objects, 12 bytes a time) and 40 of slot index; 8 and 16 on 32-bit.
	ptrBits    = 32 << (^uintptr(0) >> 63)
	genBits    = ptrBits / 4
	genShift   = handleAlign + kindBits
	indexShift = genShift + genBits
	indexBits  = ptrBits - 1 - indexShift
	kindMask   = 1<<kindBits - 1
	indexMask  = 1<<indexBits - 1
	maxGen     = 1<<genBits - 1

	chunkBits = 10
	chunkSize = 1 << chunkBits
)

// table holds the live objects of one kind behind their handles. Lookups
// are lock-free; adding and removing take mu, and are rare next to them
// (an object's creation and its end).
type table[T any] struct {
	kind   uintptr
	chunks atomic.Pointer[[]*chunk[T]] // grows by copying; chunks never move

	mu   sync.Mutex
	free []uintptr // slots emptied by remove, for reuse, the last first
	used uintptr   // slots handed out so far, free ones included
}

// chunk is a block of slots: allocated once, never moved or freed, so a
// lookup that raced with the table's growth still reads the right slot.
type chunk[T any] struct {
	slots [chunkSize]atomic.Pointer[entry[T]]
	gen   [chunkSize]uint16 // the generation the slot's next handle gets; under mu
}

// entry is never changed once stored: a lookup that loaded it sees the
// object and the handle together.
type entry[T any] struct {
	id  uintptr
	obj *T
}

// The kinds of handle: each table has its own, so that a handle is never
// found in another kind's table.
const (
	kindVerifier = 1 + iota
	kindAuthenticator
	kindSession
	kindServer
)

func newTable[T any](kind uintptr) *table[T] {
	if kind == 0 || kind > kindMask {
		panic("capi: a kind of handle the handle bits cannot hold")
	}
	return &table[T]{kind: kind}
}

// slot is where id points, or nil when id cannot be a handle of t's kind.
func (t *table[T]) slot(id uintptr) *atomic.Pointer[entry[T]] {
	if id&(1<<handleAlign-1) != 0 || id>>handleAlign&kindMask != t.kind {
		return nil
	}
	i := id >> indexShift & indexMask
	chunks := t.chunks.Load()
	if chunks == nil || i>>chunkBits >= uintptr(len(*chunks)) {
		return nil
	}
	return &(*chunks)[i>>chunkBits].slots[i&(chunkSize-1)]
}

// add gives obj a handle. It panics when the kind's slots are all used up,
// which takes 2^56 objects; the calls that make objects turn that into NULL.
func (t *table[T]) add(obj *T) uintptr {
	t.mu.Lock()
	defer t.mu.Unlock()
	var i uintptr
	if n := len(t.free); n > 0 {
		i, t.free = t.free[n-1], t.free[:n-1]
	} else {
		if t.used > indexMask {
			panic("capi: the handles of one kind are used up")
		}
		i = t.used
		t.used++
		t.grow(i)
	}
	c := (*t.chunks.Load())[i>>chunkBits]
	k := i & (chunkSize - 1)
	id := i<<indexShift | uintptr(c.gen[k])<<genShift | t.kind<<handleAlign
	c.slots[k].Store(&entry[T]{id: id, obj: obj})
	return id
}

// grow makes sure slot i has a chunk; with mu held.
func (t *table[T]) grow(i uintptr) {
	var chunks []*chunk[T]
	if p := t.chunks.Load(); p != nil {
		chunks = *p
	}
	if i>>chunkBits < uintptr(len(chunks)) {
		return
	}
	grown := append(chunks[:len(chunks):len(chunks)], new(chunk[T]))
	t.chunks.Store(&grown)
}

func (t *table[T]) get(id uintptr) (*T, bool) {
	s := t.slot(id)
	if s == nil {
		return nil, false
	}
	e := s.Load()
	if e == nil || e.id != id {
		return nil, false
	}
	return e.obj, true
}

// remove forgets id and returns its object, if it was live. The slot goes
// back for reuse under its next generation, unless that was its last.
func (t *table[T]) remove(id uintptr) (*T, bool) {
	s := t.slot(id)
	if s == nil {
		return nil, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e := s.Load()
	if e == nil || e.id != id {
		return nil, false
	}
	s.Store(nil)
	i := id >> indexShift & indexMask
	c := (*t.chunks.Load())[i>>chunkBits]
	k := i & (chunkSize - 1)
	if c.gen[k] < maxGen {
		c.gen[k]++
		t.free = append(t.free, i)
	}
	return e.obj, true
}
