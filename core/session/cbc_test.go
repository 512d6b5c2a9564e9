// SPDX-License-Identifier: MIT

package session

import (
	"bytes"
	"crypto/cipher"
	"crypto/sha256"
	"hash"
	"testing"
)

var cbcSuites = []uint16{TLS_PSK_WITH_AES_128_CBC_SHA256, TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256}

// paddingBlockRecord has from write a record whose last cipher block is all
// padding: 32 bytes of data and a 32-byte MAC fill whole blocks, so 16 bytes
// of padding (each 15) follow. An on-path attacker who sees such a record
// knows what its last block decrypts to.
func paddingBlockRecord(t *testing.T, from *Session) []byte {
	t.Helper()
	if from.WriteDatagramEncrypted(bytes.Repeat([]byte{'d'}, 32)) != 32 {
		t.Fatal(from.DtlsErrorString())
	}
	out := from.Outgoing()
	if len(out) != 1 || len(out[0]) != recordHeaderLen+16+80 {
		t.Fatalf("unexpected record shape: %d datagrams", len(out))
	}
	return out[0]
}

// cbcForgeries are the 256 variants of an observed record with which an
// attacker looks for a padding length the receiver mishandles. The last
// block decrypts to sixteen 15s; XORing the block before it with 15^16 turns
// them into 16s, and one of the 256 values of the byte before that makes the
// plaintext byte ahead of them 16 as well: padding of 17 bytes, all 16. Each
// variant comes whole and cut down to an IV and three blocks, 48 bytes of
// ciphertext: too short for that padding and a 32-byte MAC.
func cbcForgeries(rec []byte) [][]byte {
	forge := func(body []byte, v int) {
		m := len(body)
		for i := m - 32; i < m-16; i++ {
			body[i] ^= 15 ^ 16
		}
		body[m-33] ^= byte(v)
	}
	body := rec[recordHeaderLen:]
	var out [][]byte
	for v := range 256 {
		// Each gets a fresh sequence number, so the replay window is no
		// reason to drop it.
		whole := appendRecordHeader(nil, rec[0], versionDTLS12, 1, uint64(v)+1000, len(body))
		whole = append(whole, body...)
		forge(whole[recordHeaderLen:], v)
		short := appendRecordHeader(nil, rec[0], versionDTLS12, 1, uint64(v)+2000, 64)
		short = append(short, body[len(body)-64:]...)
		forge(short[recordHeaderLen:], v)
		out = append(out, whole, short)
	}
	return out
}

// A forged CBC record is a bad record, never a panic, whatever its padding
// claims; and the connection carries data after the search. pion's
// CBC.Decrypt, which the engine used before, sliced with a negative index
// on the short variant with 17 bytes of padding.
func TestCBCForgerySearchIsDropped(t *testing.T) {
	for _, id := range cbcSuites {
		for _, receiverIsServer := range []bool{true, false} {
			l := establishedWith(t, id)
			from, to := l.client, l.server
			if !receiverIsServer {
				from, to = l.server, l.client
			}
			rec := paddingBlockRecord(t, from)
			for i, f := range cbcForgeries(rec) {
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Fatalf("suite 0x%04X, variant %d: panic %v", id, i, r)
						}
					}()
					if got := to.DecryptDatagram(f); got != nil || to.DtlsError() != 0 {
						t.Fatalf("suite 0x%04X, variant %d: data %q, error %v %q", id, i, got, to.DtlsError(), to.DtlsErrorString())
					}
				}()
			}
			if !to.IsConnectionEncrypted() {
				t.Fatalf("suite 0x%04X: the forgery search closed the connection", id)
			}
			if got := to.DecryptDatagram(rec); !bytes.Equal(got, bytes.Repeat([]byte{'d'}, 32)) {
				t.Fatalf("suite 0x%04X: the genuine record gave %q", id, got)
			}
			echo(t, from, to, []byte("after the forgery search"))
			echo(t, to, from, []byte("and back"))
		}
	}
}

// countingHash counts the bytes fed to every SHA-256 an HMAC made with it
// uses, which is the number of blocks the compression function runs on.
type countingHash struct {
	hash.Hash
	n *int
}

func (c countingHash) Write(p []byte) (int, error) {
	*c.n += len(p)
	return c.Hash.Write(p)
}

// cbcPair returns a sealing and an opening protection with the same keys,
// the opener's HMAC counting what it hashes into *n.
func cbcPair(t testing.TB, n *int) (sealer, opener *cbcProtection) {
	t.Helper()
	suite, _ := LookupSuite(TLS_PSK_WITH_AES_128_CBC_SHA256)
	key, mac := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 32)
	sealer, err := newCBCProtection(suite, key, mac, key, mac)
	if err != nil {
		t.Fatal(err)
	}
	opener, _ = newCBCProtection(suite, key, mac, key, mac)
	opener.readMAC = newKeyedHash(func() hash.Hash { return countingHash{sha256.New(), n} }, mac)
	return sealer, opener
}

// The MAC hashes the same number of bytes for a record with bad padding, a
// record with a bad MAC and a good record of the same length: how long the
// check takes does not say which failed (no padding oracle).
func TestCBCOpenHashesTheSameForBadPaddingAndBadMAC(t *testing.T) {
	var n int
	sealer, opener := cbcPair(t, &n)
	for _, size := range []int{0, 1, 15, 16, 31, 100, 1400, maxPlaintext} {
		good, _ := sealer.seal(nil, contentApplicationData, 1, 7, bytes.Repeat([]byte{'x'}, size))
		rec := recordsOf(good)[0]
		body := rec.payload
		// Bad MAC: flip a bit of the first ciphertext block, which garbles
		// the start of the data and leaves the padding intact.
		badMAC := bytes.Clone(good)
		badMAC[recordHeaderLen+16] ^= 1
		// Bad padding: flip the padding length byte through the block
		// before the last.
		badPad := bytes.Clone(good)
		badPad[recordHeaderLen+len(body)-17] ^= 0x40
		counts := map[string]int{}
		for name, d := range map[string][]byte{"good": good, "bad MAC": badMAC, "bad padding": badPad} {
			n = 0
			plain, err := opener.open(recordsOf(d)[0])
			if (name == "good") != (err == nil) {
				t.Fatalf("size %d, %s: err %v", size, name, err)
			}
			if name == "good" && len(plain) != size {
				t.Fatalf("size %d: opened %d bytes", size, len(plain))
			}
			counts[name] = n
		}
		if counts["good"] != counts["bad MAC"] || counts["good"] != counts["bad padding"] {
			t.Errorf("size %d: bytes hashed %v, want all equal", size, counts)
		}
	}
}

// Padding longer than a block is legal (RFC 5246 section 6.2.3.2) and some
// peers send it to hide lengths; every padding length that fits is taken,
// and any inconsistent byte in it is refused.
func TestCBCOpenPaddingRules(t *testing.T) {
	var n int
	_, opener := cbcPair(t, &n)
	data := []byte("0123456789abcdef0123456789abcdef") // two blocks
	for padLen := 1; padLen <= 256; padLen++ {
		if (len(data)+32+padLen)%16 != 0 {
			continue
		}
		rec := sealWithPadding(opener, data, padLen, -1)
		if got, err := opener.open(recordsOf(rec)[0]); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("padding %d: %q, %v", padLen, got, err)
		}
		for _, bad := range []int{0, padLen / 2, padLen - 1} {
			if bad == padLen-1 && padLen == 1 {
				continue // the only byte is the length itself
			}
			rec := sealWithPadding(opener, data, padLen, bad)
			if _, err := opener.open(recordsOf(rec)[0]); err == nil {
				t.Fatalf("padding %d with byte %d wrong was accepted", padLen, bad)
			}
		}
	}
}

// sealWithPadding builds a record with padLen bytes of padding (length byte
// included); the padding byte at index wrong, if not -1, is off by one.
func sealWithPadding(p *cbcProtection, data []byte, padLen, wrong int) []byte {
	p.writeMAC.Reset()
	macHeader(p.writeMAC, contentApplicationData, versionDTLS12, 1, 9, len(data))
	p.writeMAC.Write(data)
	plain := p.writeMAC.Sum(bytes.Clone(data))
	for i := range padLen {
		b := byte(padLen - 1)
		if i == wrong {
			b++
		}
		plain = append(plain, b)
	}
	iv := make([]byte, 16)
	rec := appendRecordHeader(nil, contentApplicationData, versionDTLS12, 1, 9, 16+len(plain))
	rec = append(rec, iv...)
	start := len(rec)
	rec = append(rec, plain...)
	cipher.NewCBCEncrypter(p.write, iv).CryptBlocks(rec[start:], rec[start:])
	return rec
}

// establishedWith returns a link whose handshake completed with suite.
func establishedWith(t *testing.T, suite uint16) *link {
	t.Helper()
	l := newLink(t, Config{Suites: []uint16{suite}, PSK: keyFor("id", "k", nil)}, Config{Suites: []uint16{suite}, PSK: keyFor("", "k", nil)})
	l.run()
	expectEstablished(t, l, suite)
	return l
}

// FuzzOpen hands arbitrary record bodies to the protection of every suite:
// nothing may panic, a record that opens is one we sealed, and what we
// seal opens to what went in.
func FuzzOpen(f *testing.F) {
	prots := make([]protection, len(suites))
	for i, s := range suites {
		k := keyBlock{
			clientMAC: bytes.Repeat([]byte{1}, s.macLen), serverMAC: bytes.Repeat([]byte{1}, s.macLen),
			clientKey: bytes.Repeat([]byte{2}, s.keyLen), serverKey: bytes.Repeat([]byte{2}, s.keyLen),
			clientIV: bytes.Repeat([]byte{3}, s.ivLen), serverIV: bytes.Repeat([]byte{3}, s.ivLen),
		}
		p, err := newProtection(s, k, false)
		if err != nil {
			f.Fatal(err)
		}
		prots[i] = p
	}
	for i, p := range prots {
		for _, n := range []int{0, 1, 16, 47, 100} {
			rec, _ := p.seal(nil, contentApplicationData, 1, 5, bytes.Repeat([]byte{'p'}, n))
			f.Add(byte(i), rec[recordHeaderLen:])
		}
	}
	f.Fuzz(func(t *testing.T, which byte, body []byte) {
		p := prots[int(which)%len(prots)]
		rec := appendRecordHeader(nil, contentApplicationData, versionDTLS12, 1, 5, len(body))
		rec = append(rec, body...)
		r := recordsOf(rec)
		if len(r) != 1 {
			return // longer than a record can say
		}
		if plain, err := p.open(r[0]); err == nil && len(plain) >= len(body) {
			t.Fatalf("opened %d bytes out of a %d-byte body", len(plain), len(body))
		}
		sealed, err := p.seal(nil, contentApplicationData, 1, 6, body[:min(len(body), maxPlaintext)])
		if err != nil {
			t.Fatal(err)
		}
		if plain, err := p.open(recordsOf(sealed)[0]); err != nil || !bytes.Equal(plain, body[:min(len(body), maxPlaintext)]) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// BenchmarkCBCOpen times opening a 16 KB record that is good, that has bad
// padding and that has a bad MAC. bench/session.sh prints the fastest of
// several runs side by side: the two failures must not differ.
func BenchmarkCBCOpen(b *testing.B) {
	var n int
	sealer, opener := cbcPair(&testing.T{}, &n)
	good, _ := sealer.seal(nil, contentApplicationData, 1, 7, bytes.Repeat([]byte{'x'}, maxPlaintext))
	body := len(good) - recordHeaderLen
	badMAC := bytes.Clone(good)
	badMAC[recordHeaderLen+16] ^= 1
	badPad := bytes.Clone(good)
	badPad[recordHeaderLen+body-17] ^= 0x40
	for _, c := range []struct {
		name string
		rec  []byte
	}{{"good", good}, {"bad-padding", badPad}, {"bad-MAC", badMAC}} {
		r := recordsOf(c.rec)[0]
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(r.payload)))
			for b.Loop() {
				opener.open(r)
			}
		})
	}
}
