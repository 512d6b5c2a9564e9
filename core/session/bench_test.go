// SPDX-License-Identifier: MIT

package session

import (
	"context"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/dtlsgate/dtlsgate/core/verifier"
	"github.com/pion/dtls/v2"
)

// handshakeInMemory runs one full handshake, cookie exchange included,
// between two sessions, handing datagrams across directly. It returns the
// server session.
func handshakeInMemory(tb testing.TB, v *verifier.ClientVerifier, ccfg, scfg Config) *Session {
	c, _ := New(Client, ccfg)
	c.SetPeer(serverAddr)
	c.DoHandshake(nil)
	var srv *Session
	reply := make([]byte, verifier.MaxReplySize)
	toServer := c.Outgoing()
	for c.HandshakeState() == HandshakeInProgress {
		var toClient [][]byte
		for _, d := range toServer {
			if srv == nil {
				res, n, _ := v.Check(d, clientAddr, reply)
				switch res {
				case verifier.SendReply:
					toClient = append(toClient, reply[:n:n])
				case verifier.Verified:
					srv, _ = New(Server, scfg)
					srv.SetPeer(clientAddr)
					srv.DoHandshake(d)
				}
				continue
			}
			srv.DoHandshake(d)
		}
		if srv != nil {
			toClient = append(toClient, srv.Outgoing()...)
		}
		toServer = nil
		for _, d := range toClient {
			c.DoHandshake(d)
		}
		toServer = c.Outgoing()
		if len(toServer) == 0 && c.HandshakeState() == HandshakeInProgress {
			tb.Fatalf("handshake stalled: %s", c.DtlsErrorString())
		}
	}
	if srv == nil || !srv.IsConnectionEncrypted() || !c.IsConnectionEncrypted() {
		tb.Fatalf("handshake failed: %s", c.DtlsErrorString())
	}
	return srv
}

// BenchmarkHandshake: full PSK handshakes (with the cookie exchange) per
// second, engine against engine.
func BenchmarkHandshake(b *testing.B) {
	for _, id := range []uint16{TLS_PSK_WITH_AES_128_GCM_SHA256, TLS_PSK_WITH_AES_128_CCM, TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256} {
		suite, _ := LookupSuite(id)
		b.Run(suite.Name, func(b *testing.B) {
			v := verifier.New()
			ccfg := Config{Suites: []uint16{id}, PSK: keyFor("client", "0123456789abcdef", nil)}
			scfg := Config{PSK: keyFor("", "0123456789abcdef", nil), Cookies: v.Generator()}
			b.ReportAllocs()
			for b.Loop() {
				handshakeInMemory(b, v, ccfg, scfg)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
		})
	}
}

// BenchmarkPionHandshake: the same with pion's Conn on both sides, over an
// in-memory pipe, in the same run for comparison.
func BenchmarkPionHandshake(b *testing.B) {
	suites := map[string]dtls.CipherSuiteID{
		"PSK-AES128-GCM-SHA256":       dtls.TLS_PSK_WITH_AES_128_GCM_SHA256,
		"PSK-AES128-CCM":              dtls.TLS_PSK_WITH_AES_128_CCM,
		"ECDHE-PSK-AES128-CBC-SHA256": dtls.TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256,
	}
	for _, name := range []string{"PSK-AES128-GCM-SHA256", "PSK-AES128-CCM", "ECDHE-PSK-AES128-CBC-SHA256"} {
		b.Run(name, func(b *testing.B) {
			key := func([]byte) ([]byte, error) { return []byte("0123456789abcdef"), nil }
			cfg := &dtls.Config{PSK: key, PSKIdentityHint: []byte("client"), CipherSuites: []dtls.CipherSuiteID{suites[name]}}
			b.ReportAllocs()
			for b.Loop() {
				ca, cb := net.Pipe()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				type result struct {
					conn *dtls.Conn
					err  error
				}
				done := make(chan result, 1)
				go func() {
					s, err := dtls.ServerWithContext(ctx, cb, cfg)
					done <- result{s, err}
				}()
				c, err := dtls.ClientWithContext(ctx, ca, cfg)
				if err != nil {
					b.Fatal(err)
				}
				srv := <-done
				if srv.err != nil {
					b.Fatal(srv.err)
				}
				// Close only once both ends are up, or a closing pipe cuts
				// the other end's handshake short.
				c.Close()
				srv.conn.Close()
				cancel()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
		})
	}
}

// BenchmarkSessionMemory reports the heap an established server session
// keeps, measured over many live sessions.
func BenchmarkSessionMemory(b *testing.B) {
	v := verifier.New()
	ccfg := Config{PSK: keyFor("client", "0123456789abcdef", nil)}
	scfg := Config{PSK: keyFor("", "0123456789abcdef", nil), Cookies: v.Generator()}
	const n = 1000
	for b.Loop() {
		live := make([]*Session, 0, n)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range n {
			live = append(live, handshakeInMemory(b, v, ccfg, scfg))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "bytes/session")
		runtime.KeepAlive(live)
	}
}
