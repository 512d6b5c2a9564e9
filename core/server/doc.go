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
// handshake in progress takes it as a retransmission. A late copy of the
// hello of a handshake that a newer one from the same address replaced is
// ignored too.
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
// holds included: about 2.4 KB per half-open handshake with a PSK suite
// (2.8 KB with ECDHE_PSK) and 2.7 KB per established session (4.4 KB with
// ECDHE_PSK); a client with a connection ID adds about 0.2 KB to either. A peer past the cookie exchange can make its half-open
// handshake hold more: its ClientHello, twice (at most MaxHello, 2 KB;
// longer ones are dropped); MaxBufferedBytes of handshake messages, being
// reassembled or delivered; the PSK identity it sends (within those, and
// once more for the events); four records of at most 2 KB (epoch-1 records
// that came before the ChangeCipherSpec). Measured: 18.4 KB for one filled
// with fragments (TestHalfOpenBufferBounded), 6.5 KB with the longest hello
// (TestBigHelloBounded), 44.5 KB with the longest identity, awaiting its
// key, and early records (TestPendingPSKBufferBounded). So the default
// half-open table holds at most about 1000 x 50 KB.
//
// # Connection IDs
//
// A client that offers the connection_id extension (RFC 9146) gets a
// connection ID of Config.ConnectionIDLength bytes (8 by default;
// session.NoConnectionID turns them off), which it puts in every record it
// sends once the epoch changes (content type tls12_cid, 25). The server
// finds a session by the ID of such a record first, by the source address
// otherwise; a tls12_cid record with an ID no session holds is dropped and
// counted (Stats.DroppedUnknownCID), never shown to the verifier. Clients
// that do not offer the extension (OpenSSL, GnuTLS, Qt today) get plain
// records, as before.
//
// So a device whose NAT gave it a new address and port while it slept
// keeps its session: a record from a new address with a known ID moves
// the session there, but only if it authenticates and its sequence number
// is higher than any the session saw in that epoch (RFC 9146 section 6);
// a forged or replayed record, or an old one the network delayed, moves
// nothing (Stats.RefusedMoves), and neither does one from an address
// another session holds: a spoofed source must not end that session. In
// an Endpoint, where another worker may hold the address (a handshake
// there, or a session that moved there), such a record is dropped, and a
// ClientHello from an address another worker's session holds is too
// (Stats.DroppedBadPeer). The server then sends to the new address
// and reports a Moved event with both addresses. The move is not a proof
// that the client receives at the new address (an attacker on the path
// can redirect a genuine record): an application that is about to send
// much may want an answer from the peer at the new address first (a
// return-routability check).
//
// The format of the IDs is stable, for load balancers and peer nodes to
// route by. An ID is ConnectionIDLength bytes: with Config.NodeID n
// (1..255) the first byte is n and the rest are random; without, all are
// random. Random bytes come from crypto/rand, so IDs cannot be guessed
// from one another; an ID is unique among the sessions of a server (of
// all the workers of an Endpoint). In a tls12_cid record the ID starts at
// byte 11 of the datagram (after content type, version, epoch and
// sequence number), so the node byte of a record is its byte 11 when byte
// 0 is 25.
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
//
// The kernel spreads datagrams by their source address and port, so after
// a NAT rebinding a client's records with its connection ID may reach
// another worker than the one holding its session: workers register their
// IDs in a table they share and pass such a datagram to the owner, whose
// session then moves as above (Stats.RoutedCID counts them). The session
// stays with its worker, so each of its records from then on costs one
// more hand-over between goroutines.
package server
