// SPDX-License-Identifier: MIT

package session

import (
	"bytes"
	"testing"

	"github.com/dtlsgate/dtlsgate/core/dtlserror"
	"github.com/dtlsgate/dtlsgate/core/psk"
)

func TestHandshakeEverySuite(t *testing.T) {
	for _, suite := range Suites() {
		t.Run(suite.Name, func(t *testing.T) {
			var seenServer, seenClient psk.Authenticator
			l := newLink(t,
				Config{Suites: []uint16{suite.ID}, PSK: keyFor("client-7", "sesame", &seenClient)},
				Config{Suites: []uint16{suite.ID}, IdentityHint: []byte("hint"), PSK: keyFor("", "sesame", &seenServer)})
			l.run()
			expectEstablished(t, l, suite.ID)
			if string(seenServer.Identity()) != "client-7" || string(seenServer.IdentityHint()) != "hint" ||
				seenServer.MaximumIdentityLength() != 0 || seenServer.MaximumPreSharedKeyLength() != MaxPreSharedKeyLength {
				t.Errorf("server authenticator: identity %q hint %q max %d/%d", seenServer.Identity(), seenServer.IdentityHint(),
					seenServer.MaximumIdentityLength(), seenServer.MaximumPreSharedKeyLength())
			}
			if string(seenClient.IdentityHint()) != "hint" || seenClient.MaximumIdentityLength() != MaxIdentityLength ||
				seenClient.MaximumPreSharedKeyLength() != MaxPreSharedKeyLength {
				t.Errorf("client authenticator: hint %q max %d/%d", seenClient.IdentityHint(),
					seenClient.MaximumIdentityLength(), seenClient.MaximumPreSharedKeyLength())
			}
		})
	}
}

// expectEstablished checks both ends completed with the suite and that data
// flows both ways.
func expectEstablished(t *testing.T, l *link, suite uint16) {
	t.Helper()
	for _, s := range []*Session{l.client, l.server} {
		if s == nil || s.HandshakeState() != HandshakeComplete || !s.IsConnectionEncrypted() {
			if s == nil {
				t.Fatalf("server never started")
			}
			t.Fatalf("%v: state %v, error %v %q", s.Mode(), s.HandshakeState(), s.DtlsError(), s.DtlsErrorString())
		}
		if c, _ := s.SessionCipher(); c.ID != suite {
			t.Fatalf("%v: cipher %s, want 0x%04X", s.Mode(), c.Name, suite)
		}
	}
	echo(t, l.client, l.server, []byte("ping from the client"))
	echo(t, l.server, l.client, []byte("pong from the server"))
}

func echo(t *testing.T, from, to *Session, msg []byte) {
	t.Helper()
	if n := from.WriteDatagramEncrypted(msg); n != len(msg) {
		t.Fatalf("write: %d, %s", n, from.DtlsErrorString())
	}
	out := from.Outgoing()
	if len(out) != 1 {
		t.Fatalf("write made %d datagrams", len(out))
	}
	got := to.DecryptDatagram(out[0])
	if !bytes.Equal(got, msg) || to.DtlsError() != dtlserror.NoError {
		t.Fatalf("decrypt: %q, %v %s", got, to.DtlsError(), to.DtlsErrorString())
	}
	// A replayed record is dropped.
	if got := to.DecryptDatagram(out[0]); len(got) != 0 {
		t.Fatalf("replayed record accepted: %q", got)
	}
}
