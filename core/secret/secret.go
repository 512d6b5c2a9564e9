// SPDX-License-Identifier: MIT

// Package secret copies key bytes one at a time.
//
// The runtime's memmove (behind copy, append and bytes.Clone) carries a
// 17 to 256 byte copy through the vector registers X0-X15 and leaves it
// there, in order: a 32-byte key sits whole in X0 and X1 until other code
// happens to overwrite them. A signal that arrives meanwhile (the Go
// runtime preempts goroutines with SIGURG, more often on a loaded machine)
// makes the kernel save every register into the signal frame on the
// thread's signal stack, the runtime's asyncPreempt spills them onto the
// goroutine's stack, and so does the dynamic linker's lazy binding on the
// C stack the first time a C function is called: the key is then in
// memory nobody wipes. A loop
// of single bytes holds at most one byte of the key in a general-purpose
// register, so no register file ever holds a key worth saving.
package secret

// Copy copies min(len(dst), len(src)) bytes of a secret from src to dst,
// as the builtin copy does (the slices must not overlap), and returns
// how many.
func Copy(dst, src []byte) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i := range dst {
		dst[i] = src[i]
	}
	return n
}

// Clone returns a copy of a secret, nil when b is empty.
func Clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	out := make([]byte, len(b))
	Copy(out, b)
	return out
}
