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
	g, clk := newTestGenerator(t, Parameters{Hash: Sha256, Secret: []byte("first")})
	c1 := mint(g, peer4)

	clk.Advance(20 * time.Second)
	// A different hash too: the previous key keeps its own hash and length.
	if err := g.SetParameters(Parameters{Hash: Md5, Secret: []byte("second")}); err != nil {
		t.Fatal(err)
	}
	c2 := mint(g, peer4)
	if c2[0] != 1 || len(c2) != Size(Md5) {
		t.Fatalf("after SetParameters: key id %d, length %d", c2[0], len(c2))
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
	if err := g.SetParameters(Parameters{Hash: Sha256, Secret: []byte("third")}); err != nil {
		t.Fatal(err)
	}
	if err := g.Check(c1, peer4); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("cookie two secrets ago: %v, want ErrUnknownKey", err)
	}
	if err := g.Check(c2, peer4); err != nil {
		t.Errorf("cookie under the previous secret: %v", err)
	}
	if err := g.Check(mint(g, peer4), peer4); err != nil {
		t.Errorf("cookie under the current secret: %v", err)
	}

	// Setting the parameters in use is not a rotation.
	if err := g.SetParameters(Parameters{Hash: Sha256, Secret: []byte("third")}); err != nil {
		t.Fatal(err)
	}
	if c := mint(g, peer4); c[0] != 2 {
		t.Errorf("same parameters again: key id %d, want 2", c[0])
	}
	if err := g.Check(c2, peer4); err != nil {
		t.Errorf("same parameters again dropped the previous secret: %v", err)
	}
}

func TestKeyIDWraps(t *testing.T) {
	g, _ := newTestGenerator(t, Parameters{Hash: Sha256, Secret: []byte{0}})
	for i := 1; i <= 257; i++ {
		if err := g.SetParameters(Parameters{Hash: Sha256, Secret: []byte{byte(i), byte(i >> 8)}}); err != nil {
			t.Fatal(err)
		}
	}
	if c := mint(g, peer4); c[0] != 1 {
		t.Errorf("after 257 changes: key id %d, want 1", c[0])
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

	clk.Advance(9 * time.Second)
	if c := mint(g, peer4); c[0] != 0 {
		t.Errorf("rotated early: key id %d", c[0])
	}

	// Rotation is lazy: it happens on the first use after it is due.
	clk.Advance(time.Second)
	if p := g.Parameters(); !bytes.Equal(p.Secret, first.Secret) {
		t.Error("rotated without being used")
	}
	c1 := mint(g, peer4)
	if c1[0] != 1 {
		t.Errorf("after the interval: key id %d, want 1", c1[0])
	}
	second := g.Parameters()
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
	if err := g.Check(c0, peer4); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("cookie two rotations old: %v, want ErrUnknownKey", err)
	}
	if c := mint(g, peer4); c[0] != 2 {
		t.Errorf("key id %d, want 2", c[0])
	}

	// Turning rotation off stops it.
	if err := g.SetRotationInterval(0); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	if c := mint(g, peer4); c[0] != 2 {
		t.Errorf("rotation off: key id %d, want 2", c[0])
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
				n := g.Mint(buf, peer)
				// Between Mint and Check the secret may change twice, which
				// retires the cookie's key. The clock moves 30s in all, less
				// than any lifetime set here, so nothing expires.
				switch err := g.Check(buf[:n], peer); {
				case err == nil:
					checked.Add(1)
				case errors.Is(err, ErrUnknownKey):
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
