// SPDX-License-Identifier: MIT

package session

import (
	"bytes"
	"crypto/hmac"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"

	"github.com/dtlsgate/dtlsgate/core/dtlserror"
)

// cidCase is one way the two sides set connection IDs, and the lengths of
// the IDs they then ask for (-1: connection IDs not negotiated).
type cidCase struct {
	name                     string
	client, server           int
	clientWants, serverWants int
}

var cidCases = []cidCase{
	{"device: client empty, server default", EmptyConnectionID, 0, 0, DefaultConnectionIDLength},
	{"both non-empty", 5, MaxConnectionIDLength, 5, MaxConnectionIDLength},
	{"server empty", 3, EmptyConnectionID, 3, 0},
	{"both empty", EmptyConnectionID, EmptyConnectionID, 0, 0},
	{"client default: not offered", 0, 0, -1, -1},
	{"server off", 4, NoConnectionID, -1, -1},
}

// connectedCID returns a client and a server that completed a handshake on
// suite with the connection ID settings of c.
func connectedCID(tb testing.TB, suite uint16, c cidCase) (*Session, *Session) {
	tb.Helper()
	l := newLink(tb, Config{Suites: []uint16{suite}, PSK: keyFor("id", "k", nil), ConnectionIDLength: c.client},
		Config{PSK: keyFor("", "k", nil), ConnectionIDLength: c.server})
	l.run()
	if l.server == nil || !l.server.IsConnectionEncrypted() || !l.client.IsConnectionEncrypted() {
		tb.Fatalf("handshake failed: %s / %v", l.client.DtlsErrorString(), l.server)
	}
	return l.client, l.server
}

// checkIDs checks what each side says was negotiated: the ID one side asked
// for is the one the other puts in its records.
func checkIDs(t *testing.T, c *Session, s *Session, cc cidCase) {
	t.Helper()
	cOwn, cOn := c.ConnectionID()
	sOwn, sOn := s.ConnectionID()
	cPeer, cPeerOn := c.PeerConnectionID()
	sPeer, sPeerOn := s.PeerConnectionID()
	if cc.clientWants < 0 {
		if cOn || sOn || cPeerOn || sPeerOn || cOwn != nil || sOwn != nil {
			t.Fatalf("connection IDs negotiated: %x %x", cOwn, sOwn)
		}
		return
	}
	switch {
	case !cOn || !sOn || !cPeerOn || !sPeerOn:
		t.Fatal("connection IDs not negotiated")
	case len(cOwn) != cc.clientWants || len(sOwn) != cc.serverWants:
		t.Fatalf("IDs of %d and %d bytes, want %d and %d", len(cOwn), len(sOwn), cc.clientWants, cc.serverWants)
	case !bytes.Equal(cOwn, sPeer) || !bytes.Equal(sOwn, cPeer):
		t.Fatalf("client asked for %x, server uses %x; server asked for %x, client uses %x", cOwn, sPeer, sOwn, cPeer)
	}
}

// checkFormat checks a record from from on the wire: tls12_cid with the
// peer's ID at byte 11 when the peer asked for a non-empty one, plain
// application data otherwise, and as long as SealedLen says.
func checkFormat(t *testing.T, from *Session, rec []byte, n int) {
	t.Helper()
	peer, _ := from.PeerConnectionID()
	if len(rec) != from.SealedLen(n) {
		t.Fatalf("record of %d bytes, SealedLen %d", len(rec), from.SealedLen(n))
	}
	if len(peer) == 0 {
		if rec[0] != contentApplicationData {
			t.Fatalf("content type %d, want plain application data", rec[0])
		}
		return
	}
	if rec[0] != contentCID || !bytes.Equal(rec[11:11+len(peer)], peer) ||
		int(binary.BigEndian.Uint16(rec[11+len(peer):])) != len(rec)-13-len(peer) {
		t.Fatalf("not a tls12_cid record with ID %x: % x", peer, rec[:13+len(peer)])
	}
}

// Every suite, every way of setting IDs, both directions: the IDs agree,
// records have the RFC 9146 form, and what Seal, WriteDatagramEncrypted
// and alerts send opens with Open and DecryptDatagram.
func TestConnectionIDRoundTrip(t *testing.T) {
	for _, suite := range Suites() {
		for _, cc := range cidCases {
			t.Run(suite.Name+"/"+cc.name, func(t *testing.T) {
				c, s := connectedCID(t, suite.ID, cc)
				checkIDs(t, c, s, cc)
				for _, pair := range [][2]*Session{{c, s}, {s, c}} {
					from, to := pair[0], pair[1]
					for _, size := range []int{1, 15, 16, 1400, maxPlaintext} {
						plain := pattern(size)
						rec := seal(t, from, plain)
						checkFormat(t, from, rec, size)
						if got := open(t, to, rec); !bytes.Equal(got, plain) {
							t.Fatalf("%d bytes: Seal then Open gave %d different bytes", size, len(got))
						}
						if got := to.DecryptDatagram(seal(t, from, plain)); !bytes.Equal(got, plain) {
							t.Fatalf("%d bytes: DecryptDatagram gave %d bytes (%s)", size, len(got), to.DtlsErrorString())
						}
						from.WriteDatagramEncrypted(plain)
						if got := open(t, to, from.Outgoing()[0]); !bytes.Equal(got, plain) {
							t.Fatalf("%d bytes: WriteDatagramEncrypted then Open failed", size)
						}
					}
				}
				// An alert travels inside too: Open handles it.
				if !c.Shutdown() {
					t.Fatal(c.DtlsErrorString())
				}
				out := c.Outgoing()
				_, res := s.Open(make([]byte, 64), out[0])
				if out[0][0] != contentCID && res == RecordNotData {
					s.DecryptDatagram(out[0]) // a plain alert is not looked into
				}
				if res != RecordNotData || s.IsConnectionEncrypted() || s.DtlsError() != dtlserror.RemoteClosedConnectionError {
					t.Fatalf("close_notify through Open: %d, %v", res, s.DtlsError())
				}
			})
		}
	}
}

// The additional data and MAC input of a tls12_cid record, built here by
// hand from RFC 9146 section 5, open what the engine seals: AEAD (each of
// GCM, CCM, CCM_8, ChaCha20) and CBC.
func TestConnectionIDAuthenticatedData(t *testing.T) {
	cc := cidCases[1]
	for _, suite := range Suites() {
		t.Run(suite.Name, func(t *testing.T) {
			c, s := connectedCID(t, suite.ID, cc)
			cid, _ := c.PeerConnectionID()
			plain := []byte("inner plaintext")
			rec := seal(t, c, plain)
			hdr := 13 + len(cid)
			seq := uint64(binary.BigEndian.Uint16(rec[5:]))<<32 | uint64(binary.BigEndian.Uint32(rec[7:]))
			pseudo := func(n int) []byte {
				b := bytes.Repeat([]byte{0xff}, 8)
				b = append(b, 25, byte(len(cid)), 25, 0xfe, 0xfd)
				b = append(b, rec[3:11]...) // epoch, sequence number
				b = append(b, cid...)
				return binary.BigEndian.AppendUint16(b, uint16(n))
			}
			inner := append(bytes.Clone(plain), contentApplicationData)
			switch p := s.readProt.(type) {
			case *aeadProtection:
				body := rec[hdr:]
				var nonce []byte
				if p.ivLen == 12 {
					nonce = bytes.Clone(p.readIV())
					var es [8]byte
					binary.BigEndian.PutUint64(es[:], 1<<48|seq)
					for i := range es {
						nonce[4+i] ^= es[i]
					}
				} else {
					nonce = append(bytes.Clone(p.readIV()), body[:8]...)
					body = body[8:]
				}
				got, err := p.read.Open(nil, nonce, body, pseudo(len(body)-p.read.Overhead()))
				if err != nil || !bytes.Equal(got, inner) {
					t.Fatalf("the RFC 9146 additional data does not open the record: %v, %q", err, got)
				}
			case *cbcProtection:
				body := bytes.Clone(rec[hdr+16:])
				p.dec.(ivSetter).SetIV(rec[hdr : hdr+16])
				p.dec.CryptBlocks(body, body)
				pad := int(body[len(body)-1]) + 1
				mac := body[len(body)-pad-32 : len(body)-pad]
				if !bytes.Equal(body[:len(inner)], inner) {
					t.Fatalf("inner plaintext %q", body[:len(inner)])
				}
				h := p.readMAC
				h.Reset()
				h.Write(pseudo(len(inner)))
				h.Write(inner)
				if !hmac.Equal(h.Sum(nil), mac) {
					t.Fatal("the RFC 9146 MAC input does not give the record's MAC")
				}
			}
		})
	}
}

// RFC 9146 section 6: only a record that authenticates and is newer than
// any before it lets the peer move; a replay, an older record, a forgery,
// a record without connection IDs never do.
func TestMovePeer(t *testing.T) {
	c, s := connectedCID(t, TLS_PSK_WITH_AES_128_GCM_SHA256, cidCases[0])
	moved := netip.MustParseAddrPort("192.0.2.99:7777")
	r1, r2, r3 := seal(t, c, []byte("one")), seal(t, c, []byte("two")), seal(t, c, []byte("three"))
	forged := bytes.Clone(r3)
	forged[len(forged)-1] ^= 1
	for _, step := range []struct {
		name string
		rec  []byte
		move bool
	}{
		{"forged", forged, false},
		{"newest", r2, true},
		{"replayed", r2, false},
		{"older, first time", r1, false},
		{"newest again", r3, true},
	} {
		if step.move {
			moved = netip.AddrPortFrom(moved.Addr(), moved.Port()+1)
		}
		before := s.Peer()
		s.DecryptDatagram(bytes.Clone(step.rec))
		if ok := s.MovePeer(moved); ok != step.move {
			t.Fatalf("%s: MovePeer %v (%s)", step.name, ok, s.DtlsErrorString())
		}
		if want := map[bool]netip.AddrPort{true: moved, false: before}[step.move]; s.Peer() != want {
			t.Fatalf("%s: peer %v, want %v", step.name, s.Peer(), want)
		}
	}
	// Through Open too.
	r4 := seal(t, c, []byte("four"))
	if _, res := s.Open(make([]byte, 64), r4); res != RecordOK || !s.MovePeer(clientAddr) {
		t.Fatalf("Open of the newest record: %d, %s", res, s.DtlsErrorString())
	}
	s.Open(make([]byte, 64), r4)
	if s.MovePeer(moved) {
		t.Fatal("a replay through Open moved the peer")
	}
	// Without connection IDs there is nothing to move by.
	c2, s2 := connected(t, TLS_PSK_WITH_AES_128_GCM_SHA256)
	s2.DecryptDatagram(seal(t, c2, []byte("x")))
	if s2.MovePeer(moved) || s2.DtlsError() != dtlserror.InvalidOperation {
		t.Fatal("moved without connection IDs")
	}
	// The client's records to a server that asked for an empty ID are
	// plain: the server cannot move the client by them.
	c3, s3 := connectedCID(t, TLS_PSK_WITH_AES_128_GCM_SHA256, cidCases[2])
	s3.DecryptDatagram(seal(t, c3, []byte("x")))
	if s3.MovePeer(moved) {
		t.Fatal("moved by a record without our connection ID")
	}
}

// A record with another ID, a plain record where ours is expected, and a
// tls12_cid record where none is expected are all dropped; so is one whose
// inner plaintext has no content type.
func TestConnectionIDMismatchDropped(t *testing.T) {
	c, s := connectedCID(t, TLS_PSK_WITH_AES_128_GCM_SHA256, cidCases[1])
	rec := seal(t, c, []byte("data"))
	other := bytes.Clone(rec)
	other[11] ^= 1
	if _, res := s.Open(make([]byte, 64), other); res != RecordDropped {
		t.Fatalf("another ID: %d", res)
	}
	plain, ps := connected(t, TLS_PSK_WITH_AES_128_GCM_SHA256)
	if _, res := s.Open(make([]byte, 64), seal(t, plain, []byte("x"))); res != RecordDropped {
		t.Fatalf("plain record: %d", res)
	}
	if _, res := ps.Open(make([]byte, 64), rec); res != RecordDropped {
		t.Fatalf("tls12_cid record to a session without IDs: %d", res)
	}
	// All zeros inside: sealed by hand with the right keys.
	zeros := c.writeProt.(*aeadProtection)
	seq := c.writeSeq[1]
	c.writeSeq[1]++
	bad, _ := zeros.seal(nil, contentCID, 1, seq, make([]byte, 5))
	if _, res := s.Open(make([]byte, 64), bad); res != RecordDropped {
		t.Fatalf("inner plaintext without a type: %d", res)
	}
	if got := open(t, s, seal(t, c, []byte("after"))); string(got) != "after" {
		t.Fatal("the connection did not survive")
	}
}

// Config checks: lengths out of range and IDs too long are refused.
func TestConnectionIDConfig(t *testing.T) {
	for _, cfg := range []Config{
		{ConnectionIDLength: MaxConnectionIDLength + 1},
		{ConnectionIDLength: -3},
		{ConnectionID: make([]byte, MaxConnectionIDLength+1)},
	} {
		if _, err := New(Server, cfg); err == nil {
			t.Errorf("%+v accepted", cfg.ConnectionIDLength)
		}
	}
	// An explicit ID is the one asked for; an empty one is "send me none".
	for _, id := range [][]byte{[]byte("fixed-id"), {}} {
		l := newLink(t, Config{PSK: keyFor("id", "k", nil), ConnectionIDLength: 4}, Config{PSK: keyFor("", "k", nil), ConnectionID: id})
		l.run()
		if got, ok := l.server.ConnectionID(); !ok || !bytes.Equal(got, id) {
			t.Fatalf("server ID %x, want %x", got, id)
		}
		if got, _ := l.client.PeerConnectionID(); !bytes.Equal(got, id) {
			t.Fatalf("client uses %x, want %x", got, id)
		}
	}
}

// In place, with the plaintext anywhere in the output buffer.
func TestConnectionIDSealInPlace(t *testing.T) {
	for _, suite := range Suites() {
		t.Run(suite.Name, func(t *testing.T) {
			c, s := connectedCID(t, suite.ID, cidCases[1])
			plain := pattern(1000)
			n := c.SealedLen(len(plain))
			at := c.writeHeaderLen() + c.writeProt.prefix()
			for _, off := range []int{0, 1, at, at + 3, n - len(plain)} {
				buf := make([]byte, n)
				copy(buf[off:], plain)
				if m, res := c.Seal(buf, buf[off:off+len(plain)]); res != RecordOK || m != n {
					t.Fatalf("plaintext at %d: Seal gave %d, %d", off, m, res)
				}
				if got := open(t, s, buf); !bytes.Equal(got, plain) {
					t.Fatal(fmt.Sprintf("plaintext at %d: the record does not open to it", off))
				}
			}
		})
	}
}
