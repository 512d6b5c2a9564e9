// SPDX-License-Identifier: MIT

package server

import (
	"net/netip"
	"testing"
	"time"

	"github.com/dtlsgate/dtlsgate/core/secret"
	"github.com/dtlsgate/dtlsgate/internal/dtlstest"
)

const copyMask = 0x3C

// The copy of the key Endpoint.ResolvePSK hands to its workers is wiped
// once every worker has looked for the request: none is left in memory.
func TestServeResolvePSKWipesItsCopy(t *testing.T) {
	e, _ := listen(t, "127.0.0.1:0", ServeConfig{Workers: 2, Handler: echoHandler})
	masked, key := dtlstest.MaskedKey(32, copyMask)
	e.ResolvePSK(netip.MustParseAddrPort("127.0.0.1:4000"), []byte("nobody"), key) // no such request: every worker looks
	clear(key)
	var copies []string
	// The workers look on their own goroutines: give them a moment.
	for try := 0; try < 20; try++ {
		var err error
		if copies, err = dtlstest.KeyCopies(masked, copyMask); err != nil {
			t.Skip(err)
		}
		if len(copies) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("the key is still in memory: %v", copies)
}

// A key table copies keys in and out a byte at a time: a signal right
// after finds no key in the registers it saves.
func TestKeyTableCopiesLeaveNoKeyForASignal(t *testing.T) {
	masked, key := dtlstest.MaskedKey(32, copyMask)
	tab := NewKeyTable()
	if err := tab.Set([]byte("alice"), key); err != nil {
		t.Fatal(err)
	}
	frame, err := dtlstest.SignalFrame()
	if err != nil {
		t.Skip(err)
	}
	if dtlstest.HoldsMasked(frame, masked, copyMask) {
		t.Error("Set: the signal frame holds the key")
	}
	got, _ := tab.Lookup([]byte("alice"))
	frame, _ = dtlstest.SignalFrame()
	if dtlstest.HoldsMasked(frame, masked, copyMask) {
		t.Error("Lookup: the signal frame holds the key")
	}
	clear(got)
	if err := tab.Replace(map[string][]byte{"bob": key}); err != nil {
		t.Fatal(err)
	}
	frame, _ = dtlstest.SignalFrame()
	if dtlstest.HoldsMasked(frame, masked, copyMask) {
		t.Error("Replace: the signal frame holds the key")
	}
	clear(key)
	tab.Replace(nil)
}

// A key that the application's PSKFunc gives (and wipes once Input
// returns) leaves no copy behind once the handshake has taken it, nor does
// the client's.
func TestPSKFuncKeyLeavesNoCopy(t *testing.T) {
	masked, key := dtlstest.MaskedKey(32, copyMask)
	given := make([]byte, len(key))
	h := newHarness(t, Config{PSK: func(netip.AddrPort, []byte) ([]byte, bool) {
		secret.Copy(given, key)
		return given, false
	}})
	c := h.dialWith(addr(1, false), plainPSK, "alice", key)
	h.exchange(10)
	clear(given)
	clear(key)
	if !c.s.IsConnectionEncrypted() {
		t.Fatal("no connection:", c.s.DtlsErrorString())
	}
	h.echoes(c, "ping")
	copies, err := dtlstest.KeyCopies(masked, copyMask)
	if err != nil {
		t.Skip(err)
	}
	if len(copies) > 0 {
		t.Errorf("the key is still in memory: %v", copies)
	}
}
