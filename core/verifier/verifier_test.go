// SPDX-License-Identifier: MIT

package verifier

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dtlsgate/dtlsgate/core/cookie"
	"github.com/dtlsgate/dtlsgate/core/dtlserror"
	"github.com/dtlsgate/dtlsgate/core/wire"
	"github.com/dtlsgate/dtlsgate/internal/dtlstest"
)

// recorder is a DatagramWriter that keeps what it was asked to send.
type recorder struct {
	sent  [][]byte
	peers []netip.AddrPort
	err   error
}

func (r *recorder) WriteDatagram(b []byte, peer netip.AddrPort) error {
	if r.err != nil {
		return r.err
	}
	r.sent = append(r.sent, bytes.Clone(b))
	r.peers = append(r.peers, peer)
	return nil
}

var (
	client   = netip.MustParseAddr("127.0.0.1")
	client6  = netip.MustParseAddr("::1")
	port     = uint16(40000)
	clientAP = netip.AddrPortFrom(client, port)
)

func TestFreshVerifierMatchesQt(t *testing.T) {
	v := New()
	if v.DtlsError() != dtlserror.NoError || v.DtlsErrorString() != "" || v.VerifiedHello() != nil {
		t.Fatalf("fresh verifier: %v %q %x", v.DtlsError(), v.DtlsErrorString(), v.VerifiedHello())
	}
	p := v.CookieGeneratorParameters()
	if p.Hash != cookie.Sha256 || len(p.Secret) == 0 {
		t.Fatalf("default parameters: %v, %d-byte secret", p.Hash, len(p.Secret))
	}
}

// exchange runs the first flight through v and returns the reply.
func exchange(t *testing.T, v *ClientVerifier, hello []byte, addr netip.Addr) []byte {
	t.Helper()
	var w recorder
	if v.VerifyClient(&w, hello, addr, port) {
		t.Fatal("a hello without cookie was verified")
	}
	if v.DtlsError() != dtlserror.NoError || len(w.sent) != 1 {
		t.Fatalf("want one reply and NoError; got %d replies, %v %q", len(w.sent), v.DtlsError(), v.DtlsErrorString())
	}
	if w.peers[0] != netip.AddrPortFrom(addr, port) {
		t.Fatalf("reply went to %v", w.peers[0])
	}
	return w.sent[0]
}

func TestCookieExchangeOverCorpus(t *testing.T) {
	for _, d := range dtlstest.Corpus(t) {
		for _, addr := range []netip.Addr{client, client6} {
			t.Run(d.Name+"/"+addr.String(), func(t *testing.T) {
				v := New()
				hvr := exchange(t, v, d.Data, addr)
				checkHelloVerifyRequest(t, hvr, d.Data)

				second := dtlstest.WithCookie(t, d.Data, dtlstest.HelloVerifyRequestCookie(t, hvr))
				var w recorder
				if !v.VerifyClient(&w, second, addr, port) {
					t.Fatalf("second hello refused: %v %q", v.DtlsError(), v.DtlsErrorString())
				}
				if len(w.sent) != 0 || v.DtlsError() != dtlserror.NoError {
					t.Fatalf("verified hello: sent %d, error %v", len(w.sent), v.DtlsError())
				}
				if !bytes.Equal(v.VerifiedHello(), second) {
					t.Fatal("VerifiedHello is not the second datagram")
				}

				// The same cookie from another port is a new client.
				if v.VerifyClient(&w, second, addr, port+1) || len(w.sent) != 1 {
					t.Fatal("cookie accepted from another port")
				}
				if v.VerifiedHello() != nil {
					t.Fatal("VerifiedHello not emptied by a failed verification")
				}
			})
		}
	}
}

// checkHelloVerifyRequest checks the reply's layout against DESIGN.md,
// reading the bytes at fixed offsets rather than through core/wire.
func checkHelloVerifyRequest(t *testing.T, hvr, hello []byte) {
	t.Helper()
	cookieLen := int(hvr[27])
	want := []struct {
		what      string
		got, want uint64
	}{
		{"content type", uint64(hvr[0]), 22},
		{"record version", uint64(binary.BigEndian.Uint16(hvr[1:])), 0xFEFF},
		{"epoch echoed", uint64(binary.BigEndian.Uint16(hvr[3:])), uint64(binary.BigEndian.Uint16(hello[3:]))},
		{"sequence echoed", uint48(hvr[5:]), uint48(hello[5:])},
		{"record length", uint64(binary.BigEndian.Uint16(hvr[11:])), uint64(len(hvr) - 13)},
		{"handshake type", uint64(hvr[13]), 3},
		{"message length", uint64(uint24(hvr[14:])), uint64(3 + cookieLen)},
		{"message_seq", uint64(binary.BigEndian.Uint16(hvr[17:])), 0},
		{"fragment offset", uint64(uint24(hvr[19:])), 0},
		{"fragment length", uint64(uint24(hvr[22:])), uint64(3 + cookieLen)},
		{"server_version", uint64(binary.BigEndian.Uint16(hvr[25:])), 0xFEFF},
		{"size", uint64(len(hvr)), uint64(28 + cookieLen)},
	}
	for _, w := range want {
		if w.got != w.want {
			t.Errorf("HelloVerifyRequest %s = %#x, want %#x", w.what, w.got, w.want)
		}
	}
	if cookieLen == 0 || cookieLen > 32 || len(hvr) > len(hello) {
		t.Errorf("cookie %d bytes, reply %d bytes for a %d-byte hello", cookieLen, len(hvr), len(hello))
	}
}

func uint24(b []byte) uint32 { return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]) }
func uint48(b []byte) uint64 {
	return uint64(binary.BigEndian.Uint16(b))<<32 | uint64(binary.BigEndian.Uint32(b[2:]))
}

// Qt (through OpenSSL's DTLSv1_listen) does not judge client_version, and
// a server must accept versions above its own, so any version gets a
// HelloVerifyRequest and then verifies.
func TestAnyClientVersionIsAnswered(t *testing.T) {
	for _, version := range []uint16{0xFEFC, 0xFE00, 0x0303, 0xFFFF} {
		hello := bytes.Clone(dtlstest.Corpus(t)[0].Data)
		binary.BigEndian.PutUint16(hello[25:], version)
		v := New()
		hvr := exchange(t, v, hello, client)
		second := dtlstest.WithCookie(t, hello, dtlstest.HelloVerifyRequestCookie(t, hvr))
		if !v.VerifyClient(&recorder{}, second, client, port) {
			t.Errorf("client_version %#04x: cookie refused", version)
		}
	}
}

func TestEpochAndSequenceAreEchoed(t *testing.T) {
	hello := bytes.Clone(dtlstest.Corpus(t)[0].Data)
	copy(hello[5:11], []byte{0x00, 0x01, 0x02, 0x03, 0x04, 0x05})
	hvr := exchange(t, New(), hello, client)
	if !bytes.Equal(hvr[3:11], hello[3:11]) {
		t.Fatalf("epoch+sequence % x, want % x", hvr[3:11], hello[3:11])
	}
}

func TestSilentDrops(t *testing.T) {
	base := dtlstest.Corpus(t)[0].Data
	mutate := func(f func([]byte) []byte) []byte { return f(bytes.Clone(base)) }
	cases := map[string][]byte{
		"one byte":          {22},
		"short header":      base[:12],
		"header only":       base[:13],
		"application data":  mutate(func(b []byte) []byte { b[0] = 23; return b }),
		"record major 0xFD": mutate(func(b []byte) []byte { b[1] = 0xFD; return b }),
		"epoch 1":           mutate(func(b []byte) []byte { b[4] = 1; return b }),
		"record too long":   mutate(func(b []byte) []byte { b[12]++; return b }),
		"server hello":      mutate(func(b []byte) []byte { b[13] = 2; return b }),
		"message_seq 2":     mutate(func(b []byte) []byte { b[18] = 2; return b }),
		"fragment offset 1": mutate(func(b []byte) []byte { b[21] = 1; return b }),
		"cut before cookie": base[:60],
	}
	for name, dgram := range cases {
		t.Run(name, func(t *testing.T) {
			v := New()
			verifyOnce(t, v, base)
			var w recorder
			if v.VerifyClient(&w, dgram, client, port) {
				t.Fatal("verified")
			}
			if len(w.sent) != 0 || v.DtlsError() != dtlserror.NoError || v.DtlsErrorString() != "" {
				t.Fatalf("sent %d, error %v %q", len(w.sent), v.DtlsError(), v.DtlsErrorString())
			}
			if v.VerifiedHello() != nil {
				t.Fatal("VerifiedHello not emptied")
			}
		})
	}
}

// verifyOnce takes hello through a full exchange on v so that VerifiedHello
// is set, and returns the verified datagram.
func verifyOnce(t *testing.T, v *ClientVerifier, hello []byte) []byte {
	t.Helper()
	hvr := exchange(t, v, hello, client)
	second := dtlstest.WithCookie(t, hello, dtlstest.HelloVerifyRequestCookie(t, hvr))
	if !v.VerifyClient(&recorder{}, second, client, port) {
		t.Fatalf("verification failed: %v", v.DtlsErrorString())
	}
	return second
}

func TestRefusedInputKeepsVerifiedHello(t *testing.T) {
	hello := dtlstest.Corpus(t)[0].Data
	cases := []struct {
		name string
		w    DatagramWriter
		d    []byte
		addr netip.Addr
		port uint16
		msg  string
	}{
		{"no socket", nil, hello, client, port, MsgInvalidInput},
		{"empty datagram", &recorder{}, nil, client, port, MsgInvalidInput},
		{"null address", &recorder{}, hello, netip.Addr{}, port, MsgInvalidInput},
		{"port 0", &recorder{}, hello, client, 0, MsgInvalidInput},
		{"broadcast", &recorder{}, hello, netip.MustParseAddr("255.255.255.255"), port, MsgMulticast},
		{"multicast v4", &recorder{}, hello, netip.MustParseAddr("224.0.0.1"), port, MsgMulticast},
		{"multicast v6", &recorder{}, hello, netip.MustParseAddr("ff02::1"), port, MsgMulticast},
		{"mapped broadcast", &recorder{}, hello, netip.MustParseAddr("::ffff:255.255.255.255"), port, MsgMulticast},
		{"null address and no socket", nil, hello, netip.Addr{}, port, MsgInvalidInput},
		{"multicast and no socket", nil, hello, netip.MustParseAddr("224.0.0.1"), port, MsgInvalidInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := New()
			verified := verifyOnce(t, v, hello)
			if v.VerifyClient(c.w, c.d, c.addr, c.port) {
				t.Fatal("accepted")
			}
			if v.DtlsError() != dtlserror.InvalidInputParameters || v.DtlsErrorString() != c.msg {
				t.Fatalf("error %v %q, want InvalidInputParameters %q", v.DtlsError(), v.DtlsErrorString(), c.msg)
			}
			if r, ok := c.w.(*recorder); ok && len(r.sent) != 0 {
				t.Fatal("something was sent")
			}
			if !bytes.Equal(v.VerifiedHello(), verified) {
				t.Fatal("VerifiedHello changed")
			}
		})
	}
}

func TestSocketErrorIsReported(t *testing.T) {
	v := New()
	w := &recorder{err: syscall.EBADF}
	if v.VerifyClient(w, dtlstest.Corpus(t)[0].Data, client, port) {
		t.Fatal("verified")
	}
	if v.DtlsError() != dtlserror.UnderlyingSocketError || v.DtlsErrorString() != syscall.EBADF.Error() {
		t.Fatalf("error %v %q", v.DtlsError(), v.DtlsErrorString())
	}
	// The next call starts clean.
	w.err = nil
	v.VerifyClient(w, dtlstest.Corpus(t)[0].Data, client, port)
	if v.DtlsError() != dtlserror.NoError || v.DtlsErrorString() != "" {
		t.Fatalf("error not cleared: %v", v.DtlsError())
	}
}

func TestSetCookieGeneratorParameters(t *testing.T) {
	v := New()
	before := v.CookieGeneratorParameters()
	if v.SetCookieGeneratorParameters(cookie.Parameters{Hash: cookie.Sha1}) {
		t.Fatal("empty secret accepted")
	}
	if v.DtlsError() != dtlserror.InvalidInputParameters || v.DtlsErrorString() != "Invalid (empty) secret" {
		t.Fatalf("error %v %q", v.DtlsError(), v.DtlsErrorString())
	}
	if after := v.CookieGeneratorParameters(); after.Hash != before.Hash || !bytes.Equal(after.Secret, before.Secret) {
		t.Fatal("parameters changed by a refused call")
	}
	if v.SetCookieGeneratorParameters(cookie.Parameters{Hash: cookie.Keccak_224, Secret: []byte("s")}) {
		t.Fatal("unavailable algorithm accepted")
	}
	if v.DtlsError() != dtlserror.InvalidInputParameters || !bytes.Contains([]byte(v.DtlsErrorString()), []byte("Keccak_224")) {
		t.Fatalf("error %v %q", v.DtlsError(), v.DtlsErrorString())
	}

	p := cookie.Parameters{Hash: cookie.Sha512, Secret: []byte("new secret")}
	if !v.SetCookieGeneratorParameters(p) || v.DtlsError() != dtlserror.NoError || v.DtlsErrorString() != "" {
		t.Fatalf("valid parameters refused: %v", v.DtlsErrorString())
	}
	if got := v.CookieGeneratorParameters(); got.Hash != p.Hash || !bytes.Equal(got.Secret, p.Secret) {
		t.Fatalf("parameters %v %q", got.Hash, got.Secret)
	}
}

func TestDefaultVerifiersShareTheSecret(t *testing.T) {
	hello := dtlstest.Corpus(t)[0].Data
	a, b := New(), New()
	hvr := exchange(t, a, hello, client)
	second := dtlstest.WithCookie(t, hello, dtlstest.HelloVerifyRequestCookie(t, hvr))
	if !b.VerifyClient(&recorder{}, second, client, port) {
		t.Fatal("a default verifier refused another default verifier's cookie")
	}
	// A verifier given its own secret still honours the default one for a
	// lifetime (it was its previous secret), so change it twice.
	c := New()
	c.SetCookieGeneratorParameters(cookie.Parameters{Hash: cookie.Sha256, Secret: []byte("private")})
	c.SetCookieGeneratorParameters(cookie.Parameters{Hash: cookie.Sha256, Secret: []byte("private 2")})
	if c.VerifyClient(&recorder{}, second, client, port) {
		t.Fatal("a verifier with its own secret accepted a default cookie")
	}
}

func TestRotationKeepsCookiesInFlight(t *testing.T) {
	hello := dtlstest.Corpus(t)[0].Data
	v := New()
	v.SetCookieGeneratorParameters(cookie.Parameters{Hash: cookie.Sha256, Secret: []byte("one")})
	hvr := exchange(t, v, hello, client)
	second := dtlstest.WithCookie(t, hello, dtlstest.HelloVerifyRequestCookie(t, hvr))

	v.SetCookieGeneratorParameters(cookie.Parameters{Hash: cookie.Sha256, Secret: []byte("two")})
	if !v.VerifyClient(&recorder{}, second, client, port) {
		t.Fatal("cookie minted before one rotation refused")
	}
	v.SetCookieGeneratorParameters(cookie.Parameters{Hash: cookie.Sha256, Secret: []byte("three")})
	if v.VerifyClient(&recorder{}, second, client, port) {
		t.Fatal("cookie minted two rotations ago accepted")
	}
}

func TestExpiredCookieGetsANewRequest(t *testing.T) {
	hello := dtlstest.Corpus(t)[0].Data
	v := New()
	now := time.Unix(1_800_000_000, 0)
	v.Generator().SetClock(func() time.Time { return now })
	second := verifyOnce(t, v, hello)

	now = now.Add(cookie.DefaultLifetime + time.Second)
	var w recorder
	if v.VerifyClient(&w, second, client, port) || len(w.sent) != 1 {
		t.Fatalf("expired cookie: sent %d", len(w.sent))
	}
}

func TestCheck(t *testing.T) {
	hello := dtlstest.Corpus(t)[0].Data
	v := New()
	reply := make([]byte, MaxReplySize)

	res, n, err := v.Check(hello, clientAP, reply)
	if res != SendReply || err != nil {
		t.Fatalf("first flight: %v %v", res, err)
	}
	checkHelloVerifyRequest(t, reply[:n], hello)
	second := dtlstest.WithCookie(t, hello, dtlstest.HelloVerifyRequestCookie(t, reply[:n]))

	if res, n, err := v.Check(second, clientAP, nil); res != Verified || n != 0 || err != nil {
		t.Fatalf("second flight: %v %d %v", res, n, err)
	}
	if res, _, err := v.Check(hello[:20], clientAP, reply); res != Drop || err != nil {
		t.Fatalf("garbage: %v %v", res, err)
	}
	if res, need, err := v.Check(hello, clientAP, reply[:10]); res != Drop || need != n || !errors.Is(err, wire.ErrBufferTooSmall) {
		t.Fatalf("small buffer: %v %d %v", res, need, err)
	}
	refused := map[string]struct {
		d    []byte
		peer netip.AddrPort
		err  error
	}{
		"empty":     {nil, clientAP, ErrEmptyDatagram},
		"no addr":   {hello, netip.AddrPort{}, ErrInvalidPeer},
		"port 0":    {hello, netip.AddrPortFrom(client, 0), ErrInvalidPeer},
		"broadcast": {hello, netip.MustParseAddrPort("255.255.255.255:5"), ErrMulticastPeer},
		"multicast": {hello, netip.MustParseAddrPort("[ff02::1]:5"), ErrMulticastPeer},
	}
	for name, c := range refused {
		if _, _, err := v.Check(c.d, c.peer, reply); err != c.err {
			t.Errorf("%s: %v, want %v", name, err, c.err)
		}
	}
	// Check leaves the Qt-style state alone.
	if v.DtlsError() != dtlserror.NoError || v.VerifiedHello() != nil {
		t.Fatal("Check touched the verifier's state")
	}
}

func TestNeverAmplifies(t *testing.T) {
	// The smallest ClientHello that parses: no session id, no cookie, and
	// nothing after the cookie (a truncated first fragment).
	hello := make([]byte, 13+12+2+32+1+1)
	hello[0], hello[1], hello[2] = 22, 0xFE, 0xFD
	binary.BigEndian.PutUint16(hello[11:], uint16(len(hello)-13))
	hello[13] = 1
	hello[16] = 200 // message length: the fragment is its start only
	hello[24] = byte(len(hello) - 25)
	hello[25], hello[26] = 0xFE, 0xFD
	for _, h := range []cookie.Algorithm{cookie.Sha256, cookie.Sha512, cookie.Md5} {
		v := New()
		v.SetCookieGeneratorParameters(cookie.Parameters{Hash: h, Secret: []byte("k")})
		var w recorder
		v.VerifyClient(&w, hello, client, port)
		if len(w.sent) != 1 || len(w.sent[0]) > len(hello) {
			t.Fatalf("%v: %d replies, for %d bytes", h, len(w.sent), len(hello))
		}
	}
}

func TestCheckDoesNotAllocate(t *testing.T) {
	if dtlstest.RaceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	hello := dtlstest.Corpus(t)[0].Data
	v := New()
	reply := make([]byte, MaxReplySize)
	second := secondFlight(t, v, hello)
	for name, f := range map[string]func(){
		"check no cookie":    func() { v.Check(hello, clientAP, reply) },
		"check valid cookie": func() { v.Check(second, clientAP, reply) },
		"verify valid":       func() { v.VerifyClient(discard{}, second, client, port) },
		"verify no cookie":   func() { v.VerifyClient(discard{}, hello, client, port) },
	} {
		if a := testing.AllocsPerRun(200, f); a != 0 {
			t.Errorf("%s: %v allocations per call", name, a)
		}
	}
}

// secondFlight returns hello carrying the cookie v mints for clientAP, as
// the client's second ClientHello.
func secondFlight(tb testing.TB, v *ClientVerifier, hello []byte) []byte {
	tb.Helper()
	reply := make([]byte, MaxReplySize)
	res, n, err := v.Check(hello, clientAP, reply)
	if res != SendReply || err != nil {
		tb.Fatalf("first flight: %v %v", res, err)
	}
	return dtlstest.WithCookie(tb, hello, dtlstest.HelloVerifyRequestCookie(tb, reply[:n]))
}

type discard struct{}

func (discard) WriteDatagram([]byte, netip.AddrPort) error { return nil }

func TestConcurrentCheckAndRotation(t *testing.T) {
	hello := dtlstest.Corpus(t)[0].Data
	v := New()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reply := make([]byte, MaxReplySize)
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, n, err := v.Check(hello, clientAP, reply)
				if err != nil || res != SendReply {
					t.Errorf("check: %v %v", res, err)
					return
				}
				second := dtlstest.WithCookie(t, hello, reply[28:n])
				if res, _, err := v.Check(second, clientAP, reply); err != nil || res == Drop {
					t.Errorf("second flight: %v %v", res, err)
					return
				}
			}
		}()
	}
	for i := range 200 {
		v.SetCookieGeneratorParameters(cookie.Parameters{Hash: cookie.Sha256, Secret: []byte{byte(i), 1}})
		v.VerifyClient(discard{}, hello, client, port)
	}
	close(stop)
	wg.Wait()
}

func BenchmarkCheckNoCookie(b *testing.B) {
	hello := dtlstest.Corpus(b)[0].Data
	v := New()
	reply := make([]byte, MaxReplySize)
	b.ReportAllocs()
	for b.Loop() {
		v.Check(hello, clientAP, reply)
	}
}

func BenchmarkCheckValidCookie(b *testing.B) {
	hello := dtlstest.Corpus(b)[0].Data
	v := New()
	reply := make([]byte, MaxReplySize)
	second := secondFlight(b, v, hello)
	b.ReportAllocs()
	for b.Loop() {
		if res, _, _ := v.Check(second, clientAP, reply); res != Verified {
			b.Fatal(res)
		}
	}
}

func BenchmarkCheckValidCookieParallel(b *testing.B) {
	hello := dtlstest.Corpus(b)[0].Data
	v := New()
	second := secondFlight(b, v, hello)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			v.Check(second, clientAP, nil)
		}
	})
}

func BenchmarkVerifyClientValidCookie(b *testing.B) {
	hello := dtlstest.Corpus(b)[0].Data
	v := New()
	second := secondFlight(b, v, hello)
	b.ReportAllocs()
	for b.Loop() {
		v.VerifyClient(discard{}, second, client, port)
	}
}
