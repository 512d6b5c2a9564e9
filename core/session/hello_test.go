// SPDX-License-Identifier: MIT

package session

import (
	"encoding/binary"
	"testing"

	"github.com/dtlsgate/dtlsgate/internal/dtlstest"
)

// A ClientHello without extensions gets a ServerHello without any either:
// no empty extensions block after the compression method, which older peers
// may not parse (RFC 5246 section 7.4.1.4 sends one only when there are
// extensions).
func TestServerHelloWithoutExtensions(t *testing.T) {
	c, _ := New(Client, Config{PSK: keyFor("id", "k", nil)})
	c.SetPeer(serverAddr)
	c.DoHandshake(nil)
	s, _ := New(Server, Config{PSK: keyFor("", "k", nil)})
	s.SetPeer(clientAddr)
	cookie := make([]byte, 32)
	cookie = cookie[:s.cookies().Mint(cookie, clientAddr)]
	hello := dtlstest.WithCookie(t, c.Outgoing()[0], cookie)

	// Cut the hello after its compression methods and fix the three lengths
	// (appending to an empty slice of hello writes in place).
	body := hello[recordHeaderLen+handshakeHeaderLen:]
	r := reader{b: body}
	r.bytes(2 + 32)
	r.vec8() // session id
	r.vec8() // cookie
	r.vec16()
	r.vec8()
	n := len(body) - len(r.b)
	hello = hello[:recordHeaderLen+handshakeHeaderLen+n]
	binary.BigEndian.PutUint16(hello[11:], uint16(handshakeHeaderLen+n))
	appendUint24(hello[recordHeaderLen+1:recordHeaderLen+1], n)
	appendUint24(hello[recordHeaderLen+9:recordHeaderLen+9], n)

	if !s.DoHandshake(hello) {
		t.Fatal(s.DtlsErrorString())
	}
	h, ok := parseHandshakeHeader(s.Outgoing()[0][recordHeaderLen:])
	if !ok || h.typ != msgServerHello || h.length != 2+32+1+2+1 {
		t.Fatalf("ServerHello: type %d, %d bytes; want %d bytes, no extensions", h.typ, h.length, 2+32+1+2+1)
	}
}
