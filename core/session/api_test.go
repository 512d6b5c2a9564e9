// SPDX-License-Identifier: MIT

package session

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/dtlsgate/dtlsgate/core/dtlserror"
	"github.com/dtlsgate/dtlsgate/core/psk"
	"github.com/dtlsgate/dtlsgate/internal/dtlstest"
)

func expectError(t *testing.T, s *Session, ok bool, code dtlserror.Code, msg string) {
	t.Helper()
	if ok || s.DtlsError() != code || s.DtlsErrorString() != msg {
		t.Fatalf("got ok=%v %v %q, want %v %q", ok, s.DtlsError(), s.DtlsErrorString(), code, msg)
	}
}

// Calls in the wrong state or with empty input get QDtls's codes and messages.
func TestStateAndInputErrors(t *testing.T) {
	c, _ := New(Client, Config{})
	expectError(t, c, c.DoHandshake(nil), dtlserror.InvalidOperation, "To start a handshake you must set peer's address and port first")
	expectError(t, c, c.HandleTimeout(), dtlserror.InvalidOperation, "Cannot handle timeout, no handshake in progress")
	expectError(t, c, c.AbortHandshake(), dtlserror.InvalidOperation, "No handshake in progress, nothing to abort")
	expectError(t, c, c.Shutdown(), dtlserror.InvalidOperation, "Cannot send shutdown alert, not encrypted")
	expectError(t, c, c.WriteDatagramEncrypted([]byte("x")) >= 0, dtlserror.InvalidOperation, "Cannot write a datagram, not in encrypted state")
	expectError(t, c, c.DecryptDatagram([]byte("x")) != nil, dtlserror.InvalidOperation, "Cannot read a datagram, not in encrypted state")
	for _, bad := range []string{"0.0.0.0:1", "127.0.0.1:0", "[::]:5"} {
		expectError(t, c, c.SetPeer(netip.MustParseAddrPort(bad)), dtlserror.InvalidInputParameters, "Invalid address")
	}
	expectError(t, c, c.SetPeer(netip.AddrPort{}), dtlserror.InvalidInputParameters, "Invalid address")
	for _, bad := range []string{"224.0.0.1:5", "255.255.255.255:5", "[ff02::1]:5"} {
		expectError(t, c, c.SetPeer(netip.MustParseAddrPort(bad)), dtlserror.InvalidInputParameters, "Multicast and broadcast addresses are not supported")
	}
	if !c.SetPeer(serverAddr) || c.DtlsError() != dtlserror.NoError {
		t.Fatal(c.DtlsErrorString())
	}
	if !c.DoHandshake(nil) || c.HandshakeState() != HandshakeInProgress {
		t.Fatal(c.DtlsErrorString())
	}
	expectError(t, c, c.DoHandshake(nil), dtlserror.InvalidInputParameters, "A non-empty datagram is needed to continue the handshake")
	expectError(t, c, c.SetPeer(clientAddr), dtlserror.InvalidOperation, "Cannot set peer after handshake started")
	expectError(t, c, c.SetConfig(Config{}), dtlserror.InvalidOperation, "Cannot set configuration after handshake started")
	if !c.AbortHandshake() || c.HandshakeState() != HandshakeNotStarted {
		t.Fatal("abort")
	}

	s, _ := New(Server, Config{})
	s.SetPeer(clientAddr)
	expectError(t, s, s.DoHandshake(nil), dtlserror.InvalidInputParameters, "To start a handshake, DTLS server requires non-empty datagram (client hello)")

	if _, err := New(Mode(0), Config{}); err == nil {
		t.Fatal("mode 0 accepted")
	}
	for _, cfg := range []Config{{Suites: []uint16{}}, {Suites: []uint16{0x1301}}, {MTU: 100}, {MTU: 70000}, {IdentityHint: make([]byte, 65536)}} {
		if _, err := New(Client, cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
		if s.SetConfig(cfg) || s.DtlsError() != dtlserror.InvalidInputParameters {
			t.Errorf("SetConfig(%+v): %v", cfg, s.DtlsError())
		}
	}
}

// A server starts only from a ClientHello whose cookie is valid for the peer.
func TestServerRechecksCookie(t *testing.T) {
	var hello []byte
	for _, d := range dtlstest.Corpus(t) {
		if d.Name == "openssl_psk.bin" {
			hello = d.Data
		}
	}
	cases := map[string][]byte{
		"no cookie":     hello,
		"forged cookie": dtlstest.WithCookie(t, hello, bytes.Repeat([]byte{7}, 32)),
		"garbage":       []byte("not a datagram"),
	}
	for name, d := range cases {
		s, _ := New(Server, Config{})
		s.SetPeer(clientAddr)
		expectError(t, s, s.DoHandshake(d), dtlserror.TlsFatalError, "Cannot start the handshake, verified client hello expected")
		if s.HandshakeState() != HandshakeNotStarted || len(s.Outgoing()) != 0 {
			t.Errorf("%s: state %v, sent something", name, s.HandshakeState())
		}
	}
	// The right cookie, but for another peer.
	s, _ := New(Server, Config{})
	other := netip.MustParseAddrPort("127.0.0.2:40000")
	s.SetPeer(other)
	cookie := make([]byte, 32)
	cookie = cookie[:s.cookies().Mint(cookie, clientAddr)]
	good := dtlstest.WithCookie(t, hello, cookie)
	expectError(t, s, s.DoHandshake(good), dtlserror.TlsFatalError, "Cannot start the handshake, verified client hello expected")
	// From the peer it was made for, the same datagram starts the handshake.
	s, _ = New(Server, Config{})
	s.SetPeer(clientAddr)
	if !s.DoHandshake(good) || s.HandshakeState() != HandshakeInProgress || len(s.Outgoing()) == 0 {
		t.Fatalf("valid hello refused: %q", s.DtlsErrorString())
	}
}

// expectFatalAlert checks that exactly one alert went out, the fatal desc.
func expectFatalAlert(t *testing.T, alerts [][2]byte, desc uint8) {
	t.Helper()
	if len(alerts) != 1 || alerts[0] != [2]byte{alertFatal, desc} {
		t.Fatalf("alerts: %v, want one fatal %s", alerts, AlertName(desc))
	}
}

// alertsTo records the alerts sent towards one side.
func alertsTo(l *link, toServer bool, into *[][2]byte) {
	l.filter = func(ts bool, d []byte) []byte {
		if ts == toServer {
			splitRecords(d, func(r record) bool {
				if r.typ == contentAlert && r.epoch == 0 && len(r.payload) == 2 {
					*into = append(*into, [2]byte{r.payload[0], r.payload[1]})
				}
				return true
			})
		}
		return d
	}
}

func TestNoKeyFailsWithAlert(t *testing.T) {
	t.Run("server", func(t *testing.T) {
		var alerts [][2]byte
		l := newLink(t, Config{PSK: keyFor("who", "k", nil)}, Config{PSK: keyFor("", "", nil)})
		alertsTo(l, false, &alerts)
		l.run()
		expectError(t, l.server, false, dtlserror.TlsFatalError, "No pre-shared key for the client's identity (sent alert unknown_psk_identity)")
		expectFatalAlert(t, alerts, alertUnknownPSKIdentity)
		expectError(t, l.client, false, dtlserror.TlsFatalError, "The peer sent a fatal alert: unknown_psk_identity")
	})
	t.Run("client without callback", func(t *testing.T) {
		var alerts [][2]byte
		l := newLink(t, Config{}, Config{PSK: keyFor("", "k", nil)})
		alertsTo(l, true, &alerts)
		l.run()
		expectError(t, l.client, false, dtlserror.TlsFatalError, "No pre-shared key was provided (sent alert handshake_failure)")
		expectFatalAlert(t, alerts, alertHandshakeFailure)
		expectError(t, l.server, false, dtlserror.TlsFatalError, "The peer sent a fatal alert: handshake_failure")
	})
	t.Run("callback panics", func(t *testing.T) {
		l := newLink(t, Config{PSK: func(*psk.Authenticator) { panic("application bug") }}, Config{PSK: keyFor("", "k", nil)})
		l.run()
		expectError(t, l.client, false, dtlserror.TlsFatalError, "No pre-shared key was provided (sent alert handshake_failure)")
	})
}

// Different keys: neither side can authenticate the other's Finished. Both
// drop what fails silently (RFC 6347 section 4.1.2.7) and give up when the
// handshake deadline passes, saying what most likely went wrong.
func TestWrongKey(t *testing.T) {
	var alerts [][2]byte
	l := newLink(t, Config{PSK: keyFor("id", "one", nil)}, Config{PSK: keyFor("", "two", nil)})
	alertsTo(l, false, &alerts)
	start := l.clock.now()
	l.run()
	expectError(t, l.server, false, dtlserror.TlsFatalError,
		"The handshake did not complete within 30s: the peer's Finished never authenticated (most likely the pre-shared keys differ)")
	expectError(t, l.client, false, dtlserror.TlsFatalError,
		"The handshake did not complete within 30s: the server never sent its Finished (most likely the pre-shared keys differ)")
	if took := l.clock.now().Sub(start); took > DefaultHandshakeDeadline+time.Second {
		t.Errorf("failing took %v", took)
	}
	if len(alerts) != 0 {
		t.Errorf("the server sent alerts %v", alerts)
	}
}

// A client that offers only DTLS 1.0 gets protocol_version.
func TestDTLS10ClientRefused(t *testing.T) {
	var alerts [][2]byte
	l := newLink(t, Config{PSK: keyFor("id", "k", nil)}, Config{PSK: keyFor("", "k", nil)})
	alertsTo(l, false, &alerts)
	inner := l.filter
	l.filter = func(toServer bool, d []byte) []byte {
		if toServer && d[0] == contentHandshake && d[13] == msgClientHello {
			d = bytes.Clone(d)
			d[1], d[2] = 0xFE, 0xFF   // record version
			d[25], d[26] = 0xFE, 0xFF // client_version
		}
		return inner(toServer, d)
	}
	l.run()
	expectError(t, l.server, false, dtlserror.TlsFatalError, "The client does not support DTLS 1.2 (sent alert protocol_version)")
	expectFatalAlert(t, alerts, alertProtocolVersion)
}

func established(t *testing.T) *link {
	t.Helper()
	l := newLink(t, Config{PSK: keyFor("id", "k", nil)}, Config{PSK: keyFor("", "k", nil)})
	l.run()
	expectEstablished(t, l, TLS_PSK_WITH_AES_128_GCM_SHA256)
	return l
}

func TestShutdown(t *testing.T) {
	l := established(t)
	if !l.client.Shutdown() || l.client.IsConnectionEncrypted() || l.client.HandshakeState() != HandshakeNotStarted {
		t.Fatal("client shutdown")
	}
	out := l.client.Outgoing()
	if len(out) != 1 {
		t.Fatalf("shutdown sent %d datagrams", len(out))
	}
	if got := l.server.DecryptDatagram(out[0]); got != nil {
		t.Fatalf("data from close_notify: %q", got)
	}
	expectError(t, l.server, false, dtlserror.RemoteClosedConnectionError, "The DTLS connection has been shutdown")
	if l.server.IsConnectionEncrypted() || l.server.HandshakeState() != HandshakeNotStarted {
		t.Fatal("server still open after close_notify")
	}
}

// An unauthenticated alert (epoch 0) cannot close an established connection.
func TestPlaintextAlertIgnoredAfterHandshake(t *testing.T) {
	l := established(t)
	alert := appendRecordHeader(nil, contentAlert, versionDTLS12, 0, 99, 2)
	alert = append(alert, alertFatal, alertHandshakeFailure)
	l.server.DecryptDatagram(alert)
	if !l.server.IsConnectionEncrypted() || l.server.DtlsError() != dtlserror.NoError {
		t.Fatal("a forged plaintext alert closed the connection")
	}
	echo(t, l.client, l.server, []byte("still here"))
}

func TestFatalAlertAfterHandshake(t *testing.T) {
	l := established(t)
	l.client.sendAlert(alertFatal, alertInternalError)
	l.server.DecryptDatagram(l.client.Outgoing()[0])
	expectError(t, l.server, false, dtlserror.TlsFatalError, "The peer sent a fatal alert: internal_error")
}

// A ClientHello after the handshake (renegotiation) gets a no_renegotiation
// warning and the connection carries on.
func TestRenegotiationRefused(t *testing.T) {
	l := established(t)
	body := []byte{0xFE, 0xFD}
	hello := newMessage(msgClientHello, l.server.peerSeq, append(body, make([]byte, 40)...))
	rec, _ := l.client.sealRecord(nil, contentHandshake, 1, hello)
	l.server.DecryptDatagram(rec)
	out := l.server.Outgoing()
	if len(out) != 1 {
		t.Fatalf("server sent %d datagrams", len(out))
	}
	l.client.DecryptDatagram(out[0])
	if l.client.DtlsError() != dtlserror.NoError || !l.server.IsConnectionEncrypted() {
		t.Fatal("renegotiation refusal broke the connection")
	}
	var got []byte
	splitRecords(out[0], func(r record) bool {
		got, _ = l.client.readProt.open(r)
		return false
	})
	if !bytes.Equal(got, []byte{alertWarning, alertNoRenegotiation}) {
		t.Fatalf("server answered %v, want a no_renegotiation warning", got)
	}
	echo(t, l.client, l.server, []byte("after"))
}

func TestWriteLimits(t *testing.T) {
	l := established(t)
	expectError(t, l.client, l.client.WriteDatagramEncrypted(nil) >= 0, dtlserror.InvalidInputParameters, "Cannot write an empty datagram")
	expectError(t, l.client, l.client.WriteDatagramEncrypted(make([]byte, maxPlaintext+1)) >= 0, dtlserror.InvalidInputParameters, "Cannot write 16385 bytes: a record holds at most 16384")
	expectError(t, l.client, l.client.DecryptDatagram(nil) != nil, dtlserror.InvalidInputParameters, "Cannot decrypt an empty datagram")
	big := bytes.Repeat([]byte("x"), maxPlaintext)
	echo(t, l.client, l.server, big)
	if l.client.SessionProtocol() != "DTLSv1.2" {
		t.Fatal(l.client.SessionProtocol())
	}
}

// The server's first records continue from the ClientHello's record
// sequence number, and its ServerHello has message_seq 1 (RFC 6347 4.2.1:
// the HelloVerifyRequest was message 0).
func TestServerEchoesRecordSequence(t *testing.T) {
	l := newLink(t, Config{PSK: keyFor("id", "k", nil)}, Config{PSK: keyFor("", "k", nil)})
	var helloSeq, firstServerSeq uint64
	var serverHelloMsgSeq uint16
	l.filter = func(toServer bool, d []byte) []byte {
		if toServer && l.server == nil {
			splitRecords(d, func(r record) bool { helloSeq = r.seq; return false })
		}
		if !toServer && l.server != nil && firstServerSeq == 0 {
			splitRecords(d, func(r record) bool {
				firstServerSeq = r.seq
				h, _ := parseHandshakeHeader(r.payload)
				serverHelloMsgSeq = h.seq
				return false
			})
		}
		return d
	}
	l.run()
	expectEstablished(t, l, TLS_PSK_WITH_AES_128_GCM_SHA256)
	if helloSeq == 0 || firstServerSeq != helloSeq || serverHelloMsgSeq != 1 {
		t.Fatalf("ClientHello record %d, ServerHello record %d message_seq %d", helloSeq, firstServerSeq, serverHelloMsgSeq)
	}
}

// The server picks its own most preferred suite among the client's.
func TestServerPreference(t *testing.T) {
	l := newLink(t,
		Config{Suites: []uint16{TLS_PSK_WITH_AES_128_GCM_SHA256, TLS_PSK_WITH_AES_128_CCM_8, TLS_PSK_WITH_CHACHA20_POLY1305_SHA256}, PSK: keyFor("id", "k", nil)},
		Config{Suites: []uint16{TLS_PSK_WITH_AES_128_CBC_SHA256, TLS_PSK_WITH_AES_128_CCM_8, TLS_PSK_WITH_AES_128_GCM_SHA256}, PSK: keyFor("", "k", nil)})
	l.run()
	expectEstablished(t, l, TLS_PSK_WITH_AES_128_CCM_8)

	var alerts [][2]byte
	l = newLink(t, Config{Suites: []uint16{TLS_PSK_WITH_AES_128_GCM_SHA256}, PSK: keyFor("id", "k", nil)},
		Config{Suites: []uint16{TLS_PSK_WITH_AES_128_CCM}, PSK: keyFor("", "k", nil)})
	alertsTo(l, false, &alerts)
	l.run()
	expectError(t, l.server, false, dtlserror.TlsFatalError, "No cipher suite in common with the client (sent alert handshake_failure)")
	expectFatalAlert(t, alerts, alertHandshakeFailure)
}
