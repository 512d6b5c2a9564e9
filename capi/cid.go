// SPDX-License-Identifier: MIT

package main

// #include "capi.h"
import "C"

import (
	"net/netip"
	"unsafe"

	"github.com/dtlsgate/dtlsgate/core/dtlserror"
	"github.com/dtlsgate/dtlsgate/core/server"
	"github.com/dtlsgate/dtlsgate/core/session"
)

// Connection IDs (RFC 9146): the session's settings and getters, and the
// server's config fields, event and counters for them.

// The header's settings are the engine's, passed through unchanged: should
// they ever differ, an index other than 0 stops the build.
var _ = [1]int{}[session.NoConnectionID-C.DTLSGATE_NO_CONNECTION_ID] +
	[1]int{}[session.EmptyConnectionID-C.DTLSGATE_EMPTY_CONNECTION_ID] +
	[1]int{}[session.DefaultConnectionIDLength-C.DTLSGATE_CONNECTION_ID_DEFAULT_LENGTH] +
	[1]int{}[session.MaxConnectionIDLength-C.DTLSGATE_CONNECTION_ID_MAX] +
	[1]int{}[session.MaxPeerConnectionIDLength-C.DTLSGATE_SERVER_PEER_CONNECTION_ID_MAX]

//export dtlsgo_session_set_connection_id_length
func dtlsgo_session_set_connection_id_length(h *C.dtlsgate_session, length C.int) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int {
		return x.configure(func(cfg *session.Config) {
			cfg.ConnectionIDLength, cfg.ConnectionID = int(length), nil
		})
	})
}

//export dtlsgo_session_connection_id_length
func dtlsgo_session_connection_id_length(h *C.capi_const_session, length *C.int) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int {
		if length == nil {
			return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "length: NULL; pass where to store the setting")
		}
		*length = C.int(x.s.ConnectionIDSetting())
		return C.DTLSGATE_OK
	})
}

//export dtlsgo_session_set_connection_id
func dtlsgo_session_set_connection_id(h *C.dtlsgate_session, cid *C.capi_in_bytes, n C.size_t) (ret C.int) {
	defer guard(&ret)
	b, ok := inBytes(cid, n, "connection ID")
	return withSession(h, func(x *dtlsSession) C.int {
		if !ok {
			return C.DTLSGATE_E_INVALID_ARGUMENT
		}
		// Non-nil even when empty: that is the engine's "empty ID". The
		// engine copies it, so b does not outlive the call.
		id := b
		if id == nil {
			id = []byte{}
		}
		return x.configure(func(cfg *session.Config) { cfg.ConnectionID = id })
	})
}

//export dtlsgo_session_connection_id
func dtlsgo_session_connection_id(h *C.capi_const_session, buf *C.uint8_t, n *C.size_t) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int {
		cid, on := x.s.ConnectionID()
		return putCID(cid, on, buf, n)
	})
}

//export dtlsgo_session_peer_connection_id
func dtlsgo_session_peer_connection_id(h *C.capi_const_session, buf *C.uint8_t, n *C.size_t) (ret C.int) {
	defer guard(&ret)
	return withSession(h, func(x *dtlsSession) C.int {
		cid, on := x.s.PeerConnectionID()
		return putCID(cid, on, buf, n)
	})
}

// putCID writes an ID by the conventions and says whether IDs were
// negotiated: 1, 0 (nothing written), or the status putBytes gives.
func putCID(cid []byte, on bool, buf *C.uint8_t, n *C.size_t) C.int {
	if !on {
		cid = nil
	}
	if status := putBytes(cid, buf, n); status != C.DTLSGATE_OK {
		return status
	}
	return boolInt(on)
}

//export dtlsgo_session_move_peer
func dtlsgo_session_move_peer(h *C.dtlsgate_session, sa *C.capi_in_sockaddr, n C.socklen_t) (ret C.int) {
	defer guard(&ret)
	to := parseSockaddr(sa, n)
	return withSession(h, func(x *dtlsSession) C.int {
		// The application asks after every datagram from an address it did
		// not expect, or after every one: where nothing would change there
		// is nothing to refuse.
		if to.IsValid() && sameAddress(to, x.s.Peer()) {
			x.s.SetDriverError(dtlserror.NoError, "")
			return 2
		}
		return boolInt(x.s.MovePeer(to))
	})
}

// sameAddress compares two peers as the network sees them: an IPv4-mapped
// IPv6 address is its IPv4 address.
func sameAddress(a, b netip.AddrPort) bool {
	return a.Port() == b.Port() && a.Addr().Unmap() == b.Addr().Unmap()
}

// cidConfig reads the config's connection ID fields into cfg. They came
// together with one version of the struct, and the first of them lies
// where the version before had padding: a size short of node_id gives
// both their defaults, whatever that padding holds.
func cidConfig(c *C.dtlsgate_server_config, cfg *server.Config) C.int {
	if uintptr(c.size) < unsafe.Offsetof(c.node_id)+unsafe.Sizeof(c.node_id) {
		return C.DTLSGATE_OK
	}
	switch l := c.connection_id_length; {
	case l == C.DTLSGATE_NO_CONNECTION_ID:
		cfg.ConnectionIDLength = session.NoConnectionID
	case l < 0 || l > C.DTLSGATE_CONNECTION_ID_MAX:
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "connection_id_length: %d is outside 0..%d (0: %d) or DTLSGATE_NO_CONNECTION_ID",
			int(l), C.DTLSGATE_CONNECTION_ID_MAX, C.DTLSGATE_CONNECTION_ID_DEFAULT_LENGTH)
	default:
		cfg.ConnectionIDLength = int(l)
	}
	switch id := c.node_id; {
	case id < 0 || id > 255:
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "node_id: %d is outside 0..255", int(id))
	case id != 0 && cfg.ConnectionIDLength == session.NoConnectionID:
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "node_id: %d needs connection IDs (connection_id_length is DTLSGATE_NO_CONNECTION_ID)", int(id))
	case id != 0 && cfg.ConnectionIDLength == 1:
		return fail(C.DTLSGATE_E_INVALID_ARGUMENT, "node_id: %d needs a connection_id_length of at least 2", int(id))
	}
	cfg.NodeID = int(c.node_id)
	return C.DTLSGATE_OK
}
