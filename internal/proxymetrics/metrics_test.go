// SPDX-License-Identifier: MIT

package proxymetrics

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

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

// The endpoint's counters and the proxy's own, scraped over HTTP after a
// handshake that completes and one from an unknown identity.
func TestScrapeAfterHandshakes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	keys := server.NewKeyTable()
	keys.Set([]byte("alice"), key)
	var m *Metrics
	e, err := server.Listen(ctx, "127.0.0.1:0", server.ServeConfig{Workers: 1, Server: server.Config{Keys: keys},
		Handler: func(w *server.Worker, ev server.Event) {
			if ev.Kind == server.Connected {
				m.Connected(ev.Handshake)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Wait()
	defer cancel()
	m = New(e.Stats)
	addr, err := m.Serve(ctx, "127.0.0.1:0", func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + addr.String() + "/metrics"

	if _, err := dial(t, e.Addr(), "alice", key); err != nil {
		t.Fatal(err)
	}
	// Refused with an alert. (A wrong key shows as a timeout: the server
	// cannot decrypt the client's Finished, and DTLS drops such records
	// without a word.)
	if _, err := dial(t, e.Addr(), "mallory", key); err == nil {
		t.Fatal("an unknown identity got in")
	}
	m.ToBackend(10)
	m.FromBackend(20)
	m.FromBackend(1)
	m.NoBackend()
	m.BackendError()
	// The endpoint publishes its counters after each batch: the failure
	// may be counted a moment after the client gave up.
	deadline := time.Now().Add(limit)
	for e.Stats().HandshakesFailed == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}

	f := Scrape(t, url)
	st := e.Stats()
	for _, c := range []struct {
		name   string
		labels []string
		want   float64 // -2: more than 0
	}{
		{"sessions", nil, 1},
		{"half_open_handshakes", nil, 0},
		{"handshakes_completed_total", nil, 1},
		{"hello_verify_requests_total", nil, 2},
		{"handshakes_failed_total", []string{"reason", FailAlert}, 1},
		{"handshakes_failed_total", []string{"reason", FailTimeout}, 0},
		{"handshake_duration_seconds", nil, 1},
		{"datagrams_total", []string{"side", "device", "direction", "in"}, float64(st.Datagrams)},
		{"datagrams_total", []string{"side", "device", "direction", "out"}, float64(st.DatagramsOut)},
		{"bytes_total", []string{"side", "device", "direction", "in"}, float64(st.BytesIn)},
		{"bytes_total", []string{"side", "device", "direction", "out"}, float64(st.BytesOut)},
		{"bytes_total", []string{"side", "device", "direction", "in"}, -2},
		{"bytes_total", []string{"side", "device", "direction", "out"}, -2},
		{"datagrams_total", []string{"side", "backend", "direction", "out"}, 1},
		{"datagrams_total", []string{"side", "backend", "direction", "in"}, 2},
		{"bytes_total", []string{"side", "backend", "direction", "out"}, 10},
		{"bytes_total", []string{"side", "backend", "direction", "in"}, 21},
		{"dropped_total", []string{"reason", DropNoBackend}, 1},
		{"dropped_total", []string{"reason", DropLimit}, 0},
		{"dropped_total", []string{"reason", DropBadRecord}, 0},
		{"dropped_total", []string{"reason", DropUnknownCID}, 0},
		{"backend_errors_total", nil, 1},
	} {
		got := Value(f, namespace+"_"+c.name, c.labels...)
		if c.want == -2 && got <= 0 || c.want != -2 && got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if Value(f, "go_goroutines") <= 0 {
		t.Error("no Go runtime metrics")
	}
}

// A metrics address already taken is an error from Serve, not a panic or
// a silent endpoint that serves nothing.
func TestServeAddressTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	m := New(func() server.Stats { return server.Stats{} })
	if _, err := m.Serve(context.Background(), ln.Addr().String(), nil); err == nil {
		t.Fatal("Serve on a taken address succeeded")
	}
}
