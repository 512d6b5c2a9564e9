// SPDX-License-Identifier: MIT

package session

import (
	"time"

	"github.com/dtlsgate/dtlsgate/core/dtlserror"
	"github.com/dtlsgate/dtlsgate/core/secret"
)

// stepWaitPSK is a server handshake whose PSK callback called DeferPSK: the
// client's key exchange is in, the key is not.
const stepWaitPSK = stepWaitFinished + 1

// maxEarlyRecord is the largest epoch-1 record kept while it waits for the
// ChangeCipherSpec it overtook; a Finished record is far smaller.
const maxEarlyRecord = 2048

// DeferPSK, called from inside a server's PSK callback, leaves the key for
// later: the callback returns without one and the handshake waits, within
// its deadline, until ResolvePSK brings the key or refuses. This lets a
// server look keys up somewhere slow without blocking its loop. Anywhere
// else it reports false with InvalidOperation.
func (s *Session) DeferPSK() bool {
	if !s.inPSK || s.mode != Server || s.hs == nil || s.hs.step != stepWaitClientKeyExchange {
		return s.setError(dtlserror.InvalidOperation, "DeferPSK is only for a server's PSK callback")
	}
	s.hs.step = stepWaitPSK
	// The client's flight arrived, so ours did: nothing to send again while
	// the key is looked up. The deadline still runs.
	s.hs.retransmitAt = time.Time{}
	return true
}

// PSKPending reports whether the handshake waits for ResolvePSK.
func (s *Session) PSKPending() bool { return s.hs != nil && s.hs.step == stepWaitPSK }

// ResolvePSK answers a deferred PSK request: key is the client's key, or
// empty to refuse the client (which gets an unknown_psk_identity alert).
// The key is copied. It returns false when the handshake failed or no
// answer was awaited; DtlsError says why. Past the handshake deadline the
// handshake fails as HandleTimeout would.
func (s *Session) ResolvePSK(key []byte) bool {
	s.clearError()
	if s.inCallback() {
		return false
	}
	if !s.PSKPending() {
		return s.setError(dtlserror.InvalidOperation, "No PSK answer is awaited")
	}
	if !s.cfg.Now().Before(s.hs.giveUpAt) {
		return s.HandleTimeout()
	}
	own := secret.Clone(key[:min(len(key), MaxPreSharedKeyLength)])
	afterKeyCopy()
	peerPoint := s.hs.peerPoint
	s.hs.peerPoint = nil
	s.serverUseKey(own, peerPoint)
	return s.code == dtlserror.NoError
}
