// SPDX-License-Identifier: MIT

// Package cookie mints and checks the stateless cookies a DTLS server hands
// out in a HelloVerifyRequest (RFC 6347, section 4.2.1).
//
// A cookie proves that a client can receive datagrams at the address it
// claims, so the server commits no state (and sends nothing larger than the
// client's own datagram) until the client echoes a cookie back. The server
// keeps no per-client record: a cookie is an HMAC over the client's address
// under a secret only the server knows, plus enough information to check it
// later.
//
// # Cookie format v1
//
// A cookie is at most [MaxSize] (32) bytes, the limit DTLS 1.0 clients
// accept:
//
//	key_id (1) || issued_at (4) || tag
//
// key_id names the secret that made the cookie, so a server that has just
// changed secrets picks the right one without trying each. issued_at is the
// minting time in Unix seconds, big-endian, compared modulo 2^32 so the format
// outlives 2106. tag is
//
//	HMAC_hash(secret, key_id || issued_at || address || port)
//
// truncated to min(hash size, 27) bytes, where address is the client's IP
// address as 16 bytes (IPv4 as an IPv4-mapped IPv6 address; any zone is
// ignored) and port is big-endian. The HMAC input is 23 bytes, so one
// compression of the inner hash covers it.
//
// # Secrets
//
// A [Generator] holds a current secret and, after the secret has changed, the
// previous one, so handshakes in flight survive a change. Cookies expire after
// a lifetime ([DefaultLifetime] unless changed). Secrets change when the
// parameters are set, optionally on a timer ([Generator.SetRotationInterval]),
// and when leaving fleet mode ([Generator.LeaveFleet]); the timer and leaving
// fleet mode install a fresh random 32-byte secret with the same hash.
//
// Outside fleet mode, the key_id of a secret is the first byte of
//
//	SHA-256(hash number (1 byte) || secret)
//
// where hash number is the [Algorithm] value (Qt's numbering; 4 for
// [Sha256]). Generators given equal parameters therefore accept each other's
// cookies whatever secrets they had before, as Qt's verifiers sharing a
// secret do. Key ids are not unique: once in 256 changes the current and
// previous secrets share one, and a cookie with that id is then checked
// against both; a cookie from a retired secret may carry the id of a newer
// one, and is refused because its tag (or its length) does not match.
//
// In fleet mode ([Generator.SetFleet]) servers behind one load balancer share
// a master key. The secret for time window w (Unix seconds divided by the
// window length, rounded down) is
//
//	HKDF-SHA256(ikm = master key, salt = none,
//	            info = "dtlsgate cookie v1" || 0x00 || hash name || 0x00 || w as 8 bytes big-endian,
//	            length = 32)
//
// where hash name is the [Algorithm.String] of the hash (for example
// "Sha256"), and key_id is w modulo 256. Any node can therefore check a cookie
// minted by any other without talking to it. In fleet mode
// [Generator.Parameters] reports the current window's secret.
package cookie
