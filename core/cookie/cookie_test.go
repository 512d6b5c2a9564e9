// SPDX-License-Identifier: MIT

package cookie

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	for _, a := range supported() {
		t.Run(a.String(), func(t *testing.T) {
			secret := []byte("round trip secret")
			g, _ := newTestGenerator(t, Parameters{Hash: a, Secret: secret})
			// other has another secret, and so (for these secrets, under
			// every hash) another key id. twin has another secret with the
			// same key id, so the tag alone must tell the secrets apart.
			otherSecret := []byte("another secret")
			if derivedID(a, otherSecret) == derivedID(a, secret) {
				t.Fatalf("fixture: the two secrets share key id %d", derivedID(a, secret))
			}
			other, _ := newTestGenerator(t, Parameters{Hash: a, Secret: otherSecret})
			twin, _ := newTestGenerator(t, Parameters{Hash: a,
				Secret: secretWithID(t, a, derivedID(a, secret), "twin secret ", nil)})
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
				if c[0] != derivedID(a, secret) {
					t.Errorf("%v: key id %d, want %d", peer, c[0], derivedID(a, secret))
				}
				if err := other.Check(c, peer); !errors.Is(err, ErrUnknownKey) {
					t.Errorf("%v: cookie checked under another secret (another key id): %v, want ErrUnknownKey", peer, err)
				}
				if err := twin.Check(c, peer); !errors.Is(err, ErrMismatch) {
					t.Errorf("%v: cookie checked under another secret with the same key id: %v, want ErrMismatch", peer, err)
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

// TestLayout pins the whole cookie for an IPv6 peer, before and after a
// change of secret. The expected cookies were computed outside Go, in Python
// 3.11: key id = hashlib.sha256(bytes([4]) + secret).digest()[0] (4 is
// Sha256's number), then hmac.new(secret, input, "sha256") over the 23-byte
// input, first 27 bytes kept:
//
//	16 6553f100 20010db8000000000000000000000001 01bb  ("layout secret", id 22)
//	7d 6553f100 20010db8000000000000000000000001 01bb  ("next secret", id 125)
func TestLayout(t *testing.T) {
	g, c := newTestGenerator(t, Parameters{Hash: Sha256, Secret: []byte("layout secret")})
	c.Advance(700 * time.Millisecond) // issued_at counts whole seconds
	for _, step := range []struct {
		secret string
		id     byte
		want   string
	}{
		{"layout secret", 22, "166553f100" + "cde5e1c6238b033caca24573f0f340a901da85ffba89e689844188"},
		{"next secret", 125, "7d6553f100" + "3cb0b5afd51df99b16276077d2785618f1f909065bebcce5ff4ed2"},
	} {
		if err := g.SetParameters(Parameters{Hash: Sha256, Secret: []byte(step.secret)}); err != nil {
			t.Fatal(err)
		}
		if id := derivedID(Sha256, []byte(step.secret)); id != step.id {
			t.Fatalf("%q: derivedID = %d, want %d", step.secret, id, step.id)
		}
		got := mint(g, peer6)
		if got[0] != step.id {
			t.Errorf("%q: key id %d, want %d", step.secret, got[0], step.id)
		}
		if issued := binary.BigEndian.Uint32(got[1:5]); issued != t0 {
			t.Errorf("%q: issued_at %d, want %d", step.secret, issued, t0)
		}
		if hex.EncodeToString(got) != step.want {
			t.Errorf("%q: cookie %x, want %s", step.secret, got, step.want)
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
