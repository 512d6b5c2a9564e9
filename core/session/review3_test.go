// SPDX-License-Identifier: MIT

package session

import (
	"bytes"
	"testing"

	"github.com/dtlsgate/dtlsgate/core/psk"
)

// A third attacker's review, of the session changes core/server needed
// (issue 13): DeferPSK/ResolvePSK, MaxHandshakeBuffer, the early-record
// cap. The tests named TestReview3Finding... pin defects (they failed
// until fixed).

// Finding (low). MaxHandshakeBuffer bounded only the messages still being
// reassembled: once a message was delivered its bytes were released,
// though the session keeps it (the transcript). A peer past the cookie
// exchange with an identity the server knows, or whose key is looked up
// later (DeferPSK), sent a ClientKeyExchange as long as the limit and then
// as much again in fragments it never completes, holding twice the limit
// for the handshake's deadline.
func TestReview3FindingHandshakeBufferRefilled(t *testing.T) {
	const limit = 4000
	var l *link
	deferPSK := func(*psk.Authenticator) { l.server.DeferPSK() }
	l = newLink(t, Config{PSK: keyFor("id", "k", nil), Suites: []uint16{TLS_PSK_WITH_AES_128_GCM_SHA256}},
		Config{PSK: deferPSK, MaxHandshakeBuffer: limit})
	l.client.DoHandshake(nil)
	l.send(true, l.client.Outgoing())
	l.exchange(2) // hello, verify request, hello with cookie, server flight
	if l.server == nil || l.server.HandshakeState() != HandshakeInProgress {
		t.Fatal("no server handshake")
	}
	// A whole ClientKeyExchange of limit-100 bytes: a long identity.
	body := appendVec16(nil, bytes.Repeat([]byte{'i'}, limit-100-2))
	cke := newMessage(msgClientKeyExchange, 2, body)
	l.server.DoHandshake(epoch0Record(contentHandshake, 5, cke))
	if !l.server.PSKPending() {
		t.Fatalf("server %v %s", l.server.HandshakeState(), l.server.DtlsErrorString())
	}
	// Then a fragment of a message claiming the whole limit again.
	frag := appendHandshakeHeader(nil, msgFinished, limit, 3, 0, 10)
	l.server.DoHandshake(epoch0Record(contentHandshake, 6, append(frag, make([]byte, 10)...)))
	if len(l.server.hs.reasm.pending) != 0 {
		t.Errorf("%d more bytes held past a delivered message of %d, limit %d", l.server.hs.reasm.bytes, len(cke), limit)
	}
}
