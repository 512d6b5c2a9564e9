// SPDX-License-Identifier: MIT

package proxymetrics

import (
	"context"
	"net"
	"os"
	"testing"
	"time"
)

// The metrics endpoint used to accept every TCP connection and keep each
// one, after a request, for as long as its client kept it open (no idle
// timeout): anyone who reached the port could take the proxy's file
// descriptors, which its devices' backend sockets need, with idle
// connections. It now serves a few connections at once and drops idle
// ones.
func TestReview7FindingMetricsConnectionsTakeDescriptors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- New().Serve(ctx, ln) }()
	defer func() { stop(); <-served }()
	fds := func() int {
		e, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip("no /proc/self/fd")
		}
		return len(e)
	}
	before := fds()
	const clients = 40
	for range clients {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// One request, its answer left unread, the connection kept.
		if _, err := c.Write([]byte("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if held := fds() - before - clients; held > maxMetricsConns {
		t.Fatalf("the metrics endpoint holds %d connections of %d idle clients", held, clients)
	}
}
