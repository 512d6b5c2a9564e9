// SPDX-License-Identifier: MIT

package cookie

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"errors"
	"hash"
	"strconv"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/blake2s"
	"golang.org/x/crypto/md4"
	xsha3 "golang.org/x/crypto/sha3"
)

// Algorithm names a hash function. The numbering is that of Qt's
// QCryptographicHash::Algorithm, so a number that crosses the C ABI or a
// language binding means what it means in Qt.
type Algorithm int

// The hash algorithms, with Qt's names and numbers.
const (
	Md4    Algorithm = 0
	Md5    Algorithm = 1
	Sha1   Algorithm = 2
	Sha224 Algorithm = 3
	Sha256 Algorithm = 4
	Sha384 Algorithm = 5
	Sha512 Algorithm = 6
	// Keccak with its original padding (as Ethereum uses it), which
	// differs from the SHA-3 that FIPS 202 standardised.
	Keccak_224 Algorithm = 7
	Keccak_256 Algorithm = 8
	Keccak_384 Algorithm = 9
	Keccak_512 Algorithm = 10
	// SHA-3 as standardised in FIPS 202.
	RealSha3_224 Algorithm = 11
	RealSha3_256 Algorithm = 12
	RealSha3_384 Algorithm = 13
	RealSha3_512 Algorithm = 14
	Blake2b_160  Algorithm = 15
	Blake2b_256  Algorithm = 16
	Blake2b_384  Algorithm = 17
	Blake2b_512  Algorithm = 18
	Blake2s_128  Algorithm = 19
	Blake2s_160  Algorithm = 20
	Blake2s_224  Algorithm = 21
	Blake2s_256  Algorithm = 22
)

// Qt 6 also spells the FIPS 202 functions Sha3_224 and so on; these aliases
// let code ported from Qt keep that spelling.
const (
	Sha3_224 = RealSha3_224
	Sha3_256 = RealSha3_256
	Sha3_384 = RealSha3_384
	Sha3_512 = RealSha3_512
)

// Why an algorithm is refused, for the error message.
const (
	notImplemented = "neither the Go standard library nor golang.org/x/crypto implements it"
	keyedOnly      = "golang.org/x/crypto provides BLAKE2s-128 only as a keyed MAC, " +
		"not as the plain hash that HMAC is built on"
)

type algorithm struct {
	name string
	size int              // digest size in bytes
	new  func() hash.Hash // nil when the hash is not available
	why  string           // when new is nil: the reason
}

var algorithms = [...]algorithm{
	Md4:          {"Md4", md4.Size, md4.New, ""},
	Md5:          {"Md5", md5.Size, md5.New, ""},
	Sha1:         {"Sha1", sha1.Size, sha1.New, ""},
	Sha224:       {"Sha224", sha256.Size224, sha256.New224, ""},
	Sha256:       {"Sha256", sha256.Size, sha256.New, ""},
	Sha384:       {"Sha384", sha512.Size384, sha512.New384, ""},
	Sha512:       {"Sha512", sha512.Size, sha512.New, ""},
	Keccak_224:   {"Keccak_224", 28, nil, notImplemented},
	Keccak_256:   {"Keccak_256", 32, xsha3.NewLegacyKeccak256, ""},
	Keccak_384:   {"Keccak_384", 48, nil, notImplemented},
	Keccak_512:   {"Keccak_512", 64, xsha3.NewLegacyKeccak512, ""},
	RealSha3_224: {"RealSha3_224", 28, func() hash.Hash { return sha3.New224() }, ""},
	RealSha3_256: {"RealSha3_256", 32, func() hash.Hash { return sha3.New256() }, ""},
	RealSha3_384: {"RealSha3_384", 48, func() hash.Hash { return sha3.New384() }, ""},
	RealSha3_512: {"RealSha3_512", 64, func() hash.Hash { return sha3.New512() }, ""},
	// BLAKE2 digests of different lengths are different functions (the length
	// is hashed into the state), so each size needs its own constructor;
	// truncating a longer digest would not do.
	Blake2b_160: {"Blake2b_160", 20, func() hash.Hash { return must(blake2b.New(20, nil)) }, ""},
	Blake2b_256: {"Blake2b_256", blake2b.Size256, func() hash.Hash { return must(blake2b.New256(nil)) }, ""},
	Blake2b_384: {"Blake2b_384", blake2b.Size384, func() hash.Hash { return must(blake2b.New384(nil)) }, ""},
	Blake2b_512: {"Blake2b_512", blake2b.Size, func() hash.Hash { return must(blake2b.New512(nil)) }, ""},
	Blake2s_128: {"Blake2s_128", blake2s.Size128, nil, keyedOnly},
	Blake2s_160: {"Blake2s_160", 20, nil, notImplemented},
	Blake2s_224: {"Blake2s_224", 28, nil, notImplemented},
	Blake2s_256: {"Blake2s_256", blake2s.Size, func() hash.Hash { return must(blake2s.New256(nil)) }, ""},
}

// must unwraps a BLAKE2 constructor, which fails only for sizes or key
// lengths that the table above never passes.
func must(h hash.Hash, err error) hash.Hash {
	if err != nil {
		panic(err)
	}
	return h
}

func (a Algorithm) info() *algorithm {
	if a < 0 || int(a) >= len(algorithms) {
		return nil
	}
	return &algorithms[a]
}

// String returns Qt's name for the algorithm, such as "Sha256" or
// "RealSha3_256", or "Algorithm(N)" for a number Qt does not define.
func (a Algorithm) String() string {
	if i := a.info(); i != nil {
		return i.name
	}
	return "Algorithm(" + strconv.Itoa(int(a)) + ")"
}

// Size returns the digest size in bytes, or 0 for an unknown algorithm.
// Algorithms that are known but not supported still have a size.
func (a Algorithm) Size() int {
	if i := a.info(); i != nil {
		return i.size
	}
	return 0
}

// Supported reports whether cookies can be made with a. The error wraps
// [ErrUnknownAlgorithm] or [ErrUnsupportedAlgorithm] and says which algorithm
// and why.
func (a Algorithm) Supported() error {
	i := a.info()
	if i == nil {
		return &algorithmError{a, ErrUnknownAlgorithm, ""}
	}
	if i.new == nil {
		return &algorithmError{a, ErrUnsupportedAlgorithm, i.why}
	}
	return nil
}

var (
	// ErrUnknownAlgorithm is returned for a number that names no algorithm.
	ErrUnknownAlgorithm = errors.New("cookie: unknown hash algorithm")
	// ErrUnsupportedAlgorithm is returned for an algorithm Qt defines but
	// this package cannot compute faithfully.
	ErrUnsupportedAlgorithm = errors.New("cookie: unsupported hash algorithm")
)

type algorithmError struct {
	alg Algorithm
	err error  // ErrUnknownAlgorithm or ErrUnsupportedAlgorithm
	why string // for unsupported algorithms
}

func (e *algorithmError) Error() string {
	if e.err == ErrUnknownAlgorithm {
		return "cookie: unknown hash algorithm " + e.alg.String()
	}
	return "cookie: hash algorithm " + e.alg.String() + " is not supported: " + e.why
}

func (e *algorithmError) Unwrap() error { return e.err }
