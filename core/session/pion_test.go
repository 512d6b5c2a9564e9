// SPDX-License-Identifier: MIT

package session_test

// Interoperability with pion/dtls v2, a DTLS implementation written
// independently in Go, in both directions over loopback UDP sockets.

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/dtlsgate/dtlsgate/core/psk"
	"github.com/dtlsgate/dtlsgate/core/session"
	"github.com/dtlsgate/dtlsgate/core/verifier"
	"github.com/dtlsgate/dtlsgate/internal/dtlsnet"
	"github.com/pion/dtls/v2"
)

// pionSuites are the PSK suites pion v2 implements that we implement too
// (it also has TLS_PSK_WITH_AES_256_CCM_8, which we do not).
var pionSuites = []uint16{
	session.TLS_PSK_WITH_AES_128_GCM_SHA256,
	session.TLS_PSK_WITH_AES_128_CCM,
	session.TLS_PSK_WITH_AES_128_CCM_8,
	session.TLS_PSK_WITH_AES_128_CBC_SHA256,
	session.TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256,
}

type pionCase struct {
	name  string
	suite uint16
	// pionKey is the key pion uses; ours is always peerKey.
	pionKey []byte
	// deadline is our handshake deadline (0: the default).
	deadline time.Duration
	wantErr  string // what our error must contain; "" for success
	// ems is pion's extended master secret policy (RFC 7627); the zero
	// value, Request, negotiates it since we always support it.
	ems dtls.ExtendedMasterSecretType
}

// pionConfig pins pion to one suite, with a handshake time limit. As a
// client pion sends PSKIdentityHint as its identity; its PSK callback gets
// the hint (server) or the identity (client) the peer sent, recorded in
// *got.
func pionConfig(tc pionCase, identityOrHint []byte, got *[]byte) *dtls.Config {
	key := tc.pionKey
	return &dtls.Config{
		ExtendedMasterSecret: tc.ems,
		CipherSuites:         []dtls.CipherSuiteID{dtls.CipherSuiteID(tc.suite)},
		PSKIdentityHint:      identityOrHint,
		PSK: func(b []byte) ([]byte, error) {
			*got = bytes.Clone(b)
			return key, nil
		},
		ConnectContextMaker: func() (context.Context, func()) {
			return context.WithTimeout(context.Background(), handshakeLimit)
		},
	}
}

// pionCases is one case per suite, then pion with another key, which must
// fail as wantErr says when our handshake deadline passes: pion and we
// both drop a Finished that does not authenticate, so nobody says a word.
func pionCases(wantErr string) []pionCase {
	var cases []pionCase
	for _, id := range pionSuites {
		s, _ := session.LookupSuite(id)
		cases = append(cases, pionCase{name: s.Name, suite: id, pionKey: peerKey})
	}
	// Without the extended master secret the classic derivation is used;
	// when pion requires it, it must see us negotiate it.
	cases = append(cases,
		pionCase{name: "no-extended-master-secret", suite: session.TLS_PSK_WITH_AES_128_GCM_SHA256, pionKey: peerKey, ems: dtls.DisableExtendedMasterSecret},
		pionCase{name: "extended-master-secret-required", suite: session.TLS_PSK_WITH_AES_128_GCM_SHA256, pionKey: peerKey, ems: dtls.RequireExtendedMasterSecret})
	return append(cases, pionCase{
		name: "wrong-key", suite: session.TLS_PSK_WITH_AES_128_GCM_SHA256, pionKey: peerWrongKey,
		deadline: wrongKeyDeadline, wantErr: wantErr,
	})
}

type pionResult struct {
	conn *dtls.Conn
	err  error
}

// echoWithPion sends a line each way between our end and pion's, then
// closes ours and checks that pion sees the close_notify.
func echoWithPion(t *testing.T, c *dtlsnet.Conn, pc net.Conn) {
	t.Helper()
	fromPion := []byte("hello from pion\n")
	if _, err := pc.Write(fromPion); err != nil {
		t.Fatalf("pion write: %v", err)
	}
	got, err := c.Read(time.Now().Add(outputLimit))
	if err != nil || !bytes.Equal(got, fromPion) {
		t.Fatalf("read %q, %v; want %q", got, err, fromPion)
	}
	toPion := []byte("hello from dtlsgate\n")
	if err := c.Write(toPion); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	pc.SetReadDeadline(time.Now().Add(outputLimit))
	n, err := pc.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], toPion) {
		t.Fatalf("pion read %q, %v; want %q", buf[:n], err, toPion)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// pion ends its connection on close_notify: the next read fails at
	// once instead of waiting for the deadline.
	pc.SetReadDeadline(time.Now().Add(outputLimit))
	start := time.Now()
	if n, err := pc.Read(buf); err == nil || time.Since(start) >= outputLimit {
		t.Fatalf("pion read %q, %v after our close_notify; want the connection closed", buf[:n], err)
	}
}

// TestPionServer runs pion's client against our server, with the cookie
// exchange of the verifier in front.
func TestPionServer(t *testing.T) {
	t.Parallel()
	for _, tc := range pionCases("the peer's Finished never authenticated (most likely the pre-shared keys differ)") {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conn := listenUDP(t, loopback4)
			raw, err := net.DialUDP("udp", nil, conn.LocalAddr().(*net.UDPAddr))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { raw.Close() })
			var hintSeen []byte
			done := make(chan pionResult, 1)
			go func() {
				pc, err := dtls.Client(raw, pionConfig(tc, []byte(peerIdentity), &hintSeen))
				done <- pionResult{pc, err}
			}()

			var seen psk.Authenticator
			cfg := session.Config{IdentityHint: []byte(peerHint), HandshakeDeadline: tc.deadline, PSK: pskCallback("", peerKey, &seen)}
			start := time.Now()
			c, err := dtlsnet.Accept(conn, verifier.New(), cfg, start.Add(handshakeLimit))
			took := time.Since(start)
			if tc.wantErr != "" {
				checkFailure(t, c, err, tc.wantErr, took)
				endPionWait(t, done, raw)
				return
			}
			r := <-done
			if r.conn != nil {
				t.Cleanup(func() { r.conn.Close() })
			}
			if err != nil || r.err != nil {
				t.Fatalf("handshake: ours %v, pion's %v", err, r.err)
			}
			if got, _ := c.Session.SessionCipher(); got.ID != tc.suite {
				t.Errorf("negotiated %s, want 0x%04X", got.Name, tc.suite)
			}
			if string(seen.Identity()) != peerIdentity || string(hintSeen) != peerHint {
				t.Errorf("we got identity %q, pion got hint %q", seen.Identity(), hintSeen)
			}
			echoWithPion(t, c, r.conn)
		})
	}
}

// endPionWait checks that pion is still in its handshake after ours gave up
// with a different key: our giving up sends nothing, so pion waits for a
// Finished it can read until its own time limit. Closing its socket ends
// the wait.
func endPionWait(t *testing.T, done <-chan pionResult, raw *net.UDPConn) {
	t.Helper()
	select {
	case r := <-done:
		t.Fatalf("pion's handshake ended before its time limit: %v", r.err)
	default:
	}
	raw.Close()
	if r := <-done; r.err == nil {
		t.Error("pion's handshake succeeded with a different key")
	}
}

// TestPionClient runs our client against pion's server, which sends a
// HelloVerifyRequest first.
func TestPionClient(t *testing.T) {
	t.Parallel()
	for _, tc := range pionCases("the server never sent its Finished (most likely the pre-shared keys differ)") {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conn := listenUDP(t, loopback4)
			raw, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, conn.LocalAddr().(*net.UDPAddr))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { raw.Close() })
			var identitySeen []byte
			done := make(chan pionResult, 1)
			go func() {
				pc, err := dtls.Server(raw, pionConfig(tc, []byte(peerHint), &identitySeen))
				done <- pionResult{pc, err}
			}()

			var seen psk.Authenticator
			cfg := session.Config{Suites: []uint16{tc.suite}, HandshakeDeadline: tc.deadline, PSK: pskCallback(peerIdentity, peerKey, &seen)}
			start := time.Now()
			server := raw.LocalAddr().(*net.UDPAddr).AddrPort()
			c, err := dtlsnet.Dial(conn, netip.AddrPortFrom(server.Addr().Unmap(), server.Port()), cfg, start.Add(handshakeLimit))
			took := time.Since(start)
			if tc.wantErr != "" {
				checkFailure(t, c, err, tc.wantErr, took)
				endPionWait(t, done, raw)
				return
			}
			r := <-done
			if r.conn != nil {
				t.Cleanup(func() { r.conn.Close() })
			}
			if err != nil || r.err != nil {
				t.Fatalf("handshake: ours %v, pion's %v", err, r.err)
			}
			if got, _ := c.Session.SessionCipher(); got.ID != tc.suite {
				t.Errorf("negotiated %s, want 0x%04X", got.Name, tc.suite)
			}
			if string(seen.IdentityHint()) != peerHint || string(identitySeen) != peerIdentity {
				t.Errorf("we got hint %q, pion got identity %q", seen.IdentityHint(), identitySeen)
			}
			echoWithPion(t, c, r.conn)
		})
	}
}
