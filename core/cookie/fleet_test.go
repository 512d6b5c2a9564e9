package cookie

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"
	"time"
)

var fleetConfig = FleetConfig{
	MasterKey: []byte("dtlsgate fleet master key 0123"),
	Window:    60 * time.Second,
	MaxSkew:   5 * time.Second,
}

// newFleetNode returns a generator in fleet mode on its own clock. Each node
// starts from a different local secret, as separate processes would.
func newFleetNode(t *testing.T, c FleetConfig, unix int64) (*Generator, *testClock) {
	t.Helper()
	g, clk := newTestGenerator(t, Parameters{Hash: Sha256, Secret: randomSecret()})
	clk.Set(unix)
	if err := g.SetFleet(c); err != nil {
		t.Fatal(err)
	}
	return g, clk
}

// TestFleetKnownAnswer pins the window secret derivation documented in
// doc.go, so other implementations can join a fleet. The expected cookie was
// computed in Python: HKDF-SHA256 written out with hmac (RFC 5869, checked
// against the cryptography package's HKDF) over the master key with info
// "dtlsgate cookie v1\0Sha256\0" || window 28333333 as 8 bytes big-endian,
// giving the secret eccc813c...a92e384c, then HMAC-SHA256 over the cookie
// input for 198.51.100.7:5684 at t0.
func TestFleetKnownAnswer(t *testing.T) {
	g, _ := newFleetNode(t, fleetConfig, t0)
	got := mint(g, netip.MustParseAddrPort("198.51.100.7:5684"))
	const want = "156553f10001e7f57668f62f67d909a19b06bfa5750223ac1038d533d145d9c1"
	if hex.EncodeToString(got) != want {
		t.Errorf("cookie %x, want %s", got, want)
	}
}

func TestFleet(t *testing.T) {
	const skew = 5
	for _, tc := range []struct {
		name   string
		a, b   int64 // the two nodes' clocks
		expect error
	}{
		{"same clock", t0, t0, nil},
		{"checker ahead by MaxSkew", t0, t0 + skew, nil},
		{"checker behind by MaxSkew", t0, t0 - skew, nil},
		{"checker behind beyond MaxSkew", t0, t0 - skew - 1, ErrExpired},
		{"at the end of the lifetime", t0, t0 + 60, nil},
		{"after the lifetime", t0, t0 + 61, ErrExpired},
		// t0 is 20s into a 60s window: these cross window boundaries.
		{"minted in the last second of a window", t0 + 39, t0 + 41, nil},
		{"minted in the first second of a window, checker behind", t0 + 40, t0 + 40 - skew, nil},
		{"checked several windows later", t0 + 30, t0 + 30 + 60, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := newFleetNode(t, fleetConfig, tc.a)
			b, _ := newFleetNode(t, fleetConfig, tc.b)
			c := mint(a, peer4)
			if err := b.Check(c, peer4); !errors.Is(err, tc.expect) {
				t.Errorf("b.Check(a's cookie) = %v, want %v", err, tc.expect)
			}
			if err := b.Check(c, peer6); err == nil {
				t.Error("a's cookie verified for another peer")
			}
		})
	}

	// The key id is the window number modulo 256.
	g, clk := newFleetNode(t, fleetConfig, t0)
	const id = t0 / 60 % 256
	if c := mint(g, peer4); c[0] != id {
		t.Errorf("key id %d, want %d", c[0], id)
	}
	clk.Advance(60 * time.Second)
	if c := mint(g, peer4); c[0] != id+1 {
		t.Errorf("next window: key id %d, want %d", c[0], id+1)
	}
}

func TestFleetRefusesForeignCookies(t *testing.T) {
	a, _ := newFleetNode(t, fleetConfig, t0)
	c := mint(a, peer4)

	other := fleetConfig
	other.MasterKey = []byte("another fleet's master key 0123")
	b, _ := newFleetNode(t, other, t0)
	if err := b.Check(c, peer4); !errors.Is(err, ErrMismatch) {
		t.Errorf("different master key: %v, want ErrMismatch", err)
	}

	// A different window length puts the same time in another window.
	other = fleetConfig
	other.Window = 3600 * time.Second
	b, _ = newFleetNode(t, other, t0)
	if err := b.Check(c, peer4); err == nil {
		t.Error("different window length: accepted")
	}

	// The hash is part of the derivation.
	b, _ = newFleetNode(t, fleetConfig, t0)
	if err := b.SetParameters(Parameters{Hash: Sha512, Secret: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := b.SetFleet(fleetConfig); err != nil {
		t.Fatal(err)
	}
	if err := b.Check(c, peer4); !errors.Is(err, ErrMismatch) {
		t.Errorf("different hash: %v, want ErrMismatch", err)
	}

	// The key id must name the window issued_at falls in.
	bad := bytes.Clone(c)
	bad[0]++
	if err := a.Check(bad, peer4); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("key id of another window: %v, want ErrUnknownKey", err)
	}
}

func TestFleetModeChanges(t *testing.T) {
	g, clk := newTestGenerator(t, Parameters{Hash: Blake2b_256, Secret: []byte("local")})
	local := mint(g, peer4)
	if err := g.SetRotationInterval(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if _, ok := g.Fleet(); ok {
		t.Error("Fleet() reports fleet mode before SetFleet")
	}

	in := fleetConfig
	in.MaxSkew = 1500 * time.Millisecond
	if err := g.SetFleet(in); err != nil {
		t.Fatal(err)
	}
	got, ok := g.Fleet()
	if !ok || !bytes.Equal(got.MasterKey, in.MasterKey) || got.Window != in.Window || got.MaxSkew != 2*time.Second {
		t.Errorf("Fleet() = %+v, %v", got, ok)
	}
	got.MasterKey[0] ^= 0xff
	if again, _ := g.Fleet(); !bytes.Equal(again.MasterKey, in.MasterKey) {
		t.Error("Fleet() handed out its master key, not a copy")
	}

	fc := mint(g, peer4)
	if len(fc) != Size(Blake2b_256) {
		t.Errorf("fleet cookie is %d bytes: SetFleet should keep the hash", len(fc))
	}
	if err := g.Check(local, peer4); err == nil {
		t.Error("a cookie from before fleet mode was accepted")
	}
	if p := g.Parameters(); p.Hash != Blake2b_256 || string(p.Secret) != "local" {
		t.Errorf("Parameters() in fleet mode = %v %q", p.Hash, p.Secret)
	}

	// No automatic rotation in fleet mode: the window does that.
	clk.Advance(15 * time.Second)
	if err := g.Check(fc, peer4); err != nil {
		t.Errorf("fleet cookie: %v", err)
	}
	g.LeaveFleet()
	if _, ok := g.Fleet(); ok {
		t.Error("Fleet() reports fleet mode after LeaveFleet")
	}
	if err := g.Check(local, peer4); err != nil {
		t.Errorf("after LeaveFleet the local secret is back: %v", err)
	}
	if err := g.Check(fc, peer4); err == nil {
		t.Error("fleet cookie accepted after LeaveFleet")
	}
	clk.Advance(10 * time.Second)
	if c := mint(g, peer4); c[0] != 1 {
		t.Errorf("rotation after LeaveFleet: key id %d, want 1", c[0])
	}

	// SetParameters leaves fleet mode too.
	if err := g.SetFleet(fleetConfig); err != nil {
		t.Fatal(err)
	}
	fc = mint(g, peer4)
	if err := g.SetParameters(Parameters{Hash: Sha256, Secret: []byte("new")}); err != nil {
		t.Fatal(err)
	}
	if _, ok := g.Fleet(); ok {
		t.Error("still in fleet mode after SetParameters")
	}
	if err := g.Check(fc, peer4); err == nil {
		t.Error("fleet cookie accepted after SetParameters")
	}
}

func TestFleetConfigValidation(t *testing.T) {
	g := NewDefaultGenerator()
	for _, c := range []FleetConfig{
		{MasterKey: make([]byte, 15), Window: time.Second},
		{MasterKey: nil, Window: time.Second},
		{MasterKey: make([]byte, 16), Window: 0},
		{MasterKey: make([]byte, 16), Window: 999 * time.Millisecond},
		{MasterKey: make([]byte, 16), Window: 1500 * time.Millisecond},
		{MasterKey: make([]byte, 16), Window: time.Second, MaxSkew: -time.Second},
		{MasterKey: make([]byte, 16), Window: time.Second, MaxSkew: MaxLifetime + 1},
	} {
		if err := g.SetFleet(c); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("SetFleet(%+v) = %v, want ErrInvalidConfig", c, err)
		}
	}
	if _, ok := g.Fleet(); ok {
		t.Error("a refused configuration entered fleet mode")
	}
	if err := g.SetFleet(FleetConfig{MasterKey: make([]byte, 16), Window: time.Second}); err != nil {
		t.Errorf("smallest valid configuration: %v", err)
	}
}
