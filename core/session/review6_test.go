// SPDX-License-Identifier: MIT

package session

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/dtlsgate/dtlsgate/core/dtlserror"
	"github.com/dtlsgate/dtlsgate/core/verifier"
	"github.com/dtlsgate/dtlsgate/core/wire"
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

// sealInner seals inner as the whole inner plaintext of a tls12_cid record
// from s, authentic under its next sequence number: what a peer with the
// keys (or a bug) may send.
func sealInner(t *testing.T, s *Session, inner []byte) []byte {
	t.Helper()
	seq := s.writeSeq[1]
	s.writeSeq[1]++
	rec, err := s.writeProt.seal(nil, contentCID, 1, seq, bytes.Clone(inner))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// The inner plaintext of RFC 9146 section 4 as a peer with the keys may
// shape it, every suite: all zeros (no real type) and an inner type of
// tls12_cid are dropped and move nothing; padding after the type is
// stripped; a padding-only record of application data is empty data; an
// inner ChangeCipherSpec in epoch 1 is ignored; an inner alert is an alert.
func TestReview6HoldsInnerPlaintext(t *testing.T) {
	for _, suite := range Suites() {
		t.Run(suite.Name, func(t *testing.T) {
			c, s := connectedCID(t, suite.ID, cidCases[1])
			there := netip.MustParseAddrPort("203.0.113.5:5")
			for _, inner := range [][]byte{{0}, make([]byte, 40), {'x', contentCID}, {'x', contentCID, 0, 0}} {
				if n, res := s.Open(make([]byte, 128), sealInner(t, c, inner)); res != RecordDropped || s.MovePeer(there) {
					t.Fatalf("inner % x: %d bytes, result %d, or it moved", inner, n, res)
				}
			}
			for inner, want := range map[string]string{"data\x17\x00\x00\x00": "data", "\x17": "", "\x17\x00": ""} {
				out := make([]byte, 128)
				if n, res := s.Open(out, sealInner(t, c, []byte(inner))); res != RecordOK || string(out[:n]) != want {
					t.Fatalf("inner %q: %q, result %d", inner, out[:n], res)
				}
			}
			if _, res := s.Open(make([]byte, 128), sealInner(t, c, []byte{1, contentChangeCipherSpec})); res != RecordNotData || !s.IsConnectionEncrypted() {
				t.Fatalf("an inner ChangeCipherSpec: %d, %s", res, s.DtlsErrorString())
			}
			if got := open(t, s, seal(t, c, []byte("still"))); string(got) != "still" {
				t.Fatal(got)
			}
			if s.DecryptDatagram(sealInner(t, c, []byte{alertFatal, alertInternalError, contentAlert})); s.IsConnectionEncrypted() {
				t.Fatal("an inner fatal alert did not end the connection")
			}
		})
	}
}

// Records of the wrong form for what was negotiated are dropped: a plain
// record to a session that asked for an ID, a tls12_cid record with
// another ID, or to a session that gets plain records, and one in epoch 0.
func TestReview6HoldsWrongRecordForm(t *testing.T) {
	c, s := connectedCID(t, TLS_PSK_WITH_AES_128_GCM_SHA256, cidCases[1]) // both with IDs
	rec := seal(t, c, []byte("x"))
	other := bytes.Clone(rec)
	other[11] ^= 1
	epoch0 := bytes.Clone(rec)
	epoch0[4] = 0
	plain := seal(t, c, []byte("y"))
	// The same record made plain: header without the ID, type 23.
	id, _ := c.PeerConnectionID()
	plain = append(append([]byte{contentApplicationData}, plain[1:11]...), plain[11+len(id):]...)
	for i, d := range [][]byte{other, epoch0, plain} {
		if n, res := s.Open(make([]byte, 128), d); res != RecordDropped {
			t.Fatalf("datagram %d: %d bytes, result %d", i, n, res)
		}
		if got := s.DecryptDatagram(d); got != nil || !s.IsConnectionEncrypted() {
			t.Fatalf("datagram %d: %q", i, got)
		}
	}
	// A session that gets plain records cannot even frame a tls12_cid one.
	_, ps := connectedCID(t, TLS_PSK_WITH_AES_128_GCM_SHA256, cidCases[4])
	if n, res := ps.Open(make([]byte, 128), rec); res != RecordDropped || ps.DecryptDatagram(rec) != nil {
		t.Fatalf("tls12_cid to a session without IDs: %d, %d", n, res)
	}
}

// The client's connection_id extension as an attacker may shape it: a
// body without its length byte, a length past the end, bytes after the
// ID, each refused with decode_error; an empty ID and one of
// MaxPeerConnectionIDLength bytes are taken as they are, longer ones (up
// to 255) get plain records; a second copy of the extension does not
// replace the first.
func TestReview6HoldsConnectionIDExtensionForms(t *testing.T) {
	ext := func(body ...byte) []byte {
		return append([]byte{0, extConnectionID, 0, byte(len(body))}, body...)
	}
	long := append([]byte{255}, hugeID...)
	longest := hugeID[:MaxPeerConnectionIDLength]
	tooLong := hugeID[:MaxPeerConnectionIDLength+1]
	for _, c := range []struct {
		exts   []byte
		ok, on bool
		peer   []byte
	}{
		{ext(), false, false, nil},
		{ext(3, 1, 2), false, false, nil},
		{ext(1, 1, 2), false, false, nil},
		{ext(0), true, true, []byte{}},
		{ext(append([]byte{byte(len(longest))}, longest...)...), true, true, longest},
		{ext(append([]byte{byte(len(tooLong))}, tooLong...)...), true, false, nil},
		{append([]byte{0, extConnectionID, 1, 0}, long...), true, false, nil},
		{append(ext(1, 7), ext(1, 8)...), true, true, []byte{7}},
	} {
		s, err := New(Server, Config{PSK: keyFor("", "k", nil)})
		if err != nil {
			t.Fatal(err)
		}
		s.hs = &handshake{}
		ok := s.serverCID(wire.ClientHello{Extensions: c.exts})
		peer, on := s.PeerConnectionID()
		if ok != c.ok || on != c.on || !bytes.Equal(peer, c.peer) {
			t.Errorf("% x: %v, negotiated %v with peer ID %x (%s)", c.exts, ok, on, peer, s.DtlsErrorString())
		}
	}
}
