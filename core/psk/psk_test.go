// SPDX-License-Identifier: MIT

package psk

import (
	"bytes"
	"testing"
)

func filled() *Authenticator {
	var a Authenticator
	a.SetIdentityHint([]byte("hint"))
	a.SetIdentity([]byte("Client_identity"))
	a.SetPreSharedKey([]byte{0x1a, 0x2b, 0x3c, 0x00, 0x4d})
	a.SetMaximumIdentityLength(128)
	a.SetMaximumPreSharedKeyLength(64)
	return &a
}

func TestZeroValueIsEmpty(t *testing.T) {
	var a Authenticator
	if a.IdentityHint() != nil || a.Identity() != nil || a.PreSharedKey() != nil ||
		a.MaximumIdentityLength() != 0 || a.MaximumPreSharedKeyLength() != 0 {
		t.Fatalf("zero value not empty: %+v", a)
	}
	var b Authenticator
	if !a.Equal(&b) {
		t.Fatal("two empty authenticators differ")
	}
}

func TestSettersKeepEverythingAndCopy(t *testing.T) {
	a := filled()
	key := bytes.Repeat([]byte{0xab}, 300) // longer than the maximum: kept whole
	a.SetPreSharedKey(key)
	key[0] = 0 // the caller's buffer is not shared
	if got := a.PreSharedKey(); len(got) != 300 || got[0] != 0xab {
		t.Fatalf("key = %d bytes, first %#x", len(got), got[0])
	}
	got := a.Identity()
	got[0] = 'X' // nor is the returned one
	if string(a.Identity()) != "Client_identity" || string(a.IdentityHint()) != "hint" {
		t.Fatalf("identity %q hint %q", a.Identity(), a.IdentityHint())
	}
	if a.MaximumIdentityLength() != 128 || a.MaximumPreSharedKeyLength() != 64 {
		t.Fatal("maxima lost")
	}
	a.SetMaximumIdentityLength(-5)
	if a.MaximumIdentityLength() != 0 {
		t.Fatal("negative maximum stored")
	}
}

func TestEqualComparesEveryField(t *testing.T) {
	mutations := map[string]func(*Authenticator){
		"hint":     func(a *Authenticator) { a.SetIdentityHint([]byte("other")) },
		"identity": func(a *Authenticator) { a.SetIdentity([]byte("other")) },
		"key":      func(a *Authenticator) { a.SetPreSharedKey([]byte{1}) },
		"no key":   func(a *Authenticator) { a.SetPreSharedKey(nil) },
		"maxid":    func(a *Authenticator) { a.SetMaximumIdentityLength(1) },
		"maxkey":   func(a *Authenticator) { a.SetMaximumPreSharedKeyLength(1) },
	}
	for name, mutate := range mutations {
		a, b := filled(), filled()
		if !a.Equal(b) {
			t.Fatal("identical authenticators differ")
		}
		mutate(b)
		if a.Equal(b) || b.Equal(a) {
			t.Errorf("%s: change not seen by Equal", name)
		}
	}
}

func TestCloneIsIndependent(t *testing.T) {
	a := filled()
	c := a.Clone()
	if !c.Equal(a) {
		t.Fatal("clone differs")
	}
	c.SetIdentity([]byte("changed"))
	if string(a.Identity()) != "Client_identity" {
		t.Fatal("clone shares storage")
	}
}

func TestSwap(t *testing.T) {
	a, b := filled(), &Authenticator{}
	b.SetIdentity([]byte("b"))
	want := a.Clone()
	a.Swap(b)
	if !b.Equal(want) || string(a.Identity()) != "b" || a.PreSharedKey() != nil {
		t.Fatalf("swap: a=%+v b=%+v", a, b)
	}
	a.Swap(a)
	if string(a.Identity()) != "b" {
		t.Fatal("self swap changed a")
	}
}

func TestWipeZeroesKeyMemory(t *testing.T) {
	a := filled()
	key := a.preSharedKey // the backing array the authenticator owns
	a.Wipe()
	if !bytes.Equal(key, make([]byte, len(key))) {
		t.Fatalf("key memory not zeroed: %x", key)
	}
	if !a.Equal(&Authenticator{}) {
		t.Fatal("wiped authenticator not empty")
	}
	b := filled()
	old := b.preSharedKey
	b.SetPreSharedKey([]byte("new"))
	if !bytes.Equal(old, make([]byte, len(old))) {
		t.Fatal("replaced key not zeroed")
	}
}

func TestTakeCredentialsMovesIdentityAndKey(t *testing.T) {
	dst, src := filled(), &Authenticator{}
	src.SetIdentity([]byte("client"))
	src.SetPreSharedKey([]byte{9, 8, 7})
	src.SetIdentityHint([]byte("src hint"))
	old, moved := dst.preSharedKey, src.preSharedKey
	hint := dst.IdentityHint()
	dst.TakeCredentials(src)
	if string(dst.Identity()) != "client" || !bytes.Equal(dst.PreSharedKey(), []byte{9, 8, 7}) {
		t.Fatalf("dst has identity %q and key %x", dst.Identity(), dst.PreSharedKey())
	}
	if &dst.preSharedKey[0] != &moved[0] {
		t.Error("the key was copied, not moved")
	}
	if !bytes.Equal(old, make([]byte, len(old))) {
		t.Error("dst's replaced key not zeroed")
	}
	if src.Identity() != nil || src.PreSharedKey() != nil || string(src.IdentityHint()) != "src hint" {
		t.Errorf("src kept identity %q, key %x, hint %q", src.Identity(), src.PreSharedKey(), src.IdentityHint())
	}
	if !bytes.Equal(dst.IdentityHint(), hint) {
		t.Errorf("dst's hint changed to %q", dst.IdentityHint())
	}
}
