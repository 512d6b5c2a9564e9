// SPDX-License-Identifier: MIT

package session

import (
	"bytes"
	"testing"

	"github.com/dtlsgate/dtlsgate/core/cookie"
	"github.com/dtlsgate/dtlsgate/core/dtlserror"
)

func TestSetCiphers(t *testing.T) {
	s, err := New(Server, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !s.SetCiphers("PSK-AES128-CCM8: TLS_PSK_WITH_AES_128_GCM_SHA256") {
		t.Fatalf("SetCiphers: %v %s", s.DtlsError(), s.DtlsErrorString())
	}
	if got := s.Ciphers(); got != "PSK-AES128-CCM8:PSK-AES128-GCM-SHA256" {
		t.Fatalf("Ciphers() = %q", got)
	}
	if s.SetCiphers("PSK-AES128-GCM-SHA256:RC4-MD5") || s.DtlsError() != dtlserror.InvalidInputParameters {
		t.Fatalf("an unknown name was accepted: %v", s.DtlsError())
	}
	if got := s.Ciphers(); got != "PSK-AES128-CCM8:PSK-AES128-GCM-SHA256" {
		t.Fatalf("a refused list changed the suites: %q", got)
	}
	if !s.SetCiphers("") || len(s.Config().Suites) != len(DefaultSuites()) {
		t.Fatalf("an empty list did not restore the defaults: %q", s.Ciphers())
	}
}

func TestSetCookieGeneratorParameters(t *testing.T) {
	s, err := New(Server, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if s.CookieGeneratorParameters().Hash != cookie.DefaultParameters().Hash {
		t.Fatal("a new session does not use the default parameters")
	}
	p := cookie.Parameters{Hash: cookie.Sha384, Secret: []byte("fleet secret")}
	if !s.SetCookieGeneratorParameters(p) {
		t.Fatalf("SetCookieGeneratorParameters: %s", s.DtlsErrorString())
	}
	got := s.CookieGeneratorParameters()
	if got.Hash != p.Hash || !bytes.Equal(got.Secret, p.Secret) {
		t.Fatalf("parameters = %v", got)
	}
	if s.SetCookieGeneratorParameters(cookie.Parameters{Hash: cookie.Sha256}) ||
		s.DtlsErrorString() != "Invalid (empty) secret" {
		t.Fatalf("empty secret: %v %q", s.DtlsError(), s.DtlsErrorString())
	}
	if !bytes.Equal(s.CookieGeneratorParameters().Secret, p.Secret) {
		t.Fatal("refused parameters replaced the old ones")
	}
}
