// SPDX-License-Identifier: MIT

package session

import (
	"bytes"
	"testing"
	"time"

	"github.com/dtlsgate/dtlsgate/core/dtlserror"
	"github.com/dtlsgate/dtlsgate/core/psk"
)

// deferringLink is a link whose server defers every PSK request.
func deferringLink(t *testing.T, suites []uint16) *link {
	var l *link
	defer1 := func(a *psk.Authenticator) {
		if !l.server.DeferPSK() {
			t.Errorf("DeferPSK from the callback: %s", l.server.DtlsErrorString())
		}
	}
	l = newLink(t, Config{PSK: keyFor("id", "k", nil), Suites: suites}, Config{PSK: defer1, Suites: suites})
	return l
}

func TestDeferredPSKResolved(t *testing.T) {
	for _, suite := range []uint16{TLS_PSK_WITH_AES_128_GCM_SHA256, TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256} {
		l := deferringLink(t, []uint16{suite})
		if !l.client.DoHandshake(nil) {
			t.Fatal(l.client.DtlsErrorString())
		}
		l.send(true, l.client.Outgoing())
		l.exchange(6)
		if !l.server.PSKPending() || l.server.HandshakeState() != HandshakeInProgress {
			t.Fatalf("suite %04x: server not waiting for the key: %v %s", suite, l.server.HandshakeState(), l.server.DtlsErrorString())
		}
		// No retransmission while the key is looked up: the client's flight arrived.
		if d, _ := l.server.Timeout(); d < 29*time.Second {
			t.Errorf("timer %v while waiting for the key, want only the deadline", d)
		}
		key := []byte("k")
		if !l.server.ResolvePSK(key) {
			t.Fatalf("ResolvePSK: %s", l.server.DtlsErrorString())
		}
		if !bytes.Equal(key, []byte("k")) {
			t.Error("ResolvePSK wiped the caller's key")
		}
		// The client's ChangeCipherSpec and Finished came while the key was
		// awaited; they complete the handshake now.
		if !l.server.IsConnectionEncrypted() {
			t.Fatalf("suite %04x: server not connected after ResolvePSK: %v", suite, l.server.HandshakeState())
		}
		l.send(false, l.server.Outgoing())
		l.pump()
		if !l.client.IsConnectionEncrypted() {
			t.Fatalf("client not connected: %s", l.client.DtlsErrorString())
		}
		if l.server.ResolvePSK(key) || l.server.DtlsError() != dtlserror.InvalidOperation {
			t.Error("a second ResolvePSK was taken")
		}
	}
}

func TestDeferredPSKRefusedAndExpired(t *testing.T) {
	l := deferringLink(t, nil)
	l.client.DoHandshake(nil)
	l.send(true, l.client.Outgoing())
	l.exchange(6)
	if l.server.ResolvePSK(nil) || l.server.HandshakeState() != HandshakeNotStarted {
		t.Fatal("a refusal did not end the handshake")
	}
	out := l.server.Outgoing()
	if len(out) != 1 || out[0][0] != contentAlert {
		t.Fatalf("refusal sent %d datagrams, want one alert", len(out))
	}

	l = deferringLink(t, nil)
	l.client.DoHandshake(nil)
	l.send(true, l.client.Outgoing())
	l.exchange(6)
	l.clock.advance(DefaultHandshakeDeadline)
	if l.server.ResolvePSK([]byte("k")) || l.server.HandshakeState() != HandshakeNotStarted {
		t.Fatal("a key after the deadline was taken")
	}
	if l.server.DeferPSK() {
		t.Error("DeferPSK outside the callback was taken")
	}
}

// A peer past the cookie exchange decides how much the reassembler holds by
// the lengths it claims; MaxHandshakeBuffer bounds it.
func TestMaxHandshakeBuffer(t *testing.T) {
	l := newLink(t, Config{PSK: keyFor("id", "k", nil)}, Config{PSK: keyFor("", "k", nil), MaxHandshakeBuffer: 1000})
	l.client.DoHandshake(nil)
	l.send(true, l.client.Outgoing())
	l.exchange(2) // hello, verify request, hello with cookie, server flight
	if l.server == nil || l.server.HandshakeState() != HandshakeInProgress {
		t.Fatal("no server handshake")
	}
	// A fragment of a ClientKeyExchange claiming 60000 bytes.
	frag := appendHandshakeHeader(nil, msgClientKeyExchange, 60000, 2, 0, 10)
	frag = append(frag, make([]byte, 10)...)
	rec := appendRecordHeader(nil, contentHandshake, versionDTLS12, 0, 5, len(frag))
	l.server.DoHandshake(append(rec, frag...))
	if n := l.server.hs.reasm.bytes; n != 0 {
		t.Errorf("reassembler holds %d bytes past a limit of 1000", n)
	}
	if _, err := New(Server, Config{MaxHandshakeBuffer: -1}); err == nil {
		t.Error("a negative limit was taken")
	}
}

// Epoch-1 records that come before the ChangeCipherSpec are kept for later
// only when small: a Finished is, and a stranger's big datagrams are not.
func TestEarlyRecordsBounded(t *testing.T) {
	l := newLink(t, Config{PSK: keyFor("id", "k", nil)}, Config{PSK: keyFor("", "k", nil)})
	l.client.DoHandshake(nil)
	l.send(true, l.client.Outgoing())
	l.exchange(2)
	for _, n := range []int{maxEarlyRecord, 100} {
		rec := appendRecordHeader(nil, contentHandshake, versionDTLS12, 1, 1, n)
		l.server.DoHandshake(append(rec, make([]byte, n)...))
	}
	if len(l.server.hs.early) != 1 || len(l.server.hs.early[0]) != recordHeaderLen+100 {
		t.Fatalf("kept %d early records", len(l.server.hs.early))
	}
}
