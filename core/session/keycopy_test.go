// SPDX-License-Identifier: MIT

package session

import (
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/dtlsgate/dtlsgate/core/psk"
	"github.com/dtlsgate/dtlsgate/internal/dtlstest"
)

// keyWatch is a key given XORed with a mask, so that looking for it makes
// no copy, and what the signal frames taken at each of the engine's key
// copies held.
type keyWatch struct {
	masked        []byte
	frames, holds int
	err           error
}

const watchMask = 0xC3

func newKeyWatch(n int) *keyWatch {
	w := &keyWatch{masked: make([]byte, n)}
	rand.Read(w.masked)
	return w
}

// give is a PSK callback that sets the key, made one byte at a time.
func (w *keyWatch) give(a *psk.Authenticator) {
	if a.MaximumIdentityLength() > 0 {
		a.SetIdentity([]byte("id"))
	}
	key := make([]byte, len(w.masked))
	w.unmask(key)
	a.SetPreSharedKey(key)
	clear(key)
}

func (w *keyWatch) unmask(key []byte) {
	for i := range key {
		key[i] = w.masked[i] ^ watchMask
	}
}

// signal is the keyCopied hook: a signal right after the copy, as a
// preemption may send, and a look at what its frame saved.
func (w *keyWatch) signal() {
	frame, err := dtlstest.SignalFrame()
	if err != nil {
		w.err = err
		return
	}
	w.frames++
	if dtlstest.HoldsMasked(frame, w.masked, watchMask) {
		w.holds++
	}
}

// A signal can come at any instruction, and the runtime sends one to
// preempt. Right after each copy of the key the engine makes (the key it
// takes from the authenticator, the premaster secret, the HMAC key, the key
// ResolvePSK takes) the registers the signal saves hold no key: the copy
// went through none of them. Keys of 16 to 64 bytes take every path: a
// premaster secret shorter and longer than a hash block.
func TestKeyCopiesLeaveNoKeyForASignal(t *testing.T) {
	defer func() { keyCopied = nil }()
	for _, suite := range []uint16{TLS_PSK_WITH_AES_128_GCM_SHA256, TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256, TLS_PSK_WITH_AES_256_GCM_SHA384} {
		for _, n := range []int{16, 32, 48, 64} {
			for _, deferred := range []bool{false, true} {
				name := fmt.Sprintf("suite %04x, %d-byte key, deferred %v", suite, n, deferred)
				w := newKeyWatch(n)
				scfg := Config{PSK: w.give, Suites: []uint16{suite}}
				var l *link
				if deferred {
					scfg.PSK = func(*psk.Authenticator) { l.server.DeferPSK() }
				}
				l = newLink(t, Config{PSK: w.give, Suites: []uint16{suite}}, scfg)
				keyCopied = w.signal
				if !deferred {
					l.run()
				} else {
					if !l.client.DoHandshake(nil) {
						t.Fatal(l.client.DtlsErrorString())
					}
					l.send(true, l.client.Outgoing())
					l.exchange(6)
					key := make([]byte, n)
					w.unmask(key)
					l.server.ResolvePSK(key)
					clear(key)
					l.send(false, l.server.Outgoing())
					l.pump()
				}
				keyCopied = nil
				if w.err != nil {
					t.Skip(w.err)
				}
				if !l.client.IsConnectionEncrypted() || !l.server.IsConnectionEncrypted() {
					t.Fatalf("%s: no connection: %s / %s", name, l.client.DtlsErrorString(), l.server.DtlsErrorString())
				}
				// Each side: its key, its premaster secret, the premaster and
				// the master secret as HMAC keys.
				if w.frames < 8 {
					t.Errorf("%s: the hook ran %d times, want 8 or more", name, w.frames)
				}
				if w.holds != 0 {
					t.Errorf("%s: %d of %d signal frames hold the key", name, w.holds, w.frames)
				}
			}
		}
	}
}
