// SPDX-License-Identifier: MIT

package main

// #include "capi.h"
import "C"

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
	"unsafe"

	"github.com/dtlsgate/dtlsgate/core/cookie"
	"github.com/dtlsgate/dtlsgate/core/dtlserror"
	"github.com/dtlsgate/dtlsgate/core/verifier"
	"github.com/dtlsgate/dtlsgate/core/wire"
)

var verifiers = newTable[verifier.ClientVerifier](kindVerifier)

func lookupVerifier(h *C.capi_const_verifier) (*verifier.ClientVerifier, bool) {
	return verifiers.get(uintptr(unsafe.Pointer(h)))
}

//export dtlsgo_verifier_new
func dtlsgo_verifier_new() (h *C.dtlsgate_verifier) {
	defer func() {
		if r := recover(); r != nil {
			reportPanic(r)
			h = nil
		}
	}()
	return C.capi_verifier_handle(C.uintptr_t(verifiers.add(verifier.New())))
}

//export dtlsgo_verifier_free
func dtlsgo_verifier_free(h *C.dtlsgate_verifier) {
	defer func() {
		if r := recover(); r != nil {
			reportPanic(r)
		}
	}()
	verifiers.remove(uintptr(unsafe.Pointer(h)))
}

//export dtlsgo_verifier_set_cookie_generator_parameters
func dtlsgo_verifier_set_cookie_generator_parameters(h *C.dtlsgate_verifier, hash C.int, secret *C.capi_in_bytes, secretLen C.size_t) (ret C.int) {
	defer guard(&ret)
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	s, ok := inBytes(secret, secretLen, "secret")
	if !ok {
		return C.DTLSGATE_E_INVALID_ARGUMENT
	}
	// The generator copies the secret; s does not outlive this call.
	return boolInt(v.SetCookieGeneratorParameters(cookie.Parameters{Hash: cookie.Algorithm(hash), Secret: s}))
}

//export dtlsgo_verifier_cookie_generator_parameters
func dtlsgo_verifier_cookie_generator_parameters(h *C.capi_const_verifier, hash *C.int, secret *C.uint8_t, secretLen *C.size_t) (ret C.int) {
	defer guard(&ret)
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	return putParameters(v.CookieGeneratorParameters(), hash, secret, secretLen)
}

// maxSeconds bounds every duration setting at one day.
const maxSeconds = 86400

//export dtlsgo_verifier_set_cookie_lifetime
func dtlsgo_verifier_set_cookie_lifetime(h *C.dtlsgate_verifier, seconds C.uint32_t) (ret C.int) {
	defer guard(&ret)
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	if seconds == 0 || seconds > maxSeconds {
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "cookie lifetime: %d is out of range 1..%d seconds", seconds, maxSeconds)
	}
	return status(v.Generator().SetLifetime(secondsOf(seconds)))
}

//export dtlsgo_verifier_cookie_lifetime
func dtlsgo_verifier_cookie_lifetime(h *C.capi_const_verifier, seconds *C.uint32_t) (ret C.int) {
	defer guard(&ret)
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	return putSeconds(v.Generator().Lifetime(), seconds)
}

//export dtlsgo_verifier_set_secret_rotation_interval
func dtlsgo_verifier_set_secret_rotation_interval(h *C.dtlsgate_verifier, seconds C.uint32_t) (ret C.int) {
	defer guard(&ret)
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	if seconds > maxSeconds {
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "secret rotation interval: %d is out of range 0..%d seconds (0: never)", seconds, maxSeconds)
	}
	return status(v.Generator().SetRotationInterval(secondsOf(seconds)))
}

//export dtlsgo_verifier_secret_rotation_interval
func dtlsgo_verifier_secret_rotation_interval(h *C.capi_const_verifier, seconds *C.uint32_t) (ret C.int) {
	defer guard(&ret)
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	return putSeconds(v.Generator().RotationInterval(), seconds)
}

//export dtlsgo_verifier_set_fleet_key
func dtlsgo_verifier_set_fleet_key(h *C.dtlsgate_verifier, key *C.capi_in_bytes, keyLen C.size_t, window, skew C.uint32_t) (ret C.int) {
	defer guard(&ret)
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	k, ok := inBytes(key, keyLen, "fleet key")
	switch {
	case !ok:
		return C.DTLSGATE_E_INVALID_ARGUMENT
	case window == 0 || window > maxSeconds:
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "fleet window: %d is out of range 1..%d seconds", window, maxSeconds)
	case skew > maxSeconds:
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "fleet maximum skew: %d is out of range 0..%d seconds", skew, maxSeconds)
	}
	return status(v.Generator().SetFleet(cookie.FleetConfig{
		MasterKey: k, Window: secondsOf(window), MaxSkew: secondsOf(skew),
	}))
}

//export dtlsgo_verifier_clear_fleet_key
func dtlsgo_verifier_clear_fleet_key(h *C.dtlsgate_verifier) (ret C.int) {
	defer guard(&ret)
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	v.Generator().LeaveFleet()
	return C.DTLSGATE_OK
}

//export dtlsgo_verifier_fleet_mode
func dtlsgo_verifier_fleet_mode(h *C.capi_const_verifier, window, skew *C.uint32_t) (ret C.int) {
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

//export dtlsgo_verifier_verify_client
func dtlsgo_verifier_verify_client(h *C.dtlsgate_verifier, fd C.int, dgram *C.capi_in_bytes, dgramLen C.size_t, address *C.capi_in_char, port C.uint16_t) (ret C.int) {
	defer guard(&ret)
	return verifyClient(h, fd, dgram, dgramLen, netip.AddrPortFrom(parseAddress(address), uint16(port)))
}

//export dtlsgo_verifier_verify_client_sockaddr
func dtlsgo_verifier_verify_client_sockaddr(h *C.dtlsgate_verifier, fd C.int, dgram *C.capi_in_bytes, dgramLen C.size_t, peer *C.capi_in_sockaddr, peerLen C.socklen_t) (ret C.int) {
	defer guard(&ret)
	return verifyClient(h, fd, dgram, dgramLen, parseSockaddr(peer, peerLen))
}

func verifyClient(h *C.dtlsgate_verifier, fd C.int, dgram *C.capi_in_bytes, dgramLen C.size_t, peer netip.AddrPort) C.int {
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	d, ok := inBytes(dgram, dgramLen, "datagram")
	if !ok {
		return C.DTLSGATE_E_INVALID_ARGUMENT
	}
	var w verifier.DatagramWriter // nil is Qt's null socket
	if fd >= 0 {
		w = fdWriter(fd)
	}
	verified := v.VerifyClient(w, d, peer.Addr(), peer.Port())
	if !verified && v.DtlsError() == dtlserror.InvalidInputParameters {
		// Qt's message names no argument; the last error message does.
		switch {
		case w == nil:
			setLastError(0, fmt.Sprintf("socket: %d is not a descriptor", fd))
		case len(d) == 0:
			setLastError(0, "datagram: empty")
		default:
			setLastError(0, peerProblem(peer))
		}
	}
	return boolInt(verified)
}

//export dtlsgo_verifier_check
func dtlsgo_verifier_check(h *C.capi_const_verifier, dgram *C.capi_in_bytes, dgramLen C.size_t, peer *C.capi_in_sockaddr, peerLen C.socklen_t, reply *C.uint8_t, replyLen *C.size_t) (ret C.int) {
	defer guard(&ret)
	return check(h, dgram, dgramLen, parseSockaddr(peer, peerLen), reply, replyLen)
}

//export dtlsgo_verifier_check_address
func dtlsgo_verifier_check_address(h *C.capi_const_verifier, dgram *C.capi_in_bytes, dgramLen C.size_t, address *C.capi_in_char, port C.uint16_t, reply *C.uint8_t, replyLen *C.size_t) (ret C.int) {
	defer guard(&ret)
	return check(h, dgram, dgramLen, netip.AddrPortFrom(parseAddress(address), uint16(port)), reply, replyLen)
}

func check(h *C.capi_const_verifier, dgram *C.capi_in_bytes, dgramLen C.size_t, peer netip.AddrPort, reply *C.uint8_t, replyLen *C.size_t) C.int {
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	if replyLen == nil {
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "reply length: NULL; pass the reply buffer's size in it")
	}
	var out []byte
	if reply != nil {
		out = unsafe.Slice((*byte)(unsafe.Pointer(reply)), min(uint64(*replyLen), verifier.MaxReplySize))
	}
	result, n := checkOne(v, dgram, dgramLen, peer, out)
	if result != C.DTLSGATE_E_INVALID_ARGUMENT {
		*replyLen = C.size_t(n)
	}
	return result
}

// checkOne is one dtlsgate_verifier_check(): the result, and the reply's
// length in out (for BUFFER_TOO_SMALL, the length needed).
func checkOne(v *verifier.ClientVerifier, dgram *C.capi_in_bytes, dgramLen C.size_t, peer netip.AddrPort, out []byte) (C.int, int) {
	d, ok := inBytes(dgram, dgramLen, "datagram")
	switch {
	case !ok:
		return C.DTLSGATE_E_INVALID_ARGUMENT, 0
	case len(d) == 0:
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "datagram: empty"), 0
	}
	result, n, err := v.Check(d, peer, out)
	switch {
	case errors.Is(err, wire.ErrBufferTooSmall):
		return C.DTLSGATE_E_BUFFER_TOO_SMALL, n
	case err != nil:
		return refusePeer(peer), 0
	}
	return checkResult(result), n
}

func checkResult(result verifier.Result) C.int {
	switch result {
	case verifier.SendReply:
		return C.DTLSGATE_CHECK_SEND_REPLY
	case verifier.Verified:
		return C.DTLSGATE_CHECK_VERIFIED
	}
	return C.DTLSGATE_CHECK_DROP
}

// refusePeer says which part of a peer the verifier refused.
func refusePeer(peer netip.AddrPort) C.int {
	return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "%s", peerProblem(peer))
}

// peerProblem names the part of a peer the verifier refused: the address
// or the port, else (ErrMulticastPeer) the kind of address.
func peerProblem(peer netip.AddrPort) string {
	switch {
	case !peer.Addr().IsValid():
		return "address: missing or not a numeric IPv4 or IPv6 address (resolve a host name such as \"localhost\" first)"
	case peer.Port() == 0:
		return "port: 0 is out of range 1..65535"
	}
	return fmt.Sprintf("address %s: multicast or broadcast; only unicast peers are accepted", peer.Addr())
}

//export dtlsgo_verifier_check_batch
func dtlsgo_verifier_check_batch(h *C.capi_const_verifier, items *C.dtlsgate_check_item, count C.size_t, replies *C.uint8_t, repliesLen *C.size_t) (ret C.int) {
	defer guard(&ret)
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	switch {
	case repliesLen == nil:
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "replies length: NULL; pass the replies buffer's size in it")
	case count > C.DTLSGATE_MAX_BATCH:
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "count: %d is more than the %d a batch takes", uint64(count), C.DTLSGATE_MAX_BATCH)
	case items == nil && count > 0:
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "items: NULL with a count of %d", uint64(count))
	case replies == nil && *repliesLen > 0:
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "replies: NULL with a size of %d", uint64(*repliesLen))
	case count == 0:
		*repliesLen = 0
		return 0
	}
	var room []byte
	if replies != nil {
		// No more than the replies can take: a claimed SIZE_MAX is not
		// turned into a slice that long (which would panic).
		room = unsafe.Slice((*byte)(unsafe.Pointer(replies)), min(uint64(*repliesLen), uint64(count)*verifier.MaxReplySize))
	}
	used, verified := 0, C.int(0)
	list := unsafe.Slice(items, count)
	for i := range list {
		it := &list[i]
		out := room[used:]
		out = out[:min(len(out), verifier.MaxReplySize)]
		result, n := checkOne(v, it.dgram, it.dgram_len, parseSockaddr(it.peer, it.peer_len), out)
		it.result, it.reply_offset, it.reply_len = result, 0, 0
		switch result {
		case C.DTLSGATE_CHECK_SEND_REPLY:
			it.reply_offset, it.reply_len = C.size_t(used), C.size_t(n)
			used += n
		case C.DTLSGATE_CHECK_VERIFIED:
			verified++
		}
	}
	*repliesLen = C.size_t(used)
	return verified
}

//export dtlsgo_verifier_verified_hello
func dtlsgo_verifier_verified_hello(h *C.capi_const_verifier, buf *C.uint8_t, n *C.size_t) (ret C.int) {
	defer guard(&ret)
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	return putBytes(v.VerifiedHello(), buf, n)
}

//export dtlsgo_verifier_dtls_error
func dtlsgo_verifier_dtls_error(h *C.capi_const_verifier) (ret C.int) {
	defer guard(&ret)
	v, ok := lookupVerifier(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	return C.int(v.DtlsError())
}

//export dtlsgo_verifier_dtls_error_string
func dtlsgo_verifier_dtls_error_string(h *C.capi_const_verifier, buf *C.char, n *C.size_t) (ret C.int) {
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
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "seconds: NULL; pass where to store the value")
	}
	*out = C.uint32_t(d / time.Second)
	return C.DTLSGATE_OK
}

// status maps a core setter's error to the C status: the core only refuses
// values, so any error is an invalid argument.
func status(err error) C.int {
	if err != nil {
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "%v", err)
	}
	return C.DTLSGATE_OK
}
