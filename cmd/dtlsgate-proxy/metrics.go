// SPDX-License-Identifier: MIT

package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"

	"github.com/dtlsgate/dtlsgate/cmd/dtlsgate-proxy/internal/proxy"
	"github.com/dtlsgate/dtlsgate/cmd/dtlsgate-proxy/internal/proxymetrics"
)

// --metrics ADDR: the Prometheus endpoint (cmd/dtlsgate-proxy/internal/proxymetrics).
func init() {
	var address string
	// What configure hands to started. A run's started goroutine may
	// outlive the run (tests call run again), so it takes its own copy.
	var current atomic.Pointer[metricsRun]
	extensions = append(extensions, extension{
		help: `   Metrics
       --metrics HOST:PORT
              Serve Prometheus metrics over HTTP at http://HOST:PORT/metrics, for
              example 127.0.0.1:9184 (port 0: any free port; the log says which).
              Sessions, handshakes (completed, failed by reason, their duration),
              HelloVerifyRequests, datagrams and bytes each way on the device and
              the backend side, drops by reason, backend errors. Default: none.
`,
		flags: func(fs *flag.FlagSet) { fs.StringVar(&address, "metrics", "", "") },
		configure: func(cfg *proxy.Config) error {
			current.Store(nil)
			if address == "" {
				return nil
			}
			if _, _, err := net.SplitHostPort(address); err != nil {
				return fmt.Errorf("--metrics %q: want HOST:PORT", address)
			}
			r := &metricsRun{address: address, m: proxymetrics.New(), log: cfg.Logger}
			cfg.Observer = r.m
			current.Store(r)
			return nil
		},
		started: func(ctx context.Context, p *proxy.Proxy) error {
			if r := current.Load(); r != nil {
				return r.serve(ctx, p)
			}
			return nil
		},
	})
}

type metricsRun struct {
	address string
	m       *proxymetrics.Metrics
	log     *slog.Logger
}

func (r *metricsRun) serve(ctx context.Context, p *proxy.Proxy) error {
	r.m.SetStats(p.Stats)
	ln, err := net.Listen("tcp", r.address)
	if err != nil {
		return fmt.Errorf("--metrics: %v", err)
	}
	r.log.Info("metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	if err := r.m.Serve(ctx, ln); err != nil {
		return fmt.Errorf("--metrics: %v", err)
	}
	return nil
}
