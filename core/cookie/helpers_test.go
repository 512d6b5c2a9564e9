// SPDX-License-Identifier: MIT

package cookie

import (
	"crypto/sha256"
	"net/netip"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// testClock is a clock tests move by hand. It is safe for concurrent use.
type testClock struct{ ns atomic.Int64 }

func newClock(unix int64) *testClock {
	c := new(testClock)
	c.ns.Store(unix * int64(time.Second))
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }
func (c *testClock) Set(unix int64)          { c.ns.Store(unix * int64(time.Second)) }

// t0 is an arbitrary start time for tests: 2023-11-14 22:13:20 UTC.
const t0 = 1700000000

var (
	peer4 = netip.MustParseAddrPort("192.0.2.1:4433")
	peer6 = netip.MustParseAddrPort("[2001:db8::1]:443")
)

// supported lists every algorithm the package accepts.
func supported() []Algorithm {
	var as []Algorithm
	for a := Md4; a <= Blake2s_256; a++ {
		if a.Supported() == nil {
			as = append(as, a)
		}
	}
	return as
}

// newTestGenerator returns a generator with the given parameters on a test
// clock set to t0.
func newTestGenerator(t testing.TB, p Parameters) (*Generator, *testClock) {
	t.Helper()
	g, err := NewGenerator(p)
	if err != nil {
		t.Fatalf("NewGenerator(%v): %v", p.Hash, err)
	}
	c := newClock(t0)
	g.SetClock(c.Now)
	return g, c
}

func mint(g *Generator, peer netip.AddrPort) []byte {
	buf := make([]byte, MaxSize)
	return buf[:g.Mint(buf, peer)]
}

// derivedID is the key id doc.go gives a secret of a generator's own: the
// first byte of SHA-256(hash number || secret). It is written out here rather
// than calling localKey, so the tests check the code against the
// specification.
func derivedID(a Algorithm, secret []byte) byte {
	sum := sha256.Sum256(append([]byte{byte(a)}, secret...))
	return sum[0]
}

// secretWithID returns the first secret of the form prefix || n (n = 0, 1,
// ... as a decimal number) other than avoid whose derived id under a is id.
// The search is deterministic and takes about 256 tries.
func secretWithID(t testing.TB, a Algorithm, id byte, prefix string, avoid []byte) []byte {
	t.Helper()
	for n := range 1 << 16 {
		s := []byte(prefix + strconv.Itoa(n))
		if derivedID(a, s) == id && string(s) != string(avoid) {
			return s
		}
	}
	t.Fatalf("no secret %q... with key id %d under %v", prefix, id, a)
	return nil
}
