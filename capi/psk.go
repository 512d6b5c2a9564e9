// SPDX-License-Identifier: MIT

package main

// #include "capi.h"
import "C"

import (
	"sync"
	"unsafe"

	"github.com/dtlsgate/dtlsgate/core/psk"
)

// authenticator serializes C calls on one psk.Authenticator, which is a
// plain value type in Go.
type authenticator struct {
	mu sync.Mutex
	a  psk.Authenticator
}

var authenticators = newTable[authenticator](kindAuthenticator)

func lookupAuthenticator(h *C.capi_const_authenticator) (*authenticator, bool) {
	return authenticators.get(uintptr(unsafe.Pointer(h)))
}

func newAuthenticatorHandle(a *authenticator) (h *C.dtlsgate_psk_authenticator) {
	defer func() {
		if r := recover(); r != nil {
			reportPanic(r)
			h = nil
		}
	}()
	return C.capi_authenticator_handle(C.uintptr_t(authenticators.add(a)))
}

//export dtlsgo_psk_authenticator_new
func dtlsgo_psk_authenticator_new() *C.dtlsgate_psk_authenticator {
	return newAuthenticatorHandle(&authenticator{})
}

//export dtlsgo_psk_authenticator_copy
func dtlsgo_psk_authenticator_copy(h *C.capi_const_authenticator) (out *C.dtlsgate_psk_authenticator) {
	defer func() {
		if r := recover(); r != nil {
			reportPanic(r)
			out = nil
		}
	}()
	src, ok := lookupAuthenticator(h)
	if !ok {
		return nil
	}
	src.mu.Lock()
	dup := &authenticator{a: *src.a.Clone()}
	src.mu.Unlock()
	return newAuthenticatorHandle(dup)
}

//export dtlsgo_psk_authenticator_free
func dtlsgo_psk_authenticator_free(h *C.dtlsgate_psk_authenticator) {
	defer func() {
		if r := recover(); r != nil {
			reportPanic(r)
		}
	}()
	if a, ok := authenticators.remove(uintptr(unsafe.Pointer(h))); ok {
		a.mu.Lock()
		a.a.Wipe()
		a.mu.Unlock()
	}
}

// withTwo runs f with both authenticators locked, in handle order so that
// concurrent swap(a, b) and swap(b, a) cannot deadlock.
func withTwo(ha, hb *C.capi_const_authenticator, f func(a, b *psk.Authenticator)) C.int {
	a, okA := lookupAuthenticator(ha)
	b, okB := lookupAuthenticator(hb)
	if !okA || !okB {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	if a == b {
		a.mu.Lock()
		defer a.mu.Unlock()
		f(&a.a, &a.a)
		return C.DTLSGATE_OK
	}
	first, second := a, b
	if uintptr(unsafe.Pointer(hb)) < uintptr(unsafe.Pointer(ha)) {
		first, second = b, a
	}
	first.mu.Lock()
	defer first.mu.Unlock()
	second.mu.Lock()
	defer second.mu.Unlock()
	f(&a.a, &b.a)
	return C.DTLSGATE_OK
}

//export dtlsgo_psk_authenticator_swap
func dtlsgo_psk_authenticator_swap(ha, hb *C.dtlsgate_psk_authenticator) (ret C.int) {
	defer guard(&ret)
	return withTwo(ha, hb, func(a, b *psk.Authenticator) { a.Swap(b) })
}

//export dtlsgo_psk_authenticator_equal
func dtlsgo_psk_authenticator_equal(ha, hb *C.capi_const_authenticator) (ret C.int) {
	defer guard(&ret)
	equal := false
	if status := withTwo(ha, hb, func(a, b *psk.Authenticator) { equal = a.Equal(b) }); status != C.DTLSGATE_OK {
		return status
	}
	return boolInt(equal)
}

// withOne runs f on the authenticator behind h, locked.
func withOne(h *C.capi_const_authenticator, f func(a *psk.Authenticator) C.int) C.int {
	a, ok := lookupAuthenticator(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return f(&a.a)
}

// getBytes writes one byte field to the caller's buffer. The field may be
// the key: it comes as a copy, goes over as a secret and is wiped once it
// is in the buffer.
func getBytes(h *C.capi_const_authenticator, field func(*psk.Authenticator) []byte, buf *C.uint8_t, n *C.size_t) C.int {
	return withOne(h, func(a *psk.Authenticator) (status C.int) {
		useOnce(field(a), func(b []byte) { status = putSecret(b, buf, n) })
		return status
	})
}

// setBytes stores the caller's bytes in one field.
func setBytes(h *C.dtlsgate_psk_authenticator, set func(*psk.Authenticator, []byte), p *C.capi_in_bytes, n C.size_t, what string) C.int {
	return withOne(h, func(a *psk.Authenticator) C.int {
		b, ok := inBytes(p, n, what)
		if !ok {
			return C.DTLSGATE_E_INVALID_ARGUMENT
		}
		set(a, b) // the authenticator copies b
		return C.DTLSGATE_OK
	})
}

// setLength stores a non-negative maximum length.
func setLength(h *C.dtlsgate_psk_authenticator, set func(*psk.Authenticator, int), n C.int, what string) C.int {
	return withOne(h, func(a *psk.Authenticator) C.int {
		if n < 0 {
			return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "%s: %d is negative; 0 or more bytes", what, n)
		}
		set(a, int(n))
		return C.DTLSGATE_OK
	})
}

//export dtlsgo_psk_authenticator_identity_hint
func dtlsgo_psk_authenticator_identity_hint(h *C.capi_const_authenticator, buf *C.uint8_t, n *C.size_t) (ret C.int) {
	defer guard(&ret)
	return getBytes(h, (*psk.Authenticator).IdentityHint, buf, n)
}

//export dtlsgo_psk_authenticator_identity
func dtlsgo_psk_authenticator_identity(h *C.capi_const_authenticator, buf *C.uint8_t, n *C.size_t) (ret C.int) {
	defer guard(&ret)
	return getBytes(h, (*psk.Authenticator).Identity, buf, n)
}

//export dtlsgo_psk_authenticator_pre_shared_key
func dtlsgo_psk_authenticator_pre_shared_key(h *C.capi_const_authenticator, buf *C.uint8_t, n *C.size_t) (ret C.int) {
	defer guard(&ret)
	return getBytes(h, (*psk.Authenticator).PreSharedKey, buf, n)
}

//export dtlsgo_psk_authenticator_maximum_identity_length
func dtlsgo_psk_authenticator_maximum_identity_length(h *C.capi_const_authenticator) (ret C.int) {
	defer guard(&ret)
	return withOne(h, func(a *psk.Authenticator) C.int { return C.int(a.MaximumIdentityLength()) })
}

//export dtlsgo_psk_authenticator_maximum_pre_shared_key_length
func dtlsgo_psk_authenticator_maximum_pre_shared_key_length(h *C.capi_const_authenticator) (ret C.int) {
	defer guard(&ret)
	return withOne(h, func(a *psk.Authenticator) C.int { return C.int(a.MaximumPreSharedKeyLength()) })
}

//export dtlsgo_psk_authenticator_set_identity
func dtlsgo_psk_authenticator_set_identity(h *C.dtlsgate_psk_authenticator, p *C.capi_in_bytes, n C.size_t) (ret C.int) {
	defer guard(&ret)
	return setBytes(h, (*psk.Authenticator).SetIdentity, p, n, "identity")
}

//export dtlsgo_psk_authenticator_set_pre_shared_key
func dtlsgo_psk_authenticator_set_pre_shared_key(h *C.dtlsgate_psk_authenticator, p *C.capi_in_bytes, n C.size_t) (ret C.int) {
	defer guard(&ret)
	return setBytes(h, (*psk.Authenticator).SetPreSharedKey, p, n, "pre-shared key")
}

//export dtlsgo_psk_authenticator_set_identity_hint
func dtlsgo_psk_authenticator_set_identity_hint(h *C.dtlsgate_psk_authenticator, p *C.capi_in_bytes, n C.size_t) (ret C.int) {
	defer guard(&ret)
	return setBytes(h, (*psk.Authenticator).SetIdentityHint, p, n, "identity hint")
}

//export dtlsgo_psk_authenticator_set_maximum_identity_length
func dtlsgo_psk_authenticator_set_maximum_identity_length(h *C.dtlsgate_psk_authenticator, n C.int) (ret C.int) {
	defer guard(&ret)
	return setLength(h, (*psk.Authenticator).SetMaximumIdentityLength, n, "maximum identity length")
}

//export dtlsgo_psk_authenticator_set_maximum_pre_shared_key_length
func dtlsgo_psk_authenticator_set_maximum_pre_shared_key_length(h *C.dtlsgate_psk_authenticator, n C.int) (ret C.int) {
	defer guard(&ret)
	return setLength(h, (*psk.Authenticator).SetMaximumPreSharedKeyLength, n, "maximum pre-shared key length")
}
