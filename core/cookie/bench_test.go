// SPDX-License-Identifier: MIT

package cookie

import (
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
