// SPDX-License-Identifier: MIT

package main

import (
	"sync"
	"sync/atomic"
)

// Handles given to C are numbers from one counter shared by every kind of
// object, never reused, so a freed handle or one of the wrong kind is found
// missing from its table instead of reaching freed or foreign memory.
var lastHandle atomic.Uintptr

// Steps keep handle values aligned like real pointers, for C and C++ code
// that might check.
const handleStep = 16

func newHandleID() uintptr { return lastHandle.Add(handleStep) }

// table maps live handle ids to their objects.
type table[T any] struct{ m sync.Map }

func (t *table[T]) add(obj *T) uintptr {
	id := newHandleID()
	t.m.Store(id, obj)
	return id
}

func (t *table[T]) get(id uintptr) (*T, bool) {
	if id == 0 {
		return nil, false
	}
	v, ok := t.m.Load(id)
	if !ok {
		return nil, false
	}
	return v.(*T), true
}

// remove forgets id and returns its object, if it was live.
func (t *table[T]) remove(id uintptr) (*T, bool) {
	v, ok := t.m.LoadAndDelete(id)
	if !ok {
		return nil, false
	}
	return v.(*T), true
}
