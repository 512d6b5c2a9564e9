// SPDX-License-Identifier: MIT

package dtlserror

import "testing"

func TestQtNumberingAndNames(t *testing.T) {
	want := []struct {
		code  Code
		value int
		name  string
	}{
		{NoError, 0, "NoError"},
		{InvalidInputParameters, 1, "InvalidInputParameters"},
		{InvalidOperation, 2, "InvalidOperation"},
		{UnderlyingSocketError, 3, "UnderlyingSocketError"},
		{RemoteClosedConnectionError, 4, "RemoteClosedConnectionError"},
		{PeerVerificationError, 5, "PeerVerificationError"},
		{TlsInitializationError, 6, "TlsInitializationError"},
		{TlsFatalError, 7, "TlsFatalError"},
		{TlsNonFatalError, 8, "TlsNonFatalError"},
	}
	seen := map[string]bool{}
	for _, w := range want {
		if int(w.code) != w.value || w.code.String() != w.name || !w.code.Valid() {
			t.Errorf("%v: value %d name %q valid %v; want %d %q", w.code, int(w.code), w.code.String(), w.code.Valid(), w.value, w.name)
		}
		d := w.code.Description()
		if d == "" || seen[d] {
			t.Errorf("%v: description %q empty or repeated", w.code, d)
		}
		seen[d] = true
	}
	for _, c := range []Code{-1, 9, 100} {
		if c.Valid() || c.Description() != "" {
			t.Errorf("%d should be invalid", int(c))
		}
	}
	if got := Code(9).String(); got != "Code(9)" {
		t.Errorf("Code(9).String() = %q", got)
	}
}
