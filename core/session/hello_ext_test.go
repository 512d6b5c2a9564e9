// SPDX-License-Identifier: MIT

package session

import (
	"encoding/binary"
	"testing"
)

// A ServerHello that carries one extension twice is malformed (RFC 5246
// section 7.4.1.4): the client ends the handshake with decode_error, for
// each extension it accepts once; the same extensions once each are fine.
func TestClientRefusesRepeatedServerHelloExtension(t *testing.T) {
	once := [][]byte{
		appendExtension(nil, extRenegotiationInfo, []byte{0}),
		appendExtension(nil, extExtendedMasterSecret, nil),
		appendExtension(nil, extConnectionID, []byte{0}),
	}
	serverHello := func(exts ...[]byte) []byte {
		sh := binary.BigEndian.AppendUint16(nil, versionDTLS12)
		sh = append(sh, make([]byte, 32)...)
		sh = append(sh, 0)
		sh = binary.BigEndian.AppendUint16(sh, TLS_PSK_WITH_AES_128_GCM_SHA256)
		sh = append(sh, 0)
		var all []byte
		for _, e := range exts {
			all = append(all, e...)
		}
		msg := newMessage(msgServerHello, 0, appendVec16(sh, all))
		return append(appendRecordHeader(nil, contentHandshake, versionDTLS12, 0, 0, len(msg)), msg...)
	}
	try := func(exts ...[]byte) (*Session, bool) {
		c, _ := New(Client, Config{Suites: []uint16{TLS_PSK_WITH_AES_128_GCM_SHA256}, ConnectionIDLength: EmptyConnectionID, PSK: keyFor("id", "k", nil)})
		c.SetPeer(serverAddr)
		c.DoHandshake(nil)
		c.Outgoing()
		return c, c.DoHandshake(serverHello(exts...))
	}
	if c, ok := try(once...); !ok || c.HandshakeState() != HandshakeInProgress {
		t.Fatalf("each extension once: %v, %q", ok, c.DtlsErrorString())
	}
	for i, e := range once {
		exts := append(append([][]byte{}, once...), e)
		c, ok := try(exts...)
		if ok || c.DtlsErrorString() != "Malformed ServerHello extensions (sent alert decode_error)" {
			t.Errorf("extension %d twice: %v, %q", i, ok, c.DtlsErrorString())
		}
	}
}
