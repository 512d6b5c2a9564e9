// SPDX-License-Identifier: MIT

package cookie

import (
	"bytes"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSetParametersKeepsPrevious(t *testing.T) {
	first, second, third := []byte("first"), []byte("second"), []byte("third")
	// The fixture's ids: each secret's derived id, no two alike, so no
	// collision rule applies and the cookie from two secrets ago names no
	// key the generator holds.
	id1, id2, id3 := derivedID(Sha256, first), derivedID(Md5, second), derivedID(Sha256, third)
	if id1 == id2 || id2 == id3 || id1 == id3 {
		t.Fatalf("fixture: key ids %d, %d, %d are not distinct", id1, id2, id3)
	}
	g, clk := newTestGenerator(t, Parameters{Hash: Sha256, Secret: first})
	c1 := mint(g, peer4)
	if c1[0] != id1 {
		t.Errorf("first key id %d, want %d", c1[0], id1)
	}

	clk.Advance(20 * time.Second)
	// A different hash too: the previous key keeps its own hash and length.
	if err := g.SetParameters(Parameters{Hash: Md5, Secret: second}); err != nil {
		t.Fatal(err)
	}
	c2 := mint(g, peer4)
	if c2[0] != id2 || len(c2) != Size(Md5) {
		t.Fatalf("after SetParameters: key id %d, length %d; want %d, %d", c2[0], len(c2), id2, Size(Md5))
	}
	if err := g.Check(c1, peer4); err != nil {
		t.Errorf("cookie from before SetParameters: %v", err)
	}
	clk.Set(t0 + 60)
	if err := g.Check(c1, peer4); err != nil {
		t.Errorf("cookie from before SetParameters, at the end of its lifetime: %v", err)
	}
	clk.Set(t0 + 61)
	if err := g.Check(c1, peer4); !errors.Is(err, ErrExpired) {
		t.Errorf("cookie from before SetParameters, after its lifetime: %v, want ErrExpired", err)
	}

	clk.Set(t0 + 30)
	if err := g.SetParameters(Parameters{Hash: Sha256, Secret: third}); err != nil {
		t.Fatal(err)
	}
	if err := g.Check(c1, peer4); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("cookie two secrets ago: %v, want ErrUnknownKey", err)
	}
	if err := g.Check(c2, peer4); err != nil {
		t.Errorf("cookie under the previous secret: %v", err)
	}
	c3 := mint(g, peer4)
	if c3[0] != id3 {
		t.Errorf("third key id %d, want %d", c3[0], id3)
	}
	if err := g.Check(c3, peer4); err != nil {
		t.Errorf("cookie under the current secret: %v", err)
	}

	// Setting the parameters in use is not a rotation.
	if err := g.SetParameters(Parameters{Hash: Sha256, Secret: third}); err != nil {
		t.Fatal(err)
	}
	if c := mint(g, peer4); c[0] != id3 {
		t.Errorf("same parameters again: key id %d, want %d", c[0], id3)
	}
	if err := g.Check(c2, peer4); err != nil {
		t.Errorf("same parameters again dropped the previous secret: %v", err)
	}
}

// TestKeyIDCollision checks a change to a secret whose derived key id is
// that of the secret it replaces: both keep the id, and Check tries both, so
// the cookies of both verify, while a generator holding only one of them
// tells them apart by the tag.
func TestKeyIDCollision(t *testing.T) {
	// Two secrets with one derived id, found by a deterministic search.
	s1 := secretWithID(t, Sha256, derivedID(Sha256, []byte("collision 0")), "collision ", nil)
	s2 := secretWithID(t, Sha256, derivedID(Sha256, s1), "collision ", s1)
	id := derivedID(Sha256, s1)
	if derivedID(Sha256, s2) != id || bytes.Equal(s1, s2) {
		t.Fatalf("fixture: %q and %q must be different secrets with one key id", s1, s2)
	}

	g, clk := newTestGenerator(t, Parameters{Hash: Sha256, Secret: s1})
	c1 := mint(g, peer4)
	clk.Advance(10 * time.Second)
	if err := g.SetParameters(Parameters{Hash: Sha256, Secret: s2}); err != nil {
		t.Fatal(err)
	}
	c2 := mint(g, peer4)
	if c1[0] != id || c2[0] != id {
		t.Fatalf("key ids %d and %d, want %d for both", c1[0], c2[0], id)
	}
	for name, c := range map[string][]byte{"previous": c1, "current": c2} {
		if err := g.Check(c, peer4); err != nil {
			t.Errorf("cookie under the %s secret: %v", name, err)
		}
		forged := bytes.Clone(c)
		forged[len(forged)-1] ^= 1
		if err := g.Check(forged, peer4); !errors.Is(err, ErrMismatch) {
			t.Errorf("forged cookie with the %s secret's id: %v, want ErrMismatch", name, err)
		}
	}

	// A generator given s2 from the start agrees on c2 and refuses c1.
	fresh, _ := newTestGenerator(t, Parameters{Hash: Sha256, Secret: s2})
	fresh.SetClock(clk.Now)
	if err := fresh.Check(c2, peer4); err != nil {
		t.Errorf("fresh generator with the same parameters: %v", err)
	}
	if err := fresh.Check(c1, peer4); !errors.Is(err, ErrMismatch) {
		t.Errorf("fresh generator, cookie under the other secret: %v, want ErrMismatch", err)
	}
}

// TestEqualParametersAgree checks that generators given equal parameters
// accept each other's cookies whatever secrets they had before: the key id
// depends only on the hash and the secret.
func TestEqualParametersAgree(t *testing.T) {
	for _, a := range supported() {
		t.Run(a.String(), func(t *testing.T) {
			p := Parameters{Hash: a, Secret: []byte("shared secret")}
			id := derivedID(a, p.Secret)

			fresh, _ := newTestGenerator(t, p)

			// Two other parameter sets first. The key p replaces must not
			// have p's derived id, or the collision rule would move p's
			// (see TestKeyIDCollision): that key has its derived id or,
			// after a collision of its own, the next one.
			changed, _ := newTestGenerator(t, Parameters{Hash: Md5, Secret: []byte("history 1")})
			before := Parameters{Hash: Sha512, Secret: []byte("history 2")}
			if b := derivedID(before.Hash, before.Secret); b == id || b+1 == id {
				t.Fatalf("fixture: %q has key id %d, too close to %d", before.Secret, b, id)
			}
			for _, q := range []Parameters{before, p} {
				if err := changed.SetParameters(q); err != nil {
					t.Fatal(err)
				}
			}

			// Automatic rotations (random secrets), fleet mode and back,
			// then the same two parameter sets.
			rotated, clk := newTestGenerator(t, DefaultParameters())
			if err := rotated.SetRotationInterval(time.Second); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				clk.Advance(time.Second)
				mint(rotated, peer4)
			}
			if err := rotated.SetFleet(fleetConfig); err != nil {
				t.Fatal(err)
			}
			rotated.LeaveFleet()
			for _, q := range []Parameters{before, p} {
				if err := rotated.SetParameters(q); err != nil {
					t.Fatal(err)
				}
			}
			if err := rotated.SetRotationInterval(0); err != nil {
				t.Fatal(err)
			}

			gens := []*Generator{fresh, changed, rotated}
			for _, g := range gens {
				g.SetClock(clk.Now) // one clock, so only the keys can differ
			}
			for i, g := range gens {
				c := mint(g, peer6)
				if c[0] != id {
					t.Errorf("generator %d: key id %d, want %d", i, c[0], id)
				}
				for j, h := range gens {
					if err := h.Check(c, peer6); err != nil {
						t.Errorf("generator %d refused generator %d's cookie: %v", j, i, err)
					}
				}
			}
		})
	}
}

func TestAutomaticRotation(t *testing.T) {
	g, clk := newTestGenerator(t, DefaultParameters())
	if g.RotationInterval() != 0 {
		t.Errorf("RotationInterval() = %v, want 0 (off)", g.RotationInterval())
	}
	for _, bad := range []time.Duration{-time.Second, time.Nanosecond, 999 * time.Millisecond} {
		if err := g.SetRotationInterval(bad); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("SetRotationInterval(%v) = %v, want ErrInvalidConfig", bad, err)
		}
	}
	if err := g.SetRotationInterval(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if g.RotationInterval() != 10*time.Second {
		t.Errorf("RotationInterval() = %v", g.RotationInterval())
	}
	first := g.Parameters()
	c0 := mint(g, peer4)
	if id := derivedID(first.Hash, first.Secret); c0[0] != id {
		t.Errorf("key id %d, want %d", c0[0], id)
	}

	clk.Advance(9 * time.Second)
	if c := mint(g, peer4); c[0] != c0[0] {
		t.Errorf("rotated early: key id %d, want %d", c[0], c0[0])
	}

	// Rotation is lazy: it happens on the first use after it is due.
	clk.Advance(time.Second)
	if p := g.Parameters(); !bytes.Equal(p.Secret, first.Secret) {
		t.Error("rotated without being used")
	}
	c1 := mint(g, peer4)
	second := g.Parameters()
	if id := derivedID(second.Hash, second.Secret); c1[0] != id {
		t.Errorf("after the interval: key id %d, want %d", c1[0], id)
	}
	if second.Hash != first.Hash || len(second.Secret) != 32 || bytes.Equal(second.Secret, first.Secret) {
		t.Errorf("rotated to %v %x from %v %x", second.Hash, second.Secret, first.Hash, first.Secret)
	}
	if err := g.Check(c0, peer4); err != nil {
		t.Errorf("cookie from before the rotation: %v", err)
	}

	// An idle generator rotates once, not once per missed interval.
	clk.Advance(45 * time.Second)
	if err := g.Check(c1, peer4); err != nil {
		t.Errorf("cookie under the previous secret: %v", err)
	}
	third := g.Parameters()
	if bytes.Equal(third.Secret, second.Secret) || len(third.Secret) != 32 {
		t.Errorf("second rotation: secret %x after %x", third.Secret, second.Secret)
	}
	id3 := derivedID(third.Hash, third.Secret)
	// The random second or third secret's derived id may happen (chance
	// 1/256 each) to be c0's: c0 then names the previous or the current
	// key, whose tag it does not match.
	wantErr := ErrUnknownKey
	if id3 == c0[0] || c1[0] == c0[0] {
		wantErr = ErrMismatch
	}
	if err := g.Check(c0, peer4); !errors.Is(err, wantErr) {
		t.Errorf("cookie two rotations old: %v, want %v", err, wantErr)
	}
	if c := mint(g, peer4); c[0] != id3 {
		t.Errorf("key id %d, want %d", c[0], id3)
	}

	// Turning rotation off stops it.
	if err := g.SetRotationInterval(0); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	if c := mint(g, peer4); c[0] != id3 {
		t.Errorf("rotation off: key id %d, want %d", c[0], id3)
	}
	if p := g.Parameters(); !bytes.Equal(p.Secret, third.Secret) {
		t.Error("rotation off: the secret changed")
	}
}

// TestConcurrentUse mints and checks from several goroutines while secrets
// rotate, parameters and lifetime change and the clock moves. Run with -race.
func TestConcurrentUse(t *testing.T) {
	g, clk := newTestGenerator(t, DefaultParameters())
	if err := g.SetRotationInterval(time.Second); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var checked, retired atomic.Int64
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			buf := make([]byte, MaxSize)
			peer := netip.AddrPortFrom(peer4.Addr(), uint16(1000+i))
			for !stop.Load() {
				// The cookie's key is the one current now or a later one.
				before := g.state.Load().cur
				n := g.Mint(buf, peer)
				// Between Mint and Check the secret may change twice, which
				// retires the cookie's key. The clock moves 30s in all, less
				// than any lifetime set here, so nothing expires.
				switch err := g.Check(buf[:n], peer); {
				case err == nil:
					checked.Add(1)
				case errors.Is(err, ErrUnknownKey), errors.Is(err, ErrMismatch), errors.Is(err, ErrMalformed):
					// A retired key's id usually names no key held
					// (ErrUnknownKey). Ids are derived from the secrets, so
					// it may name a newer key (chance 1/256 per change):
					// one with another secret (ErrMismatch) or another hash,
					// hence another cookie length (ErrMalformed). Either
					// way the key current before Mint must be retired too.
					if s := g.state.Load(); s.cur == before || s.prev == before {
						t.Errorf("fresh cookie refused: %v", err)
						stop.Store(true)
					}
					retired.Add(1)
				default:
					t.Errorf("fresh cookie refused: %v", err)
					stop.Store(true)
				}
				if g.Check(buf[:n], peer6) == nil {
					t.Error("cookie accepted for another peer")
					stop.Store(true)
				}
			}
		})
	}

	for step := 0; step < 300 && !stop.Load(); step++ {
		switch step % 3 {
		case 0:
			clk.Advance(300 * time.Millisecond) // an automatic rotation every few steps
		case 1:
			p := Parameters{Hash: []Algorithm{Sha256, Md5, Blake2b_512}[step%9/3], Secret: []byte{byte(step)}}
			if err := g.SetParameters(p); err != nil {
				t.Error(err)
			}
		case 2:
			if err := g.SetLifetime(time.Duration(31+step%30) * time.Second); err != nil {
				t.Error(err)
			}
		}
		// Let the workers get on before the next change, but not for long
		// if the scheduler starves them. A busy wait: yielding with
		// runtime.Gosched starved this goroutine instead.
		n, start := checked.Load()+retired.Load(), time.Now()
		for checked.Load()+retired.Load() < n+20 && !stop.Load() && time.Since(start) < 10*time.Millisecond {
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d cookies checked, %d retired by two changes in between", checked.Load(), retired.Load())
}
