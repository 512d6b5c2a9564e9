// SPDX-License-Identifier: MIT

package main

import "strings"

// buildVersion is set by the Makefile (-X main.buildVersion=...) from
// include/dtlsgate.h, the one place the version is written.
var buildVersion = "devel"

func version() string { return buildVersion }

// manual is --help: a manual page, with the extensions' options in it.
func manual() string {
	var extra strings.Builder
	for _, x := range extensions {
		extra.WriteString(x.help)
	}
	return strings.Replace(manualText, "@EXTENSIONS@\n", extra.String(), 1)
}

const manualText = `NAME
       dtlsgate-proxy - DTLS 1.2 with pre-shared keys in front of a plain UDP service

SYNOPSIS
       dtlsgate-proxy --psk-file FILE --backend HOST:PORT [--listen ADDR] [OPTION]...
       dtlsgate-proxy --psk-file FILE --route-file FILE [--unrouted refuse] [OPTION]...

DESCRIPTION
       dtlsgate-proxy terminates DTLS 1.2 (RFC 6347) with pre-shared keys (RFC 4279)
       on a UDP port and passes the plaintext on to a UDP service that knows no
       DTLS: a CoAP server, a game server, a telemetry collector.

       A client first proves with a cookie (HelloVerifyRequest) that it receives at
       its address, then authenticates with its identity and key. Each device that
       does gets a UDP socket of its own, connected to its backend: the backend sees
       one address per device, and what it sends to that address goes back to that
       device, encrypted. The socket is closed when the session ends (close_notify,
       idle timeout, a removed key, shutdown).

       Devices that offer Connection IDs (RFC 9146) keep their session when their
       address changes (a NAT rebinding): replies go to the new address.

OPTIONS
   Where
       --listen ADDR
              The DTLS address. "[::]:PORT" is IPv4 and IPv6. Default [::]:5684.
       --backend HOST:PORT
              The default backend, for identities that --route-file does not list.
       --route-file FILE
              Backends by identity: one "IDENTITY HOST:PORT" a line (the last field is
              the backend, so an identity may hold spaces); "#" starts a comment line.
       --unrouted backend|refuse
              What identities absent from --route-file get: the --backend (default),
              or a refusal (their keys are not loaded, their handshakes fail).
       --workers N
              Sockets and goroutines sharing the port (SO_REUSEPORT). Default 0: one per
              CPU core. Fewer workers than cores also run the proxy's Go code on that
              many cores (GOMAXPROCS), unless the environment sets GOMAXPROCS.
       --read-buffer BYTES
              Each socket's receive buffer. Default 4194304; the kernel may grant less
              (net.core.rmem_max) unless the process has CAP_NET_ADMIN.

   Keys
       --psk-file FILE
              Required. One "IDENTITY:HEXKEY" a line, the format GnuTLS's psktool
              writes ("psktool -u IDENTITY -p FILE"). Read again on SIGHUP.
       --fleet-key-file FILE
              Fleet mode: a master key, in hexadecimal, at least 16 bytes ("openssl rand
              -hex 32"), shared by every node behind one UDP load balancer: a cookie
              one node sends verifies on all of them. Read again on SIGHUP; a new key
              refuses the cookies in flight (their clients simply ask again).
       --fleet-window DURATION
              How long one cookie secret derived from the fleet key is used. Default 1h.
       --fleet-max-skew DURATION
              The largest clock difference between nodes. Default 10s.

   Limits
       --max-sessions N
              Sessions held at once, handshakes included. Default 100000. A newcomer
              beyond it takes the place of an idle session, else of the oldest
              handshake; an active session is never pushed out.
       --max-half-open N
              Handshakes in progress. Default 1000; the oldest makes room.
       --max-half-open-per-ip N
              Handshakes in progress from one IPv4 address or IPv6 /64. Default 8.
       --max-buffered-bytes N
              What one session may hold for the proxy. Default 16384.
       --handshake-deadline DURATION
              A handshake not complete by then fails. Default 30s.
       --idle-timeout DURATION
              A session (and its backend socket) without data either way for this long
              is closed with close_notify. Default 10m; 0 turns it off.
       --idle-after DURATION
              Without data for this long, a session counts as idle: it may make room
              for a newcomer under --max-sessions. Default 1m.

   Connection IDs
       --cid-length N
              Length of the Connection IDs given to the clients that ask for them.
              Default 8; 0 turns them off.
       --node-id N
              1 to 255: the first byte of every Connection ID, so that a load balancer
              or another node can tell which node holds a session. Default 0: none.

   Logging
       --log-format text|json
              Log lines on standard error, as text (default) or JSON (log/slog).
       --log-level debug|info|warn|error
              Default info: one line per connect (identity, peer, cipher, backend)
              and per close (reason, duration, bytes each way).
@EXTENSIONS@
   Other
       --help Print this manual and exit.
       --version
              Print the version and exit.

SIGNALS
       SIGHUP Read --psk-file, --route-file and --fleet-key-file again. Sessions go on,
              except those of an identity whose key was removed or changed, or whose
              backend changed, which are closed. If a file is wrong, the old ones stay in force and an error is
              logged.
       SIGTERM, SIGINT
              Send close_notify to every device, close the sockets and exit 0.

EXIT STATUS
       0 stopped by SIGTERM or SIGINT; 1 a file could not be read or is wrong, or the
       address could not be bound; 2 the command line is wrong.

EXAMPLE
       psktool -u sensor-1 -p /etc/dtlsgate/keys.txt
       dtlsgate-proxy --listen [::]:5684 --backend 127.0.0.1:5683 \
              --psk-file /etc/dtlsgate/keys.txt
       coap-client-openssl -u sensor-1 -k KEY coaps://[::1]/
`
