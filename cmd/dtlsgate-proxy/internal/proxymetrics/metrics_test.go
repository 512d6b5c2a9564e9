// SPDX-License-Identifier: MIT

package proxymetrics

import (
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dtlsgate/dtlsgate/cmd/dtlsgate-proxy/internal/proxy"
	"github.com/dtlsgate/dtlsgate/core/psk"
	"github.com/dtlsgate/dtlsgate/core/server"
	"github.com/dtlsgate/dtlsgate/core/session"
	"github.com/dtlsgate/dtlsgate/internal/dtlsnet"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const limit = 20 * time.Second

var key = []byte("0123456789abcdef")

// dial runs a handshake with our client engine as identity with k.
func dial(t *testing.T, to netip.AddrPort, identity string, k []byte) (*dtlsnet.Conn, error) {
	t.Helper()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return dtlsnet.Dial(conn, to, session.Config{PSK: func(a *psk.Authenticator) {
		a.SetIdentity([]byte(identity))
		a.SetPreSharedKey(k)
	}}, time.Now().Add(limit))
}

// Scrape fetches url and parses the text format; it fails the test on
// text Prometheus would not take.
func Scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("the scrape does not parse: %v\n%s", err, body)
	}
	problems, err := promlint.New(strings.NewReader(string(body))).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, namespace) {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
	return families
}

// Value is the value of the sample of family name whose labels are
// labels (name=value pairs), or of its histogram's count; -1 if absent.
func Value(families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := families[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				found = found || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// backend echoes every datagram on a UDP socket until the test ends.
func backend(t *testing.T) netip.AddrPort {
	t.Helper()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			conn.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	return conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// closedPort is a UDP port nobody listens on (a moment ago someone did).
func closedPort(t *testing.T) netip.AddrPort {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// eventually polls scrape until ok says its metrics are there.
func eventually(t *testing.T, url string, ok func(map[string]*dto.MetricFamily) bool) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		f := Scrape(t, url)
		if ok(f) || time.Now().After(deadline) {
			return f
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A real proxy with its metrics served over HTTP: after alice's handshake
// and echo, bob's datagram to a backend that is not there, and mallory's
// refused handshake, each metric says what happened.
func TestScrapeAfterTraffic(t *testing.T) {
	dir := t.TempDir()
	keys, routes := filepath.Join(dir, "keys.txt"), filepath.Join(dir, "routes.txt")
	if err := os.WriteFile(keys, []byte("alice:"+hex.EncodeToString(key)+"\nbob:"+hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(routes, []byte("bob "+closedPort(t).String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := New()
	p, err := proxy.New(proxy.Config{Listen: "127.0.0.1:0", Backend: backend(t).String(), PSKFile: keys, RouteFile: routes,
		Serve: server.ServeConfig{Workers: 1}, Logger: slog.New(slog.DiscardHandler), Observer: m})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer p.Wait()
	defer cancel()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	m.SetStats(p.Stats)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- m.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Error(err)
		}
	}()
	url := "http://" + ln.Addr().String() + "/metrics"

	alice, err := dial(t, p.Addr(), "alice", key)
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Write([]byte("hello backend")); err != nil {
		t.Fatal(err)
	}
	if got, err := alice.Read(time.Now().Add(limit)); err != nil || string(got) != "hello backend" {
		t.Fatalf("echo %q %v", got, err)
	}
	bob, err := dial(t, p.Addr(), "bob", key)
	if err != nil {
		t.Fatal(err)
	}
	if err := bob.Write([]byte("anyone there?")); err != nil {
		t.Fatal(err)
	}
	// Refused with an alert. (A wrong key shows as a timeout: the server
	// cannot decrypt the client's Finished, and DTLS drops such records
	// without a word.)
	if _, err := dial(t, p.Addr(), "mallory", key); err == nil {
		t.Fatal("an unknown identity got in")
	}
	// The endpoint publishes its counters after each batch, and the ICMP
	// error comes when it comes.
	f := eventually(t, url, func(f map[string]*dto.MetricFamily) bool {
		return Value(f, namespace+"_handshakes_failed_total", "reason", FailAlert) == 1 &&
			Value(f, namespace+"_backend_errors_total", "op", "read") == 1
	})
	st := p.Stats()
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
		// atLeast: want is a floor (a client under load may send its
		// hello again, and be sent another HelloVerifyRequest)
		atLeast bool
	}{
		{"sessions", nil, 2, false},
		{"half_open_handshakes", nil, 0, false},
		{"handshakes_completed_total", nil, 2, false},
		{"hello_verify_requests_total", nil, 3, true},
		{"handshakes_failed_total", []string{"reason", FailAlert}, 1, false},
		{"handshakes_failed_total", []string{"reason", FailTimeout}, 0, false},
		{"handshakes_failed_total", []string{"reason", FailEvicted}, 0, false},
		{"handshake_duration_seconds", nil, 2, false},
		{"datagrams_total", []string{"side", "device", "direction", "in"}, float64(st.Datagrams), false},
		{"datagrams_total", []string{"side", "device", "direction", "out"}, float64(st.DatagramsOut), false},
		{"bytes_total", []string{"side", "device", "direction", "in"}, float64(st.BytesIn), false},
		{"bytes_total", []string{"side", "device", "direction", "out"}, float64(st.BytesOut), false},
		{"bytes_total", []string{"side", "device", "direction", "in"}, 1, true},
		{"bytes_total", []string{"side", "device", "direction", "out"}, 1, true},
		{"datagrams_total", []string{"side", "backend", "direction", "out"}, 2, false},
		{"datagrams_total", []string{"side", "backend", "direction", "in"}, 1, false},
		{"bytes_total", []string{"side", "backend", "direction", "out"}, float64(len("hello backend") + len("anyone there?")), false},
		{"bytes_total", []string{"side", "backend", "direction", "in"}, float64(len("hello backend")), false},
		{"dropped_total", []string{"reason", proxy.DropNoBackend.String()}, 0, false},
		{"dropped_total", []string{"reason", DropLimit}, 0, false},
		{"dropped_total", []string{"reason", DropBadRecord}, 0, false},
		{"dropped_total", []string{"reason", DropUnknownCID}, 0, false},
		{"backend_errors_total", []string{"op", "read"}, 1, false},
		{"backend_errors_total", []string{"op", "dial"}, 0, false},
	} {
		got := Value(f, namespace+"_"+c.name, c.labels...)
		if c.atLeast && got < c.want || !c.atLeast && got != c.want {
			t.Errorf("%s%v = %v, want %v (at least: %v)", c.name, c.labels, got, c.want, c.atLeast)
		}
	}
	if Value(f, "go_goroutines") <= 0 {
		t.Error("no Go runtime metrics")
	}
	// A closed session is counted by its reason.
	if err := alice.Close(); err != nil {
		t.Fatal(err)
	}
	f = eventually(t, url, func(f map[string]*dto.MetricFamily) bool {
		return Value(f, namespace+"_sessions_closed_total", "reason", "ClosedByPeer") == 1
	})
	if got := Value(f, namespace+"_sessions_closed_total", "reason", "ClosedByPeer"); got != 1 {
		t.Errorf("sessions_closed_total{reason=ClosedByPeer} = %v after alice left", got)
	}
	if got := Value(f, namespace+"_sessions"); got != 1 {
		t.Errorf("sessions = %v after alice left", got)
	}
}

// Metrics without a proxy yet read the endpoint's counters as 0: a scrape
// before the proxy listens is not an error.
func TestScrapeBeforeStart(t *testing.T) {
	m := New()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), namespace+"_sessions 0\n") {
		t.Fatalf("%d\n%s", rec.Code, rec.Body)
	}
}
