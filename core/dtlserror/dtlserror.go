// SPDX-License-Identifier: MIT

// Package dtlserror defines the error codes that every dtlsgate object
// reports, numbered and named as Qt's QDtlsError so that code ported from
// Qt keeps its switch statements.
package dtlserror

import "strconv"

// Code is a QDtlsError value.
type Code int

const (
	NoError Code = iota
	InvalidInputParameters
	InvalidOperation
	UnderlyingSocketError
	RemoteClosedConnectionError
	PeerVerificationError
	TlsInitializationError
	TlsFatalError
	TlsNonFatalError
)

var names = [...]string{
	NoError:                     "NoError",
	InvalidInputParameters:      "InvalidInputParameters",
	InvalidOperation:            "InvalidOperation",
	UnderlyingSocketError:       "UnderlyingSocketError",
	RemoteClosedConnectionError: "RemoteClosedConnectionError",
	PeerVerificationError:       "PeerVerificationError",
	TlsInitializationError:      "TlsInitializationError",
	TlsFatalError:               "TlsFatalError",
	TlsNonFatalError:            "TlsNonFatalError",
}

var descriptions = [...]string{
	NoError:                     "no error",
	InvalidInputParameters:      "invalid input parameters",
	InvalidOperation:            "operation not valid in the current state",
	UnderlyingSocketError:       "the underlying socket failed",
	RemoteClosedConnectionError: "the peer closed the connection",
	PeerVerificationError:       "the peer could not be verified",
	TlsInitializationError:      "DTLS could not be initialized",
	TlsFatalError:               "fatal DTLS error",
	TlsNonFatalError:            "non-fatal DTLS error",
}

// Valid reports whether c is one of Qt's QDtlsError values.
func (c Code) Valid() bool { return c >= NoError && int(c) < len(names) }

// String returns Qt's enumerator name, e.g. "InvalidInputParameters".
func (c Code) String() string {
	if !c.Valid() {
		return "Code(" + strconv.Itoa(int(c)) + ")"
	}
	return names[c]
}

// Description returns a short lower-case English description of c.
func (c Code) Description() string {
	if !c.Valid() {
		return ""
	}
	return descriptions[c]
}
