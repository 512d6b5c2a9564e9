// SPDX-License-Identifier: MIT

package cookie

import (
	"crypto/hmac"
	"crypto/sha256"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The benchmarks use the real clock, as a server would.

func BenchmarkMint(b *testing.B) {
	g := NewDefaultGenerator()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, MaxSize)
		for b.Loop() {
			g.Mint(buf, peer4)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			buf := make([]byte, MaxSize)
			for pb.Next() {
				g.Mint(buf, peer4)
			}
		})
	})
}

func BenchmarkCheck(b *testing.B) {
	g := NewDefaultGenerator()
	c := mint(g, peer4)
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if g.Check(c, peer4) != nil {
				b.Fatal("cookie refused")
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if g.Check(c, peer4) != nil {
					b.Fatal("cookie refused")
				}
			}
		})
	})
	b.Run("fleet/parallel", func(b *testing.B) {
		f := NewDefaultGenerator()
		if err := f.SetFleet(FleetConfig{MasterKey: make([]byte, 32), Window: time.Minute, MaxSkew: time.Second}); err != nil {
			b.Fatal(err)
		}
		c := mint(f, peer4)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := f.Check(c, peer4); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkHMACFloor is the floor a check is measured against: the
// standard library's HMAC-SHA256 of a cookie's input with the key schedule
// kept (the HMAC reset between uses), and nothing else.
func BenchmarkHMACFloor(b *testing.B) {
	h := hmac.New(sha256.New, make([]byte, secretLen))
	var in [inputLen]byte
	out := make([]byte, 0, sha256.Size)
	b.ReportAllocs()
	for b.Loop() {
		h.Reset()
		h.Write(in[:])
		out = h.Sum(out[:0])
	}
}

// BenchmarkCheckOverFloor alternates, a thousand at a time, checks of a
// valid cookie and HMACs of the floor (see BenchmarkHMACFloor), so both see
// the same machine even when its load changes, and reports the ratio: the
// goal is at most 1.5.
func BenchmarkCheckOverFloor(b *testing.B) {
	g := NewDefaultGenerator()
	c := mint(g, peer4)
	h := hmac.New(sha256.New, make([]byte, secretLen))
	var in [inputLen]byte
	out := make([]byte, 0, sha256.Size)
	var check, floor time.Duration
	const chunk = 1000
	for range b.N/chunk + 1 {
		start := time.Now()
		for range chunk {
			if g.Check(c, peer4) != nil {
				b.Fatal("cookie refused")
			}
		}
		mid := time.Now()
		for range chunk {
			h.Reset()
			h.Write(in[:])
			out = h.Sum(out[:0])
		}
		check, floor = check+mid.Sub(start), floor+time.Since(mid)
	}
	n := float64((b.N/chunk + 1) * chunk)
	b.ReportMetric(float64(check.Nanoseconds())/n, "ns/check")
	b.ReportMetric(float64(floor.Nanoseconds())/n, "ns/floor")
	b.ReportMetric(float64(check)/float64(floor), "check/floor")
}

// BenchmarkCheckGoroutines checks a valid cookie from one and from two
// goroutines, b.N checks shared between them; checks/s of 2 over 1 is how
// the check scales to a second core.
func BenchmarkCheckGoroutines(b *testing.B) {
	g := NewDefaultGenerator()
	c := mint(g, peer4)
	for _, n := range []int{1, 2} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					for range b.N / n {
						if g.Check(c, peer4) != nil {
							panic("cookie refused")
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N/n*n)/b.Elapsed().Seconds(), "checks/s")
		})
	}
}

// BenchmarkCheckAlgorithms compares the hashes on the serial check path.
func BenchmarkCheckAlgorithms(b *testing.B) {
	for _, a := range supported() {
		b.Run(a.String(), func(b *testing.B) {
			g, err := NewGenerator(Parameters{Hash: a, Secret: []byte("benchmark secret")})
			if err != nil {
				b.Fatal(err)
			}
			c := mint(g, peer4)
			b.ReportAllocs()
			for b.Loop() {
				if g.Check(c, peer4) != nil {
					b.Fatal("cookie refused")
				}
			}
		})
	}
}
