// SPDX-License-Identifier: MIT

package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// --metrics serves Prometheus's text at /metrics once the proxy listens,
// and a second run without the flag serves none.
func TestMetricsFlag(t *testing.T) {
	keys := write(t, t.TempDir(), "keys", "alice:a11ce0\n")
	signals := make(chan os.Signal, 1)
	var stderr lockedBuffer
	code := make(chan int)
	go func() {
		code <- run([]string{"--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9", "--psk-file", keys,
			"--metrics", "127.0.0.1:0"}, &bytes.Buffer{}, &stderr, signals)
	}()
	url := await(t, &stderr, `msg=metrics url=(\S+)`)[1]
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"\ndtlsgate_proxy_sessions 0\n", "\ndtlsgate_proxy_handshakes_completed_total 0\n",
		"\ndtlsgate_proxy_handshake_duration_seconds_count 0\n"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("no %q in\n%s", want[1:len(want)-1], body)
		}
	}
	signals <- syscall.SIGTERM
	if got := <-code; got != exitOK {
		t.Fatalf("exit %d:\n%s", got, stderr.String())
	}
	// The server closes once the proxy's context ends, which run does
	// not wait for.
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		resp, err := http.Get(url)
		if err != nil {
			break
		}
		resp.Body.Close()
		if time.Now().After(end) {
			t.Fatal("the metrics outlived the proxy")
		}
	}

	stderr = lockedBuffer{}
	go func() {
		code <- run([]string{"--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9", "--psk-file", keys},
			&bytes.Buffer{}, &stderr, signals)
	}()
	await(t, &stderr, `msg=listening`)
	signals <- syscall.SIGTERM
	if got := <-code; got != exitOK || strings.Contains(stderr.String(), "metrics") {
		t.Fatalf("exit %d without --metrics:\n%s", got, stderr.String())
	}
}

// A metrics address already taken stops the proxy with exit status 1 and
// says why.
func TestMetricsAddressTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	keys := write(t, t.TempDir(), "keys", "alice:a11ce0\n")
	var stderr lockedBuffer
	code := make(chan int)
	go func() {
		code <- run([]string{"--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9", "--psk-file", keys,
			"--metrics", ln.Addr().String()}, &bytes.Buffer{}, &stderr, make(chan os.Signal))
	}()
	select {
	case got := <-code:
		if got != exitError || !strings.Contains(stderr.String(), "--metrics: listen tcp "+ln.Addr().String()) {
			t.Fatalf("exit %d:\n%s", got, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy ran on without its metrics")
	}
}
