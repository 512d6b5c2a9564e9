// SPDX-License-Identifier: MIT

//go:build race

package sysrace

import (
	"runtime"
	"unsafe"
)

// Read records that the kernel reads b, as a send does.
func Read(b []byte) {
	if len(b) > 0 {
		runtime.RaceReadRange(unsafe.Pointer(&b[0]), len(b))
	}
}

// Write records that the kernel may write all of b, as a receive does.
func Write(b []byte) {
	if len(b) > 0 {
		runtime.RaceWriteRange(unsafe.Pointer(&b[0]), len(b))
	}
}
