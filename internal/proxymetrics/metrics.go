// SPDX-License-Identifier: MIT

// Package proxymetrics gives dtlsgate-proxy its Prometheus endpoint
// (--metrics). What the DTLS endpoint already counts (core/server's Stats:
// sessions, handshakes, datagrams and bytes on the device side, drops) is
// read when Prometheus scrapes, so the endpoint's fast path pays nothing
// for it; what only the proxy sees (the backend side, handshake times, a
// device with no backend) it reports through the methods of Metrics, which
// are safe for concurrent use and cost an atomic add each.
//
// Every metric is in a registry of its own, not Prometheus's global one,
// so two proxies in one process (tests) do not collide.
package proxymetrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/dtlsgate/dtlsgate/core/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "dtlsgate_proxy"

// Label values of the drop reasons, each fed by these counters:
//
//	limit        Stats.RefusedFull, Stats.DroppedBuffered
//	bad_record   Stats.DroppedStranger, Stats.DroppedBadPeer, Stats.DroppedTooLarge
//	unknown_cid  Stats.DroppedUnknownCID
//	no_backend   Metrics.NoBackend
const (
	DropLimit      = "limit"
	DropBadRecord  = "bad_record"
	DropUnknownCID = "unknown_cid"
	DropNoBackend  = "no_backend"
)

// Label values of the reasons a handshake failed:
//
//	alert    Stats.HandshakesFailed: refused (unknown identity) or ended by an alert (wrong key)
//	timeout  Stats.HandshakeTimeouts: the deadline or the retransmissions ran out
//	evicted  Stats.EvictedHalfOpen, EvictedHalfOpenPerIP, EvictedForSession: a limit made room
const (
	FailAlert   = "alert"
	FailTimeout = "timeout"
	FailEvicted = "evicted"
)

// Metrics is the proxy's set of metrics and the registry holding them.
type Metrics struct {
	reg   *prometheus.Registry
	stats func() server.Stats

	handshake prometheus.Histogram

	backendDatagramsIn, backendDatagramsOut atomic.Uint64
	backendBytesIn, backendBytesOut         atomic.Uint64
	backendErrors, noBackend                atomic.Uint64

	sessions, halfOpen, completed, verifies, failed, datagrams, bytes, dropped *prometheus.Desc
	backendErrorsDesc                                                          *prometheus.Desc
}

// New makes the metrics of a proxy whose endpoint's counters stats
// returns (Endpoint.Stats; it must be safe to call at any time).
func New(stats func() server.Stats) *Metrics {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
	}
	m := &Metrics{
		reg:   prometheus.NewRegistry(),
		stats: stats,
		handshake: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "handshake_duration_seconds",
			Help:      "Time from a ClientHello with a valid cookie to the completed handshake.",
			// 1 ms (loopback) to 10 s (lossy links, retransmissions).
			Buckets: prometheus.ExponentialBucketsRange(0.001, 10, 14),
		}),
		sessions:  desc("sessions", "Established DTLS sessions with devices."),
		halfOpen:  desc("half_open_handshakes", "Handshakes past the cookie exchange, not yet complete."),
		completed: desc("handshakes_completed_total", "Handshakes completed."),
		verifies:  desc("hello_verify_requests_total", "HelloVerifyRequests sent (cookie exchanges started)."),
		failed:    desc("handshakes_failed_total", "Handshakes that did not complete, by reason.", "reason"),
		datagrams: desc("datagrams_total", "UDP datagrams, by side (device: DTLS, backend: plain) and direction (in: received by the proxy).", "side", "direction"),
		bytes:     desc("bytes_total", "UDP payload bytes, by side and direction as datagrams_total.", "side", "direction"),
		dropped:   desc("dropped_total", "Datagrams dropped, by reason.", "reason"),

		backendErrorsDesc: desc("backend_errors_total", "Failed reads and writes on backend sockets, and backend sockets that could not be opened."),
	}
	m.reg.MustRegister(m, m.handshake,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is where the metrics are, for a test or an embedding program.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Connected records a completed handshake that took d (Event.Handshake).
func (m *Metrics) Connected(d time.Duration) { m.handshake.Observe(d.Seconds()) }

// ToBackend records a datagram of n bytes sent to a backend.
func (m *Metrics) ToBackend(n int) {
	m.backendDatagramsOut.Add(1)
	m.backendBytesOut.Add(uint64(n))
}

// FromBackend records a datagram of n bytes received from a backend.
func (m *Metrics) FromBackend(n int) {
	m.backendDatagramsIn.Add(1)
	m.backendBytesIn.Add(uint64(n))
}

// BackendError records a backend socket that failed to open, read or write.
func (m *Metrics) BackendError() { m.backendErrors.Add(1) }

// NoBackend records a device datagram dropped because its identity has no
// backend.
func (m *Metrics) NoBackend() { m.noBackend.Add(1) }

// Describe is part of prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.sessions, m.halfOpen, m.completed, m.verifies, m.failed,
		m.datagrams, m.bytes, m.dropped, m.backendErrorsDesc} {
		ch <- d
	}
}

// Collect is part of prometheus.Collector: the endpoint's counters as
// they are now, with the proxy's own.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	st := m.stats()
	gauge := func(d *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(m.sessions, st.Sessions-st.HalfOpen)
	gauge(m.halfOpen, st.HalfOpen)
	counter(m.completed, st.HandshakesCompleted)
	counter(m.verifies, st.HelloVerifies)
	counter(m.failed, st.HandshakesFailed, FailAlert)
	counter(m.failed, st.HandshakeTimeouts, FailTimeout)
	counter(m.failed, st.EvictedHalfOpen+st.EvictedHalfOpenPerIP+st.EvictedForSession, FailEvicted)
	counter(m.datagrams, st.Datagrams, "device", "in")
	counter(m.datagrams, st.DatagramsOut, "device", "out")
	counter(m.datagrams, m.backendDatagramsIn.Load(), "backend", "in")
	counter(m.datagrams, m.backendDatagramsOut.Load(), "backend", "out")
	counter(m.bytes, st.BytesIn, "device", "in")
	counter(m.bytes, st.BytesOut, "device", "out")
	counter(m.bytes, m.backendBytesIn.Load(), "backend", "in")
	counter(m.bytes, m.backendBytesOut.Load(), "backend", "out")
	counter(m.dropped, st.RefusedFull+st.DroppedBuffered, DropLimit)
	counter(m.dropped, st.DroppedStranger+st.DroppedBadPeer+st.DroppedTooLarge, DropBadRecord)
	counter(m.dropped, st.DroppedUnknownCID, DropUnknownCID)
	counter(m.dropped, m.noBackend.Load(), DropNoBackend)
	counter(m.backendErrorsDesc, m.backendErrors.Load())
}

// Handler serves the metrics in Prometheus's formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Serve listens on address (host:port) and serves the metrics at /metrics
// until ctx is done. It returns the address it listens on once it does;
// errors of the server after that go to errs, if not nil.
func (m *Metrics) Serve(ctx context.Context, address string, errs func(error)) (net.Addr, error) {
	ln, err := net.Listen("tcp", address)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) && errs != nil {
			errs(err)
		}
	}()
	context.AfterFunc(ctx, func() { srv.Close() })
	return ln.Addr(), nil
}
