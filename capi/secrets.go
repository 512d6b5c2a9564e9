// SPDX-License-Identifier: MIT

package main

import "github.com/dtlsgate/dtlsgate/core/psk"

// This file has no cgo, so that its Go tests can run: what it does to key
// bytes is observable there, and nowhere else.

// useOnce hands b to use and then overwrites it with zeros. b is a copy
// made for this one use (a psk.Authenticator getter returns one), and may
// hold a pre-shared key: nothing else would ever wipe it, and the garbage
// collector frees memory without clearing it.
func useOnce(b []byte, use func([]byte)) {
	defer clear(b)
	use(b)
}

// takeCredentials moves the answer of a PSK callback from src, the
// authenticator the application filled in, to dst, the engine's: the
// identity and the key, moved rather than copied. It leaves no key behind
// but dst's own: src is wiped.
func takeCredentials(dst, src *psk.Authenticator) {
	dst.TakeCredentials(src)
	src.Wipe()
}
