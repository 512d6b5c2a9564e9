// SPDX-License-Identifier: MIT

package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/sha512"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
)

// CipherSuite numbers, as registered with IANA.
const (
	TLS_PSK_WITH_AES_128_GCM_SHA256       uint16 = 0x00A8
	TLS_PSK_WITH_AES_256_GCM_SHA384       uint16 = 0x00A9
	TLS_PSK_WITH_AES_128_CBC_SHA256       uint16 = 0x00AE
	TLS_PSK_WITH_AES_128_CCM              uint16 = 0xC0A4
	TLS_PSK_WITH_AES_128_CCM_8            uint16 = 0xC0A8
	TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256 uint16 = 0xC037
	TLS_PSK_WITH_CHACHA20_POLY1305_SHA256 uint16 = 0xCCAB
	tlsEmptyRenegotiationInfoSCSV         uint16 = 0x00FF
)

// Suite describes a cipher suite the engine implements.
type Suite struct {
	ID   uint16
	Name string // OpenSSL's name, which is what Qt's QSslCipher::name() reports
	IANA string // the registry name

	ecdhe  bool     // key exchange is ECDHE_PSK rather than plain PSK
	hash   hashKind // PRF and Finished hash (and the CBC suites' MAC)
	keyLen int
	ivLen  int // implicit IV bytes taken from the key block
	macLen int // 0 for AEAD suites
	seal   func(key []byte) (cipher.AEAD, error)
}

var suites = []Suite{
	{ID: TLS_PSK_WITH_AES_128_GCM_SHA256, Name: "PSK-AES128-GCM-SHA256", IANA: "TLS_PSK_WITH_AES_128_GCM_SHA256",
		hash: sha256Kind, keyLen: 16, ivLen: 4, seal: newGCM},
	{ID: TLS_PSK_WITH_AES_256_GCM_SHA384, Name: "PSK-AES256-GCM-SHA384", IANA: "TLS_PSK_WITH_AES_256_GCM_SHA384",
		hash: sha384Kind, keyLen: 32, ivLen: 4, seal: newGCM},
	{ID: TLS_PSK_WITH_CHACHA20_POLY1305_SHA256, Name: "PSK-CHACHA20-POLY1305", IANA: "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256",
		hash: sha256Kind, keyLen: 32, ivLen: 12, seal: chacha20poly1305.New},
	{ID: TLS_PSK_WITH_AES_128_CCM, Name: "PSK-AES128-CCM", IANA: "TLS_PSK_WITH_AES_128_CCM",
		hash: sha256Kind, keyLen: 16, ivLen: 4, seal: newCCM(16)},
	{ID: TLS_PSK_WITH_AES_128_CCM_8, Name: "PSK-AES128-CCM8", IANA: "TLS_PSK_WITH_AES_128_CCM_8",
		hash: sha256Kind, keyLen: 16, ivLen: 4, seal: newCCM(8)},
	{ID: TLS_PSK_WITH_AES_128_CBC_SHA256, Name: "PSK-AES128-CBC-SHA256", IANA: "TLS_PSK_WITH_AES_128_CBC_SHA256",
		hash: sha256Kind, keyLen: 16, ivLen: 16, macLen: 32},
	{ID: TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256, Name: "ECDHE-PSK-AES128-CBC-SHA256", IANA: "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256",
		ecdhe: true, hash: sha256Kind, keyLen: 16, ivLen: 16, macLen: 32},
}

// Suites returns every suite the engine implements, in the default order of
// preference: AEAD first, and among them the ones real clients offer first.
func Suites() []Suite { return append([]Suite(nil), suites...) }

// DefaultSuites is the default list, as IDs in order of preference.
func DefaultSuites() []uint16 {
	ids := make([]uint16, len(suites))
	for i, s := range suites {
		ids[i] = s.ID
	}
	return ids
}

// LookupSuite returns the suite with the given ID.
func LookupSuite(id uint16) (Suite, bool) {
	for i := range suites { // by index: a Suite is copied once, when found
		if suites[i].ID == id {
			return suites[i], true
		}
	}
	return Suite{}, false
}

// SuiteByName finds a suite by its OpenSSL or IANA name.
func SuiteByName(name string) (Suite, bool) {
	for _, s := range suites {
		if s.Name == name || s.IANA == name {
			return s, true
		}
	}
	return Suite{}, false
}

// hashKind names the hash of a suite's PRF and Finished messages. A name
// rather than the constructor lets a handshake tell whether a hash it kept
// from an earlier one is of the kind it needs.
type hashKind uint8

const (
	sha256Kind hashKind = iota
	sha384Kind
	hashKinds
)

func (k hashKind) new() hash.Hash {
	if k == sha384Kind {
		return sha512.New384()
	}
	return sha256.New()
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func newCCM(tagLen int) func([]byte) (cipher.AEAD, error) {
	return func(key []byte) (cipher.AEAD, error) { return newCCMAEAD(key, tagLen) }
}
