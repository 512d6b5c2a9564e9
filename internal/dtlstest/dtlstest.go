// SPDX-License-Identifier: MIT

// Package dtlstest provides fixtures shared by dtlsgate's Go tests: the
// captured ClientHello corpus and a way to give a ClientHello a cookie.
// It parses by hand, independently of core/wire, so tests of core/wire's
// users do not lean on the code under test.
package dtlstest

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
)

// Datagram is one captured first-flight ClientHello.
type Datagram struct {
	Name string // file name, e.g. "openssl_dtls12.bin"
	Data []byte
}

// CorpusDir is the folder of captured datagrams, found from this source
// file so that it works from any package's test directory.
func CorpusDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "tests", "corpus")
}

// Corpus returns every captured datagram, sorted by name.
func Corpus(tb testing.TB) []Datagram {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(CorpusDir(), "*.bin"))
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(paths)
	var out []Datagram
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, Datagram{filepath.Base(p), b})
	}
	if len(out) < 6 {
		tb.Fatalf("corpus: %d datagrams in %s, want at least 6", len(out), CorpusDir())
	}
	return out
}

// Offsets of a single-record, unfragmented ClientHello datagram.
const (
	recordHeader    = 13
	handshakeHeader = 12
	sessionIDOffset = recordHeader + handshakeHeader + 2 + 32
)

// CookieOffset returns the position of the cookie's length byte.
func CookieOffset(tb testing.TB, hello []byte) int {
	tb.Helper()
	if len(hello) <= sessionIDOffset {
		tb.Fatalf("not a ClientHello datagram: %d bytes", len(hello))
	}
	off := sessionIDOffset + 1 + int(hello[sessionIDOffset])
	if off >= len(hello) {
		tb.Fatalf("session id runs past the datagram")
	}
	return off
}

// Cookie returns the cookie a ClientHello datagram carries.
func Cookie(tb testing.TB, hello []byte) []byte {
	off := CookieOffset(tb, hello)
	return hello[off+1 : off+1+int(hello[off])]
}

// WithCookie returns a copy of an unfragmented ClientHello datagram carrying
// cookie instead of its own, with the record, message and fragment lengths
// fixed up, as a client's second ClientHello would be.
func WithCookie(tb testing.TB, hello, cookie []byte) []byte {
	tb.Helper()
	off := CookieOffset(tb, hello)
	rest := hello[off+1+int(hello[off]):]
	out := make([]byte, 0, len(hello)+len(cookie))
	out = append(out, hello[:off]...)
	out = append(out, byte(len(cookie)))
	out = append(out, cookie...)
	out = append(out, rest...)
	binary.BigEndian.PutUint16(out[11:], uint16(len(out)-recordHeader))
	body := uint32(len(out) - recordHeader - handshakeHeader)
	putUint24(out[14:], body) // message length
	putUint24(out[22:], body) // fragment length
	return out
}

// HelloVerifyRequestCookie returns the cookie of a HelloVerifyRequest
// datagram, failing the test if the datagram is not one.
func HelloVerifyRequestCookie(tb testing.TB, hvr []byte) []byte {
	tb.Helper()
	if len(hvr) < 28 || hvr[0] != 22 || hvr[13] != 3 {
		tb.Fatalf("not a HelloVerifyRequest: % x", hvr)
	}
	n := int(hvr[27])
	if len(hvr) != 28+n {
		tb.Fatalf("HelloVerifyRequest of %d bytes has a %d-byte cookie", len(hvr), n)
	}
	return hvr[28:]
}

func putUint24(b []byte, v uint32) {
	b[0], b[1], b[2] = byte(v>>16), byte(v>>8), byte(v)
}
