// SPDX-License-Identifier: MIT

package cookie

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"hash"
	"net/netip"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

const (
	// MaxSize is the longest cookie ever minted: DTLS 1.0 clients accept at
	// most 32 bytes.
	MaxSize = 32

	// DefaultLifetime is how long a cookie stays valid unless changed with
	// [Generator.SetLifetime]. A cookie only has to survive one round trip.
	DefaultLifetime = 60 * time.Second

	// MaxLifetime is the longest lifetime [Generator.SetLifetime] accepts.
	MaxLifetime = 24 * time.Hour

	// LocalSkew is how far in the future issued_at may lie outside fleet
	// mode. The generator checks against the clock it minted with, so this
	// only absorbs a small backward step of the system clock (an NTP
	// correction) between mint and check.
	LocalSkew = time.Second
)

const (
	headerLen = 5                   // key_id and issued_at
	maxTagLen = MaxSize - headerLen // 27
	inputLen  = 1 + 4 + 16 + 2      // the HMAC input: key_id, issued_at, address, port
	maxDigest = 64                  // the largest digest of any supported hash
	localSkew = int64(LocalSkew / time.Second)
)

// Size returns the length of a cookie made with a: the 5-byte header and the
// digest, truncated to fit in [MaxSize].
func Size(a Algorithm) int {
	return headerLen + min(a.Size(), maxTagLen)
}

// A key is one secret with everything needed to use it. It is immutable once
// published.
type key struct {
	id     byte
	hash   Algorithm
	secret []byte
	tagLen int
	window int64 // fleet mode: the window the secret belongs to

	// inner and outer are the HMAC's hash states after the key pads,
	// computed once per key (FIPS 198-1 section 6 allows it), as the bytes
	// of the hash's state (see stateOf), so a cookie costs two copies, the
	// hashing of its input and of one digest, and a new key needs no new
	// hash objects.
	inner, outer []byte
}

// A mac is a pair of hashes to compute one HMAC with, of any key of one
// algorithm. Its buffers live in the same (already heap-allocated) object
// because byte slices passed to hash.Hash methods escape: buffers on the
// stack would be moved to the heap on every call.
type mac struct {
	inner, outer   hash.Hash
	innerS, outerS []byte // their states' memory, see stateOf
	in             [inputLen]byte
	sum, out       [maxDigest]byte
}

// macs holds reusable macs, one pool per algorithm. sync.Pool keeps them per
// processor, so concurrent checks share nothing they write.
var macs [len(algorithms)]sync.Pool

func init() {
	for a := range macs {
		newHash := algorithms[a].new
		if newHash == nil {
			continue
		}
		if !plainState(newHash) {
			algorithms[a].new, algorithms[a].why = nil, "its hash keeps its state behind pointers"
			continue
		}
		macs[a].New = func() any {
			m := &mac{inner: newHash(), outer: newHash()}
			m.innerS, m.outerS = stateOf(m.inner), stateOf(m.outer)
			return m
		}
	}
}

// localKey makes a key for a secret of this node's own (not a fleet window's).
// Its id is derived from the hash and the secret alone, so that generators
// given equal parameters agree on it whatever their history of changes, as
// Qt's verifiers sharing a secret accept each other's cookies. Once in 256
// changes the current and previous keys share an id; Check then tries both.
func localKey(a Algorithm, secret []byte) *key {
	d := sha256.New()
	d.Write([]byte{byte(a)})
	d.Write(secret)
	return newKey(d.Sum(nil)[0], a, secret)
}

func newKey(id byte, a Algorithm, secret []byte) *key {
	k := &key{
		id:     id,
		hash:   a,
		secret: bytes.Clone(secret),
		tagLen: min(a.Size(), maxTagLen),
	}
	// RFC 2104: the key is padded to a block, after hashing it if longer.
	// That hashing has a hash of its own: one that had hashed the secret
	// could keep some of it in its buffer, and padState saves all of h's
	// state.
	h := algorithms[a].new()
	pad := make([]byte, h.BlockSize())
	if len(secret) > len(pad) {
		long := algorithms[a].new()
		long.Write(secret)
		long.Sum(pad[:0])
	} else {
		copy(pad, secret)
	}
	k.inner = padState(h, pad, 0x36)
	k.outer = padState(h, pad, 0x5c)
	clear(pad)
	return k
}

// padState returns the state h has after hashing pad XORed with x.
func padState(h hash.Hash, pad []byte, x byte) []byte {
	for i := range pad {
		pad[i] ^= x
	}
	h.Reset()
	h.Write(pad)
	for i := range pad {
		pad[i] ^= x
	}
	return bytes.Clone(stateOf(h))
}

// stateOf returns the memory that holds h's state. Every hash this package
// offers keeps its whole state in one struct without pointers (the test
// TestEveryHashStateIsPlainBytes holds the table to that, and init refuses
// any other), so copying those bytes saves the state and copying them back
// restores it: a fraction of the cost of MarshalBinary and UnmarshalBinary,
// which write and parse a serialized form, and a cookie check pays it twice.
func stateOf(h hash.Hash) []byte {
	v := reflect.ValueOf(h)
	return unsafe.Slice((*byte)(v.UnsafePointer()), v.Type().Elem().Size())
}

// plainState reports whether stateOf may be used on the hashes new makes.
func plainState(new func() hash.Hash) bool {
	t := reflect.TypeOf(new())
	return t.Kind() == reflect.Pointer && pointerFree(t.Elem())
}

func pointerFree(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	case reflect.Array:
		return pointerFree(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !pointerFree(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

// sum computes the full HMAC for a cookie with this key issued at issued for
// peer. The digest is in the returned mac's out; the caller hands it back
// with k.done when done with it.
func (k *key) sum(issued uint32, peer netip.AddrPort) *mac {
	m := macs[k.hash].Get().(*mac)
	m.in[0] = k.id
	binary.BigEndian.PutUint32(m.in[1:5], issued)
	addr := peer.Addr().As16() // maps IPv4 into IPv6 and drops the zone
	copy(m.in[5:21], addr[:])
	binary.BigEndian.PutUint16(m.in[21:23], peer.Port())
	copy(m.innerS, k.inner)
	m.inner.Write(m.in[:])
	inner := m.inner.Sum(m.sum[:0])
	copy(m.outerS, k.outer)
	m.outer.Write(inner)
	m.outer.Sum(m.out[:0])
	return m
}

// done returns m to the pool. The hashes' states are left as they are: the
// next use overwrites them first.
func (k *key) done(m *mac) { macs[k.hash].Put(m) }

// A state is an immutable snapshot of a generator's configuration. Mint and
// Check load it with one atomic read; writers publish a modified copy.
type state struct {
	cur      *key
	prev     *key  // the key cur replaced, if any; its cookies die of age
	lifetime int64 // seconds
	interval time.Duration
	rotateAt int64  // UnixNano when the next automatic rotation is due; 0: none
	fleet    *fleet // non-nil in fleet mode
	now      func() time.Time
}

// rotate makes k the current key and restarts the rotation timer.
func (s *state) rotate(k *key, now time.Time) {
	s.prev, s.cur = s.cur, k
	s.schedule(now)
}

// leaveFleet ends fleet mode with k as the current key and no previous one:
// the local key from before fleet mode retired when fleet mode began, and its
// cookies must not come back.
func (s *state) leaveFleet(k *key, now time.Time) {
	s.fleet, s.prev, s.cur = nil, nil, k
	s.schedule(now)
}

// schedule sets when the next automatic rotation is due. Fleet mode has no
// automatic rotation: its secrets change with every window.
func (s *state) schedule(now time.Time) {
	s.rotateAt = 0
	if s.interval > 0 && s.fleet == nil {
		s.rotateAt = now.Add(s.interval).UnixNano()
	}
}

// A Generator mints and checks cookies. Make one with [NewGenerator] or
// [NewDefaultGenerator]; the zero value is not usable.
//
// A Generator is safe for concurrent use. Mint and Check never wait for a
// lock and, once warmed up, do not allocate; they may run while the
// configuration changes, each seeing either the old or the new configuration
// as a whole.
type Generator struct {
	mu    sync.Mutex // serialises writers; Mint and Check never wait for it
	state atomic.Pointer[state]
}

// NewGenerator returns a generator using p, with the default lifetime and no
// automatic rotation. Generators using equal parameters accept each other's
// cookies.
func NewGenerator(p Parameters) (*Generator, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	g := new(Generator)
	g.state.Store(&state{
		cur:      localKey(p.Hash, p.Secret),
		lifetime: int64(DefaultLifetime / time.Second),
		now:      systemNow,
	})
	return g, nil
}

// NewDefaultGenerator returns a generator using [DefaultParameters].
func NewDefaultGenerator() *Generator {
	g, err := NewGenerator(DefaultParameters())
	if err != nil {
		panic(err) // SHA-256 and a 32-byte secret are always valid
	}
	return g
}

// modify applies f to a copy of the current state and publishes the copy,
// unless f fails.
func (g *Generator) modify(f func(s *state) error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := *g.state.Load()
	if err := f(&s); err != nil {
		return err
	}
	g.state.Store(&s)
	return nil
}

// Parameters returns the hash and the secret cookies are minted with now (a
// copy): in fleet mode, the secret derived for the current window.
func (g *Generator) Parameters() Parameters {
	s := g.state.Load()
	k := s.cur
	if s.fleet != nil {
		k = s.fleet.key(floorDiv(s.now().Unix(), s.fleet.window))
	}
	return Parameters{Hash: k.hash, Secret: bytes.Clone(k.secret)}
}

// SetParameters validates p and makes it current. The secret it replaces
// stays valid for the cookies it made until they expire, so handshakes in
// flight are not broken. Setting the parameters already in use changes
// nothing.
//
// SetParameters leaves fleet mode. Cookies minted in fleet mode, by this node
// or any other, are then refused.
func (g *Generator) SetParameters(p Parameters) error {
	if err := p.Validate(); err != nil {
		return err
	}
	return g.modify(func(s *state) error {
		switch {
		case s.fleet != nil:
			s.leaveFleet(localKey(p.Hash, p.Secret), s.now())
		case s.cur.hash != p.Hash || !hmac.Equal(s.cur.secret, p.Secret):
			s.rotate(localKey(p.Hash, p.Secret), s.now())
		}
		return nil
	})
}

// Lifetime returns how long a cookie stays valid.
func (g *Generator) Lifetime() time.Duration {
	return time.Duration(g.state.Load().lifetime) * time.Second
}

// SetLifetime sets how long a cookie stays valid: a whole number of seconds
// from 1s to [MaxLifetime]. It applies to cookies already minted too.
func (g *Generator) SetLifetime(d time.Duration) error {
	if d < time.Second || d > MaxLifetime || d%time.Second != 0 {
		return fmt.Errorf("%w: lifetime must be whole seconds from 1s to %v, not %v",
			ErrInvalidConfig, MaxLifetime, d)
	}
	return g.modify(func(s *state) error {
		s.lifetime = int64(d / time.Second)
		return nil
	})
}

// RotationInterval returns the automatic rotation interval, 0 when off.
func (g *Generator) RotationInterval() time.Duration {
	return g.state.Load().interval
}

// SetRotationInterval turns automatic rotation on (d >= 1s) or off (d == 0).
// Every d, a new random 32-byte secret with the same hash replaces the
// current one, which stays valid as the previous secret. The first rotation
// is due d after this call. It happens when Mint or Check next runs, so an
// idle generator does no work.
//
// Only the current and the previous secret are kept: with d shorter than the
// lifetime, cookies live between d and 2d instead.
//
// Fleet mode ignores the interval; it applies again after leaving fleet mode.
func (g *Generator) SetRotationInterval(d time.Duration) error {
	if d != 0 && d < time.Second {
		return fmt.Errorf("%w: rotation interval must be 0 (off) or at least 1s, not %v",
			ErrInvalidConfig, d)
	}
	return g.modify(func(s *state) error {
		s.interval = d
		s.schedule(s.now())
		return nil
	})
}

// SetClock makes the generator read the time from now; nil restores the
// default clock, the system's wall time as one goroutine keeps it (at most
// about 100 ms old). It is meant for tests. The rotation timer restarts from the
// new clock's time.
func (g *Generator) SetClock(now func() time.Time) {
	if now == nil {
		now = systemNow
	}
	g.modify(func(s *state) error {
		s.now = now
		s.schedule(now())
		return nil
	})
}

// load returns the state to mint or check with and the time, first rotating
// the secret if an automatic rotation is due.
func (g *Generator) load() (*state, time.Time) {
	s := g.state.Load()
	now := s.now()
	if s.rotateAt != 0 && now.UnixNano() >= s.rotateAt {
		s = g.rotateDue(now, s)
	}
	return s, now
}

// rotateDue performs a due automatic rotation. Of callers arriving together,
// the one that gets the lock rotates; the others go on with the snapshot they
// already hold. That is safe: its current key becomes the previous one, so
// their cookies stay valid.
func (g *Generator) rotateDue(now time.Time, s *state) *state {
	if !g.mu.TryLock() {
		return s
	}
	defer g.mu.Unlock()
	cur := g.state.Load()
	if cur.rotateAt == 0 || now.UnixNano() < cur.rotateAt {
		return cur // someone else rotated, or rotation was turned off
	}
	n := *cur
	n.rotate(localKey(cur.cur.hash, randomSecret()), now)
	g.state.Store(&n)
	return &n
}

// Mint writes a cookie for peer into dst and returns its length, [Size] of
// the hash. It panics if dst is shorter than [MaxSize].
func (g *Generator) Mint(dst []byte, peer netip.AddrPort) int {
	if len(dst) < MaxSize {
		panic("cookie: Mint needs a buffer of at least MaxSize bytes")
	}
	s, now := g.load()
	sec := now.Unix()
	k := s.cur
	if s.fleet != nil {
		k = s.fleet.key(floorDiv(sec, s.fleet.window))
	}
	issued := uint32(sec)
	m := k.sum(issued, peer)
	dst[0] = k.id
	binary.BigEndian.PutUint32(dst[1:5], issued)
	n := headerLen + copy(dst[headerLen:], m.out[:k.tagLen])
	k.done(m)
	return n
}

// Check reports whether cookie is a valid cookie for peer: nil if so,
// otherwise [ErrMalformed] (wrong length), [ErrExpired] (older than the
// lifetime, or dated in the future beyond the tolerated clock skew),
// [ErrUnknownKey] (its key id names neither the current nor the previous
// secret) or [ErrMismatch] (not made for this peer, or forged). The tag is
// compared in constant time.
//
// A cookie made under a retired secret usually gets ErrUnknownKey. Key ids
// are derived from the secrets, though, so its id may (chance 1/256 per
// change) name a newer secret: it then gets ErrMismatch, or ErrMalformed if
// that secret's hash makes cookies of another length.
//
// The checks run cheapest first: the length is within bounds, the age, the
// key id, the exact length for that key's hash, the tag. When the current and
// previous secrets share the cookie's id, both are tried.
func (g *Generator) Check(cookie []byte, peer netip.AddrPort) error {
	if len(cookie) < headerLen || len(cookie) > MaxSize {
		return ErrMalformed
	}
	s, now := g.load()
	sec := now.Unix()

	// The age is worked out modulo 2^32, like issued_at itself. Checking it
	// first means a stale or far-future cookie costs no HMAC, and in fleet
	// mode no key derivation.
	issued := binary.BigEndian.Uint32(cookie[1:5])
	age := int64(int32(uint32(sec) - issued))
	skew := localSkew
	if s.fleet != nil {
		skew = s.fleet.skew
	}
	if age < -skew || age > s.lifetime {
		return ErrExpired
	}

	id := cookie[0]
	if s.fleet != nil {
		w := floorDiv(sec-age, s.fleet.window)
		if id != byte(w) {
			return ErrUnknownKey
		}
		return s.fleet.key(w).verify(cookie, issued, peer)
	}
	err := ErrUnknownKey
	for _, k := range [...]*key{s.cur, s.prev} {
		if k != nil && k.id == id {
			if err = k.verify(cookie, issued, peer); err == nil {
				return nil
			}
		}
	}
	return err
}

// verify checks a cookie's length and tag against this key.
func (k *key) verify(cookie []byte, issued uint32, peer netip.AddrPort) error {
	if len(cookie) != headerLen+k.tagLen {
		return ErrMalformed
	}
	m := k.sum(issued, peer)
	ok := subtle.ConstantTimeCompare(cookie[headerLen:], m.out[:k.tagLen]) == 1
	k.done(m)
	if !ok {
		return ErrMismatch
	}
	return nil
}

// floorDiv divides rounding towards minus infinity, so windows before 1970
// (seen only with a test clock) are numbered consistently. b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}
