// SPDX-License-Identifier: MIT

package session

import (
	"fmt"
	"testing"
)

// BenchmarkRecordCID: what connection IDs cost. One record from a device
// (the client, which asks for an empty ID, so the server's records stay
// plain) to the server, through Seal and Open, on PSK-AES128-GCM-SHA256:
// without connection IDs, and with the server's ID of 4, 8 and 16 bytes,
// which every record the device sends carries along with its real content
// type. It reports records/s and the bytes of each datagram on the wire,
// and fails if a record is not exactly ID length + 1 bytes longer than a
// plain one or does not open.
func BenchmarkRecordCID(b *testing.B) {
	for _, l := range []int{NoConnectionID, 4, DefaultConnectionIDLength, MaxConnectionIDLength} {
		cc := cidCase{client: EmptyConnectionID, server: l}
		name := fmt.Sprintf("cid-%d", l)
		if l == NoConnectionID {
			cc.client, name = NoConnectionID, "none"
		}
		for _, size := range []int{64, 1400} {
			b.Run(fmt.Sprintf("%s/%d", name, size), func(b *testing.B) {
				c, s := connectedCID(b, TLS_PSK_WITH_AES_128_GCM_SHA256, cc)
				// Header 13, explicit nonce 8, tag 16; a tls12_cid record
				// adds the ID and the inner content type.
				want := 13 + 8 + size + 16
				if l > 0 {
					want += l + 1
				}
				plain, rec, out := pattern(size), make([]byte, 2048), make([]byte, 2048)
				n := 0
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					n, _ = c.Seal(rec, plain)
					if m, res := s.Open(out, rec[:n]); res != RecordOK || m != size {
						b.Fatalf("%v, %d bytes: %s", res, m, s.DtlsErrorString())
					}
				}
				if n != want {
					b.Fatalf("records of %d bytes on the wire, want %d", n, want)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
				b.ReportMetric(float64(n), "wire-bytes/record")
			})
		}
	}
}
