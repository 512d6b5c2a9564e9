// SPDX-License-Identifier: MIT

// Package proxymetrics gives dtlsgate-proxy its Prometheus endpoint
// (--metrics). What the DTLS endpoint already counts (core/server's Stats:
// sessions, handshakes, datagrams and bytes on the device side, drops) is
// read when Prometheus scrapes, so the endpoint's fast path pays nothing
// for it; what only the proxy sees (the backend side, handshake times, its
// own drops) comes through Metrics as the proxy's Observer, at the cost
// of an atomic add per datagram.
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

	"github.com/dtlsgate/dtlsgate/cmd/dtlsgate-proxy/internal/proxy"
	"github.com/dtlsgate/dtlsgate/core/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/net/netutil"
)

const namespace = "dtlsgate_proxy"

// Label values of dropped_total fed by the endpoint's counters; the
// proxy's own drops are labelled with proxy.DropReason's names
// (no_backend, backend_write, device_gone, too_large, key_changed).
//
//	limit        Stats.RefusedFull, Stats.DroppedBuffered
//	bad_record   Stats.DroppedStranger, Stats.DroppedBadPeer, Stats.DroppedTooLarge
//	unknown_cid  Stats.DroppedUnknownCID
const (
	DropLimit      = "limit"
	DropBadRecord  = "bad_record"
	DropUnknownCID = "unknown_cid"
)

// Label values of the reasons a handshake failed:
//
//	alert    Stats.HandshakesFailed: refused (an unknown identity) or ended by an alert
//	timeout  Stats.HandshakeTimeouts: the deadline or the retransmissions ran out (a
//	         wrong key ends so: the server cannot decrypt the client's Finished,
//	         and DTLS drops such records without a word)
//	evicted  Stats.EvictedHalfOpen, EvictedHalfOpenPerIP, EvictedForSession: a limit made room
const (
	FailAlert   = "alert"
	FailTimeout = "timeout"
	FailEvicted = "evicted"
)

// The proxy's drop reasons, as proxy.DropReason numbers them.
var proxyDrops = []proxy.DropReason{proxy.DropNoBackend, proxy.DropBackendWrite, proxy.DropDeviceGone, proxy.DropTooLarge, proxy.DropKeyChanged}

// The operations of proxy.Observer.BackendError.
var backendOps = []string{"dial", "read", "write"}

// Metrics is the proxy's set of metrics and the registry holding them. It
// is the proxy's Observer (proxy.Config.Observer).
type Metrics struct {
	proxy.NopObserver // Moved: the endpoint counts moves itself

	reg   *prometheus.Registry
	stats atomic.Pointer[func() server.Stats]

	handshake prometheus.Histogram
	closed    *prometheus.CounterVec

	backendDatagramsIn, backendDatagramsOut atomic.Uint64
	backendBytesIn, backendBytesOut         atomic.Uint64
	dropped                                 [8]atomic.Uint64 // by proxy.DropReason
	backendErrors                           [3]atomic.Uint64 // by backendOps

	sessions, halfOpen, completed, verifies, failed, datagrams, bytes, drops, errs *prometheus.Desc
}

// New makes the metrics of a proxy; SetStats says where the endpoint's
// counters come from (until then they read 0).
func New() *Metrics {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		handshake: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "handshake_duration_seconds",
			Help:      "Time from a ClientHello with a valid cookie to the completed handshake.",
			// 1 ms (loopback) to 10 s (lossy links, retransmissions).
			Buckets: prometheus.ExponentialBucketsRange(0.001, 10, 14),
		}),
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "sessions_closed_total",
			Help:      "Sessions ended, by the endpoint's reason (ClosedByPeer, ClosedIdle, ...).",
		}, []string{"reason"}),
		sessions:  desc("sessions", "Established DTLS sessions with devices."),
		halfOpen:  desc("half_open_handshakes", "Handshakes past the cookie exchange, not yet complete."),
		completed: desc("handshakes_completed_total", "Handshakes completed."),
		verifies:  desc("hello_verify_requests_total", "HelloVerifyRequests sent (cookie exchanges started)."),
		failed:    desc("handshakes_failed_total", "Handshakes that did not complete, by reason.", "reason"),
		datagrams: desc("datagrams_total", "UDP datagrams, by side (device: DTLS, backend: plain) and direction (in: received by the proxy).", "side", "direction"),
		bytes:     desc("bytes_total", "UDP payload bytes, by side and direction as datagrams_total.", "side", "direction"),
		drops:     desc("dropped_total", "Datagrams dropped, by reason.", "reason"),
		errs:      desc("backend_errors_total", "Backend sockets that failed, by operation (dial, read, write).", "op"),
	}
	m.SetStats(func() server.Stats { return server.Stats{} })
	m.reg.MustRegister(m, m.handshake, m.closed,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// SetStats makes stats (proxy.Proxy.Stats, safe to call at any time) the
// source of the endpoint's counters.
func (m *Metrics) SetStats(stats func() server.Stats) { m.stats.Store(&stats) }

// Registry is where the metrics are, for a test or an embedding program.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Connected is part of proxy.Observer.
func (m *Metrics) Connected(_ proxy.Session, handshake time.Duration) {
	m.handshake.Observe(handshake.Seconds())
}

// Closed is part of proxy.Observer.
func (m *Metrics) Closed(_ proxy.Session, reason string, _ time.Duration, _, _ uint64) {
	m.closed.WithLabelValues(reason).Inc()
}

// Datagram is part of proxy.Observer.
func (m *Metrics) Datagram(d proxy.Direction, n int) {
	switch d {
	case proxy.ToBackend:
		m.backendDatagramsOut.Add(1)
		m.backendBytesOut.Add(uint64(n))
	case proxy.FromBackend:
		m.backendDatagramsIn.Add(1)
		m.backendBytesIn.Add(uint64(n))
	}
}

// Dropped is part of proxy.Observer.
func (m *Metrics) Dropped(r proxy.DropReason) {
	if int(r) < len(m.dropped) {
		m.dropped[r].Add(1)
	}
}

// BackendError is part of proxy.Observer.
func (m *Metrics) BackendError(op string, _ error) {
	for i, o := range backendOps {
		if o == op {
			m.backendErrors[i].Add(1)
		}
	}
}

// Describe is part of prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.sessions, m.halfOpen, m.completed, m.verifies, m.failed,
		m.datagrams, m.bytes, m.drops, m.errs} {
		ch <- d
	}
}

// Collect is part of prometheus.Collector: the endpoint's counters as
// they are now, with the proxy's own.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	st := (*m.stats.Load())()
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
	counter(m.drops, st.RefusedFull+st.DroppedBuffered, DropLimit)
	counter(m.drops, st.DroppedStranger+st.DroppedBadPeer+st.DroppedTooLarge, DropBadRecord)
	counter(m.drops, st.DroppedUnknownCID, DropUnknownCID)
	for _, r := range proxyDrops {
		counter(m.drops, m.dropped[r].Load(), r.String())
	}
	for i, op := range backendOps {
		counter(m.errs, m.backendErrors[i].Load(), op)
	}
}

// Handler serves the metrics in Prometheus's formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// maxMetricsConns bounds the connections served at once: a scraper needs
// one, and each holds a file descriptor, which devices' backend sockets
// need too. Others wait in the listen queue.
const maxMetricsConns = 8

// Serve serves the metrics at /metrics on ln until ctx is done, then
// closes ln; it returns nil then, or the error that stopped it before.
func (m *Metrics) Serve(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	// The timeouts end the connections of clients that send nothing, or
	// stop reading, and so give their place to a scraper.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
		IdleTimeout: 30 * time.Second}
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	defer stop()
	if err := srv.Serve(netutil.LimitListener(ln, maxMetricsConns)); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
