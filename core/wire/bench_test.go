// SPDX-License-Identifier: MIT

package wire

import "testing"

func BenchmarkParseClientHello(b *testing.B) {
	for _, f := range loadCorpus(b) {
		b.Run(f.Name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(f.Data)))
			for b.Loop() {
				if _, err := ParseClientHello(f.Data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPutHelloVerifyRequest(b *testing.B) {
	dst := make([]byte, HelloVerifyRequestSize(MaxCookieSize))
	cookie := pattern(32, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PutHelloVerifyRequest(dst, 0, 1, cookie); err != nil {
			b.Fatal(err)
		}
	}
}
