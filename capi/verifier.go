// SPDX-License-Identifier: MIT

package main

// #include "capi.h"
import "C"

import (
	"errors"
	"net/netip"
	"time"
	"unsafe"

	"github.com/dtlsgate/dtlsgate/core/cookie"
	"github.com/dtlsgate/dtlsgate/core/verifier"
	"github.com/dtlsgate/dtlsgate/core/wire"
)

var verifiers table[verifier.ClientVerifier]

func lookupVerifier(h *C.capi_const_verifier) (*verifier.ClientVerifier, bool) {
	return verifiers.get(uintptr(unsafe.Pointer(h)))
}

//export dtlsgate_verifier_new
func dtlsgate_verifier_new() (h *C.dtlsgate_verifier) {
	defer func() {
		if r := recover(); r != nil {
			reportPanic(r)
			h = nil
		}
	}()
	return C.capi_verifier_handle(C.uintptr_t(verifiers.add(verifier.New())))
}

//export dtlsgate_verifier_free
func dtlsgate_verifier_free(h *C.dtlsgate_verifier) {
	defer func() {
		if r := recover(); r != nil {
			reportPanic(r)
		}
	}()
	verifiers.remove(uintptr(unsafe.Pointer(h)))
}

//export dtlsgate_verifier_set_cookie_generator_parameters
func dtlsgate_verifier_set_cookie_generator_parameters(h *C.dtlsgate_verifier, hash C.int, secret *C.capi_in_bytes, secretLen C.size_t) (ret C.int) {
	defer guard(&ret)
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	s, ok := inBytes(secret, secretLen)
	if !ok {
		return C.DTLSGATE_E_INVALID_ARGUMENT
	}
	// The generator copies the secret; s does not outlive this call.
	return boolInt(v.SetCookieGeneratorParameters(cookie.Parameters{Hash: cookie.Algorithm(hash), Secret: s}))
}

//export dtlsgate_verifier_cookie_generator_parameters
func dtlsgate_verifier_cookie_generator_parameters(h *C.capi_const_verifier, hash *C.int, secret *C.uint8_t, secretLen *C.size_t) (ret C.int) {
	defer guard(&ret)
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	return putParameters(v.CookieGeneratorParameters(), hash, secret, secretLen)
}

// maxSeconds bounds every duration setting at one day.
const maxSeconds = 86400

//export dtlsgate_verifier_set_cookie_lifetime
func dtlsgate_verifier_set_cookie_lifetime(h *C.dtlsgate_verifier, seconds C.uint32_t) (ret C.int) {
	defer guard(&ret)
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	if seconds == 0 || seconds > maxSeconds {
		return C.DTLSGATE_E_INVALID_ARGUMENT
	}
	return status(v.Generator().SetLifetime(secondsOf(seconds)))
}

//export dtlsgate_verifier_cookie_lifetime
func dtlsgate_verifier_cookie_lifetime(h *C.capi_const_verifier, seconds *C.uint32_t) (ret C.int) {
	defer guard(&ret)
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	return putSeconds(v.Generator().Lifetime(), seconds)
}

//export dtlsgate_verifier_set_secret_rotation_interval
func dtlsgate_verifier_set_secret_rotation_interval(h *C.dtlsgate_verifier, seconds C.uint32_t) (ret C.int) {
	defer guard(&ret)
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	if seconds > maxSeconds {
		return C.DTLSGATE_E_INVALID_ARGUMENT
	}
	return status(v.Generator().SetRotationInterval(secondsOf(seconds)))
}

//export dtlsgate_verifier_secret_rotation_interval
func dtlsgate_verifier_secret_rotation_interval(h *C.capi_const_verifier, seconds *C.uint32_t) (ret C.int) {
	defer guard(&ret)
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	return putSeconds(v.Generator().RotationInterval(), seconds)
}

//export dtlsgate_verifier_set_fleet_key
func dtlsgate_verifier_set_fleet_key(h *C.dtlsgate_verifier, key *C.capi_in_bytes, keyLen C.size_t, window, skew C.uint32_t) (ret C.int) {
	defer guard(&ret)
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	k, ok := inBytes(key, keyLen)
	if !ok || window == 0 || window > maxSeconds || skew > maxSeconds {
		return C.DTLSGATE_E_INVALID_ARGUMENT
	}
	return status(v.Generator().SetFleet(cookie.FleetConfig{
		MasterKey: k, Window: secondsOf(window), MaxSkew: secondsOf(skew),
	}))
}

//export dtlsgate_verifier_clear_fleet_key
func dtlsgate_verifier_clear_fleet_key(h *C.dtlsgate_verifier) (ret C.int) {
	defer guard(&ret)
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	v.Generator().LeaveFleet()
	return C.DTLSGATE_OK
}

//export dtlsgate_verifier_fleet_mode
func dtlsgate_verifier_fleet_mode(h *C.capi_const_verifier, window, skew *C.uint32_t) (ret C.int) {
	defer guard(&ret)
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	fleet, on := v.Generator().Fleet()
	if !on {
		return 0
	}
	if window != nil {
		*window = C.uint32_t(fleet.Window / time.Second)
	}
	if skew != nil {
		*skew = C.uint32_t(fleet.MaxSkew / time.Second)
	}
	return 1
}

//export dtlsgate_verifier_verify_client
func dtlsgate_verifier_verify_client(h *C.dtlsgate_verifier, fd C.int, dgram *C.capi_in_bytes, dgramLen C.size_t, address *C.capi_in_char, port C.uint16_t) (ret C.int) {
	defer guard(&ret)
	return verifyClient(h, fd, dgram, dgramLen, netip.AddrPortFrom(parseAddress(address), uint16(port)))
}

//export dtlsgate_verifier_verify_client_sockaddr
func dtlsgate_verifier_verify_client_sockaddr(h *C.dtlsgate_verifier, fd C.int, dgram *C.capi_in_bytes, dgramLen C.size_t, peer *C.capi_in_sockaddr, peerLen C.socklen_t) (ret C.int) {
	defer guard(&ret)
	return verifyClient(h, fd, dgram, dgramLen, parseSockaddr(peer, peerLen))
}

func verifyClient(h *C.dtlsgate_verifier, fd C.int, dgram *C.capi_in_bytes, dgramLen C.size_t, peer netip.AddrPort) C.int {
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	d, ok := inBytes(dgram, dgramLen)
	if !ok {
		return C.DTLSGATE_E_INVALID_ARGUMENT
	}
	var w verifier.DatagramWriter // nil is Qt's null socket
	if fd >= 0 {
		w = fdWriter(fd)
	}
	return boolInt(v.VerifyClient(w, d, peer.Addr(), peer.Port()))
}

//export dtlsgate_verifier_check
func dtlsgate_verifier_check(h *C.capi_const_verifier, dgram *C.capi_in_bytes, dgramLen C.size_t, peer *C.capi_in_sockaddr, peerLen C.socklen_t, reply *C.uint8_t, replyLen *C.size_t) (ret C.int) {
	defer guard(&ret)
	return check(h, dgram, dgramLen, parseSockaddr(peer, peerLen), reply, replyLen)
}

//export dtlsgate_verifier_check_address
func dtlsgate_verifier_check_address(h *C.capi_const_verifier, dgram *C.capi_in_bytes, dgramLen C.size_t, address *C.capi_in_char, port C.uint16_t, reply *C.uint8_t, replyLen *C.size_t) (ret C.int) {
	defer guard(&ret)
	return check(h, dgram, dgramLen, netip.AddrPortFrom(parseAddress(address), uint16(port)), reply, replyLen)
}

func check(h *C.capi_const_verifier, dgram *C.capi_in_bytes, dgramLen C.size_t, peer netip.AddrPort, reply *C.uint8_t, replyLen *C.size_t) C.int {
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	d, ok := inBytes(dgram, dgramLen)
	if !ok || len(d) == 0 || replyLen == nil {
		return C.DTLSGATE_E_INVALID_ARGUMENT
	}
	var out []byte
	if reply != nil {
		out = unsafe.Slice((*byte)(unsafe.Pointer(reply)), min(uint64(*replyLen), verifier.MaxReplySize))
	}
	result, n, err := v.Check(d, peer, out)
	switch {
	case errors.Is(err, wire.ErrBufferTooSmall):
		*replyLen = C.size_t(n)
		return C.DTLSGATE_E_BUFFER_TOO_SMALL
	case err != nil:
		return C.DTLSGATE_E_INVALID_ARGUMENT
	}
	*replyLen = C.size_t(n)
	switch result {
	case verifier.SendReply:
		return C.DTLSGATE_CHECK_SEND_REPLY
	case verifier.Verified:
		return C.DTLSGATE_CHECK_VERIFIED
	}
	return C.DTLSGATE_CHECK_DROP
}

//export dtlsgate_verifier_verified_hello
func dtlsgate_verifier_verified_hello(h *C.capi_const_verifier, buf *C.uint8_t, n *C.size_t) (ret C.int) {
	defer guard(&ret)
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	return putBytes(v.VerifiedHello(), buf, n)
}

//export dtlsgate_verifier_dtls_error
func dtlsgate_verifier_dtls_error(h *C.capi_const_verifier) (ret C.int) {
	defer guard(&ret)
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	return C.int(v.DtlsError())
}

//export dtlsgate_verifier_dtls_error_string
func dtlsgate_verifier_dtls_error_string(h *C.capi_const_verifier, buf *C.char, n *C.size_t) (ret C.int) {
	defer guard(&ret)
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	return putString(v.DtlsErrorString(), buf, n)
}

func secondsOf(s C.uint32_t) time.Duration { return time.Duration(s) * time.Second }

func putSeconds(d time.Duration, out *C.uint32_t) C.int {
	if out == nil {
		return C.DTLSGATE_E_INVALID_ARGUMENT
	}
	*out = C.uint32_t(d / time.Second)
	return C.DTLSGATE_OK
}

// status maps a core setter's error to the C status: the core only refuses
// values, so any error is an invalid argument.
func status(err error) C.int {
	if err != nil {
		return C.DTLSGATE_E_INVALID_ARGUMENT
	}
	return C.DTLSGATE_OK
}
