// SPDX-License-Identifier: MIT

package server

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type pskRequest struct {
	peer     netip.AddrPort
	identity string
}

// asyncHarness is a harness whose PSKFunc answers later, recording what it
// was asked.
func asyncHarness(t *testing.T, cfg Config) (*harness, *[]pskRequest) {
	var asked []pskRequest
	cfg.PSK = func(peer netip.AddrPort, identity []byte) ([]byte, bool) {
		asked = append(asked, pskRequest{peer, string(identity)})
		return nil, true
	}
	return newHarness(t, cfg), &asked
}

func TestAsyncPSKResolved(t *testing.T) {
	h, asked := asyncHarness(t, Config{})
	c := h.dial(addr(1, false), nil) // ECDHE suites first: the share waits too
	h.exchange(8)
	if len(*asked) != 1 || (*asked)[0] != (pskRequest{c.addr, "alice"}) || c.s.IsConnectionEncrypted() {
		t.Fatalf("asked %+v, client %v", *asked, c.s.HandshakeState())
	}
	var err error
	if _, err = h.srv.ResolvePSK(c.addr, []byte("bob"), testKey, nil); !errors.Is(err, ErrNoRequest) {
		t.Errorf("answer for another identity: %v", err)
	}
	h.out, err = h.srv.ResolvePSK(c.addr, []byte("alice"), testKey, h.out[:0])
	if err != nil {
		t.Fatal(err)
	}
	h.afterServer()
	h.exchange(8)
	if !c.s.IsConnectionEncrypted() || h.countEvents(Connected, 0) != 1 {
		t.Fatalf("client %v %s, events %+v", c.s.HandshakeState(), c.s.DtlsErrorString(), h.events)
	}
	h.echoes(c, "async")
	if _, err = h.srv.ResolvePSK(c.addr, []byte("alice"), testKey, nil); !errors.Is(err, ErrNoRequest) {
		t.Errorf("a second answer: %v", err)
	}
}

func TestAsyncPSKRefusedOrLate(t *testing.T) {
	h, _ := asyncHarness(t, Config{})
	c := h.dial(addr(1, false), plainPSK)
	h.exchange(8)
	var err error
	if h.out, err = h.srv.RefusePSK(c.addr, []byte("alice"), h.out[:0]); err != nil {
		t.Fatal(err)
	}
	h.afterServer()
	if c.s.HandshakeState() != 0 || !strings.Contains(c.s.DtlsErrorString(), "unknown_psk_identity") {
		t.Errorf("refused client: %v %s", c.s.HandshakeState(), c.s.DtlsErrorString())
	}
	if st := h.srv.Stats(); st.HandshakesFailed != 1 || st.Sessions != 0 {
		t.Fatalf("stats %+v", st)
	}

	// Never answered: the handshake deadline ends the wait.
	h, _ = asyncHarness(t, Config{})
	c = h.dial(addr(1, false), plainPSK)
	h.exchange(8)
	for range 31 {
		h.advance(time.Second)
	}
	if st := h.srv.Stats(); st.HandshakeTimeouts != 1 || st.Sessions != 0 {
		t.Fatalf("stats %+v", st)
	}
	if _, err := h.srv.ResolvePSK(c.addr, []byte("alice"), testKey, nil); !errors.Is(err, ErrNoRequest) {
		t.Errorf("late answer: %v", err)
	}
}

// The key table is looked up first; the PSKFunc only for what it lacks.
func TestKeyTableBeforeCallback(t *testing.T) {
	keys := NewKeyTable()
	keys.Set([]byte("alice"), testKey)
	h, asked := asyncHarness(t, Config{Keys: keys})
	h.connect(addr(1, false))
	if len(*asked) != 0 {
		t.Errorf("callback asked for a key the table holds: %+v", *asked)
	}
	// A removed identity no longer gets in; sessions already up stay.
	keys.Remove([]byte("alice"))
	c := h.dial(addr(2, false), plainPSK)
	h.exchange(8)
	if c.s.IsConnectionEncrypted() || len(*asked) != 1 {
		t.Errorf("removed identity: client %v, asked %+v", c.s.HandshakeState(), *asked)
	}
}

func TestParseKeys(t *testing.T) {
	keys, err := ParseKeys(strings.NewReader("alice:00112233\n\nbob:DEADbeef\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || string(keys["bob"]) != "\xde\xad\xbe\xef" || string(keys["alice"]) != "\x00\x11\x22\x33" {
		t.Fatalf("%q", keys)
	}
	for _, c := range []struct{ in, want string }{
		{"alice:0011\nbob\n", "2: no ':'"},
		{"id:with:colon\n", `1: the key of "id" is not hexadecimal`}, // the identity ends at the first colon
		{"alice:0011\nbob:xyz\n", `2: the key of "bob" is not hexadecimal`},
		{"alice:001\n", "1: the key of \"alice\" is not hexadecimal"},
		{":0011\n", "1: empty identity"},
		{"alice:\n", "1: empty key"},
		{"a:00\nb:11\na:22\n", `3: identity "a" already on line 1`},
		{"a:" + strings.Repeat("00", 600) + "\n", "1: key of 600 bytes"},
	} {
		if _, err := ParseKeys(strings.NewReader(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.in, err, c.want)
		}
	}
}

func TestKeyTableLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.psk")
	os.WriteFile(path, []byte("alice:00112233\nbob:44556677\n"), 0o600)
	keys := NewKeyTable()
	if err := keys.LoadFile(path); err != nil || keys.Len() != 2 {
		t.Fatal(err, keys.Len())
	}
	// Reload: carol replaces both.
	os.WriteFile(path, []byte("carol:8899\n"), 0o600)
	if err := keys.LoadFile(path); err != nil || keys.Len() != 1 {
		t.Fatal(err, keys.Len())
	}
	if k, ok := keys.Lookup([]byte("carol")); !ok || string(k) != "\x88\x99" {
		t.Errorf("carol %x %v", k, ok)
	}
	// A broken file names itself and the line, and changes nothing.
	os.WriteFile(path, []byte("dave:00\neve\n"), 0o600)
	err := keys.LoadFile(path)
	if err == nil || !strings.Contains(err.Error(), path+":2:") || keys.Len() != 1 {
		t.Errorf("broken file: %v, %d keys", err, keys.Len())
	}
	if err := keys.LoadFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing file loaded")
	}
	if err := keys.Set(nil, []byte{1}); err == nil {
		t.Error("an empty identity was set")
	}
	if err := keys.Replace(map[string][]byte{"x": nil}); err == nil || keys.Len() != 1 {
		t.Error("Replace took an empty key")
	}
	if keys.Remove([]byte("nobody")) || !keys.Remove([]byte("carol")) || keys.Len() != 0 {
		t.Error("Remove")
	}
}
