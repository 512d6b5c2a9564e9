// SPDX-License-Identifier: MIT

package main

import (
	"bytes"
	"testing"

	"github.com/dtlsgate/dtlsgate/core/psk"
)

func TestUseOnceWipesTheCopyAfterUse(t *testing.T) {
	key := []byte("a pre-shared key")
	var seen []byte
	useOnce(key, func(b []byte) { seen = bytes.Clone(b) })
	if string(seen) != "a pre-shared key" {
		t.Errorf("use saw %q", seen)
	}
	if !bytes.Equal(key, make([]byte, len(key))) {
		t.Errorf("the copy was not wiped: %q", key)
	}
}

func TestTakeCredentialsLeavesOnlyTheDestinationsKey(t *testing.T) {
	var src, dst psk.Authenticator
	src.SetIdentity([]byte("client"))
	src.SetPreSharedKey([]byte{1, 2, 3, 4})
	src.SetIdentityHint([]byte("hint"))
	src.SetMaximumPreSharedKeyLength(512)
	takeCredentials(&dst, &src)
	if string(dst.Identity()) != "client" || !bytes.Equal(dst.PreSharedKey(), []byte{1, 2, 3, 4}) {
		t.Errorf("dst has identity %q and key %x", dst.Identity(), dst.PreSharedKey())
	}
	// Only the identity and the key travel: the rest is the engine's.
	if dst.IdentityHint() != nil || dst.MaximumPreSharedKeyLength() != 0 {
		t.Errorf("dst took hint %q and maximum %d", dst.IdentityHint(), dst.MaximumPreSharedKeyLength())
	}
	if !src.Equal(&psk.Authenticator{}) {
		t.Errorf("src was not wiped: identity %q, key %x", src.Identity(), src.PreSharedKey())
	}
}
