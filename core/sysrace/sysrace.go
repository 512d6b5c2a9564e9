// SPDX-License-Identifier: MIT

// Package sysrace tells the race detector what the kernel reads and
// writes during a raw system call. The detector sees only Go code: told
// nothing, it would let pass a buffer handed to the kernel while another
// goroutine still uses it (a datagram buffer read into again while the
// bytes of the last read are still in use), which `go test -race` is
// there to catch.
package sysrace
