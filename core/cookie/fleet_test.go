// SPDX-License-Identifier: MIT

package cookie

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
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

// windowSecret derives the secret of window w as doc.go specifies, written
// out with crypto/hkdf rather than calling the package's derivation.
func windowSecret(t *testing.T, master []byte, a Algorithm, w int64) []byte {
	t.Helper()
	info := "dtlsgate cookie v1\x00" + a.String() + "\x00" + string(binary.BigEndian.AppendUint64(nil, uint64(w)))
	s, err := hkdf.Key(sha256.New, master, nil, info, 32)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// refusal is the error a generator gives a cookie of the right length whose
// key it does not hold: ErrUnknownKey, unless the cookie's key id happens to
// be one of heldIDs (outside fleet mode the current and previous keys' ids,
// in fleet mode the id of the cookie's window), which then names a key with
// another secret: ErrMismatch.
func refusal(cookieID byte, heldIDs ...byte) error {
	if bytes.IndexByte(heldIDs, cookieID) >= 0 {
		return ErrMismatch
	}
	return ErrUnknownKey
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
	localSecret := []byte("local")
	localID := derivedID(Blake2b_256, localSecret)
	g, clk := newTestGenerator(t, Parameters{Hash: Blake2b_256, Secret: localSecret})
	local := mint(g, peer4)
	if local[0] != localID {
		t.Fatalf("local key id %d, want %d", local[0], localID)
	}
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

	w := int64(t0 / 60) // the window of t0; key id 21
	fc := mint(g, peer4)
	if len(fc) != Size(Blake2b_256) {
		t.Errorf("fleet cookie is %d bytes: SetFleet should keep the hash", len(fc))
	}
	if fc[0] != byte(w) {
		t.Errorf("fleet cookie: key id %d, want %d", fc[0], byte(w))
	}
	// In fleet mode the key id must name the cookie's window.
	if err := g.Check(local, peer4); !errors.Is(err, refusal(local[0], byte(w))) {
		t.Errorf("a cookie from before fleet mode: %v, want %v", err, refusal(local[0], byte(w)))
	}
	// Parameters reports the secret cookies are minted with: the window's,
	// derived with the hash kept from before.
	if p := g.Parameters(); p.Hash != Blake2b_256 || !bytes.Equal(p.Secret, windowSecret(t, in.MasterKey, Blake2b_256, w)) {
		t.Errorf("Parameters() in fleet mode = %v %x", p.Hash, p.Secret)
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
	// LeaveFleet installs a fresh secret and keeps no previous one: the
	// pre-fleet secret retired when fleet mode began.
	left := g.Parameters()
	leftID := derivedID(Blake2b_256, left.Secret)
	if c := mint(g, peer4); c[0] != leftID {
		t.Errorf("after LeaveFleet: key id %d, want %d", c[0], leftID)
	}
	if err := g.Check(local, peer4); !errors.Is(err, refusal(local[0], leftID)) {
		t.Errorf("after LeaveFleet, a cookie under the pre-fleet secret: %v, want %v", err, refusal(local[0], leftID))
	}
	if err := g.Check(fc, peer4); !errors.Is(err, refusal(fc[0], leftID)) {
		t.Errorf("fleet cookie after LeaveFleet: %v, want %v", err, refusal(fc[0], leftID))
	}

	// Automatic rotation restarts with LeaveFleet.
	clk.Advance(9 * time.Second)
	if c := mint(g, peer4); c[0] != leftID {
		t.Errorf("9s after LeaveFleet: key id %d, want %d", c[0], leftID)
	}
	clk.Advance(time.Second)
	c := mint(g, peer4)
	rotated := g.Parameters()
	rotatedID := derivedID(Blake2b_256, rotated.Secret)
	if bytes.Equal(rotated.Secret, left.Secret) || c[0] != rotatedID {
		t.Errorf("rotation 10s after LeaveFleet: key id %d, want %d; secret %x, was %x",
			c[0], rotatedID, rotated.Secret, left.Secret)
	}

	// SetParameters leaves fleet mode too.
	if err := g.SetFleet(fleetConfig); err != nil {
		t.Fatal(err)
	}
	fc = mint(g, peer4)
	newSecret := []byte("new")
	if err := g.SetParameters(Parameters{Hash: Sha256, Secret: newSecret}); err != nil {
		t.Fatal(err)
	}
	if _, ok := g.Fleet(); ok {
		t.Error("still in fleet mode after SetParameters")
	}
	newID := derivedID(Sha256, newSecret)
	if c := mint(g, peer4); c[0] != newID {
		t.Errorf("after SetParameters: key id %d, want %d", c[0], newID)
	}
	// Both hashes make 32-byte cookies, so the length does not give fc away.
	if err := g.Check(fc, peer4); !errors.Is(err, refusal(fc[0], newID, rotatedID)) {
		t.Errorf("fleet cookie after SetParameters: %v, want %v", err, refusal(fc[0], newID, rotatedID))
	}
}

// TestFleetParameters checks Parameters in fleet mode: the secret of the
// current window, the same on every node, and not the node's own.
func TestFleetParameters(t *testing.T) {
	// Two nodes with their own secrets and one clock.
	ownA, ownB := []byte("node a's own secret"), []byte("node b's own secret")
	a, clk := newTestGenerator(t, Parameters{Hash: Sha256, Secret: ownA})
	b, _ := newTestGenerator(t, Parameters{Hash: Sha256, Secret: ownB})
	b.SetClock(clk.Now)
	for _, g := range []*Generator{a, b} {
		if err := g.SetFleet(fleetConfig); err != nil {
			t.Fatal(err)
		}
	}

	// The window secrets were derived in Python 3.11 (the cryptography
	// package's HKDF, and HKDF written out with hmac, agreeing): windows
	// 28333333 (t0 is 20s into it) and 28333334.
	const (
		secretW0 = "eccc813c0e79eb0571fbba913cbb3d2015c6179d02208df1281db4f1a92e384c"
		secretW1 = "ca0ad81c9ae679171d23b50d51fbb30cbbf40d4cbe1fa9766883be864e18e033"
	)
	for _, step := range []struct {
		name string
		unix int64
		want string
	}{
		{"at t0", t0, secretW0},
		{"in the last second of the window", t0 + 39, secretW0},
		{"in the next window", t0 + 40, secretW1},
		{"at the end of the next window", t0 + 99, secretW1},
	} {
		clk.Set(step.unix)
		pa, pb := a.Parameters(), b.Parameters()
		if pa.Hash != Sha256 || len(pa.Secret) != 32 || hex.EncodeToString(pa.Secret) != step.want {
			t.Errorf("%s: node a: Parameters() = %v %x, want Sha256 %s", step.name, pa.Hash, pa.Secret, step.want)
		}
		if pb.Hash != pa.Hash || !bytes.Equal(pb.Secret, pa.Secret) {
			t.Errorf("%s: node b: Parameters() = %v %x, node a: %v %x", step.name, pb.Hash, pb.Secret, pa.Hash, pa.Secret)
		}
		if bytes.Equal(pa.Secret, ownA) || bytes.Equal(pb.Secret, ownB) {
			t.Errorf("%s: Parameters() reports the node's own secret", step.name)
		}
		if w := floorDiv(step.unix, 60); !bytes.Equal(pa.Secret, windowSecret(t, fleetConfig.MasterKey, Sha256, w)) {
			t.Errorf("%s: not the secret of window %d", step.name, w)
		}
		// It is the secret cookies are minted with now.
		c := mint(a, peer4)
		if err := b.Check(c, peer4); err != nil {
			t.Errorf("%s: b refused a's cookie: %v", step.name, err)
		}

		// A copy is handed out.
		pa.Secret[0] ^= 0xff
		if again := a.Parameters(); hex.EncodeToString(again.Secret) != step.want {
			t.Errorf("%s: changing the returned secret changed the generator", step.name)
		}
	}
}

// TestLeaveFleet checks that leaving fleet mode installs a fresh secret of
// the node's own, as an automatic rotation does.
func TestLeaveFleet(t *testing.T) {
	own := []byte("pre-fleet secret")
	ownID := derivedID(Sha384, own)
	g, clk := newTestGenerator(t, Parameters{Hash: Sha384, Secret: own})
	peer, _ := newTestGenerator(t, Parameters{Hash: Sha384, Secret: []byte("peer's secret")})
	peer.SetClock(clk.Now)

	// Outside fleet mode, LeaveFleet does nothing.
	g.LeaveFleet()
	if p := g.Parameters(); p.Hash != Sha384 || !bytes.Equal(p.Secret, own) {
		t.Errorf("LeaveFleet outside fleet mode changed the parameters to %v %x", p.Hash, p.Secret)
	}
	if c := mint(g, peer4); c[0] != ownID {
		t.Errorf("LeaveFleet outside fleet mode: key id %d, want %d", c[0], ownID)
	}

	var secrets [][]byte // of every LeaveFleet, all different
	for round := range 2 {
		for _, n := range []*Generator{g, peer} {
			if err := n.SetFleet(fleetConfig); err != nil {
				t.Fatal(err)
			}
		}
		fleetSecret := g.Parameters().Secret
		fc := mint(g, peer4)
		clk.Advance(5 * time.Second)

		// The node before LeaveFleet holds the pre-fleet key (round 0) or
		// the one of the previous LeaveFleet (round 1) as its current key.
		beforeID := ownID
		if round > 0 {
			beforeID = derivedID(Sha384, secrets[round-1])
		}
		g.LeaveFleet()
		p := g.Parameters()
		if p.Hash != Sha384 || len(p.Secret) != 32 {
			t.Fatalf("round %d: after LeaveFleet: Parameters() = %v, %d-byte secret", round, p.Hash, len(p.Secret))
		}
		if bytes.Equal(p.Secret, own) || bytes.Equal(p.Secret, fleetSecret) {
			t.Errorf("round %d: after LeaveFleet the secret is the pre-fleet or the fleet one", round)
		}
		for _, s := range secrets {
			if bytes.Equal(p.Secret, s) {
				t.Errorf("round %d: LeaveFleet reused the secret of an earlier LeaveFleet", round)
			}
		}
		secrets = append(secrets, p.Secret)
		id := derivedID(Sha384, p.Secret)

		// New cookies verify, under the new key.
		c := mint(g, peer4)
		if c[0] != id || len(c) != Size(Sha384) {
			t.Errorf("round %d: after LeaveFleet: key id %d, length %d; want %d, %d", round, c[0], len(c), id, Size(Sha384))
		}
		if err := g.Check(c, peer4); err != nil {
			t.Errorf("round %d: cookie minted after LeaveFleet: %v", round, err)
		}

		// Fleet cookies are refused: this node's from before, and new ones
		// from a node still in the fleet.
		if err := g.Check(fc, peer4); !errors.Is(err, refusal(fc[0], id, beforeID)) {
			t.Errorf("round %d: own fleet cookie after LeaveFleet: %v, want %v", round, err, refusal(fc[0], id, beforeID))
		}
		pc := mint(peer, peer4)
		if err := peer.Check(pc, peer4); err != nil {
			t.Fatalf("round %d: the fleet refuses its own cookie: %v", round, err)
		}
		if err := g.Check(pc, peer4); !errors.Is(err, refusal(pc[0], id, beforeID)) {
			t.Errorf("round %d: a fleet node's cookie after LeaveFleet: %v, want %v", round, err, refusal(pc[0], id, beforeID))
		}
		// Nor does the fleet accept the node's new cookies.
		if err := peer.Check(c, peer4); !errors.Is(err, refusal(c[0], pc[0])) {
			t.Errorf("round %d: the fleet checked the node's cookie: %v, want %v", round, err, refusal(c[0], pc[0]))
		}
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
