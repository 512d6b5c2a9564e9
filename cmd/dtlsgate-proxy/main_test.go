// SPDX-License-Identifier: MIT

package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dtlsgate/dtlsgate/core/psk"
	"github.com/dtlsgate/dtlsgate/core/session"
	"github.com/dtlsgate/dtlsgate/internal/dtlsnet"
)

// The manual documents every flag there is.
func TestHelpNamesEveryFlag(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"--help"}, &out, &errs, nil); code != exitOK || errs.Len() != 0 {
		t.Fatalf("--help: exit %d, stderr %q", code, errs.String())
	}
	man := out.String()
	for _, section := range []string{"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SIGNALS", "EXIT STATUS", "EXAMPLE"} {
		if !strings.Contains(man, "\n"+section+"\n") && !strings.HasPrefix(man, section+"\n") {
			t.Errorf("the manual has no %s section", section)
		}
	}
	flags(&options{}).VisitAll(func(f *flag.Flag) {
		if !regexp.MustCompile(`(?m)^\s+--` + regexp.QuoteMeta(f.Name) + `\b`).MatchString(man) {
			t.Errorf("the manual does not describe --%s", f.Name)
		}
	})
	if strings.Contains(man, "@EXTENSIONS@") {
		t.Error("the extensions' placeholder is left in the manual")
	}
}

// A wrong command line is exit status 2 with a message naming what is
// wrong; a file that cannot be used is exit status 1.
func TestBadCommandLines(t *testing.T) {
	dir := t.TempDir()
	keys := write(t, dir, "keys", "alice:00ff\n")
	base := []string{"--psk-file", keys, "--backend", "127.0.0.1:9", "--listen", "127.0.0.1:0"}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--bogus"}, exitUsage, "flag provided but not defined: -bogus"},
		{[]string{"--backend", "127.0.0.1:9"}, exitUsage, "--psk-file is required"},
		{[]string{"--psk-file", keys}, exitUsage, "--backend or --route-file is required"},
		{append(base, "extra"), exitUsage, `unexpected argument "extra"`},
		{append(base, "--workers", "x"), exitUsage, `invalid value "x" for flag -workers`},
		{append(base, "--workers", "-1"), exitUsage, "--workers -1 is negative"},
		{append(base, "--max-sessions", "0"), exitUsage, "--max-sessions 0: want at least 1"},
		{append(base, "--node-id", "256"), exitUsage, "--node-id 256"},
		{append(base, "--node-id", "3", "--cid-length", "1"), exitUsage, "--node-id needs a --cid-length of at least 2"},
		{append(base, "--cid-length", "17"), exitUsage, "--cid-length 17"},
		{append(base, "--idle-timeout", "-1s"), exitUsage, "--idle-timeout -1s is negative"},
		{append(base, "--handshake-deadline", "0"), exitUsage, "--handshake-deadline 0s"},
		{append(base, "--unrouted", "drop"), exitUsage, `--unrouted "drop"`},
		{append(base, "--unrouted", "refuse"), exitUsage, "--unrouted refuse needs a --route-file"},
		{append(base, "--fleet-window", "1m"), exitUsage, "need a --fleet-key-file"},
		{append(base, "--fleet-key-file", keys, "--fleet-window", "1500ms"), exitUsage, "--fleet-window 1.5s"},
		{append(base, "--log-format", "xml"), exitUsage, `--log-format "xml"`},
		{append(base, "--log-level", "loud"), exitUsage, `--log-level "loud"`},
		{[]string{"--psk-file", filepath.Join(dir, "none"), "--backend", "127.0.0.1:9"}, exitError, "no such file"},
		{append(base, "--route-file", write(t, dir, "routes", "alice\n")), exitError, "routes:1:"},
		{append(base, "--fleet-key-file", keys), exitError, "not hexadecimal"},
		{append(base, "--backend", "127.0.0.1:0"), exitError, "need a host and a port"},
		{[]string{"--psk-file", keys, "--backend", "127.0.0.1:9", "--listen", "256.0.0.1:1"}, exitError, "256.0.0.1"},
	} {
		var out, errs bytes.Buffer
		code := run(tc.args, &out, &errs, make(chan os.Signal))
		if code != tc.code || !strings.Contains(errs.String(), tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, code, errs.String(), tc.code, tc.want)
		}
		if tc.code == exitUsage && !strings.Contains(errs.String(), "Try 'dtlsgate-proxy --help'.") {
			t.Errorf("%q: no pointer to --help", tc.args)
		}
	}
}

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// lockedBuffer is standard error for a run in another goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// await waits until the log has a line matching re and returns its
// submatches.
func await(t *testing.T, log *lockedBuffer, re string) []string {
	t.Helper()
	r := regexp.MustCompile(re)
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if m := r.FindStringSubmatch(log.String()); m != nil {
			return m
		}
	}
	t.Fatalf("no log line matching %s:\n%s", re, log.String())
	return nil
}

// The program end to end, with JSON logs: a client gets through to the
// backend; SIGHUP with its key removed ends its session; SIGTERM stops the
// program with exit status 0.
func TestSignals(t *testing.T) {
	dir := t.TempDir()
	backend, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := backend.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			backend.WriteToUDPAddrPort(append([]byte("echo: "), buf[:n]...), from)
		}
	}()
	keys := write(t, dir, "keys", "alice:a11ce0\nbob:b0b0\n")
	signals := make(chan os.Signal, 1)
	var stderr lockedBuffer
	code := make(chan int)
	go func() {
		code <- run([]string{"--listen", "127.0.0.1:0", "--backend", backend.LocalAddr().String(), "--psk-file", keys,
			"--workers", "2", "--log-format", "json"}, &bytes.Buffer{}, &stderr, signals)
	}()
	addr := netip.MustParseAddrPort(await(t, &stderr, `"msg":"listening","address":"([^"]+)"`)[1])

	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c, err := dtlsnet.Dial(conn, addr, session.Config{PSK: func(a *psk.Authenticator) {
		a.SetIdentity([]byte("alice"))
		a.SetPreSharedKey([]byte{0xa1, 0x1c, 0xe0})
	}}, time.Now().Add(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Read(time.Now().Add(10 * time.Second)); err != nil || string(got) != "echo: hi" {
		t.Fatalf("reply %q, %v", got, err)
	}
	line := await(t, &stderr, `\{[^\n]*"msg":"connect"[^\n]*\}`)[0]
	var connect map[string]any
	if err := json.Unmarshal([]byte(line), &connect); err != nil {
		t.Fatal(err)
	}
	if connect["identity"] != "alice" || connect["peer"] != conn.LocalAddr().String() || connect["cipher"] != "PSK-AES128-GCM-SHA256" {
		t.Fatalf("connect line %s", line)
	}

	write(t, dir, "keys", "bob:b0b0\n")
	signals <- syscall.SIGHUP
	if _, err := c.Read(time.Now().Add(10 * time.Second)); err == nil || c.Session.IsConnectionEncrypted() {
		t.Fatalf("alice's session went on after her key was removed: %v", err)
	}
	await(t, &stderr, `"msg":"reloaded","keys":1,"routes":0,"sessions_ended":1`)
	await(t, &stderr, `"msg":"close","identity":"alice"`)

	write(t, dir, "keys", "bob:zz\n")
	signals <- syscall.SIGHUP
	await(t, &stderr, `"msg":"reload failed; the files in force stay","error":"PSK file [^"]*keys:1: the key of \\"bob\\" is not hexadecimal`)

	signals <- syscall.SIGTERM
	select {
	case got := <-code:
		if got != exitOK {
			t.Fatalf("exit %d after SIGTERM:\n%s", got, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM did not stop the program")
	}
	await(t, &stderr, `"msg":"stopped","handshakes":1`)
}

// Under systemd (Type=notify) the proxy says READY=1 once it listens, and
// not before: systemd holds reloads back until then.
func TestNotifiesSystemdWhenListening(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "notify")
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	t.Setenv("NOTIFY_SOCKET", name)
	keys := write(t, dir, "keys", "alice:a11ce0\n")
	var stderr lockedBuffer
	signals, code := make(chan os.Signal, 1), make(chan int)
	go func() {
		code <- run([]string{"--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9", "--psk-file", keys},
			&bytes.Buffer{}, &stderr, signals)
	}()
	sock.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64)
	n, err := sock.Read(buf)
	if err != nil || string(buf[:n]) != "READY=1" {
		t.Fatalf("notification %q, %v", buf[:n], err)
	}
	if !strings.Contains(stderr.String(), "msg=listening") {
		t.Fatalf("READY=1 before the proxy listened:\n%s", stderr.String())
	}
	signals <- syscall.SIGTERM
	if got := <-code; got != exitOK {
		t.Fatalf("exit %d:\n%s", got, stderr.String())
	}
}

// Fewer workers than cores run the Go code on that many cores, unless the
// environment says otherwise.
func TestWorkersSetCores(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("one core: nothing to choose")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	t.Setenv("GOMAXPROCS", "")
	os.Unsetenv("GOMAXPROCS")
	useCores(1)
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("--workers 1: GOMAXPROCS %d", got)
	}
	runtime.GOMAXPROCS(runtime.NumCPU())
	useCores(0)
	useCores(runtime.NumCPU() + 1)
	if got := runtime.GOMAXPROCS(0); got != runtime.NumCPU() {
		t.Fatalf("the default and more workers than cores: GOMAXPROCS %d", got)
	}
	t.Setenv("GOMAXPROCS", fmt.Sprint(runtime.NumCPU()))
	useCores(1)
	if got := runtime.GOMAXPROCS(0); got != runtime.NumCPU() {
		t.Fatalf("GOMAXPROCS in the environment was overridden: %d", got)
	}
}
