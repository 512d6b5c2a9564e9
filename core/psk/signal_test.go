// SPDX-License-Identifier: MIT

package psk

import (
	"testing"

	"github.com/dtlsgate/dtlsgate/internal/dtlstest"
)

// Each way a key is copied in or out leaves nothing in the registers for
// a signal that comes at once (a preemption can) to save into its frame.
func TestKeyCopiesLeaveNoKeyForASignal(t *testing.T) {
	const mask = 0x5A
	ways := map[string]func(key []byte) *Authenticator{
		"SetPreSharedKey": func(key []byte) *Authenticator {
			var a Authenticator
			a.SetPreSharedKey(key)
			return &a
		},
		"PreSharedKey": func(key []byte) *Authenticator {
			var a Authenticator
			a.preSharedKey = key
			clear(a.PreSharedKey())
			return &a
		},
		"Clone": func(key []byte) *Authenticator {
			a := Authenticator{preSharedKey: key}
			return a.Clone()
		},
	}
	for name, copyKey := range ways {
		for _, n := range []int{32, 64} {
			masked, key := dtlstest.MaskedKey(n, mask)
			a := copyKey(key)
			frame, err := dtlstest.SignalFrame()
			a.Wipe()
			clear(key)
			if err != nil {
				t.Skip(err)
			}
			if dtlstest.HoldsMasked(frame, masked, mask) {
				t.Errorf("%s, %d bytes: the signal frame holds the key", name, n)
			}
		}
	}
}
