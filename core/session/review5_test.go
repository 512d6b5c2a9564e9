// SPDX-License-Identifier: MIT

package session

import (
	"bytes"
	"fmt"
	"reflect"
	"runtime"
	"testing"

	"github.com/dtlsgate/dtlsgate/core/psk"
)

// The state of a handshake DoHandshake completes goes back to a pool and
// becomes the state of a later handshake, of any session. Many sessions
// handshake one after another, with a collection between them (the pool
// then hands back what it kept from its victim cache); every third server
// defers its key and completes through ResolvePSK, which keeps its state
// out of the pool. After each handshake: every state that went back to the
// pool is all zeros (no secret, random or verify data survives), a state
// that did not has its secrets wiped, and every session established so far
// still opens what its peer seals, both ways. A record protection or
// anything else a live session kept pointing into a pooled state would be
// rewritten by the later handshake that reuses it, and fail here.
func TestReview5PooledHandshakesStayApart(t *testing.T) {
	type pair struct{ c, s *Session }
	var live []pair
	pooled := map[*handshake]bool{}
	reused := 0
	all := Suites()
	for i := range 36 {
		runtime.GC()
		suite := all[i%len(all)].ID
		deferred := i%3 == 2
		var l *link
		var states []*handshake // client's, then server's
		l = newLink(t, Config{Suites: []uint16{suite}, PSK: func(a *psk.Authenticator) {
			states = append(states, l.client.hs)
			keyFor("id", fmt.Sprint("key ", i), nil)(a)
		}}, Config{PSK: func(a *psk.Authenticator) {
			states = append(states, l.server.hs)
			if deferred {
				l.server.DeferPSK()
				return
			}
			keyFor("", fmt.Sprint("key ", i), nil)(a)
		}})
		if deferred {
			if !l.client.DoHandshake(nil) {
				t.Fatal(l.client.DtlsErrorString())
			}
			l.send(true, l.client.Outgoing())
			for round := 0; l.server == nil || !l.server.PSKPending(); round++ {
				if round == 10 {
					t.Fatal("the server never asked for its key")
				}
				l.exchange(1)
			}
			if !l.server.ResolvePSK([]byte(fmt.Sprint("key ", i))) {
				t.Fatal(l.server.DtlsErrorString())
			}
			l.send(false, l.server.Outgoing())
			l.pump()
		} else {
			l.run()
		}
		expectEstablished(t, l, suite)
		if len(states) != 2 {
			t.Fatalf("%d PSK callbacks, want 2", len(states))
		}
		for j, hs := range states {
			if pooled[hs] {
				reused++
			}
			if deferred && j == 1 {
				// Completed by ResolvePSK: not pooled, but wiped.
				if !bytes.Equal(hs.secrets[:], make([]byte, len(hs.secrets))) || hs.prf != nil {
					t.Fatalf("handshake %d: the server's secrets survived ResolvePSK's completion", i)
				}
				continue
			}
			if !reflect.ValueOf(hs).Elem().IsZero() {
				t.Fatalf("handshake %d: side %d's state went back to the pool not zeroed", i, j)
			}
			pooled[hs] = true
		}
		live = append(live, pair{l.client, l.server})
		for k, p := range live {
			for _, ends := range [][2]*Session{{p.c, p.s}, {p.s, p.c}} {
				msg := []byte(fmt.Sprintf("pair %d after handshake %d", k, i))
				if got := open(t, ends[1], seal(t, ends[0], msg)); !bytes.Equal(got, msg) {
					t.Fatalf("pair %d after handshake %d: opened %q", k, i, got)
				}
			}
		}
	}
	if reused == 0 {
		t.Fatal("no handshake reused a pooled state: the test proves nothing")
	}
	t.Logf("%d of %d handshake states came from the pool", reused, 2*36)
}

// TakeCredentials from the authenticator itself is a move onto itself: it
// wiped the key it was moving (as the key being replaced) and then dropped
// both identity and key, so an answer handed on that way was lost.
func TestReview5FindingTakeCredentialsFromItself(t *testing.T) {
	var a psk.Authenticator
	a.SetIdentity([]byte("id"))
	a.SetPreSharedKey([]byte("secret"))
	a.TakeCredentials(&a)
	if string(a.Identity()) != "id" || string(a.PreSharedKey()) != "secret" {
		t.Fatalf("after taking from itself: identity %q, key %q", a.Identity(), a.PreSharedKey())
	}
}

// Handshakes on several goroutines at once share the pool: under the race
// detector, any touch of a state after DoHandshake released it (while
// another goroutine's handshake has taken it) is reported, and every
// session established on a goroutine keeps opening its peer's records.
func TestReview5PooledHandshakesInParallel(t *testing.T) {
	all := Suites()
	t.Run("group", func(t *testing.T) {
		for g := range 4 {
			t.Run(fmt.Sprint(g), func(t *testing.T) {
				t.Parallel()
				var live [][2]*Session
				for i := range 12 {
					if i%4 == 0 {
						runtime.GC()
					}
					c, s := connected(t, all[(g+i)%len(all)].ID)
					live = append(live, [2]*Session{c, s}, [2]*Session{s, c})
					for k, ends := range live {
						msg := []byte(fmt.Sprintf("goroutine %d, pair %d, after handshake %d", g, k/2, i))
						if got := open(t, ends[1], seal(t, ends[0], msg)); !bytes.Equal(got, msg) {
							t.Fatalf("opened %q, want %q", got, msg)
						}
					}
				}
			})
		}
	})
}
