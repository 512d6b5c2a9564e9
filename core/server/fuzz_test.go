// SPDX-License-Identifier: MIT

package server

import (
	"encoding/binary"
	"testing"

	"github.com/dtlsgate/dtlsgate/core/session"
	"github.com/dtlsgate/dtlsgate/internal/dtlstest"
)

// FuzzInput feeds datagrams from three addresses (a connected client, a
// client in the middle of its handshake, a stranger) to a server: nothing
// may panic, the tables stay consistent, no answer to the stranger is
// larger than what it sent (unless the connected client moved there with
// a genuine record of its own), and the connected client still gets its
// echo. The clients use connection IDs, so tls12_cid records from any of
// the three are looked up by ID. Each datagram is a 1-byte sender and a
// 2-byte length, then the bytes.
func FuzzInput(f *testing.F) {
	for _, d := range dtlstest.Corpus(f) {
		f.Add(join(2, d.Data))
	}
	h := newHarness(f, Config{})
	h.cid = session.EmptyConnectionID
	c := h.connect(addr(0, false))
	c.s.WriteDatagramEncrypted([]byte("data"))
	rec := c.s.Outgoing()[0]
	f.Add(join(0, rec))
	f.Add(join(2, rec))
	for _, p := range h.seen {
		f.Add(join(1, p.data))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h := newHarness(t, Config{MaxHalfOpen: 4, MaxSessions: 8})
		h.cid = session.EmptyConnectionID
		c := h.connect(addr(0, false))
		h.dial(addr(1, false), plainPSK)
		h.exchange(1)
		for len(data) >= 3 {
			who := addr(int(data[0]%3), false)
			n := min(int(binary.BigEndian.Uint16(data[1:])), len(data)-3)
			d := data[3 : 3+n]
			data = data[3+n:]
			h.out = h.srv.Input(h.now, who, d, h.out[:0])
			for _, o := range h.out {
				if o.To == addr(2, false) && h.srv.conns[o.To] == nil && len(o.Data) > len(d) {
					t.Fatalf("%d bytes to a stranger for %d", len(o.Data), len(d))
				}
			}
			h.afterServer()
			h.checkTables()
		}
		h.queue = nil
		if h.srv.conns[c.addr] != nil && h.srv.conns[c.addr].open && h.srv.conns[c.addr].restart == nil {
			h.echoes(c, "still echoing")
		}
	})
}

func join(who byte, d []byte) []byte {
	return append(binary.BigEndian.AppendUint16([]byte{who}, uint16(len(d))), d...)
}
