// SPDX-License-Identifier: MIT

package cookie

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"
)

// FleetConfig configures fleet mode: servers behind one UDP load balancer
// that must accept each other's cookies. Every node gets the same
// configuration.
type FleetConfig struct {
	// MasterKey is shared by every node; at least 16 bytes.
	MasterKey []byte
	// Window is how long one derived secret is used to mint: a whole number
	// of seconds, at least 1s. Derived secrets are cached per window, so
	// keep Window well above Lifetime/256 for the cache to cover every
	// window a valid cookie can come from.
	Window time.Duration
	// MaxSkew is the largest clock difference tolerated between nodes.
	// It is rounded up to whole seconds. A cookie from a node whose clock is
	// ahead is accepted while it is dated no further than MaxSkew in the
	// future; one from a node that is behind counts as older by the
	// difference, so keep MaxSkew well below the lifetime.
	MaxSkew time.Duration
}

const minMasterKey = 16

// fleet is the immutable fleet configuration plus its cache of derived keys.
type fleet struct {
	master []byte
	window int64 // seconds
	skew   int64 // seconds
	hash   Algorithm

	// keys caches derived keys, indexed by key id (the window modulo 256).
	// A slot holding another window's key is simply replaced.
	keys [256]atomic.Pointer[key]
}

// key returns the key for window w, deriving it on the first use.
func (f *fleet) key(w int64) *key {
	slot := &f.keys[byte(w)]
	if k := slot.Load(); k != nil && k.window == w {
		return k
	}
	secret, err := f.secret(w)
	if err != nil {
		// hkdf.Key fails only for an output over 255 SHA-256 blocks or, in
		// FIPS 140-only mode, a key under 112 bits; SetFleet allows neither.
		panic(err)
	}
	k := newKey(byte(w), f.hash, secret)
	k.window = w
	// Concurrent callers may each derive the same key; they are equal, so
	// whichever is stored last is as good as any.
	slot.Store(k)
	return k
}

// secret derives the secret of window w as doc.go describes.
func (f *fleet) secret(w int64) ([]byte, error) {
	info := make([]byte, 0, 48)
	info = append(info, "dtlsgate cookie v1\x00"...)
	info = append(info, f.hash.String()...)
	info = append(info, 0)
	info = binary.BigEndian.AppendUint64(info, uint64(w))
	return hkdf.Key(sha256.New, f.master, nil, string(info), secretLen)
}

// SetFleet enters fleet mode with c, keeping the current hash. From then on
// cookies are minted with the secret of the current window and checked with
// the secret of the window they were minted in, whichever node minted them.
// Cookies minted before the call are refused. Fleet mode does no automatic
// rotation.
func (g *Generator) SetFleet(c FleetConfig) error {
	switch {
	case len(c.MasterKey) < minMasterKey:
		return fmt.Errorf("%w: fleet master key must be at least %d bytes, not %d",
			ErrInvalidConfig, minMasterKey, len(c.MasterKey))
	case c.Window < time.Second || c.Window%time.Second != 0:
		return fmt.Errorf("%w: fleet window must be whole seconds, at least 1s, not %v",
			ErrInvalidConfig, c.Window)
	case c.MaxSkew < 0 || c.MaxSkew > MaxLifetime:
		return fmt.Errorf("%w: fleet clock skew must be from 0 to %v, not %v",
			ErrInvalidConfig, MaxLifetime, c.MaxSkew)
	}
	return g.modify(func(s *state) error {
		f := &fleet{
			master: bytes.Clone(c.MasterKey),
			window: int64(c.Window / time.Second),
			skew:   int64((c.MaxSkew + time.Second - 1) / time.Second),
			hash:   s.cur.hash,
		}
		f.key(floorDiv(s.now().Unix(), f.window)) // spares the first Mint the derivation
		s.fleet = f
		s.schedule(s.now())
		return nil
	})
}

// Fleet returns the fleet configuration (MaxSkew rounded up to whole
// seconds) and true in fleet mode, or false.
func (g *Generator) Fleet() (FleetConfig, bool) {
	f := g.state.Load().fleet
	if f == nil {
		return FleetConfig{}, false
	}
	return FleetConfig{
		MasterKey: bytes.Clone(f.master),
		Window:    time.Duration(f.window) * time.Second,
		MaxSkew:   time.Duration(f.skew) * time.Second,
	}, true
}

// LeaveFleet returns to a secret of the generator's own: a fresh random one,
// with the same hash. Automatic rotation restarts if it is on. Cookies minted
// in fleet mode, or before it, are then refused.
func (g *Generator) LeaveFleet() {
	g.modify(func(s *state) error {
		if s.fleet != nil {
			s.leaveFleet(localKey(s.cur.hash, randomSecret()), s.now())
		}
		return nil
	})
}
