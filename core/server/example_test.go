// SPDX-License-Identifier: MIT

package server_test

import (
	"context"
	"log"
	"net"
	"time"

	"github.com/dtlsgate/dtlsgate/core/server"
)

// An echo server on every core: the library owns the sockets.
func ExampleServe() {
	keys := server.NewKeyTable()
	if err := keys.LoadFile("/etc/dtls/keys.psk"); err != nil { // lines of identity:hexkey
		log.Fatal(err)
	}
	err := server.Serve(context.Background(), "[::]:4433", server.ServeConfig{
		Server: server.Config{Keys: keys},
		Handler: func(w *server.Worker, e server.Event) {
			if e.Kind == server.Data {
				w.Send(e.Peer, e.Data)
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
}

// The same server driving the sans-I/O Server over a socket of its own, one
// datagram at a time.
func ExampleServer() {
	keys := server.NewKeyTable()
	keys.Set([]byte("alice"), []byte("a key of at least sixteen bytes"))
	srv, err := server.New(server.Config{Keys: keys})
	if err != nil {
		log.Fatal(err)
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{Port: 4433})
	if err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 65536)
	var out []server.Datagram
	var events []server.Event
	for {
		deadline, ok := srv.NextDeadline()
		if !ok {
			deadline = time.Now().Add(time.Hour)
		}
		conn.SetReadDeadline(deadline)
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err == nil {
			out = srv.Input(time.Now(), from, buf[:n], out[:0])
		} else {
			out = srv.HandleTimers(time.Now(), out[:0])
		}
		events = srv.Events(events[:0])
		for _, e := range events {
			if e.Kind == server.Data {
				out, _ = srv.Send(e.Peer, e.Data, out)
			}
		}
		for _, d := range out {
			conn.WriteToUDPAddrPort(d.Data, d.To)
		}
	}
}
