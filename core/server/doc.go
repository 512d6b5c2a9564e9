// SPDX-License-Identifier: MIT

// Package server is a DTLS 1.2 PSK server endpoint: many sessions behind
// one cookie verifier, with their timers, limits and key lookup, so that an
// application only moves datagrams and reads events.
//
// At its heart, Server does no I/O. The caller passes each datagram with
// its source address to Input and sends what it returns; it calls
// HandleTimers when NextDeadline comes; it takes Connected, Data and Closed
// events with Events, and talks back with Send, Close and Shutdown. Serve
// (serve.go) is that loop over UDP sockets, one worker per core.
//
// # What a datagram meets
//
// A datagram from an address without a session must be a ClientHello. The
// verifier (core/verifier) answers one without a valid cookie with a
// HelloVerifyRequest, never larger than the hello, and the server keeps
// nothing: spoofed hellos cost one HMAC each and no memory. Only a hello
// whose cookie proves the client receives at its address creates a session.
// Anything else from a stranger is dropped without an answer.
//
// A datagram from an address with a session goes to that session, which
// authenticates what it takes: garbage and forgeries are dropped without
// ending it. A valid-cookie ClientHello from the address of an established
// session is a restarted client (RFC 6347 section 4.2.8): a new handshake
// starts beside the old session, which keeps working until the new one
// completes and takes its place (a Closed event with ClosedReplaced, then
// Connected). A hello with the client random of the one a session started
// from is a copy, not a restart: an established session ignores it, a
// handshake in progress takes it as a retransmission.
//
// # Limits
//
// Every limit has a safe default and a Stats counter that counts each time
// it bites:
//
//	Config field       default   when it bites
//	MaxSessions        100000    a newcomer takes the place of the least recently active
//	                             idle session (no application data either way for
//	                             IdleAfter, default 1 min), else of the oldest half-open
//	                             handshake, else it is refused: an active session is
//	                             never evicted by a newcomer
//	MaxHalfOpen        1000      the oldest handshake in progress makes room
//	MaxHalfOpenPerIP   8         the same source's (IPv4 address, IPv6 /64) oldest handshake makes room
//	HandshakeDeadline  30 s      (Session.HandshakeDeadline) the handshake fails
//	IdleTimeout        10 min    close_notify and Closed(ClosedIdle); NoIdleTimeout: never
//	MaxBufferedBytes   16 KiB    per session: handshake messages being reassembled, and
//	                             data the application has not taken; beyond it, dropped
//
// A handshake that can only be finished by a client holding a key costs an
// attacker a round trip per address it owns, and a real client finishes in
// two: evicting the oldest half-open handshake lets real clients in during
// a flood of squatters. Established sessions need a key, so only clients
// the application trusts can fill MaxSessions, and even they cannot push
// out an active session. Many real clients behind one address (a NAT)
// starting at the same moment evict each other's handshakes beyond
// MaxHalfOpenPerIP: such a site raises it.
//
// # Memory
//
// Measured by TestMemoryPerSessionAlloc (Go 1.26, amd64), everything the server
// holds included: about 2.0 KB per half-open handshake with a PSK suite
// (2.4 KB with ECDHE_PSK) and 2.7 KB per established session (3.1 KB with
// ECDHE_PSK). A peer past the cookie exchange can add at most
// MaxBufferedBytes of handshake fragments and four records of at most 2 KB
// (epoch-1 records that came before the ChangeCipherSpec) to its half-open
// handshake: TestHalfOpenBufferBounded measures 18.4 KB for one so filled,
// so the default half-open table holds at most about 1000 x 26 KB.
//
// # Keys
//
// A client's identity is looked up in Config.Keys, a KeyTable (set,
// remove, replace, load from a file of `identity:hexkey` lines as GnuTLS'
// psktool writes), then given to Config.PSK. That function may answer
// later: the handshake waits, within its deadline, until ResolvePSK or
// RefusePSK.
//
// # Goroutines
//
// A Server belongs to the goroutine that drives it: no method may be called
// from two goroutines at once, and the PSKFunc runs inside Input on that
// goroutine. A KeyTable and a verifier may be shared by many servers.
//
// # Serve
//
// Listen (and Serve, its blocking form) opens one UDP socket per worker on
// the same address with SO_REUSEPORT, so the kernel spreads clients over
// the workers by their address; "[::]:port" is dual stack. Each worker has
// its own Server, and all share one verifier, key table and PSKFunc. A
// worker runs two goroutines: one reads batches of datagrams (recvmmsg,
// through golang.org/x/net's ReadBatch), the other drives the Server, writes
// its answers in batches (sendmmsg) and hands out events, to the Handler
// (on that goroutine, in order per peer) or to the Events channel. The
// application's Endpoint.Send, Close, ResolvePSK and RefusePSK calls are
// queued to the worker that owns the peer. The receive buffer defaults to
// 4 MB; Endpoint.ReadBuffer says what the kernel granted (it caps at
// net.core.rmem_max without CAP_NET_ADMIN). Cancelling the context sends
// close_notify to every connected peer, closes the sockets and the Events
// channel.
package server
