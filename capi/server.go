// SPDX-License-Identifier: MIT

package main

/*
#include "capi.h"

typedef const dtlsgate_server capi_const_server;
typedef const dtlsgate_server_config capi_in_server_config;

static inline dtlsgate_server *capi_server_handle(uintptr_t id) { return (dtlsgate_server *)id; }

// What a PSK callback is given and fills in, in one C allocation: the
// callback may keep no pointer, and Go memory may not be handed to it.
typedef struct {
    struct sockaddr_storage peer;
    size_t key_len;
    uint8_t key[DTLSGATE_PSK_MAX_KEY];
} capi_psk_call;

static inline int capi_call_server_psk(dtlsgate_server_psk_callback cb, uintptr_t user_data,
                                       capi_psk_call *call, socklen_t peer_len,
                                       const uint8_t *identity, size_t identity_len) {
    int r = cb((void *)user_data, (const struct sockaddr *)&call->peer, peer_len, identity,
               identity_len, call->key, &call->key_len);
    capi_clear_upper();
    return r;
}
*/
import "C"

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/dtlsgate/dtlsgate/core/cookie"
	"github.com/dtlsgate/dtlsgate/core/secret"
	"github.com/dtlsgate/dtlsgate/core/server"
	"github.com/dtlsgate/dtlsgate/core/session"
	"github.com/dtlsgate/dtlsgate/core/verifier"
	"golang.org/x/sys/unix"
)

// cServer is a core/server endpoint behind a C handle: the sans-I/O Server
// driven by the application's calls, or, once it listens, an Endpoint with
// its own workers. Events of both wait in one queue that poll empties and
// an eventfd mirrors, so a C, Python or Qt event loop can wait for them.
type cServer struct {
	mu   sync.Mutex // everything below but the queue and the poll state
	gone bool       // freed: calls that found the handle before are refused

	cfg         server.Config
	serve       server.ServeConfig // managed mode's settings, cfg included
	srv         *server.Server     // socket-less mode
	out         []server.Datagram  // waiting for next_outgoing
	callback    C.dtlsgate_server_psk_callback
	userData    uintptr // the caller's, only handed back
	pskRequests bool
	inCallback  callbackThread
	// keyCopy holds the key a PSK callback gave, in Go memory the server
	// owns, from callBack until the Input that asked for it returns.
	keyCopy []byte

	ep       *server.Endpoint
	cancel   context.CancelFunc
	stopped  bool
	pumpDone chan struct{}

	// The queue has a lock of its own, taken after mu or alone: the
	// workers queue events and key requests while an application call
	// holds mu and waits for room in a worker's command queue.
	qmu     sync.Mutex
	events  []server.Event
	dropped uint64 // Data events the full queue had no room for
	evfd    int
	wake    chan struct{} // a token when events arrive, for a waiting poll
	freed   chan struct{}

	pollMu   sync.Mutex // one poll at a time; the arena is its
	arena    unsafe.Pointer
	arenaCap int
}

var servers = newTable[cServer](kindServer)

// pskRequest marks the events asking the application for a key; the
// server package has no such kind, since its PSKFunc asks.
const pskRequest server.EventKind = 100

// maxQueued bounds the events waiting for poll. Data beyond it is dropped
// and counted, as the endpoint does; connections, closes and key requests
// are bounded by the session limits and always kept.
const maxQueued = server.DefaultEventQueue

// maxRecord is the most one record carries (RFC 6347: 2^14 bytes).
const maxRecord = 16384

func lookupServer(h *C.capi_const_server) (*cServer, bool) {
	return servers.get(uintptr(unsafe.Pointer(h)))
}

// withServer runs f on the server behind h, locked.
func withServer(h *C.capi_const_server, f func(x *cServer) C.int) C.int {
	x, ok := lookupServer(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	return x.with(f)
}

// with runs f on x, locked, unless x was freed meanwhile.
func (x *cServer) with(f func(x *cServer) C.int) C.int {
	if x.inCallback.current() {
		return C.DTLSGATE_E_BUSY
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.gone {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	return f(x)
}

// socketless runs f on a server that does not listen.
func socketless(h *C.capi_const_server, f func(x *cServer) C.int) C.int {
	return withServer(h, func(x *cServer) C.int {
		if x.ep != nil {
			return C.DTLSGATE_E_INVALID_STATE
		}
		return f(x)
	})
}

// The defaults dtlsgate_server_config_init writes; 0 in a limit means the
// same, except for idle_timeout_ms, where 0 means never.
func defaultConfig() C.dtlsgate_server_config {
	return C.dtlsgate_server_config{
		size:                  C.size_t(unsafe.Sizeof(C.dtlsgate_server_config{})),
		max_sessions:          server.DefaultMaxSessions,
		max_half_open:         server.DefaultMaxHalfOpen,
		max_half_open_per_ip:  server.DefaultMaxHalfOpenPerIP,
		handshake_deadline_ms: C.uint32_t(session.DefaultHandshakeDeadline / time.Millisecond),
		idle_timeout_ms:       C.uint32_t(server.DefaultIdleTimeout / time.Millisecond),
		max_buffered_bytes:    server.DefaultMaxBufferedBytes,
		receive_buffer_bytes:  server.DefaultReadBuffer,
		cookie_hash:           C.int(cookie.Sha256),
		mtu:                   session.DefaultMTU,
		max_retransmits:       session.DefaultMaxRetransmits,
		connection_id_length:  C.DTLSGATE_CONNECTION_ID_DEFAULT_LENGTH,
	}
}

// maxStructSize bounds the size a caller claims for a versioned struct,
// so a garbage size is refused instead of read far beyond the struct.
const maxStructSize = 1 << 16

// structSize reports whether size can be the size of some version of a
// size-versioned struct: the size field whole, a bounded total, and a
// multiple of the struct's alignment (the size field's, the largest of its
// fields), so that no field, a pointer least of all, is cut in half.
func structSize(size C.size_t) bool {
	n := uintptr(size)
	return n >= unsafe.Sizeof(size) && n <= maxStructSize && n%unsafe.Alignof(size) == 0
}

// versioned checks a size-versioned struct at p whose size field says
// size, against ours, the size this library knows: size must hold at least
// the size field, and bytes beyond ours must be zero (fields of a newer
// version that this library would ignore). It returns how many bytes both
// know.
func versioned(p unsafe.Pointer, size C.size_t, ours uintptr) (uintptr, bool) {
	n := uintptr(size)
	if !structSize(size) {
		return 0, false
	}
	if n > ours {
		for _, b := range unsafe.Slice((*byte)(unsafe.Add(p, ours)), n-ours) {
			if b != 0 {
				return 0, false
			}
		}
	}
	return min(n, ours), true
}

//export dtlsgo_server_config_init
func dtlsgo_server_config_init(cfg *C.dtlsgate_server_config) (ret C.int) {
	defer guard(&ret)
	if cfg == nil || !structSize(cfg.size) {
		return C.DTLSGATE_E_INVALID_ARGUMENT
	}
	size := cfg.size
	def := defaultConfig()
	ours := unsafe.Sizeof(def)
	n := min(uintptr(size), ours)
	dst := unsafe.Slice((*byte)(unsafe.Pointer(cfg)), uintptr(size))
	copy(dst[:n], unsafe.Slice((*byte)(unsafe.Pointer(&def)), n))
	clear(dst[n:]) // fields of a newer header: zero is their default
	cfg.size = size
	return C.DTLSGATE_OK
}

// readConfig takes the caller's config, fields it lacks at their defaults.
func readConfig(p *C.capi_in_server_config) (C.dtlsgate_server_config, bool) {
	c := defaultConfig()
	if p == nil {
		return c, true
	}
	n, ok := versioned(unsafe.Pointer(p), p.size, unsafe.Sizeof(c))
	if !ok {
		return c, false
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&c)), n), unsafe.Slice((*byte)(unsafe.Pointer(p)), n))
	return c, true
}

// limit converts a uint32 setting; false, with the reason recorded, when
// it does not fit an int32.
func limit(name string, v C.uint32_t, dst *int) bool {
	*dst = int(v)
	if v > math.MaxInt32 {
		fail(C.DTLSGATE_E_INVALID_ARGUMENT, "%s: %d is more than %d", name, uint32(v), math.MaxInt32)
		return false
	}
	return true
}

// serverConfig turns the C config into the server's, or a status.
func serverConfig(c *C.dtlsgate_server_config) (server.Config, server.ServeConfig, C.int) {
	var cfg server.Config
	var serve server.ServeConfig
	if !limit("max_sessions", c.max_sessions, &cfg.MaxSessions) ||
		!limit("max_half_open", c.max_half_open, &cfg.MaxHalfOpen) ||
		!limit("max_half_open_per_ip", c.max_half_open_per_ip, &cfg.MaxHalfOpenPerIP) ||
		!limit("max_buffered_bytes", c.max_buffered_bytes, &cfg.MaxBufferedBytes) ||
		!limit("receive_buffer_bytes", c.receive_buffer_bytes, &serve.ReadBuffer) ||
		!limit("workers", c.workers, &serve.Workers) || !limit("mtu", c.mtu, &cfg.Session.MTU) ||
		!limit("max_retransmits", c.max_retransmits, &cfg.Session.MaxRetransmits) {
		return cfg, serve, C.DTLSGATE_E_INVALID_ARGUMENT
	}
	if c.handshake_deadline_ms > C.DTLSGATE_HANDSHAKE_DEADLINE_MAX {
		return cfg, serve, fail(C.DTLSGATE_E_INVALID_ARGUMENT, "handshake_deadline_ms: %d is more than %d (24 hours)",
			uint32(c.handshake_deadline_ms), C.DTLSGATE_HANDSHAKE_DEADLINE_MAX)
	}
	cfg.Session.HandshakeDeadline = time.Duration(c.handshake_deadline_ms) * time.Millisecond
	// The server package reads 0 as its default; C's 0 is "never".
	cfg.IdleTimeout = server.NoIdleTimeout
	if c.idle_timeout_ms != 0 {
		cfg.IdleTimeout = time.Duration(c.idle_timeout_ms) * time.Millisecond
	}
	hint, ok := inBytes((*C.capi_in_bytes)(c.identity_hint), c.identity_hint_len, "identity_hint")
	if !ok {
		return cfg, serve, C.DTLSGATE_E_INVALID_ARGUMENT
	}
	cfg.Session.IdentityHint = bytes.Clone(hint)
	if c.ciphers != nil {
		suites, err := session.ParseSuites(C.GoString(c.ciphers))
		if err != nil {
			return cfg, serve, fail(C.DTLSGATE_E_INVALID_ARGUMENT, "ciphers: %v", err)
		}
		cfg.Session.Suites = suites
	}
	secret, ok := inBytes((*C.capi_in_bytes)(c.cookie_secret), c.cookie_secret_len, "cookie_secret")
	switch {
	case !ok:
		return cfg, serve, C.DTLSGATE_E_INVALID_ARGUMENT
	case c.verifier != nil && len(secret) > 0:
		return cfg, serve, fail(C.DTLSGATE_E_INVALID_ARGUMENT, "verifier and cookie_secret: give one or the other")
	case c.verifier != nil:
		v, ok := lookupVerifier((*C.capi_const_verifier)(c.verifier))
		if !ok {
			return cfg, serve, fail(C.DTLSGATE_E_BAD_HANDLE, "verifier: not a live dtlsgate_verifier")
		}
		cfg.Verifier = v
	default:
		cfg.Verifier = verifier.New()
		if len(secret) > 0 && !cfg.Verifier.SetCookieGeneratorParameters(cookie.Parameters{Hash: cookie.Algorithm(c.cookie_hash), Secret: secret}) {
			return cfg, serve, fail(C.DTLSGATE_E_INVALID_ARGUMENT, "cookie_hash: %s", cfg.Verifier.DtlsErrorString())
		}
	}
	if status := cidConfig(c, &cfg); status != C.DTLSGATE_OK {
		return cfg, serve, status
	}
	cfg.Keys = server.NewKeyTable()
	return cfg, serve, C.DTLSGATE_OK
}

//export dtlsgo_server_new
func dtlsgo_server_new(p *C.capi_in_server_config, out **C.dtlsgate_server) (ret C.int) {
	defer guard(&ret)
	if out == nil {
		return C.DTLSGATE_E_INVALID_ARGUMENT
	}
	*out = nil
	c, ok := readConfig(p)
	if !ok {
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "size: 0, under %d, not a multiple of %d, or a newer struct with settings this library does not know", unsafe.Sizeof(c.size), unsafe.Alignof(c.size))
	}
	cfg, serve, status := serverConfig(&c)
	if status != C.DTLSGATE_OK {
		return status
	}
	x := &cServer{callback: c.psk_callback, userData: uintptr(c.psk_user_data), pskRequests: c.psk_requests != 0,
		wake: make(chan struct{}, 1), freed: make(chan struct{})}
	cfg.PSK = x.askPSK
	srv, err := server.New(cfg)
	if err != nil {
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "%v", err) // a value the session refuses: the MTU
	}
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return C.DTLSGATE_E_IO
	}
	x.cfg, x.srv, x.evfd = cfg, srv, fd
	serve.Server = cfg
	serve.Server.PSK = x.askPSKManaged
	x.serve = serve
	*out = C.capi_server_handle(C.uintptr_t(servers.add(x)))
	return C.DTLSGATE_OK
}

//export dtlsgo_server_free
func dtlsgo_server_free(h *C.dtlsgate_server) {
	defer func() {
		if r := recover(); r != nil {
			reportPanic(r)
		}
	}()
	x, ok := lookupServer(h)
	if !ok || x.inCallback.current() {
		return // from inside the callback this thread holds x.mu: documented no-op
	}
	if _, ok := servers.remove(uintptr(unsafe.Pointer(h))); !ok {
		return // another thread frees it
	}
	// Gone before stop looks for workers: a call that found the handle
	// earlier and waits for the lock (a listen) must not start any after.
	x.mu.Lock()
	x.gone = true
	x.mu.Unlock()
	x.stop()
	close(x.freed) // a waiting poll returns
	x.pollMu.Lock()
	defer x.pollMu.Unlock()
	x.mu.Lock()
	defer x.mu.Unlock()
	x.cfg.Keys.Replace(nil) // wipes the keys
	x.srv, x.out, x.events = nil, nil, nil
	unix.Close(x.evfd)
	C.free(x.arena)
	x.arena, x.arenaCap = nil, 0
}

// askPSK is the socket-less server's PSKFunc: it runs inside Input, with
// x.mu held.
func (x *cServer) askPSK(peer netip.AddrPort, identity []byte) ([]byte, bool) {
	if x.callback != nil {
		return x.callBack(peer, identity)
	}
	if !x.pskRequests {
		return nil, false
	}
	x.push(server.Event{Kind: pskRequest, Peer: peer, Identity: bytes.Clone(identity)})
	return nil, true
}

// askPSKManaged is the PSKFunc of a listening server's workers: no
// application code may run on their threads, so the question becomes an
// event.
func (x *cServer) askPSKManaged(peer netip.AddrPort, identity []byte) ([]byte, bool) {
	if !x.pskRequests {
		return nil, false
	}
	x.push(server.Event{Kind: pskRequest, Peer: peer, Identity: bytes.Clone(identity)})
	return nil, true
}

// callBack asks the application's PSK callback, in C memory, wiped after.
func (x *cServer) callBack(peer netip.AddrPort, identity []byte) ([]byte, bool) {
	call := (*C.capi_psk_call)(C.calloc(1, C.sizeof_capi_psk_call))
	if call == nil {
		return nil, false
	}
	defer func() {
		clear(unsafe.Slice((*byte)(unsafe.Pointer(call)), C.sizeof_capi_psk_call))
		C.free(unsafe.Pointer(call))
	}()
	var id unsafe.Pointer
	if len(identity) > 0 {
		id = C.CBytes(identity)
		defer C.free(id)
	}
	peerLen := putSockaddr(peer, &call.peer)
	call.key_len = C.DTLSGATE_PSK_MAX_KEY
	x.inCallback.enter()
	answer := C.capi_call_server_psk(x.callback, C.uintptr_t(x.userData), call, peerLen,
		(*C.uint8_t)(id), C.size_t(len(identity)))
	x.inCallback.leave()
	switch {
	case answer == C.DTLSGATE_PSK_PENDING:
		return nil, true
	case answer != C.DTLSGATE_PSK_FOUND || call.key_len == 0 || call.key_len > C.DTLSGATE_PSK_MAX_KEY:
		return nil, false
	}
	// The C copy is wiped when this returns, before the server takes its
	// own copy; this one is wiped once Input returns (dtlsgo_server_input).
	if x.keyCopy == nil {
		x.keyCopy = make([]byte, C.DTLSGATE_PSK_MAX_KEY)
	}
	n := secret.Copy(x.keyCopy, unsafe.Slice((*byte)(unsafe.Pointer(&call.key[0])), int(call.key_len)))
	return x.keyCopy[:n], false
}

// push queues an event for poll.
func (x *cServer) push(e server.Event) {
	x.qmu.Lock()
	defer x.qmu.Unlock()
	if e.Kind == server.Data && len(x.events) >= maxQueued {
		x.dropped++
		return
	}
	x.events = append(x.events, e)
	if len(x.events) == 1 {
		var one [8]byte
		binary.NativeEndian.PutUint64(one[:], 1)
		unix.Write(x.evfd, one[:])
	}
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

// collect queues the socket-less server's new events, with x.mu held.
func (x *cServer) collect() {
	var evs [16]server.Event
	for _, e := range x.srv.Events(evs[:0]) {
		x.push(e)
	}
}

// take removes up to n events from the queue; the eventfd is emptied
// with it, so it is readable exactly while events wait.
func (x *cServer) take(n int) []server.Event {
	x.qmu.Lock()
	defer x.qmu.Unlock()
	n = min(n, len(x.events))
	evs := append([]server.Event(nil), x.events[:n]...)
	clear(x.events[:n])
	x.events = x.events[n:]
	if n > 0 && len(x.events) == 0 {
		x.events = nil
		var buf [8]byte
		unix.Read(x.evfd, buf[:])
	}
	return evs
}

// stop ends a managed server's workers and waits for them and for the
// last of their events; nothing in socket-less mode.
func (x *cServer) stop() {
	x.mu.Lock()
	ep := x.ep
	if ep != nil && !x.stopped {
		x.stopped = true
		x.cancel()
	}
	x.mu.Unlock()
	if ep != nil {
		<-x.pumpDone
	}
}

// pump moves a managed server's events into the queue until it stops.
func (x *cServer) pump(events <-chan server.Event) {
	defer close(x.pumpDone)
	for e := range events {
		x.push(e)
	}
}

//export dtlsgo_server_set_psk
func dtlsgo_server_set_psk(h *C.dtlsgate_server, identity *C.capi_in_bytes, identityLen C.size_t, key *C.capi_in_bytes, keyLen C.size_t) (ret C.int) {
	defer guard(&ret)
	id, okID := inBytes(identity, identityLen, "identity")
	k, okKey := inBytes(key, keyLen, "key")
	return withServer(h, func(x *cServer) C.int {
		if !okID || !okKey {
			return C.DTLSGATE_E_INVALID_ARGUMENT
		}
		if err := x.cfg.Keys.Set(id, k); err != nil {
			return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "%s", strings.TrimPrefix(err.Error(), "server: "))
		}
		return C.DTLSGATE_OK
	})
}

//export dtlsgo_server_remove_psk
func dtlsgo_server_remove_psk(h *C.dtlsgate_server, identity *C.capi_in_bytes, identityLen C.size_t) (ret C.int) {
	defer guard(&ret)
	id, ok := inBytes(identity, identityLen, "identity")
	return withServer(h, func(x *cServer) C.int {
		if !ok {
			return C.DTLSGATE_E_INVALID_ARGUMENT
		}
		return boolInt(x.cfg.Keys.Remove(id))
	})
}

//export dtlsgo_server_load_psk_file
func dtlsgo_server_load_psk_file(h *C.dtlsgate_server, path *C.capi_in_char) (ret C.int) {
	defer guard(&ret)
	return withServer(h, func(x *cServer) C.int {
		if path == nil {
			return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "path: NULL")
		}
		name := C.GoString(path)
		// An unreadable file is the system's refusal, a bad line the
		// caller's; LoadFile's error names the file and the line.
		f, err := os.Open(name)
		if err != nil {
			return fail(C.DTLSGATE_E_IO, "%v", err)
		}
		f.Close()
		if err := x.cfg.Keys.LoadFile(name); err != nil {
			return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "%s", strings.TrimPrefix(err.Error(), "server: "))
		}
		return C.DTLSGATE_OK
	})
}

// resolve answers a pending key request; an empty key refuses.
func resolve(h *C.dtlsgate_server, sa *C.capi_in_sockaddr, saLen C.socklen_t, identity *C.capi_in_bytes, identityLen C.size_t, key []byte) C.int {
	peer := parseSockaddr(sa, saLen)
	id, ok := inBytes(identity, identityLen, "identity")
	return withServer(h, func(x *cServer) C.int {
		switch {
		case !ok:
			return C.DTLSGATE_E_INVALID_ARGUMENT
		case !peer.IsValid():
			return badPeer()
		case len(key) > C.DTLSGATE_PSK_MAX_KEY:
			return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "key: %d bytes, more than %d", len(key), C.DTLSGATE_PSK_MAX_KEY)
		}
		if x.ep != nil {
			x.ep.ResolvePSK(peer, id, key)
			return C.DTLSGATE_OK
		}
		var err error
		x.out, err = x.srv.ResolvePSK(peer, id, key, x.out)
		x.collect()
		if err != nil {
			return C.DTLSGATE_E_NOT_FOUND
		}
		return C.DTLSGATE_OK
	})
}

//export dtlsgo_server_resolve_psk
func dtlsgo_server_resolve_psk(h *C.dtlsgate_server, sa *C.capi_in_sockaddr, saLen C.socklen_t, identity *C.capi_in_bytes, identityLen C.size_t, key *C.capi_in_bytes, keyLen C.size_t) (ret C.int) {
	defer guard(&ret)
	k, ok := inBytes(key, keyLen, "key")
	if !ok {
		return C.DTLSGATE_E_INVALID_ARGUMENT
	}
	return resolve(h, sa, saLen, identity, identityLen, k)
}

//export dtlsgo_server_refuse_psk
func dtlsgo_server_refuse_psk(h *C.dtlsgate_server, sa *C.capi_in_sockaddr, saLen C.socklen_t, identity *C.capi_in_bytes, identityLen C.size_t) (ret C.int) {
	defer guard(&ret)
	return resolve(h, sa, saLen, identity, identityLen, nil)
}

//export dtlsgo_server_input
func dtlsgo_server_input(h *C.dtlsgate_server, sa *C.capi_in_sockaddr, saLen C.socklen_t, dgram *C.capi_in_bytes, n C.size_t) (ret C.int) {
	defer guard(&ret)
	peer := parseSockaddr(sa, saLen)
	b, ok := inBytes(dgram, n, "datagram")
	return socketless(h, func(x *cServer) C.int {
		switch {
		case !ok:
			return C.DTLSGATE_E_INVALID_ARGUMENT
		case !peer.IsValid():
			return badPeer()
		}
		defer func() { clear(x.keyCopy) }() // a key from the PSK callback, if it ran
		x.out = x.srv.Input(time.Now(), peer, b, x.out)
		x.collect()
		return C.DTLSGATE_OK
	})
}

//export dtlsgo_server_next_outgoing
func dtlsgo_server_next_outgoing(h *C.dtlsgate_server, buf *C.uint8_t, n *C.size_t, to *C.struct_sockaddr_storage, toLen *C.socklen_t) (ret C.int) {
	defer guard(&ret)
	return socketless(h, func(x *cServer) C.int {
		switch {
		case n == nil || to == nil || toLen == nil:
			return C.DTLSGATE_E_INVALID_ARGUMENT
		case len(x.out) == 0:
			*n = 0
			return 0
		}
		if status := putBytes(x.out[0].Data, buf, n); status != C.DTLSGATE_OK {
			return status
		}
		*toLen = putSockaddr(x.out[0].To, to)
		x.out[0] = server.Datagram{}
		x.out = x.out[1:]
		if len(x.out) == 0 {
			x.out = nil
		}
		return 1
	})
}

//export dtlsgo_server_next_timeout
func dtlsgo_server_next_timeout(h *C.dtlsgate_server, ms *C.uint32_t) (ret C.int) {
	defer guard(&ret)
	return socketless(h, func(x *cServer) C.int {
		if ms == nil {
			return C.DTLSGATE_E_INVALID_ARGUMENT
		}
		*ms = 0
		at, ok := x.srv.NextDeadline()
		if !ok {
			return 0
		}
		if d := time.Until(at); d > 0 {
			*ms = C.uint32_t(min((d+time.Millisecond-1)/time.Millisecond, math.MaxUint32))
		}
		return 1
	})
}

//export dtlsgo_server_handle_timers
func dtlsgo_server_handle_timers(h *C.dtlsgate_server) (ret C.int) {
	defer guard(&ret)
	return socketless(h, func(x *cServer) C.int {
		x.out = x.srv.HandleTimers(time.Now(), x.out)
		x.collect()
		return C.DTLSGATE_OK
	})
}

//export dtlsgo_server_listen
func dtlsgo_server_listen(h *C.dtlsgate_server, address *C.capi_in_char) (ret C.int) {
	defer guard(&ret)
	return withServer(h, func(x *cServer) C.int {
		if address == nil {
			return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "address: NULL")
		}
		return x.listen(C.GoString(address))
	})
}

// listen starts a managed server on addr, with x.mu held.
func (x *cServer) listen(addr string) C.int {
	if x.callback != nil {
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "psk_callback: a listening server has no thread of the application to call it on; use psk_requests")
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "address: %v", err)
	}
	if x.ep != nil || x.srv.Stats().Sessions > 0 || len(x.out) > 0 {
		return C.DTLSGATE_E_INVALID_STATE
	}
	ctx, cancel := context.WithCancel(context.Background())
	ep, err := server.Listen(ctx, addr, x.serve)
	if err != nil {
		cancel()
		return fail(C.DTLSGATE_E_IO, "%s", strings.TrimPrefix(err.Error(), "server: "))
	}
	x.ep, x.cancel, x.pumpDone = ep, cancel, make(chan struct{})
	go x.pump(ep.Events())
	return C.DTLSGATE_OK
}

//export dtlsgo_server_local_address
func dtlsgo_server_local_address(h *C.dtlsgate_server, addr *C.struct_sockaddr_storage, n *C.socklen_t) (ret C.int) {
	defer guard(&ret)
	return withServer(h, func(x *cServer) C.int {
		switch {
		case addr == nil || n == nil:
			return C.DTLSGATE_E_INVALID_ARGUMENT
		case x.ep == nil:
			return C.DTLSGATE_E_INVALID_STATE
		}
		*n = putSockaddr(x.ep.Addr(), addr)
		return C.DTLSGATE_OK
	})
}

//export dtlsgo_server_stop
func dtlsgo_server_stop(h *C.dtlsgate_server) (ret C.int) {
	defer guard(&ret)
	x, ok := lookupServer(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	// Checked and started under the lock, waited for without it: the
	// workers' last events need the lock to be queued.
	if status := withServer(h, func(x *cServer) C.int {
		if x.ep == nil {
			return C.DTLSGATE_E_INVALID_STATE
		}
		return C.DTLSGATE_OK
	}); status != C.DTLSGATE_OK {
		return status
	}
	x.stop()
	return C.DTLSGATE_OK
}

// badPeer refuses a peer parseSockaddr could not read.
func badPeer() C.int {
	return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "peer: NULL, not AF_INET or AF_INET6, or shorter than its family's struct")
}

// sendable checks a peer and data for send, recording why not.
func sendable(peer netip.AddrPort, data []byte) bool {
	switch {
	case !peer.IsValid():
		badPeer()
	case len(data) == 0 || len(data) > maxRecord:
		fail(C.DTLSGATE_E_INVALID_ARGUMENT, "data: %d bytes; a record carries 1 to %d", len(data), maxRecord)
	default:
		return true
	}
	return false
}

// peerStatus maps the error of a call naming a peer.
func peerStatus(err error) C.int {
	switch {
	case err == nil:
		return C.DTLSGATE_OK
	case errors.Is(err, server.ErrNoSession), errors.Is(err, server.ErrStopped):
		// A stopping endpoint is ending every session: none to send to.
		return C.DTLSGATE_E_NOT_FOUND
	}
	return C.DTLSGATE_E_INVALID_ARGUMENT
}

//export dtlsgo_server_send
func dtlsgo_server_send(h *C.dtlsgate_server, sa *C.capi_in_sockaddr, saLen C.socklen_t, data *C.capi_in_bytes, n C.size_t) (ret C.int) {
	defer guard(&ret)
	peer := parseSockaddr(sa, saLen)
	b, ok := inBytes(data, n, "data")
	return withServer(h, func(x *cServer) C.int {
		if !ok || !sendable(peer, b) {
			return C.DTLSGATE_E_INVALID_ARGUMENT
		}
		if x.ep != nil {
			return peerStatus(x.ep.Send(peer, b)) // it copies b
		}
		var err error
		x.out, err = x.srv.Send(peer, b, x.out)
		x.collect()
		return peerStatus(err)
	})
}

//export dtlsgo_server_close
func dtlsgo_server_close(h *C.dtlsgate_server, sa *C.capi_in_sockaddr, saLen C.socklen_t) (ret C.int) {
	defer guard(&ret)
	peer := parseSockaddr(sa, saLen)
	return withServer(h, func(x *cServer) C.int {
		if !peer.IsValid() {
			return badPeer()
		}
		if x.ep != nil {
			return peerStatus(x.ep.Close(peer))
		}
		var err error
		x.out, err = x.srv.Close(peer, x.out)
		x.collect()
		return peerStatus(err)
	})
}

//export dtlsgo_server_shutdown
func dtlsgo_server_shutdown(h *C.dtlsgate_server) (ret C.int) {
	defer guard(&ret)
	x, ok := lookupServer(h)
	if !ok {
		return C.DTLSGATE_E_BAD_HANDLE
	}
	managed := false
	if status := withServer(h, func(x *cServer) C.int {
		if managed = x.ep != nil; !managed {
			x.out = x.srv.Shutdown(x.out)
			x.collect()
		}
		return C.DTLSGATE_OK
	}); status != C.DTLSGATE_OK || !managed {
		return status
	}
	x.stop()
	return C.DTLSGATE_OK
}

//export dtlsgo_server_fd
func dtlsgo_server_fd(h *C.capi_const_server) (ret C.int) {
	defer guard(&ret)
	return withServer(h, func(x *cServer) C.int { return C.int(x.evfd) })
}

//export dtlsgo_server_poll
func dtlsgo_server_poll(h *C.dtlsgate_server, events *C.dtlsgate_server_event, max C.int, timeoutMs C.int) (ret C.int) {
	defer guard(&ret)
	x, ok := lookupServer(h)
	switch {
	case !ok:
		return C.DTLSGATE_E_BAD_HANDLE
	case max < 0 || timeoutMs < -1 || (events == nil && max > 0):
		return C.DTLSGATE_E_INVALID_ARGUMENT
	case x.inCallback.current():
		return C.DTLSGATE_E_BUSY
	}
	x.pollMu.Lock()
	defer x.pollMu.Unlock()
	var timeout <-chan time.Time
	if timeoutMs > 0 {
		t := time.NewTimer(time.Duration(timeoutMs) * time.Millisecond)
		defer t.Stop()
		timeout = t.C
	}
	for {
		// Free waits for pollMu before it closes the queue's eventfd.
		select {
		case <-x.freed:
			return C.DTLSGATE_E_BAD_HANDLE
		default:
		}
		taken := x.take(int(max))
		if len(taken) > 0 || max == 0 || timeoutMs == 0 {
			return x.fill(events, taken)
		}
		select {
		case <-x.wake:
		case <-timeout:
			return 0
		case <-x.freed:
			return C.DTLSGATE_E_BAD_HANDLE
		}
	}
}

// cipherNames holds each suite's name in C memory, made once, never freed.
var cipherNames sync.Map // string -> *C.char

func cipherName(name string) *C.char {
	if p, ok := cipherNames.Load(name); ok {
		return p.(*C.char)
	}
	p, _ := cipherNames.LoadOrStore(name, C.CString(name))
	return p.(*C.char)
}

// eventTypes maps the server's kinds to the header's.
var eventTypes = map[server.EventKind]C.int{
	server.Connected: C.DTLSGATE_SERVER_EVENT_CONNECTED,
	server.Data:      C.DTLSGATE_SERVER_EVENT_DATA,
	server.Closed:    C.DTLSGATE_SERVER_EVENT_CLOSED,
	pskRequest:       C.DTLSGATE_SERVER_EVENT_PSK_REQUEST,
	server.Moved:     C.DTLSGATE_SERVER_EVENT_MOVED,
}

// fill writes evs to the caller's array. Their bytes go to the arena, C
// memory that stays until the next poll, since C may not keep Go memory.
func (x *cServer) fill(dst *C.dtlsgate_server_event, evs []server.Event) C.int {
	if len(evs) == 0 {
		return 0
	}
	need := 0
	for _, e := range evs {
		need += len(e.Identity) + len(e.Data) + len(e.Err) + 1 + len(e.ConnectionID)
	}
	if need > x.arenaCap {
		// Zeroed, not merely allocated: Go's comparisons of short byte
		// strings read whole words, past the bytes placed here, and memory
		// checkers would call those bytes uninitialised.
		C.free(x.arena)
		x.arena, x.arenaCap = C.calloc(1, C.size_t(need)), need
		if x.arena == nil {
			x.arenaCap = 0
			return C.DTLSGATE_E_INTERNAL
		}
	}
	arena := unsafe.Slice((*byte)(x.arena), need)
	off := 0
	place := func(b []byte) (*C.uint8_t, C.size_t) {
		if len(b) == 0 {
			return nil, 0
		}
		p := (*C.uint8_t)(unsafe.Pointer(&arena[off]))
		off += copy(arena[off:], b)
		return p, C.size_t(len(b))
	}
	out := unsafe.Slice(dst, len(evs))
	for i, e := range evs {
		ev := &out[i]
		*ev = C.dtlsgate_server_event{_type: eventTypes[e.Kind]}
		ev.peer_len = putSockaddr(e.Peer, &ev.peer)
		ev.identity, ev.identity_len = place(e.Identity)
		ev.data, ev.data_len = place(e.Data)
		switch e.Kind {
		case server.Connected:
			ev.cipher = cipherName(e.Cipher.Name)
			ev.connection_id, ev.connection_id_len = place(e.ConnectionID)
		case server.Moved:
			ev.old_peer_len = putSockaddr(e.OldPeer, &ev.old_peer)
		case server.Closed:
			ev.reason = C.int(e.Reason)
			ev.message = (*C.char)(unsafe.Pointer(&arena[off]))
			off += copy(arena[off:], e.Err)
			arena[off] = 0
			off++
		}
	}
	return C.int(len(evs))
}

//export dtlsgo_server_get_stats
func dtlsgo_server_get_stats(h *C.capi_const_server, st *C.dtlsgate_server_stats) (ret C.int) {
	defer guard(&ret)
	return withServer(h, func(x *cServer) C.int {
		if st == nil {
			return C.DTLSGATE_E_INVALID_ARGUMENT
		}
		var s server.Stats
		if x.ep != nil {
			s = x.ep.Stats()
		} else {
			s = x.srv.Stats()
		}
		x.qmu.Lock()
		s.DroppedBuffered += x.dropped
		x.qmu.Unlock()
		c := C.dtlsgate_server_stats{
			datagrams: C.uint64_t(s.Datagrams), hello_verifies: C.uint64_t(s.HelloVerifies),
			dropped_stranger: C.uint64_t(s.DroppedStranger), dropped_bad_peer: C.uint64_t(s.DroppedBadPeer),
			dropped_too_large: C.uint64_t(s.DroppedTooLarge), handshakes_started: C.uint64_t(s.HandshakesStarted),
			handshakes_completed: C.uint64_t(s.HandshakesCompleted), handshakes_failed: C.uint64_t(s.HandshakesFailed),
			handshake_timeouts: C.uint64_t(s.HandshakeTimeouts), restarts: C.uint64_t(s.Restarts),
			duplicate_hellos: C.uint64_t(s.DuplicateHellos), evicted_half_open: C.uint64_t(s.EvictedHalfOpen),
			evicted_half_open_per_ip: C.uint64_t(s.EvictedHalfOpenPerIP), evicted_idle: C.uint64_t(s.EvictedIdle),
			evicted_for_session: C.uint64_t(s.EvictedForSession), refused_full: C.uint64_t(s.RefusedFull),
			idle_timeouts: C.uint64_t(s.IdleTimeouts), dropped_buffered: C.uint64_t(s.DroppedBuffered),
			sessions: C.uint64_t(s.Sessions), half_open: C.uint64_t(s.HalfOpen),
			dropped_unknown_cid: C.uint64_t(s.DroppedUnknownCID), moves: C.uint64_t(s.Moves),
			refused_moves: C.uint64_t(s.RefusedMoves), routed_cid: C.uint64_t(s.RoutedCID),
		}
		n, ok := versioned(unsafe.Pointer(st), st.size, unsafe.Sizeof(c))
		if !ok {
			return C.DTLSGATE_E_INVALID_ARGUMENT
		}
		// The caller's size field stays as it is.
		skip := unsafe.Sizeof(c.size)
		copy(unsafe.Slice((*byte)(unsafe.Pointer(st)), n)[skip:], unsafe.Slice((*byte)(unsafe.Pointer(&c)), n)[skip:])
		return C.DTLSGATE_OK
	})
}

// putSockaddr writes peer as recvfrom(2) would, AF_INET for IPv4, and
// returns its length.
func putSockaddr(peer netip.AddrPort, ss *C.struct_sockaddr_storage) C.socklen_t {
	*ss = C.struct_sockaddr_storage{}
	addr := peer.Addr().Unmap()
	port := [2]byte{byte(peer.Port() >> 8), byte(peer.Port())}
	if addr.Is4() {
		sin := (*C.struct_sockaddr_in)(unsafe.Pointer(ss))
		sin.sin_family = C.AF_INET
		*(*[2]byte)(unsafe.Pointer(&sin.sin_port)) = port
		*(*[4]byte)(unsafe.Pointer(&sin.sin_addr)) = addr.As4()
		return sockaddrIn4Size
	}
	sin6 := (*C.struct_sockaddr_in6)(unsafe.Pointer(ss))
	sin6.sin6_family = C.AF_INET6
	*(*[2]byte)(unsafe.Pointer(&sin6.sin6_port)) = port
	*(*[16]byte)(unsafe.Pointer(&sin6.sin6_addr)) = addr.As16()
	if zone := addr.Zone(); zone != "" {
		sin6.sin6_scope_id = zoneIndex(zone)
	}
	return sockaddrIn6Size
}
