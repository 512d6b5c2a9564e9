// SPDX-License-Identifier: MIT

package main

// #include "capi.h"
import "C"

import (
	"fmt"
	"net/netip"
	"os"
	"runtime/debug"
	"strconv"
	"unsafe"

	"github.com/dtlsgate/dtlsgate/core/secret"
)

// guard turns a panic inside an export into DTLSGATE_E_INTERNAL: whatever
// goes wrong in here, the host process carries on. Deferred first thing in
// every export that returns a status. A negative status also becomes the
// thread's dtlsgate_last_error_message: the detail the call recorded with
// fail, or the status's generic text.
func guard(ret *C.int) {
	if r := recover(); r != nil {
		reportPanic(r)
		*ret = C.DTLSGATE_E_INTERNAL
	}
	if *ret < 0 {
		C.capi_last_error_status(*ret, dtlsgo_strerror(*ret))
	}
}

// fail records why the current call refuses an argument (the calling
// thread's dtlsgate_last_error_message) and returns code, negative.
func fail(code C.int, format string, args ...any) C.int {
	setLastError(code, fmt.Sprintf(format, args...))
	return code
}

// setLastError makes msg the calling thread's last error message, kept if
// the call ends with status (0: a refusal reported as a result, not as a
// status, which no later status claims).
func setLastError(status C.int, msg string) {
	C.capi_set_last_error((*C.char)(unsafe.Pointer(unsafe.StringData(msg))), C.size_t(len(msg)), status)
}

//export dtlsgo_last_error_message
func dtlsgo_last_error_message() *C.capi_static_string { return C.capi_last_error() }

// reportPanic prints a caught panic and its stack to standard error when
// DTLSGATE_DEBUG is set, so a DTLSGATE_E_INTERNAL can be reported usefully.
func reportPanic(r any) {
	if os.Getenv("DTLSGATE_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "dtlsgate: internal error: %v\n%s", r, debug.Stack())
	}
}

// inBytes views a caller's (pointer, length) input without copying; the
// view must not outlive the call. ok is false for NULL with a non-zero
// length and for inputs over DTLSGATE_MAX_INPUT; the reason, naming the
// input `what`, is then recorded for the INVALID_ARGUMENT that follows.
func inBytes(p *C.capi_in_bytes, n C.size_t, what string) (b []byte, ok bool) {
	switch {
	case n == 0:
		return nil, true
	case p == nil:
		fail(C.DTLSGATE_E_INVALID_ARGUMENT, "%s: NULL with a length of %d", what, uint64(n))
		return nil, false
	case n > C.DTLSGATE_MAX_INPUT:
		fail(C.DTLSGATE_E_INVALID_ARGUMENT, "%s: %d bytes, more than the %d accepted",
			what, uint64(n), C.DTLSGATE_MAX_INPUT)
		return nil, false
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n)), true
}

// putBytes copies src into the caller's (buf, *n) by the header's in/out
// length convention.
func putBytes(src []byte, buf *C.uint8_t, n *C.size_t) C.int {
	dst, status := outBuffer(len(src), buf, n)
	copy(dst, src)
	return status
}

// putSecret is putBytes for key bytes, which go over one at a time (see
// core/secret).
func putSecret(src []byte, buf *C.uint8_t, n *C.size_t) C.int {
	dst, status := outBuffer(len(src), buf, n)
	secret.Copy(dst, src)
	return status
}

// outBuffer applies the header's in/out length convention to (buf, *n)
// for size bytes: it returns the buffer to fill, or nil and the status to
// return.
func outBuffer(size int, buf *C.uint8_t, n *C.size_t) ([]byte, C.int) {
	switch {
	case n == nil:
		return nil, fail(C.DTLSGATE_E_INVALID_ARGUMENT, "length: NULL; pass the buffer's size in it")
	case uint64(*n) < uint64(size):
		*n = C.size_t(size)
		return nil, C.DTLSGATE_E_BUFFER_TOO_SMALL
	case buf == nil && size > 0:
		return nil, fail(C.DTLSGATE_E_INVALID_ARGUMENT, "buffer: NULL with a length of %d", uint64(*n))
	}
	*n = C.size_t(size)
	if size == 0 {
		return nil, C.DTLSGATE_OK
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(buf)), size), C.DTLSGATE_OK
}

// putString writes s NUL-terminated into (buf, *n); on success *n is the
// length without the NUL, when too small it is the capacity needed.
func putString(s string, buf *C.char, n *C.size_t) C.int {
	switch {
	case n == nil:
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "length: NULL; pass the buffer's size in it")
	case uint64(*n) < uint64(len(s)+1):
		*n = C.size_t(len(s) + 1)
		return C.DTLSGATE_E_BUFFER_TOO_SMALL
	case buf == nil:
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "buffer: NULL with a length of %d", uint64(*n))
	}
	out := unsafe.Slice((*byte)(unsafe.Pointer(buf)), len(s)+1)
	copy(out, s)
	out[len(s)] = 0
	*n = C.size_t(len(s))
	return C.DTLSGATE_OK
}

// maxZone is the longest IPv6 zone accepted: an interface name (IFNAMSIZ
// less the NUL) or a scope number. It keeps every address string within
// the 64 bytes the header promises.
const maxZone = C.IFNAMSIZ - 1

// maxAddressString bounds the scan for the NUL of an address string: an
// IPv6 address with a zone fits many times over.
const maxAddressString = 256

// parseAddress reads a numeric IPv4 or IPv6 address string. NULL, empty,
// unterminated within maxAddressString bytes, or unparsable gives the zero
// Addr, which the verifier refuses as Qt refuses a null QHostAddress.
func parseAddress(s *C.capi_in_char) netip.Addr {
	if s == nil {
		return netip.Addr{}
	}
	p := unsafe.Pointer(s)
	n := 0
	for n < maxAddressString && *(*byte)(unsafe.Add(p, n)) != 0 {
		n++
	}
	if n == maxAddressString {
		return netip.Addr{}
	}
	// The string is only read during the call; ParseAddr keeps no
	// reference to it (a zone is copied into Go memory).
	addr, err := netip.ParseAddr(unsafe.String((*byte)(p), n))
	if err != nil || len(addr.Zone()) > maxZone {
		return netip.Addr{}
	}
	return addr
}

// Layout of struct sockaddr_in / sockaddr_in6 on Linux.
const (
	sockaddrIn4Size = C.sizeof_struct_sockaddr_in
	sockaddrIn6Size = C.sizeof_struct_sockaddr_in6
)

// parseSockaddr reads an AF_INET or AF_INET6 peer as recvfrom(2) fills it
// in. Anything else gives the zero AddrPort. An IPv6 scope id becomes the
// address's numeric zone, so replies to link-local peers go out on the
// interface they came from.
func parseSockaddr(sa *C.capi_in_sockaddr, n C.socklen_t) netip.AddrPort {
	if sa == nil {
		return netip.AddrPort{}
	}
	switch sa.sa_family {
	case C.AF_INET:
		if n < sockaddrIn4Size {
			return netip.AddrPort{}
		}
		sin := (*C.struct_sockaddr_in)(unsafe.Pointer(sa))
		b := (*[4]byte)(unsafe.Pointer(&sin.sin_addr))
		return netip.AddrPortFrom(netip.AddrFrom4(*b), ntohs(uint16(sin.sin_port)))
	case C.AF_INET6:
		if n < sockaddrIn6Size {
			return netip.AddrPort{}
		}
		sin6 := (*C.struct_sockaddr_in6)(unsafe.Pointer(sa))
		addr := netip.AddrFrom16(*(*[16]byte)(unsafe.Pointer(&sin6.sin6_addr)))
		if sin6.sin6_scope_id != 0 {
			addr = addr.WithZone(strconv.FormatUint(uint64(sin6.sin6_scope_id), 10))
		}
		return netip.AddrPortFrom(addr, ntohs(uint16(sin6.sin6_port)))
	}
	return netip.AddrPort{}
}

// ntohs converts a port from network order as it sits in a sockaddr.
func ntohs(v uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&v))
	return uint16(b[0])<<8 | uint16(b[1])
}
