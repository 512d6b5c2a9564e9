// SPDX-License-Identifier: MIT

// Package psk holds the credentials exchanged during a pre-shared-key
// handshake, in the shape of Qt's QSslPreSharedKeyAuthenticator.
//
// The handshake engine fills in the identity hint and the maximum lengths
// and hands the Authenticator to the application, which answers by setting
// the identity (client side) and the key. Setters keep what they are given
// in full; the engine sends at most the maximum lengths.
package psk

import (
	"bytes"
	"crypto/subtle"

	"github.com/dtlsgate/dtlsgate/core/secret"
)

// Authenticator is a value type: the zero value is an empty authenticator
// (all fields empty, both maxima 0). It is not safe for concurrent use.
type Authenticator struct {
	identityHint              []byte
	identity                  []byte
	preSharedKey              []byte
	maximumIdentityLength     int
	maximumPreSharedKeyLength int
}

// IdentityHint returns a copy of the hint the server sent, if any.
func (a *Authenticator) IdentityHint() []byte { return clone(a.identityHint) }

// Identity returns a copy of the identity.
func (a *Authenticator) Identity() []byte { return clone(a.identity) }

// PreSharedKey returns a copy of the key.
func (a *Authenticator) PreSharedKey() []byte { return secret.Clone(a.preSharedKey) }

// MaximumIdentityLength is the longest identity the engine will send.
func (a *Authenticator) MaximumIdentityLength() int { return a.maximumIdentityLength }

// MaximumPreSharedKeyLength is the longest key the engine will use.
func (a *Authenticator) MaximumPreSharedKeyLength() int { return a.maximumPreSharedKeyLength }

// SetIdentity stores a copy of identity.
func (a *Authenticator) SetIdentity(identity []byte) { a.identity = clone(identity) }

// SetPreSharedKey stores a copy of key, wiping the key it replaces.
func (a *Authenticator) SetPreSharedKey(key []byte) {
	wipe(a.preSharedKey)
	a.preSharedKey = secret.Clone(key)
}

// SetIdentityHint is for the handshake engine: the hint received from (or,
// on a server, sent to) the peer.
func (a *Authenticator) SetIdentityHint(hint []byte) { a.identityHint = clone(hint) }

// SetMaximumIdentityLength is for the handshake engine. Negative values are
// stored as 0.
func (a *Authenticator) SetMaximumIdentityLength(n int) { a.maximumIdentityLength = max(n, 0) }

// SetMaximumPreSharedKeyLength is for the handshake engine. Negative values
// are stored as 0.
func (a *Authenticator) SetMaximumPreSharedKeyLength(n int) {
	a.maximumPreSharedKeyLength = max(n, 0)
}

// Clone returns an independent copy of a.
func (a *Authenticator) Clone() *Authenticator {
	return &Authenticator{
		identityHint:              clone(a.identityHint),
		identity:                  clone(a.identity),
		preSharedKey:              secret.Clone(a.preSharedKey),
		maximumIdentityLength:     a.maximumIdentityLength,
		maximumPreSharedKeyLength: a.maximumPreSharedKeyLength,
	}
}

// TakeCredentials moves the identity and the key from src to a, wiping the
// key a had; src keeps neither, and its other fields stay. Nothing is
// copied, so no other copy of the key is left to wipe. Taking from a
// itself changes nothing.
func (a *Authenticator) TakeCredentials(src *Authenticator) {
	if a == src {
		return // the key a had is the one to keep
	}
	wipe(a.preSharedKey)
	a.identity, a.preSharedKey = src.identity, src.preSharedKey
	src.identity, src.preSharedKey = nil, nil
}

// Swap exchanges the contents of a and b.
func (a *Authenticator) Swap(b *Authenticator) { *a, *b = *b, *a }

// Equal reports whether all five fields of a and b are equal. The keys are
// compared in constant time.
func (a *Authenticator) Equal(b *Authenticator) bool {
	if a == b {
		return true
	}
	return subtle.ConstantTimeCompare(a.preSharedKey, b.preSharedKey) == 1 &&
		bytes.Equal(a.identityHint, b.identityHint) &&
		bytes.Equal(a.identity, b.identity) &&
		a.maximumIdentityLength == b.maximumIdentityLength &&
		a.maximumPreSharedKeyLength == b.maximumPreSharedKeyLength
}

// Wipe overwrites the key with zeros and empties every field. Owners call it
// when they release an Authenticator so the key does not linger in memory.
func (a *Authenticator) Wipe() {
	wipe(a.preSharedKey)
	*a = Authenticator{}
}

// clone copies b, keeping "empty" as nil so that empty fields compare and
// print alike whether they were never set or set to zero bytes.
func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return bytes.Clone(b)
}

func wipe(b []byte) { clear(b) }
