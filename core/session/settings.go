// SPDX-License-Identifier: MIT

package session

import (
	"fmt"
	"strings"

	"github.com/dtlsgate/dtlsgate/core/cookie"
	"github.com/dtlsgate/dtlsgate/core/dtlserror"
)

// The setters below are Qt-shaped conveniences over SetConfig for callers
// that change one setting at a time (the C ABI and the bindings): each
// reports failure through DtlsError, as Qt's QDtls setters do.

// SetCookieGeneratorParameters makes the server re-check cookies with a
// generator of its own for p, as Qt's QDtls::setCookieGeneratorParameters.
// The verifier in front must mint with the same parameters.
func (s *Session) SetCookieGeneratorParameters(p cookie.Parameters) bool {
	s.clearError()
	g, err := cookie.NewGenerator(p)
	if err != nil {
		return s.setError(dtlserror.InvalidInputParameters, err.Error())
	}
	cfg := s.cfg
	cfg.Cookies = g
	return s.SetConfig(cfg)
}

// CookieGeneratorParameters returns the parameters cookies are checked with.
func (s *Session) CookieGeneratorParameters() cookie.Parameters {
	return s.cookies().Parameters()
}

// cookies returns the generator cookies are checked with, making the
// default one first if the configuration has none yet.
func (s *Session) cookies() *cookie.Generator {
	if s.cfg.Cookies == nil {
		s.cfg.Cookies = cookie.NewDefaultGenerator()
	}
	return s.cfg.Cookies
}

// SetCiphers sets the suites from a colon-separated list of OpenSSL or
// IANA names, in order of preference, as Qt's QSslConfiguration::setCiphers
// does with a string. An empty list restores DefaultSuites.
func (s *Session) SetCiphers(list string) bool {
	s.clearError()
	ids, err := ParseSuites(list)
	if err != nil {
		return s.setError(dtlserror.InvalidInputParameters, err.Error())
	}
	cfg := s.cfg
	cfg.Suites = ids
	return s.SetConfig(cfg)
}

// Ciphers returns the suites in order of preference as a colon-separated
// list of OpenSSL names, the form SetCiphers takes.
func (s *Session) Ciphers() string {
	names := make([]string, len(s.cfg.Suites))
	for i, id := range s.cfg.Suites {
		suite, _ := LookupSuite(id)
		names[i] = suite.Name
	}
	return strings.Join(names, ":")
}

// ParseSuites reads a colon-separated list of suite names; empty gives nil,
// which Config reads as DefaultSuites.
func ParseSuites(list string) ([]uint16, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	var ids []uint16
	for name := range strings.SplitSeq(list, ":") {
		name = strings.TrimSpace(name)
		suite, ok := SuiteByName(name)
		if !ok {
			return nil, fmt.Errorf("Unknown or unsupported cipher suite %q", name)
		}
		ids = append(ids, suite.ID)
	}
	return ids, nil
}
