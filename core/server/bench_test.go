// SPDX-License-Identifier: MIT

package server

import (
	"net/netip"
	"testing"
	"time"
)

// BenchmarkSpoofedHello is the cost of a ClientHello without a cookie: one
// HMAC and a HelloVerifyRequest, no state.
func BenchmarkSpoofedHello(b *testing.B) {
	h := newHarness(b, Config{})
	sq := h.squatters()
	from := addr(1, false)
	out := make([]Datagram, 0, 1)
	b.ReportAllocs()
	for b.Loop() {
		out = h.srv.Input(h.now, from, sq.template, out[:0])
	}
}

// BenchmarkHandshake is a whole handshake through the server, client
// included, with a plain PSK suite.
func BenchmarkHandshake(b *testing.B) {
	h := newHarness(b, Config{MaxSessions: 1 << 30, IdleTimeout: NoIdleTimeout})
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		a := netip.AddrPortFrom(addr(i%60000, false).Addr(), uint16(1024+i/60000))
		c := h.dial(a, plainPSK)
		h.exchange(8)
		if !c.s.IsConnectionEncrypted() {
			b.Fatal("not connected")
		}
		delete(h.clients, a)
		h.seen, h.events = h.seen[:0], h.events[:0]
		i++
	}
}

// BenchmarkEcho is one record in and its echo out, server side only.
func BenchmarkEcho(b *testing.B) {
	h := newHarness(b, Config{})
	c := h.connect(addr(1, false))
	payload := make([]byte, 512)
	var recs [][]byte
	for range 1024 {
		c.s.WriteDatagramEncrypted(payload)
		recs = append(recs, c.s.Outgoing()...)
	}
	out := make([]Datagram, 0, 4)
	var evs []Event
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(recs) { // past the replay window's reach: make more
			b.StopTimer()
			recs = recs[:0]
			for range 1024 {
				c.s.WriteDatagramEncrypted(payload)
				recs = append(recs, c.s.Outgoing()...)
			}
			i = 0
			b.StartTimer()
		}
		out = h.srv.Input(h.now, c.addr, recs[i], out[:0])
		evs = h.srv.Events(evs[:0])
		out, _ = h.srv.Send(c.addr, evs[0].Data, out)
		i++
	}
}

// BenchmarkTimers serves one due timer among 60000 sessions: the heap
// touches a few, never all.
func BenchmarkTimers(b *testing.B) {
	const n = 60000
	h := newHarness(b, Config{MaxHalfOpen: n, MaxHalfOpenPerIP: n, MaxSessions: n})
	sq := h.squatters()
	crowd := func() {
		for i := range n {
			h.squat(sq, i, false)
			h.now = h.now.Add(time.Millisecond)
		}
	}
	crowd()
	out := make([]Datagram, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		at, ok := h.srv.NextDeadline()
		if !ok { // every squatter reached its deadline: a new crowd
			b.StopTimer()
			crowd()
			b.StartTimer()
			continue
		}
		h.now = at
		out = h.srv.HandleTimers(at, out[:0])
	}
}
