// SPDX-License-Identifier: MIT

package cookie

import (
	"bytes"
	"crypto/rand"
	"errors"
	"sync"
)

var (
	// ErrEmptySecret is returned for parameters without a secret. Its text is
	// Qt's, because the verifier reports it as QDtlsClientVerifier would.
	ErrEmptySecret = errors.New("Invalid (empty) secret")

	// ErrInvalidConfig is wrapped by the errors of the setters that take a
	// duration or a fleet configuration out of range.
	ErrInvalidConfig = errors.New("cookie: invalid configuration")

	// The reasons a cookie is refused.
	ErrMalformed  = errors.New("cookie: malformed cookie")
	ErrUnknownKey = errors.New("cookie: cookie made under an unknown secret")
	ErrExpired    = errors.New("cookie: cookie expired or not yet valid")
	ErrMismatch   = errors.New("cookie: cookie does not match the peer")
)

// Parameters are the hash and secret cookies are made with, as in Qt's
// QDtlsClientVerifier::GeneratorParameters.
type Parameters struct {
	Hash   Algorithm
	Secret []byte
}

// Validate returns [ErrEmptySecret] if the secret is empty, else the result
// of p.Hash.Supported().
func (p Parameters) Validate() error {
	if len(p.Secret) == 0 {
		return ErrEmptySecret
	}
	return p.Hash.Supported()
}

// DefaultParameters returns SHA-256 and the process-wide default secret: 32
// random bytes made on first use. Every generator made from these parameters
// accepts the others' cookies. The secret is a copy; changing it changes
// nothing else.
func DefaultParameters() Parameters {
	return Parameters{Hash: Sha256, Secret: bytes.Clone(defaultSecret())}
}

// defaultSecret is made once per process and never handed out directly, so
// no caller can change it for the others.
var defaultSecret = sync.OnceValue(randomSecret)

// secretLen is the length of every secret this package makes itself: the
// default secret, rotated secrets and fleet window secrets.
const secretLen = 32

func randomSecret() []byte {
	b := make([]byte, secretLen)
	rand.Read(b) // never fails: since Go 1.24 it crashes the program instead
	return b
}
