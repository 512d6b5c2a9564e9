// SPDX-License-Identifier: MIT

// Package session is a DTLS 1.2 engine for pre-shared keys, client and
// server, in the shape of Qt's QDtls and without any I/O of its own.
//
// The application owns the UDP socket. It passes each datagram from the
// peer to DoHandshake (during the handshake) or DecryptDatagram (after it),
// sends every datagram Outgoing returns, and calls HandleTimeout when
// Timeout says a timer is due: a retransmission, or the handshake deadline. Nothing blocks, nothing
// runs in the background, and a Session is not safe for concurrent use.
// Once the connection is encrypted, Seal and Open carry application data
// one record at a time in the caller's buffers, queueing and allocating
// nothing; Open leaves whatever is not a lone application-data record
// (alerts, a repeated Finished) to DecryptDatagram.
//
// A server session starts from the ClientHello a verifier
// (core/verifier) accepted: DoHandshake checks that hello's cookie again
// with Config.Cookies, statelessly, and goes on from message_seq 1. The
// key is asked for through Config.PSK with a psk.Authenticator, as Qt
// emits pskRequired: the server gets the client's identity, the client
// gets the server's identity hint and sets identity and key.
//
// What the engine implements, with the RFCs it follows:
//   - the handshake of RFC 6347 with the PSK key exchanges of RFC 4279 and
//     RFC 5489 (ECDHE_PSK, groups x25519, secp256r1, secp384r1);
//   - the suites in Suites, AEAD (RFC 5288, 6655, 7905) and CBC with HMAC;
//   - the extended master secret (RFC 7627) whenever the peer offers it;
//   - renegotiation_info (RFC 5746) for the initial handshake, and no
//     renegotiation: a ClientHello or HelloRequest after the handshake gets
//     a no_renegotiation warning;
//   - retransmission with a timer from 1 s doubling to 60 s, resent early
//     only for a true copy of the peer's last message and then at most once
//     per period, reassembly of fragmented and reordered messages,
//     fragmentation to Config.MTU;
//   - a handshake deadline (Config.HandshakeDeadline, 30 s by default)
//     after which a handshake fails however many retransmissions are left;
//   - a 64-record anti-replay window per epoch, moved only by records that
//     authenticated (epoch 1) or brought something new (epoch 0);
//   - connection IDs (RFC 9146) when Config.ConnectionIDLength asks for
//     them and the peer agrees: tls12_cid records with the real content
//     type inside, authenticated as section 5 says; MovePeer follows a
//     peer to a new address only on an authenticated record newer than
//     any before it (section 6). A server answers a client that offers
//     them by default; a client offers them only when told to.
//
// The CBC suites come last in the default order. Their records are opened
// by this package's own code, which judges padding and MAC together and
// hashes as many bytes whatever the padding says (against the Lucky
// Thirteen family of attacks); as in crypto/tls, the final hash block can
// still differ by one with the length. Prefer the AEAD suites.
//
// It does not do session resumption, certificates, compression,
// encrypt_then_mac or DTLS 1.0 (a DTLS 1.0 client gets a protocol_version
// alert), and it sends no padding in tls12_cid records (it strips the
// peer's).
//
// Errors are reported as Qt does: calls return false (or -1, or nil) and
// DtlsError and DtlsErrorString say why, with QDtlsError's codes. A failed
// handshake sends the peer the matching fatal alert and returns the
// session to HandshakeNotStarted. Records that fail authentication are
// dropped silently, during the handshake too (RFC 6347 section 4.1.2.7),
// so that garbage from a stranger cannot end it. The price: with
// different keys neither side can read the other's Finished, and both give
// up only at the handshake deadline, with an error that names the likely
// cause. A Finished that decrypts but does not match fails at once with
// decrypt_error.
//
// The PSK callback may read the session but not change it: such calls
// return InvalidOperation there, and Close takes effect once the callback
// returns. Close wipes the key material the session holds. A server's
// callback may instead call DeferPSK and answer later with ResolvePSK, so
// a slow key lookup does not block the loop.
package session
