// SPDX-License-Identifier: MIT

// Command capi is built as libdtlsgate.so and libdtlsgate.a: the C ABI of
// include/dtlsgate.h over the Go core. It stays thin: every export finds
// its object in a handle table, converts C arguments, calls the core and
// converts the result back. No Go pointer is handed to C, no C pointer is
// kept after a call returns, and no panic crosses into the host process.
//
// Entry convention: the Go function behind the public C function dtlsgate_X
// is named dtlsgo_X (//export dtlsgo_X). The public symbol is a C wrapper in
// capi/entry.c, generated from include/dtlsgate.h by scripts/gen-entry.py
// (`make capi/entry.c`, then commit it), that clears the upper vector state
// a host may leave dirty and jumps to dtlsgo_X. So a new function is
// declared in the header, written here as dtlsgo_X, and the file
// regenerated; `make test-symbols` fails if either side is missing, and
// the build fails if the Go signature disagrees with the header's.
package main

// #cgo CFLAGS: -I${SRCDIR}/../include -I${SRCDIR}
// #include "capi.h"
import "C"

import (
	"errors"

	"github.com/dtlsgate/dtlsgate/core/cookie"
	"github.com/dtlsgate/dtlsgate/core/dtlserror"
)

func main() {}

// Static strings handed to C are made once, in C memory, and never freed.
var (
	versionString = C.capi_version_string()
	statusText    = map[C.int]*C.capi_static_string{
		C.DTLSGATE_E_INVALID_ARGUMENT: C.CString("invalid argument"),
		C.DTLSGATE_E_BAD_HANDLE:       C.CString("NULL, freed or unknown handle"),
		C.DTLSGATE_E_BUFFER_TOO_SMALL: C.CString("output buffer too small"),
		C.DTLSGATE_E_UNSUPPORTED:      C.CString("unknown or unsupported hash algorithm"),
		C.DTLSGATE_E_INTERNAL:         C.CString("internal error in dtlsgate"),
		C.DTLSGATE_E_BUSY:             C.CString("session called from inside its own PSK callback"),
		C.DTLSGATE_E_NOT_FOUND:        C.CString("no connected session with that peer, or no such PSK request"),
		C.DTLSGATE_E_INVALID_STATE:    C.CString("not allowed in the server's mode (listening, stopped or fed datagrams)"),
		C.DTLSGATE_E_IO:               C.CString("the operating system refused (address in use, file unreadable)"),
	}
	unknownCode    = C.CString("unknown error code")
	dtlsErrorText  [len(dtlsErrorNames)]*C.capi_static_string
	dtlsErrorNames [dtlserror.TlsNonFatalError + 1]*C.capi_static_string
)

func init() {
	for c := range dtlsErrorNames {
		code := dtlserror.Code(c)
		dtlsErrorNames[c] = C.CString(code.String())
		dtlsErrorText[c] = C.CString(code.Description())
	}
}

//export dtlsgo_version
func dtlsgo_version() *C.capi_static_string { return versionString }

//export dtlsgo_version_number
func dtlsgo_version_number() C.int { return C.DTLSGATE_VERSION_NUMBER }

//export dtlsgo_strerror
func dtlsgo_strerror(code C.int) *C.capi_static_string {
	if s, ok := statusText[code]; ok {
		return s
	}
	if code >= 0 && int(code) < len(dtlsErrorText) {
		return dtlsErrorText[code]
	}
	return unknownCode
}

//export dtlsgo_dtls_error_name
func dtlsgo_dtls_error_name(code C.int) *C.capi_static_string {
	if code >= 0 && int(code) < len(dtlsErrorNames) {
		return dtlsErrorNames[code]
	}
	return nil
}

//export dtlsgo_hash_supported
func dtlsgo_hash_supported(algorithm C.int) (ret C.int) {
	defer guard(&ret)
	err := cookie.Algorithm(algorithm).Supported()
	switch {
	case err == nil:
		return 1
	case errors.Is(err, cookie.ErrUnsupportedAlgorithm): // Qt knows it; Go lacks it
		return 0
	}
	return C.DTLSGATE_E_UNSUPPORTED
}

//export dtlsgo_default_cookie_generator_parameters
func dtlsgo_default_cookie_generator_parameters(hash *C.int, secret *C.uint8_t, secretLen *C.size_t) (ret C.int) {
	defer guard(&ret)
	return putParameters(cookie.DefaultParameters(), hash, secret, secretLen)
}

// putParameters writes p to the caller's (hash, secret, secret_len).
func putParameters(p cookie.Parameters, hash *C.int, secret *C.uint8_t, secretLen *C.size_t) C.int {
	if hash == nil {
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "hash: NULL; pass where to store the algorithm")
	}
	if status := putSecret(p.Secret, secret, secretLen); status != C.DTLSGATE_OK {
		return status
	}
	*hash = C.int(p.Hash)
	return C.DTLSGATE_OK
}
