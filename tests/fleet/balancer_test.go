// SPDX-License-Identifier: MIT

//go:build fleet

package fleet

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// balancer is an nginx of the test's own: its configuration, pid file and
// logs live in a temporary directory, and it runs in the foreground as the
// test's child, never as the system's service.
type balancer struct {
	*process
	dir  string
	addr netip.AddrPort
}

// The nginx side of docs/deploy.md: a client (address and port) sticks to
// one node by a consistent hash, so adding or losing a node moves only the
// clients it takes or had. nginx has no health checks for UDP: a session
// to a dead node ends at the ICMP port unreachable, and a client dialing
// again from a new port is hashed anew. proxy_timeout is the stickiness:
// as long as the nodes' idle timeout, so that nginx does not move a quiet
// client to a new upstream socket (with connection IDs the node follows it
// anyway). No proxy_responses: a DTLS flight is any number of datagrams.
const nginxConf = `load_module %s;
worker_processes 1;
pid %s;
events { worker_connections 1024; }
stream {
	upstream fleet {
		hash $remote_addr$remote_port consistent;
%s	}
	server {
		listen %s udp;
		proxy_pass fleet;
		proxy_timeout 10m;
	}
}
`

func startBalancer(t *testing.T, dir string, nodes []*node) *balancer {
	b := &balancer{dir: filepath.Join(dir, "nginx"), addr: freePort(t)}
	if err := os.Mkdir(b.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := b.configure(t, nodes)
	out, err := exec.Command(nginxPath, "-t", "-q", "-p", b.dir, "-c", conf, "-e", b.errorLog()).CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	// worker_shutdown_timeout: an old worker ends 1 s after a reload
	// instead of keeping its UDP sessions for proxy_timeout.
	b.process = start(t, b.dir, "nginx", nginxPath, "-p", b.dir, "-c", conf, "-e", b.errorLog(),
		"-g", "daemon off; error_log "+b.errorLog()+" notice; worker_shutdown_timeout 1s;")
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(b.errorLog())
			t.Logf("nginx's error log:\n%s", log)
		}
	})
	b.wait(t, "start worker process", 1)
	return b
}

func (b *balancer) errorLog() string { return filepath.Join(b.dir, "error.log") }

// configure writes the configuration with nodes as the upstream servers.
func (b *balancer) configure(t *testing.T, nodes []*node) string {
	var servers strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&servers, "\t\tserver %s;\n", n.addr)
	}
	conf := filepath.Join(b.dir, "nginx.conf")
	text := fmt.Sprintf(nginxConf, streamPath, filepath.Join(b.dir, "nginx.pid"), servers.String(), b.addr)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return conf
}

// reload gives nginx nodes as its upstream servers, as an operator does
// with `nginx -s reload`, and waits until the new worker has started and
// the old one has exited.
func (b *balancer) reload(t *testing.T, nodes []*node) {
	b.configure(t, nodes)
	started, exited := b.count("start worker process"), b.count("exited with code")
	b.cmd.Process.Signal(syscall.SIGHUP)
	b.wait(t, "start worker process", started+1)
	b.wait(t, "exited with code", exited+1)
}

// count counts the lines of nginx's error log that hold each of what.
func (b *balancer) count(what ...string) int {
	log, _ := os.ReadFile(b.errorLog())
	n := 0
	for line := range strings.Lines(string(log)) {
		if !slices.ContainsFunc(what, func(w string) bool { return !strings.Contains(line, w) }) {
			n++
		}
	}
	return n
}

func (b *balancer) wait(t *testing.T, what string, n int) {
	deadline := time.Now().Add(10 * time.Second)
	for b.count(what) < n {
		select {
		case <-b.exited:
			t.Fatal("nginx exited")
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx's error log has no %d lines with %q", n, what)
		}
	}
}
