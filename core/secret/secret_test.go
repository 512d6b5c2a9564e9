// SPDX-License-Identifier: MIT

package secret

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/dtlsgate/dtlsgate/internal/dtlstest"
)

const mask = 0xA5

func TestCopyAndClone(t *testing.T) {
	src := []byte("0123456789abcdef0123456789abcdef!")
	dst := make([]byte, 40)
	if n := Copy(dst, src); n != len(src) || !bytes.Equal(dst[:n], src) || dst[n] != 0 {
		t.Errorf("Copy: %d, %q", n, dst)
	}
	if n := Copy(dst[:4], src); n != 4 || string(dst[:4]) != "0123" {
		t.Errorf("Copy into a shorter dst: %d, %q", n, dst[:4])
	}
	if c := Clone(src); !bytes.Equal(c, src) || &c[0] == &src[0] {
		t.Errorf("Clone: %q", c)
	}
	if Clone(nil) != nil || Clone([]byte{}) != nil {
		t.Error("Clone of nothing is not nil")
	}
}

// copyThenSignal copies key with cp and takes the signal frame at once,
// then wipes both.
func copyThenSignal(t *testing.T, key []byte, cp func(dst, src []byte) int) []byte {
	t.Helper()
	dst := make([]byte, len(key))
	cp(dst, key)
	frame, err := dtlstest.SignalFrame()
	clear(dst)
	clear(key)
	if err != nil {
		t.Skip(err)
	}
	return frame
}

// A signal right after a copy finds no key in the registers.
func TestCopyLeavesNoKeyForASignal(t *testing.T) {
	for _, n := range []int{16, 32, 48, 64, 128, 256} {
		masked, key := dtlstest.MaskedKey(n, mask)
		if dtlstest.HoldsMasked(copyThenSignal(t, key, Copy), masked, mask) {
			t.Errorf("%d bytes: the signal frame holds the key Copy copied", n)
		}
	}
}

// The builtin copy does leave a key there: on amd64 memmove moves 17 to 32
// bytes through X0 and X1, 33 to 64 (in 16-byte steps) through X0-X3, and
// the frame keeps them in order. That the test sees it is what lets it
// catch a key copied the usual way.
func TestBuiltinCopyLeavesTheKeyForASignal(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the registers memmove uses are amd64's")
	}
	for _, n := range []int{32, 64} {
		masked, key := dtlstest.MaskedKey(n, mask)
		if !dtlstest.HoldsMasked(copyThenSignal(t, key, func(d, s []byte) int { return copy(d, s) }), masked, mask) {
			t.Errorf("%d bytes: the builtin copy left no key in the signal frame; the tests of key copies no longer see what they check", n)
		}
	}
}
