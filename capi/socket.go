// SPDX-License-Identifier: MIT

package main

// #include "capi.h"
import "C"

import (
	"net/netip"
	"strconv"
	"unsafe"
)

// fdWriter sends datagrams through a caller's UDP socket with sendto(2).
type fdWriter C.int

func (fd fdWriter) WriteDatagram(b []byte, peer netip.AddrPort) error {
	addr := peer.Addr().Unmap()
	a16 := addr.As16()
	var scope C.uint32_t
	if zone := addr.Zone(); zone != "" {
		scope = zoneIndex(zone)
	}
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	errno := C.capi_sendto(C.int(fd), p, C.size_t(len(b)), (*C.uint8_t)(unsafe.Pointer(&a16[0])),
		boolInt(addr.Is4()), C.uint16_t(peer.Port()), scope)
	if errno != 0 {
		return osError(errno)
	}
	return nil
}

// zoneIndex turns an IPv6 zone, numeric or an interface name, into a scope id.
func zoneIndex(zone string) C.uint32_t {
	if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return C.uint32_t(n)
	}
	name := C.CString(zone)
	defer C.free(unsafe.Pointer(name))
	return C.uint32_t(C.if_nametoindex(name))
}

// osError carries an errno; its text is the operating system's own.
type osError C.int

func (e osError) Error() string {
	var buf [256]C.char
	C.capi_strerror(C.int(e), &buf[0], C.size_t(len(buf)))
	return C.GoString(&buf[0])
}

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
