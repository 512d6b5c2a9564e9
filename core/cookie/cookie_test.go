package cookie

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	for _, a := range supported() {
		t.Run(a.String(), func(t *testing.T) {
			g, _ := newTestGenerator(t, Parameters{Hash: a, Secret: []byte("round trip secret")})
			other, _ := newTestGenerator(t, Parameters{Hash: a, Secret: []byte("another secret")})
			for _, peer := range []netip.AddrPort{peer4, peer6} {
				c := mint(g, peer)
				if len(c) != Size(a) || len(c) > MaxSize {
					t.Fatalf("%v: cookie is %d bytes, Size() = %d", peer, len(c), Size(a))
				}
				if err := g.Check(c, peer); err != nil {
					t.Fatalf("%v: own cookie refused: %v", peer, err)
				}

				otherPort := netip.AddrPortFrom(peer.Addr(), peer.Port()+1)
				otherAddr := netip.AddrPortFrom(peer.Addr().Next(), peer.Port())
				for _, p := range []netip.AddrPort{otherPort, otherAddr, peer4, peer6} {
					if p == peer {
						continue
					}
					if err := g.Check(c, p); !errors.Is(err, ErrMismatch) {
						t.Errorf("cookie for %v checked for %v: %v, want ErrMismatch", peer, p, err)
					}
				}
				if err := other.Check(c, peer); !errors.Is(err, ErrMismatch) {
					t.Errorf("%v: cookie checked under another secret: %v, want ErrMismatch", peer, err)
				}

				checkTampering(t, g, c, peer)
				checkLengths(t, g, c, peer)
			}
		})
	}
}

// checkTampering flips every bit of c in turn: each copy must be refused,
// with the error the damaged field calls for.
func checkTampering(t *testing.T, g *Generator, c []byte, peer netip.AddrPort) {
	t.Helper()
	for i := range c {
		for bit := range 8 {
			bad := bytes.Clone(c)
			bad[i] ^= 1 << bit
			err := g.Check(bad, peer)
			switch {
			case i == 0 && !errors.Is(err, ErrUnknownKey),
				i >= 1 && i < 5 && !errors.Is(err, ErrExpired) && !errors.Is(err, ErrMismatch),
				i >= 5 && !errors.Is(err, ErrMismatch):
				t.Errorf("byte %d bit %d flipped: %v", i, bit, err)
			}
		}
	}
}

func checkLengths(t *testing.T, g *Generator, c []byte, peer netip.AddrPort) {
	t.Helper()
	long := append(bytes.Clone(c), 0)
	for _, bad := range [][]byte{nil, {}, c[:4], c[:5], c[:len(c)-1], long, make([]byte, MaxSize+1)} {
		if err := g.Check(bad, peer); !errors.Is(err, ErrMalformed) {
			t.Errorf("%d-byte cookie: %v, want ErrMalformed", len(bad), err)
		}
	}
}

func TestAddressForms(t *testing.T) {
	g, _ := newTestGenerator(t, DefaultParameters())
	// An IPv4 peer and the same peer seen on a dual-stack socket are one
	// address: the cookie covers the IPv4-mapped form of both.
	mapped := netip.AddrPortFrom(netip.AddrFrom16(peer4.Addr().As16()), peer4.Port())
	if err := g.Check(mint(g, peer4), mapped); err != nil {
		t.Errorf("IPv4-mapped peer: %v", err)
	}
	// The zone is not part of the address on the wire.
	zoned := netip.MustParseAddrPort("[fe80::1%eth0]:5684")
	plain := netip.MustParseAddrPort("[fe80::1]:5684")
	if err := g.Check(mint(g, zoned), plain); err != nil {
		t.Errorf("zone: %v", err)
	}
}

func TestLayout(t *testing.T) {
	secret := []byte("layout secret")
	g, c := newTestGenerator(t, Parameters{Hash: Sha256, Secret: secret})
	c.Advance(700 * time.Millisecond) // issued_at counts whole seconds
	for _, id := range []byte{0, 1} {
		got := mint(g, peer6)
		if got[0] != id {
			t.Errorf("key id %d, want %d", got[0], id)
		}
		if issued := binary.BigEndian.Uint32(got[1:5]); issued != t0 {
			t.Errorf("issued_at %d, want %d", issued, t0)
		}
		in := []byte{id, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(in[1:], t0)
		addr := peer6.Addr().As16()
		in = append(in, addr[:]...)
		in = binary.BigEndian.AppendUint16(in, peer6.Port())
		h := hmac.New(sha256.New, secret)
		h.Write(in)
		if want := h.Sum(nil)[:27]; !bytes.Equal(got[5:], want) {
			t.Errorf("tag %x, want %x", got[5:], want)
		}

		secret = []byte("next secret") // the next round checks key id 1
		if err := g.SetParameters(Parameters{Hash: Sha256, Secret: secret}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMintPanicsOnShortBuffer(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Mint into a short buffer did not panic")
		}
	}()
	NewDefaultGenerator().Mint(make([]byte, MaxSize-1), peer4)
}

func TestExpiry(t *testing.T) {
	g, clk := newTestGenerator(t, DefaultParameters())
	if g.Lifetime() != DefaultLifetime {
		t.Errorf("Lifetime() = %v, want %v", g.Lifetime(), DefaultLifetime)
	}
	c := mint(g, peer4)

	for _, lifetime := range []time.Duration{DefaultLifetime, 10 * time.Second, time.Second, MaxLifetime} {
		if lifetime != DefaultLifetime {
			if err := g.SetLifetime(lifetime); err != nil {
				t.Fatalf("SetLifetime(%v): %v", lifetime, err)
			}
		}
		if g.Lifetime() != lifetime {
			t.Errorf("Lifetime() = %v after setting %v", g.Lifetime(), lifetime)
		}
		clk.Set(t0)
		clk.Advance(lifetime)
		if err := g.Check(c, peer4); err != nil {
			t.Errorf("lifetime %v: refused at its end: %v", lifetime, err)
		}
		clk.Advance(time.Second)
		if err := g.Check(c, peer4); !errors.Is(err, ErrExpired) {
			t.Errorf("lifetime %v: a second later: %v, want ErrExpired", lifetime, err)
		}
	}

	// A cookie dated in the future is accepted within LocalSkew only.
	clk.Set(t0 - 1)
	if err := g.Check(c, peer4); err != nil {
		t.Errorf("clock 1s behind: %v", err)
	}
	clk.Set(t0 - 2)
	if err := g.Check(c, peer4); !errors.Is(err, ErrExpired) {
		t.Errorf("clock 2s behind: %v, want ErrExpired", err)
	}

	for _, bad := range []time.Duration{0, -time.Second, 500 * time.Millisecond,
		1500 * time.Millisecond, MaxLifetime + time.Second} {
		if err := g.SetLifetime(bad); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("SetLifetime(%v) = %v, want ErrInvalidConfig", bad, err)
		}
	}
	if g.Lifetime() != MaxLifetime {
		t.Errorf("a refused lifetime changed it to %v", g.Lifetime())
	}
}

// TestIssuedAtWraps checks that issued_at, 32-bit Unix seconds, keeps working
// when the counter wraps in 2106.
func TestIssuedAtWraps(t *testing.T) {
	g, clk := newTestGenerator(t, DefaultParameters())
	clk.Set(1<<32 - 10)
	c := mint(g, peer4)
	clk.Set(1<<32 + 20)
	if err := g.Check(c, peer4); err != nil {
		t.Errorf("across the wrap: %v", err)
	}
	clk.Set(1<<32 + 51)
	if err := g.Check(c, peer4); !errors.Is(err, ErrExpired) {
		t.Errorf("61s later, across the wrap: %v, want ErrExpired", err)
	}
}

func TestParameters(t *testing.T) {
	for _, secret := range [][]byte{nil, {}} {
		p := Parameters{Hash: Sha256, Secret: secret}
		err := p.Validate()
		if !errors.Is(err, ErrEmptySecret) || err.Error() != "Invalid (empty) secret" {
			t.Errorf("Validate with secret %#v = %v", secret, err)
		}
		if _, err := NewGenerator(p); !errors.Is(err, ErrEmptySecret) {
			t.Errorf("NewGenerator with empty secret: %v", err)
		}
	}
	if err := (Parameters{Hash: Keccak_384, Secret: []byte("s")}).Validate(); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Errorf("Validate(Keccak_384) = %v", err)
	}

	secret := []byte("caller's secret")
	g, err := NewGenerator(Parameters{Hash: Sha512, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	c := mint(g, peer4)
	secret[0] ^= 0xff // the generator must have taken a copy
	got := g.Parameters()
	if got.Hash != Sha512 || string(got.Secret) != "caller's secret" {
		t.Errorf("Parameters() = %v %q", got.Hash, got.Secret)
	}
	got.Secret[0] ^= 0xff // and hand out a copy
	if err := g.Check(c, peer4); err != nil {
		t.Errorf("changing the caller's slices changed the generator: %v", err)
	}

	if err := g.SetParameters(Parameters{Hash: Sha256}); !errors.Is(err, ErrEmptySecret) {
		t.Errorf("SetParameters with empty secret: %v", err)
	}
	if err := g.SetParameters(Parameters{Hash: Blake2s_160, Secret: []byte("x")}); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Errorf("SetParameters(Blake2s_160): %v", err)
	}
	if p := g.Parameters(); p.Hash != Sha512 || string(p.Secret) != "caller's secret" {
		t.Errorf("refused parameters were applied: %v %q", p.Hash, p.Secret)
	}
}

func TestDefaultParameters(t *testing.T) {
	p1, p2 := DefaultParameters(), DefaultParameters()
	if p1.Hash != Sha256 || len(p1.Secret) != 32 || !bytes.Equal(p1.Secret, p2.Secret) {
		t.Fatalf("DefaultParameters() = %v %x, then %x", p1.Hash, p1.Secret, p2.Secret)
	}
	if bytes.Equal(p1.Secret, make([]byte, 32)) {
		t.Error("default secret is all zeros")
	}
	p1.Secret[0] ^= 0xff
	if p3 := DefaultParameters(); !bytes.Equal(p3.Secret, p2.Secret) {
		t.Error("changing a returned secret changed the default")
	}

	a, b := NewDefaultGenerator(), NewDefaultGenerator()
	if err := b.Check(mint(a, peer4), peer4); err != nil {
		t.Errorf("default generators do not share a secret: %v", err)
	}
	if err := a.Check(mint(b, peer6), peer6); err != nil {
		t.Errorf("default generators do not share a secret: %v", err)
	}
	if p := a.Parameters(); p.Hash != Sha256 || !bytes.Equal(p.Secret, p2.Secret) {
		t.Errorf("NewDefaultGenerator().Parameters() = %v %x", p.Hash, p.Secret)
	}
}
