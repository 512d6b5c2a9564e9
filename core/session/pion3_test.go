// SPDX-License-Identifier: MIT

package session_test

// Connection IDs (RFC 9146) with pion/dtls v3, which implements them
// independently, in both directions over loopback UDP sockets, with every
// suite both implement.

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/dtlsgate/dtlsgate/core/psk"
	"github.com/dtlsgate/dtlsgate/core/session"
	"github.com/dtlsgate/dtlsgate/core/verifier"
	"github.com/dtlsgate/dtlsgate/internal/dtlsnet"
	dtls3 "github.com/pion/dtls/v3"
)

// pion3Suites are the suites pion v3 and we both implement.
var pion3Suites = []uint16{
	session.TLS_PSK_WITH_AES_128_GCM_SHA256,
	session.TLS_PSK_WITH_CHACHA20_POLY1305_SHA256,
	session.TLS_PSK_WITH_AES_128_CCM,
	session.TLS_PSK_WITH_AES_128_CCM_8,
	session.TLS_PSK_WITH_AES_128_CBC_SHA256,
	session.TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256,
}

// pion3CIDWorks says whether pion v3.1.16 follows RFC 9146 with suite. Its
// CBC suites do not: their MAC of a tls12_cid record (hmacCID in its
// pkg/crypto/ciphersuite/cbc.go) takes the inner plaintext twice, where
// section 5.1 takes it once, so no RFC 9146 peer can read pion's CBC
// records with connection IDs nor pion ours. With those suites pion runs
// without connection IDs, which shows that a peer that does not offer the
// extension gets plain records from our side that does. (Our CBC MAC is
// checked against one built by hand from the RFC in
// TestConnectionIDAuthenticatedData.)
func pion3CIDWorks(suite uint16) bool {
	s, _ := session.LookupSuite(suite)
	return !strings.Contains(s.Name, "CBC")
}

// pion3CIDs are pion's settings: a zero-length ID ("send me none", as a
// device would) and one of 6 bytes.
var pion3CIDs = []struct {
	name string
	gen  func() []byte
	len  int
}{
	{"pion-empty", dtls3.OnlySendCIDGenerator(), 0},
	{"pion-6", dtls3.RandomCIDGenerator(6), 6},
}

func pion3Config(suite uint16, identityOrHint []byte, cid func() []byte) *dtls3.Config {
	return &dtls3.Config{
		CipherSuites:          []dtls3.CipherSuiteID{dtls3.CipherSuiteID(suite)},
		PSKIdentityHint:       identityOrHint,
		PSK:                   func([]byte) ([]byte, error) { return peerKey, nil },
		ConnectionIDGenerator: cid,
		// Padding inside the inner plaintext, which we must strip.
		PaddingLengthGenerator: func(uint) uint { return 3 },
	}
}

// startPion3 runs pion's side of a handshake with ours at conn, as a
// client or a server, on a socket of its own, which it returns; the
// channel gives pion's connection once the handshake is over (nil if it
// failed, within handshakeLimit).
func startPion3(t *testing.T, conn *net.UDPConn, client bool, cfg *dtls3.Config) (*net.UDPConn, <-chan net.Conn) {
	raw, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	done := make(chan net.Conn, 1)
	go func() {
		start := dtls3.Server
		if client {
			start = dtls3.Client
		}
		c, err := start(raw, conn.LocalAddr(), cfg)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), handshakeLimit)
			if err = c.HandshakeContext(ctx); err != nil {
				c.Close()
			}
			cancel()
		}
		if err != nil {
			t.Errorf("pion: %v", err)
			done <- nil
			return
		}
		done <- c
	}()
	return raw, done
}

// checkPionIDs checks both ends agree on the IDs: each side's records
// carry the ID the other asked for.
func checkPionIDs(t *testing.T, c *dtlsnet.Conn, ourLen, pionLen int) {
	t.Helper()
	own, ok := c.Session.ConnectionID()
	peer, _ := c.Session.PeerConnectionID()
	if ourLen < 0 {
		if ok {
			t.Fatalf("connection IDs negotiated with a peer that did not offer them: %x", own)
		}
		return
	}
	if !ok || len(own) != ourLen || len(peer) != pionLen {
		t.Fatalf("connection IDs: ours %x (%v), pion's %x; want %d and %d bytes", own, ok, peer, ourLen, pionLen)
	}
}

// TestPion3ServerConnectionID runs pion v3's client, offering connection
// IDs, against our server with its default: an 8-byte ID.
func TestPion3ServerConnectionID(t *testing.T) {
	t.Parallel()
	for _, id := range pion3Suites {
		suite, _ := session.LookupSuite(id)
		for _, pc := range pion3CIDs {
			t.Run(suite.Name+"/"+pc.name, func(t *testing.T) {
				t.Parallel()
				gen, wantOwn, wantPeer := pc.gen, session.DefaultConnectionIDLength, pc.len
				if !pion3CIDWorks(id) {
					gen, wantOwn, wantPeer = nil, -1, -1
				}
				conn := listenUDP(t, loopback4)
				_, done := startPion3(t, conn, true, pion3Config(id, []byte(peerIdentity), gen))
				cfg := session.Config{IdentityHint: []byte(peerHint), PSK: pskCallback("", peerKey, new(psk.Authenticator))}
				c, err := dtlsnet.Accept(conn, verifier.New(), cfg, time.Now().Add(handshakeLimit))
				p := <-done
				if err != nil || p == nil {
					t.Fatalf("handshake: %v", err)
				}
				t.Cleanup(func() { p.Close() })
				checkPionIDs(t, c, wantOwn, wantPeer)
				echoWithPion(t, c, p)
			})
		}
	}
}

// TestPion3ClientConnectionID runs our client, offering an empty ID or one
// of 5 bytes, against pion v3's server.
func TestPion3ClientConnectionID(t *testing.T) {
	t.Parallel()
	for _, id := range pion3Suites {
		suite, _ := session.LookupSuite(id)
		for _, ours := range []struct {
			name     string
			setting  int
			wantsLen int
		}{{"ours-empty", session.EmptyConnectionID, 0}, {"ours-5", 5, 5}} {
			t.Run(suite.Name+"/"+ours.name, func(t *testing.T) {
				t.Parallel()
				gen, wantOwn, wantPeer := dtls3.RandomCIDGenerator(7), ours.wantsLen, 7
				if !pion3CIDWorks(id) {
					gen, wantOwn, wantPeer = nil, -1, -1
				}
				conn := listenUDP(t, loopback4)
				raw, done := startPion3(t, conn, false, pion3Config(id, []byte(peerHint), gen))
				cfg := session.Config{Suites: []uint16{id}, PSK: pskCallback(peerIdentity, peerKey, new(psk.Authenticator)), ConnectionIDLength: ours.setting}
				server := raw.LocalAddr().(*net.UDPAddr).AddrPort()
				c, err := dtlsnet.Dial(conn, netip.AddrPortFrom(server.Addr().Unmap(), server.Port()), cfg, time.Now().Add(handshakeLimit))
				p := <-done
				if err != nil || p == nil {
					t.Fatalf("handshake: %v", err)
				}
				t.Cleanup(func() { p.Close() })
				checkPionIDs(t, c, wantOwn, wantPeer)
				// Our records to pion carry its ID, when it asked for one.
				rec := make([]byte, c.Session.SealedLen(3))
				c.Session.Seal(rec, []byte("abc"))
				if (rec[0] == 25) != (wantPeer > 0) {
					t.Fatalf("record type %d", rec[0])
				}
				if _, err := conn.WriteToUDPAddrPort(rec, c.Peer); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 100)
				p.SetReadDeadline(time.Now().Add(outputLimit))
				if n, err := p.Read(buf); err != nil || !bytes.Equal(buf[:n], []byte("abc")) {
					t.Fatalf("pion read %q, %v", buf[:n], err)
				}
				echoWithPion(t, c, p)
			})
		}
	}
}
