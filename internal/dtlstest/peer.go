// SPDX-License-Identifier: MIT

package dtlstest

// Real DTLS peers (the openssl and gnutls command-line programs) for the
// interoperability tests of core/session and core/server.

import (
	"context"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Time limits for a peer, generous because `make test` may run on a loaded
// two-core machine under the race detector.
const (
	PeerLifetime = 45 * time.Second // a peer process is killed after this whatever happens
	OutputLimit  = 10 * time.Second // for a peer to print something, exit, or send data
)

// Peer is an openssl or gnutls process. Its stdout and stderr go to one
// buffer: the programs spread what we look for over both.
type Peer struct {
	Name   string
	Stdin  io.WriteCloser
	exited chan struct{} // closed once the process has exited

	mu   sync.Mutex
	out  []byte
	grew chan struct{} // holds a token when out has grown since the last look
}

// Write collects the peer's output.
func (p *Peer) Write(b []byte) (int, error) {
	p.mu.Lock()
	p.out = append(p.out, b...)
	p.mu.Unlock()
	select {
	case p.grew <- struct{}{}:
	default:
	}
	return len(b), nil
}

// Output returns everything the peer printed so far.
func (p *Peer) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return string(p.out)
}

// StartPeer runs a peer program. It is killed when the test ends, or after
// PeerLifetime, and what it printed is logged if the test failed.
func StartPeer(t *testing.T, args ...string) *Peer {
	t.Helper()
	path, err := exec.LookPath(args[0])
	if err != nil {
		t.Fatalf("%s is needed (%v): run scripts/ensure-deps.sh build test", args[0], err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), PeerLifetime)
	cmd := exec.CommandContext(ctx, path, args[1:]...)
	p := &Peer{Name: args[0], exited: make(chan struct{}), grew: make(chan struct{}, 1)}
	cmd.Stdout, cmd.Stderr = p, p
	cmd.WaitDelay = time.Second // a killed process's children must not keep Wait waiting on the pipes
	if p.Stdin, err = cmd.StdinPipe(); err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting %s: %v", args[0], err)
	}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.exited
		if t.Failed() {
			t.Logf("%s\n----- its output -----\n%s\n-----", strings.Join(args, " "), p.Output())
		}
	})
	return p
}

// WaitFor waits until the peer has printed want; it fails the test if the
// peer exits without printing it or OutputLimit passes.
func (p *Peer) WaitFor(t *testing.T, want string) {
	t.Helper()
	timer := time.NewTimer(OutputLimit)
	defer timer.Stop()
	for !strings.Contains(p.Output(), want) {
		select {
		case <-p.grew:
		case <-p.exited:
			// Wait has returned, so everything the peer wrote is in out.
			if !strings.Contains(p.Output(), want) {
				t.Fatalf("%s exited without printing %q", p.Name, want)
			}
			return
		case <-timer.C:
			t.Fatalf("%s did not print %q within %v", p.Name, want, OutputLimit)
		}
	}
}

// WaitExit waits for the peer to exit by itself.
func (p *Peer) WaitExit(t *testing.T) {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(OutputLimit):
		t.Fatalf("%s did not exit within %v", p.Name, OutputLimit)
	}
}
