// SPDX-License-Identifier: MIT

package session

import (
	"encoding/binary"
	"testing"
)

// fuzzTarget is a session in the state selected by the fuzz input's first
// byte: a client waiting for the server's hello, a server waiting for the
// client's key exchange, either end of an established connection, or
// either end of one with connection IDs both ways (tls12_cid records).
func fuzzTarget(t *testing.T, which byte) *Session {
	switch which % 6 {
	case 0:
		c, _ := New(Client, Config{PSK: keyFor("id", "k", nil), Suites: []uint16{TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256, TLS_PSK_WITH_AES_128_GCM_SHA256}})
		c.SetPeer(serverAddr)
		c.DoHandshake(nil)
		c.Outgoing()
		return c
	case 1:
		l := newLink(t, Config{PSK: keyFor("id", "k", nil)}, Config{PSK: keyFor("", "k", nil), IdentityHint: []byte("h")})
		// Stop at the server's first flight: the client never sees it.
		l.filter = func(toServer bool, d []byte) []byte {
			if !toServer && l.server != nil {
				return nil
			}
			return d
		}
		l.run()
		return l.server
	case 2:
		return established(t).server
	case 3:
		return established(t).client
	}
	c, s := connectedCID(t, TLS_PSK_WITH_AES_128_GCM_SHA256, cidCases[1])
	if which%6 == 4 {
		return s
	}
	return c
}

// splitInput cuts fuzz data into datagrams, each prefixed by a 2-byte length.
func splitInput(data []byte) [][]byte {
	var out [][]byte
	for len(data) >= 2 {
		n := min(int(binary.BigEndian.Uint16(data)), len(data)-2)
		out = append(out, data[2:2+n])
		data = data[2+n:]
	}
	return out
}

func joinInput(dgrams ...[]byte) []byte {
	var b []byte
	for _, d := range dgrams {
		b = binary.BigEndian.AppendUint16(b, uint16(len(d)))
		b = append(b, d...)
	}
	return b
}

// FuzzInput feeds arbitrary datagrams to sessions in each state: nothing
// may panic, buffered handshake data stays bounded, and nothing sent during
// a handshake exceeds the MTU.
func FuzzInput(f *testing.F) {
	// Seeds: every datagram of a real handshake, from both sides.
	var toServer, toClient [][]byte
	l := newLink(&testing.T{}, Config{PSK: keyFor("id", "k", nil)}, Config{PSK: keyFor("", "k", nil), IdentityHint: []byte("h")})
	l.filter = func(ts bool, d []byte) []byte {
		if ts {
			toServer = append(toServer, d)
		} else {
			toClient = append(toClient, d)
		}
		return d
	}
	l.run()
	for which := byte(0); which < 4; which++ {
		f.Add(append([]byte{which}, joinInput(toClient...)...))
		f.Add(append([]byte{which}, joinInput(toServer...)...))
	}
	// tls12_cid records, each way, under the keys of another handshake:
	// their framing is right, their authentication is not.
	c, s := connectedCID(f, TLS_PSK_WITH_AES_128_GCM_SHA256, cidCases[1])
	c.WriteDatagramEncrypted([]byte("to the server"))
	s.WriteDatagramEncrypted([]byte("to the client"))
	f.Add(append([]byte{4}, joinInput(c.Outgoing()...)...))
	f.Add(append([]byte{5}, joinInput(s.Outgoing()...)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		s := fuzzTarget(t, data[0])
		for _, d := range splitInput(data[1:]) {
			if s.HandshakeState() == HandshakeInProgress {
				s.DoHandshake(d)
			} else if s.IsConnectionEncrypted() {
				s.DecryptDatagram(d)
			}
			if s.hs != nil {
				if s.hs.reasm.bytes > maxPending || len(s.hs.reasm.pending) > maxAhead || len(s.hs.early) > 4 {
					t.Fatalf("unbounded buffering: %d bytes, %d messages, %d early records",
						s.hs.reasm.bytes, len(s.hs.reasm.pending), len(s.hs.early))
				}
				for _, out := range s.Outgoing() {
					if len(out) > s.cfg.MTU {
						t.Fatalf("sent %d bytes, MTU %d", len(out), s.cfg.MTU)
					}
				}
			}
			s.Outgoing()
		}
	})
}
