// SPDX-License-Identifier: MIT

package cookie

import (
	"bytes"
	"testing"
	"time"
)

// TestNoAllocations checks the hot path: once warmed up, Mint and Check
// allocate nothing, whatever the outcome.
func TestNoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop objects, so allocations are expected")
	}
	check := func(t *testing.T, g *Generator) {
		t.Helper()
		buf := make([]byte, MaxSize)
		valid := mint(g, peer6)
		forged := bytes.Clone(valid)
		forged[len(forged)-1] ^= 1
		stale := bytes.Clone(valid)
		stale[1]-- // issued 2^24 seconds earlier
		for name, f := range map[string]func(){
			"Mint":             func() { g.Mint(buf, peer6) },
			"Check valid":      func() { g.Check(valid, peer6) },
			"Check forged":     func() { g.Check(forged, peer6) },
			"Check other peer": func() { g.Check(valid, peer4) },
			"Check expired":    func() { g.Check(stale, peer6) },
			"Check malformed":  func() { g.Check(valid[:7], peer6) },
		} {
			if n := testing.AllocsPerRun(1000, f); n != 0 {
				t.Errorf("%s: %v allocations", name, n)
			}
		}
	}
	for _, a := range supported() {
		t.Run(a.String(), func(t *testing.T) {
			g, _ := newTestGenerator(t, Parameters{Hash: a, Secret: []byte("allocation test")})
			check(t, g)
		})
	}
	t.Run("previous key", func(t *testing.T) {
		g, _ := newTestGenerator(t, DefaultParameters())
		c := mint(g, peer4)
		g.SetParameters(Parameters{Hash: Sha1, Secret: []byte("next")})
		if n := testing.AllocsPerRun(1000, func() { g.Check(c, peer4) }); n != 0 {
			t.Errorf("Check under the previous key: %v allocations", n)
		}
	})
	t.Run("fleet", func(t *testing.T) {
		g, _ := newTestGenerator(t, DefaultParameters())
		if err := g.SetFleet(FleetConfig{MasterKey: make([]byte, 32), Window: time.Minute}); err != nil {
			t.Fatal(err)
		}
		check(t, g)
	})
	t.Run("rotation on", func(t *testing.T) {
		g, _ := newTestGenerator(t, DefaultParameters())
		g.SetRotationInterval(time.Hour)
		check(t, g)
	})
}
