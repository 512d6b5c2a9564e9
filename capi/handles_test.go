// SPDX-License-Identifier: MIT

package main

import (
	"sync"
	"testing"
)

type thing struct{ n int }

func TestHandlesRefuseWhatWasNotIssued(t *testing.T) {
	a, b := newTable[thing](1), newTable[thing](2)
	x := &thing{1}
	id := a.add(x)
	if got, ok := a.get(id); !ok || got != x {
		t.Fatalf("get(%#x) = %v, %v", id, got, ok)
	}
	if id == 0 || id%16 != 0 || id>>(ptrBits-1) != 0 {
		t.Errorf("handle %#x: zero, unaligned or with the top bit set", id)
	}
	for _, bad := range []struct {
		name string
		id   uintptr
	}{
		{"zero", 0},
		{"unaligned", id + 8},
		{"another generation", id + 1<<genShift},
		{"a slot never used", id + 5<<indexShift},
		{"a slot past every chunk", id + chunkSize<<indexShift},
		{"all ones", ^uintptr(0)},
		{"all ones, aligned", ^uintptr(0) &^ 15},
	} {
		if _, ok := a.get(bad.id); ok {
			t.Errorf("%s (%#x) was found", bad.name, bad.id)
		}
		if _, ok := a.remove(bad.id); ok {
			t.Errorf("%s (%#x) was removed", bad.name, bad.id)
		}
	}
	// The same slot and generation in another kind's table.
	if _, ok := b.get(id); ok {
		t.Error("a handle was found in another kind's table")
	}
	y := &thing{2}
	idb := b.add(y)
	if idb == id {
		t.Errorf("two kinds issued the same handle %#x", id)
	}
	if got, ok := a.get(id); !ok || got != x {
		t.Error("adding to another table changed this one")
	}
}

func TestHandlesAreNotReused(t *testing.T) {
	tb := newTable[thing](kindServer)
	seen := map[uintptr]bool{}
	var live []uintptr
	for round := range 3 {
		for i := range 2*chunkSize + 3 { // more than one chunk
			id := tb.add(&thing{round*10000 + i})
			if seen[id] {
				t.Fatalf("handle %#x issued twice", id)
			}
			seen[id] = true
			live = append(live, id)
		}
		for i, id := range live {
			got, ok := tb.get(id)
			if !ok || got.n%10000 != i%(2*chunkSize+3) {
				t.Fatalf("handle %#x: %v, %v", id, got, ok)
			}
			if _, ok := tb.remove(id); !ok {
				t.Fatalf("remove(%#x) failed", id)
			}
			if _, ok := tb.get(id); ok {
				t.Fatalf("handle %#x found after remove", id)
			}
			if _, ok := tb.remove(id); ok {
				t.Fatalf("handle %#x removed twice", id)
			}
		}
		live = live[:0]
	}
	if tb.used != 2*chunkSize+3 {
		t.Errorf("%d slots in use after three rounds of %d: freed slots were not reused", tb.used, 2*chunkSize+3)
	}
}

func TestHandlesRetireASlotAtItsLastGeneration(t *testing.T) {
	tb := newTable[thing](kindServer)
	id := tb.add(&thing{})
	c := (*tb.chunks.Load())[0]
	c.gen[0] = maxGen - 1 // as if it had been used that often
	tb.remove(id)
	last := tb.add(&thing{})
	if last>>genShift&maxGen != maxGen || last>>indexShift&indexMask != 0 {
		t.Fatalf("handle %#x: not slot 0 at generation %#x", last, maxGen)
	}
	tb.remove(last)
	next := tb.add(&thing{})
	if next>>indexShift&indexMask == 0 {
		t.Errorf("slot 0 was reused after its last generation: %#x", next)
	}
	if _, ok := tb.get(last); ok {
		t.Error("the retired slot's last handle is still found")
	}
}

// A program that makes and frees objects one at a time keeps getting
// handles that fit a C int, the form the Python binding passes fastest,
// also once a slot has retired.
func TestHandlesStaySmallUnderChurn(t *testing.T) {
	tb := newTable[thing](kindVerifier)
	for i := range 2*maxGen + 10 {
		id := tb.add(&thing{i})
		if id > 0x7fffffff {
			t.Fatalf("object %d got handle %#x, beyond a C int", i, id)
		}
		tb.remove(id)
	}
	if tb.used != 3 {
		t.Errorf("%d slots used: slots retire after %d objects each", tb.used, maxGen+1)
	}
}

// Lookups race with adds, removes and the table's growth: each finds its
// own object or nothing, never another's (run under -race too).
func TestHandlesUnderConcurrentUse(t *testing.T) {
	tb := newTable[thing](kindServer)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 3000 {
				x := &thing{w*100000 + i}
				id := tb.add(x)
				for range 3 {
					if got, ok := tb.get(id); !ok || got != x {
						t.Errorf("handle %#x: %v, %v", id, got, ok)
						return
					}
				}
				if i%3 != 0 { // keep a third, so the table grows
					if got, ok := tb.remove(id); !ok || got != x {
						t.Errorf("remove(%#x): %v, %v", id, got, ok)
						return
					}
					if _, ok := tb.get(id); ok {
						t.Errorf("handle %#x found after remove", id)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// Every C call looks its handle up: that must not allocate, or no record
// call could be allocation-free.
func TestHandleLookupDoesNotAllocate(t *testing.T) {
	tb := newTable[thing](kindSession)
	id := tb.add(&thing{})
	if n := testing.AllocsPerRun(100, func() {
		if _, ok := tb.get(id); !ok {
			t.Fatal("not found")
		}
	}); n != 0 {
		t.Errorf("%v allocations per lookup", n)
	}
}

func BenchmarkHandleLookup(b *testing.B) {
	tb := newTable[thing](kindSession)
	ids := make([]uintptr, 64)
	for i := range ids {
		ids[i] = tb.add(&thing{i})
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, ok := tb.get(ids[i&63]); !ok {
			b.Fatal("not found")
		}
	}
}
