// SPDX-License-Identifier: MIT

package main

// #include "capi.h"
import "C"

import (
	"fmt"
	"net/netip"
	"sync"
	"time"
	"unsafe"

	"github.com/dtlsgate/dtlsgate/core/cookie"
	"github.com/dtlsgate/dtlsgate/core/dtlserror"
	"github.com/dtlsgate/dtlsgate/core/psk"
	"github.com/dtlsgate/dtlsgate/core/session"
)

// dtlsSession is a session.Session behind a C handle: calls are serialized,
// datagrams queued by DTLSGATE_NO_SOCKET calls wait in queue, and the PSK
// callback is a C function pointer.
type dtlsSession struct {
	mu       sync.Mutex
	s        *session.Session
	queue    [][]byte
	callback C.dtlsgate_psk_callback
	userData uintptr // the caller's, only handed back: not necessarily a pointer
	// inCallback refuses calls from the PSK callback on its own session.
	inCallback callbackThread
}

var sessions = newTable[dtlsSession](kindSession)

// withSession runs f on the session behind h, locked; DTLSGATE_E_BUSY when
// called from inside the session's own PSK callback.
func withSession(h *C.capi_const_session, f func(x *dtlsSession) C.int) C.int {
	x, ok := sessions.get(uintptr(unsafe.Pointer(h)))
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	if x.inCallback.current() {
		return C.DTLSGATE_E_BUSY
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	return f(x)
}

//export dtlsgo_session_new
func dtlsgo_session_new(mode C.int) (h *C.dtlsgate_session) {
	defer func() {
		if r := recover(); r != nil {
			reportPanic(r)
			h = nil
		}
	}()
	x := &dtlsSession{}
	// Connection IDs wait to be asked for: they change the records (and
	// so DTLSGATE_RECORD_OVERHEAD_MAX) that programs written before them
	// expect.
	s, err := session.New(session.Mode(mode), session.Config{PSK: x.askPSK, ConnectionIDLength: session.NoConnectionID})
	if err != nil {
		return nil
	}
	x.s = s
	return C.capi_session_handle(C.uintptr_t(sessions.add(x)))
}

//export dtlsgo_session_free
func dtlsgo_session_free(h *C.dtlsgate_session) {
	defer func() {
		if r := recover(); r != nil {
			reportPanic(r)
		}
	}()
	x, ok := sessions.remove(uintptr(unsafe.Pointer(h)))
	if !ok {
		return
	}
	// The handle is gone for new calls; the secrets go once no call uses
	// them. From inside the PSK callback this thread already holds the lock
	// (the callback's own do_handshake), and the engine puts the wipe off
	// until the callback returns; any other thread waits for the call that
	// runs.
	if x.inCallback.current() {
		x.s.Close()
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.s.Close()
}

// askPSK hands the session's authenticator to the C callback through a
// handle that lives for the call only, then takes back what the
// application set. It runs inside do_handshake, with x.mu held.
func (x *dtlsSession) askPSK(a *psk.Authenticator) {
	if x.callback == nil {
		return
	}
	tmp := &authenticator{a: *a.Clone()}
	id := authenticators.add(tmp)
	defer func() {
		authenticators.remove(id)
		tmp.mu.Lock()
		tmp.a.Wipe()
		tmp.mu.Unlock()
	}()
	x.inCallback.enter()
	defer x.inCallback.leave()
	C.capi_call_psk(x.callback, C.uintptr_t(x.userData), C.capi_authenticator_handle(C.uintptr_t(id)))
	tmp.mu.Lock()
	takeCredentials(a, &tmp.a)
	tmp.mu.Unlock()
}

// send delivers what the session has to send: through socket_fd, or into
// the queue for next_outgoing. A send failure becomes the session's error
// (UnderlyingSocketError) unless the call already failed for a reason of
// its own, such as the fatal alert being sent; the rest of that batch is
// dropped, which the handshake's retransmission makes good.
func (x *dtlsSession) send(fd C.int) bool {
	x.takeOutgoing()
	if fd == C.DTLSGATE_NO_SOCKET {
		return true
	}
	queue := x.queue
	x.queue = nil
	for _, d := range queue {
		if err := fdWriter(fd).WriteDatagram(d, x.s.Peer()); err != nil {
			if x.s.DtlsError() == dtlserror.NoError {
				x.s.SetDriverError(dtlserror.UnderlyingSocketError, err.Error())
			}
			return false
		}
	}
	return true
}

// takeOutgoing moves the session's datagrams to the end of the queue. The
// queue is most often empty: it then takes the session's list as it is,
// rather than a copy, one allocation fewer for every flight.
func (x *dtlsSession) takeOutgoing() {
	if len(x.queue) == 0 {
		x.queue = x.s.Outgoing()
		return
	}
	x.queue = append(x.queue, x.s.Outgoing()...)
}

// badSocket refuses a descriptor that is neither a socket nor
// DTLSGATE_NO_SOCKET the way Qt's QDtls refuses a null socket: false, with
// InvalidInputParameters.
func (x *dtlsSession) badSocket(fd C.int) bool {
	if fd >= 0 || fd == C.DTLSGATE_NO_SOCKET {
		return false
	}
	x.s.SetDriverError(dtlserror.InvalidInputParameters, fmt.Sprintf("Invalid socket descriptor %d", int(fd)))
	return true
}

//export dtlsgo_session_ssl_mode
func dtlsgo_session_ssl_mode(h *C.capi_const_session) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int { return C.int(x.s.Mode()) })
}

//export dtlsgo_session_set_peer
func dtlsgo_session_set_peer(h *C.dtlsgate_session, address *C.capi_in_char, port C.uint16_t) (ret C.int) {
	defer guard(&ret)
	peer := parseAddress(address)
	return withSession(h, func(x *dtlsSession) C.int {
		return boolInt(x.s.SetPeer(netip.AddrPortFrom(peer, uint16(port))))
	})
}

//export dtlsgo_session_set_peer_sockaddr
func dtlsgo_session_set_peer_sockaddr(h *C.dtlsgate_session, sa *C.capi_in_sockaddr, n C.socklen_t) (ret C.int) {
	defer guard(&ret)
	peer := parseSockaddr(sa, n)
	return withSession(h, func(x *dtlsSession) C.int { return boolInt(x.s.SetPeer(peer)) })
}

//export dtlsgo_session_peer
func dtlsgo_session_peer(h *C.capi_const_session, buf *C.char, n *C.size_t, port *C.uint16_t) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int {
		peer := x.s.Peer()
		addr := ""
		if peer.IsValid() {
			addr = peer.Addr().String()
		}
		if status := putString(addr, buf, n); status != C.DTLSGATE_OK {
			return status
		}
		if port != nil {
			*port = C.uint16_t(peer.Port())
		}
		return C.DTLSGATE_OK
	})
}

// configure applies a change to the session's configuration; SetConfig
// refuses it once the handshake started, and records why.
func (x *dtlsSession) configure(change func(cfg *session.Config)) C.int {
	return boolInt(x.s.Reconfigure(change))
}

//export dtlsgo_session_set_identity_hint
func dtlsgo_session_set_identity_hint(h *C.dtlsgate_session, hint *C.capi_in_bytes, n C.size_t) (ret C.int) {
	defer guard(&ret)
	b, ok := inBytes(hint, n, "identity hint")
	return withSession(h, func(x *dtlsSession) C.int {
		if !ok {
			return C.DTLSGATE_E_INVALID_ARGUMENT
		}
		// SetConfig copies the hint, so b does not outlive the call.
		return x.configure(func(cfg *session.Config) { cfg.IdentityHint = b })
	})
}

//export dtlsgo_session_identity_hint
func dtlsgo_session_identity_hint(h *C.capi_const_session, buf *C.uint8_t, n *C.size_t) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int { return putBytes(x.s.Config().IdentityHint, buf, n) })
}

//export dtlsgo_session_set_ciphers
func dtlsgo_session_set_ciphers(h *C.dtlsgate_session, names *C.capi_in_char) (ret C.int) {
	defer guard(&ret)
	list := ""
	if names != nil {
		list = C.GoString(names)
	}
	return withSession(h, func(x *dtlsSession) C.int { return boolInt(x.s.SetCiphers(list)) })
}

//export dtlsgo_session_ciphers
func dtlsgo_session_ciphers(h *C.capi_const_session, buf *C.char, n *C.size_t) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int { return putString(x.s.Ciphers(), buf, n) })
}

//export dtlsgo_session_set_mtu_hint
func dtlsgo_session_set_mtu_hint(h *C.dtlsgate_session, mtu C.uint16_t) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int {
		return x.configure(func(cfg *session.Config) { cfg.MTU = int(mtu) })
	})
}

//export dtlsgo_session_mtu_hint
func dtlsgo_session_mtu_hint(h *C.capi_const_session) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int { return C.int(x.s.Config().MTU) })
}

// refuse turns down a value the C ABI bounds more tightly than the engine
// does, in the engine's manner: once the handshake started SetConfig's
// InvalidOperation comes first, as for any other setting; before that the
// value is InvalidInputParameters, with msg.
func (x *dtlsSession) refuse(msg string) C.int {
	if x.s.HandshakeState() != session.HandshakeNotStarted {
		return x.configure(func(*session.Config) {})
	}
	x.s.SetDriverError(dtlserror.InvalidInputParameters, msg)
	return 0
}

//export dtlsgo_session_set_handshake_deadline
func dtlsgo_session_set_handshake_deadline(h *C.dtlsgate_session, ms C.uint32_t) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int {
		// The engine takes any duration; the getter's int does not.
		if ms > C.DTLSGATE_HANDSHAKE_DEADLINE_MAX {
			return x.refuse(fmt.Sprintf("Handshake deadline %d ms is longer than %d ms (24 hours)", ms, C.DTLSGATE_HANDSHAKE_DEADLINE_MAX))
		}
		return x.configure(func(cfg *session.Config) { cfg.HandshakeDeadline = time.Duration(ms) * time.Millisecond })
	})
}

//export dtlsgo_session_handshake_deadline
func dtlsgo_session_handshake_deadline(h *C.capi_const_session) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int {
		return C.int(x.s.Config().HandshakeDeadline / time.Millisecond)
	})
}

//export dtlsgo_session_set_max_retransmits
func dtlsgo_session_set_max_retransmits(h *C.dtlsgate_session, n C.int) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int {
		// The engine reads a negative count as "the default"; from C it is
		// more likely a mistake, so it is refused.
		if n < 0 {
			return x.refuse(fmt.Sprintf("Invalid maximum number of retransmissions %d", n))
		}
		return x.configure(func(cfg *session.Config) { cfg.MaxRetransmits = int(n) })
	})
}

//export dtlsgo_session_max_retransmits
func dtlsgo_session_max_retransmits(h *C.capi_const_session) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int { return C.int(x.s.Config().MaxRetransmits) })
}

//export dtlsgo_session_set_cookie_generator_parameters
func dtlsgo_session_set_cookie_generator_parameters(h *C.dtlsgate_session, hash C.int, secret *C.capi_in_bytes, n C.size_t) (ret C.int) {
	defer guard(&ret)
	b, ok := inBytes(secret, n, "secret")
	return withSession(h, func(x *dtlsSession) C.int {
		if !ok {
			return C.DTLSGATE_E_INVALID_ARGUMENT
		}
		// The generator copies the secret.
		return boolInt(x.s.SetCookieGeneratorParameters(cookie.Parameters{Hash: cookie.Algorithm(hash), Secret: b}))
	})
}

//export dtlsgo_session_cookie_generator_parameters
func dtlsgo_session_cookie_generator_parameters(h *C.capi_const_session, hash *C.int, secret *C.uint8_t, n *C.size_t) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int {
		return putParameters(x.s.CookieGeneratorParameters(), hash, secret, n)
	})
}

//export dtlsgo_session_set_cookie_verifier
func dtlsgo_session_set_cookie_verifier(h *C.dtlsgate_session, vh *C.capi_const_verifier) (ret C.int) {
	defer guard(&ret)
	v, ok := lookupVerifier(vh)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	return withSession(h, func(x *dtlsSession) C.int {
		return x.configure(func(cfg *session.Config) { cfg.Cookies = v.Generator() })
	})
}

//export dtlsgo_session_set_psk_callback
func dtlsgo_session_set_psk_callback(h *C.dtlsgate_session, cb C.dtlsgate_psk_callback, userData unsafe.Pointer) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int {
		x.callback, x.userData = cb, uintptr(userData)
		return C.DTLSGATE_OK
	})
}

//export dtlsgo_session_do_handshake
func dtlsgo_session_do_handshake(h *C.dtlsgate_session, fd C.int, dgram *C.capi_in_bytes, n C.size_t) (ret C.int) {
	defer guard(&ret)
	b, ok := inBytes(dgram, n, "datagram")
	return withSession(h, func(x *dtlsSession) C.int {
		if !ok {
			return C.DTLSGATE_E_INVALID_ARGUMENT
		}
		if x.badSocket(fd) {
			return 0
		}
		done := x.s.DoHandshake(b)
		return boolInt(x.send(fd) && done)
	})
}

//export dtlsgo_session_handshake_step
func dtlsgo_session_handshake_step(h *C.dtlsgate_session, dgram *C.capi_in_bytes, n C.size_t, out *C.uint8_t, outLen, lens, count *C.size_t) (ret C.int) {
	defer guard(&ret)
	b, ok := inBytes(dgram, n, "datagram")
	return withSession(h, func(x *dtlsSession) C.int {
		switch {
		case !ok:
			return C.DTLSGATE_E_INVALID_ARGUMENT
		case count == nil:
			return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "count: NULL; pass the number of entries of lens in it")
		case lens == nil && *count > 0:
			return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "lens: NULL with a count of %d", uint64(*count))
		}
		if status := checkOut(out, outLen); status != C.DTLSGATE_OK {
			return status
		}
		done := x.s.DoHandshake(b)
		x.takeFlight(out, outLen, lens, count)
		switch {
		case !done:
			return 0
		case x.s.HandshakeState() == session.HandshakeComplete:
			return C.DTLSGATE_HANDSHAKE_COMPLETE
		}
		return 1
	})
}

// takeFlight moves every queued datagram into out, back to back, and their
// lengths into lens, when all of them fit; otherwise it leaves them all
// queued. Either way *count and *outLen end up saying how many there are
// and how many bytes they take, so a caller whose buffers were too small
// knows what it needs.
func (x *dtlsSession) takeFlight(out *C.uint8_t, outLen, lens, count *C.size_t) {
	x.takeOutgoing()
	total := 0
	for _, d := range x.queue {
		total += len(d)
	}
	n := len(x.queue)
	if uint64(n) <= uint64(*count) && uint64(total) <= uint64(*outLen) && n > 0 {
		dst := unsafe.Slice((*byte)(unsafe.Pointer(out)), total)
		sizes := unsafe.Slice(lens, n)
		off := 0
		for i, d := range x.queue {
			off += copy(dst[off:], d)
			sizes[i] = C.size_t(len(d))
		}
		x.queue = nil
	}
	*count, *outLen = C.size_t(n), C.size_t(total)
}

//export dtlsgo_session_remaining_timeout
func dtlsgo_session_remaining_timeout(h *C.capi_const_session, ms *C.uint32_t) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int {
		if ms == nil {
			return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "ms: NULL; pass where to store the time")
		}
		d, running := x.s.Timeout()
		*ms = C.uint32_t((d + time.Millisecond - 1) / time.Millisecond)
		return boolInt(running)
	})
}

//export dtlsgo_session_handle_timeout
func dtlsgo_session_handle_timeout(h *C.dtlsgate_session, fd C.int) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int {
		if x.badSocket(fd) {
			return 0
		}
		ok := x.s.HandleTimeout()
		return boolInt(x.send(fd) && ok)
	})
}

//export dtlsgo_session_abort_handshake
func dtlsgo_session_abort_handshake(h *C.dtlsgate_session) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int { return boolInt(x.s.AbortHandshake()) })
}

//export dtlsgo_session_shutdown
func dtlsgo_session_shutdown(h *C.dtlsgate_session, fd C.int) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int {
		if x.badSocket(fd) {
			return 0
		}
		ok := x.s.Shutdown()
		return boolInt(x.send(fd) && ok)
	})
}

//export dtlsgo_session_write_datagram_encrypted
func dtlsgo_session_write_datagram_encrypted(h *C.dtlsgate_session, fd C.int, data *C.capi_in_bytes, n C.size_t) (ret C.int) {
	defer guard(&ret)
	b, ok := inBytes(data, n, "data")
	return withSession(h, func(x *dtlsSession) C.int {
		if !ok {
			return C.DTLSGATE_E_INVALID_ARGUMENT
		}
		if x.badSocket(fd) {
			return 0
		}
		if fd == C.DTLSGATE_NO_SOCKET {
			written := x.s.WriteDatagramEncrypted(b)
			if written < 0 {
				return 0
			}
			x.send(fd)
			return C.int(written)
		}
		return x.sendRecord(fd, b)
	})
}

// recordBuffers hold a record on its way to a socket: none is made per
// datagram, none is kept per session.
var recordBuffers = sync.Pool{New: func() any { return new(recordBuffer) }}

// recordBuffer holds the largest record: with connection IDs it carries the
// peer's ID and the real content type besides the usual overhead.
type recordBuffer [C.DTLSGATE_MAX_RECORD_PLAINTEXT + C.DTLSGATE_RECORD_OVERHEAD_MAX +
	C.DTLSGATE_PEER_CONNECTION_ID_MAX + 1]byte

// sendRecord seals data into a pooled buffer and sends it at once, after
// anything still queued. It returns len(data), or 0 with the error set.
func (x *dtlsSession) sendRecord(fd C.int, data []byte) C.int {
	if !x.send(fd) {
		return 0
	}
	buf := recordBuffers.Get().(*recordBuffer)
	defer recordBuffers.Put(buf)
	n, res := x.s.Seal(buf[:], data)
	if res != session.RecordOK {
		return 0 // a record fits the buffer: the error is set
	}
	if err := fdWriter(fd).WriteDatagram(buf[:n], x.s.Peer()); err != nil {
		x.s.SetDriverError(dtlserror.UnderlyingSocketError, err.Error())
		return 0
	}
	return C.int(len(data))
}

// maxRecordBuffer bounds the capacity a caller claims for an output
// buffer: no record or plaintext needs more, and a claimed SIZE_MAX is
// not turned into a slice that long.
const maxRecordBuffer = 1 << 17

// outSlice views a caller's output buffer of capacity n without copying.
func outSlice(out *C.uint8_t, n C.size_t) []byte {
	if out == nil {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(out)), int(min(n, maxRecordBuffer)))
}

// checkOut refuses an output buffer the caller described wrongly: no
// length, or no buffer with a non-zero length.
func checkOut(out *C.uint8_t, outLen *C.size_t) C.int {
	switch {
	case outLen == nil:
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "out_len: NULL")
	case out == nil && *outLen > 0:
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "out: NULL with a capacity of %d", uint64(*outLen))
	}
	return C.DTLSGATE_OK
}

// recordStatus is what encrypt and decrypt return for a result of Seal or
// Open, setting *outLen.
func recordStatus(n int, res session.RecordResult, outLen *C.size_t) C.int {
	switch res {
	case session.RecordOK:
		*outLen = C.size_t(n)
		return 1
	case session.RecordShortBuffer:
		*outLen = C.size_t(n)
		return C.DTLSGATE_E_BUFFER_TOO_SMALL
	case session.RecordDropped:
		*outLen = 0
		return C.DTLSGATE_RECORD_DROPPED
	case session.RecordNotData:
		*outLen = 0
		return C.DTLSGATE_RECORD_NOT_DATA
	}
	*outLen = 0
	return 0
}

// recordOp is Seal or Open.
type recordOp func(s *session.Session, out, in []byte) (int, session.RecordResult)

// oneRecord checks one call's arguments and runs op on them.
func (x *dtlsSession) oneRecord(op recordOp, in *C.capi_in_bytes, inLen C.size_t, out *C.uint8_t, outLen *C.size_t) C.int {
	b, ok := inBytes(in, inLen, "input")
	if !ok {
		return C.DTLSGATE_E_INVALID_ARGUMENT
	}
	if status := checkOut(out, outLen); status != C.DTLSGATE_OK {
		return status
	}
	n, res := op(x.s, outSlice(out, *outLen), b)
	return recordStatus(n, res, outLen)
}

// batch runs op on each entry, whatever the others gave, and returns how
// many gave 1.
func batch(h *C.dtlsgate_session, op recordOp, entries *C.dtlsgate_record_buffer, count C.size_t) C.int {
	if count > C.DTLSGATE_MAX_BATCH || entries == nil && count > 0 {
		return C.DTLSGATE_E_INVALID_ARGUMENT
	}
	return withSession(h, func(x *dtlsSession) C.int {
		done := C.int(0)
		es := unsafe.Slice(entries, int(count))
		for i := range es {
			e := &es[i]
			e.status = x.oneRecord(op, e.in, e.in_len, e.out, &e.out_len)
			if e.status == 1 {
				done++
			}
		}
		return done
	})
}

//export dtlsgo_session_encrypt
func dtlsgo_session_encrypt(h *C.dtlsgate_session, plain *C.capi_in_bytes, n C.size_t, out *C.uint8_t, outLen *C.size_t) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int {
		return x.oneRecord((*session.Session).Seal, plain, n, out, outLen)
	})
}

//export dtlsgo_session_decrypt
func dtlsgo_session_decrypt(h *C.dtlsgate_session, dgram *C.capi_in_bytes, n C.size_t, out *C.uint8_t, outLen *C.size_t) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int {
		return x.oneRecord((*session.Session).Open, dgram, n, out, outLen)
	})
}

//export dtlsgo_session_encrypt_batch
func dtlsgo_session_encrypt_batch(h *C.dtlsgate_session, entries *C.dtlsgate_record_buffer, count C.size_t) (ret C.int) {
	defer guard(&ret)
	return batch(h, (*session.Session).Seal, entries, count)
}

//export dtlsgo_session_decrypt_batch
func dtlsgo_session_decrypt_batch(h *C.dtlsgate_session, entries *C.dtlsgate_record_buffer, count C.size_t) (ret C.int) {
	defer guard(&ret)
	return batch(h, (*session.Session).Open, entries, count)
}

//export dtlsgo_session_decrypt_datagram
func dtlsgo_session_decrypt_datagram(h *C.dtlsgate_session, fd C.int, dgram *C.capi_in_bytes, n C.size_t, out *C.uint8_t, outLen *C.size_t) (ret C.int) {
	defer guard(&ret)
	b, ok := inBytes(dgram, n, "datagram")
	return withSession(h, func(x *dtlsSession) C.int {
		switch {
		case !ok:
			return C.DTLSGATE_E_INVALID_ARGUMENT
		case outLen == nil:
			return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "out length: NULL; pass the buffer's size in it")
		case x.badSocket(fd):
			*outLen = 0
			return 0
		case uint64(*outLen) < uint64(n):
			// Checked before decrypting, so the record is not consumed.
			*outLen = n
			return C.DTLSGATE_E_BUFFER_TOO_SMALL
		case out == nil && n > 0:
			return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "out: NULL with a length of %d", uint64(*outLen))
		}
		plain := x.s.DecryptDatagram(b)
		sent := x.send(fd)
		// Fits: a record's plaintext is shorter than the record.
		if status := putBytes(plain, out, outLen); status != C.DTLSGATE_OK {
			return status
		}
		// Data that arrived before an error in the same datagram is
		// delivered: the replay window has moved past it.
		return boolInt(len(plain) > 0 || (sent && x.s.DtlsError() == 0))
	})
}

//export dtlsgo_session_next_outgoing
func dtlsgo_session_next_outgoing(h *C.dtlsgate_session, buf *C.uint8_t, n *C.size_t) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int {
		if n == nil {
			return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "length: NULL; pass the buffer's size in it")
		}
		x.takeOutgoing()
		if len(x.queue) == 0 {
			*n = 0
			return 0
		}
		if status := putBytes(x.queue[0], buf, n); status != C.DTLSGATE_OK {
			return status
		}
		x.queue[0] = nil
		x.queue = x.queue[1:]
		return 1
	})
}

//export dtlsgo_session_handshake_state
func dtlsgo_session_handshake_state(h *C.capi_const_session) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int { return C.int(x.s.HandshakeState()) })
}

//export dtlsgo_session_is_connection_encrypted
func dtlsgo_session_is_connection_encrypted(h *C.capi_const_session) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int { return boolInt(x.s.IsConnectionEncrypted()) })
}

//export dtlsgo_session_session_cipher
func dtlsgo_session_session_cipher(h *C.capi_const_session, buf *C.char, n *C.size_t) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int {
		suite, ok := x.s.SessionCipher()
		name := ""
		if ok {
			name = suite.Name
		}
		return putString(name, buf, n)
	})
}

//export dtlsgo_session_session_protocol
func dtlsgo_session_session_protocol(h *C.capi_const_session, buf *C.char, n *C.size_t) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int { return putString(x.s.SessionProtocol(), buf, n) })
}

//export dtlsgo_session_dtls_error
func dtlsgo_session_dtls_error(h *C.capi_const_session) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int { return C.int(x.s.DtlsError()) })
}

//export dtlsgo_session_dtls_error_string
func dtlsgo_session_dtls_error_string(h *C.capi_const_session, buf *C.char, n *C.size_t) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int { return putString(x.s.DtlsErrorString(), buf, n) })
}
