// SPDX-License-Identifier: MIT

package session

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/dtlsgate/dtlsgate/core/dtlserror"
	"github.com/dtlsgate/dtlsgate/core/verifier"
)

// hugeID is the longest connection ID RFC 9146 lets a peer ask for; our own
// settings refuse more than MaxConnectionIDLength, a hostile peer's hello
// does not.
var hugeID = bytes.Repeat([]byte{0xA5}, 255)

// A client may ask the server for a connection ID of up to 255 bytes, which
// every record the server sends then carries. At a small MTU no handshake
// fragment fits beside it, and building the server's Finished panicked
// (makeslice with a negative size): any client with a key could crash the
// process. The server now declines connection IDs for such a client, which
// then gets plain records.
func TestReview6FindingHugePeerIDAtSmallMTU(t *testing.T) {
	for _, suite := range Suites() {
		t.Run(suite.Name, func(t *testing.T) {
			l := newLink(t, Config{Suites: []uint16{suite.ID}, PSK: keyFor("id", "k", nil)},
				Config{PSK: keyFor("", "k", nil), MTU: MinMTU})
			l.client.cfg.ConnectionID = hugeID
			l.run()
			if l.server == nil || !l.server.IsConnectionEncrypted() || !l.client.IsConnectionEncrypted() {
				t.Fatalf("handshake failed: %s", l.client.DtlsErrorString())
			}
			if _, on := l.server.ConnectionID(); on {
				t.Fatal("the server took a 255-byte ID at an MTU of 256")
			}
			rec := seal(t, l.server, []byte("hello"))
			if got := open(t, l.client, rec); string(got) != "hello" {
				t.Fatalf("got %q", got)
			}
		})
	}
}

// The same from the client's side: a ServerHello is not authenticated until
// the Finished messages, so anyone who can race the server's flight could
// name a 255-byte ID and crash a client with a small MTU that offered
// connection IDs while it built its Finished. The client now ends the
// handshake with an alert instead.
func TestReview6FindingServerNamesHugeIDAtSmallMTU(t *testing.T) {
	clock := &clock{}
	client, err := New(Client, Config{PSK: keyFor("id", "k", nil), MTU: MinMTU, ConnectionIDLength: EmptyConnectionID, Now: clock.now})
	if err != nil || !client.SetPeer(serverAddr) || !client.DoHandshake(nil) {
		t.Fatal(err, client.DtlsErrorString())
	}
	v := verifier.New()
	reply := make([]byte, verifier.MaxReplySize)
	var server *Session
	for _, d := range client.Outgoing() {
		res, n, err := v.Check(d, clientAddr, reply)
		if err != nil || res != verifier.SendReply {
			t.Fatalf("%v %v", res, err)
		}
		client.DoHandshake(reply[:n])
	}
	for _, d := range client.Outgoing() {
		if res, _, _ := v.Check(d, clientAddr, reply); res != verifier.Verified {
			t.Fatalf("%v", res)
		}
		if server, err = New(Server, Config{PSK: keyFor("", "k", nil), Cookies: v.Generator(), Now: clock.now}); err != nil {
			t.Fatal(err)
		}
		server.cfg.ConnectionID = hugeID // what a hostile server may answer
		server.SetPeer(clientAddr)
		server.DoHandshake(d)
	}
	for _, d := range server.Outgoing() {
		client.DoHandshake(d)
	}
	if client.HandshakeState() != HandshakeNotStarted || client.DtlsError() != dtlserror.TlsFatalError {
		t.Fatalf("state %v, error %v %q", client.HandshakeState(), client.DtlsError(), client.DtlsErrorString())
	}
}

// MovePeer looks at "the last datagram passed to DecryptDatagram or Open".
// An empty one was refused before that point, so the verdict of the
// datagram before it stood: after a genuine new record from the peer's
// own address, an attacker's empty UDP datagram from anywhere, followed by
// the MovePeer an application makes after a datagram from an unexpected
// address, moved the session to the attacker. Every datagram, refused or
// not, now resets the verdict.
func TestReview6FindingEmptyDatagramKeepsMoveVerdict(t *testing.T) {
	attacker := netip.MustParseAddrPort("203.0.113.66:666")
	for _, name := range []string{"Open", "DecryptDatagram"} {
		c, s := connectedCID(t, TLS_PSK_WITH_AES_128_GCM_SHA256, cidCases[0])
		open(t, s, seal(t, c, []byte("genuine, from home")))
		if name == "Open" {
			s.Open(make([]byte, 64), nil)
		} else {
			s.DecryptDatagram(nil)
		}
		if s.MovePeer(attacker) || s.Peer() == attacker {
			t.Fatalf("%s of an empty datagram, then MovePeer: moved to %v", name, s.Peer())
		}
	}
}
